"""The compiled plan as readable steps (``spm compile --explain``), like a query plan.

Each step says what the engine does, in the order it does it, with the plan clause it comes from: which
columns are read, the filters and the credit, the measures, each component's earning function, multipliers,
caps and gate, and the rounding. The steps are read off the :class:`~spmlang.engine.compile.CompiledPlan`:
its calendar, each component's compiled rule (whether it is cumulative, whether it trues up), the order caps
apply in, and the clause of each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from spmlang.diagnostics import Span
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.pay.limits import CAP_ORDER, plan_caps_in_order
from spmlang.engine.pay.sums import component_path, lines_needed
from spmlang.engine.read.transactions import columns_read, plan_text
from spmlang.figures import format_money, format_number, format_percent
from spmlang.ir.kinds import ClawbackMode, MeasureBasis, RateKind, TableKind, TierMode
from spmlang.ir.plan import (
    CurveRule,
    PayOnceRule,
    PayPerRowRule,
    RateRule,
    TableSpec,
    TierRule,
    TierTable,
    components_need_quota_basis,
)


@dataclass
class Step:
    title: str
    details: list[str] = field(default_factory=list)
    clause: Span | None = None


def plan_steps(compiled: CompiledPlan) -> list[Step]:
    """The steps of a run of ``compiled``, in order."""
    plan = compiled.plan
    text = partial(plan_text, plan)
    steps = [_calendar_step(compiled), *_reading_steps(compiled), *_credit_steps(compiled, text)]
    steps += [_component_step(compiled, index, text) for index in range(len(plan.components))]
    for cap in (plan.plan_caps[i] for i in plan_caps_in_order(plan.plan_caps)):
        covered = [f"of {', '.join(cap.components)}"] if cap.components else []
        covered += [f"on {' and '.join(cap.roles)} credit"] if cap.roles else []
        over = "all of a payee's lines" if cap.covers_all else f"a payee's lines {' and those '.join(covered)}"
        steps.append(Step(f"plan cap: {cap.text}, over {over} in ledger order", clause=cap.span))
    steps.append(Step("round each (payee, component, period) cumulatively to the cent, half away from zero"))
    steps += _settling_steps(compiled)
    steps.append(_totals_step(compiled))
    return steps


def _totals_step(compiled: CompiledPlan) -> Step:
    """Which way a run pays: every line for a ledger, or only the totals (see engine/pay/sums.py)."""
    why = lines_needed(compiled)
    # Earlier ledgers are known only at a run: the periods they closed are adjusted line by line.
    alone = (
        "by group sums, no line made (from the lines where earlier ledgers, --paid, closed periods)"
        if why is None
        else f"added up from the lines: {why}"
    )
    return Step(
        "pay",
        [
            "with a ledger (--out, explain, statements): every line, over the credit rows in the order above",
            f"totals alone (spm run without --out, spm diff, Result.totals()): {alone}",
        ],
    )


def _calendar_step(compiled: CompiledPlan) -> Step:
    calendar, settings = compiled.calendar, compiled.plan.settings
    return Step(
        f"calendar: plan year {calendar.describe()}, {calendar.count} {settings.frequency.replace('_', ' ')} "
        f"periods ({calendar.labels[0]} .. {calendar.labels[-1]})",
        clause=settings.span,
    )


def _reading_steps(compiled: CompiledPlan) -> list[Step]:
    """Reading the transactions and the plan's tables."""
    plan = compiled.plan
    source = plan.transactions
    read = columns_read(plan)
    columns = ", ".join(
        f"{c.name} ({c.type}{' ' + repr(c.format) if c.format else ''})"
        for c in source.columns.values()
        if c.name in read
    )
    details = [f"columns: {columns}"]
    unread = [name for name in source.columns if name not in read]
    if unread:  # see columns_read
        details.append(f"in the file, not read (text that nothing names): {', '.join(unread)}")
    steps = [Step("read transactions", [*details, f"key {source.key}, date {source.date}"], source.span)]
    for name, table in plan.tables.items():
        if table.kind is TableKind.LOOKUP:
            detail = f"lookup table {name}: key {table.key}" + (f", value {table.value}" if table.value else "")
        elif table.kind is TableKind.ROSTER:
            detail = _roster(table)
        elif table.kind is TableKind.FX:
            dated = f" from {table.roles['date']}" if "date" in table.roles else " (fixed rates)"
            detail = f"fx table: {table.roles['currency']} -> {table.roles['rate']}{dated}"
        else:
            shape = {None: "per period or per year, as the data has it", "period": "per period", "year": "per year"}
            detail = f"{table.kind}: {shape[table.per]}"
            if table.dated:  # each row's annual amount holds for its days
                detail += ", each row from " + " to ".join(table.roles[r] for r in ("start", "end") if r in table.roles)
        steps.append(
            Step(
                f"read {detail}",
                [] if table.rows is None else [f"{len(table.rows)} rows written in the plan"],
                table.span,
            )
        )
    return steps


