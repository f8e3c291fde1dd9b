"""Cumulative measures per payee: streams.

A *stream* is the ordered credit rows of one payee in one role (direct or
rollup). Its measure accumulates credit year-to-date (or period-to-date, if the
plan says so); attainment divides it by the quota basis (see
:mod:`spmlang.engine.credit.basis`).
"""

from __future__ import annotations

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
