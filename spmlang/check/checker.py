"""Stage 2: syntax tree to checked plan.

The checker resolves every name, checks every type and validates the
structures (tier tables, curves, caps) a comp analyst can get wrong. It never
stops at the first problem: all of a file's errors come back together in one
:class:`PlanError`, sorted by position.

This module checks the file as a whole (one plan block, one transactions block, components) and hands each
part to its own module: ``settings`` (the plan block), ``transactions``, ``tables``, ``components``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from spmlang.check.components import ComponentChecker
from spmlang.check.context import CheckContext
from spmlang.check.cycle import check_draw, recalculated_within_one_period
from spmlang.check.refunds import minimums_paid_on_refunds
from spmlang.check.settings import check_settings
from spmlang.check.tables import TableChecker
from spmlang.check.transactions import check_transactions
from spmlang.check.units import currency_sign_hint, currency_sign_mismatches
from spmlang.diagnostics import PlanError, Span
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import ClawbackMode, Conversion, TableKind
from spmlang.ir.plan import (
    CapSpec,
    CheckedPlan,
    ComponentSpec,
    Settings,
    SourceSpec,
    TableSpec,
    component_needs_targets,
    components_need_quotas,
)
from spmlang.ir.tables import implicit_table
from spmlang.syntax import ast


class Checker:
    """Checks one parsed plan file. Use :func:`check_plan`."""

    def __init__(self, plan_file: ast.PlanFile):
        self.file = plan_file
        self.c = CheckContext(plan_file)

    def check(self) -> CheckedPlan:
        c = self.c
        items = self.file.items
        plans = [i for i in items if isinstance(i, ast.PlanBlock)]
        sources = [i for i in items if isinstance(i, ast.TransactionsBlock)]
        table_blocks = [i for i in items if isinstance(i, ast.TableBlock)]
        component_blocks = [i for i in items if isinstance(i, ast.ComponentBlock)]
        cap_stmts = [i for i in items if isinstance(i, ast.CapStmt)]
        draw_blocks = [i for i in items if isinstance(i, ast.DrawBlock)]
        start = Span(self.file.path, 1, 1, 1, 2)

        tests = [i for i in items if isinstance(i, ast.TestBlock)]
        if tests and not plans and not sources:  # a test file given where its plan is wanted
            path = self.file.path
            hint = (
                f"give the plan they test ({path[: -len('.test.spm')]}.spm); `spm test {path}` runs the tests"
                if path.endswith(".test.spm")
                else "tests go in the plan's file, or in a file beside it named after it: PLAN.test.spm"
            )
            c.error("E402", "this file holds tests, not a plan", tests[0].span, hint)
            raise PlanError(c.diagnostics, {path: self.file.source})

        settings = None
        if not plans:
            c.error(
                "E402",
                "the file has no plan block",
                start,
                'start the file with: plan "Name" { year starts 2027-01-01  payout quarterly }',
            )
        else:
            for extra in plans[1:]:
                c.error(
                    "E401",
                    "a file holds one plan; this is a second plan block",
                    extra.span,
                    notes=((plans[0].span, "the first plan block"),),
                )
            settings = check_settings(c, plans[0])
            for written, where in currency_sign_mismatches(items, settings.currency):
                c.warn(
                    "W104",
                    f"{written} is written with another currency's sign: amounts are in {settings.currency}",
                    where,
                    currency_sign_hint(written, settings.currency),
                )

        # Lookup tables and the roster first: the credit may look things up. Quotas
        # and targets after the transactions: their unit is the credit's.
        tables = TableChecker(c).check_all([b for b in table_blocks if b.kind.text in ("table", "roster")], {})

        source = None
        if not sources:
            c.error(
                "E402",
                "the plan has no transactions block",
                start,
                "add: transactions { key ID  date DATE  payee REP  credit AMOUNT  column ... }",
            )
        else:
            for extra_source in sources[1:]:
                c.error(
                    "E401",
                    "a plan has one transactions block; this is a second one",
                    extra_source.span,
                    notes=((sources[0].span, "the first transactions block"),),
                )
            source = check_transactions(c, sources[0], tables)
        quota_type = Type.NUMBER if source is not None and source.credit_type is Type.NUMBER else Type.MONEY
        TableChecker(c, quota_type).check_all([b for b in table_blocks if b.kind.text in ("quotas", "targets")], tables)
        # The fx table's shape follows the transactions': no dates where they convert at fixed rates.
        fixed = source is not None and source.currency is not None and source.currency.conversion is Conversion.FIXED
        TableChecker(c, fixed_rates=fixed).check_all([b for b in table_blocks if b.kind.text == "fx"], tables)

        components: tuple[ComponentSpec, ...] = ()
        draw = None
        plan_caps: tuple[CapSpec, ...] = ()
        if settings is not None and source is not None:
            checker = ComponentChecker(c, settings, source, tables)
            components = checker.check_all(component_blocks)
            names = tuple(dict.fromkeys(b.name.text for b in component_blocks))
            plan_caps = tuple(
                cap
                for cap in (checker.caps.cap(s, plan_level=True, components=components, names=names) for s in cap_stmts)
                if cap is not None
            )
            if not component_blocks:
                c.error(
                    "E402",
                    "the plan has no components: nothing would be paid",
                    start,
                    "add one, e.g. component commission { rate 8% }",
                )
            draw = check_draw(c, draw_blocks, settings)
            if settings.clawback is not None and settings.clawback.span is not None and source.cancelled is None:
                c.error(
                    "E403",
                    "a clawback needs to know when a transaction was cancelled",
                    settings.clawback.span,
                    "add `cancelled DATE_COLUMN` to the transactions block",
                )
            if source.cancelled is not None:
                _no_recalculated_versions(c, components, settings)
                recalculated_within_one_period(c, components, plan_caps, settings)
            self._implicit_tables(components, plan_caps, source, tables)
            c.diagnostics.extend(minimums_paid_on_refunds(components, source, c.text))

        errors = [d for d in c.diagnostics if d.is_error]
        c.diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        if errors:
            raise PlanError(c.diagnostics, {self.file.path: self.file.source})
        assert settings is not None and source is not None  # each is None only after an error
        digest = hashlib.sha256(self.file.source.replace("\r\n", "\n").encode("utf-8")).hexdigest()
        return CheckedPlan(
            path=self.file.path,
            source=self.file.source,
            sha256=digest,
            settings=settings,
            transactions=source,
            tables=tables,
            components=components,
            plan_caps=plan_caps,
            draw=draw,
            warnings=tuple(d for d in c.diagnostics if not d.is_error),
        )

    def _implicit_tables(self, components, plan_caps, source: SourceSpec, tables: dict) -> None:
        """Quotas, targets and roster may be given only on the command line: give them their usual shape."""
        c = self.c
        needs_quotas = components_need_quotas(components)
        needs_targets = any(cap.of_target for cap in plan_caps) or any(component_needs_targets(x) for x in components)
        needs_roster = source.rollup
        roster = tables.get(TableKind.ROSTER)
        paid_in_currencies = roster is not None and "currency" in roster.roles
        needs_fx = source.currency is not None or paid_in_currencies
        quota_type = Type.MONEY if source.credit_type is Type.MONEY else Type.NUMBER
        for kind, needed in (
            (TableKind.QUOTAS, needs_quotas),
            (TableKind.TARGETS, needs_targets),
            (TableKind.ROSTER, needs_roster),
            (TableKind.FX, needs_fx),
        ):
            if needed and kind not in tables:
                table = implicit_table(kind, quota_type, Span(self.file.path, 1, 1, 1, 2))
                if kind is TableKind.FX and source.currency and source.currency.conversion is Conversion.FIXED:
                    table = _without_dates(table)
                tables[kind] = table
        if TableKind.FX in tables and not needs_fx:
            c.warn(
                "W101",
                "the fx table is never used",
                tables[TableKind.FX].span,
                "say which column holds each transaction's currency (`currency COLUMN` in the transactions "
                "block), or which currency each payee is paid in (`currency COLUMN` in the roster)",
            )
        quotas = tables.get("quotas")
        if quotas is not None:
            amount = quotas.columns.get(quotas.roles["amount"])
            if (
                amount is not None
                and amount.type is not quota_type
                and not (quota_type is Type.NUMBER and amount.type.is_numeric)
            ):
                c.error(
                    "E301",
                    f"quotas are {amount.type}, but credit is {source.credit_type}",
                    amount.span,
                    "quota and credit must be in the same unit to give an attainment",
                )
        if c.has_errors:
            return  # expressions that failed to check may be the ones using a table
        for name, table in tables.items():
            if table.kind is TableKind.LOOKUP and not self._table_used(name, source, components):
                c.warn("W101", f"table '{name}' is never used", table.span)

    def _table_used(self, name: str, source: SourceSpec, components) -> bool:
        exprs = [source.credit, *(f.expr for f in source.filters), *(p.share for p in source.payees if p.share)]
        for component in (version for c in components for version in c.in_versions()):
            exprs.extend(f.expr for f in component.filters)
            exprs.extend(m.condition for m in component.multipliers)
            rule = component.rule
            for attr in ("rate", "amount"):
                value = getattr(rule, attr, None)
                if isinstance(
                    value,
                    (ir.Const, ir.Column, ir.Builtin, ir.Arith, ir.Negate, ir.TableLookup, ir.Function, ir.Choose),
                ):
                    exprs.append(value)
        return any(name in ir.tables_used(e) for e in exprs)


def _without_dates(table: TableSpec) -> TableSpec:
    """An implicit fx table of one rate per currency (the plan converts at fixed rates)."""
    roles = {role: column for role, column in table.roles.items() if role != "date"}
    columns = {name: spec for name, spec in table.columns.items() if name != table.roles["date"]}
    return replace(table, roles=roles, columns=columns)


def check_plan(plan_file: ast.PlanFile) -> CheckedPlan:
    """Check a parsed plan. Raises :class:`PlanError` with every error of the file."""
    return Checker(plan_file).check()


def _no_recalculated_versions(c: CheckContext, components: tuple[ComponentSpec, ...], settings: Settings) -> None:
    """Re-pricing the year without a cancelled transaction telescopes only under one rule: across a version's
    date it would re-price the later rows under the cancelled one's version, not their own. Until that is
    exact, a component with versions claws back as paid or at its rate."""
    for component in components:
        way = component.clawback or settings.clawback
        if component.versions and way is not None and way.mode is ClawbackMode.RECALCULATE:
            c.error(
                "E412",
                f"'{component.name}' has dated versions and claws back by recalculating the year: spm cannot yet "
                "re-price the year without a cancelled transaction across a change of rule",
                way.span or component.span,
                f"give '{component.name}' its own `clawback as_paid` or `clawback at_rate`",
            )