def _roster(table: TableSpec) -> str:
    """What a roster gives: payee -> manager, and its dates and terms where it has them."""
    roles = table.roles
    detail = f"roster: {roles['payee']} -> {roles['manager']}" if "manager" in roles else f"roster: {roles['payee']}"
    terms = [f"{role} {roles[role]}" for role in ("start", "end", "plan", "currency", "eligibility") if role in roles]
    if terms:
        detail += f" ({', '.join(terms)})"
    if table.prorate is not None:
        detail += f"; quotas and targets prorated by {table.prorate}" if table.prorate != "none" else "; no proration"
    return detail


def _credit_steps(compiled: CompiledPlan, text: Callable[[Span], str]) -> list[Step]:
    """From transaction rows to ordered credit rows and the measure: rejects, filters, credit, quotas."""
    plan = compiled.plan
    settings, source = plan.settings, plan.transactions
    steps = [Step("reject rows with unreadable values, and later rows with a key seen before")]
    if source.currency is not None:
        at = {"transaction_date": "on its date", "period_end": "at its period's end", "fixed": "at its fixed rate"}
        steps.append(
            Step(
                f"convert money columns from the currency in {source.currency.column} to {settings.currency}, "
                f"{at[source.currency.conversion]}; reject rows with no rate",
                clause=source.currency.span,
            )
        )
    for row_filter in source.filters:
        steps.append(
            Step(f"exclude rows failing filter {row_filter.name}: {text(row_filter.expr.span)}", clause=row_filter.span)
        )
    steps.append(Step("reject rows with an empty key, date, payee or credit, or a date outside the plan year"))
    if source.cancelled is not None:
        refunded = (
            f", {text(source.refunded.span)} the part of the credit refunded (empty: all)" if source.refunded else ""
        )
        steps.append(
            Step(
                f"cancellations: a date in column {source.cancelled} cancels the row on that date{refunded}; reject a "
                "cancellation before the row's date or a refund outside 0 .. its credit",
                clause=source.cancelled_span,
            )
        )
    payees = [p.column + (f" with share {text(p.share.span)}" if p.share is not None else "") for p in source.payees]
    credit_steps = [f"payee: {', '.join(payees)}", f"credit = {text(source.credit.span)}"]
    roster = plan.tables.get(TableKind.ROSTER)
    if roster is not None and roster.employment:
        fallback = f"credit {source.fallback}" if source.fallback else "reject"
        credit_steps.append(f"{fallback} where the payee is not employed on the transaction's date")
    if source.rollup and roster is not None and roster.dated:
        credit_steps.append("roll credit up to every manager above the payee on the transaction's date (role: rollup)")
    elif source.rollup:
        credit_steps.append("roll credit up to every manager above the payee in the roster (role: rollup)")
    if plan.recalculates:
        credit_steps.append("a cancelled row's credit rows twinned on the cancellation date, their credit reversed")
    steps.append(Step("credit rows: one per transaction and payee", credit_steps, source.credit_span))
    if components_need_quota_basis(plan.components):
        steps.append(Step("reject rows whose payee has no quota (or a zero quota basis) in their period"))
    elif plan.needs_quotas:
        steps.append(Step("reject rows whose payee has no quota (or a zero annual quota)"))
    role = "role (direct, then rollup), " if source.rollup else ""
    steps.append(Step(f"order credit rows by payee, {role}date, key"))
    measure = "year to date" if compiled.year_to_date else "within each period"
    basis = {"to_date": "the quota to date", "annual": "the annual quota", "period": "the period's quota"}[
        settings.attainment_basis
    ]
    steps.append(Step(f"measure: each payee's credit, accumulated {measure}; attainment = measure / {basis}"))
    return steps


