"""Cumulative measures per payee, and the quota and target each is measured against.

A *stream* is the ordered credit rows of one payee in one role (direct or
rollup). Its measure accumulates credit year-to-date (or period-to-date, if the
plan says so); attainment divides it by the quota basis: quota-to-date, the
annual quota, or the period's quota.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmlang.engine.kernels import grouping
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.kernels.money import LIMIT, TooLarge, ensure_sums_fit
from spmlang.ir.kinds import AttainmentBasis


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

    def slice(self, rows: slice, streams: slice) -> "Streams":
        """The streams ``streams``, whose rows are ``rows`` (consecutive), as views; stream ids restart at 0."""
        return Streams(self.row_stream[rows] - streams.start, self.starts[rows], self.payee[streams],
                       self.role[streams], self.m_before[rows], self.m_after[rows], self.period_credit[streams],
                       self.period_count[streams], self.ytd)


def build_streams(rows: CreditRows, periods: int, ytd: bool) -> Streams:
    """Rows must be in stream order (see :func:`crediting.in_order`)."""
    starts = grouping.starts_from_keys(rows.role, rows.payee)
    row_stream = grouping.ids(starts)
    measure_starts = starts if ytd else grouping.starts_from_keys(rows.role, rows.payee, rows.period)
    ensure_sums_fit(rows.credit, starts)  # year to date, so within each period too
    m_after = grouping.cumsum(rows.credit, measure_starts)
    m_before = m_after - rows.credit
    count = int(np.count_nonzero(starts))
    period_credit = np.zeros((count, periods), dtype=np.int64)
    period_count = np.zeros((count, periods), dtype=np.int64)
    if len(rows):
        cell_starts = grouping.starts_from_keys(row_stream, rows.period)
        first = np.flatnonzero(cell_starts)
        cell_stream, cell_period = row_stream[first], rows.period[first]
        period_credit[cell_stream, cell_period] = grouping.sums(rows.credit, cell_starts)
        period_count[cell_stream, cell_period] = np.diff(np.append(first, len(rows)))
    return Streams(row_stream, starts, rows.payee[starts], rows.role[starts], m_before, m_after,
                   period_credit, period_count, ytd)


@dataclass
class Basis:
    """Quotas and target incentives per payee (rows) and period (columns), in units."""

    quota: np.ndarray  # what attainment divides by, per the plan's basis
    quota_period: np.ndarray  # each period's own quota
    quota_known: np.ndarray  # per payee: has a quota row
    target: np.ndarray  # target incentive on the same basis as the quota
    target_period: np.ndarray
    target_annual: np.ndarray  # per payee
    target_known: np.ndarray
    varies: bool  # the basis grows period by period (quota to date): earlier credit is re-priced

    def __post_init__(self):
        # Flat per-(payee, period) cells, made once: earning functions cache their breakpoints by them.
        self.quota_cells = np.ascontiguousarray(self.quota).reshape(-1)
        self.target_cells = np.ascontiguousarray(self.target).reshape(-1)

    def attainment(self, measure: np.ndarray, payee: np.ndarray, period: np.ndarray) -> np.ndarray:
        """measure / quota basis as float; 0 where the quota is 0 (checked before any row is paid)."""
        quota = self.quota[payee, period].astype(np.float64)
        return np.divide(measure.astype(np.float64), quota, out=np.zeros(measure.shape, np.float64),
                         where=quota != 0)


def make_basis(quota_period: np.ndarray, quota_known: np.ndarray, target_period: np.ndarray,
               target_known: np.ndarray, attainment_basis: str) -> Basis:
    """Raises :class:`TooLarge` (``table``: quotas or targets, ``position``: the payee) where a payee's
    amounts over the year add up to more than the engine holds."""
    for table, matrix in (("quotas", quota_period), ("targets", target_period)):
        total = np.abs(matrix).sum(axis=1, dtype=np.float64)
        past = np.flatnonzero(total >= float(LIMIT) * (1 - 1e-9))
        if past.size:
            error = TooLarge(int(past[0]), float(total[past[0]]))
            error.table = table
            raise error
    def on_basis(matrix: np.ndarray) -> np.ndarray:
        if attainment_basis is AttainmentBasis.TO_DATE:
            return np.cumsum(matrix, axis=1)
        if attainment_basis is AttainmentBasis.ANNUAL:
            return np.repeat(matrix.sum(axis=1, keepdims=True), matrix.shape[1], axis=1)
        return matrix

    return Basis(
        quota=on_basis(quota_period), quota_period=quota_period, quota_known=quota_known,
        target=on_basis(target_period), target_period=target_period, target_annual=target_period.sum(axis=1),
        target_known=target_known, varies=attainment_basis is AttainmentBasis.TO_DATE and quota_period.shape[1] > 1,
    )
