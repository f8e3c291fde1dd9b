"""Reversal rows: a cancelled transaction's credit leaving the measure, for components that re-price the year
without it (`clawback recalculate`).

Each credit row of a transaction cancelled within the plan year gets a twin on the date of the cancellation:
the same payee, role and share, with the refunded part of its credit negated. Paid like any row, its line is
what the year is worth without that credit, E(after) - E(before), in the period of the cancellation; every
later row is priced on the lower measure. Rows of a rule paid per row (not on a measure) reverse their own
line instead (see :mod:`spmlang.engine.settle.clawbacks`).
"""

from __future__ import annotations

import numpy as np

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credit.row_values import RowValues
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.read.cancellations import Cancellations
from spmlang.ir.kinds import ClawbackMode
from spmlang.ir.plan import CheckedPlan


def refunded_part(credit: np.ndarray, refunded: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """credit x refunded / whole for each row, in exact integers rounded half away from zero (the rows of a
    few cancelled transactions: Python's integers, which cannot overflow)."""
    parts = []
    for c, r, w in zip(credit.tolist(), refunded.tolist(), whole.tolist(), strict=True):
        if r == w or w == 0:
            parts.append(c)
            continue
        numerator = c * r
        quotient, remainder = divmod(abs(numerator), abs(w))
        if 2 * remainder >= abs(w):
            quotient += 1
        parts.append(quotient if (numerator >= 0) == (w > 0) else -quotient)
    return np.asarray(parts, dtype=np.int64)


def add_reversals(
    plan: CheckedPlan,
    calendar: PlanCalendar,
    rows: CreditRows,
    values: list[RowValues],
    cancellations: Cancellations,
) -> tuple[CreditRows, list[RowValues], bool]:
    """The credit rows with a reversal row after each cancelled one (in no particular order), each
    component's values for them (a reversal row is selected by the components that re-price it, as its
    original is), and whether any was added."""
    if not plan.recalculates or not len(cancellations):
        return rows, values, False
    at = cancellations.of(rows.txn)
    day = cancellations.day[np.maximum(at, 0)] if len(cancellations) else np.zeros(len(rows), np.int32)
    origin = np.flatnonzero((at >= 0) & calendar.in_year(day.astype(np.int64)))
    if origin.size == 0:
        return rows, values, False
    which = at[origin]
    credit = refunded_part(rows.credit[origin], cancellations.refunded[which], cancellations.credit[which])
    days = cancellations.day[which].astype(np.int32)
    twins = CreditRows(
        txn=rows.txn[origin],
        payee=rows.payee[origin],
        role=rows.role[origin],
        rollup_from=rows.rollup_from[origin],
        share=rows.share[origin],
        credit=-credit,
        date=days,
        period=calendar.period_in_year(days),
        split=rows.split[origin],
        reversal=np.ones(origin.size, np.bool_),
    )
    taken = np.concatenate([np.arange(len(rows)), origin])
    waited = (days.astype(np.int64) - rows.date[origin].astype(np.int64)).astype(np.int64)
    new_values = []
    for spec, component_values in zip(plan.components, values, strict=True):
        both = component_values.take(taken)
        clawback = plan.clawback(spec)
        applies = np.full(origin.size, clawback.mode is ClawbackMode.RECALCULATE)
        if clawback.within_days is not None:
            applies &= waited <= clawback.within_days
        selected = np.array(both.selected, dtype=bool, copy=True)
        selected[len(rows) :] &= applies
        both.selected = selected
        if both.failed is not None:  # said once, on the original row
            failed = both.failed.copy()
            failed[len(rows) :] = 0
            both.failed = failed
        both.reverses = np.concatenate([np.zeros(len(rows), np.bool_), applies])
        new_values.append(both)
    return CreditRows.concat([rows, twins]), new_values, True