def _component_step(compiled: CompiledPlan, index: int, text: Callable[[Span], str]) -> Step:
    """What a component does: which rows, its earning rule, multipliers, true-up, caps and gate."""
    component = compiled.plan.components[index]
    details = [f"pays on {component.role} credit"]
    for row_filter in component.filters:
        condition = text(row_filter.expr.span)
        named = f" ({row_filter.name})" if row_filter.name != condition else ""
        details.append(f"only rows where {condition}{named}")
    compiled_versions = compiled.components[index].versions
    versions = list(zip(component.in_versions(), compiled_versions, compiled.rule_clauses(index), strict=True))
    for v, (version, _compiled, clause) in enumerate(versions):
        rule = _rule(version.rule)
        rule += [
            f"multiply by {format_number(float(m.factor))}x when {text(m.condition.span)}" for m in version.multipliers
        ]
        if len(versions) > 1:  # each version's rule, indented under the dates it holds
            last = (
                f" to {(component.versions[v].start - dt.timedelta(days=1)).isoformat()}"
                if v + 1 < len(versions)
                else ""
            )
            first = component.versions[v - 1].start.isoformat() if v else "the start of the plan year"
            details.append(f"version from {first}{last} (rows dated then)  [{compiled.clauses[clause].clause}]")
            rule = ["  " + line for line in rule]
        details += rule
    if any(version_run.trues_up(compiled.basis_varies, compiled.year_to_date) for _, version_run, _ in versions):
        each = " (each version its own rows)" if len(versions) > 1 else ""
        details.append(f"true-up at each period start: re-price earlier credit on the new quota to date{each}")
    caps = sorted(
        zip(component.caps, compiled.cap_clauses[index], strict=True), key=lambda pair: CAP_ORDER[pair[0].scope]
    )
    for cap, clause in caps:
        details.append(
            f"{cap.text} (cumulative, in row order; cuts recorded as cap lines)  [{compiled.clauses[clause].clause}]"
        )
    if component.gate is not None:
        details.append(
            f"gate at each period end: {component.gate_text}; withheld pay is "
            f"{'released when it opens' if compiled.year_to_date else 'forfeited'}"
            f"  [{compiled.clauses[compiled.gate_clause[index]].clause}]"
        )
    details += _cycle_details(compiled, index)
    details.append(component_path(compiled, index))
    return Step(f"{component.kind} {component.name} (lines of kind {component.line_kind})", details, component.span)


_CLAWBACKS = {
    ClawbackMode.AS_PAID: "reverse what the row's lines paid (x the share refunded)",
    ClawbackMode.AT_RATE: "the cancelled credit at the rate the row earned (fixed amounts kept)",
    ClawbackMode.RECALCULATE: "its reversal priced as a row on the lower measure; later rows and true-ups without it",
}


def _cycle_details(compiled: CompiledPlan, index: int) -> list[str]:
    """A component's clawbacks and holds."""
    plan = compiled.plan
    component = plan.components[index]
    details = []
    cites = compiled.clawback_clause[index] if compiled.clawback_clause else -1  # what a clawback line cites
    if cites >= 0 and not isinstance(component.rule, PayOnceRule):
        clawback = plan.clawback(component)
        window = (
            f"; a cancellation more than {clawback.within_days} days after the row's date is not clawed back"
            if clawback.within_days is not None
            else ""
        )
        details.append(
            f"clawback {clawback.mode}, in the period of the cancellation: {_CLAWBACKS[clawback.mode]}{window}"
            f"  [{compiled.clauses[cites].clause}]"
        )
    if component.payable is not None:
        details.append(
            f"hold a row's lines until {component.payable_text} (hold lines); a later run (--paid) that finds it "
            f"so releases them (release lines)  [{compiled.clauses[compiled.payable_clause[index]].clause}]"
        )
    return details


