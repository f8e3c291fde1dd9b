"""Paying one batch of payees: every component's lines, the plan caps, in ledger order, rounded to cents.

A batch is a range of the credited run's rows holding whole payees (see :func:`spmlang.engine.run.payee_batches`):
a payee's lines never depend on another payee's, so batches are paid apart, in any process, and give the same
lines as one batch would. :func:`pay_batch` is a function of the credited run and the batch alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spmlang import figures
from spmlang.diagnostics import AmountTooLarge
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.credited import CreditedRun
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import Frame, Vec, truth
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, UNIT, TooLarge, cumulative_cents, units_to_cents
from spmlang.engine.pay.component import PeriodLines
from spmlang.engine.pay.earnings import RowLines
from spmlang.engine.pay.limits import apply_caps, gate_lines, plan_caps_in_order
from spmlang.engine.pay.lines import (
    END,
    KIND,
    NO_BALANCE,
    ROW,
    START,
    Lines,
    TextColumn,
    in_ledger_order,
    last_balances,
    make_lines,
)
from spmlang.engine.pay.payments import Payments, payment_lines, with_payment_lines
from spmlang.engine.pay.row_values import RowValues
from spmlang.engine.pay.streams import Streams, build_streams
from spmlang.engine.settle.clawbacks import mark_twins, money_clawbacks, reprice_twins
from spmlang.engine.settle.cycle import hold_lines, settle
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import DRAW_KINDS, FLOOR_KINDS, GUARANTEE_KINDS, HOLD_KINDS, LineKind, MeasureBasis, Role
from spmlang.ir.plan import CapSpec, CheckedPlan, ComponentSpec, CurveRule, PayOnceRule


@dataclass
class PaidLines:
    """The ledger lines of some payees in ledger order, their amounts in cents, and their credit rows."""

    lines: Lines  # ``row`` indexes ``rows``
    cents: np.ndarray  # int64 per line, after cumulative rounding
    rows: CreditRows  # the credit rows of these payees, in crediting order
    streams: Streams  # their streams (measures)
    payments: Payments | None = None  # their payouts paid in other currencies (the fx lines')

    def take(self, index: np.ndarray | slice) -> PaidLines:
        """Some of the lines (their rows, streams and payments stay whole): an index array, or a slice (views)."""
        return PaidLines(self.lines.take(index), self.cents[index], self.rows, self.streams, self.payments)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents): the exact sum of the lines of each cell (component -1: none)."""
        lines = self.lines
        if len(lines) == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        order = grouping.order_by(lines.payee, lines.period, lines.component + 1)
        payee, period, component = lines.payee[order], lines.period[order], lines.component[order]
        starts = grouping.starts_from_keys(payee, period, component)
        return payee[starts], period[starts], component[starts], grouping.sums(self.cents[order], starts)

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at each period end) of each stream."""
        streams = self.streams
        return streams.payee, streams.role, streams.period_credit, streams.measure_at_end()

    def owed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, draw owed, floor owed, held) after the last line of each payee that owes or has held
        anything (units): what is left to recover or to release; NO_BALANCE where a payee has no draw (or
        floor) line here."""
        lines = self.lines
        if not np.isin(lines.kind, [KIND[k] for k in GUARANTEE_KINDS + HOLD_KINDS]).any():  # most plans: one pass
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        parts = [last_balances(lines.payee, lines.kind, lines.balance, kinds) for kinds in (DRAW_KINDS, FLOOR_KINDS)]
        held_lines = np.flatnonzero(np.isin(lines.kind, [KIND[k] for k in HOLD_KINDS]))
        payee = np.unique(np.concatenate([parts[0][0], parts[1][0], lines.payee[held_lines]])).astype(np.int64)
        owed = [np.full(payee.size, NO_BALANCE, np.int64), np.full(payee.size, NO_BALANCE, np.int64)]
        owed.append(np.zeros(payee.size, np.int64))
        for (who, balance), target in zip(parts, owed, strict=False):
            target[np.searchsorted(payee, who)] = balance
        np.add.at(owed[2], np.searchsorted(payee, lines.payee[held_lines]), -lines.amount[held_lines])
        return payee, owed[0], owed[1], owed[2]

    def totals(self) -> tuple:
        """(cells, measures, number of lines, what is owed): all the summary needs of these lines."""
        return self.cells(), self.measures(), len(self.lines), self.owed()


