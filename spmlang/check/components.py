"""Checking components: what each pays on (direct or rollup credit), its filters, its one earning rule, and
what shapes it (multipliers, an accelerator, caps, a gate). Tier tables and curves are checked in
``tiers.py``, caps in ``caps.py``; a component's statements are checked here in the order the language allows
them, which makes the module long."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from spmlang.check.amounts import constant_amount
from spmlang.check.caps import CapChecker
from spmlang.check.context import CheckContext
from spmlang.check.cycle import clawback_spec
from spmlang.check.expressions import Scope
from spmlang.check.tiers import TierChecker
from spmlang.check.units import rate_mismatch
from spmlang.check.versions import check_versions
from spmlang.check.words import ROLE_WORDS, TIER_MODES
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir import expressions as ir
from spmlang.ir.constants import constant_value
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import CapScope, ComponentKind, Role, TableKind, TierMode
from spmlang.ir.plan import (
    CapSpec,
    ClawbackSpec,
    ComponentSpec,
    CurveRule,
    EarningRule,
    FilterSpec,
    MultiplierSpec,
    PayOnceRule,
    PayPerRowRule,
    RateRule,
    Settings,
    SourceSpec,
    TableSpec,
    TierRule,
    TierTable,
)
from spmlang.syntax import ast


@dataclass
class _Parts:
    """What a component block's statements say, each checked; ``ok`` is False once one of them was wrong."""

    role: Role = Role.DIRECT
    filters: list[FilterSpec] = field(default_factory=list)
    multipliers: list[MultiplierSpec] = field(default_factory=list)
    caps: list[CapSpec] = field(default_factory=list)
    rules: list[tuple[EarningRule, Span]] = field(default_factory=list)
    accelerator: tuple[TierTable | None, ast.AcceleratorBlock] | None = None
    gate: ir.IR | None = None
    gate_text: str | None = None
    gate_span: Span | None = None
    clawback: ClawbackSpec | None = None
    clawback_span: Span | None = None
    payable: ir.IR | None = None
    payable_span: Span | None = None
    versions: list[ast.FromBlock] = field(default_factory=list)  # checked once the rule is (check/versions.py)
    ok: bool = True


