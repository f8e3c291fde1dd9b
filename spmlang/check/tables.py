"""Checking reference tables: quotas, targets, the roster, the fx table and lookup tables.

A table's data comes from a file (named in the plan or on the command line) or
from rows written inline. Inline rows are read and typed here, so an error in
row 3 of a quota table points at row 3 of the plan file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from spmlang.check.columns import column_spec
from spmlang.check.context import CheckContext
from spmlang.check.words import DEFAULT_PER, PER_WORDS, PRORATE_WORDS
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir.constants import CURRENCY_CODES, is_currency_code, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import Per, Prorate, TableKind
from spmlang.ir.plan import ColumnSpec, TableSpec
from spmlang.ir.tables import LITERAL_KINDS, OPTIONAL_ROLES, ROLES, role_types
from spmlang.syntax import ast

MAX_INLINE_ROWS = 10_000


@dataclass
class _Declared:
    """What a table block's statements declare."""

    roles: dict[str, str]  # role (payee, period, amount, manager) -> column
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    key: str | None = None
    value: str | None = None
    per: Per | None = None
    file: str | None = None
    default_stmt: ast.DefaultStmt | None = None
    rows_block: ast.RowsBlock | None = None
    named: dict[str, ast.RoleStmt] = field(default_factory=dict)  # the roles the block names a column for
    per_stmt: ast.PerStmt | None = None
    prorate_stmt: ast.ProrateStmt | None = None


# Statements a table block holds at most once, checked once its shape is known: where _Declared keeps each.
_ONE_STATEMENT = {ast.ProrateStmt: "prorate_stmt", ast.DefaultStmt: "default_stmt", ast.RowsBlock: "rows_block"}


def _row_key(kind: TableKind, table: _Declared) -> list[str]:
    """The columns no two inline rows of a table may share: a lookup table's key; a payee's period, or its start
    in a dated table; an fx table's currency and date."""
    if kind is TableKind.LOOKUP and table.key is not None:
        return [table.key]
    roles = table.roles
    key = [roles[r] for r in ("payee", "period", "start", "date") if r in roles]
    return [roles["currency"], *key] if kind is TableKind.FX else key


