"""Clawbacks: the lines that take back what a cancelled or refunded transaction was paid.

Three modes (docs/calculation.md, "Clawbacks"), chosen by the plan or a component:

- ``as_paid`` (the default): a line of kind ``clawback`` in the period of the cancellation reverses what the
  transaction's lines of that component paid, after rounding and caps; a partial refund in proportion.
- ``at_rate``: the cancelled credit at the rate it earned; fixed amounts (paid per deal) and a retroactive
  tier's uplift on earlier credit are kept.
- ``recalculate``: the credit leaves the measure on the cancellation date (a reversal row, see
  :mod:`spmlang.engine.credit.reversals`); its line, of kind ``clawback``, is what the year is worth without it.

A cancellation more than the window's days after the transaction's date is counted, on a zero line that says
so, and not clawed back. Money modes act on lines already rounded: their amounts are whole cents, rounded half
away from zero where a refund is partial.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credit.reversals import refunded_part
from spmlang.engine.credit.row_values import versions_of
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, UNIT, to_units, units_to_cents
from spmlang.engine.pay.lines import KIND, SETTLE, Lines, make_lines
from spmlang.engine.pay.twins import shown_days
from spmlang.engine.read.cancellations import Cancellations
from spmlang.ir.kinds import ClawbackMode, LineKind, TierMode
from spmlang.ir.plan import CheckedPlan, PayOnceRule, PayPerRowRule, TierRule


def money_clawbacks(
    plan: CheckedPlan,
    calendar: PlanCalendar,
    lines: Lines,
    rows: CreditRows,
    cancellations: Cancellations,
    clauses: tuple[int, ...],
) -> Lines | None:
    """The clawback lines of the components that claw back money (as paid, at rate), and a zero line for each
    cancellation outside a component's window; ``lines`` are rounded and capped (amounts in whole cents)."""
    if not len(cancellations) or not len(rows):
        return None
    at = cancellations.of(rows.txn)
    cancelled = (at >= 0) & ~rows.reversal
    if not cancelled.any():
        return None
    day = np.where(cancelled, cancellations.day[np.maximum(at, 0)], 0).astype(np.int64)
    cancelled &= calendar.in_year(day)  # cancelled after the plan year: the next year's plan claws it back
    parts = []
    for index, spec in enumerate(plan.components):
        clawback = plan.clawback(spec)
        mine = np.flatnonzero((lines.component == index) & (lines.row >= 0))
        mine = mine[cancelled[lines.row[mine]]]
        if mine.size == 0:
            continue
        row = lines.row[mine]
        waited = day[row] - rows.date[row]
        outside = waited > clawback.within_days if clawback.within_days is not None else np.zeros(row.size, bool)
        money = clawback.mode is not ClawbackMode.RECALCULATE
        held = lines.kind[mine] == KIND[LineKind.HOLD]
        lifted = np.where(held, -lines.amount[mine], 0)  # what was held of the row: never paid
        earned = np.where(held, 0, lines.amount[mine])  # what the row's lines earned, held or not
        amount = _clawed(spec, clawback.mode, lines, mine, rows) if money else np.zeros(mine.size, np.int64)
        amount = np.where(held, 0, amount)
        # One line per cancelled row: the sum of what its lines would claw back.
        order = np.argsort(row, kind="stable")
        row, amount, outside, waited = row[order], amount[order], outside[order], waited[order]
        lifted = lifted[order]
        starts = grouping.starts_from_keys(row)
        first = np.flatnonzero(starts)
        row, outside, waited = row[first], outside[first], waited[first]
        amount, lifted = grouping.sums(amount, starts), grouping.sums(lifted, starts)
        # A held row was never paid: whatever the mode, all it earned goes, and its hold is lifted (a row is held
        # whole or not at all), so that it neither pays nor is clawed back.
        amount = np.where(lifted != 0, grouping.sums(earned[order], starts), amount)
        if np.any(lifted != 0):
            parts.append(_lifted(index, rows, row, lifted, outside, day, at, cancellations, calendar, clauses[index]))
        keep = outside | money
        was_held = (lifted != 0)[keep]
        row, amount, outside, waited = row[keep], amount[keep], outside[keep], waited[keep]
        if row.size == 0:
            continue
        which = at[row]
        part = -refunded_part(amount // CENT, cancellations.refunded[which], cancellations.credit[which]) * CENT
        part = np.where(outside, 0, part)
        parts.append(
            _lines(
                index,
                clawback,
                rows,
                row,
                day,
                part,
                outside,
                waited,
                which,
                cancellations,
                calendar,
                clauses[index],
                was_held,
            )
        )
    return Lines.concat(parts) if parts else None


def _lifted(index, rows, row, held, outside, day, at, cancellations, calendar, clause) -> Lines | None:
    """The hold of a cancelled row lifted (in proportion to a partial refund): it was never paid, so nothing of
    it is clawed back, and nothing of it is held any more. A cancellation outside the window lifts nothing."""
    keep = (held != 0) & ~outside
    row, held = row[keep], held[keep]
    if row.size == 0:
        return None
    which = at[row]
    lift = refunded_part(held // CENT, cancellations.refunded[which], cancellations.credit[which]) * CENT
    explanation = text.join(
        "cancelled on ", shown_days(day[row]), ": no longer held (never paid, so not clawed back): ", text.amount(lift)
    )
    return make_lines(
        row.size,
        payee=rows.payee[row],
        role=rows.role[row],
        component=index,
        kind=LineKind.HOLD,
        period=calendar.period_in_year(day[row].astype(np.int32)),
        phase=SETTLE,
        row=row,
        amount=lift,
        explanation=explanation,
        clause=clause,
    )


def _clawed(spec, mode: ClawbackMode, lines: Lines, mine: np.ndarray, rows: CreditRows) -> np.ndarray:
    """What each of a component's lines on a cancelled row claws back in full: what it paid (as paid), or
    what its rate earned on the row's credit (at rate; its earning line only), under the version of the
    component in force on the row's date."""
    amount = lines.amount[mine]
    if mode is ClawbackMode.AS_PAID:
        return amount
    version = versions_of(spec, rows.date[lines.row[mine]])
    if version is not None:
        clawed = np.zeros(mine.size, np.int64)
        for v, version_spec in enumerate(spec.in_versions()):
            clawed = np.where(version == v, _clawed(version_spec, mode, lines, mine, rows), clawed)
        return clawed
    earning = lines.kind[mine] == KIND[spec.line_kind]
    if isinstance(spec.rule, (PayPerRowRule, PayOnceRule)):
        return np.zeros(mine.size, np.int64)
    if isinstance(spec.rule, TierRule) and spec.rule.table.mode is TierMode.RETROACTIVE:
        # The row's own credit at the rate of the tier it reached: the uplift on earlier credit is kept.
        rate = np.nan_to_num(lines.rate[mine]) * lines.multiplier[mine]
        exact = to_units(rows.credit[lines.row[mine]] * rate)
        return np.where(earning, units_to_cents(exact) * CENT, 0)
    return np.where(earning, amount, 0)


def _lines(index, clawback, rows, row, day, amount, outside, waited, which, cancellations, calendar, clause, held):
    """The clawback line of each cancelled row; ``held``: the row's earnings were held, never paid (what it
    earned goes, and its hold is lifted on a line of its own)."""
    dates = shown_days(day[row])
    partial = cancellations.refunded[which] != cancellations.credit[which]
    how = {
        ClawbackMode.AS_PAID: "reverses what it was paid",
        ClawbackMode.AT_RATE: "reverses its credit at the rate it earned",
        ClawbackMode.RECALCULATE: "re-priced without it",
    }[clawback.mode]
    share = text.join(
        "refunded ", text.amount(cancellations.refunded[which]), " of ", text.amount(cancellations.credit[which]), ": "
    )
    share = pc.if_else(pa.array(partial), share, pa.scalar("", pa.string()))
    how = pc.if_else(pa.array(held), pa.scalar("reverses what it earned (held, never paid)"), pa.scalar(how))
    window = f"outside the {clawback.within_days}-day window, not clawed back" if clawback.within_days else ""
    waited_text = text.join(text.amount(waited * UNIT, 0), " days after the transaction: ", window)
    body = pc.if_else(
        pa.array(outside),
        waited_text,
        text.join(share, how, " in ", text.pick(rows.period[row], list(calendar.labels)), ": ", text.amount(amount)),
    )
    explanation = text.join("cancelled on ", dates, ", ", body)
    return make_lines(
        row.size,
        payee=rows.payee[row],
        role=rows.role[row],
        component=index,
        kind=LineKind.CLAWBACK,
        period=calendar.period_in_year(day[row].astype(np.int32)),
        phase=SETTLE,
        row=row,
        amount=amount,
        explanation=explanation,
        clause=clause,
    )