def _unrowed_in(run: CreditedRun, batch: slice) -> np.ndarray:
    """The payees with no credit row that ``batch`` settles (draws, the floor, closed periods): those whose codes
    fall between its first payee and the next batch's (the first batch from the lowest code, the last to the
    highest), so that the ledger stays in payee order."""
    unrowed, payee = run.cycle.unrowed, run.credit_rows.payee
    low = int(payee[batch.start]) if batch.start > 0 else None
    high = int(payee[batch.stop]) if batch.stop < len(payee) else None
    keep = np.ones(unrowed.size, bool)
    if low is not None:
        keep &= unrowed >= low
    if high is not None:
        keep &= unrowed < high
    return unrowed[keep]


def pay_batch(run: CreditedRun, batch: slice) -> PaidLines:
    """The lines of one batch of payees, in ledger order; amounts rounded cumulatively to cents."""
    compiled = run.compiled
    calendar = compiled.calendar
    rows = run.credit_rows.take(batch)  # views: the rows are in crediting order
    basis, payees = run.basis, run.payees
    try:
        streams = build_streams(rows, calendar.count, compiled.year_to_date)
    except TooLarge as error:
        row = error.position
        raise AmountTooLarge(
            f"the credit of {payees.names[rows.payee[row]]} in {calendar.labels[rows.period[row]]}", None, error.value
        ) from None
    component_lines = []
    batch_values = []
    fallback = run.terms.fallback_reasons(rows) if run.terms is not None else None
    for i, component in enumerate(compiled.components):
        values = run.row_values[i].take(batch)
        batch_values.append(values)
        try:
            component_lines.append(
                _component_lines(
                    compiled,
                    i,
                    values,
                    rows,
                    _streams_of(streams, rows, values, calendar.count, compiled),
                    basis,
                    payees,
                    fallback,
                )
            )
        except TooLarge as error:
            raise AmountTooLarge(
                f"an amount of {component.spec.kind} '{component.spec.name}'",
                compiled.clauses[compiled.rule_clause[i]].clause,
                error.value,
            ) from None
    lines = Lines.concat(component_lines + [_unpaid_rows(rows, component_lines)])
    ranks = run.key_rank
    try:
        capped = _plan_caps(compiled, lines, rows, ranks, basis)
    except TooLarge as error:
        clause = compiled.clauses[compiled.plan_cap_clauses[0]].clause if compiled.plan_cap_clauses else None
        raise AmountTooLarge("a payee's total under the plan cap", clause, error.value) from None
    held = hold_lines(compiled.plan, capped, rows, batch_values, compiled.payable_clause)
    capped = Lines.concat([capped, held]) if held is not None else capped
    clawed = money_clawbacks(
        compiled.plan, calendar, capped, rows, run.transactions.cancellations, compiled.clawback_clause
    )
    lines = Lines.concat([capped, clawed]) if clawed is not None else capped
    cycle = run.cycle
    if cycle.active:
        payees_here = np.union1d(np.unique(rows.payee), _unrowed_in(run, batch)).astype(np.int32)
        lines = settle(cycle, calendar, lines, rows, payees_here, run.transactions.keys)
    lines = in_ledger_order(lines, rows.date, rows.txn, ranks)
    payments = None
    if run.terms is not None and run.terms.pay_rates is not None and run.terms.rates is not None:
        _round(lines)  # whole cents, before they are added up and converted
        fx_lines, payments = payment_lines(lines, run.terms.pay_rates, run.terms.rates, compiled.pay_currency_clause)
        if fx_lines is not None:
            lines = with_payment_lines(lines, fx_lines)
    return PaidLines(lines, _round(lines), rows, streams, payments)


def _streams_of(streams: Streams, rows: CreditRows, values: RowValues, periods: int, compiled: CompiledPlan) -> Streams:
    """The streams a component is priced on: the batch's, unless reversal rows move the measure of some
    components and not of this one (see credit.reversals)."""
    if values.reverses is None or not rows.reversal.any() or np.array_equal(values.reverses, rows.reversal):
        return streams
    return build_streams(rows, periods, compiled.year_to_date, values.reverses)


