"""Test cases written in the language: discovered, read and made ready to run.

A test lives in ``plan.test.spm`` beside ``plan.spm``, or in the plan file
itself. It gives small inline tables (typed by the plan's own column
declarations) and expectations about the result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa

from spmlang.api import Plan, load
from spmlang.diagnostics import Diagnostic, PlanError, Span, did_you_mean
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import TableKind
from spmlang.ir.plan import CheckedPlan, ColumnSpec, TableSpec
from spmlang.ir.tables import LITERAL_KINDS, implicit_table
from spmlang.syntax import ast, parse
from spmlang.syntax.source import read_source

TEST_SUFFIX = ".test.spm"
_ARROW = {
    Type.TEXT: pa.string(),
    Type.INTEGER: pa.int64(),
    Type.NUMBER: pa.float64(),
    Type.PERCENT: pa.float64(),
    Type.MONEY: pa.decimal128(38, 6),
    Type.DATE: pa.date32(),
    Type.BOOL: pa.bool_(),
}


@dataclass
class TestCase:
    name: str
    file: str
    span: Span
    plan: Plan | None  # None where the case is only checked, not run (the language server)
    source: str  # the text of the file the test is in
    deals: pa.Table | None = None
    quotas: pa.Table | None = None
    targets: pa.Table | None = None
    roster: pa.Table | None = None
    tables: dict = field(default_factory=dict)
    strict: bool = False
    expectations: list[ast.Expect] = field(default_factory=list)
    error: str | None = None  # the test itself is wrong (rendered diagnostics): it fails without running
    diagnostics: list[Diagnostic] = field(default_factory=list)  # what is wrong with it, if anything

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


class TestFileError(Exception):
    """A test file that cannot be read: its diagnostics, and the source to show them with."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str]):
        super().__init__(diagnostics[0].message if diagnostics else "test file error")
        self.error = PlanError(diagnostics, sources)


def discover(paths: list[Path]) -> list[Path]:
    """Files that may hold tests: *.test.spm, and plan files (*.spm) with test blocks.

    In a folder: every *.spm file below it, but for hidden folders and what the project's ``[tool.spm]
    exclude`` names (see :mod:`spmlang.settings`). What ``paths`` names is always taken: a file, or a
    folder that is itself excluded (asked for by name)."""
    from spmlang.settings import exclusions

    found: list[Path] = []
    for path in paths or [Path(".")]:
        if path.is_dir():
            excluded = exclusions(path)
            if excluded and excluded.excludes(path):
                excluded = None
            candidates = sorted(
                p
                for p in path.rglob("*.spm")
                if not any(part.startswith(".") for part in p.relative_to(path).parts[:-1])
                and not (excluded and excluded.excludes(p))
            )
        else:
            candidates = [path]
        for candidate in candidates:
            if candidate not in found:
                found.append(candidate)
    return found


def read_cases(path: Path) -> list[TestCase]:
    """The tests of one file (none for a plan file without test blocks). A file that cannot be read is an
    :class:`~spmlang.diagnostics.InputError` naming it."""
    if path.name.endswith(TEST_SUFFIX):
        text = read_source(path, "test file", hint="check the path: a plan's tests are in plan.test.spm beside it")
    else:
        text = read_source(path)
    label = str(path)
    tree = parse(text, label)
    tests = [item for item in tree.items if isinstance(item, ast.TestBlock)]
    if path.name.endswith(TEST_SUFFIX):
        others = [item for item in tree.items if not isinstance(item, ast.TestBlock)]
        plan_path = path.with_name(path.name[: -len(TEST_SUFFIX)] + ".spm")
        if others:
            raise TestFileError(
                [
                    Diagnostic(
                        "E420", f"a test file holds only test blocks; the plan is {plan_path.name}", others[0].span
                    )
                ],
                {label: text},
            )
        if not plan_path.exists():
            raise TestFileError(
                [
                    Diagnostic(
                        "E421",
                        f"no plan {plan_path.name} beside this test file",
                        Span(label, 1, 1, 1, 2),
                        "name a test file after its plan: plan.spm and plan.test.spm",
                    )
                ],
                {label: text},
            )
        plan = load(plan_path)
    else:
        if not tests:
            return []
        plan = load(path)
    return [_case(test, plan, label, text) for test in tests]


