"""Cumulative measures per payee: streams.

A *stream* is the ordered credit rows of one payee in one role (direct or
rollup). Its measure accumulates credit year-to-date (or period-to-date, if the
plan says so); attainment divides it by the quota basis (see
:mod:`spmlang.engine.credit.basis`).

A cancelled transaction's reversal rows (:mod:`spmlang.engine.credit.reversals`) move the measure of the
components that re-price without it and not of the others: :class:`StreamsByComponent` holds the streams each
component is priced on, and those of the payee's own figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import ensure_sums_fit


@dataclass
class Streams:
    row_stream: np.ndarray  # per row: its stream
    starts: np.ndarray  # per row: True on a stream's first row
    payee: np.ndarray  # per stream
    role: np.ndarray  # per stream
    m_before: np.ndarray  # per row: the measure before the row (units)
    m_after: np.ndarray  # per row: the measure after it
    period_credit: np.ndarray  # (streams, periods): credit within each period
    period_count: np.ndarray  # (streams, periods): rows within each period
    ytd: bool

    @property
    def count(self) -> int:
        return int(self.payee.size)

    def measure_at_end(self) -> np.ndarray:
        """(streams, periods): the measure at each period end."""
        return np.cumsum(self.period_credit, axis=1) if self.ytd else self.period_credit

    def count_at_end(self) -> np.ndarray:
        return np.cumsum(self.period_count, axis=1) if self.ytd else self.period_count

    def slice(self, rows: slice, streams: slice) -> Streams:
        """The streams ``streams``, whose rows are ``rows`` (consecutive), as views; stream ids restart at 0."""
        return Streams(
            self.row_stream[rows] - streams.start,
            self.starts[rows],
            self.payee[streams],
            self.role[streams],
            self.m_before[rows],
            self.m_after[rows],
            self.period_credit[streams],
            self.period_count[streams],
            self.ytd,
        )


def build_streams(rows: CreditRows, periods: int, ytd: bool, reversals: np.ndarray | None = None) -> Streams:
    """Rows must be in stream order (see :func:`crediting.in_order`). A reversal row (the credit of a
    cancelled transaction leaving the measure) counts as one row fewer; ``reversals``, if given, says which
    reversal rows count at all (the others move nothing: a component that does not re-price cancellations)."""
    starts = grouping.starts_from_keys(rows.role, rows.payee)
    row_stream = grouping.ids(starts)
    measure_starts = starts if ytd else grouping.starts_from_keys(rows.role, rows.payee, rows.period)
    credit = rows.credit
    counted: np.ndarray | None = None
    if rows.reversal.any():
        applies = rows.reversal if reversals is None else rows.reversal & reversals
        credit = np.where(rows.reversal & ~applies, 0, credit)
        counted = np.where(applies, -1, np.where(rows.reversal, 0, 1)).astype(np.int64)
    ensure_sums_fit(credit, starts)  # year to date, so within each period too
    m_after = grouping.cumsum(credit, measure_starts)
    m_before = m_after - credit
    count = int(np.count_nonzero(starts))
    period_credit = np.zeros((count, periods), dtype=np.int64)
    period_count = np.zeros((count, periods), dtype=np.int64)
    if len(rows):
        cell_starts = grouping.starts_from_keys(row_stream, rows.period)
        first = np.flatnonzero(cell_starts)
        cell_stream, cell_period = row_stream[first], rows.period[first]
        period_credit[cell_stream, cell_period] = grouping.sums(credit, cell_starts)
        if counted is None:
            period_count[cell_stream, cell_period] = np.diff(np.append(first, len(rows)))
        else:
            period_count[cell_stream, cell_period] = grouping.sums(counted, cell_starts)
    return Streams(
        row_stream, starts, rows.payee[starts], rows.role[starts], m_before, m_after, period_credit, period_count, ytd
    )


@dataclass
class StreamsByComponent:
    """The streams of some credit rows as each component counts them, and as the payee's own figures do (the
    summary's credit and attainment, a statement's). Without reversal rows, or where every component counts
    them alike, all are one :class:`Streams`; else there is one for each way of counting them, shared by the
    components that count alike (a component that claws back money, or recalculates within a window, counts
    fewer). Their rows and streams are the same: only the measures differ."""

    of_payee: Streams  # the payee's own figures: a reversal row counts where some component counts it
    components: list[Streams]  # per component: the streams it is priced on

    def of(self, component: int) -> Streams:
        """The streams component ``component`` is priced on (-1, a line of no component: the payee's)."""
        return self.of_payee if component < 0 else self.components[component]

    def around(self, row: np.ndarray, component: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The measure before and after credit row ``row`` of each line, on the streams its component is priced
        on (``row`` valid on every line: a line on no row reads row 0, to be masked)."""
        before, after = self.of_payee.m_before[row], self.of_payee.m_after[row]
        for index, streams in enumerate(self.components):
            if streams is not self.of_payee:
                on = np.flatnonzero(component == index)
                before[on], after[on] = streams.m_before[row[on]], streams.m_after[row[on]]
        return before, after

    def slice(self, rows: slice, streams: slice) -> StreamsByComponent:
        """:meth:`Streams.slice` of each, still shared alike."""
        sliced = {id(s): s.slice(rows, streams) for s in [self.of_payee, *self.components]}
        return StreamsByComponent(sliced[id(self.of_payee)], [sliced[id(s)] for s in self.components])


def build_streams_by_component(
    rows: CreditRows, periods: int, ytd: bool, reverses: Sequence[np.ndarray | None]
) -> StreamsByComponent:
    """The streams of ``rows`` for each component, ``reverses`` saying which reversal rows move its measure
    (None: all of them, see :func:`build_streams`)."""
    if not rows.reversal.any():
        streams = build_streams(rows, periods, ytd)
        return StreamsByComponent(streams, [streams] * len(reverses))
    ways: list[np.ndarray] = []  # the distinct ways of counting the reversal rows, the payee's first
    counts = np.zeros(len(rows), np.bool_)
    for mask in reverses:
        counts |= rows.reversal if mask is None else mask
    ways.append(counts & rows.reversal)
    chosen = []
    for mask in reverses:
        mask = rows.reversal if mask is None else mask & rows.reversal
        found = next((i for i, way in enumerate(ways) if np.array_equal(way, mask)), None)
        if found is None:
            found = len(ways)
            ways.append(mask)
        chosen.append(found)
    built = [build_streams(rows, periods, ytd, way) for way in ways]
    return StreamsByComponent(built[0], [built[i] for i in chosen])
