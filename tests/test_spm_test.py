"""spm test: tests written in the language, their report, exit codes and JUnit XML."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden" / "spm_test"


def test_example_and_scenario_tests_pass(spm, tmp_path):
    junit = tmp_path / "junit.xml"
    result = spm("test", "examples/plans", "tests/scenarios", "--junit", junit)
    assert result.returncode == 0, result.stdout
    assert re.search(r"^35 passed in \d+\.\d\ds$", result.stdout, re.M)
    suites = ET.parse(junit).getroot()
    assert suites.get("tests") == "35" and suites.get("failures") == "0" and suites.get("errors") == "0"
    assert {s.get("name") for s in suites} >= {
        "examples/plans/account_executive.test.spm",
        "tests/scenarios/s05_payout_curve.test.spm",
        "tests/scenarios/s11c_clawback_recalculate.test.spm",
        "tests/scenarios/s12a_draw_recoverable.test.spm",
    }


def test_failures_show_expected_got_and_the_trail(spm, tmp_path):
    junit = tmp_path / "junit.xml"
    result = spm("test", "tests/golden/spm_test", "--junit", junit)
    assert result.returncode == 1
    actual = re.sub(r" in \d+\.\d\ds$", " in 0.00s", result.stdout.rstrip(), flags=re.M) + "\n"
    expected_file = GOLDEN / "capped.expected.txt"
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        expected_file.write_text(actual)
    assert actual == expected_file.read_text()
    failed = [case for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["the cap is ignored (wrong)"]
    errors = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase") if case.find("error") is not None]
    assert errors == ["a row with a column the plan does not have"]
    assert failed[0].find("failure").get("message") == "expected 6,500.00, got 5,000.00"


def test_no_tests_is_a_failure(spm, tmp_path):
    result = spm("test", tmp_path)
    assert result.returncode == 1 and "no tests found" in result.stdout


def test_a_test_file_needs_its_plan(spm, tmp_path):
    (tmp_path / "orphan.test.spm").write_text('test "x" {\n  expect payout a == $1\n}\n')
    result = spm("test", tmp_path)
    assert result.returncode == 1
    assert "no plan orphan.spm beside this test file" in result.stdout


def test_a_file_that_cannot_be_read_is_an_input_error_and_the_others_still_run(spm, tmp_path):
    import shutil

    import pytest

    import spmlang
    from spmlang.testing.cases import read_cases

    with pytest.raises(spmlang.InputError, match="test file not found") as caught:
        read_cases(tmp_path / "missing.test.spm")
    assert caught.value.file == str(tmp_path / "missing.test.spm")
    (tmp_path / "latin1.test.spm").write_bytes('test "caf\u00e9" {\n}\n'.encode("latin-1"))
    with pytest.raises(spmlang.InputError, match="the test file is not UTF-8 text"):
        read_cases(tmp_path / "latin1.test.spm")

    for suffix in (".spm", ".test.spm"):
        shutil.copy(Path(__file__).parent / "scenarios" / f"s01_flat_rate{suffix}", tmp_path / f"s01_flat_rate{suffix}")
    result = spm("test", tmp_path / "missing.test.spm", tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr  # as any input error, once the others ran
    assert "error[E500]: " in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert re.search(r"^\d+ passed, 2 error\(s\)", result.stdout, re.M)


def _project(tmp_path, exclude: str):
    """A plan repository: passing tests in plans/, the golden failing ones in fixtures/ and archive/."""
    import shutil

    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'plans'\n\n[tool.spm]\nexclude = {exclude}\n")
    shutil.copytree(
        Path(__file__).parent.parent / "tests" / "scenarios",
        tmp_path / "plans",
        ignore=lambda folder, names: [n for n in names if not n.startswith("s01_")],
    )
    for folder, stem in (("fixtures", "capped"), ("archive", "capped-2025")):
        (tmp_path / folder).mkdir()
        for suffix in (".spm", ".test.spm"):
            shutil.copy(GOLDEN / f"capped{suffix}", tmp_path / folder / f"{stem}{suffix}")
    return tmp_path


def test_the_project_settings_exclude_folders_and_patterns_from_a_search(spm, tmp_path):
    project = _project(tmp_path, '["fixtures", "archive/*-2025*.spm"]')
    found = spm("test", cwd=project)
    assert found.returncode == 0, found.stdout
    assert "plans/s01_flat_rate.test.spm" in found.stdout and "capped" not in found.stdout
    messy = GOLDEN.joinpath("capped.spm").read_text().replace("\n  ", "\n      ")
    (project / "fixtures" / "messy.spm").write_text(messy)
    assert spm("fmt", "--check", "fixtures/messy.spm", cwd=project).returncode == 1
    assert spm("fmt", "--check", cwd=project).returncode == 0  # the excluded folder is not looked at
    # asked for by name, an excluded folder or file is still run
    assert spm("test", "fixtures", cwd=project).returncode == 1
    assert spm("test", "archive/capped-2025.test.spm", cwd=project).returncode == 1
    # without the settings, everything under the folder is found
    (project / "pyproject.toml").write_text("[project]\nname = 'plans'\n")
    assert spm("test", cwd=project).returncode == 1


def test_unreadable_project_settings_are_a_usage_error(spm, tmp_path):
    project = _project(tmp_path, '"fixtures"')
    result = spm("test", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "[tool.spm] exclude must be a list of paths or glob patterns" in result.stderr
    (project / "pyproject.toml").write_text("[tool.spm\n")
    result = spm("test", cwd=project)
    assert result.returncode == 2 and "cannot read" in result.stderr and "pyproject.toml" in result.stderr
    result = spm("fmt", "--check", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "cannot read" in result.stderr


def test_test_tables_read_wrongly_are_located_errors(spm):
    """A roster row of one value used to end `spm check` in KeyError: 'period'; values Arrow cannot hold, in
    ArrowInvalid. Every mistake in a test's tables is an error where it is written."""
    folder = Path(__file__).parent / "golden" / "test_files"
    result = spm("check", folder / "tables.test.spm")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    actual = result.stderr.replace(str(folder) + "/", "")
    expected_file = folder / "tables.expected.txt"
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        expected_file.write_text(actual)
    assert actual == expected_file.read_text()
    tested = spm("test", folder)
    assert tested.returncode == 1 and "Traceback" not in tested.stdout + tested.stderr
    assert re.search(r"^0 passed, 4 error\(s\) in", tested.stdout, re.M), tested.stdout


