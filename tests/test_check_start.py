"""``spm check`` starts fast: a plain check runs before typer is imported, and says and exits exactly as the
command typer reads does (``spmlang.cli.fast_check``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from spmlang.cli.fast_check import plain_check

# What a check needs none of: the command line's own layer (typer, and pydantic, which typer converts values
# with), the modules of the other commands, and (checking a plan; a test file's tables are read with pyarrow)
# the engine's arrays and the templates.
COMMAND_LINE = ("typer", "click", "pydantic", "spmlang.cli.commands", "spmlang.cli.run")
HEAVY = (*COMMAND_LINE, "numpy", "pyarrow", "pandas", "jinja2")

# Runs ``spm`` as the script does, with the command line after ``--``; prints which of HEAVY it imported.
PROBE = """
import sys
from spmlang import cli
if sys.argv[1] == "typer":  # the command as typer reads it: no fast path
    from spmlang.cli import fast_check
    fast_check.fast_check = lambda args: None
if sys.argv[2] == "broken":  # a bug in spm, as the check runs
    import spmlang.check_report
    def broken(path):
        raise RuntimeError("a bug")
    spmlang.check_report.check_file = broken
sys.argv = ["spm", *sys.argv[4:]]
try:
    cli.main()
except SystemExit as stop:
    code = stop.code
print("imported", ",".join(m for m in HEAVY if m in sys.modules) or "-", code)
"""


def run_spm(args: list[str], way: str = "fast", bug: str = "", color: bool = False) -> tuple[str, str, tuple[str, str]]:
    """What ``spm ARGS`` printed (stdout without the probe's last line, stderr), which of HEAVY it imported
    (``-``: none) and its exit code."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | {"COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n" + PROBE, way, bug or "-", "--", *args],
        cwd=ROOT,
        env=env | ({"FORCE_COLOR": "1"} if color else {"NO_COLOR": "1"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    *printed, last = result.stdout.rstrip("\n").split("\n")
    assert last.startswith("imported "), result.stdout + result.stderr
    imported, code = last.removeprefix("imported ").split(" ")
    return "\n".join(printed), result.stderr, (imported, code)


def test_a_plain_check_imports_neither_typer_nor_pydantic_nor_the_engine():
    for args, exit_code in (
        (["check", "examples/plans/account_executive.spm"], "0"),
        (["check", "--format", "json", "examples/plans/sdr.spm", "tests/golden/errors/E402-no-plan-block.spm"], "1"),
        (["check", "examples/plans/emea.spm", "--format=github"], "0"),
    ):
        *_, (imported, code) = run_spm(args)
        assert (imported, code) == ("-", exit_code), args
    *_, (imported, code) = run_spm(["check", "examples/plans/sdr.test.spm"])
    assert code == "0" and not set(imported.split(",")) & set(COMMAND_LINE), imported


BAD = "tests/golden/errors/E402-no-plan-block.spm"


@pytest.mark.parametrize(
    ("args", "color"),
    [
        (["check", "examples/plans/account_executive.spm", "examples/plans/account_executive.test.spm"], False),
        (["check", BAD, "examples/plans/sdr.spm"], False),
        (["check", BAD, "examples/plans/sdr.spm"], True),
        (["check", "--format", "json", "examples/plans/sdr.spm", BAD, "no/such/plan.spm"], False),
        (["check", "examples/plans/emea.test.spm", "--format=github", BAD], False),
        (["check", "no/such/plan.spm"], False),
        (["check", "examples/data"], False),
    ],
)
def test_a_plain_check_says_and_exits_as_the_command_typer_reads(args, color):
    fast_out, fast_err, fast = run_spm(args, "fast", color=color)
    typer_out, typer_err, typer = run_spm(args, "typer", color=color)
    assert (fast_out, fast_err, fast[-1]) == (typer_out, typer_err, typer[-1])
    assert "typer" not in fast[0].split(",") and "typer" in typer[0].split(","), (fast, typer)  # each its way


def test_a_bug_as_a_plain_check_runs_is_reported_as_by_typer():
    fast_out, fast_err, fast = run_spm(["check", "examples/plans/sdr.spm"], "fast", bug="broken")
    typer_out, typer_err, typer = run_spm(["check", "examples/plans/sdr.spm"], "typer", bug="broken")
    assert fast[-1] == typer[-1] == "3"
    assert (fast_out, fast_err) == (typer_out, typer_err)
    assert fast_err.startswith("internal error in spm: RuntimeError: a bug\n")


@pytest.mark.parametrize(
    ("args", "plans", "output_format"),
    [
        (["check", "a.spm"], ["a.spm"], "text"),
        (["check", "a.spm", "b.test.spm", "--format", "json"], ["a.spm", "b.test.spm"], "json"),
        (["check", "--format=github", "a.spm"], ["a.spm"], "github"),
        (["check", "a.spm", "--format", "text", "c d.spm"], ["a.spm", "c d.spm"], "text"),
    ],
)
def test_the_plain_check_command_lines(args, plans, output_format):
    assert plain_check(args) == ([Path(p) for p in plans], output_format)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["check"],  # no plan: typer says what is missing
        ["check", "--help"],
        ["check", "a.spm", "--help"],
        ["--debug", "check", "a.spm"],
        ["run", "a.spm"],
        ["check", "-x", "a.spm"],
        ["check", "-"],
        ["check", "--", "a.spm"],
        ["check", ""],
        ["check", "a.spm", "--format"],
        ["check", "a.spm", "--format", "yaml"],  # typer's command says which formats there are
        ["check", "a.spm", "--format", "json", "--format", "text"],
        ["check", "a.spm", "--formats=json"],
        ["check", "a.spm", "--format", "--help"],
    ],
)
def test_every_other_command_line_goes_to_typer(args):
    assert plain_check(args) is None


def test_a_shell_asking_for_completions_goes_to_typer(monkeypatch):
    monkeypatch.setenv("_SPM_COMPLETE", "bash_complete")
    assert plain_check(["check", "a.spm"]) is None


def test_on_windows_typer_reads_every_command_line(monkeypatch):
    """There typer expands wildcards in the arguments (``spm check plans\\*.spm``): the shell does not."""
    assert plain_check(["check", "a.spm"]) is not None
    monkeypatch.setattr(os, "name", "nt")
    assert plain_check(["check", "a.spm"]) is None
