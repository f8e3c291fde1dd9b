"""Statements written into a folder: each payee's page and CSV file in a folder of their own, and an index
(:func:`write_statements`). A run's statements are written on every core (:func:`write_run_statements`): payees
are cut into groups, each group's statements made and written by one worker process (charts drawn, pages
rendered, files written), and the index written last by this process, from what the workers sent back. Every
payee's statements of a large run are cut into batches of whole payees of their own, each paid by the worker
that writes its statements, as `spm run` pays and writes a ledger: no process holds every line. The files are
those one process writes, byte for byte: each payee's folder is named here, before the work is shared out (see
:class:`PayeeFolders`)."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import fields, replace
from functools import partial
from pathlib import Path
from typing import cast

import numpy as np

from spmlang.engine.kernels import grouping
from spmlang.engine.run import payee_batches
from spmlang.engine.runtime import parallel
from spmlang.files import make_folder, write_bytes, write_text
from spmlang.progress import Report, silent, tracked
from spmlang.report.statement_lines import BLOCK_LINES, StatementLines, lines_as_bytes, spliced
from spmlang.report.statements import Statement, StatementMaker, settling_batches

# A worker makes and writes the statements of a group of whole payees at a time: about as many lines as the
# lines of statements are made into text at once, and with charts (~40 ms a statement) at most this many payees.
GROUP_PAYEES_WITH_CHARTS = 16
# Every payee's statements of a large run without charts: credit rows a worker pays and writes the statements of,
# at least (a batch of whole payees; with charts, GROUP_PAYEES_WITH_CHARTS payees).
BATCH_ROWS = 1 << 16
# How many statements are worth starting other processes for: one with charts takes ~40 ms (matplotlib),
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
        payee_count = len(run.payees)
    else:
        asked = payees is not None
        payees = maker.payees(payees)
        folders = PayeeFolders()
        names = {payee: folders.of(payee) for payee in payees}
        # Payees named (spm statement --payee ... --out): grouped by the batch that pays them, which each group
        # pays alone, unless the run's lines are kept already.
        groups = _by_batch(maker, payees) if asked and not maker.payout.kept else _groups(maker, payees)
        jobs = [partial(maker.statements, group, periods) for group in groups]
        payee_count = len(payees)
    count = payee_count * (len(periods) if periods is not None else run.calendar.count)

    def write(index: int) -> parallel.BatchResult:  # in whichever process writes the group
        written: list[str] = []
        entries: list[tuple] = []
        for statement in jobs[index]():
            paths, href = write_statement(statement, folder, names[statement.payee], templates)
            written += map(str, paths)
            entries.append(_sent(statement, href))
        return parallel.BatchResult([], (written, entries))

    enough = ENOUGH_WITH_CHARTS if maker.charts else ENOUGH_WITHOUT
    workers = parallel.worker_count(len(jobs), count, run.workers_wanted, enough)
    results = parallel.ordered_map(write, len(jobs), workers) if workers else map(write, range(len(jobs)))
    report = progress or silent
    report(step, 0, max(len(jobs), 1))
    written: list[Path] = []
    index: list[IndexEntry] = []
    for done, result in enumerate(results, 1):
        paths, entries = cast("tuple[list[str], list[tuple]]", result.value)
        written += map(Path, paths)
        index += map(_received, entries)
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


def _by_batch(maker: StatementMaker, payees: list[str]) -> list[list[str]]:
    """``payees``, in order, cut where the batch of the run that pays them changes (see
    :func:`~spmlang.report.statements.settling_batches`), and with charts at most
    :data:`GROUP_PAYEES_WITH_CHARTS` payees a group."""
    run = maker.payout.run
    most = GROUP_PAYEES_WITH_CHARTS if maker.charts else len(payees)
    batch_of = settling_batches(run, [run.payees.code[payee] for payee in payees]) if run.batches else [0] * len(payees)
    groups: list[list[str]] = []
    for _, same in itertools.groupby(zip(batch_of, payees, strict=True), key=lambda pair: pair[0]):
        named = [payee for _, payee in same]
        groups += [named[i : i + most] for i in range(0, len(named), most)]
    return groups


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


def slug(name: str) -> str:
    """A payee or period name as a safe file name: letters, digits, '.', '-', '_' only, never a path."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "payee"
    return cleaned[:80]


