"""A batch's totals by group sums, without its lines: what ``spm run`` without ``--out``, ``spm diff`` and
``Result.totals()`` read of a run.

A (payee, period, component) total is what the cell's lines add up to, and every step after a rule prices a
row acts on running totals (docs/calculation.md §4–5): rounding is cumulative, so the cents paid through a
period's end are round(X), X the exact earnings through it (rows and true-ups); a cap per period keeps
min(the period's total, limit), a cap per year min(the year's total so far, limit). A cell's total is read
off X at period ends: the rows' amounts are summed per period, and no line is made, ordered or explained. Only
a clawback as paid reads a row's own line: the same functions, at the running total before and after the row.

Where a step depends on the lines themselves, :func:`lines_needed` says which, and the run's totals are added up
from its lines (:func:`spmlang.engine.batch.pay_batch`). The two paths give the same totals to the cent:
tests/test_sums.py compares them on the examples, the scenarios and random plans.
"""

from __future__ import annotations

import numpy as np

from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.row_values import RowValues
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.credited import CreditedRun
from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import truth
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, ensure_sums_fit, units_to_cents
from spmlang.engine.pay.component_lines import bonus_lines, period_end_frame
from spmlang.engine.pay.limits import gate_adjustments
from spmlang.engine.pay.lines import SETTLE, Lines
from spmlang.engine.pay.streams import Streams
from spmlang.engine.pay.sums_rows import AtRate, Cancelled, Caps, RowsPaid, cell_lines, clawback_cells
from spmlang.engine.pay.twins import reprice_twins
from spmlang.ir.kinds import ClawbackMode, LineKind
from spmlang.ir.plan import PayOnceRule

__all__ = ["component_cells", "component_path", "lines_needed", "run_needs_lines"]


def lines_needed(compiled: CompiledPlan) -> str | None:
    """Why the totals of a run of ``compiled`` must be added up from its lines (None: by group sums)."""
    if compiled.plan.plan_caps:
        return "a plan cap cuts a payee's lines in ledger order, across components"
    return None


def component_path(compiled: CompiledPlan, index: int) -> str:
    """How a run asked only for its totals pays component ``index``, and why (``spm compile --explain``)."""
    plan = compiled.plan
    spec = plan.components[index]
    why = lines_needed(compiled)
    if why is not None:
        return f"totals alone: added up from the lines: {why}"
    rule = compiled.components[index]
    if isinstance(spec.rule, PayOnceRule):
        how = "its condition on the measures at each period end"
    elif rule.cumulative:
        how = "E at each row's running measure (a payee's rows in date order), summed per period"
    else:
        how = "each row's amount (in any order), summed per period"
    # A bonus has no line on a row: nothing of it is held or clawed back.
    by_row = not isinstance(spec.rule, PayOnceRule) and (plan.transactions.cancelled is not None or spec.payable)
    rows = "; a cancelled or held row's own line from the running totals before and after it" if by_row else ""
    limits = "rounded and capped" if spec.caps else "rounded"
    gated = "; gated on the capped period totals" if spec.gate is not None else ""
    return f"totals alone: by group sums: {how}; {limits} on running totals at period ends{gated}{rows}"


def run_needs_lines(run: CreditedRun) -> str | None:
    """Why this run's totals must be added up from its lines (None: by group sums)."""
    why = lines_needed(run.compiled)
    if why is not None:
        return why
    if run.cycle.earlier is not None and run.cycle.first_open > 0:
        return "earlier ledgers closed periods: their changes are adjustments, line by line"
    return None


