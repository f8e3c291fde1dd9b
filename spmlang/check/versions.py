"""Checking a component's dated versions: `from DATE { ... }` blocks (docs/language.md, "Plans that change
during the year").

A version holds an earning rule (with its accelerator) and, optionally, multipliers; the rule is checked as
the component's own is. What a version may not hold (a filter, a cap, a gate, how it claws back or is payable,
whose credit it pays on, another version) is the component's, shared by every version: one measure, caps and
gate over the year. Dates are strictly increasing, inside the plan year and after its first day.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from spmlang.check.context import CheckContext
from spmlang.check.tiers import TierChecker
from spmlang.diagnostics import Span
from spmlang.ir.kinds import TierMode
from spmlang.ir.plan import EarningRule, MultiplierSpec, PayOnceRule, RateRule, Settings, VersionSpec
from spmlang.syntax import ast


class ComponentChecker(Protocol):
    """What of check/components.py's checker a version is checked with: its rules, multipliers and tiers."""

    c: CheckContext
    settings: Settings
    tiers: TierChecker

    def rule(self, stmt: object) -> EarningRule | None: ...

    def multiplier(self, stmt: ast.MultiplierStmt) -> MultiplierSpec | None: ...


MAX_VERSIONS = 53  # a version a week; each is a rule to compile, price, explain and draw

# What a version may not hold, and why it stays the component's: said in the error.
_SHARED = {
    ast.WhereStmt: "a filter",
    ast.CapStmt: "a cap",
    ast.GateStmt: "a gate",
    ast.ClawbackStmt: "a clawback",
    ast.PayableStmt: "`payable when`",
    ast.OnCreditStmt: "the credit it pays on",
    ast.FromBlock: "a version",
}
_SHARED_HINT = (
    "a version changes the earning rule and multipliers from its date; the measure, filters, caps and gate are "
    "the component's, for every version: write it in the component, outside `from`"
)
_NESTED_HINT = "versions do not nest: write each `from` block in the component, one after another, in date order"


def check_versions(
    components: ComponentChecker, block: ast.ComponentBlock, rule: EarningRule | None, blocks: list[ast.FromBlock]
) -> tuple[VersionSpec, ...] | None:
    """The component's versions, in date order; None after an error (reported). ``rule``: the component's own
    (None: it was wrong, and said so)."""
    c = components.c
    if isinstance(rule, PayOnceRule):
        c.error(
            "E412",
            f"'{block.name.text}' pays a once-per-payee bonus, which has no versions",
            blocks[0].span,
            "a bonus is decided once, at a period end: write a second bonus component with `by DATE` instead",
        )
        return None
    if len(blocks) > MAX_VERSIONS:
        c.error(
            "E410",
            f"'{block.name.text}' has {len(blocks):,} versions; a component holds at most {MAX_VERSIONS}",
            blocks[MAX_VERSIONS].span,
            "a version a week is the most a plan year needs; a rate that moves with each deal belongs in a "
            "table (`rate rates[kind].rate`) or a column",
        )
        return None
    versions: list[VersionSpec] = []
    ok = True
    previous: tuple[dt.date, Span] | None = None
    for from_block in blocks:
        start = from_block.date.value
        if not isinstance(start, dt.date):
            raise AssertionError("the grammar's `from` takes a date")
        if not _date_fits(c, components.settings, from_block, previous):
            ok = False
        previous = (start, from_block.date.span)
        version = _version(components, block, from_block, start)
        if version is None:
            ok = False
        else:
            versions.append(version)
    return tuple(versions) if ok else None