def _settling_steps(compiled: CompiledPlan) -> list[Step]:
    """After the lines: what the pay cycle settles on each payee's period pay."""
    plan = compiled.plan
    steps = [
        Step(
            "earlier ledgers (--paid): their periods stay as paid; what changed in them is paid in the first open "
            "period (adjustment, release and clawback lines); --through PERIOD pays no later period"
        )
    ]
    draw = plan.draw
    if draw is not None:
        details = []
        if draw.recoverable:
            limit = f", at most {format_percent(draw.recover_limit)} of it" if draw.recover_limit else ""
            start = f", from {draw.recover_from.isoformat()}" if draw.recover_from else ""
            details.append(f"recoverable: owed back from later pay above the draw{limit}{start} (draw_recovery lines)")
        else:
            details.append("not recoverable")
        if draw.until is not None:
            details.append(f"no draw in periods that start after {draw.until.isoformat()}")
        clause = compiled.clauses[compiled.draw_clause]
        steps.append(Step(f"draw: top each period's pay up to it ({draw.text}; draw lines)", details, clause))
    floor = plan.settings.payout_floor
    if floor is not None:
        steps.append(
            Step(
                f"payout floor {format_money(floor)} {plan.settings.currency}: a period's pay below it topped up "
                "(floor lines), recovered from later pay above it (floor_recovery lines)",
                clause=compiled.clauses[compiled.floor_clause],
            )
        )
    if compiled.pay_currency_clause >= 0:
        roster = plan.tables[TableKind.ROSTER]
        steps.append(
            Step(
                f"pay each payee in the currency of their roster row ({roster.roles['currency']}): each period's "
                f"pay in {plan.settings.currency} converted at the rate of the period's last day (fx lines)",
                clause=compiled.clauses[compiled.pay_currency_clause],
            )
        )
    return steps


def _tiers(table: TierTable, unit: str) -> list[str]:
    lines = []
    for tier in table.tiers:
        if table.rate_kind is RateKind.MULTIPLIER:
            value = f"{tier.rate.normalize()}x the rate"
        elif table.rate_kind is RateKind.MONEY:
            value = f"{format_money(tier.rate)} {unit}"
        else:
            value = format_percent(tier.rate)
        lines.append(f"  {tier.label}: {value}")
    return lines


def _rule(rule) -> list[str]:
    if isinstance(rule, RateRule) and rule.accelerator is None:
        return [f"line = credit x {rule.rate_text}"]
    if isinstance(rule, RateRule) and rule.accelerator is not None:
        table = rule.accelerator
        return [
            f"E(m) = marginal tiers on {table.basis} with rate {rule.rate_text} times:",
            *_tiers(table, ""),
            "line = f x (E(measure after) - E(measure before))",
        ]
    if isinstance(rule, TierRule):
        table = rule.table
        on = {
            "attainment": "attainment (bounds x quota basis)",
            "credit": "accumulated credit",
            "row": "each row's own credit",
        }[table.basis]
        formula = (
            "E(m) = rate of the tier reached x m"
            if table.mode is TierMode.RETROACTIVE
            else "E(m) = sum over tiers of rate x the part of m in the tier"
        )
        line = (
            "line = f x E(row credit)"
            if table.basis is MeasureBasis.ROW
            else "line = f x (E(measure after) - E(measure before))"
        )
        return [f"{formula}, on {on}:", *_tiers(table, "per unit"), line]
    if isinstance(rule, CurveRule):
        curve = rule.curve
        points = ", ".join(
            f"({format_percent(x) if curve.basis == 'attainment' else format_money(x)}, "
            f"{format_percent(y) + ' of target' if curve.of_target else format_money(y)})"
            for x, y in zip(curve.xs, curve.ys, strict=True)
        )
        ends = [
            f"below the first point: {'the first slope extended' if curve.extend_below else 'nothing'}",
            f"above the last point: {'the last slope extended' if curve.extend_above else 'flat (a cap)'}",
        ]
        if curve.basis is MeasureBasis.ROW:
            return [
                f"E(c) = payout curve on each row's own credit, linear between {points}",
                *ends,
                "line = f x E(row credit)",
            ]
        return [
            f"E(m) = payout curve on {curve.basis}, linear between {points}",
            *ends,
            "line = f x (E(measure after) - E(measure before))",
        ]
    if isinstance(rule, PayPerRowRule):
        return [f"line = {rule.amount_text} per {rule.unit}"]
    if isinstance(rule, PayOnceRule):
        amount = f"{format_percent(rule.amount)} of annual target" if rule.of_target else format_money(rule.amount)
        by = f", by {rule.by.isoformat()}" if rule.by else ""
        return [f"once per payee: {amount} at the end of the first period where {rule.condition_text}{by}"]
    raise AssertionError(type(rule).__name__)


def render_steps(steps: list[Step], plan) -> str:
    lines = [
        f'the compiled plan "{plan.settings.name}" version {plan.settings.version} '
        f"({plan.path}, sha256 {plan.sha256[:12]})"
    ]
    for number, step in enumerate(steps, 1):
        where = f"  [{step.clause.clause}]" if step.clause is not None else ""
        lines.append(f"{number:>3}. {step.title}{where}")
        lines.extend(f"       {detail}" for detail in step.details)
    return "\n".join(lines)