def _component_lines(
    compiled: CompiledPlan,
    index: int,
    values: RowValues,
    rows: CreditRows,
    streams: Streams,
    basis: Basis,
    payees: Payees,
    fallback: pa.Array | None = None,
) -> Lines:
    """The lines of one component over a batch's credit rows: its row lines, true-ups and bonuses, rounded
    cumulatively to the cent, then its caps, its gate and a curve's flat top. ``fallback``: why each row was
    credited to the fallback payee, if any was (null for the others)."""
    run = compiled.components[index]
    calendar = compiled.calendar
    spec = run.spec
    clause = compiled.rule_clause[index]
    parts: list[Lines | None] = []
    beyond = np.zeros(len(rows), dtype=np.int64)
    true_up_parts = []
    # Each version pays the rows of its dates, and re-prices only them at period starts: one true-up line per
    # stream, period and version (the segments of a period a version change splits). Without versions: one.
    versions = list(zip(run.versions, compiled.rule_clauses(index), strict=True))
    for version, (compiled_rule, rule_clause) in enumerate(versions):
        version_values = values.of_version(version)
        note = run.version_note(version)
        row_lines = compiled_rule.row_lines(version_values, rows, streams, basis)
        row_lines = reprice_twins(not compiled_rule.cumulative, rows, row_lines)
        if row_lines.rows.size:
            parts.append(_row_lines(compiled, index, row_lines, rows, payees, fallback, rule_clause, note))
        if row_lines.beyond_curve is not None:
            beyond[row_lines.rows] = row_lines.beyond_curve
        true_ups = compiled_rule.true_ups(version_values, row_lines, rows, streams, basis, run.segment(version))
        true_up_parts.append(_period_lines(true_ups, streams, index, LineKind.TRUE_UP, START, rule_clause))
    failed, failure = values.failed, values.failure
    if failed is not None and failure is not None and failed.any():  # rows it could not evaluate: a zero line each
        r = np.flatnonzero(failed)
        explanation = text.join("not paid by this component: ", failure.take(r))
        failed_clause = clause if values.version is None else np.array(compiled.rule_clauses(index))[values.version[r]]
        parts.append(
            make_lines(
                r.size,
                payee=rows.payee[r],
                role=rows.role[r],
                component=index,
                kind=spec.line_kind,
                period=rows.period[r],
                phase=ROW,
                row=r,
                amount=0,
                explanation=explanation,
                clause=failed_clause,
            )
        )
    parts.extend(true_up_parts)
    period_end = None
    if isinstance(spec.rule, PayOnceRule) or spec.gate is not None:
        period_end = _period_end_frame(compiled, streams, basis)
    if isinstance(spec.rule, PayOnceRule) and period_end is not None:
        met = truth(evaluate(spec.rule.condition, period_end), period_end.n).reshape(streams.count, calendar.count)
        ends = [calendar.end(p) for p in range(calendar.count)]
        bonuses = run.bonuses(streams, basis, met, ends, calendar.labels)
        parts.append(_period_lines(bonuses, streams, index, LineKind.BONUS, END, clause))
    lines = Lines.concat(parts)
    if len(lines) == 0:
        return lines
    stream_key = lines.role.astype(np.int64) * (len(streams.payee) + 1) + lines.payee
    order = grouping.order_by(lines.role, lines.payee, lines.period, lines.phase, lines.row + 1)
    lines = lines.take(order)
    stream_key = stream_key[order]
    # Round what the rule earned, cumulatively per payee over the year; caps and gates then act on cents,
    # so that no cap is ever crossed by rounding (docs/calculation.md §5).
    lines.amount = cumulative_cents(lines.exact, grouping.starts_from_keys(stream_key)) * CENT
    paid, cap_lines = apply_caps(lines, stream_key, list(spec.caps), list(compiled.cap_clauses[index]), basis)
    extra = [cap_lines]
    if spec.gate is not None and period_end is not None:
        is_open = truth(evaluate(spec.gate, period_end), period_end.n).reshape(streams.count, calendar.count)
        attainment = period_end.builtin("attainment").values.reshape(streams.count, calendar.count)
        stream_of_line = _stream_of(lines, streams)
        extra.append(
            gate_lines(
                lines,
                paid,
                stream_of_line,
                streams,
                is_open,
                attainment,
                index,
                spec.gate_text or "",  # a gate has its text
                calendar.labels,
                compiled.gate_clause[index],
            )
        )
    for version, (compiled_rule, rule_clause) in enumerate(versions):
        in_version = None if values.version is None else values.version == version
        extra.append(_curve_top(lines, beyond, compiled_rule.spec, rule_clause, in_version))
    return Lines.concat([lines, *extra])