class ComponentChecker:
    def __init__(self, checker: CheckContext, settings: Settings, source: SourceSpec, tables: dict[str, TableSpec]):
        self.c = checker
        self.settings = settings
        self.source = source
        self.lookups = {n: t for n, t in tables.items() if t.kind in (TableKind.LOOKUP, TableKind.ROSTER)}
        credit_type = source.credit_type
        # A row also sees its payee's annual quota and target incentive (`rate target / quota`: the base
        # commission rate). A declared column of either name stays the column it was.
        payee_figures = {
            name: t for name, t in (("quota", credit_type), ("target", Type.MONEY)) if name not in source.columns
        }
        self.row_scope = Scope(
            "a component",
            source.columns,
            self.lookups,
            {"credit": credit_type, "share": Type.NUMBER, "payee": Type.TEXT, **payee_figures},
        )
        self.period_scope = Scope(
            "a period-end condition",
            {**source.columns},
            {},
            {
                "attainment": Type.PERCENT,
                "credit": credit_type,
                "quota": credit_type,
                "target": Type.MONEY,
                "count": Type.INTEGER,
            },
            columns_allowed=False,
        )
        self.tiers = TierChecker(checker, credit_type, self.row_scope)
        self.caps = CapChecker(checker, settings, source, self.row_scope)

    # ------------------------------------------------------------ components
    def check_all(self, blocks: list[ast.ComponentBlock]) -> tuple[ComponentSpec, ...]:
        components: list[ComponentSpec] = []
        seen: dict[str, Span] = {}
        for block in blocks:
            if block.name.text in seen:
                self.c.error(
                    "E207",
                    f"two components are named '{block.name.text}'",
                    block.name.span,
                    notes=((seen[block.name.text], "the other one"),),
                )
                continue
            seen[block.name.text] = block.name.span
            spec = self.check(block, len(components))
            if spec is not None:
                components.append(spec)
        rollup_components = [c for c in components if c.role is Role.ROLLUP]
        if rollup_components and not self.source.rollup:
            self.c.error(
                "E406",
                f"component '{rollup_components[0].name}' pays on rollup credit, but credit does not roll up",
                rollup_components[0].span,
                "add `rollup to manager` to the transactions block",
            )
        if self.source.rollup and not rollup_components and components:
            self.c.warn(
                "W102",
                "credit rolls up to managers, but no component pays on rollup credit",
                self.source.rollup_span,
                "add `on rollup credit` to a manager's component",
            )
        return tuple(components)

    def check(self, block: ast.ComponentBlock, index: int) -> ComponentSpec | None:
        parts = self._parts(block)
        rule = self._earning_rule(block, parts)
        # The versions are checked even where the component's own statements are wrong: every error at once.
        versions = check_versions(self, block, rule, parts.versions) if parts.versions else ()
        if rule is None or not parts.ok or versions is None:
            return None
        return ComponentSpec(
            block.name.text,
            ComponentKind(block.kind.text),
            index,
            parts.role,
            tuple(parts.filters),
            rule,
            tuple(parts.multipliers),
            tuple(parts.caps),
            parts.gate,
            parts.gate_text,
            parts.gate_span,
            block.span,
            parts.clawback,
            parts.payable,
            self.c.text(parts.payable_span) if parts.payable_span is not None else None,
            parts.payable_span,
            versions,
        )

    def _parts(self, block: ast.ComponentBlock) -> _Parts:
        parts = _Parts()
        for stmt in block.statements:
            if isinstance(stmt, ast.OnCreditStmt):
                self._role(stmt, parts)
            elif isinstance(stmt, ast.WhereStmt):
                name = stmt.name.text if stmt.name else self.c.text(stmt.expr.span)
                other = next((f for f in parts.filters if f.name == name), None)
                if other is not None:  # as in the transactions block: a row's fate names its filter
                    self.c.error(
                        "E207", f"two filters are named '{name}'", stmt.span, notes=((other.span, "the other one"),)
                    )
                    continue
                expr = self.c.exprs.check(stmt.expr, self.row_scope, (Type.BOOL,), "a filter")
                _keep(parts, None if expr is None else FilterSpec(name, expr, stmt.span), parts.filters)
            elif isinstance(stmt, ast.MultiplierStmt):
                _keep(parts, self.multiplier(stmt), parts.multipliers)
            elif isinstance(stmt, ast.CapStmt):
                _keep(parts, self.caps.cap(stmt, plan_level=False), parts.caps)
            elif isinstance(stmt, ast.GateStmt):
                self._gate(stmt, parts)
            elif isinstance(stmt, ast.ClawbackStmt):
                self._clawback(stmt, parts)
            elif isinstance(stmt, ast.PayableStmt):
                self._payable(stmt, parts)
            elif isinstance(stmt, ast.AcceleratorBlock):
                self._accelerator(stmt, parts)
            elif isinstance(stmt, ast.FromBlock):
                parts.versions.append(stmt)
            else:
                rule = self.rule(stmt)
                _keep(parts, None if rule is None else (rule, stmt.span), parts.rules)
        return parts

    def _role(self, stmt: ast.OnCreditStmt, parts: _Parts) -> None:
        role = ROLE_WORDS.get(stmt.role.text)
        if role is None:
            self.c.error(
                "E206",
                f"unknown credit '{stmt.role.text}'",
                stmt.role.span,
                did_you_mean(stmt.role.text, ROLE_WORDS) or "write `on direct credit` or `on rollup credit`",
            )
            parts.ok, role = False, Role.DIRECT
        parts.role = role

    def _gate(self, stmt: ast.GateStmt, parts: _Parts) -> None:
        if parts.gate_span is not None:
            self.c.error(
                "E401",
                "a component has one gate; join conditions with 'and'",
                stmt.span,
                notes=((parts.gate_span, "the first gate"),),
            )
            parts.ok = False
            return
        parts.gate = self.c.exprs.check(stmt.condition, self.period_scope, (Type.BOOL,), "a gate")
        parts.gate_text, parts.gate_span = self.c.text(stmt.condition.span), stmt.span
        parts.ok = parts.ok and parts.gate is not None

    def _clawback(self, stmt: ast.ClawbackStmt, parts: _Parts) -> None:
        if parts.clawback_span is not None:
            self.c.error("E401", "a component has one clawback", stmt.span, notes=((parts.clawback_span, "the first"),))
            parts.ok = False
            return
        if self.source.cancelled is None:
            self.c.error(
                "E403",
                "a clawback needs to know when a transaction was cancelled",
                stmt.span,
                "add `cancelled DATE_COLUMN` to the transactions block",
            )
            parts.ok = False
            return
        parts.clawback, parts.clawback_span = clawback_spec(self.c, stmt), stmt.span
        parts.ok = parts.ok and parts.clawback is not None

    def _payable(self, stmt: ast.PayableStmt, parts: _Parts) -> None:
        if parts.payable_span is not None:
            self.c.error(
                "E401",
                "a component has one `payable when`; join conditions with 'and'",
                stmt.span,
                notes=((parts.payable_span, "the first"),),
            )
            parts.ok = False
            return
        parts.payable = self.c.exprs.check(stmt.condition, self.row_scope, (Type.BOOL,), "a payable condition")
        parts.payable_span = stmt.condition.span
        parts.ok = parts.ok and parts.payable is not None

    def _accelerator(self, stmt: ast.AcceleratorBlock, parts: _Parts) -> None:
        if parts.accelerator is not None:
            self.c.error("E401", "a component has one accelerator table", stmt.span)
            parts.ok = False
            return
        table = self.tiers.tier_table(stmt.rows, stmt.basis, TierMode.MARGINAL, stmt.span, accelerator=True)
        parts.accelerator = (table, stmt)

    def _earning_rule(self, block: ast.ComponentBlock, parts: _Parts) -> EarningRule | None:
        """The component's one earning rule, with its accelerator; None if it has none, or it does not fit."""
        c = self.c
        if not parts.rules:
            if parts.ok and parts.versions:  # a version's rule starts on its date: before it, nothing says
                first = parts.versions[0].date.text
                c.error(
                    "E404",
                    f"component '{block.name.text}' has no earning rule of its own: nothing says what it pays "
                    f"before its version from {first}",
                    block.name.span,
                    f"write its rule before {first} in the component (`rate 0%` if it pays nothing then)",
                )
            elif parts.ok:
                c.error(
                    "E404",
                    f"component '{block.name.text}' pays nothing: it has no earning rule",
                    block.name.span,
                    "add one of: `rate 8%`, `tiers marginal on attainment { ... }`, `curve on attainment { ... }`,"
                    " `pay $500 per deal`, `pay $5,000 once when attainment >= 100%`",
                )
            return None
        if len(parts.rules) > 1:
            c.error(
                "E405",
                f"component '{block.name.text}' has two earning rules",
                parts.rules[1][1],
                "split it into two components",
                notes=((parts.rules[0][1], "the first earning rule"),),
            )
            return None
        rule = parts.rules[0][0]
        if parts.accelerator is not None:
            table, stmt = parts.accelerator
            if not isinstance(rule, RateRule):
                c.error(
                    "E405",
                    "an accelerator multiplies a component's rate; this component has none",
                    stmt.span,
                    "add `rate 8%` to the component, or put the rates in a tier table",
                )
                return None
            if table is None:
                return None
            rule = RateRule(rule.rate, rule.rate_text, table, rule.span)
        if isinstance(rule, PayOnceRule) and not self._fits_once(parts):
            return None
        return rule

    def _fits_once(self, parts: _Parts) -> bool:
        """Whether a once-per-payee bonus goes without what applies to rows: filters, multipliers, row caps."""
        if parts.multipliers or parts.filters:
            span = (parts.multipliers or parts.filters)[0].span
            self.c.error(
                "E405",
                "a once-per-payee bonus has no rows to filter or multiply",
                span,
                "put the condition in `pay ... once when ...`",
            )
            return False
        if any(cap.scope is CapScope.ROW for cap in parts.caps):
            self.c.error("E405", "a once-per-payee bonus has no rows to cap", parts.caps[0].span)
            return False
        return True

    # ------------------------------------------------------------ earning rules
    def rule(self, stmt: object) -> EarningRule | None:
        """The earning rule ``stmt`` states; None after an error."""
        if isinstance(stmt, ast.RateStmt):
            return self._rate(stmt)
        if isinstance(stmt, ast.TiersBlock):
            mode = stmt.mode.text
            if mode not in TIER_MODES:
                self.c.error(
                    "E206",
                    f"unknown tier kind '{mode}'",
                    stmt.mode.span,
                    did_you_mean(mode, TIER_MODES) or "write `tiers marginal` or `tiers retroactive`",
                )
                return None
            table = self.tiers.tier_table(stmt.rows, stmt.basis, TierMode(mode), stmt.span, accelerator=False)
            return None if table is None else TierRule(table)
        if isinstance(stmt, ast.CurveBlock):
            curve = self.tiers.curve(stmt)
            return None if curve is None else CurveRule(curve)
        if isinstance(stmt, ast.PayRowStmt):
            amount = self.c.exprs.check(stmt.amount, self.row_scope, (Type.MONEY,), "a payment")
            if amount is None:
                return None
            return PayPerRowRule(amount, self.c.text(stmt.amount.span), stmt.unit.text, stmt.span)
        if isinstance(stmt, ast.PayOnceStmt):
            return self._pay_once(stmt)
        self.c.error("E206", "this statement does not belong in a component", getattr(stmt, "span", None))
        return None

    def _rate(self, stmt: ast.RateStmt) -> RateRule | None:
        money_credit = self.source.credit_type is Type.MONEY
        expected = (Type.PERCENT, Type.NUMBER) if money_credit else (Type.MONEY,)
        rate = self.c.exprs.check(stmt.expr, self.row_scope, None)
        if rate is None:
            return None
        mismatch = rate_mismatch(rate, self.c.text(stmt.expr.span)) if money_credit else None
        if mismatch is not None:
            self.c.error("E301", *mismatch)
            return None
        if rate.type not in expected:
            hint = (
                "credit is money, so a rate is a percentage, e.g. `rate 8%`"
                if money_credit
                else "credit here counts units, so the rate is money per unit, e.g. `rate $50`"
            )
            self.c.error(
                "E301",
                f"a rate here must be {' or '.join(map(str, expected))}, but it is {rate.type}",
                stmt.expr.span,
                hint,
            )
            return None
        return RateRule(rate, self.c.text(stmt.expr.span), None, stmt.span)

    def _pay_once(self, stmt: ast.PayOnceStmt) -> PayOnceRule | None:
        c = self.c
        amount = constant_amount(c, self.row_scope, stmt.amount, "a bonus")
        condition = c.exprs.check(stmt.condition, self.period_scope, (Type.BOOL,), "a bonus condition")
        by = stmt.by.value if stmt.by is not None else None
        if not (by is None or isinstance(by, dt.date)):
            raise AssertionError("the grammar's `by` takes a date")
        if stmt.by is not None and by is not None and c.year_known and not self._in_plan_year(by):
            c.error("E407", f"{stmt.by.text} is outside the plan year", stmt.by.span)
            return None
        if amount is None or condition is None:
            return None
        return PayOnceRule(amount, stmt.amount.of_target, condition, c.text(stmt.condition.span), by, stmt.span)

    # ------------------------------------------------------------ modifiers
    def multiplier(self, stmt: ast.MultiplierStmt) -> MultiplierSpec | None:
        factor_ir = self.c.exprs.check(stmt.factor, self.row_scope, None)
        condition = self.c.exprs.check(stmt.condition, self.row_scope, (Type.BOOL,), "a multiplier's condition")
        if factor_ir is None or condition is None:
            return None
        factor = constant_value(factor_ir)
        if factor is None or not factor_ir.type.is_numeric:
            self.c.error("E301", "a multiplier is a fixed number such as 1.5x", stmt.factor.span)
            return None
        if factor < 0:
            self.c.error("E406", "a multiplier cannot be negative", stmt.factor.span)
            return None
        return MultiplierSpec(factor, condition, self.c.text(stmt.span), stmt.span)

    def _in_plan_year(self, day: dt.date) -> bool:
        start = self.settings.year_start
        try:
            end = start.replace(year=start.year + 1)
        except ValueError:
            end = start + dt.timedelta(days=365)
        return start <= day < end


def _keep(parts: _Parts, checked, into: list) -> None:
    """Keeps what a statement gave, or notes that it was wrong (None: already reported)."""
    if checked is None:
        parts.ok = False
    else:
        into.append(checked)