def component_cells(
    run: CreditedRun, index: int, values: RowValues, rows: CreditRows, streams: Streams, claws: Cancelled | None
) -> tuple[Lines | None, np.ndarray]:
    """One line per (payee, period) the component has lines in, with what they add up to after rounding and
    caps, and one per cancelled row it clawed back, in the period of the cancellation; and the rows it has a
    line on."""
    compiled = run.compiled
    rule = compiled.components[index]
    spec = rule.spec
    basis = run.basis
    periods = compiled.calendar.count
    # Each version prices the rows of its dates and trues up only them (one version without dated versions).
    # Lines at period boundaries are true-ups (before the period's rows), or a bonus's (after them: a bonus has
    # no row lines, so only the period's total sees it).
    paid_rows, at_bounds, at_rate = [], [], []
    by_rate = claws is not None and run.plan.clawback(spec).mode is ClawbackMode.AT_RATE
    with text.unwritten():
        for version, version_rule in enumerate(rule.versions):
            version_values = values.of_version(version)
            row_lines = version_rule.row_lines(version_values, rows, streams, basis)
            row_lines = reprice_twins(not version_rule.cumulative, rows, row_lines)
            paid_rows.append((row_lines.rows, row_lines.amount))
            at_bounds.append(version_rule.true_ups(version_values, row_lines, rows, streams, basis))
            if by_rate:
                at_rate.append(AtRate.of(version_rule.spec, row_lines, rows))
        if isinstance(spec.rule, PayOnceRule):
            at_bounds = [bonus_lines(compiled, index, streams, basis)]
    in_order: np.ndarray | slice = slice(None)
    if len(paid_rows) == 1:
        r, amount = paid_rows[0]
    else:
        r = np.concatenate([rows_of for rows_of, _ in paid_rows])
        in_order = np.argsort(r, kind="stable")  # the versions' rows, in row order again
        r, amount = r[in_order], np.concatenate([amount_of for _, amount_of in paid_rows])[in_order]
    clawed_at_rate = AtRate.joined(at_rate, in_order) if by_rate else None
    bound_stream, bound_period, bound_amount = (
        np.concatenate([getattr(lines, name) for lines in at_bounds]) for name in ("stream", "period", "amount")
    )
    ensure_sums_fit(np.concatenate([np.abs(amount), np.abs(bound_amount)]))  # every sum below fits, then
    stream_of, period_of = streams.row_stream[r], rows.period[r]
    earned = np.zeros((streams.count, periods), np.int64)  # exact, per stream and period
    if r.size:  # rows are in stream order, and by date within a stream: each cell's rows are consecutive
        cells = grouping.starts_from_keys(stream_of, period_of)
        first = np.flatnonzero(cells)
        earned[stream_of[first], period_of[first]] = grouping.sums(amount, cells)
    trued = np.zeros_like(earned)
    np.add.at(trued, (bound_stream, bound_period.astype(np.int64)), bound_amount)
    through = units_to_cents(np.cumsum(earned + trued, axis=1)) * CENT  # paid through each period's end
    caps = Caps(spec, streams, basis, periods)
    total = np.diff(through, axis=1, prepend=0)
    holds = spec.payable is not None and values.payable is not None
    paid = None
    if caps.row is not None or holds or claws is not None:  # a row's own line is read: where it runs from and to
        paid = RowsPaid(r, amount, stream_of, period_of, trued, through, caps)
        if caps.row is not None:
            total -= paid.cut_rows(rows.payee[r], basis, earned.shape)
    period_total = caps.kept(total)
    present = np.zeros((streams.count, periods), bool)
    on_rows = _on_rows(values, r, len(rows))
    present[streams.row_stream[on_rows], rows.period[on_rows]] = True
    present[bound_stream, bound_period] = True
    if spec.gate is not None:  # decided at period ends on the capped totals: withheld, or released
        frame = period_end_frame(compiled, streams, basis)
        is_open = truth(evaluate(spec.gate, frame), frame.n).reshape(streams.count, periods)
        gated = gate_adjustments(period_total, is_open, streams.ytd, np.any(present, axis=1))
        present |= gated != 0
        period_total = period_total + gated
    stream, period = np.nonzero(present)
    parts = [cell_lines(streams.payee[stream], period, index, spec.line_kind, period_total[stream, period])]
    if paid is not None:
        held = np.zeros(len(rows), np.int64)
        if holds:
            assert values.payable is not None  # a component with `payable when` has it per row
            held_rows = np.flatnonzero(on_rows & ~values.payable & ~rows.reversal)
            held[held_rows] = paid.on(held_rows)
            kept = held_rows[held[held_rows] != 0]
            parts.append(cell_lines(rows.payee[kept], rows.period[kept], index, LineKind.HOLD, -held[kept], SETTLE))
        if claws is not None:
            cancelled = np.flatnonzero(on_rows & claws.mask)
            parts.append(clawback_cells(run, index, cancelled, rows, claws, paid, held, clawed_at_rate))
    return Lines.concat(parts), on_rows


def _on_rows(values: RowValues, paid: np.ndarray, count: int) -> np.ndarray:
    """The rows a component has a line on: those it ``paid``, and a zero line on each it could not evaluate."""
    on_rows = np.zeros(count, bool)
    on_rows[paid] = True
    return on_rows if values.failed is None else on_rows | values.failed.astype(bool)