class TableChecker:
    """Checks table blocks. ``quota_type`` is the unit of credit (money, or a number for counted credit)."""

    def __init__(self, checker: CheckContext, quota_type: Type = Type.MONEY, fixed_rates: bool = False):
        self.checker = checker
        self.quota_type = quota_type
        self.fixed_rates = fixed_rates  # the plan converts at the fx table's one rate per currency: no dates

    def check_all(self, blocks: list[ast.TableBlock], tables: dict[str, TableSpec]) -> dict[str, TableSpec]:
        """Adds the tables of ``blocks`` to ``tables`` (which may already hold some) and returns it."""
        first_span: dict[str, Span] = {name: spec.span for name, spec in tables.items()}
        for block in blocks:
            spec = self.check(block)
            if spec is None:
                continue
            if spec.name in tables:
                what = f"table '{spec.name}'" if spec.kind is TableKind.LOOKUP else f"a {spec.name} block"
                self.checker.error(
                    "E401",
                    f"{what} is declared twice",
                    block.span,
                    notes=((first_span[spec.name], "first declared here"),),
                )
                continue
            tables[spec.name] = spec
            first_span[spec.name] = block.span
        return tables

    def check(self, block: ast.TableBlock) -> TableSpec | None:
        c = self.checker
        kind = TableKind.LOOKUP if block.kind.text == "table" else TableKind(block.kind.text)
        if kind is TableKind.LOOKUP and block.name is None:
            c.error("E403", "a lookup table needs a name", block.kind.span, "write `table product_rates { ... }`")
            return None
        if kind is not TableKind.LOOKUP and block.name is not None:
            c.error("E403", f"a {kind} block takes no name", block.name.span, f"write `{kind} {{ ... }}`")
            return None
        name = block.name.text if block.name else kind
        table = self._declared(block, kind)
        if not self._dated_shape(kind, table):
            return None
        shaped = (
            self._lookup_columns(name, table, block)
            if kind is TableKind.LOOKUP
            else self._role_columns(kind, table, block)
        )
        if not shaped or table.key is None:  # a table that took its shape has its key
            return None
        if table.file is not None and table.rows_block is not None:
            c.error(
                "E401", f"table '{name}' has both a file and inline rows", table.rows_block.span, "keep one of them"
            )
            return None
        rows: tuple[tuple[object, ...], ...] | None = None
        row_spans: tuple[Span, ...] = ()
        if table.rows_block is not None:
            checked = self._rows(name, table.rows_block, table.columns, _row_key(kind, table))
            # A row in error is said; the table is still declared, so what uses it is not 'unknown table' too.
            rows = checked if checked is not None else ()
            row_spans = table.rows_block.row_spans if checked is not None else ()
            if kind is TableKind.FX and not self._currency_codes(table, rows, row_spans):
                return None
        default = None
        if table.default_stmt is not None:
            if kind is not TableKind.LOOKUP or table.value is None:
                c.error("E206", "only a lookup table with a value column takes a default", table.default_stmt.span)
                return None
            default = self._value(table.default_stmt.value, table.columns[table.value])
            if default is None:
                return None
        return TableSpec(
            kind,
            name,
            table.file,
            table.columns,
            table.roles,
            table.key,
            table.value,
            table.per,
            default,
            rows,
            row_spans,
            block.span,
            self._prorate(kind, table),
        )

    def _declared(self, block: ast.TableBlock, kind: TableKind) -> _Declared:
        """What the block's statements declare, each checked."""
        table = _Declared(roles=dict(ROLES[kind]))
        for stmt in block.statements:
            if isinstance(stmt, ast.ColumnStmt):
                if stmt.name.text in table.columns:
                    self.checker.error("E207", f"column '{stmt.name.text}' is declared twice", stmt.name.span)
                    continue
                spec = column_spec(self.checker, stmt)
                if spec is not None:
                    table.columns[spec.name] = spec
            elif isinstance(stmt, ast.FileStmt):
                table.file = str(stmt.path.value)
            elif isinstance(stmt, ast.KeyStmt):
                table.key = stmt.column.text
            elif isinstance(stmt, ast.RoleStmt):
                self._role(stmt, kind, table)
            elif isinstance(stmt, ast.PerStmt):
                table.per_stmt = stmt
                self._per(stmt, kind, table)
            elif isinstance(stmt, (ast.ProrateStmt, ast.DefaultStmt, ast.RowsBlock)):
                setattr(table, _ONE_STATEMENT[type(stmt)], stmt)  # checked with the table's shape
            elif isinstance(stmt, ast.ColumnsStmt):
                self.checker.error(
                    "E206",
                    "`columns` orders the rows of a table in a test; a plan declares each column with "
                    "`column NAME TYPE`",
                    stmt.span,
                )
            else:
                self.checker.error(
                    "E206", "this statement does not belong in a table", getattr(stmt, "span", block.span)
                )
        return table

    def _role(self, stmt: ast.RoleStmt, kind: TableKind, table: _Declared) -> None:
        """``payee rep``, ``amount quota`` ...: the column that plays a role (a lookup table's ``value``)."""
        if stmt.role == "value" and kind is TableKind.LOOKUP:
            table.value = stmt.column.text
        elif stmt.role in table.roles or stmt.role in OPTIONAL_ROLES[kind]:
            table.roles[stmt.role] = stmt.column.text
            table.named[stmt.role] = stmt
        else:
            allowed = ", ".join([*table.roles, *OPTIONAL_ROLES[kind]]) if table.roles else "key, value"
            self.checker.error(
                "E206",
                f"a {kind} table has no '{stmt.role}' column role",
                stmt.span,
                f"its roles are: {allowed}",
            )

    def _per(self, stmt: ast.PerStmt, kind: TableKind, table: _Declared) -> None:
        if kind not in DEFAULT_PER:
            self.checker.error("E206", f"'per' applies to quotas and targets, not to a {kind} table", stmt.span)
            return
        table.per = PER_WORDS.get(stmt.unit.text)
        if table.per is None:
            self.checker.error(
                "E206",
                f"unknown period '{stmt.unit.text}'",
                stmt.unit.span,
                did_you_mean(stmt.unit.text, PER_WORDS) or "write `per period` or `per year`",
            )

    def _role_columns(self, kind: TableKind, table: _Declared, block: ast.TableBlock) -> bool:
        """Quotas, targets, roster: a column for each role (those not declared take their usual type); inline
        rows have exactly these columns, in the roles' order. False after an error."""
        roles = table.roles
        table.key = roles["payee"] if "payee" in roles else roles["currency"]  # an fx table has no payee
        types = role_types(kind, self.quota_type)
        for role, column in roles.items():
            if column not in table.columns:
                # A roster's terms are cited by their own line (a ledger's fx lines cite `currency COLUMN`).
                span = table.named[role].span if role in OPTIONAL_ROLES[kind] else block.span
                table.columns[column] = ColumnSpec(column, types[role], None, span)
        if table.rows_block is None:
            return True
        if len(table.columns) != len(roles):
            extra = [n for n in table.columns if n not in roles.values()]
            self.checker.error(
                "E206",
                f"inline {kind} rows have exactly the columns {', '.join(roles.values())}",
                table.columns[extra[0]].span,
                "remove the extra column",
            )
            return False
        ordered = [roles[r] for r in (*ROLES[kind], *OPTIONAL_ROLES[kind]) if r in roles]
        if list(table.columns) != ordered:
            table.columns = {n: table.columns[n] for n in ordered}
        return True

    def _dated_shape(self, kind: TableKind, table: _Declared) -> bool:
        """The roles of a table as its dates shape them: a roster with dates or terms needs no manager unless it
        names one; a dated quotas or targets table holds an amount per year (else per its `per`, whose default
        is the kind's); an fx table has no dates where the plan converts at fixed rates. False after an
        error."""
        c, named = self.checker, table.named
        if kind is TableKind.ROSTER and set(OPTIONAL_ROLES[kind]) & set(named) and "manager" not in named:
            table.roles.pop("manager")  # rollups, which need managers, say so (see check_transactions)
        dated = [named[role] for role in ("start", "end") if role in named]
        if kind in (TableKind.QUOTAS, TableKind.TARGETS) and dated:
            if table.per is Per.PERIOD and table.per_stmt is not None:
                c.error(
                    "E404",
                    f"dated {kind} hold an amount per year",
                    table.per_stmt.span,
                    f"write `per year`: each row's annual amount holds from its start to its end (a {kind} "
                    "table per period names its periods instead)",
                )
                return False
            table.per = Per.YEAR
        if kind is TableKind.FX and self.fixed_rates:
            if "date" in named:
                c.error(
                    "E404",
                    "the plan converts at fixed rates, but the fx table gives dates",
                    named["date"].span,
                    "remove the `date` line: at a fixed rate the fx table has one rate per currency "
                    "(or convert at the transaction's date: `currency COLUMN`)",
                )
                return False
            table.roles.pop("date")
        if kind in DEFAULT_PER:
            table.per = table.per or DEFAULT_PER[kind]
            if table.per is Per.YEAR:
                table.roles.pop("period", None)
        return True

    def _prorate(self, kind: TableKind, table: _Declared) -> Prorate | None:
        """How a roster prorates quotas and targets: as its `prorate` says, by days where it has dates or
        eligibility and says nothing, else not at all."""
        stmt, c = table.prorate_stmt, self.checker
        prorates = kind is TableKind.ROSTER and bool({"start", "end", "eligibility"} & set(table.named))
        if stmt is None:
            return Prorate.DAYS if prorates else None
        if kind is not TableKind.ROSTER:
            c.error(
                "E206",
                f"'prorate' applies to the roster, not to a {kind} table",
                stmt.span,
                "write it in the roster block: the roster's dates prorate quotas and targets alike",
            )
            return None
        rule = PRORATE_WORDS.get(stmt.rule.text)
        if rule is None:
            c.error(
                "E206",
                f"unknown proration '{stmt.rule.text}'",
                stmt.rule.span,
                did_you_mean(stmt.rule.text, PRORATE_WORDS) or "write `prorate by days`, `by months` or `none`",
            )
            return None
        if not prorates:
            c.error(
                "E404",
                "a roster without dates or eligibility has nothing to prorate by",
                stmt.span,
                "give the roster `start COLUMN` and `end COLUMN` (employment), or `eligibility COLUMN`",
            )
            return None
        return rule

    def _lookup_columns(self, name: str, table: _Declared, block: ast.TableBlock) -> bool:
        """A lookup table: its columns, the key among them, and the value looked up (the other column of two).
        False after an error."""
        c, columns = self.checker, table.columns
        if not columns:
            c.error(
                "E403",
                f"table '{name}' declares no columns",
                block.span,
                "declare them in order: `column product text`, `column rate percent`",
            )
            return False
        if table.key is None:
            c.error("E403", f"table '{name}' has no key", block.span, "add `key COLUMN`: the column looked up")
            return False
        if table.key not in columns:
            c.error("E201", f"table '{name}' has no column '{table.key}'", block.span, did_you_mean(table.key, columns))
            return False
        if table.value is None and len(columns) == 2:
            table.value = next(n for n in columns if n != table.key)
        if table.value is not None and table.value not in columns:
            c.error(
                "E201", f"table '{name}' has no column '{table.value}'", block.span, did_you_mean(table.value, columns)
            )
            return False
        return True

    def _rows(
        self, name: str, block: ast.RowsBlock, columns: dict[str, ColumnSpec], key_columns: list[str]
    ) -> tuple[tuple[object, ...], ...] | None:
        c = self.checker
        specs = list(columns.values())
        rows: list[tuple[object, ...]] = []
        seen: dict[tuple[object, ...], Span] = {}
        if len(block.rows) > MAX_INLINE_ROWS:
            c.error(
                "E410",
                f"table '{name}' has {len(block.rows):,} rows in the plan; a plan holds at most {MAX_INLINE_ROWS:,}",
                block.span,
                "put the rows in a data file and pass it with --table NAME=PATH (or --quotas, --targets, --roster)",
            )
            return None
        key_index = [list(columns).index(k) for k in key_columns]
        ok = True
        for values, span in zip(block.rows, block.row_spans, strict=True):
            if len(values) != len(specs):
                names = " ".join(s.name for s in specs)
                c.error(
                    "E405",
                    f"this row has {len(values)} values, but table '{name}' has {len(specs)} columns",
                    span,
                    f"the columns are, in order: {names}",
                )
                ok = False
                continue
            row: list[object] = []
            for literal, spec in zip(values, specs, strict=True):
                if literal.kind == "empty":
                    row.append(None)
                    continue
                value = self._value(literal, spec)
                if value is None:
                    ok = False
                row.append(value)
            row_key = tuple(row[i] for i in key_index)
            empty = [
                key_columns[at]
                for at, value in enumerate(row_key)
                if value in (None, "") and columns[key_columns[at]].type is Type.TEXT  # a date may be open
            ]
            if empty:  # a run would stop at this row (E504), naming no line of the plan
                c.error("E405", f"this row of table '{name}' has no {empty[0]}", span, "every row needs its key")
                ok = False
                continue
            if row_key in seen:
                c.error(
                    "E207",
                    f"table '{name}' has two rows for {', '.join(map(str, row_key))}",
                    span,
                    notes=((seen[row_key], "the other row"),),
                )
                ok = False
            seen[row_key] = span
            rows.append(tuple(row))
        return tuple(rows) if ok else None

    def _currency_codes(self, table: _Declared, rows: tuple[tuple[object, ...], ...], spans: tuple[Span, ...]) -> bool:
        """An fx table's rows in the plan name currencies by their codes (EUR), as a run reads them."""
        at = list(table.columns).index(table.roles["currency"])
        ok = True
        for row, span in zip(rows, spans, strict=True):
            code = row[at]
            if isinstance(code, str) and not is_currency_code(code):
                self.checker.error("E301", f"'{code}' is not a currency code", span, CURRENCY_CODES)
                ok = False
        return ok

    def _value(self, literal: ast.Literal, spec: ColumnSpec) -> object | None:
        if literal.kind not in LITERAL_KINDS[spec.type]:
            hint = None
            if spec.type is Type.MONEY and literal.kind == "percent":
                hint = "write money as $1,000"
            elif spec.type is Type.TEXT:
                hint = f'write text in quotes: "{literal.text}"'
            self.checker.error("E301", f"{literal.text} is not {spec.type} (column '{spec.name}')", literal.span, hint)
            return None
        value = literal.value
        if spec.type in (Type.MONEY, Type.PERCENT) and isinstance(value, Decimal) and too_large(value):
            self.checker.error(
                "E312", f"{literal.text} is too large to hold (column '{spec.name}')", literal.span, too_large_hint()
            )
            return None
        if spec.type is Type.INTEGER and isinstance(value, Decimal) and value != Decimal(int(value)):
            self.checker.error("E301", f"{literal.text} is not a whole number (column '{spec.name}')", literal.span)
            return None
        return value
