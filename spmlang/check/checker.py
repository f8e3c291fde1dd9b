"""Stage 2: syntax tree to checked plan.

The checker resolves every name, checks every type and validates the
structures (tier tables, curves, caps) a comp analyst can get wrong. It never
stops at the first problem: all of a file's errors come back together in one
:class:`PlanError`, sorted by position.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from spmlang.check.components import ComponentChecker
from spmlang.check.expressions import ExpressionChecker, Scope
from spmlang.check.refunds import minimums_paid_on_refunds
from spmlang.check.tables import TableChecker
from spmlang.diagnostics import Diagnostic, PlanError, Span, did_you_mean
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import COLUMN_TYPES, Type
from spmlang.ir.plan import (
    POLICY_ACTIONS,
    POLICY_SUBJECTS,
    CheckedPlan,
    ColumnSpec,
    FilterSpec,
    PayeeSpec,
    Settings,
    SourceSpec,
    component_needs_targets,
    components_need_quotas,
)
from spmlang.ir.tables import implicit_table
from spmlang.syntax import ast

FREQUENCY_WORDS = {
    "monthly": "monthly",
    "month": "monthly",
    "quarterly": "quarterly",
    "quarter": "quarterly",
    "half_yearly": "half_yearly",
    "half": "half_yearly",
    "semiannual": "half_yearly",
    "semiannually": "half_yearly",
    "yearly": "yearly",
    "year": "yearly",
    "annual": "yearly",
    "annually": "yearly",
}
MEASURE_WORDS = {
    "year_to_date": "year_to_date",
    "ytd": "year_to_date",
    "period_to_date": "period_to_date",
    "ptd": "period_to_date",
}
BASIS_WORDS = {"to_date": "to_date", "quota_to_date": "to_date", "annual": "annual", "period": "period"}
TYPE_ALIASES = {
    "string": "text",
    "int": "integer",
    "decimal": "number",
    "float": "number",
    "boolean": "bool",
    "currency": "money",
}
NUMBER_FORMATS = ("1234.56", "1,234.56", "1234,56", "1.234,56", "1 234,56", "1 234.56", "1'234.56")


class Checker:
    """Checks one parsed plan file. Use :func:`check_plan`."""

    def __init__(self, plan_file: ast.PlanFile):
        self.file = plan_file
        self.diagnostics: list[Diagnostic] = []
        self.exprs = ExpressionChecker(self.diagnostics, self)
        self._lines = plan_file.source.splitlines()
        self.year_known = False
        # Columns whose declaration failed: already reported, so later uses stay quiet.
        self.broken_columns: set[str] = set()

    # ------------------------------------------------------------ helpers
    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        hint: str | None = None,
        notes: tuple[tuple[Span, str], ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, "error", notes))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, "warning"))

    def text(self, span: Span) -> str:
        """The source text of a span, on one line."""
        if span.line == span.end_line:
            return self._lines[span.line - 1][span.column - 1 : span.end_column - 1]
        parts = [self._lines[span.line - 1][span.column - 1 :]]
        parts.extend(self._lines[span.line : span.end_line - 1])
        parts.append(self._lines[span.end_line - 1][: span.end_column - 1])
        return " ".join(p.strip() for p in parts)

    def column_type(self, name: ast.Name) -> Type | None:
        word = TYPE_ALIASES.get(name.text, name.text)
        if word in COLUMN_TYPES:
            return COLUMN_TYPES[word]
        hint = did_you_mean(name.text, COLUMN_TYPES) or "types: " + ", ".join(COLUMN_TYPES)
        self.error("E206", f"unknown column type '{name.text}'", name.span, hint)
        return None

    def column_spec(self, stmt: ast.ColumnStmt) -> ColumnSpec | None:
        column_type = self.column_type(stmt.type)
        if column_type is None:
            self.broken_columns.add(stmt.name.text)
            return None
        fmt = stmt.format.value if stmt.format is not None else None
        if fmt is not None:
            if column_type is Type.DATE:
                if not _valid_date_format(fmt):
                    self.error(
                        "E208",
                        f"'{fmt}' is not a date format",
                        stmt.format.span,
                        'use strftime codes, e.g. "%d-%m-%y" for 01-03-17 or "%Y-%m-%d" for 2017-03-01',
                    )
                    self.broken_columns.add(stmt.name.text)
                    return None
            elif column_type in (Type.MONEY, Type.NUMBER, Type.INTEGER, Type.PERCENT):
                if fmt not in NUMBER_FORMATS:
                    self.error(
                        "E208",
                        f"'{fmt}' is not a number format",
                        stmt.format.span,
                        "number formats show how 1234.56 is written: " + ", ".join(f'"{f}"' for f in NUMBER_FORMATS),
                    )
                    self.broken_columns.add(stmt.name.text)
                    return None
            else:
                self.error("E208", f"a {column_type} column takes no format", stmt.format.span)
                return None
        return ColumnSpec(stmt.name.text, column_type, fmt, stmt.span)

    # ------------------------------------------------------------ the file
    def check(self) -> CheckedPlan:
        items = self.file.items
        plans = [i for i in items if isinstance(i, ast.PlanBlock)]
        sources = [i for i in items if isinstance(i, ast.TransactionsBlock)]
        table_blocks = [i for i in items if isinstance(i, ast.TableBlock)]
        component_blocks = [i for i in items if isinstance(i, ast.ComponentBlock)]
        cap_stmts = [i for i in items if isinstance(i, ast.CapStmt)]
        start = Span(self.file.path, 1, 1, 1, 2)

        settings = None
        if not plans:
            self.error(
                "E402",
                "the file has no plan block",
                start,
                'start the file with: plan "Name" { year starts 2027-01-01  payout quarterly }',
            )
        else:
            for extra in plans[1:]:
                self.error(
                    "E401",
                    "a file holds one plan; this is a second plan block",
                    extra.span,
                    notes=((plans[0].span, "the first plan block"),),
                )
            settings = self._settings(plans[0])

        # Lookup tables and the roster first: the credit may look things up. Quotas
        # and targets after the transactions: their unit is the credit's.
        tables = TableChecker(self).check_all([b for b in table_blocks if b.kind.text in ("table", "roster")], {})

        source = None
        if not sources:
            self.error(
                "E402",
                "the plan has no transactions block",
                start,
                "add: transactions { key ID  date DATE  payee REP  credit AMOUNT  column ... }",
            )
        else:
            for extra in sources[1:]:
                self.error(
                    "E401",
                    "a plan has one transactions block; this is a second one",
                    extra.span,
                    notes=((sources[0].span, "the first transactions block"),),
                )
            source = self._transactions(sources[0], tables)
        quota_type = Type.NUMBER if source is not None and source.credit_type is Type.NUMBER else Type.MONEY
        TableChecker(self, quota_type).check_all(
            [b for b in table_blocks if b.kind.text in ("quotas", "targets")], tables
        )

        components = ()
        plan_caps = ()
        if settings is not None and source is not None:
            checker = ComponentChecker(self, settings, source, tables)
            components = checker.check_all(component_blocks)
            names = tuple(dict.fromkeys(b.name.text for b in component_blocks))
            plan_caps = tuple(
                c
                for c in (checker.cap(s, plan_level=True, components=components, names=names) for s in cap_stmts)
                if c is not None
            )
            if not component_blocks:
                self.error(
                    "E402",
                    "the plan has no components: nothing would be paid",
                    start,
                    "add one, e.g. component commission { rate 8% }",
                )
            self._implicit_tables(components, plan_caps, source, tables)
            self.diagnostics.extend(minimums_paid_on_refunds(components, source, self.text))

        errors = [d for d in self.diagnostics if d.is_error]
        self.diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        if errors:
            raise PlanError(self.diagnostics, {self.file.path: self.file.source})
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
            warnings=tuple(d for d in self.diagnostics if not d.is_error),
        )

    def _implicit_tables(self, components, plan_caps, source: SourceSpec, tables: dict) -> None:
        """Quotas, targets and roster may be given only on the command line: give them their usual shape."""
        needs_quotas = components_need_quotas(components)
        needs_targets = any(c.of_target for c in plan_caps) or any(component_needs_targets(c) for c in components)
        needs_roster = source.rollup
        quota_type = Type.MONEY if source.credit_type is Type.MONEY else Type.NUMBER
        for kind, needed in (("quotas", needs_quotas), ("targets", needs_targets), ("roster", needs_roster)):
            if needed and kind not in tables:
                tables[kind] = implicit_table(kind, quota_type, Span(self.file.path, 1, 1, 1, 2))
        quotas = tables.get("quotas")
        if quotas is not None:
            amount = quotas.columns.get(quotas.roles["amount"])
            if (
                amount is not None
                and amount.type is not quota_type
                and not (quota_type is Type.NUMBER and amount.type.is_numeric)
            ):
                self.error(
                    "E301",
                    f"quotas are {amount.type}, but credit is {source.credit_type}",
                    amount.span,
                    "quota and credit must be in the same unit to give an attainment",
                )
        if any(d.is_error for d in self.diagnostics):
            return  # expressions that failed to check may be the ones using a table
        for name, table in tables.items():
            if table.kind == "lookup" and not self._table_used(name, source, components):
                self.warn("W101", f"table '{name}' is never used", table.span)

    def _table_used(self, name: str, source: SourceSpec, components) -> bool:
        exprs = [source.credit, *(f.expr for f in source.filters), *(p.share for p in source.payees if p.share)]
        for component in components:
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

    # ------------------------------------------------------------ plan header
    def _settings(self, block: ast.PlanBlock) -> Settings:
        by_key: dict[str, ast.Setting] = {}
        for setting in block.settings:
            if setting.key in by_key:
                self.error(
                    "E401",
                    f"'{setting.key}' is set twice",
                    setting.span,
                    notes=((by_key[setting.key].span, "first set here"),),
                )
                continue
            by_key[setting.key] = setting
        name = str(block.name.value).strip()
        if not name:
            self.error("E403", "the plan needs a name", block.name.span)
        version = str(by_key["version"].values[0].value) if "version" in by_key else "1"

        currency = "USD"
        if "currency" in by_key:
            word = by_key["currency"].values[0]
            currency = word.text
            if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
                self.error(
                    "E206",
                    f"'{currency}' is not a currency code",
                    word.span,
                    "use a three-letter ISO code such as USD, EUR, GBP",
                )

        year_start = None
        if "year" not in by_key:
            self.error(
                "E403",
                "the plan has no plan year",
                block.span,
                "add `year starts 2027-01-01` (the first day of the plan year) to the plan block",
            )
        else:
            year_start = by_key["year"].values[0].value
            if not isinstance(year_start, dt.date):
                year_start = None

        frequency = self._word(by_key.get("payout"), FREQUENCY_WORDS, "payout frequency", "quarterly")
        measure = self._word(by_key.get("measure"), MEASURE_WORDS, "measure", "year_to_date")
        basis = "to_date" if measure == "year_to_date" else "period"
        if "attainment" in by_key:
            words = [v.text for v in by_key["attainment"].values]
            basis = self._word(by_key["attainment"], BASIS_WORDS, "attainment basis", basis)
            if len(words) > 1 and words[1] != "quota":
                self.error(
                    "E206",
                    f"expected 'quota' after '{words[0]}'",
                    by_key["attainment"].values[1].span,
                    "write `attainment against annual quota` or `attainment against quota_to_date`",
                )
            if measure == "period_to_date" and basis == "to_date":
                self.error(
                    "E404",
                    "a period-to-date measure cannot be compared with a quota to date",
                    by_key["attainment"].span,
                    "use `attainment against period quota` or `annual quota`",
                )
        if "rounding" in by_key:
            word = by_key["rounding"].values[0]
            if word.text != "cumulative":
                self.error(
                    "E206",
                    f"unknown rounding '{word.text}'",
                    word.span,
                    "spm rounds cumulatively, half away from zero: `rounding cumulative`",
                )
        if year_start is not None and year_start.day > 28:
            self.error(
                "E404",
                "a plan year must start on day 1 to 28 of a month",
                by_key["year"].span,
                "periods are whole months counted from the first day of the plan year",
            )
            year_start = None
        # After an error, carry on with defaults so that the rest of the file is checked too.
        self.year_known = year_start is not None
        return Settings(
            name,
            version,
            currency,
            year_start or dt.date(2000, 1, 1),
            frequency or "quarterly",
            measure or "year_to_date",
            basis or "to_date",
            block.span,
        )

    def _word(self, setting: ast.Setting | None, words: dict[str, str], what: str, default: str) -> str | None:
        if setting is None:
            return default
        word = setting.values[0]
        value = words.get(word.text)
        if value is None:
            canonical = sorted(set(words.values()))
            hint = did_you_mean(word.text, words) or f"one of: {', '.join(canonical)}"
            self.error("E206", f"unknown {what} '{word.text}'", word.span, hint)
        return value

    # ------------------------------------------------------------ transactions
    def _transactions(self, block: ast.TransactionsBlock, tables: dict) -> SourceSpec | None:
        columns: dict[str, ColumnSpec] = {}
        singles: dict[str, object] = {}
        payee_stmts, filters_raw, policies = [], [], dict(POLICY_SUBJECTS)
        file = None
        for stmt in block.statements:
            if isinstance(stmt, ast.ColumnStmt):
                if stmt.name.text in columns:
                    self.error(
                        "E207",
                        f"column '{stmt.name.text}' is declared twice",
                        stmt.name.span,
                        notes=((columns[stmt.name.text].span, "first declared here"),),
                    )
                    continue
                spec = self.column_spec(stmt)
                if spec is not None:
                    columns[spec.name] = spec
            elif isinstance(stmt, (ast.KeyStmt, ast.DateStmt, ast.CreditStmt, ast.RollupStmt, ast.FileStmt)):
                key = type(stmt).__name__
                if key in singles:
                    self.error(
                        "E401",
                        f"'{_STMT_WORD[key]}' is given twice",
                        stmt.span,
                        notes=((singles[key].span, "first given here"),),
                    )
                    continue
                singles[key] = stmt
            elif isinstance(stmt, ast.PayeeStmt):
                payee_stmts.append(stmt)
            elif isinstance(stmt, ast.WhereStmt):
                filters_raw.append(stmt)
            elif isinstance(stmt, ast.PolicyStmt):
                self._policy(stmt, policies)
        if "FileStmt" in singles:
            file = singles["FileStmt"].path.value

        scope = Scope(
            "the transactions block",
            columns=columns,
            tables={n: t for n, t in tables.items() if t.kind in ("lookup", "roster")},
        )
        key = self._column_ref(
            singles.get("KeyStmt"),
            "key",
            columns,
            block.span,
            (Type.TEXT, Type.INTEGER),
            "the unique id of each transaction",
        )
        date = self._column_ref(
            singles.get("DateStmt"),
            "date",
            columns,
            block.span,
            (Type.DATE,),
            "the date that puts a transaction in a period",
        )
        payees = []
        if not payee_stmts:
            self.error(
                "E403",
                "the transactions block has no `payee`",
                block.span,
                "add `payee COLUMN` naming who is credited (several `payee ... share ...` lines split credit)",
            )
        for stmt in payee_stmts:
            column = self._column_ref(stmt, "payee", columns, block.span, (Type.TEXT, Type.INTEGER), "")
            share = None
            if stmt.share is not None:
                share = self.exprs.check(
                    stmt.share,
                    Scope("a share", columns, scope.tables),
                    (Type.PERCENT, Type.NUMBER, Type.INTEGER),
                    "a share",
                )
            if len(payee_stmts) > 1 and stmt.share is None:
                self.error(
                    "E403",
                    "with several payees, each needs a share",
                    stmt.span,
                    f"write `payee {stmt.column.text} share 50%` or `share COLUMN`",
                )
            if column is not None:
                payees.append(PayeeSpec(column, share, stmt.span))

        credit_stmt = singles.get("CreditStmt")
        credit = None
        credit_type = Type.MONEY
        if credit_stmt is None:
            self.error(
                "E403",
                "the transactions block has no `credit`",
                block.span,
                "add `credit COLUMN` or an expression such as `credit amount * 1.2`; `credit 1` counts rows",
            )
        else:
            credit = self.exprs.check(
                credit_stmt.expr,
                Scope("the credit", columns, scope.tables),
                (Type.MONEY, Type.NUMBER, Type.INTEGER),
                "the credit",
            )
            if credit is not None:
                credit_type = Type.MONEY if credit.type is Type.MONEY else Type.NUMBER

        filters = []
        names: dict[str, ast.WhereStmt] = {}
        for stmt in filters_raw:
            name = stmt.name.text if stmt.name else self.text(stmt.expr.span)
            if name in names:
                self.error(
                    "E207", f"two filters are named '{name}'", stmt.span, notes=((names[name].span, "the other one"),)
                )
                continue
            names[name] = stmt
            expr = self.exprs.check(stmt.expr, Scope("a filter", columns, scope.tables), (Type.BOOL,), "a filter")
            if expr is not None:
                filters.append(FilterSpec(name, expr, stmt.span))

        rollup_span = None
        rollup = singles.get("RollupStmt")
        if rollup is not None:
            if rollup.column.text != "manager":
                self.error(
                    "E206",
                    f"credit rolls up to 'manager', not '{rollup.column.text}'",
                    rollup.column.span,
                    "write `rollup to manager` (managers come from the roster)",
                )
            elif rollup.table is not None and rollup.table.text != "roster":
                self.error(
                    "E202",
                    f"rollups follow the roster, not '{rollup.table.text}'",
                    rollup.table.span,
                    "write `rollup to manager` or `rollup to manager from roster`",
                )
            else:
                rollup_span = rollup.span

        if key is None or date is None or not payees or credit is None:
            return None
        return SourceSpec(
            file,
            columns,
            key,
            date,
            tuple(payees),
            credit,
            credit_type,
            credit_stmt.span,
            tuple(filters),
            rollup_span,
            policies,
            block.span,
        )

    def _column_ref(
        self, stmt, what: str, columns: dict[str, ColumnSpec], block_span: Span, types: tuple[Type, ...], purpose: str
    ) -> str | None:
        if stmt is None:
            self.error("E403", f"the transactions block has no `{what}`", block_span, f"add `{what} COLUMN`: {purpose}")
            return None
        name = stmt.column
        if name.text in self.broken_columns:
            return None
        if name.text not in columns:
            hint = did_you_mean(name.text, columns) or f"declare it: `column {name.text} {types[0]}`"
            self.error("E201", f"unknown column '{name.text}'", name.span, hint)
            return None
        column = columns[name.text]
        if column.type not in types:
            self.error(
                "E301",
                f"the {what} column must be {' or '.join(map(str, types))}, "
                f"but '{name.text}' is declared as {column.type}",
                name.span,
                notes=((column.span, "declared here"),),
            )
            return None
        return name.text

    def _policy(self, stmt: ast.PolicyStmt, policies: dict[str, str]) -> None:
        subject, action = stmt.subject.text, stmt.action.text
        if subject not in POLICY_SUBJECTS:
            hint = did_you_mean(subject, POLICY_SUBJECTS) or "one of: " + ", ".join(POLICY_SUBJECTS)
            self.error("E206", f"unknown data problem '{subject}'", stmt.subject.span, hint)
            return
        if action not in POLICY_ACTIONS:
            self.error("E206", f"unknown action '{action}'", stmt.action.span, "write `reject` or `error`")
            return
        policies[subject] = action


_STMT_WORD = {"KeyStmt": "key", "DateStmt": "date", "CreditStmt": "credit", "RollupStmt": "rollup", "FileStmt": "file"}


def _valid_date_format(fmt: str) -> bool:
    if "%" not in fmt:
        return False
    sample = dt.date(2027, 11, 23)
    try:
        text = sample.strftime(fmt)
        parsed = dt.datetime.strptime(text, fmt).date()
    except (ValueError, TypeError):
        return False
    return parsed == sample or "%y" in fmt or "%Y" in fmt


def check_plan(plan_file: ast.PlanFile) -> CheckedPlan:
    """Check a parsed plan. Raises :class:`PlanError` with every error of the file."""
    return Checker(plan_file).check()
