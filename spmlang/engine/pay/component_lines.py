"""A component's lines over a batch's credit rows: its row lines (each version's rule on the rows of its
dates), true-ups and bonuses, rounded cumulatively to the cent, then its caps, its gate and a curve's flat top.
:func:`spmlang.engine.batch.pay_batch` makes them for each component, then settles the payee's pay."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from spmlang import figures
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.row_values import RowValues
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import Frame, Vec, truth
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, UNIT, cumulative_cents, units_to_cents
from spmlang.engine.pay.component import PeriodLines
from spmlang.engine.pay.earnings import RowLines
from spmlang.engine.pay.limits import GATE_FIGURES, apply_caps, gate_lines
from spmlang.engine.pay.lines import END, KIND, ROW, START, Lines, TextColumn, make_lines
from spmlang.engine.pay.streams import Streams
from spmlang.engine.pay.twins import mark_twins, reprice_twins
from spmlang.ir.expressions import Type, builtins_used
from spmlang.ir.kinds import LineKind, MeasureBasis, Role
from spmlang.ir.plan import ComponentSpec, CurveRule, PayOnceRule


def component_lines(
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
        period_end = period_end_frame(compiled, streams, basis)
    if isinstance(spec.rule, PayOnceRule) and period_end is not None:
        bonuses = bonus_lines(compiled, index, streams, basis, period_end)
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
        # What a gate line shows of the period's end: the figures its condition reads, as they stood.
        read = builtins_used(spec.gate)
        shown = {name: period_end.builtin(name) for name in GATE_FIGURES if name in read}
        stream_of_line = _stream_of(lines, streams)
        extra.append(
            gate_lines(
                lines,
                paid,
                stream_of_line,
                streams,
                is_open,
                {name: (vec.values.reshape(streams.count, calendar.count), vec.type) for name, vec in shown.items()},
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


def bonus_lines(
    compiled: CompiledPlan, index: int, streams: Streams, basis: Basis, period_end: Frame | None = None
) -> PeriodLines:
    """What a `pay ... once when` component pays, at the end of the first period its condition holds."""
    calendar = compiled.calendar
    rule = compiled.components[index].spec.rule
    assert isinstance(rule, PayOnceRule)  # only a bonus pays once
    period_end = period_end if period_end is not None else period_end_frame(compiled, streams, basis)
    met = truth(evaluate(rule.condition, period_end), period_end.n).reshape(streams.count, calendar.count)
    ends = [calendar.end(p) for p in range(calendar.count)]
    return compiled.components[index].bonuses(streams, basis, met, ends, calendar.labels)


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
        explanation = explanation if isinstance(explanation, TextColumn) else TextColumn([explanation])
        explanation = explanation.of_rollup(rows.rollup_from[r], payees.names)
    elif fallback is not None:  # in place of a payee outside their employment: why
        why = fallback.take(r)
        plain = explanation.resolve() if isinstance(explanation, TextColumn) else explanation
        instead = why.is_valid().to_numpy(zero_copy_only=False)
        explanation = text.join(text.when(instead, text.join("fallback: ", why, "; ")), plain)
    if note:
        explanation = (explanation if isinstance(explanation, TextColumn) else TextColumn([explanation])).then(note)
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


def period_end_frame(compiled: CompiledPlan, streams: Streams, basis: Basis) -> Frame:
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


def _stream_of(lines: Lines, streams: Streams) -> np.ndarray:
    """The stream of each line (lines of one component are all of one role)."""
    key = streams.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + streams.payee
    line_key = lines.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + lines.payee
    order = np.argsort(key)
    position = np.searchsorted(key[order], line_key)
    return order[np.clip(position, 0, max(order.size - 1, 0))]