def write_statements(
    statements: Iterable[Statement], folder: Path, progress: Report | None = None, templates=None
) -> list[Path]:
    """statements/<payee>/<period>.html and .csv, and statements/index.html linking them all. Each statement
    is written as it comes (an iterator of them is not held whole); ``progress`` hears of each of a list.
    ``templates``: the pages' templates (:class:`~spmlang.report.render.html.Templates`; default: spm's).
    A run's statements are written on every core by :func:`write_run_statements`."""
    make_folder(folder)
    written, index = [], []
    folders = PayeeFolders()
    if progress is not None and isinstance(statements, Sized):
        statements = tracked(statements, len(statements), "writing statements", progress)
    for statement in statements:
        paths, href = write_statement(statement, folder, folders.of(statement.payee), templates)
        written += paths
        index.append((replace(statement, earnings=StatementLines(), adjustments=StatementLines(), standing=None), href))
    written.append(write_index(folder, index, templates))
    return written


class PayeeFolders:
    """Each payee's folder of statements: the slug of their name, or, where a payee before them took that slug
    (or the index's name), the slug and a hash of the name (two payees never share a folder)."""

    INDEX = "index.html"

    def __init__(self) -> None:
        self._taken: dict[str, str | None] = {self.INDEX: None}  # the index is the folder's own
        self._named: dict[str, str] = {}

    @classmethod
    def distinct(cls, payees: list[str]) -> dict[str, str] | None:
        """Each of ``payees``' folder where it is the slug of their name and no other's (None where two share a
        slug, or one is the index's name): then every payee's folder is known before anyone's statements are
        made, whichever of them have statements."""
        folders = {payee: slug(payee) for payee in payees}
        taken = set(folders.values())
        return folders if len(taken) == len(folders) and cls.INDEX not in taken else None

    def of(self, payee: str) -> str:
        if payee not in self._named:
            name = slug(payee)
            if self._taken.setdefault(name, payee) != payee:
                name = f"{name}-{hashlib.sha256(payee.encode()).hexdigest()[:8]}"
            self._named[payee] = name
        return self._named[payee]


IndexEntry = tuple[Statement, str]  # a statement's figures (no lines, no standing), and its page in the folder


# What a worker sends back of an index entry: its statement's figures as plain values, not the dataclass, which
# takes ~10 times as long to unpickle (~40 against ~4 microseconds; 40,000 statements of a large run).
_INDEX_FIELDS = [f.name for f in fields(Statement) if f.name not in ("earnings", "adjustments", "standing")]


def _sent(statement: Statement, href: str) -> tuple:
    return tuple(getattr(statement, name) for name in _INDEX_FIELDS), href


def _received(sent: tuple) -> IndexEntry:
    values, href = sent
    figures = dict(zip(_INDEX_FIELDS, values, strict=True))
    return Statement(**figures, earnings=StatementLines(), adjustments=StatementLines()), href


def write_statement(statement: Statement, folder: Path, name: str, templates=None) -> tuple[list[Path], str]:
    """A statement's page and CSV, in the payee's folder ``name`` of ``folder``; the page, as the index links
    it."""
    target = folder / name
    pages = ((".html", _page(statement, templates)), (".csv", _text(statement)))  # a template's error: no folder
    make_folder(target)
    written = []
    for suffix, data in pages:
        path = target / f"{slug(statement.period)}{suffix}"
        write_bytes(path, data, make=False)  # whole or not at all, in a folder of spm's own
        written.append(path)
    return written, f"{name}/{slug(statement.period)}.html"


def _page(statement: Statement, templates) -> bytes:
    """A statement's page as its file holds it. With spm's own templates, its lines' rows go in as the bytes
    they were made as (see statement_lines.lines_as_bytes); a company's template may do anything with them."""
    if os.linesep == "\n" and (templates is None or templates.folder is None):
        with lines_as_bytes() as rows:
            page = statement.to_html(templates)
        made = spliced(page, rows)
        if made is not None:
            return made
    return _system_lines(statement.to_html(templates))


def _text(statement: Statement) -> bytes:
    """A statement's CSV as its file holds it."""
    return statement.csv_bytes() if os.linesep == "\n" else _system_lines(statement.to_csv())


def _system_lines(content: str) -> bytes:
    """Text with its line ends as the system writes text, as UTF-8."""
    return content.replace("\n", os.linesep).encode()


def write_index(folder: Path, index: list[IndexEntry], templates=None) -> Path:
    """index.html, linking every statement written: written last, so that until then the index is of the
    statements written before."""
    from spmlang.report.render.html import index_html

    index_path = folder / PayeeFolders.INDEX
    write_text(index_path, index_html(index, templates))
    return index_path