def _row_lines(
    compiled: CompiledPlan,
    index: int,
    row_lines: RowLines,
    rows: CreditRows,
    payees: Payees,
    fallback: pa.Array | None,
    clause: int,
    note: str,
) -> Lines:
    """A component's lines on the rows one version of its rule paid (``note``: what the explanations add)."""
    spec = compiled.components[index].spec
    r = row_lines.rows
    explanation = row_lines.explanation
    if spec.role is Role.ROLLUP:
        whose = text.pick(rows.rollup_from[r], payees.names)
        plain = explanation.resolve() if isinstance(explanation, TextColumn) else explanation
        explanation = text.join("rollup of ", whose, "'s credit: ", plain)
    elif fallback is not None:  # in place of a payee outside their employment: why
        why = fallback.take(r)
        plain = explanation.resolve() if isinstance(explanation, TextColumn) else explanation
        instead = why.is_valid().to_numpy(zero_copy_only=False)
        explanation = text.join(text.when(instead, text.join("fallback: ", why, "; ")), plain)
    if note:
        explanation = text.join(explanation.resolve() if isinstance(explanation, TextColumn) else explanation, note)
    lines = make_lines(
        r.size,
        payee=rows.payee[r],
        role=rows.role[r],
        component=index,
        kind=spec.line_kind,
        period=rows.period[r],
        phase=ROW,
        row=r,
        amount=row_lines.amount,
        rate=row_lines.rate,
        multiplier=row_lines.multiplier,
        tier=row_lines.tier,
        explanation=explanation,
        clause=clause,
    )
    return mark_twins(lines, rows, compiled.clawback_clause[index] if compiled.clawback_clause else clause)


def _curve_top(
    lines: Lines, beyond: np.ndarray, spec: ComponentSpec, clause: int, in_version: np.ndarray | None = None
) -> Lines | None:
    """Split each row line past a curve's last point into what the last slope would pay and a cap
    line for the cut. Caps and gates above worked on the line as paid; the split keeps its sum.
    ``in_version``: the credit rows of the version whose curve ``spec`` has (None: every row)."""
    on_row = (lines.row >= 0) & (lines.kind == KIND[spec.line_kind])
    if in_version is not None:
        on_row &= in_version[np.maximum(lines.row, 0)]
    cut = units_to_cents(np.where(on_row, beyond[np.maximum(lines.row, 0)], 0)) * CENT
    hit = np.flatnonzero(cut != 0)
    if hit.size == 0 or not isinstance(spec.rule, CurveRule):  # only a curve is flat past its last point
        return None
    lines.amount[hit] += cut[hit]
    lines.exact[hit] += beyond[lines.row[hit]]
    top = spec.rule.curve
    last = (
        figures.format_percent(top.xs[-1]) if top.basis is MeasureBasis.ATTAINMENT else figures.format_money(top.xs[-1])
    )
    cut_from = lines.take(hit)
    explanation = text.join(f"the payout curve is flat above {last}: ", text.exact(cut[hit]), " cut")
    return make_lines(
        hit.size,
        payee=cut_from.payee,
        role=cut_from.role,
        component=cut_from.component,
        kind=LineKind.CAP,
        period=cut_from.period,
        phase=ROW,
        row=cut_from.row,
        amount=-cut[hit],
        cut=cut[hit],
        explanation=explanation,
        clause=clause,
    )


def _period_lines(
    period_lines: PeriodLines, streams: Streams, component: int, kind: LineKind, phase: int, clause: int
) -> Lines | None:
    s = period_lines.stream
    if s.size == 0:
        return None
    return make_lines(
        s.size,
        payee=streams.payee[s],
        role=streams.role[s],
        component=component,
        kind=kind,
        period=period_lines.period,
        phase=phase,
        amount=period_lines.amount,
        explanation=period_lines.explanation,
        clause=clause,
    )


