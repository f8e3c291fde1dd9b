"""The spm command through a real subprocess: output, files written, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import AE_ARGS, CRM_ARGS, ROOT

BAD_PLAN = """plan "Broken" {
  year starts 2027-01-01
  payout quartely
}
transactions {
  column id text
  column rep text
  column day date
  column amount money
  key id
  date day
  payee rep
  credit amout
}
component commission {
  rate 8%
}
"""


def assert_no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_check_examples_exit_0(spm):
    result = spm("check", *sorted((ROOT / "examples" / "plans").glob("*.spm")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 10  # five plans and their five test files


def test_check_reports_every_error_with_position_caret_and_hint(spm, tmp_path):
    plan = tmp_path / "broken.spm"
    plan.write_text(BAD_PLAN)
    result = spm("check", plan)
    assert result.returncode == 1
    assert_no_traceback(result)
    err = result.stderr
    assert f"{plan}:3:10: error[E206]: unknown payout frequency 'quartely'" in err
    assert "did you mean 'quarterly'?" in err
    assert f"{plan}:13:10: error[E201]: unknown name 'amout' in the credit" in err
    assert "did you mean 'amount'?" in err
    assert " 13 |   credit amout\n    |          ^^^^^" in err
    assert "2 error(s)" in err


def test_check_syntax_error_exit_1(spm, tmp_path):
    plan = tmp_path / "syntax.spm"
    plan.write_text('plan "x" {\n  payout = quarterly\n}\n')
    result = spm("check", plan)
    assert result.returncode == 1
    assert f"{plan}:2:10: error[E101]: unexpected character '='" in result.stderr
    assert_no_traceback(result)


def test_check_missing_file_exit_2_after_checking_the_others(spm, tmp_path):
    result = spm("check", tmp_path / "nope.spm", "examples/plans/sdr.spm")
    assert result.returncode == 2
    assert "plan file not found" in result.stderr
    assert "examples/plans/sdr.spm: ok" in result.stdout


def test_run_prints_summary_and_row_accounting(spm):
    result = spm("run", *AE_ARGS)
    assert result.returncode == 0, result.stderr
    assert "Account Executive FY2027 — payout (USD)" in result.stdout
    assert "rows read 303: credited 205, excluded 97, rejected 1" in result.stdout
    assert "excluded by filter closed_won: 49" in result.stdout
    assert "rejected, outside year: 1" in result.stdout


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json", ".jsonl"])
def test_run_writes_the_ledger_in_the_format_of_its_extension(spm, tmp_path, suffix):
    target = tmp_path / f"ledger{suffix}"
    result = spm("run", *AE_ARGS, "--out", target, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    if suffix == ".parquet":
        amounts = pq.read_table(target).column("amount").to_pylist()
    elif suffix == ".csv":
        amounts = [Decimal(str(v)) for v in pacsv.read_csv(target).column("amount").to_pylist()]
    elif suffix == ".json":
        amounts = [Decimal(r["amount"]) for r in json.loads(target.read_text())]
    else:
        amounts = [Decimal(json.loads(line)["amount"]) for line in target.read_text().splitlines()]
    assert sum(amounts) == Decimal("698437.45")  # the summary total of this example


def test_run_writes_rejects_with_reasons(spm, tmp_path):
    target = tmp_path / "rejects.csv"
    result = spm("run", *AE_ARGS, "--rejects", target, "--quiet")
    assert result.returncode == 0
    rejects = pacsv.read_csv(target).to_pylist()
    assert len(rejects) == 1
    assert rejects[0]["key"] == "D-9002" and rejects[0]["reason"] == "outside_year"
    assert "outside the plan year" in rejects[0]["message"]
    said = spm("run", *AE_ARGS, "--rejects", target, "--out", tmp_path / "ledger.parquet").stdout
    assert f"wrote {target} (1 rejected row)\n" in said and "(245 lines)" in said


def test_strict_makes_a_rejected_row_an_error(spm):
    result = spm("run", *AE_ARGS, "--strict")
    assert result.returncode == 2
    assert "outside the plan year" in result.stderr and "--strict" in result.stderr
    assert_no_traceback(result)


def test_missing_input_file_exit_2(spm):
    result = spm("run", "examples/plans/sdr.spm", "--deals", "nowhere.csv", "--quotas", "examples/data/sdr_quotas.csv")
    assert result.returncode == 2
    assert "nowhere.csv: file not found" in result.stderr
    assert_no_traceback(result)


def test_missing_column_names_file_column_and_a_guess(spm, tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text("activity_id,sdr,activity_date,activty,qualified,pipeline\nA1,ivy,2027-01-04,meeting,true,\n")
    result = spm("run", "examples/plans/sdr.spm", "--deals", deals, "--quotas", "examples/data/sdr_quotas.csv")
    assert result.returncode == 2
    assert f"{deals}, column 'activity': the column 'activity' is missing" in result.stderr
    assert "did you mean 'activty'?" in result.stderr


def test_bad_table_option_is_a_usage_error(spm):
    result = spm("run", "examples/plans/sdr.spm", "--table", "products")
    assert result.returncode == 2
    assert "--table takes NAME=PATH" in result.stderr


def test_unknown_option_is_a_usage_error(spm):
    result = spm("run", "examples/plans/sdr.spm", "--dealz", "x.csv")
    assert result.returncode == 2
    assert_no_traceback(result)


def test_plan_error_in_run_exit_1(spm, tmp_path):
    plan = tmp_path / "broken.spm"
    plan.write_text(BAD_PLAN)
    result = spm("run", plan, "--deals", "examples/data/ae_deals.csv")
    assert result.returncode == 1
    assert "error[E201]" in result.stderr


@pytest.mark.parametrize("command", ["run", "explain", "compile"])
def test_a_test_file_given_for_its_plan_names_the_plan(spm, command):
    test_file = "examples/plans/account_executive.test.spm"
    args = ["--payee", "ana.ruiz"] if command == "explain" else ["--explain"] if command == "compile" else []
    result = spm(command, test_file, *args)
    assert result.returncode == 1
    assert "error[E402]: this file holds tests, not a plan" in result.stdout + result.stderr
    assert (
        "hint: give the plan they test (examples/plans/account_executive.spm); "
        f"`spm test {test_file}` runs the tests" in result.stdout + result.stderr
    )
    assert (result.stdout + result.stderr).count("error[") == 1


def test_help_lists_commands_and_exit_codes(spm):
    result = spm("--help")
    assert result.returncode == 0
    assert "check" in result.stdout and "run" in result.stdout
    assert "Exit codes: 0 success; 1 plan errors; 2 usage or input errors" in result.stdout


def test_check_starts_without_the_engine_heavyweights():
    """`spm check` runs on every save: it must not pay for importing numpy or pyarrow."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom spmlang.cli import main\nsys.argv = ['spm', 'check', 'examples/plans/sdr.spm']\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'polars') if m in sys.modules), code)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("[] 0"), result.stdout + result.stderr


