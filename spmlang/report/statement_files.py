"""A run's statements written into a folder on every core: payees are cut into groups, each group's statements
made and written by one worker process (charts drawn, pages rendered, files written), and the index written
last by this process, from what the workers sent back. Every payee's statements of a large run are cut into
batches of whole payees of their own, each paid by the worker that writes its statements, as `spm run` pays and
writes a ledger: no process holds every line. The files are those one process writes, byte for byte: each
payee's folder is named here, before the work is shared out (see :class:`PayeeFolders`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import cast

import numpy as np

from spmlang.engine.kernels import grouping
from spmlang.engine.run import payee_batches
from spmlang.engine.runtime import parallel
from spmlang.files import make_folder
from spmlang.progress import Report, silent
from spmlang.report.statement_lines import BLOCK_LINES
from spmlang.report.statements import (
    IndexEntry,
    PayeeFolders,
    Statement,
    StatementMaker,
    write_index,
    write_statement,
)

# A worker makes and writes the statements of a group of whole payees at a time: about as many lines as the
# lines of statements are made into text at once, and with charts (~45 ms a statement) at most this many payees.
GROUP_PAYEES_WITH_CHARTS = 16
# Every payee's statements of a large run without charts: credit rows a worker pays and writes the statements of,
# at least (a batch of whole payees; with charts, GROUP_PAYEES_WITH_CHARTS payees).
BATCH_ROWS = 1 << 16
# How many statements are worth starting other processes for: one with charts takes ~45 ms (matplotlib),
# without ~0.5 ms and two small files.
ENOUGH_WITH_CHARTS, ENOUGH_WITHOUT = 32, 4000


def write_run_statements(
    maker: StatementMaker,
    folder: Path,
    payees: list[str] | None = None,
    periods: list[str] | None = None,
    templates=None,
    progress: Report | None = None,
    step: str = "making and writing statements",
) -> list[Path]:
    """Write the statements ``maker`` makes of ``payees`` (default: every payee with a ledger line) and
    ``periods`` into ``folder``, with its index; the files written, in order. ``progress`` hears of each
    group of payees done."""
    run = maker.payout.run
    make_folder(folder)
    # Every payee's statements of a run of several batches: each worker pays a batch of the run's payees and
    # writes theirs, and no line of the run is kept (as `spm run` writes a ledger), where each payee's folder
    # is known without paying (the slug of their name, no other payee's). Else the run's lines are paid first,
    # then shared out in groups of payees (with charts, groups smaller than a batch).
    batches = _batches(run.credit_rows.payee, maker.charts) if payees is None and not maker.payout.kept else []
    names = PayeeFolders.distinct(_with_lines(run)) if len(batches) > 1 else None
    jobs: list[Callable[[], Iterator[Statement]]]  # each worker's: the statements of a group of payees
    if names is not None:
        jobs = [partial(maker.of_batch, batch, periods) for batch in batches]
        count = len(run.payees) * (len(periods) if periods is not None else run.calendar.count)
    else:
        payees = maker.payees(payees)
        folders = PayeeFolders()
        names = {payee: folders.of(payee) for payee in payees}
        jobs = [partial(maker.statements, group, periods) for group in _groups(maker, payees)]
        count = len(payees) * (len(periods) if periods is not None else run.calendar.count)

    def write(index: int) -> parallel.BatchResult:  # in whichever process writes the group
        written: list[Path] = []
        entries: list[IndexEntry] = []
        for statement in jobs[index]():
            paths, entry = write_statement(statement, folder, names[statement.payee], templates)
            written += paths
            entries.append(entry)
        return parallel.BatchResult([], (written, entries))

    enough = ENOUGH_WITH_CHARTS if maker.charts else ENOUGH_WITHOUT
    workers = parallel.worker_count(len(jobs), count, run.workers_wanted, enough)
    results = parallel.ordered_map(write, len(jobs), workers) if workers else map(write, range(len(jobs)))
    report = progress or silent
    report(step, 0, max(len(jobs), 1))
    written: list[Path] = []
    index: list[IndexEntry] = []
    for done, result in enumerate(results, 1):
        paths, entries = cast("tuple[list[Path], list[IndexEntry]]", result.value)
        written += paths
        index += entries
        report(step, done, len(jobs))
    if not jobs:
        report(step, 1, 1)
    written.append(write_index(folder, index, templates))
    return written


def _batches(payee: np.ndarray, charts: bool) -> list[slice]:
    """The run's credit rows (``payee``: each one's payee, in crediting order) cut into batches of whole payees
    for the workers: of about :data:`BATCH_ROWS` rows, or with charts (whose cost is a statement's, not a
    row's) :data:`GROUP_PAYEES_WITH_CHARTS` payees each."""
    if not charts:
        return payee_batches(payee, BATCH_ROWS)
    starts = np.flatnonzero(grouping.starts_from_keys(payee))
    bounds = [*starts[::GROUP_PAYEES_WITH_CHARTS].tolist(), payee.size]
    return [slice(start, stop) for start, stop in itertools.pairwise(bounds) if stop > start]


def _with_lines(run) -> list[str]:
    """The payees a run's ledger can have lines of: every payee with a credit row (each has a line), and those
    with none that the pay cycle settles (draws, the floor, closed periods)."""
    codes = np.union1d(run.credit_rows.payee, run.cycle.unrowed).astype(np.int64)
    return [run.payees.names[code] for code in codes.tolist()]


def _groups(maker: StatementMaker, payees: list[str]) -> list[list[str]]:
    """``payees`` cut into groups of whole payees of about :data:`BLOCK_LINES` lines (their lines are made into
    text a block at a time: smaller blocks cost more a line), and with charts at most
    :data:`GROUP_PAYEES_WITH_CHARTS` payees, so that the work is shared out evenly."""
    most = GROUP_PAYEES_WITH_CHARTS if maker.charts else len(payees)
    code = maker.payout.run.payees.code
    groups: list[list[str]] = []
    group: list[str] = []
    lines = 0
    for payee in payees:
        group.append(payee)
        lines += maker.lines_of(code[payee]).size
        if lines >= BLOCK_LINES or len(group) >= most:
            groups.append(group)
            group, lines = [], 0
    if group:
        groups.append(group)
    return groups
