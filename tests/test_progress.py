"""Progress of a run: the steps the engine reports, and the bar spm shows only to a person at a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from conftest import AE_ARGS, ROOT
from rich.console import Console

import spmlang
from spmlang.progress import TerminalProgress, wanted


def ae_run(progress=None):
    plan = spmlang.load(ROOT / AE_ARGS[0])
    return plan.run(ROOT / AE_ARGS[2], quotas=ROOT / AE_ARGS[4], targets=ROOT / AE_ARGS[6], progress=progress)


def test_a_run_reports_each_step_in_order_and_ends_complete():
    heard = []
    result = ae_run(lambda step, done, total: heard.append((step, done, total)))
    steps = [step for step, _, _ in heard]
    assert steps == [
        "reading transactions",
        "reading quotas, targets and the roster",
        "crediting",
        "ordering the credit rows",
        "done",
    ]
    done = [d for _, d, _ in heard]
    assert done == sorted(done)
    assert len({t for _, _, t in heard}) == 1
    assert heard[-1][1] == heard[-1][2]
    assert result.line_count == result.ledger.num_rows


def test_writing_the_ledger_reports_each_batch_of_payees_paid(tmp_path, monkeypatch):
    from spmlang.engine import run as calculator

    monkeypatch.setattr(calculator, "BATCH_ROWS", 40)  # the AE example's 8 reps in a few batches
    result = ae_run()
    batches = len(result.payout.run.batches)
    assert batches > 2
    heard = []
    result.write(tmp_path / "ledger.parquet", progress=lambda *report: heard.append(report))
    step = "paying and writing the ledger"
    assert heard == [(step, done, batches) for done in range(batches)] + [(step, batches, batches)]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_summary_of_a_run_not_written_reports_each_batch_paid(monkeypatch, workers):
    from spmlang.engine import run as calculator

    monkeypatch.setattr(calculator, "BATCH_ROWS", 40)
    plan = spmlang.load(ROOT / AE_ARGS[0])
    result = plan.run(ROOT / AE_ARGS[2], quotas=ROOT / AE_ARGS[4], targets=ROOT / AE_ARGS[6], workers=workers)
    batches = len(result.payout.run.batches)
    heard = []
    summary = result.summary(progress=lambda *report: heard.append(report))
    assert heard == [("paying", done, batches) for done in range(batches)] + [("paying", batches, batches)]
    heard.clear()
    assert result.summary(progress=lambda *report: heard.append(report)) == summary
    assert heard == []  # paid once: the totals are kept


def test_progress_does_not_change_the_result():
    assert ae_run(lambda *_: None).ledger.equals(ae_run().ledger)


def test_the_bar_appears_once_a_run_lasts_and_is_gone_at_the_end():
    screen = io.StringIO()
    with TerminalProgress(Console(file=screen, force_terminal=True, width=100), delay=0) as bar:
        bar("paying commission", 2, 5)
        time.sleep(0.3)
    assert "paying commission" in screen.getvalue()
    assert screen.getvalue().endswith("\x1b[2K")  # transient: the bar's line is erased


def test_a_quick_run_shows_no_bar():
    screen = io.StringIO()
    with TerminalProgress(Console(file=screen, force_terminal=True, width=100), delay=30) as bar:
        bar("paying commission", 2, 5)
    assert screen.getvalue() == ""


@pytest.mark.parametrize(
    "terminal, quiet, environment, expected",
    [
        (True, False, {}, True),
        (False, False, {}, False),
        (True, True, {}, False),
        (True, False, {"CI": "true"}, False),
        (True, False, {"TERM": "dumb"}, False),
    ],
)
def test_progress_is_wanted_only_by_a_person_at_a_terminal(monkeypatch, terminal, quiet, environment, expected):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert wanted(console, quiet) is expected


def test_in_a_pipe_spm_run_prints_nothing_extra(spm, tmp_path):
    result = spm("run", *AE_ARGS, "--out", tmp_path / "ledger.parquet")
    assert result.returncode == 0
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_at_a_terminal_spm_run_still_prints_its_summary(tmp_path):
    import pty

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    process = subprocess.Popen(
        [sys.executable, "-m", "spmlang.cli", "run", *AE_ARGS, "--out", str(tmp_path / "ledger.parquet")],
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**environment, "TERM": "xterm", "COLUMNS": "200"},
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        screen += chunk
    assert process.wait(timeout=120) == 0
    text = screen.decode("utf-8", "replace")
    assert "Account Executive FY2027" in text and "Traceback" not in text
    assert (tmp_path / "ledger.parquet").exists()


def test_a_tracked_step_is_reported_before_its_first_item_is_made():
    from spmlang.progress import tracked

    heard = []

    def made():  # each item takes a while: the step must be on screen while the first is made
        for item in range(3):
            heard.append(("making", item))
            yield item

    assert list(tracked(made(), 3, "paying", lambda *report: heard.append(report))) == [0, 1, 2]
    assert heard == [
        ("paying", 0, 3),
        ("making", 0),
        ("paying", 1, 3),
        ("making", 1),
        ("paying", 2, 3),
        ("making", 2),
        ("paying", 3, 3),
    ]
    heard.clear()
    assert list(tracked(iter([]), 0, "paying", lambda *report: heard.append(report))) == []
    assert heard == [("paying", 0, 1), ("paying", 1, 1)]


def test_making_and_writing_statements_report_each_payee_and_statement(tmp_path):
    from spmlang.report.statement_files import write_statements

    result = ae_run()
    heard = []
    statements = result.statements(progress=lambda *report: heard.append(report))
    payees = len({s.payee for s in statements})
    assert heard == [("making statements", done, payees) for done in range(payees + 1)]
    heard.clear()
    write_statements(statements, tmp_path, progress=lambda *report: heard.append(report))
    assert heard == [("writing statements", done, len(statements)) for done in range(len(statements) + 1)]
