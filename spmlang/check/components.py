"""Checking components: earning rules, tier tables, curves, multipliers, caps, gates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from spmlang.check.context import CheckContext
from spmlang.check.expressions import Scope
from spmlang.check.words import BASIS, BASIS_TEXT, CURVE_EXTENDS, ROLE_WORDS, ROW_WORDS, TIER_MODES
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.plan import (
    CapSpec,
    ComponentSpec,
    CurveRule,
    CurveSpec,
    FilterSpec,
    MultiplierSpec,
    PayOnceRule,
    PayPerRowRule,
    RateRule,
    Settings,
    SourceSpec,
    TableSpec,
    Tier,
    TierRule,
    TierTable,
)
from spmlang.syntax import ast
from spmlang.syntax.words import CAP_SCOPES, FREQUENCY_UNIT

MAX_TIERS = 1_000


class ComponentChecker:
    def __init__(self, checker: CheckContext, settings: Settings, source: SourceSpec, tables: dict[str, TableSpec]):
        self.c = checker
        self.settings = settings
        self.source = source
        self.lookups = {n: t for n, t in tables.items() if t.kind in ("lookup", "roster")}
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
        rollup_components = [c for c in components if c.role == "rollup"]
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
        c = self.c
        role = "direct"
        filters, multipliers, caps = [], [], []
        rules: list[tuple[object, Span]] = []
        accelerator = None
        gate = gate_text = gate_span = None
        ok = True
        for stmt in block.statements:
            if isinstance(stmt, ast.OnCreditStmt):
                role = ROLE_WORDS.get(stmt.role.text)
                if role is None:
                    c.error(
                        "E206",
                        f"unknown credit '{stmt.role.text}'",
                        stmt.role.span,
                        did_you_mean(stmt.role.text, ROLE_WORDS) or "write `on direct credit` or `on rollup credit`",
                    )
                    ok, role = False, "direct"
            elif isinstance(stmt, ast.WhereStmt):
                name = stmt.name.text if stmt.name else c.text(stmt.expr.span)
                expr = c.exprs.check(stmt.expr, self.row_scope, (Type.BOOL,), "a filter")
                if expr is None:
                    ok = False
                else:
                    filters.append(FilterSpec(name, expr, stmt.span))
            elif isinstance(stmt, ast.MultiplierStmt):
                multiplier = self._multiplier(stmt)
                ok = ok and multiplier is not None
                if multiplier is not None:
                    multipliers.append(multiplier)
            elif isinstance(stmt, ast.CapStmt):
                cap = self.cap(stmt, plan_level=False)
                ok = ok and cap is not None
                if cap is not None:
                    caps.append(cap)
            elif isinstance(stmt, ast.GateStmt):
                if gate_span is not None:
                    c.error(
                        "E401",
                        "a component has one gate; join conditions with 'and'",
                        stmt.span,
                        notes=((gate_span, "the first gate"),),
                    )
                    ok = False
                    continue
                gate = c.exprs.check(stmt.condition, self.period_scope, (Type.BOOL,), "a gate")
                gate_text, gate_span = c.text(stmt.condition.span), stmt.span
                ok = ok and gate is not None
            elif isinstance(stmt, ast.AcceleratorBlock):
                if accelerator is not None:
                    c.error("E401", "a component has one accelerator table", stmt.span)
                    ok = False
                    continue
                accelerator = (self._tier_table(stmt.rows, stmt.basis, "marginal", stmt.span, accelerator=True), stmt)
            else:
                rule = self._rule(stmt)
                if rule is False:
                    ok = False
                elif rule is not None:
                    rules.append((rule, stmt.span))
        if not rules:
            if ok:
                c.error(
                    "E404",
                    f"component '{block.name.text}' pays nothing: it has no earning rule",
                    block.name.span,
                    "add one of: `rate 8%`, `tiers marginal on attainment { ... }`, `curve on attainment { ... }`,"
                    " `pay $500 per deal`, `pay $5,000 once when attainment >= 100%`",
                )
            return None
        if len(rules) > 1:
            c.error(
                "E405",
                f"component '{block.name.text}' has two earning rules",
                rules[1][1],
                "split it into two components",
                notes=((rules[0][1], "the first earning rule"),),
            )
            return None
        rule = rules[0][0]
        if accelerator is not None:
            table, stmt = accelerator
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
        if isinstance(rule, PayOnceRule) and (multipliers or filters):
            span = (multipliers or filters)[0].span
            c.error(
                "E405",
                "a once-per-payee bonus has no rows to filter or multiply",
                span,
                "put the condition in `pay ... once when ...`",
            )
            return None
        if isinstance(rule, PayOnceRule) and any(cap.scope == "row" for cap in caps):
            c.error("E405", "a once-per-payee bonus has no rows to cap", caps[0].span)
            return None
        if not ok:
            return None
        return ComponentSpec(
            block.name.text,
            block.kind.text,
            index,
            role,
            tuple(filters),
            rule,
            tuple(multipliers),
            tuple(caps),
            gate,
            gate_text,
            gate_span,
            block.span,
        )

    # ------------------------------------------------------------ earning rules
    def _rule(self, stmt):
        c = self.c
        money_credit = self.source.credit_type is Type.MONEY
        if isinstance(stmt, ast.RateStmt):
            expected = (Type.PERCENT, Type.NUMBER) if money_credit else (Type.MONEY,)
            rate = c.exprs.check(stmt.expr, self.row_scope, None)
            if rate is None:
                return False
            if rate.type not in expected:
                hint = (
                    "credit is money, so a rate is a percentage, e.g. `rate 8%`"
                    if money_credit
                    else "credit here counts units, so the rate is money per unit, e.g. `rate $50`"
                )
                c.error(
                    "E301",
                    f"a rate here must be {' or '.join(map(str, expected))}, but it is {rate.type}",
                    stmt.expr.span,
                    hint,
                )
                return False
            return RateRule(rate, c.text(stmt.expr.span), None, stmt.span)
        if isinstance(stmt, ast.TiersBlock):
            mode = stmt.mode.text
            if mode not in TIER_MODES:
                c.error(
                    "E206",
                    f"unknown tier kind '{mode}'",
                    stmt.mode.span,
                    did_you_mean(mode, TIER_MODES) or "write `tiers marginal` or `tiers retroactive`",
                )
                return False
            table = self._tier_table(stmt.rows, stmt.basis, mode, stmt.span, accelerator=False)
            return False if table is None else TierRule(table)
        if isinstance(stmt, ast.CurveBlock):
            curve = self._curve(stmt)
            return False if curve is None else CurveRule(curve)
        if isinstance(stmt, ast.PayRowStmt):
            amount = c.exprs.check(stmt.amount, self.row_scope, (Type.MONEY,), "a payment")
            if amount is None:
                return False
            return PayPerRowRule(amount, c.text(stmt.amount.span), stmt.unit.text, stmt.span)
        if isinstance(stmt, ast.PayOnceStmt):
            amount = self._constant_amount(stmt.amount, "a bonus")
            condition = c.exprs.check(stmt.condition, self.period_scope, (Type.BOOL,), "a bonus condition")
            by = stmt.by.value if stmt.by is not None else None
            if by is not None and self.c.year_known and not self._in_plan_year(by):
                c.error("E407", f"{stmt.by.text} is outside the plan year", stmt.by.span)
                return False
            if amount is None or condition is None:
                return False
            return PayOnceRule(amount, stmt.amount.of_target, condition, c.text(stmt.condition.span), by, stmt.span)
        self.c.error("E206", "this statement does not belong in a component", getattr(stmt, "span", None))
        return False

    def _basis(self, words: tuple[ast.Name, ...], allowed: tuple[str, ...], what: str) -> str | None:
        """The basis ``words`` name, if ``what`` (tiers, an accelerator, a curve) may be on it."""
        key = tuple(w.text for w in words)
        basis = BASIS.get(key)
        if basis in allowed:
            return basis
        span = Span(
            words[0].span.path,
            words[0].span.line,
            words[0].span.column,
            words[-1].span.end_line,
            words[-1].span.end_column,
        )
        shown = " or ".join(f"`on {BASIS_TEXT[a]}`" for a in allowed)
        if basis == "row":  # a basis, but not one an accumulated table can have: never suggest another meaning
            self.c.error(
                "E206",
                f"{what} cannot be on row credit",
                span,
                f"an accelerator grows the rate with the accumulated measure: write {shown}; for rates by "
                "each row's own size, write `tiers marginal on row credit { ... }`",
            )
            return None
        suggestion = _basis_suggestion(key)
        hint = f"did you mean '{BASIS_TEXT[suggestion]}'? " if suggestion in allowed else ""
        self.c.error("E206", f"cannot measure on '{' '.join(key)}' here", span, f"{hint}write {shown}")
        return None

    def _bound_kind(self, basis: str) -> str:
        if basis == "attainment":
            return "percent"
        return "money" if self.source.credit_type is Type.MONEY else "number"

    def _check_bound(self, bound: ast.Bound, basis: str) -> bool:
        if too_large(bound.value):
            self.c.error("E312", f"{bound.text} is too large to hold", bound.span, too_large_hint())
            return False
        kind = self._bound_kind(basis)
        if bound.kind != kind:
            example = {"percent": "50%", "money": "$10,000", "number": "10"}[kind]
            what = "attainment" if basis == "attainment" else "credit"
            self.c.error(
                "E301", f"{bound.text} is {bound.kind}, but {what} bounds are {kind}: write e.g. {example}", bound.span
            )
            return False
        return True

    def _tier_table(
        self, rows: tuple[ast.TierRow, ...], basis_words, mode: str, span: Span, accelerator: bool
    ) -> TierTable | None:
        c = self.c
        allowed = ("attainment", "credit") if accelerator else ("attainment", "credit", "row")
        basis = self._basis(basis_words, allowed, "an accelerator" if accelerator else "tiers")
        if basis is None:
            return None
        if not rows:
            c.error("E406", "the tier table is empty", span)
            return None
        if len(rows) > MAX_TIERS:
            c.error(
                "E410",
                f"the tier table has {len(rows):,} tiers; a table holds at most {MAX_TIERS:,}",
                span,
                "a comp plan has a handful of tiers; a schedule this long belongs in a lookup table",
            )
            return None
        money_credit = self.source.credit_type is Type.MONEY
        rate_kind = "multiplier" if accelerator else ("rate" if money_credit else "money")
        tiers, ok = [], True
        for i, row in enumerate(rows):
            ok = self._check_bound(row.low, basis) and ok
            if row.high is not None:
                ok = self._check_bound(row.high, basis) and ok
            value = self._tier_value(row, rate_kind)
            if value is None:
                ok = False
                continue
            if row.high is not None and row.high.value <= row.low.value:
                c.error(
                    "E406",
                    f"tier {row.low.text} .. {row.high.text} is empty or backwards",
                    row.span,
                    "write the lower bound first",
                )
                ok = False
            if i == 0 and row.low.value != 0:
                c.error(
                    "E406",
                    f"the first tier starts at {row.low.text}, not at 0",
                    row.low.span,
                    "tiers cover everything from 0 up: start the first at 0 (a threshold is a tier at rate 0%)",
                )
                ok = False
            if i > 0:
                previous = rows[i - 1]
                if previous.high is None:
                    c.error(
                        "E406",
                        "only the last tier can be open-ended",
                        previous.span,
                        f"give it an upper bound: {previous.low.text} .. {row.low.text}",
                    )
                    ok = False
                elif previous.high.value < row.low.value:
                    c.error(
                        "E406",
                        f"gap between tiers: nothing covers {previous.high.text} to {row.low.text}",
                        row.low.span,
                        f"start this tier at {previous.high.text}",
                        notes=((previous.span, "the tier before"),),
                    )
                    ok = False
                elif previous.high.value > row.low.value:
                    c.error(
                        "E406",
                        f"tiers overlap: {row.low.text} is below the previous tier's end {previous.high.text}",
                        row.low.span,
                        f"start this tier at {previous.high.text}",
                        notes=((previous.span, "the tier before"),),
                    )
                    ok = False
            if ok:
                label = f"{row.low.text}–{row.high.text}" if row.high is not None else f"{row.low.text}+"
                tiers.append(Tier(row.low.value, row.high.value if row.high else None, value, label, row.span))
        if ok and rows[-1].high is not None:
            c.error(
                "E406",
                f"the last tier ends at {rows[-1].high.text}: what is paid above it?",
                rows[-1].span,
                f"make it open-ended ({rows[-1].low.text} ..) and use a cap to limit pay",
            )
            ok = False
        return TierTable(mode, basis, tuple(tiers), rate_kind, span) if ok else None

    def _tier_value(self, row: ast.TierRow, rate_kind: str) -> Decimal | None:
        c = self.c
        if rate_kind == "multiplier":
            if row.multiplier is None:
                c.error("E301", "an accelerator tier gives a multiplier of the component's rate, e.g. 1.5x", row.span)
                return None
            return row.multiplier.value
        if row.rate is None:
            c.error(
                "E301",
                "a tier pays a rate: write `rate 8%`",
                row.span,
                "multipliers such as 1.5x belong in an `accelerator` table",
            )
            return None
        rate = c.exprs.check(row.rate, self.row_scope, None)
        if rate is None:
            return None
        expected = (Type.PERCENT, Type.NUMBER) if rate_kind == "rate" else (Type.MONEY,)
        value = constant_value(rate)
        if rate.type not in expected or value is None:
            example = "8%" if rate_kind == "rate" else "$50"
            c.error(
                "E301",
                f"a tier rate is a fixed {' or '.join(map(str, expected))}, e.g. `rate {example}`",
                row.rate.span,
            )
            return None
        if value < 0:
            c.error("E406", "a tier rate cannot be negative", row.rate.span)
            return None
        return value

    def _curve(self, block: ast.CurveBlock) -> CurveSpec | None:
        c = self.c
        basis = self._basis(block.basis, ("attainment", "credit", "row"), "a curve")
        if basis is None:
            return None
        if len(block.points) > MAX_TIERS:
            c.error(
                "E410", f"the curve has {len(block.points):,} points; a curve holds at most {MAX_TIERS:,}", block.span
            )
            return None
        if len(block.points) < 2:
            c.error(
                "E407",
                "a payout curve needs at least two points",
                block.span,
                "e.g. 50% -> 25% of target, 100% -> 100% of target",
            )
            return None
        xs, ys, ok = [], [], True
        of_target = block.points[0].y.of_target
        if basis == "row" and of_target:
            c.error(
                "E407",
                "a curve on row credit pays an amount of money for each row, not % of target",
                block.points[0].y.span,
                "write money, e.g. $10,000 -> $500; a share of the target incentive "
                "is paid by a curve on attainment or on credit",
            )
            return None
        for i, point in enumerate(block.points):
            ok = self._check_bound(point.x, basis) and ok
            if point.y.of_target != of_target:
                c.error(
                    "E407",
                    "mix of money and % of target in one curve",
                    point.y.span,
                    "give every point the same kind of payout",
                )
                ok = False
                continue
            y = self._constant_amount(point.y, "a curve point")
            if y is None:
                ok = False
                continue
            if i > 0 and point.x.value <= block.points[i - 1].x.value:
                c.error(
                    "E407",
                    f"curve points must increase: {point.x.text} comes after {block.points[i - 1].x.text}",
                    point.x.span,
                    notes=((block.points[i - 1].span, "the point before"),),
                )
                ok = False
            xs.append(point.x.value)
            ys.append(y)
        extend_below = extend_above = False
        for word in block.extends:
            if word.text == "below":
                extend_below = True
            elif word.text == "above":
                extend_above = True
            else:
                c.error(
                    "E206",
                    f"a curve extends 'above' or 'below', not '{word.text}'",
                    word.span,
                    did_you_mean(word.text, CURVE_EXTENDS),
                )
                ok = False
        if not ok:
            return None
        return CurveSpec(basis, tuple(xs), tuple(ys), of_target, extend_below, extend_above, block.span)

    # ------------------------------------------------------------ modifiers
    def _multiplier(self, stmt: ast.MultiplierStmt) -> MultiplierSpec | None:
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

    def cap(
        self,
        stmt: ast.CapStmt,
        plan_level: bool,
        components: tuple[ComponentSpec, ...] = (),
        names: tuple[str, ...] = (),
    ) -> CapSpec | None:
        """A cap. A plan cap may say what it covers (``for``): the ``components`` checked, of all those named
        ``names`` in the plan."""
        c = self.c
        word = stmt.per.text
        unit = FREQUENCY_UNIT[self.settings.frequency]
        scope = CAP_SCOPES.get(word)
        if scope is None and word == unit:
            scope = "period" if unit != "year" else "year"
        if scope is None:
            if word in ("month", "quarter", "half"):
                c.error(
                    "E407",
                    f"this plan pays {self.settings.frequency.replace('_', ' ')}: a cap per {word} does "
                    "not line up with its periods",
                    stmt.per.span,
                    f"use `per {unit}` (a period) or `per year`",
                )
            else:
                c.error(
                    "E206",
                    f"unknown cap scope '{word}'",
                    stmt.per.span,
                    did_you_mean(word, CAP_SCOPES) or "write `per row`, `per period` or `per year`",
                )
            return None
        if plan_level and scope == "row":
            c.error("E407", "a plan-wide cap applies per period or per year, not per row", stmt.per.span)
            return None
        amount = self._constant_amount(stmt.amount, "a cap")
        if amount is None:
            return None
        if amount <= 0:
            c.error("E408", "a cap must be more than zero", stmt.amount.span)
            return None
        covered = self._covers(stmt.covers, plan_level, components, names)
        if covered is None:
            return None
        return CapSpec(amount, stmt.amount.of_target, scope, c.text(stmt.span), stmt.span, *covered)

    def _covers(
        self,
        covers: tuple[ast.CapCover, ...],
        plan_level: bool,
        components: tuple[ComponentSpec, ...],
        names: tuple[str, ...],
    ) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The components and roles a cap's ``for`` names (none: every line), or None after an error."""
        c = self.c
        if covers and not plan_level:
            span = Span(
                covers[0].span.path,
                covers[0].span.line,
                covers[0].span.column,
                covers[-1].span.end_line,
                covers[-1].span.end_column,
            )
            c.error(
                "E407",
                "a component's cap covers that component's lines: it takes no `for`",
                span,
                "a cap outside components may say what it covers: `cap $250,000 per year for commission`",
            )
            return None
        chosen, roles, ok = [], [], True
        for cover in covers:
            word = cover.name.text
            if cover.credit:
                role = ROLE_WORDS.get(word)
                if role is None:
                    hint = did_you_mean(word, ROLE_WORDS)
                    if hint is None:
                        hint = "write `for direct credit` or `for rollup credit`" + (
                            f"; '{word}' is a component: write `for {word}`" if word in names else ""
                        )
                    c.error("E206", f"unknown credit '{word}'", cover.name.span, hint)
                    ok = False
                elif role == "rollup" and not self.source.rollup:
                    c.error(
                        "E406",
                        "the cap covers rollup credit, but credit does not roll up",
                        cover.span,
                        "add `rollup to manager` to the transactions block, or write `for direct credit`",
                    )
                    ok = False
                elif role not in roles:
                    roles.append(role)
            elif word not in names:
                hint = did_you_mean(word, names)
                if hint is None and word in ROLE_WORDS:
                    hint = f"for the lines on {ROLE_WORDS[word]} credit, write `for {word} credit`"
                c.error(
                    "E201",
                    f"unknown component '{word}' in what the cap covers",
                    cover.name.span,
                    hint or "the plan's components are: " + ", ".join(names),
                )
                ok = False
            elif word not in chosen:
                chosen.append(word)
        known = {component.name for component in components}
        return (tuple(n for n in chosen if n in known), tuple(roles)) if ok else None

    def _constant_amount(self, amount: ast.Amount, what: str) -> Decimal | None:
        c = self.c
        value_ir = c.exprs.check(amount.expr, self.row_scope, None)
        if value_ir is None:
            return None
        value = constant_value(value_ir)
        if amount.of_target:
            if value is None or value_ir.type is not Type.PERCENT:
                c.error("E301", f"{what} in % of target is a fixed percentage, e.g. 150% of target", amount.expr.span)
                return None
            return value
        if value is None or value_ir.type is not Type.MONEY:
            c.error(
                "E301",
                f"{what} is a fixed amount of money, e.g. $5,000, or a percentage of target",
                amount.expr.span,
                "write `150% of target` for a share of the target incentive",
            )
            return None
        if too_large(value):
            c.error("E312", f"{what} of {value:,} is too large to hold", amount.expr.span, too_large_hint())
            return None
        return value

    def _in_plan_year(self, day: dt.date) -> bool:
        start = self.settings.year_start
        try:
            end = start.replace(year=start.year + 1)
        except ValueError:
            end = start + dt.timedelta(days=365)
        return start <= day < end


def _basis_suggestion(key: tuple[str, ...]) -> str | None:
    """The basis ``key`` misspells, word by word (`row credt`, `atainment`, `deal credit`), if any. A basis of
    another number of words is never suggested: `total credit` is not a misspelt `credit`, nor `row credit`."""
    for basis, text in BASIS_TEXT.items():
        words = text.split()
        if len(words) != len(key):
            continue
        if all(
            word == want or (word in ROW_WORDS if want == "row" else did_you_mean(word, (want,)))
            for word, want in zip(key, words, strict=True)
        ):
            return basis
    return None
