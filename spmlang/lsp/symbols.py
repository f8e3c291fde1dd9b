"""Which name is where: every declaration and use of a column, table, component or filter in a syntax tree.

Built from the syntax tree alone (a whole one, or what parses of a broken file), so that go to definition,
find references and hover work while the plan has errors. A symbol is a key ``(kind, owner, name)``:

- ``("column", "", name)``: a transactions column; ``("table column", table, name)``: a table's column;
- ``("table", "", name)``: a lookup table by its name, or ``quotas``, ``targets``, ``roster`` by their kind;
- ``("component", "", name)``; ``("filter", "", name)``: a named `where` of the transactions block;
  ``("component filter", component, name)``: a named `where` of a component;
- ``("builtin", "", name)``: ``credit``, ``attainment`` ...; ``("function", "", name)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spmlang.lsp.plan_model import Span, ast

Key = tuple[str, str, str]

# What spm provides to an expression, by where it is (docs/language.md, "What an expression can see").
ROW_BUILTINS = ("credit", "share", "payee", "quota", "target")
PERIOD_END_BUILTINS = ("attainment", "credit", "quota", "target", "count")


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: Key
    span: Span
    definition: bool
    where: str  # what holds it, for people: "the credit", "component commission"


@dataclass
class SymbolIndex:
    occurrences: list[Occurrence] = field(default_factory=list)
    # Declarations, by key: the statement or block that declares each (for hovers).
    declarations: dict[Key, object] = field(default_factory=dict)

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 1-based position (its end included: the cursor just after a name)."""
        best = None
        for occurrence in self.occurrences:
            if contains(occurrence.span, line, column):
                if best is None or _size(occurrence.span) < _size(best.span):
                    best = occurrence
        return best

    def definition(self, key: Key) -> Occurrence | None:
        return next((o for o in self.occurrences if o.key == key and o.definition), None)

    def references(self, key: Key) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key]

    def names(self, kind: str, owner: str = "") -> list[str]:
        """Declared names of a kind, in file order."""
        return list(
            dict.fromkeys(o.key[2] for o in self.occurrences if o.definition and o.key[0] == kind and o.key[1] == owner)
        )


