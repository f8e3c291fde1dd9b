"""What totals by group sums (:mod:`spmlang.engine.pay.sums`) read of single rows and running totals: a
component's caps per period and per year on its running totals, what the lines on a row paid (for a hold, a
clawback, a cap per row), the clawbacks of a batch's cancelled rows, and the lines standing for a cell's sum.

A row's line runs between the rounded running totals of its component just before and just after it (true-ups
first in its period), so what it paid after the caps is the difference of one function of the two: no other
line is made. See docs/calculation.md §5, "Totals without lines"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spmlang.engine.credit.reversals import refunded_part
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.credited import CreditedRun
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, to_units, units_to_cents
from spmlang.engine.pay.earnings import RowLines
from spmlang.engine.pay.limits import cap_limit
from spmlang.engine.pay.lines import ROW, SETTLE, Lines, make_lines
from spmlang.engine.pay.streams import Streams
from spmlang.ir.kinds import CapScope, ClawbackMode, LineKind, TierMode
from spmlang.ir.plan import ComponentSpec, CurveRule, PayOnceRule, PayPerRowRule, TierRule


class Cancelled:
    """The batch's credit rows cancelled within the plan year: the date and the share refunded of each."""

    def __init__(self, at: np.ndarray, day: np.ndarray, mask: np.ndarray):
        self.at, self.day, self.mask = at, day, mask

    @staticmethod
    def of(run: CreditedRun, rows: CreditRows) -> Cancelled | None:
        cancellations = run.transactions.cancellations
        if not len(cancellations) or not len(rows):
            return None
        at = cancellations.of(rows.txn)
        mask = (at >= 0) & ~rows.reversal
        day = np.where(mask, cancellations.day[np.maximum(at, 0)], 0).astype(np.int64)
        mask &= run.compiled.calendar.in_year(day)
        return Cancelled(at, day, mask) if mask.any() else None


@dataclass
class AtRate:
    """What a clawback at rate takes back of each row one version of a component paid, before the refunded
    share (see :func:`spmlang.engine.settle.clawbacks._clawed`): nothing of a fixed amount per row; a retroactive
    tier's rate on the row's own credit; else the row's earning line (its cents, and what a curve's flat top cut
    from it, shown on a cap line of its own)."""

    rows: np.ndarray  # the version's paid rows
    by_line: np.ndarray  # bool: the row's earning line is taken back (else ``fixed``)
    fixed: np.ndarray  # units of whole cents taken back where not the line (a credit note's are negative)
    curve_cut: np.ndarray  # units of whole cents a curve's flat top cut from the row's line

    @staticmethod
    def of(spec: ComponentSpec, lines: RowLines, rows: CreditRows) -> AtRate:
        n = lines.rows.size
        by_line = np.ones(n, bool)
        fixed = np.zeros(n, np.int64)
        if isinstance(spec.rule, (PayPerRowRule, PayOnceRule)):
            by_line[:] = False
        elif isinstance(spec.rule, TierRule) and spec.rule.table.mode is TierMode.RETROACTIVE:
            by_line[:] = False
            rate = np.nan_to_num(lines.rate) * lines.multiplier
            fixed = units_to_cents(to_units(rows.credit[lines.rows] * rate)) * CENT
        cut = np.zeros(n, np.int64)
        if isinstance(spec.rule, CurveRule) and lines.beyond_curve is not None:
            cut = units_to_cents(lines.beyond_curve) * CENT
        return AtRate(lines.rows, by_line, fixed, cut)

    @staticmethod
    def joined(parts: list[AtRate], in_order: np.ndarray | slice) -> AtRate:
        """The versions' parts as one, its rows in ``in_order`` (of their concatenation)."""
        return AtRate(*(np.concatenate([getattr(p, name) for p in parts])[in_order] for name in AtRate.__annotations__))


