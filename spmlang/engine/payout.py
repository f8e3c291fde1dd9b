"""Paying a credited run: :class:`Payout` pays it batch after batch (:func:`~spmlang.engine.batch.pay_batch`).
A payee's lines never depend on another payee's, so batches bound the memory a run needs, stream to the ledger
writer, and are paid on every core for large runs (:mod:`~spmlang.engine.runtime.parallel`); what the summary needs
of them (:class:`RunTotals`) is kept on the way."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

from spmlang.engine.batch import PaidLines, batch_sums, pay_batch, streams_by_component
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.credited import CreditedRun
from spmlang.engine.kernels import column_text as text
from spmlang.engine.pay.lines import Lines
from spmlang.engine.pay.payments import Payments
from spmlang.engine.pay.streams import StreamsByComponent
from spmlang.engine.pay.sums import run_needs_lines
from spmlang.engine.runtime import parallel
from spmlang.progress import Report, tracked

__all__ = ["KeptLines", "PaidLines", "Payout", "RunTotals"]


@dataclass
class Payout:
    """Paying a credited run, and what paying it has given so far.

    :meth:`in_batches` pays batch after batch without keeping the lines (a ledger written as it is paid) and
    keeps the totals on the way; :meth:`whole` pays every batch once and keeps all the lines (explain,
    statements): after that, a batch's lines are taken from them.
    """

    run: CreditedRun
    kept: KeptLines | None = field(default=None, repr=False)  # every line, once :meth:`whole` was asked for
    totals: RunTotals | None = field(default=None, repr=False)  # once every batch was paid

    @cached_property
    def streams(self) -> StreamsByComponent:
        """The streams (measures) of every credit row, as each component and the payee's figures count them."""
        run = self.run
        return streams_by_component(run, run.credit_rows, slice(None))

    def batch(self, index: int) -> PaidLines:
        """The lines of batch ``index``."""
        batch = self.run.batches[index]
        if self.kept is None:
            return pay_batch(self.run, batch)
        part = self.kept.lines.take(slice(self.kept.offsets[index], self.kept.offsets[index + 1]))
        part.lines.row = np.where(part.lines.row >= 0, part.lines.row - batch.start, -1)
        if batch.start == batch.stop:  # payees with no credit row (see credit_run)
            streams = self.streams.slice(batch, slice(0, 0))
        else:
            first, last = (int(self.streams.of_payee.row_stream[r]) for r in (batch.start, batch.stop - 1))
            streams = self.streams.slice(batch, slice(first, last + 1))
        return PaidLines(part.lines, part.cents, self.run.credit_rows.take(batch), streams, self.kept.lines.payments)

    def whole(self) -> PaidLines:
        """Every line of the run, in ledger order (``row`` indexes the run's credit rows), kept."""
        if self.kept is None:
            run = self.run
            parts = [pay_batch(run, batch) for batch in run.batches]
            for part, batch in zip(parts, run.batches, strict=True):
                part.lines.row = np.where(part.lines.row >= 0, part.lines.row + batch.start, -1)
            offsets = np.cumsum([0, *[len(p.lines) for p in parts]])
            cents = np.concatenate([p.cents for p in parts]) if parts else np.zeros(0, np.int64)
            payments = Payments.concat([p.payments for p in parts])
            lines = PaidLines(Lines.concat([p.lines for p in parts]), cents, run.credit_rows, self.streams, payments)
            self.kept = KeptLines(lines, offsets)
        return self.kept.lines

    def in_batches(
        self,
        make: Callable[[PaidLines], Iterable[pa.Table]] | None = None,
        progress: Report | None = None,
        step: str = "paying",
    ) -> Iterator:
        """Pay batch after batch, in order, and yield the Arrow tables ``make(paid)`` makes of each (none
        without ``make``); the totals per cell, the measures and the line count are kept on the way. Large
        runs are paid on every core (see :mod:`spmlang.engine.runtime.parallel`), ``make`` included."""
        count = len(self.run.batches)

        by_sums = make is None and run_needs_lines(self.run) is None

        def pay(index: int) -> parallel.BatchResult:  # in whichever process pays the batch
            if by_sums:  # totals alone, without the lines (see spmlang.engine.pay.sums)
                sums = batch_sums(self.run, self.run.batches[index])
                if sums is not None:
                    return parallel.BatchResult([], sums)
            if make is not None:
                paid = self.batch(index)
            else:  # totals alone: the lines are dropped unread, their text unwritten
                with text.unwritten():
                    paid = self.batch(index)
            return parallel.BatchResult(make(paid) if make else [], paid.totals())

        workers = self.workers()
        results = parallel.ordered_map(pay, count, workers) if workers else map(pay, range(count))
        adding = BatchTotals()
        for result in tracked(results, count, step, progress):
            if not isinstance(result.value, tuple):
                raise TypeError("a batch's result carries its totals")
            adding.add(result.value)
            yield from result.tables
        cells, measures, owed = adding.joined(self.run.calendar.count)
        self.totals = RunTotals(cells, measures, adding.lines, owed)

    def workers(self) -> int:
        """How many worker processes would pay this run's batches (0: this process pays them)."""
        if self.kept is not None:
            return 0
        run = self.run
        return parallel.worker_count(len(run.batches), len(run.credit_rows), run.workers_wanted)

    @property
    def rows(self) -> CreditRows:
        """Every credit row, in crediting order."""
        return self.run.credit_rows

    @property
    def lines(self) -> Lines:
        """Every line of the run, in ledger order (``row`` indexes :attr:`rows`)."""
        return self.whole().lines

    @property
    def cents(self) -> np.ndarray:
        return self.whole().cents

    @property
    def line_count(self) -> int:
        if self.totals is not None and self.totals.lines is not None:
            return self.totals.lines
        return len(self.lines)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents) of every cell with lines, in order (see :meth:`PaidLines.cells`)."""
        return self.totalled().cells

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at period ends) of every stream (see
        :meth:`PaidLines.measures`)."""
        return self.totalled().measures

    def owed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, draw owed, floor owed, held) at the end of the run (see :meth:`PaidLines.owed`)."""
        return self.totalled().owed

    def totalled(self, progress: Report | None = None) -> RunTotals:
        """The run's totals (the summary's figures): from the kept lines, else by paying every batch without
        keeping its lines."""
        if self.totals is None:
            if self.kept is not None:
                whole = self.kept.lines
                self.totals = RunTotals(whole.cells(), whole.measures(), len(whole.lines), whole.owed())
            else:
                deque(self.in_batches(progress=progress), maxlen=0)  # yields nothing without `make`
        assert self.totals is not None
        return self.totals


@dataclass
class KeptLines:
    """Every line of a run, and where each batch's lines start among them."""

    lines: PaidLines
    offsets: np.ndarray  # batch i's lines are lines[offsets[i]:offsets[i + 1]]


