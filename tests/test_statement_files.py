"""A run's statements written on several cores (report/statement_files.py): the files one process writes, byte
for byte, in the same order, whichever worker wrote them; two payees whose names make the same folder name kept
apart though different workers write them."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import quarterly_plan

import spmlang
from spmlang.engine.payout import Payout
from spmlang.engine.runtime import parallel
from spmlang.report import statement_files, statements
from spmlang.report.statement_files import write_statements

PLAN = quarterly_plan(
    "Files",
    """
quotas { per year }

component commission {
  tiers marginal on attainment {
    0%   .. 100% rate 5%
    100% ..      rate 9%
  }
}
""",
)
# "ann smith" and "ann_smith" make the same folder name: the second in payee order gets a hash after it.
REPS = ["ann smith", "ann_smith", *[f"rep{n:02d}" for n in range(9)]]


def run(workers: int | None = None):
    rows = [
        (f"D{n}", REPS[n % len(REPS)], f"2027-{1 + n % 12:02d}-{1 + n % 27:02d}", f"{1000 + 37 * n}.00")
        for n in range(120)
    ]
    deals = pa.table({name: [row[i] for row in rows] for i, name in enumerate(["id", "rep", "day", "amount"])})
    quotas = pa.table({"payee": REPS, "amount": ["20000"] * len(REPS)})
    return spmlang.loads(PLAN, "files.spm").run(deals, quotas=quotas, workers=workers)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("charts", [False, True])
def test_statements_written_by_workers_are_one_process_s_files(tmp_path, monkeypatch, charts):
    if charts:
        pytest.importorskip("matplotlib", reason="charts need matplotlib")
    monkeypatch.setattr(statement_files, "GROUP_PAYEES_WITH_CHARTS", 2)  # six groups: each worker writes several
    monkeypatch.setattr(statement_files, "BLOCK_LINES", 60)  # without charts too
    monkeypatch.setenv("SPM_WORKERS", "2")
    monkeypatch.setattr(statement_files, "ENOUGH_WITH_CHARTS", 1)
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    forked = []
    ordered_map = parallel.ordered_map

    def watched(work, count, workers):
        forked.append(workers)
        return ordered_map(work, count, workers)

    monkeypatch.setattr(parallel, "ordered_map", watched)
    result = run()
    shared = result.write_statements(tmp_path / "shared", charts=charts)
    assert forked == [2]
    listed = result.statements()
    assert all(s.standing is not None for s in listed)  # each page has its charts, if charts are drawn
    alone = write_statements(listed if charts else [replace(s, standing=None) for s in listed], tmp_path / "alone")
    assert [p.relative_to(tmp_path / "shared") for p in shared] == [p.relative_to(tmp_path / "alone") for p in alone]
    assert tree(tmp_path / "shared") == tree(tmp_path / "alone")
    folders = sorted(p.name for p in (tmp_path / "shared").iterdir() if p.is_dir())
    assert folders[:2] == ["ann_smith", f"ann_smith-{hashlib.sha256(b'ann_smith').hexdigest()[:8]}"]
    assert len(folders) == len(REPS) and len(shared) == 2 * 4 * len(REPS) + 1


def _drawn_run(reps: list[str]):
    """A run of several statement batches (see _batches, made small below): the deals of ``reps``, and a draw
    that pays "aaa", "rep04x" and "zoe" alone (they sell nothing): first, among and after the others."""
    plan = PLAN + "\ndraw {\n  amount $300 per quarter\n  recoverable\n}\n"
    deals, quotas = _drawn_inputs(reps)
    return spmlang.loads(plan, "files.spm").run(deals, quotas=quotas), [*reps, "aaa", "rep04x", "zoe"]


def _drawn_inputs(reps: list[str]):
    rows = [
        (f"D{n}", reps[n % len(reps)], f"2027-{1 + n % 12:02d}-{1 + n % 27:02d}", f"{1000 + 37 * n}.00")
        for n in range(120)
    ]
    deals = pa.table({name: [row[i] for row in rows] for i, name in enumerate(["id", "rep", "day", "amount"])})
    payees = [*reps, "aaa", "rep04x", "zoe"]
    return deals, pa.table({"payee": payees, "amount": ["20000"] * len(payees)})


@pytest.mark.parametrize(("workers", "charts"), [("1", False), ("2", False), ("1", True), ("2", True)])
def test_every_payee_s_statements_are_written_batch_by_batch_without_keeping_the_run_s_lines(
    tmp_path, monkeypatch, workers, charts
):
    if charts:
        pytest.importorskip("matplotlib", reason="charts need matplotlib")
    # Names of distinct folders, a run of several batches: each worker pays a batch and writes its payees'
    # statements, and nobody pays the whole run (the workers are forked: they see the patched Payout too).
    monkeypatch.setattr(statement_files, "BATCH_ROWS", 25)
    monkeypatch.setattr(statement_files, "GROUP_PAYEES_WITH_CHARTS", 2)
    monkeypatch.setenv("SPM_WORKERS", workers)
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    monkeypatch.setattr(statement_files, "ENOUGH_WITH_CHARTS", 1)
    forked = []
    ordered_map = parallel.ordered_map

    def watched(work, count, workers):
        forked.append((count, workers))
        return ordered_map(work, count, workers)

    def whole(self):
        raise AssertionError("the run's lines paid whole")

    monkeypatch.setattr(parallel, "ordered_map", watched)
    result, payees = _drawn_run([f"rep{n:02d}" for n in range(9)])
    batches = len(statement_files._batches(result.payout.run.credit_rows.payee, charts))
    assert batches >= 4 and len(result.payout.run.batches) == 1  # the statements' batches, not the run's
    whole_run = Payout.whole
    monkeypatch.setattr(Payout, "whole", whole)
    shared = result.write_statements(tmp_path / "batches", charts=charts)
    monkeypatch.setattr(Payout, "whole", whole_run)
    assert result.payout.kept is None
    assert forked == ([(batches, 2)] if workers == "2" else [])
    listed = result.statements()
    alone = write_statements(listed if charts else [replace(s, standing=None) for s in listed], tmp_path / "alone")
    assert [p.relative_to(tmp_path / "batches") for p in shared] == [p.relative_to(tmp_path / "alone") for p in alone]
    assert tree(tmp_path / "batches") == tree(tmp_path / "alone")
    assert len(shared) == 2 * 4 * len(payees) + 1
    assert all((tmp_path / "batches" / payee / "2027-Q1.html").is_file() for payee in ("aaa", "rep04x", "zoe"))


def test_a_few_payees_statements_pay_only_the_batches_they_are_in(monkeypatch):
    # A rep's statement of a large run (spm statement --payee) pays the batch that holds their lines, not the
    # run: "aaa" and "zoe" (paid the draw alone) are settled by the first and the last batch, "rep04x" between.
    monkeypatch.setenv("SPM_BATCH_ROWS", "25")
    result, payees = _drawn_run([f"rep{n:02d}" for n in range(9)])
    run = result.payout.run
    assert len(run.batches) >= 4
    asked = ["zoe", "rep03", "aaa", "rep04x", "rep04", "rep08"]
    paid = []
    batch = Payout.batch

    def watched(self, index):
        paid.append(index)
        return batch(self, index)

    monkeypatch.setattr(Payout, "batch", watched)
    few = result.statements(asked)
    assert result.payout.kept is None and len(set(paid)) == len(paid) < len(run.batches)
    assert set(paid) == set(statements.settling_batches(run, [run.payees.code[p] for p in asked]))
    whole = {(s.payee, s.period): s for s in result.statements()}  # every payee's: of the run's lines
    assert result.payout.kept is not None
    assert [(s.payee, s.period) for s in few] == [(p, f"2027-Q{q}") for p in asked for q in range(1, 5)]
    assert all(s.to_csv() == whole[s.payee, s.period].to_csv() for s in few)
    assert all(s.to_html() == whole[s.payee, s.period].to_html() for s in few)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_named_payees_statements_are_written_paying_only_their_batches(tmp_path, monkeypatch, workers):
    # spm statement --payee ... --out: each group of named payees pays the batch holding them, in whichever
    # process writes it (forked workers see the patched Payout.whole too); the files are the run's.
    monkeypatch.setenv("SPM_BATCH_ROWS", "25")
    monkeypatch.setenv("SPM_WORKERS", workers)
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    asked = ["zoe", "rep03", "aaa", "rep04x", "rep04"]
    result, _ = _drawn_run([f"rep{n:02d}" for n in range(9)])

    def whole(self):
        raise AssertionError("the run's lines paid whole")

    with monkeypatch.context() as patched:
        patched.setattr(Payout, "whole", whole)
        written = result.write_statements(tmp_path / "named", asked, charts=False)
    listed = [replace(s, standing=None) for s in result.statements(asked)]
    alone = write_statements(listed, tmp_path / "alone")
    assert [p.relative_to(tmp_path / "named") for p in written] == [p.relative_to(tmp_path / "alone") for p in alone]
    assert tree(tmp_path / "named") == tree(tmp_path / "alone") and len(written) == 2 * 4 * len(asked) + 1


def test_payees_whose_folders_share_a_name_are_written_from_the_run_s_lines(tmp_path, monkeypatch):
    # "ann smith" and "ann_smith": which gets the plain folder name depends on who has statements, known once
    # the run is paid: the run's lines are paid first (and kept), then shared out, in a run of several batches.
    monkeypatch.setattr(statement_files, "BATCH_ROWS", 25)
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    monkeypatch.setenv("SPM_WORKERS", "2")
    result, payees = _drawn_run(REPS)
    assert len(statement_files._batches(result.payout.run.credit_rows.payee, False)) >= 4
    shared = result.write_statements(tmp_path / "shared", charts=False)
    assert result.payout.kept is not None
    alone = write_statements([replace(s, standing=None) for s in result.statements()], tmp_path / "alone")
    assert [p.relative_to(tmp_path / "shared") for p in shared] == [p.relative_to(tmp_path / "alone") for p in alone]
    assert tree(tmp_path / "shared") == tree(tmp_path / "alone") and len(shared) == 2 * 4 * len(payees) + 1


@pytest.mark.parametrize("asked", [None, 1])
def test_statements_are_written_by_this_process_for_a_small_run_or_when_asked(tmp_path, monkeypatch, asked):
    monkeypatch.delenv("SPM_WORKERS", raising=False)
    if asked is not None:  # however many statements: spm statement --workers 1, plan.run(..., workers=1)
        monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
        monkeypatch.setattr(statement_files, "BLOCK_LINES", 60)
    pids = []
    write = statement_files.write_statement

    def watched(*args, **kwargs):
        pids.append(os.getpid())
        return write(*args, **kwargs)

    monkeypatch.setattr(statement_files, "write_statement", watched)
    run(workers=asked).write_statements(tmp_path, charts=False)
    assert set(pids) == {os.getpid()} and len(pids) == 4 * len(REPS)


def test_spm_statement_takes_workers(spm, tmp_path):
    args = ["--deals", "examples/data/ae_deals.csv", "--quotas", "examples/data/ae_quotas.csv"]
    args += ["--targets", "examples/data/ae_targets.csv", "--no-charts", "--workers", "1"]
    done = spm("statement", "examples/plans/account_executive.spm", *args, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 32 statement(s)" in done.stdout


def test_a_template_s_mistake_met_by_a_worker_is_said_and_makes_no_payee_folder(tmp_path, monkeypatch):
    from spmlang.diagnostics import InputError

    monkeypatch.setenv("SPM_WORKERS", "2")
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    monkeypatch.setattr(statement_files, "BLOCK_LINES", 60)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "statement.html").write_text("{{ statement.nope }}\n")
    with pytest.raises(InputError, match="asks for 'nope'") as raised:
        run().write_statements(tmp_path / "out", templates=tmp_path / "templates", charts=False)
    assert raised.value.code == "E509"
    assert [p for p in (tmp_path / "out").iterdir()] == []  # no folder of a payee whose page failed


def test_a_worker_stopped_while_writing_a_statement_leaves_no_part_of_it(tmp_path, monkeypatch):
    # One worker meets a template's mistake while the other is writing a file: spm stops that worker, and the
    # file it was writing is removed as it stops, not left half-written in the payee's folder.
    import multiprocessing
    import time

    from spmlang.diagnostics import InputError
    from spmlang.files import replacing
    from spmlang.report.render.html import Templates

    monkeypatch.setenv("SPM_WORKERS", "2")
    monkeypatch.setattr(statement_files, "ENOUGH_WITHOUT", 1)
    monkeypatch.setattr(statement_files, "BLOCK_LINES", 1)  # a group per payee: "ann_smith" is the second worker's
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "statement.html").write_text("{{ statement.nope }}\n")
    writing = tmp_path / "writing"

    def slow(path, content, make=True):  # the second worker, stopped in the middle of its first file
        with replacing(path, make) as partial:
            partial.write_bytes(content)
            writing.touch()
            time.sleep(20)

    write = statement_files.write_statement

    def fails_once_the_other_writes(statement, folder, name, templates=None):
        if statement.payee != "ann smith":
            return write(statement, folder, name, templates)
        while not writing.exists():
            time.sleep(0.01)
        return write(statement, folder, name, Templates(tmp_path / "templates"))

    monkeypatch.setattr(statement_files, "write_bytes", slow)
    monkeypatch.setattr(statement_files, "write_statement", fails_once_the_other_writes)
    started = time.monotonic()
    with pytest.raises(InputError, match="asks for 'nope'"):
        run().write_statements(tmp_path / "out", charts=False)
    assert time.monotonic() - started < 15  # the worker was stopped, not waited for
    assert multiprocessing.active_children() == []
    second = f"ann_smith-{hashlib.sha256(b'ann_smith').hexdigest()[:8]}"  # "ann smith" took "ann_smith"
    assert [str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")] == [second]


def test_a_payee_named_twice_is_written_once(spm, tmp_path):
    # spm statement --payee X --payee X: X's statements, each once, listed once in the index, counted once.
    args = ["--deals", "examples/data/ae_deals.csv", "--quotas", "examples/data/ae_quotas.csv"]
    args += ["--targets", "examples/data/ae_targets.csv", "--no-charts", "--payee", "ana.ruiz"]
    done = spm("statement", "examples/plans/account_executive.spm", *args, "--payee", "ana.ruiz", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 4 statement(s)" in done.stdout and "(9 files;" in done.stdout
    assert (tmp_path / "index.html").read_text().count('href="ana.ruiz/2027-Q1.html"') == 1


def test_a_payee_named_as_the_index_has_a_folder_of_their_own(tmp_path):
    deals = pa.table(
        {"id": ["A1", "A2"], "rep": ["index.html", "ann"], "day": ["2027-01-05"] * 2, "amount": ["100"] * 2}
    )
    result = spmlang.loads(quarterly_plan("Index", "component commission {\n  rate 8%\n}\n"), "index.spm").run(deals)
    written = result.write_statements(tmp_path, charts=False)
    folder = f"index.html-{hashlib.sha256(b'index.html').hexdigest()[:8]}"
    assert (tmp_path / "index.html").is_file() and (tmp_path / folder / "2027-Q1.html").is_file()
    assert f'href="{folder}/2027-Q1.html"' in (tmp_path / "index.html").read_text()
    assert len(written) == 2 * 2 + 1  # a page and a CSV of each payee's one period with lines, the index


def test_a_payee_asked_for_twice_has_their_statements_once():
    result = run()
    twice, once = (result.statements(p) for p in (["ann smith", "rep01", "ann smith"], ["ann smith", "rep01"]))
    assert [(s.payee, s.period, s.to_csv()) for s in twice] == [(s.payee, s.period, s.to_csv()) for s in once]
    assert len(once) == 2 * 4


@pytest.mark.parametrize("payee", ["rep00", "x\x00spm statement lines\x00y"])
def test_a_written_page_is_the_statement_s_page(tmp_path, payee):
    """A page is written with its lines' rows as the bytes they were made as (never decoded): the file is the
    page, whatever the payee is called, a marker of the lines in the name too."""
    from spmlang.report.statement_lines import MARKER

    assert MARKER in "x\x00spm statement lines\x00y"  # what the second name is for
    result = spmlang.loads(PLAN, "files.spm").run(
        pa.table(
            {"id": ["D1", "D2"], "rep": [payee] * 2, "day": ["2027-01-05", "2027-05-05"], "amount": ["25000.00"] * 2}
        ),
        quotas=pa.table({"payee": [payee], "amount": ["20000"]}),
    )
    written = result.write_statements(tmp_path, charts=False)
    by_file = {path.stem: path.read_bytes() for path in written if path.suffix == ".html" and path.stem != "index"}
    for statement in result.statements():
        assert by_file[statement.period] == replace(statement, standing=None).to_html().encode()  # no charts
        assert (
            tmp_path / written[0].parent.name / f"{statement.period}.csv"
        ).read_bytes() == statement.to_csv().encode()