class Caps:
    """A component's caps per period and per year on running totals (units of whole cents): several of a
    scope act as the lowest of them, each on what the ones before it left."""

    def __init__(self, spec: ComponentSpec, streams: Streams, basis, periods: int):
        payee = np.repeat(streams.payee[:, None], periods, axis=1).reshape(-1)
        period = np.tile(np.arange(periods), streams.count)
        self.period_limit: np.ndarray | None = None
        self.year_limit: np.ndarray | None = None
        self.row = [cap for cap in spec.caps if cap.scope is CapScope.ROW] or None
        for cap in spec.caps:
            limit = cap_limit(cap, payee, period, basis).reshape(streams.count, periods)
            if cap.scope is CapScope.PERIOD:
                self.period_limit = limit if self.period_limit is None else np.minimum(self.period_limit, limit)
            elif cap.scope is CapScope.YEAR:
                self.year_limit = limit if self.year_limit is None else np.minimum(self.year_limit, limit)
        self.before: np.ndarray | None = None  # per-period-capped totals of the periods before each

    def kept(self, total: np.ndarray) -> np.ndarray:
        """What each (stream, period) keeps of its total."""
        if self.period_limit is not None:
            total = np.minimum(total, self.period_limit)
        self.before = np.cumsum(total, axis=1) - total
        if self.year_limit is not None:
            total = np.diff(np.minimum(np.cumsum(total, axis=1), self.year_limit), axis=1, prepend=0)
        return total

    def paid_at(self, within: np.ndarray, stream: np.ndarray, period: np.ndarray) -> np.ndarray:
        """What the caps let through of a running total ``within`` its period (cents since the period began),
        up to a constant per (stream, period): differences of it are what a line between two points keeps."""
        if self.period_limit is not None:
            within = np.minimum(within, self.period_limit[stream, period])
        if self.year_limit is not None:
            assert self.before is not None  # kept() ran first
            within = np.minimum(self.before[stream, period] + within, self.year_limit[stream, period])
        return within


