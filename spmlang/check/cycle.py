"""Checking what the pay cycle reads from a plan: how cancellations are clawed back, the payout floor, when a
component's lines are payable, and the draw."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from spmlang.check.context import CheckContext
from spmlang.check.expressions import Scope
from spmlang.check.words import CLAWBACK_WORDS, DRAW_KIND_WORDS, DRAW_PER_MONTHS, FREQUENCY_WORDS
from spmlang.diagnostics import did_you_mean
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import PERIODS_PER_YEAR, CapScope, ClawbackMode, Measure, MeasureBasis
from spmlang.ir.plan import (
    CapSpec,
    ClawbackSpec,
    ColumnSpec,
    ComponentSpec,
    CurveRule,
    DrawSpec,
    PayOnceRule,
    RateRule,
    Settings,
    TierRule,
)
from spmlang.syntax import ast

# A window longer than this is no window (ten years), and a number this large would not fit a day count.
_MAX_WINDOW_DAYS = 3653


def clawback_spec(c: CheckContext, stmt: ast.ClawbackStmt) -> ClawbackSpec | None:
    """``clawback MODE [within N days]``; None after an error."""
    mode = CLAWBACK_WORDS.get(stmt.mode.text)
    if mode is None:
        c.error(
            "E206",
            f"unknown clawback '{stmt.mode.text}'",
            stmt.mode.span,
            did_you_mean(stmt.mode.text, CLAWBACK_WORDS) or f"one of: {', '.join(CLAWBACK_WORDS)}",
        )
        return None
    days = None
    if stmt.within is not None:
        value = stmt.within.value
        if stmt.unit is None or stmt.unit.text not in ("day", "days"):
            where = stmt.unit.span if stmt.unit is not None else stmt.span
            c.error("E206", "a clawback window is counted in days", where, "write e.g. `within 90 days`")
            return None
        if not isinstance(value, Decimal) or value != value.to_integral_value() or not 0 < value <= _MAX_WINDOW_DAYS:
            c.error(
                "E404",
                f"a clawback window is a whole number of days from 1 to {_MAX_WINDOW_DAYS}",
                stmt.within.span,
            )
            return None
        days = int(value)
    return ClawbackSpec(mode, days, stmt.span)


def recalculated_within_one_period(
    c: CheckContext, components: tuple[ComponentSpec, ...], plan_caps: tuple[CapSpec, ...], settings: Settings
) -> None:
    """A recalculated clawback is a reversal row on the cancellation's date, priced and capped like any row there.
    That re-prices the year without the transaction only where nothing starts afresh between the two dates: a
    measure of each period alone, or a cap per row or per period, would price or cap the reversal apart from what
    the transaction was paid (taking back more than a capped row was paid, or less than a deal earned at the
    higher tier of its own period). Until that is exact, such a component claws back as paid or at its rate."""
    for component in components:
        way = component.clawback or settings.clawback
        if way is None or way.mode is not ClawbackMode.RECALCULATE or isinstance(component.rule, PayOnceRule):
            continue  # a bonus has no line on a row to take back
        hint = f"give '{component.name}' its own `clawback as_paid` or `clawback at_rate`"
        if settings.measure is Measure.PERIOD_TO_DATE and _on_the_measure(component):
            why = (
                "its measure starts afresh each period: a cancellation in a later period would leave that "
                "period's measure, not the one the transaction was paid on"
            )
            c.error(
                "E404",
                f"'{component.name}' claws back by recalculating the year, but {why}",
                way.span or component.span,
                hint,
            )
            continue
        covering = [cap for cap in component.caps if cap.scope is not CapScope.YEAR] + [
            cap for cap in plan_caps if cap.scope is not CapScope.YEAR and _covers(cap, component)
        ]
        if covering:
            cap = covering[0]
            each = "row" if cap.scope is CapScope.ROW else "period"
            c.error(
                "E404",
                f"'{component.name}' claws back by recalculating the year, but `{cap.text}` caps each {each} on its "
                "own: recalculating would take back a cancelled transaction's whole earnings, even what the cap did "
                "not pay",
                way.span or component.span,
                hint + " (or cap it per year)",
                notes=((cap.span, "the cap"),),
            )


def _on_the_measure(component: ComponentSpec) -> bool:
    """Whether the component's rule prices a row on the accumulated measure (not on the row alone)."""
    rule = component.rule
    if isinstance(rule, RateRule):
        return rule.accelerator is not None
    if isinstance(rule, TierRule):
        return rule.table.basis is not MeasureBasis.ROW
    if isinstance(rule, CurveRule):
        return rule.curve.basis is not MeasureBasis.ROW
    return False