def case_diagnostics(case: TestCase, test: ast.TestBlock, checked: CheckedPlan) -> list[Diagnostic]:
    """Read a test block into ``case`` (its tables, expectations, strictness), and what is wrong with it: the
    one reading of a test, for spm test and for spm check (and the language server)."""
    diagnostics: list[Diagnostic] = []
    for stmt in test.statements:
        if isinstance(stmt, ast.TestData):
            case.deals = _table(stmt.statements, checked.transactions.columns, diagnostics, "the plan declares")
        elif isinstance(stmt, ast.TableBlock):
            _reference(case, stmt, checked, diagnostics)
        elif isinstance(stmt, ast.StrictStmt):
            case.strict = True
        elif isinstance(stmt, ast.Expect):
            case.expectations.append(stmt)
    if case.deals is None:
        diagnostics.append(
            Diagnostic(
                "E422",
                f"test '{case.name}' gives no transactions",
                test.span,
                "add: transactions { columns ...  rows { ... } }",
            )
        )
    if not case.expectations:
        diagnostics.append(
            Diagnostic(
                "E422",
                f"test '{case.name}' expects nothing",
                test.span,
                "add an expectation, e.g. expect payout alice == $1,000",
            )
        )
    return diagnostics


def _case(test: ast.TestBlock, plan: Plan, label: str, text: str) -> TestCase:
    case = TestCase(str(test.name.value), label, test.span, plan, text)
    diagnostics = case_diagnostics(case, test, plan.checked)
    if diagnostics:
        diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        case.error = PlanError(diagnostics, {label: text}).render()
        case.diagnostics = diagnostics
    return case


def _reference(case: TestCase, block: ast.TableBlock, checked, diagnostics: list[Diagnostic]) -> None:
    kind = block.kind.text
    for stmt in block.statements:
        if not isinstance(stmt, (ast.ColumnsStmt, ast.RowsBlock)):
            word = stmt.role if isinstance(stmt, ast.RoleStmt) else _STATEMENT_WORDS[type(stmt)]
            diagnostics.append(
                Diagnostic(
                    "E423",
                    f"a table in a test gives only `columns` and `rows`, not `{word}`",
                    stmt.span,
                    "a test's rows are read the way the plan declares the table: say it there",
                )
            )
    if kind == "table":
        if block.name is None:
            diagnostics.append(
                Diagnostic(
                    "E403",
                    "a lookup table in a test needs the name of the plan's table",
                    block.kind.span,
                    "write `table NAME { rows { ... } }`",
                )
            )
            return
        name = block.name.text
        spec = checked.tables.get(name)
        if spec is None or spec.kind is not TableKind.LOOKUP:
            lookups = [n for n, t in checked.tables.items() if t.kind is TableKind.LOOKUP]
            diagnostics.append(
                Diagnostic(
                    "E202", f"the plan has no lookup table '{name}'", block.name.span, did_you_mean(name, lookups)
                )
            )
            return
        case.tables[name] = _table(block.statements, spec.columns, diagnostics, f"table '{name}' has")
        return
    if kind == TableKind.FX:  # rates to the plan currency: given to the run as the table named fx
        spec = checked.tables.get(TableKind.FX)
        if spec is None:
            diagnostics.append(
                Diagnostic(
                    "E202",
                    "the plan has no fx table",
                    block.kind.span,
                    "the plan converts currencies where its transactions name a `currency` column, or its roster one",
                )
            )
            return
        case.tables[TableKind.FX.value] = _table(block.statements, spec.columns, diagnostics, "the fx table has")
        return
    spec = checked.tables.get(kind) or implicit_table(TableKind(kind), _quota_type(checked), block.span)
    columns = _table_columns(spec, block.statements)
    owner = "the roster has" if kind == "roster" else f"the {kind} table has"
    setattr(case, kind, _table(block.statements, columns, diagnostics, owner))


_STATEMENT_WORDS = {
    ast.FileStmt: "file",
    ast.ColumnStmt: "column",
    ast.KeyStmt: "key",
    ast.PerStmt: "per",
    ast.DefaultStmt: "default",
}


def _quota_type(checked) -> Type:
    return Type.NUMBER if checked.transactions.credit_type is Type.NUMBER else Type.MONEY


def _table_columns(spec: TableSpec, statements) -> dict[str, ColumnSpec]:
    """A quotas/targets/roster table's columns; an undeclared quotas table with two values a row is per year."""
    columns = dict(spec.columns)
    rows = next((s for s in statements if isinstance(s, ast.RowsBlock)), None)
    period = spec.roles.get("period")
    if (
        spec.per is None
        and period is not None
        and rows is not None
        and rows.rows
        and len(rows.rows[0]) == len(columns) - 1
    ):
        columns.pop(period, None)
    return columns