@dataclass
class RunTotals:
    """What the summary needs of a paid run: the exact sum of each (payee, period, component) cell, each
    stream's measures, and how many lines it has (None: paid by group sums, no line was made)."""

    cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    measures: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    lines: int | None
    owed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # payee, draw owed, floor owed, held


@dataclass
class BatchTotals:
    """What paid batches add up to: totals per cell, measures per stream, and their lines (see
    :meth:`PaidLines.totals`)."""

    parts: list = field(default_factory=list)
    lines: int | None = 0  # None once a batch was paid by group sums

    def add(self, totals: tuple) -> None:
        cells, measures, lines, owed = totals
        self.parts.append((cells, measures, owed))
        self.lines = None if lines is None or self.lines is None else self.lines + lines

    def joined(self, periods: int) -> tuple[tuple, tuple, tuple]:
        """(cells, measures, owed), each concatenated over the batches in order."""
        cells = _concat([c for c, _, _ in self.parts], [np.zeros(0, np.int64)] * 4)
        owed = _concat([o for _, _, o in self.parts], [np.zeros(0, np.int64)] * 4)
        measures = _concat(
            [m for _, m, _ in self.parts],
            [
                np.zeros(0, np.int32),
                np.zeros(0, np.int8),
                np.zeros((0, periods), np.int64),
                np.zeros((0, periods), np.int64),
            ],
        )
        return cells, measures, owed


def _concat(parts: list[tuple], empty: list[np.ndarray]) -> tuple:
    """Concatenate tuples of arrays element-wise; ``empty`` (the shapes of nothing) when there are none."""
    if not parts:
        return tuple(empty)
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(len(empty)))