def contains(span: Span, line: int, column: int) -> bool:
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _size(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


def table_key(block: ast.TableBlock) -> str:
    """How a table is named: a lookup table by its name, the others by their kind."""
    if block.kind.text == "table":
        return block.name.text if block.name is not None else ""
    return block.kind.text


class _Builder:
    def __init__(self, index: SymbolIndex, columns: set[str]):
        self.index = index
        self.columns = columns

    def add(self, key: Key, span: Span, definition: bool, where: str, node: object = None) -> None:
        if definition and key in self.index.declarations:
            definition = False  # declared twice: the first is the definition, the checker says the rest
        self.index.occurrences.append(Occurrence(key, span, definition, where))
        if definition:
            self.index.declarations[key] = node

    def expression(self, expr, where: str, builtins: tuple[str, ...] = (), columns_first: bool = True) -> None:
        stack = [expr]
        while stack:
            node = stack.pop()
            if node is None:
                continue
            if isinstance(node, ast.Ref):
                self.add(self._resolve(node.name, builtins, columns_first), node.span, False, where)
            elif isinstance(node, ast.Lookup):
                self.add(("table", "", node.table.text), node.table.span, False, where)
                if node.column is not None:
                    self.add(("table column", node.table.text, node.column.text), node.column.span, False, where)
                stack.append(node.key)
            elif isinstance(node, ast.Call):
                self.add(("function", "", node.function.text), node.function.span, False, where)
                stack.extend(node.args)
            else:
                stack.extend(_operands(node))

    def _resolve(self, name: str, builtins: tuple[str, ...], columns_first: bool) -> Key:
        if columns_first and name in self.columns or name not in builtins:
            return ("column", "", name)
        return ("builtin", "", name)


def _operands(node) -> tuple:
    """The expressions an operator node (not, -, +, ==, in, is empty, if) applies to; none for a literal."""
    if isinstance(node, (ast.Unary, ast.InList, ast.IsEmpty)):
        return (node.operand,)
    if isinstance(node, (ast.Binary, ast.Compare)):
        return (node.left, node.right)
    if isinstance(node, ast.InRange):
        return (node.operand, node.low, node.high)
    if isinstance(node, ast.IfExpr):
        return (node.condition, node.then, node.otherwise)
    return ()


def build_index(tree: ast.PlanFile) -> SymbolIndex:
    index = SymbolIndex()
    columns = {
        stmt.name.text
        for item in tree.items
        if isinstance(item, ast.TransactionsBlock)
        for stmt in item.statements
        if isinstance(stmt, ast.ColumnStmt)
    }
    b = _Builder(index, columns)
    for item in tree.items:
        if isinstance(item, ast.TransactionsBlock):
            _transactions(b, item)
        elif isinstance(item, ast.TableBlock):
            _table(b, item)
        elif isinstance(item, ast.ComponentBlock):
            _component(b, item)
        elif isinstance(item, ast.CapStmt):
            _cap(b, item, "a plan cap")
        elif isinstance(item, ast.TestBlock):
            _test(b, item)
    return index


def _transactions(b: _Builder, block: ast.TransactionsBlock) -> None:
    where = "the transactions block"
    for stmt in block.statements:
        if isinstance(stmt, ast.ColumnStmt):
            b.add(("column", "", stmt.name.text), stmt.name.span, True, where, stmt)
        elif isinstance(stmt, (ast.KeyStmt, ast.DateStmt)):
            b.add(("column", "", stmt.column.text), stmt.column.span, False, where)
        elif isinstance(stmt, ast.PayeeStmt):
            b.add(("column", "", stmt.column.text), stmt.column.span, False, where)
            b.expression(stmt.share, "a payee's share")
        elif isinstance(stmt, ast.CreditStmt):
            b.expression(stmt.expr, "the credit")
        elif isinstance(stmt, ast.WhereStmt):
            name = f"filter {stmt.name.text}" if stmt.name else "a filter"
            if stmt.name is not None:
                b.add(("filter", "", stmt.name.text), stmt.name.span, True, where, stmt)
            b.expression(stmt.expr, name)
        elif isinstance(stmt, ast.RollupStmt) and stmt.table is not None:
            b.add(("table", "", stmt.table.text), stmt.table.span, False, where)


def _table(b: _Builder, block: ast.TableBlock, in_test: str | None = None) -> None:
    key = table_key(block)
    if not key:
        return
    name_span = block.name.span if block.name is not None else block.kind.span
    b.add(("table", "", key), name_span, in_test is None, in_test or f"{block.kind.text} {key}", block)
    declared = {stmt.name.text for stmt in block.statements if isinstance(stmt, ast.ColumnStmt)}
    where = in_test or f"table {key}"
    for stmt in block.statements:
        if isinstance(stmt, ast.ColumnStmt):
            b.add(("table column", key, stmt.name.text), stmt.name.span, True, where, stmt)
        elif isinstance(stmt, (ast.KeyStmt, ast.RoleStmt)):
            # `payee owner` in a quotas block names the column that holds the payee: without a `column`
            # statement for it, that is where the column is declared.
            name = stmt.column.text
            b.add(("table column", key, name), stmt.column.span, name not in declared and in_test is None, where, stmt)
        elif isinstance(stmt, ast.ColumnsStmt):
            for column in stmt.names:
                b.add(("table column", key, column.text), column.span, False, where)


def _component(b: _Builder, block: ast.ComponentBlock) -> None:
    name = block.name.text
    where = f"{block.kind.text} {name}"
    b.add(("component", "", name), block.name.span, True, where, block)
    _component_statements(b, name, where, block.statements)


def _component_statements(b: _Builder, name: str, where: str, statements) -> None:
    for stmt in statements:
        if isinstance(stmt, ast.FromBlock):  # a dated version: its rule and multipliers read the same names
            _component_statements(b, name, f"{where} from {stmt.date.text}", stmt.statements)
        else:
            _component_statement(b, name, where, stmt)


def _component_statement(b: _Builder, name: str, where: str, stmt) -> None:
    if isinstance(stmt, ast.WhereStmt):
        if stmt.name is not None:
            b.add(("component filter", name, stmt.name.text), stmt.name.span, True, where, stmt)
        b.expression(stmt.expr, where, ROW_BUILTINS)
    elif isinstance(stmt, ast.RateStmt):
        b.expression(stmt.expr, where, ROW_BUILTINS)
    elif isinstance(stmt, ast.PayRowStmt):
        b.expression(stmt.amount, where, ROW_BUILTINS)
    elif isinstance(stmt, ast.PayOnceStmt):
        b.expression(stmt.amount.expr, where, PERIOD_END_BUILTINS, columns_first=False)
        b.expression(stmt.condition, where, PERIOD_END_BUILTINS, columns_first=False)
    elif isinstance(stmt, ast.MultiplierStmt):
        b.expression(stmt.factor, where, ROW_BUILTINS)
        b.expression(stmt.condition, where, ROW_BUILTINS)
    elif isinstance(stmt, ast.GateStmt):
        b.expression(stmt.condition, where, PERIOD_END_BUILTINS, columns_first=False)
    elif isinstance(stmt, (ast.TiersBlock, ast.AcceleratorBlock)):
        for row in stmt.rows:
            b.expression(row.rate, where, ROW_BUILTINS)
    elif isinstance(stmt, ast.CapStmt):
        _cap(b, stmt, where)


def _cap(b: _Builder, stmt: ast.CapStmt, where: str) -> None:
    b.expression(stmt.amount.expr, where)
    for cover in stmt.covers:
        if not cover.credit:
            b.add(("component", "", cover.name.text), cover.name.span, False, where)


def _test(b: _Builder, block: ast.TestBlock) -> None:
    where = f'test "{block.name.value}"'
    for stmt in block.statements:
        if isinstance(stmt, ast.TestData):
            for inner in stmt.statements:
                if isinstance(inner, ast.ColumnsStmt):
                    for name in inner.names:
                        b.add(("column", "", name.text), name.span, False, where)
        elif isinstance(stmt, ast.TableBlock):
            _table(b, stmt, in_test=where)
        elif isinstance(stmt, ast.Expect):
            if stmt.component is not None:
                b.add(("component", "", stmt.component.text), stmt.component.span, False, where)
            if stmt.what == "excluded" and stmt.reason is not None:
                b.add(("filter", "", stmt.reason.text), stmt.reason.span, False, where)