def test_expect_paid_checks_the_amount_and_currency_a_payee_is_paid_in(spm, tmp_path):
    scenarios = Path(__file__).parent / "scenarios"
    (tmp_path / "s17.spm").write_text((scenarios / "s17_currencies.spm").read_text())
    written = (scenarios / "s17_currencies.test.spm").read_text()
    (tmp_path / "s17.test.spm").write_text(
        written.replace("== 1155.25 GBP", "== 1155.26 GBP").replace("== 88 USD", "== 88 GBP")
    )
    failed = spm("test", tmp_path)
    assert failed.returncode == 1
    assert "  expected 1,155.26 GBP paid, got 1,155.25 GBP\n" in failed.stdout
    assert "  expected 88.00 GBP paid, got 88.00 USD\n" in failed.stdout
    (tmp_path / "s17.test.spm").write_text(written.replace("paid gwen in 2027-Q1", "paid gwen for commission"))
    checked = spm("check", tmp_path / "s17.test.spm")
    assert checked.returncode == 1
    assert "error[E104]: expect paid takes a payee and a period, not for COMPONENT" in checked.stderr


def test_expect_paid_over_periods_in_two_currencies_names_no_sum(spm):
    result = spm("test", Path(__file__).parent / "golden" / "spm_test_paid")
    assert result.returncode == 1
    failures = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ") and "expect" not in line]
    # The lowercase currency and the four figures of one currency pass; the sum over both currencies does not.
    assert failures == ["ann is paid in EUR and GBP over these periods: name one period"], result.stdout


def test_an_expectation_of_a_name_nothing_has_fails_and_short_periods_are_read(spm, tmp_path):
    """`expect payout anna == $0` (a typo), a component or period the plan has not, passed: zero of nothing.
    And a period written short (`in Q1`, a date in it) was compared with the ledger's '2027-Q1' as text: 0."""
    import shutil

    shutil.copy("examples/plans/sdr.spm", tmp_path / "sdr.spm")
    (tmp_path / "sdr.test.spm").write_text(
        'test "names" {\n'
        "  transactions {\n"
        "    columns activity_id sdr activity_date activity qualified pipeline\n"
        "    rows {\n"
        "      A1 ivy 2027-01-10 meeting true empty\n"
        "      A2 bo 2027-01-11 meeting false empty\n"
        "    }\n"
        "  }\n"
        "  quotas { rows { ivy 2027-01 2 } }\n"
        "  expect payout ivy in 2027-01 == $75\n"
        "  expect payout ivy in 2027-01-10 == $75\n"
        "  expect payout bo == $0\n"
        "  expect payout ivi == $0\n"
        "  expect payout ivy for meeting == $0\n"
        "  expect payout ivy in 2026-12 == $0\n"
        "}\n"
    )
    result = spm("test", tmp_path / "sdr.test.spm")
    assert result.returncode == 1
    failures = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ") and "|" not in line]
    assert failures == [
        "no payee 'ivi' in the test's data; did you mean 'ivy'?",
        "no component 'meeting' in the plan; did you mean 'meetings'?",
        "no period '2026-12' in this plan; its periods are " + ", ".join(f"2027-{m:02d}" for m in range(1, 13)),
    ]