def test_run_does_not_import_pandas_even_where_it_is_installed():
    """pyarrow would import pandas (~0.35 s) to ask whether values are pandas objects; spm never passes any."""
    import subprocess
    import sys

    pytest.importorskip("pandas")  # installed: the case that matters
    probe = (
        "import sys\nfrom spmlang.cli import main\n"
        f"sys.argv = ['spm', 'run', *{AE_ARGS!r}, '--out', sys.argv[1], '-q']\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas') if m in sys.modules), code)"
    )
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, "-c", probe, f"{folder}/ledger.parquet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.stdout.strip().endswith("['numpy', 'pyarrow'] 0"), result.stdout + result.stderr


def test_check_works_with_an_unwritable_cache_folder(spm, tmp_path):
    locked = tmp_path / "cache"
    locked.write_text("not a folder")  # the cache folder cannot be made: the parser is built afresh
    result = spm("check", "examples/plans/sdr.spm", env={"XDG_CACHE_HOME": str(locked)})
    assert result.returncode == 0 and result.stderr == ""


def test_two_versions_of_the_grammar_keep_their_parse_tables_apart(tmp_path, monkeypatch):
    """Two versions of spm side by side (two projects, a CI matrix) do not rebuild each other's tables."""
    from spmlang.syntax import parser

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SPM_NO_CACHE", raising=False)
    grammar = parser.grammar_path().read_text(encoding="utf-8")
    here, other = parser._table_cache(grammar), parser._table_cache(grammar + "\n// another version\n")
    assert isinstance(here, str) and isinstance(other, str) and here != other
    assert Path(here).parent == Path(other).parent == tmp_path / "spmlang"
    assert parser._table_cache(grammar) == here