def _covers(cap: CapSpec, component: ComponentSpec) -> bool:
    """Whether a plan cap covers the lines of ``component``."""
    return cap.covers_all or component.name in cap.components or component.role in cap.roles


def payout_floor(c: CheckContext, stmt: ast.PayoutFloorStmt) -> Decimal | None:
    """``payout floor $0``: a fixed amount of money, zero or more."""
    value_ir = c.exprs.check(stmt.amount, Scope("the payout floor"), None)
    if value_ir is None:
        return None
    value = constant_value(value_ir)
    if value is None or value_ir.type is not Type.MONEY:
        c.error("E301", "a payout floor is a fixed amount of money, e.g. $0", stmt.amount.span)
        return None
    if value < 0:
        c.error(
            "E404", "a payout floor cannot be negative", stmt.amount.span, "`payout floor $0` keeps pay at zero or more"
        )
        return None
    if too_large(value):
        c.error("E312", f"a payout floor of {value:,} is too large to hold", stmt.amount.span, too_large_hint())
        return None
    return value


def cancelled_column(c: CheckContext, stmt: ast.CancelledStmt, columns: dict[str, ColumnSpec]) -> str | None:
    """The column a transactions block names as the date of a cancellation: a declared date column."""
    name = stmt.column.text
    spec = columns.get(name)
    if spec is None:
        c.error(
            "E201",
            f"unknown column '{name}'",
            stmt.column.span,
            did_you_mean(name, columns) or f"declare it: column {name} date",
        )
        return None
    if spec.type is not Type.DATE:
        c.error(
            "E301",
            f"`cancelled` names the date of a cancellation, but '{name}' is {spec.type}",
            stmt.column.span,
            "name a date column: the day each transaction was cancelled or refunded (empty: it was not)",
        )
        return None
    return name


def check_draw(c: CheckContext, blocks: list[ast.DrawBlock], settings: Settings) -> DrawSpec | None:
    """The plan's draw, if it has one; None after an error."""
    if not blocks:
        return None
    for extra in blocks[1:]:
        c.error("E401", "a plan has one draw", extra.span, notes=((blocks[0].span, "the first draw"),))
    block = blocks[0]
    found: dict[type, ast.Node] = {}
    for stmt in block.statements:
        if type(stmt) in found:
            c.error("E401", "given twice in the draw", stmt.span, notes=((found[type(stmt)].span, "first given here"),))
            return None
        found[type(stmt)] = stmt
    amount_stmt = found.get(ast.DrawAmountStmt)
    kind_stmt = found.get(ast.DrawKindStmt)
    if not isinstance(amount_stmt, ast.DrawAmountStmt):
        c.error("E403", "the draw has no amount", block.span, "add e.g. `amount $2,000 per month`")
        return None
    if not isinstance(kind_stmt, ast.DrawKindStmt):
        c.error(
            "E403",
            "say whether the draw is recovered from later pay",
            block.span,
            "add `recoverable` (taken back from pay above the draw) or `non_recoverable`",
        )
        return None
    recoverable = DRAW_KIND_WORDS.get(kind_stmt.kind.text)
    if recoverable is None:
        c.error(
            "E206",
            f"unknown draw '{kind_stmt.kind.text}'",
            kind_stmt.kind.span,
            did_you_mean(kind_stmt.kind.text, DRAW_KIND_WORDS) or "write `recoverable` or `non_recoverable`",
        )
        return None
    amount = _draw_amount(c, amount_stmt, settings)
    limit_stmt = found.get(ast.RecoverLimitStmt)
    limit = _recovery_limit(c, limit_stmt, recoverable) if isinstance(limit_stmt, ast.RecoverLimitStmt) else None
    if isinstance(limit_stmt, ast.RecoverLimitStmt) and limit is None:
        return None
    recover_from = _date(found.get(ast.RecoverFromStmt))
    until = _date(found.get(ast.DrawUntilStmt))
    if recover_from is not None and not recoverable:
        c.error("E404", "a non-recoverable draw is never recovered", found[ast.RecoverFromStmt].span)
        return None
    if not _draw_dates_fit(c, found, settings, until, recover_from):
        return None
    if amount is None:
        return None
    return DrawSpec(amount, recoverable, limit, recover_from, until, c.text(amount_stmt.span), block.span)