def _period_end_frame(compiled: CompiledPlan, streams: Streams, basis: Basis) -> Frame:
    """Period-end values of every stream, as a frame of streams x periods (row-major)."""
    periods = compiled.calendar.count
    measure = streams.measure_at_end()
    payee = np.repeat(streams.payee[:, None], periods, axis=1)
    period = np.repeat(np.arange(periods)[None, :], streams.count, axis=0)
    attainment = basis.attainment(measure, payee, period)
    counted = compiled.plan.transactions.credit_type is not Type.MONEY
    credit_type = compiled.plan.transactions.credit_type

    def quantity(values: np.ndarray) -> Vec:
        flat = values.reshape(-1)
        return Vec(flat / UNIT if counted else flat, True, credit_type)

    return Frame(
        streams.count * periods,
        builtins={
            "attainment": Vec(attainment.reshape(-1), True, Type.PERCENT),
            "credit": quantity(measure),
            "quota": quantity(basis.quota[payee, period]),
            "target": Vec(basis.target[payee, period].reshape(-1), True, Type.MONEY),
            "count": Vec(streams.count_at_end().reshape(-1), True, Type.INTEGER),
        },
    )


def _unpaid_rows(rows: CreditRows, component_lines: list[Lines]) -> Lines | None:
    """A zero line for each credit row no component paid, so that every credited row shows."""
    paid = rows.reversal.copy()  # a reversal row is the clawback of a row that shows
    for lines in component_lines:
        on_rows = lines.row[lines.row >= 0]
        paid[on_rows] = True
    unpaid = np.flatnonzero(~paid)
    if unpaid.size == 0:
        return None
    explanation = text.join("credit ", text.amount(rows.credit[unpaid]), ": no component pays on this row")
    return make_lines(
        unpaid.size,
        payee=rows.payee[unpaid],
        role=rows.role[unpaid],
        component=-1,
        kind=LineKind.EARNING,
        period=rows.period[unpaid],
        phase=ROW,
        row=unpaid,
        amount=0,
        explanation=explanation,
        clause=0,
    )


def _plan_caps(compiled: CompiledPlan, lines: Lines, rows: CreditRows, ranks: np.ndarray, basis: Basis) -> Lines:
    """Plan caps over each payee's lines in ledger order, per period before per year, each on what the caps
    before it left of the lines it covers (every line, or those of the components and roles it names)."""
    caps = list(compiled.plan.plan_caps)
    if not caps or len(lines) == 0:
        return lines
    ordered = in_ledger_order(lines, rows.date, rows.txn, ranks)
    paid = ordered.amount
    cut_lines = []
    for i in plan_caps_in_order(compiled.plan.plan_caps):
        cap, clause = caps[i], compiled.plan_cap_clauses[i]
        covered = slice(None) if cap.covers_all else np.flatnonzero(_covered(compiled.plan, cap, ordered))
        part = ordered.take(covered)
        part.amount = paid[covered]
        kept, cuts = apply_caps(part, part.payee.astype(np.int64), [cap], [clause], basis)
        if cuts is not None:
            paid = paid.copy() if paid is ordered.amount else paid
            paid[covered] = kept
            cut_lines.append(cuts)
    return Lines.concat([ordered, *cut_lines])


def _covered(plan: CheckedPlan, cap: CapSpec, lines: Lines) -> np.ndarray:
    """The lines a plan cap names: of its components, or on its roles' credit."""
    components = [i for i, c in enumerate(plan.components) if c.name in cap.components]
    roles = [role.code for role in cap.roles]
    return np.isin(lines.component, components) | np.isin(lines.role, roles)


def _stream_of(lines: Lines, streams: Streams) -> np.ndarray:
    """The stream of each line (lines of one component are all of one role)."""
    key = streams.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + streams.payee
    line_key = lines.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + lines.payee
    order = np.argsort(key)
    position = np.searchsorted(key[order], line_key)
    return order[np.clip(position, 0, max(order.size - 1, 0))]


def _round(lines: Lines) -> np.ndarray:
    """Every line's amount in cents. Earnings were rounded cumulatively per payee and component over the
    year before caps and gates; those act on cents, so every amount is already whole cents."""
    cents, rest = np.divmod(lines.amount, CENT)
    if np.any(rest):  # pragma: no cover - a broken invariant of the engine, not a user error
        raise AssertionError("a ledger line is not a whole number of cents")
    return cents