def test_a_ledger_path_spm_cannot_write_is_refused_before_the_run(spm, tmp_path):
    result = spm("run", *AE_ARGS, "--out", tmp_path / "ledger.xlsx")
    assert result.returncode == 2 and result.stdout == ""
    assert "cannot write" in result.stderr and ".parquet" in result.stderr
    assert_no_traceback(result)


def test_paths_spm_cannot_write_to_are_refused_before_the_run(spm, tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    (tmp_path / "ledger.parquet").mkdir()
    for args, named in (
        (["run", *AE_ARGS, "--out", tmp_path / "ledger.parquet"], "ledger.parquet: cannot write it: it is a folder"),
        (["run", *AE_ARGS, "--rejects", tmp_path / "notes.txt" / "rejects.csv"], "rejects.csv: cannot write it: '"),
        (["statement", *AE_ARGS, "--out", tmp_path / "notes.txt"], "index.html: cannot write it: '"),
        (["test", "examples/plans", "--junit", tmp_path / "notes.txt" / "junit.xml"], "junit.xml: cannot write it: '"),
    ):
        result = spm(*args)
        assert result.returncode == 2 and result.stdout == "", args
        assert result.stderr.startswith("error[E506]: ") and named in result.stderr, result.stderr
        assert_no_traceback(result)


def test_a_disk_that_refuses_the_ledger_midway_is_an_error_naming_it_and_the_old_ledger_stays(tmp_path):
    import resource

    def at_most_20_kb():  # writing past it fails with EFBIG (Python ignores SIGXFSZ), as a full disk would
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    ledger = tmp_path / "ledger.csv"
    ledger.write_text("the previous ledger")
    result = subprocess.run(
        [sys.executable, "-m", "spmlang.cli", "run", *AE_ARGS, "--out", ledger],
        cwd=ROOT,
        env={**os.environ, "SPM_NO_CACHE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=at_most_20_kb,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        f"error[E506]: {ledger}: cannot write it: the file is larger than this system "
        "allows\n  = hint: write it elsewhere; nothing was written there"
    )
    assert ledger.read_text() == "the previous ledger"
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.csv"]  # no partial file, no manifest
    assert_no_traceback(result)


def _as_spm_starts(probe: str, variable: str, chosen: str) -> list[str]:
    """What ``probe`` prints in a process that started as the ``spm`` command does, with ``variable`` unset
    and then set to ``chosen`` in its environment."""
    import os
    import subprocess
    import sys

    code = "from spmlang import cli; cli.app = lambda: None; cli.main()\n" + probe
    env = {k: v for k, v in os.environ.items() if k != variable}
    return [
        subprocess.run(
            [sys.executable, "-c", code], env=env | extra, capture_output=True, text=True, check=True
        ).stdout.strip()
        for extra in ({}, {variable: chosen})
    ]


def test_spm_starts_no_blas_threads_unless_the_environment_chooses():
    """spm does no linear algebra; numpy's OpenBLAS would start a thread per core that spins as it is imported."""
    chosen = _as_spm_starts(
        "import os, numpy; print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))",
        "OPENBLAS_NUM_THREADS",
        "2",
    )
    assert chosen[0] == "1 1"  # the process's only thread is its own
    assert chosen[1].split()[0] == "2"


def test_spm_allocates_with_malloc_unless_the_environment_chooses():
    """Arrow's bundled mimalloc keeps freed memory that malloc_trim cannot return (~100 MB of the peak at 10M
    rows), so spm has Arrow use malloc as it starts, before pyarrow is used; ARROW_DEFAULT_MEMORY_POOL still
    decides if set."""
    chosen = _as_spm_starts(
        "import pyarrow as pa; print(pa.default_memory_pool().backend_name)", "ARROW_DEFAULT_MEMORY_POOL", "mimalloc"
    )
    assert chosen == ["system", "mimalloc"]


def _with_a_bug(where: str, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    """The spm command in a process where the function ``where`` (module.name) raises as a bug in spm would."""
    module, _, name = where.rpartition(".")
    code = (
        f"import sys, importlib\n"
        f"def bug(*args, **kwargs):\n    raise ZeroDivisionError('the bug')\n"
        f"setattr(importlib.import_module({module!r}), {name!r}, bug)\n"
        f"from spmlang import cli\nsys.argv = ['spm', *sys.argv[1:]]\ncli.main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


BUG_REPORTED = (
    "internal error in spm: ZeroDivisionError: the bug\n"
    "  = this is a bug in spm (spmlang {version}), not in your plan or data: please report it with the "
    "command you ran, this message and {traceback}; if you can, add the plan and a few rows of data that "
    "show it\n"
)


@pytest.mark.parametrize(
    "where, args",
    [
        ("spmlang.api.load", ["check", "examples/plans/sdr.spm"]),
        ("spmlang.api.load", ["run", *AE_ARGS]),
        ("spmlang.syntax.format.format_source", ["fmt", "--check", "examples/plans/sdr.spm"]),
    ],
)
def test_a_bug_in_spm_ends_every_command_the_same_way(where, args):
    import spmlang

    command = args[0]
    quiet = _with_a_bug(where, *args, env={"SPM_DEBUG": ""})
    assert quiet.returncode == 3, quiet.stderr
    assert quiet.stderr == BUG_REPORTED.format(
        version=spmlang.__version__,
        traceback=(f"the traceback that `spm --debug {command} ...` (or SPM_DEBUG=1) prints"),
    )
    assert_no_traceback(quiet)
    for debugged in (
        _with_a_bug(where, "--debug", *args, env={"SPM_DEBUG": ""}),
        _with_a_bug(where, *args, env={"SPM_DEBUG": "1"}),
    ):
        assert debugged.returncode == 3, debugged.stderr
        assert debugged.stderr.startswith("Traceback (most recent call last):\n")
        assert 'File "<string>", line 3, in bug\n' in debugged.stderr
        assert debugged.stderr.endswith(
            "ZeroDivisionError: the bug\n"
            + BUG_REPORTED.format(version=spmlang.__version__, traceback="the traceback above")
        )


def test_in_a_pipe_the_summary_shows_every_payee_period_and_at_a_terminal_the_largest(spm):
    import io
    import re

    from rich.console import Console

    import spmlang

    result = spm("run", *CRM_ARGS)  # stdout is a pipe
    assert result.returncode == 0, result.stderr
    plan, _, deals, _, quotas, _, roster, _, products = CRM_ARGS
    summary = (
        spmlang.load(ROOT / plan)
        .run(
            ROOT / deals,
            quotas=ROOT / quotas,
            roster=ROOT / roster,
            tables={"products": ROOT / products.partition("=")[2]},
        )
        .summary()
    )
    assert len(summary.rows) > 60
    shown = re.findall(r"^│ (.+?) +│ (2017-Q\d) │", result.stdout, re.MULTILINE)
    assert sorted(shown) == sorted((row.payee, row.period) for row in summary.rows)
    assert "largest" not in result.stdout
    terminal = Console(file=io.StringIO(), force_terminal=True, width=200, color_system=None)
    terminal.print(summary)
    assert f"showing the 60 largest of {len(summary.rows):,} payee-periods" in terminal.file.getvalue()


def test_a_run_reads_parquet_tables_without_pyarrow_datasets(tmp_path):
    """Quotas and targets in parquet are read as single files: pyarrow.dataset (~0.05 s of CPU each run, and
    pandas where a program has it) is not imported."""
    args = list(AE_ARGS)
    for option in ("--quotas", "--targets"):
        at = args.index(option) + 1
        parquet = tmp_path / f"{option[2:]}.parquet"
        pq.write_table(pacsv.read_csv(ROOT / args[at]), parquet)
        args[at] = str(parquet)
    probe = (
        "import sys\nfrom spmlang.cli import main\n"
        f"sys.argv = ['spm', 'run', *{args!r}, '-q']\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "print('pyarrow.dataset' in sys.modules, code)"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("False 0"), result.stdout + result.stderr