class RowsPaid:
    """Where each paid row's line runs from and to, within its period (cents of the component since the period
    began, true-up included, after any cap per row), and so what it paid after the caps per period and year.
    Found for the rows asked about only, but for every row where a cap per row cuts them (each cut moves what
    comes after it).

    ``r``: the paid rows, in order; ``amount``: what each earned, exact; ``trued``: the true-ups (streams x
    periods); ``through``: the cents paid through each period's end, before caps."""

    def __init__(self, r, amount, stream_of, period_of, trued: np.ndarray, through: np.ndarray, caps: Caps):
        self.r, self.amount, self.stream_of, self.period_of, self.caps = r, amount, stream_of, period_of, caps
        self.through = through
        # The exact running total just after each row: its stream's rows so far, and the true-ups before it.
        self.exact_after = grouping.cumsum(amount, grouping.starts_from_keys(stream_of))
        self.exact_after += np.cumsum(trued, axis=1)[stream_of, period_of]
        self.cut: tuple[np.ndarray, np.ndarray] | None = None  # per row: its cut, and the cuts of its period so far

    def _line(self, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the lines of rows ``j`` (of ``r``) start and end within their period, before caps per row."""
        period = self.period_of[j]
        start = np.where(period > 0, self.through[self.stream_of[j], np.maximum(period - 1, 0)], 0)
        after = units_to_cents(self.exact_after[j]) * CENT - start
        before = units_to_cents(self.exact_after[j] - self.amount[j]) * CENT - start
        return before, after

    def _within(self, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`_line`, after caps per row."""
        before, after = self._line(j)
        if self.cut is not None:
            cut, so_far = self.cut[0][j], self.cut[1][j]
            before, after = before - (so_far - cut), after - so_far
        return before, after

    def cut_rows(self, payee: np.ndarray, basis, shape: tuple[int, int]) -> np.ndarray:
        """Cap each row's line on its own (caps per row: the lowest); what they cut, per stream and period."""
        assert self.caps.row is not None  # only called for a component with a cap per row
        before, after = self._line(np.arange(self.r.size))
        line = after - before
        limit = np.min([cap_limit(cap, payee, self.period_of, basis) for cap in self.caps.row], axis=0)
        cut = line - np.minimum(line, limit)
        cells = grouping.starts_from_keys(self.stream_of, self.period_of)
        self.cut = (cut, grouping.cumsum(cut, cells))
        per_cell = np.zeros(shape, np.int64)
        first = np.flatnonzero(cells)
        per_cell[self.stream_of[first], self.period_of[first]] = grouping.sums(cut, cells)
        return per_cell

    def _found(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``row`` have a priced line (the others, rows it could not evaluate, a zero line), and where."""
        position = np.searchsorted(self.r, row)
        priced = position < self.r.size
        priced[priced] = self.r[position[priced]] == row[priced]
        return priced, position[priced]

    def on(self, row: np.ndarray) -> np.ndarray:
        """What the lines on each of ``row`` paid, after the caps."""
        paid = np.zeros(row.size, np.int64)
        priced, j = self._found(row)
        stream, period = self.stream_of[j], self.period_of[j]
        before, after = self._within(j)
        paid[priced] = self.caps.paid_at(after, stream, period) - self.caps.paid_at(before, stream, period)
        return paid

    def at_rate(self, row: np.ndarray, at_rate: AtRate) -> np.ndarray:
        """What a clawback at rate takes back of each of ``row`` in full (see :class:`AtRate`)."""
        clawed = np.zeros(row.size, np.int64)
        priced, j = self._found(row)
        before, after = self._line(j)  # the earning line, rounded; its caps are lines of their own
        clawed[priced] = np.where(at_rate.by_line[j], after - before + at_rate.curve_cut[j], at_rate.fixed[j])
        return clawed


def clawback_cells(
    run: CreditedRun,
    index: int,
    row: np.ndarray,
    rows: CreditRows,
    claws: Cancelled,
    paid: RowsPaid,
    held: np.ndarray,
    at_rate: AtRate | None,
) -> Lines | None:
    """A component's clawback lines (see :func:`spmlang.engine.settle.clawbacks.money_clawbacks`): for each
    cancelled ``row`` it has a line on, in the cancellation's period, minus what the row's lines paid (as paid)
    or what its rate earned on its credit (at rate; a row ``held``, never paid: all it earned), zero outside
    the window, and its hold lifted; recalculated, a zero line outside the window (its reversal row re-prices
    the year)."""
    if row.size == 0:
        return None
    clawback = run.plan.clawback(run.plan.components[index])
    day = claws.day[row]
    waited = day - rows.date[row]
    outside = waited > clawback.within_days if clawback.within_days is not None else np.zeros(row.size, bool)
    cancellations = run.transactions.cancellations
    which = claws.at[row]
    refunded, whole = cancellations.refunded[which], cancellations.credit[which]
    money = clawback.mode is not ClawbackMode.RECALCULATE
    if clawback.mode is ClawbackMode.AT_RATE and at_rate is not None:
        clawed = np.where(held[row] != 0, paid.on(row), paid.at_rate(row, at_rate))
    else:
        clawed = paid.on(row) if money else np.zeros(row.size, np.int64)
    part = np.where(outside, 0, -refunded_part(clawed // CENT, refunded, whole) * CENT)
    period_of_claw = run.compiled.calendar.period_in_year(day.astype(np.int32))
    shown = outside | money  # a zero line says a cancellation outside the window was not clawed back
    lines = [cell_lines(rows.payee[row[shown]], period_of_claw[shown], index, LineKind.CLAWBACK, part[shown], SETTLE)]
    lifted = np.flatnonzero((held[row] != 0) & ~outside)
    if lifted.size:
        lift = refunded_part(held[row[lifted]] // CENT, refunded[lifted], whole[lifted]) * CENT
        lines.append(cell_lines(rows.payee[row[lifted]], period_of_claw[lifted], index, LineKind.HOLD, lift, SETTLE))
    return Lines.concat(lines)


def cell_lines(
    payee: np.ndarray, period: np.ndarray, component: int, kind: LineKind, amount: np.ndarray, phase: int = ROW
) -> Lines | None:
    """Lines standing for what a cell's lines add up to: only their sums are read."""
    if payee.size == 0:
        return None
    return make_lines(
        payee.size,
        payee=payee,
        role=0,
        component=component,
        kind=kind,
        period=period,
        phase=phase,
        amount=amount,
        explanation=pa.nulls(payee.size, pa.string()),
        clause=-1,
    )
