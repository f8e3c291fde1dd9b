"""A component's rule in words, from the checked plan: one sentence, and its tier table or curve as rows.

What the language server's hover says of a component and what a plan shows in a notebook
(:meth:`spmlang.Plan._repr_html_`) are both made here, so that the two never tell a rule two ways. Rates and
amounts are written as the ledger writes them (:mod:`spmlang.figures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spmlang.diagnostics import Span
from spmlang.figures import format_money, format_percent
from spmlang.ir.expressions import Const, Type
from spmlang.ir.kinds import LineKind, MeasureBasis, RateKind, Role, TierMode
from spmlang.ir.plan import CheckedPlan, ComponentSpec, CurveRule, PayOnceRule, PayPerRowRule, RateRule, TierRule

BASIS_WORDS = {
    MeasureBasis.ATTAINMENT: "attainment",
    MeasureBasis.CREDIT: "credit to date",
    MeasureBasis.ROW: "each row's own credit",
}


@dataclass(frozen=True)
class RuleTable:
    """A rule's tiers or curve points: a header and rows of text."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in self.rows)])


def pays_what(spec: ComponentSpec) -> str:
    """Which lines a component pays, on whose credit: "pays earning lines on each payee's own credit"."""
    kind = {LineKind.EARNING: "earning", LineKind.SPIF: "SPIF", LineKind.BONUS: "bonus"}[spec.line_kind]
    credit = (
        "each payee's own credit"
        if spec.role is Role.DIRECT
        else "the rollup credit of the people under each payee (a manager's override)"
    )
    return f"pays {kind} lines on {credit}"


def modifiers(spec: ComponentSpec, checked: CheckedPlan) -> list[tuple[str, str, str]]:
    """What narrows or changes a component's pay, each as (words, code as the plan writes it, words): its
    filters, multipliers, caps and gate."""
    found = []
    for row_filter in spec.filters:
        condition = _one_line(checked.source, row_filter.expr.span)
        found.append(("only rows where ", condition, f" ({row_filter.name})" if row_filter.name != condition else ""))
    found += [("", m.text, "") for m in spec.multipliers]
    found += [("", cap.text, "") for cap in spec.caps]
    if spec.gate_text:
        found.append(("", f"gate {spec.gate_text}", ": pays nothing for a period unless it holds at the period's end"))
    return found


def _one_line(source: str, span: Span) -> str:
    """The plan's text of a span, on one line (the first, of a span over several)."""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    if span.end_line == span.line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    return lines[span.line - 1][span.column - 1 :].strip()


def rule_sentence(rule, checked: CheckedPlan) -> str:
    """What a component's rule pays, in one sentence."""
    counted = checked.transactions.credit_type is not Type.MONEY
    if isinstance(rule, RateRule) and rule.accelerator is None:
        per = " per unit of credit" if counted else ""
        return f"Each credit row pays its credit × {rule.rate_text}{per}."
    if isinstance(rule, RateRule) and rule.accelerator is not None:
        basis = BASIS_WORDS[rule.accelerator.basis]
        return (
            f"Each slice of credit pays {rule.rate_text} times the multiplier of the {basis} tier it falls "
            "in (an accelerator: marginal tiers)."
        )
    if isinstance(rule, TierRule):
        return _tiers_sentence(rule)
    if isinstance(rule, CurveRule):
        curve = rule.curve
        below = (
            "the first slope extended below the first point" if curve.extend_below else "nothing below the first point"
        )
        above = (
            "the last slope extended above the last point"
            if curve.extend_above
            else "flat above the last point (the lines past it show the amount cut)"
        )
        on = "each row's own credit" if curve.basis is MeasureBasis.ROW else BASIS_WORDS[curve.basis]
        return f"Pays along a curve on {on}, linear between its points; {below}, {above}."
    if isinstance(rule, PayPerRowRule):
        return f"Each row it pays earns {rule.amount_text} (per {rule.unit})."
    if isinstance(rule, PayOnceRule):
        amount = (
            f"{format_percent(rule.amount)} of the annual target incentive"
            if rule.of_target
            else format_money(rule.amount)
        )
        by = f", ending by {rule.by.isoformat()}" if rule.by else ""
        return f"Pays {amount} once per payee, at the end of the first period where {rule.condition_text}{by}."
    return ""


def _tiers_sentence(rule: TierRule) -> str:
    table = rule.table
    if table.basis is MeasureBasis.ROW:
        how = (
            "each slice of it at its own tier's rate"
            if table.mode is TierMode.MARGINAL
            else "all of it at the rate of the tier it reaches"
        )
        return f"Each row is paid on its own credit, {how} ({table.mode} tiers)."
    if table.mode is TierMode.MARGINAL:
        return f"Each slice of {BASIS_WORDS[table.basis]} is paid at its own tier's rate (marginal tiers)."
    return (
        f"All the credit is paid at the rate of the {BASIS_WORDS[table.basis]} tier reached (retroactive "
        "tiers): the row that lifts a payee into a higher tier carries the uplift on earlier credit."
    )


def rule_table(rule) -> RuleTable | None:
    """A rule's tier table (an accelerator's multipliers, and the rates they give) or curve points; None for a
    rule without one."""
    if isinstance(rule, RateRule) and rule.accelerator is not None:
        table = rule.accelerator
        base = rule.rate.value if isinstance(rule.rate, Const) and isinstance(rule.rate.value, Decimal) else None
        rows = []
        for tier in table.tiers:
            cells = [tier.label, f"{tier.rate.normalize():f}x"]
            if base is not None:
                cells.append(format_percent(base * tier.rate))
            rows.append(tuple(cells))
        header = (str(table.basis), "multiplier", *(("rate",) if base is not None else ()))
        return RuleTable(header, tuple(rows))
    if isinstance(rule, TierRule):
        tiers = rule.table
        return RuleTable(
            (BASIS_WORDS[tiers.basis], "rate"),
            tuple((tier.label, _tier_rate(tiers.rate_kind, tier.rate)) for tier in tiers.tiers),
        )
    if isinstance(rule, CurveRule):
        curve = rule.curve
        points = []
        for x, y in zip(curve.xs, curve.ys, strict=True):
            shown_x = format_percent(x) if curve.basis is MeasureBasis.ATTAINMENT else format_money(x)
            shown_y = f"{format_percent(y)} of target" if curve.of_target else format_money(y)
            points.append((shown_x, shown_y))
        return RuleTable((BASIS_WORDS[curve.basis], "pays"), tuple(points))
    return None


def _tier_rate(kind: RateKind, rate: Decimal) -> str:
    if kind is RateKind.MONEY:
        return f"{format_money(rate)} per unit"
    if kind is RateKind.MULTIPLIER:
        return f"{rate.normalize():f}x"
    return format_percent(rate)
