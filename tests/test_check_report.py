"""What `spm check` finds, as data (spmlang.check_report), and as GitHub annotations (report/render/github.py);
the periods a run knows, and statements asked for a period the plan does not have."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_spm

import spmlang
from spmlang.check_report import check_file
from spmlang.diagnostics import UsageError
from spmlang.report.render.github import github_annotations

GOLDEN = ROOT / "tests" / "golden" / "errors"
WARNED = GOLDEN / "W103-minimum-paid-on-refunds.spm"
BROKEN = GOLDEN / "E201-bare-word.spm"
W103 = "component 'commission' pays at least $25 on each row, refunds and credit notes of negative credit included"


def test_a_plan_that_checks_is_ok_and_says_what_was_found():
    checked = check_file(ROOT / "examples" / "plans" / "sdr.spm")
    assert (checked.ok, checked.exit_code, checked.errors, checked.diagnostics) == (True, 0, 0, [])
    assert checked.summary == "2 component(s), 0 warning(s)"
    assert checked.rendered() == ""
    assert list(checked.to_dict()) == ["file", "ok", "diagnostics", "summary"]


def test_a_warning_is_data_and_text_and_the_plan_is_still_ok():
    checked = check_file(WARNED)
    assert (checked.ok, checked.exit_code, checked.errors) == (True, 0, 0)
    assert checked.summary == "1 component(s), 1 warning(s)"
    assert checked.diagnostics == [
        {
            "severity": "warning",
            "code": "W103",
            "message": W103,
            "hint": "to pay refunds nothing, add `where credit > 0` to component 'commission'",
            "file": str(WARNED),
            "line": 20,
            "column": 7,
            "end_line": 20,
            "end_column": 28,
        }
    ]
    assert checked.rendered().startswith(f"{WARNED}:20:7: warning[W103]: {W103}\n 20 | ")
    assert "\x1b[" in checked.rendered(color=True) and "\x1b[" not in checked.rendered()


def test_a_plan_with_errors_calls_for_exit_1_and_renders_them_as_a_plan_error_does():
    checked = check_file(BROKEN)
    with pytest.raises(spmlang.PlanError) as raised:
        spmlang.load(BROKEN)
    assert (checked.ok, checked.exit_code, checked.summary) == (False, 1, "")
    assert checked.diagnostics == [d.to_dict() for d in raised.value.diagnostics]
    assert checked.errors == len(raised.value.diagnostics) >= 1
    assert checked.rendered() == raised.value.render()
    assert checked.rendered(color=True) == raised.value.render(color=True)


def test_a_file_that_cannot_be_read_calls_for_exit_2(tmp_path):
    missing = tmp_path / "missing.spm"
    checked = check_file(missing)
    assert (checked.ok, checked.exit_code, checked.errors) == (False, 2, 1)
    assert checked.diagnostics == [
        {"severity": "error", "code": "E500", "message": "plan file not found", "hint": None, "file": str(missing)}
    ]
    assert checked.rendered() == f"error[E500]: {missing}: plan file not found"


def test_a_test_file_with_an_invalid_test_names_it_where_it_starts(tmp_path):
    (tmp_path / "plan.spm").write_text((ROOT / "examples" / "plans" / "sdr.spm").read_text())
    tests = tmp_path / "plan.test.spm"
    tests.write_text('# no data, no expectation\ntest "nothing" {\n}\n')
    checked = check_file(tests)
    # Each of its errors, as printed and counted: no transactions, no expectation (once "1 error(s)" for both).
    assert (checked.ok, checked.exit_code, checked.summary, checked.errors) == (False, 1, "1 test(s)", 2)
    assert [(d["code"], d["file"], d["line"], d["column"]) for d in checked.diagnostics] == [
        ("E422", str(tests), 2, 1),
        ("E422", str(tests), 2, 1),
    ]
    assert [d["message"] for d in checked.diagnostics] == [
        "test 'nothing' gives no transactions",
        "test 'nothing' expects nothing",
    ]
    assert checked.rendered().count("error[E422]") == 2
    assert check_file(ROOT / "examples" / "plans" / "sdr.test.spm").summary == "3 test(s)"


def test_github_annotations_escape_what_would_end_a_property_or_the_message():
    diagnostics = [
        {"severity": "error", "code": "E201", "message": "100% wrong\nhere", "hint": "a, b: c", "file": "a,b:c.spm"},
        {"severity": "warning", "message": "no code", "line": 3, "column": 4, "end_line": 3, "end_column": 9},
    ]
    assert github_annotations(diagnostics, "plan.spm") == [
        "::error file=a%2Cb%3Ac.spm,title=E201::100%25 wrong%0Ahere (hint: a, b: c)",
        "::warning file=plan.spm,line=3,col=4,endLine=3,endColumn=9::no code",
    ]


def test_spm_check_prints_the_checks_as_json_and_as_annotations_and_exits_with_the_worst():
    as_json = run_spm("check", "--format", "json", WARNED, BROKEN)
    assert as_json.returncode == 1 and as_json.stderr == ""
    assert json.loads(as_json.stdout) == [check_file(WARNED).to_dict(), check_file(BROKEN).to_dict()]
    as_github = run_spm("check", "--format", "github", WARNED, "missing.spm")
    assert as_github.returncode == 2 and as_github.stderr == ""
    assert as_github.stdout.splitlines() == [
        *github_annotations(check_file(WARNED).diagnostics, str(WARNED)),
        "::error file=missing.spm,title=E500::plan file not found",
    ]


AE_INPUTS = {
    "deals": ROOT / "examples" / "data" / "ae_deals.csv",
    "quotas": ROOT / "examples" / "data" / "ae_quotas.csv",
    "targets": ROOT / "examples" / "data" / "ae_targets.csv",
}


@pytest.fixture(scope="module")
def ae_result():
    return spmlang.load(ROOT / "examples" / "plans" / "account_executive.spm").run(**AE_INPUTS, workers=1)


def test_a_run_says_its_periods(ae_result):
    assert ae_result.periods == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]


def test_statements_of_a_period_the_plan_does_not_have_are_an_error_naming_its_periods(ae_result, tmp_path):
    said = "no period '2027-Q5' in this plan; its periods are 2027-Q1, 2027-Q2, 2027-Q3, 2027-Q4"
    with pytest.raises(UsageError, match=f"^{said}$"):
        ae_result.statements(periods=["2027-Q1", "2027-Q5"])
    with pytest.raises(UsageError, match=f"^{said}$"):
        ae_result.write_statements(tmp_path / "statements", periods=["2027-Q5"])
    assert not (tmp_path / "statements").exists()
    payee = ae_result.ledger.column("payee")[0].as_py()
    assert [s.period for s in ae_result.statements([payee], ["2027-Q2"])] == ["2027-Q2"]