def _date_fits(
    c: CheckContext, settings: Settings, block: ast.FromBlock, previous: tuple[dt.date, Span] | None
) -> bool:
    if not c.year_known:
        return True
    start = block.date.value
    assert isinstance(start, dt.date)
    first = settings.year_start
    try:
        end = first.replace(year=first.year + 1)
    except ValueError:
        end = first + dt.timedelta(days=365)
    last = end - dt.timedelta(days=1)
    if start == first:
        c.error(
            "E411",
            f"a version from {block.date.text}, the plan year's first day, leaves nothing to the component's own rule",
            block.date.span,
            "write the rule in the component itself, without `from`",
        )
        return False
    if not first < start <= last:
        c.error(
            "E411",
            f"{block.date.text} is outside the plan year ({first.isoformat()} to {last.isoformat()})",
            block.date.span,
            "a version starts on a day of the plan year after its first",
        )
        return False
    if previous is not None and start <= previous[0]:
        c.error(
            "E411",
            f"versions go in date order: {block.date.text} is not after {previous[0].isoformat()}",
            block.date.span,
            "put the `from` blocks in the order of their dates, each on its own date",
            notes=((previous[1], "the version before"),),
        )
        return False
    return True


def _version(
    components: ComponentChecker, component: ast.ComponentBlock, block: ast.FromBlock, start: dt.date
) -> VersionSpec | None:
    c = components.c
    statements = _statements(components, block)
    if statements is None:
        return None
    rules, multipliers, accelerator = statements
    if not rules:
        c.error(
            "E412",
            f"the version of '{component.name.text}' from {block.date.text} has no earning rule",
            block.span,
            "a version gives the component's rule from its date, e.g. `rate 9%` or `tiers marginal on attainment"
            " { ... }`; multipliers alone go in the component, with a date condition",
        )
        return None
    if len(rules) > 1:
        c.error(
            "E405",
            f"the version of '{component.name.text}' from {block.date.text} has two earning rules",
            rules[1][1],
            "a version has one earning rule, as the component does",
            notes=((rules[0][1], "the first earning rule"),),
        )
        return None
    rule, span = rules[0]
    if rule is None:
        return None
    if isinstance(rule, PayOnceRule):
        c.error(
            "E412",
            "a once-per-payee bonus has no versions",
            span,
            "a bonus is decided once, at a period end: write it as a component of its own, with `by DATE`",
        )
        return None
    if accelerator is not None:
        if not isinstance(rule, RateRule):
            c.error(
                "E405",
                "an accelerator multiplies a rate; this version has none",
                accelerator.span,
                "add `rate 8%` to the version, or put the rates in a tier table",
            )
            return None
        table = components.tiers.tier_table(
            accelerator.rows, accelerator.basis, TierMode.MARGINAL, accelerator.span, accelerator=True
        )
        if table is None:
            return None
        rule = RateRule(rule.rate, rule.rate_text, table, rule.span)
    return VersionSpec(start, rule, tuple(multipliers) if multipliers else None, block.span)


def _statements(components: ComponentChecker, block: ast.FromBlock):
    """(earning rules with their spans, multipliers, the accelerator) a version states; None after an error."""
    c = components.c
    rules: list[tuple[EarningRule | None, Span]] = []
    multipliers: list[MultiplierSpec] = []
    accelerator: ast.AcceleratorBlock | None = None
    ok = True
    for stmt in block.statements:
        shared = next((what for kind, what in _SHARED.items() if isinstance(stmt, kind)), None)
        if shared is not None:
            hint = _NESTED_HINT if isinstance(stmt, ast.FromBlock) else _SHARED_HINT
            c.error("E412", f"{shared} does not belong in a version", getattr(stmt, "span", None), hint)
            ok = False
        elif isinstance(stmt, ast.MultiplierStmt):
            multiplier = components.multiplier(stmt)
            ok = ok and multiplier is not None
            if multiplier is not None:
                multipliers.append(multiplier)
        elif isinstance(stmt, ast.AcceleratorBlock):
            if accelerator is not None:
                c.error("E401", "a version has one accelerator table", stmt.span)
                ok = False
            accelerator = stmt
        else:
            rules.append((components.rule(stmt), getattr(stmt, "span", block.span)))
    return (rules, multipliers, accelerator) if ok else None