def _table(statements, columns: dict[str, ColumnSpec], diagnostics: list[Diagnostic], owner: str) -> pa.Table:
    """The rows of a test's table, typed by ``columns``; ``owner`` says whose columns they are, in messages."""
    names_stmts = [s for s in statements if isinstance(s, ast.ColumnsStmt)]
    rows_blocks = [s for s in statements if isinstance(s, ast.RowsBlock)]
    for stmts, what in ((names_stmts, "its columns once"), (rows_blocks, "its rows in one `rows` block")):
        for extra in stmts[1:]:
            diagnostics.append(
                Diagnostic(
                    "E401", f"a table in a test gives {what}", extra.span, notes=((stmts[0].span, "the first one"),)
                )
            )
    names_stmt = names_stmts[0] if names_stmts else None
    rows_block = rows_blocks[0] if rows_blocks else None
    order = list(columns)
    if names_stmt is not None:
        order = []
        for name in names_stmt.names:
            if name.text in order:
                diagnostics.append(Diagnostic("E207", f"column '{name.text}' is named twice", name.span))
            elif name.text not in columns:
                diagnostics.append(
                    Diagnostic(
                        "E201",
                        f"{owner} no column '{name.text}'",
                        name.span,
                        did_you_mean(name.text, columns) or "the columns: " + " ".join(columns),
                    )
                )
            order.append(name.text)  # an unknown column keeps its place, so the rows still line up
    values: dict[str, list] = {name: [] for name in columns}
    for row, span in zip(
        rows_block.rows if rows_block else (), rows_block.row_spans if rows_block else (), strict=True
    ):
        if len(row) != len(order):
            values_given = f"{len(row)} value{'s' if len(row) != 1 else ''}"
            diagnostics.append(
                Diagnostic(
                    "E405",
                    f"this row has {values_given} for {len(order)} columns",
                    span,
                    "the columns are, in order: " + " ".join(order),
                )
            )
            continue
        given = {name: literal for name, literal in zip(order, row, strict=True) if name in columns}
        for column, spec in columns.items():
            literal = given.get(column)
            values[column].append(None if literal is None else _value(literal, spec, diagnostics))
    return pa.table({name: pa.array(values[name], _ARROW[spec.type]) for name, spec in columns.items()})


def _value(literal: ast.Literal, spec: ColumnSpec, diagnostics: list[Diagnostic]):
    if literal.kind == "empty":
        return None
    if spec.type is Type.DATE and literal.kind == "string":
        return _written_date(literal, spec, diagnostics)
    if literal.kind not in LITERAL_KINDS[spec.type]:
        diagnostics.append(
            Diagnostic("E301", f"{literal.text} is not {spec.type} (column '{spec.name}')", literal.span)
        )
        return None
    value = literal.value
    if spec.type is Type.TEXT:
        return str(value)
    if spec.type is Type.DATE:
        return value if isinstance(value, dt.date) else None
    if spec.type is Type.BOOL:
        return bool(value)
    if not isinstance(value, Decimal):  # what LITERAL_KINDS lets through for numbers and money is a number
        raise AssertionError(literal.kind)
    return _number(literal, value, spec, diagnostics)


def _written_date(literal: ast.Literal, spec: ColumnSpec, diagnostics: list[Diagnostic]) -> dt.date | None:
    """A date written as the data file has it ("01-03-17"), read with the column's format."""
    try:
        return dt.datetime.strptime(str(literal.value), spec.format or "%Y-%m-%d").date()
    except ValueError:
        diagnostics.append(
            Diagnostic(
                "E301",
                f"{literal.text} is not a date in the format \"{spec.format or '%Y-%m-%d'}\" (column '{spec.name}')",
                literal.span,
                "or write the date as 2027-03-01",
            )
        )
        return None


def _number(literal: ast.Literal, value: Decimal, spec: ColumnSpec, diagnostics: list[Diagnostic]):
    """A number, percentage or amount as its column's Arrow type holds it; None (reported) if it cannot be."""
    if spec.type is Type.INTEGER and value != value.to_integral_value():
        diagnostics.append(
            Diagnostic("E301", f"{literal.text} is not {spec.type} (column '{spec.name}')", literal.span)
        )
        return None
    # What Arrow can hold: the engine says if a value is too large to pay; this only has to carry it there.
    if abs(value) >= _LARGEST[spec.type]:
        diagnostics.append(Diagnostic("E301", f"{literal.text} is too large (column '{spec.name}')", literal.span))
        return None
    if spec.type is Type.INTEGER:
        return int(value)
    if spec.type in (Type.NUMBER, Type.PERCENT):
        return float(value)
    return value.quantize(_MONEY_STEP, ROUND_HALF_UP)  # money: to the engine's millionths, as data files are read


_LARGEST = {
    Type.INTEGER: Decimal(2) ** 63,
    Type.NUMBER: Decimal("1e300"),
    Type.PERCENT: Decimal("1e300"),
    Type.MONEY: Decimal(10) ** 32,
}
_MONEY_STEP = Decimal("0.000001")