def _draw_dates_fit(
    c: CheckContext,
    found: dict[type, ast.Node],
    settings: Settings,
    until: dt.date | None,
    recover_from: dt.date | None,
) -> bool:
    """A draw that would end before the plan year starts never pays, and one recovered only from after it ends is
    never recovered: such a date is a typo of the year (2026 for 2027), not a plan."""
    if not c.year_known:
        return True
    start = settings.year_start
    end = dt.date(start.year + 1, start.month, start.day) - dt.timedelta(days=1)  # the year starts on day 1 to 28
    if until is not None and until < start:
        c.error(
            "E407",
            f"the draw ends on {until}, before the plan year starts ({start}): it would never be paid",
            found[ast.DrawUntilStmt].span,
            "give a day of the plan year, or leave `until` out: the draw then runs all year",
        )
        return False
    if recover_from is not None and recover_from > end:
        c.error(
            "E407",
            f"the draw is recovered from {recover_from}, after the plan year ends ({end}): it would never be recovered",
            found[ast.RecoverFromStmt].span,
            "give a day of the plan year, or make the draw `non_recoverable`",
        )
        return False
    return True


def _recovery_limit(c: CheckContext, stmt: ast.RecoverLimitStmt, recoverable: bool) -> Decimal | None:
    """``recover at most 50%``: a share of a period's pay above the draw; None after an error."""
    limit_ir = c.exprs.check(stmt.share, Scope("a recovery limit"), None)
    if limit_ir is None:
        return None
    limit = constant_value(limit_ir)
    if limit_ir.type is not Type.PERCENT or limit is None or not 0 < limit <= 1:
        c.error("E404", "a recovery limit is a percentage above 0% and at most 100%", stmt.share.span)
        return None
    if not recoverable:
        c.error("E404", "a non-recoverable draw is never recovered", stmt.span, "remove the limit")
        return None
    return limit


def _draw_amount(c: CheckContext, stmt: ast.DrawAmountStmt, settings: Settings) -> Decimal | None:
    """The draw per payout period."""
    value_ir = c.exprs.check(stmt.amount, Scope("a draw"), None)
    if value_ir is None:
        return None
    value = constant_value(value_ir)
    if value is None or value_ir.type is not Type.MONEY or value <= 0:
        c.error("E301", "a draw is a fixed amount of money above zero, e.g. $2,000", stmt.amount.span)
        return None
    period_months = 12 // PERIODS_PER_YEAR[settings.frequency]
    unit = stmt.per.text
    if unit == "period" or FREQUENCY_WORDS.get(unit) is settings.frequency:
        months = period_months
    elif unit in DRAW_PER_MONTHS:
        months = DRAW_PER_MONTHS[unit]
    else:
        c.error(
            "E206",
            f"unknown draw period '{unit}'",
            stmt.per.span,
            did_you_mean(unit, DRAW_PER_MONTHS) or "write `per month`, `per quarter`, `per year` or `per period`",
        )
        return None
    per_period = value * period_months / months
    if per_period != per_period.quantize(Decimal("0.01")):
        c.error(
            "E404",
            f"{value:,} per {unit} is not a whole number of cents per payout period",
            stmt.span,
            f"give the draw per {settings.frequency} period: `per period`",
        )
        return None
    if too_large(per_period * PERIODS_PER_YEAR[settings.frequency]):
        c.error("E312", f"a draw of {value:,} per {unit} is too large to hold", stmt.amount.span, too_large_hint())
        return None
    return per_period


def _date(stmt: ast.Node | None) -> dt.date | None:
    if isinstance(stmt, (ast.RecoverFromStmt, ast.DrawUntilStmt)) and isinstance(stmt.date.value, dt.date):
        return stmt.date.value
    return None
