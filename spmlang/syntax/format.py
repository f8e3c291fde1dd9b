"""``spm fmt``: one canonical layout for plan files, keeping every comment.

The layout is printed from the syntax tree: two-space indentation, one
statement per line, canonical spacing and numbers (``$1,000``), aligned
columns for column declarations, tier tables, curve points and table rows,
one blank line between top-level blocks, and a single blank line kept where
the author left one between statements. Comments are not in the tree: they
are found in the text and put back by line, before the statement that follows
them or after the statement they end. Formatting twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from spmlang.syntax import ast
from spmlang.syntax.parser import parse

INDENT = "  "
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


@dataclass
class Comment:
    line: int
    text: str
    own_line: bool


def find_comments(source: str) -> list[Comment]:
    """Every ``#`` comment outside strings, with its line and whether it stands on a line of its own."""
    comments = []
    for number, line in enumerate(source.splitlines(), 1):
        in_string = escaped = False
        for index, char in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                comments.append(Comment(number, line[index:].rstrip(), not line[:index].strip()))
                break
    return comments


def format_source(source: str, path: str = "<plan>") -> str:
    """The canonical form of a plan file. Raises PlanError if it does not parse."""
    return Formatter(source, path).format()


# ---------------------------------------------------------------------- expressions


def literal(node: ast.Literal) -> str:
    kind, value = node.kind, node.value
    if kind == "string":
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "money":
        symbol = node.text.lstrip("-")[0]
        sign = "-" if value < 0 else ""
        magnitude = abs(value)
        decimals = max(-magnitude.as_tuple().exponent, 0)
        return f"{sign}{symbol}{magnitude:,.{decimals}f}"
    if kind == "percent":
        shown = (value * 100).normalize()
        return f"{shown:f}%"
    if kind == "multiplier":
        return f"{value.normalize():f}x"
    if kind == "number":
        return node.text
    if kind == "bool":
        return "true" if value else "false"
    return node.text  # date, period, word, empty


def _precedence(node) -> int:
    if isinstance(node, ast.IfExpr):
        return 0
    if isinstance(node, ast.Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, ast.Unary):
        return _PRECEDENCE["not" if node.op == "not" else "neg"]
    if isinstance(node, (ast.Compare, ast.InList, ast.InRange, ast.IsEmpty)):
        return _PRECEDENCE["compare"]
    return 9


def expression(node, parent: int = 0, right: bool = False) -> str:
    text = _TEXT[type(node)](node)  # a table, not a chain of isinstance: one frame fewer per level of nesting
    own = _precedence(node)
    if own < parent or (right and own == parent and own < 9):
        return f"({text})"
    return text


def _call(node: ast.Call) -> str:
    args = []
    for arg in node.args:  # a loop, not a generator: one frame fewer per level of nesting
        args.append(expression(arg))
    return f"{node.function.text}({', '.join(args)})"


def _unary(node: ast.Unary) -> str:
    if node.op == "not":
        return f"not {expression(node.operand, _PRECEDENCE['not'])}"
    return f"-{expression(node.operand, _PRECEDENCE['neg'])}"


def _binary(node: ast.Binary) -> str:
    own = _PRECEDENCE[node.op]
    return f"{expression(node.left, own)} {node.op} {expression(node.right, own, right=True)}"


_COMPARED = _PRECEDENCE["compare"] + 1  # what a comparison's operands bind tighter than


def _compare(node: ast.Compare) -> str:
    return f"{expression(node.left, _COMPARED)} {node.op} {expression(node.right, _COMPARED)}"


def _in_list(node: ast.InList) -> str:
    values = ", ".join(literal(v) for v in node.values)
    return f"{expression(node.operand, _COMPARED)} {'not in' if node.negated else 'in'} [{values}]"


def _in_range(node: ast.InRange) -> str:
    return (
        f"{expression(node.operand, _COMPARED)} in {expression(node.low, _COMPARED)} .. "
        f"{expression(node.high, _COMPARED)}"
    )


def _is_empty(node: ast.IsEmpty) -> str:
    return f"{expression(node.operand, _COMPARED)} is {'not empty' if node.negated else 'empty'}"


def _if(node: ast.IfExpr) -> str:
    return f"if {expression(node.condition)} then {expression(node.then)} else {expression(node.otherwise)}"


def _lookup(node: ast.Lookup) -> str:
    column = f".{node.column.text}" if node.column else ""
    return f"{node.table.text}[{expression(node.key)}]{column}"


def _ref(node: ast.Ref) -> str:
    return node.name


# The text of each kind of expression node, its operands in parentheses where they bind looser than it.
_TEXT: dict[type, Callable[[Any], str]] = {
    ast.Literal: literal,
    ast.Ref: _ref,
    ast.Lookup: _lookup,
    ast.Call: _call,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.Compare: _compare,
    ast.InList: _in_list,
    ast.InRange: _in_range,
    ast.IsEmpty: _is_empty,
    ast.IfExpr: _if,
}


def amount(node: ast.Amount) -> str:
    return expression(node.expr) + (" of target" if node.of_target else "")


def bound(node: ast.Bound) -> str:
    kind = {"number": "number", "money": "money", "percent": "percent"}[node.kind]
    return literal(ast.Literal(kind, node.text, node.value, node.span))


# ---------------------------------------------------------------------- statements

BLOCKS = (ast.TiersBlock, ast.AcceleratorBlock, ast.CurveBlock, ast.RowsBlock, ast.TestData, ast.TableBlock)


@dataclass
class _Row:
    """A row of a table's rows block, aligned with the others."""

    values: tuple
    span: object


def cells(stmt) -> tuple[str, list[str]]:
    """A one-line statement as (alignment group, cells). Cells of one group are aligned in columns."""
    return _CELLS[type(stmt)](stmt)


def _setting(stmt: ast.Setting) -> tuple[str, list[str]]:
    words = {"year": "year starts", "attainment": "attainment against"}.get(stmt.key, stmt.key)
    values = [literal(v) if isinstance(v, ast.Literal) else v.text for v in stmt.values]
    return "setting", [words, " ".join(values)]


def _column(stmt: ast.ColumnStmt) -> tuple[str, list[str]]:
    row = ["column", stmt.name.text, stmt.type.text]
    return "column", row + ([literal(stmt.format)] if stmt.format else [])


def _payee(stmt: ast.PayeeStmt) -> tuple[str, list[str]]:
    share = f" share {expression(stmt.share)}" if stmt.share is not None else ""
    return "role", ["payee", stmt.column.text + share]


def _where(stmt: ast.WhereStmt) -> tuple[str, list[str]]:
    name = f"{stmt.name.text}: " if stmt.name else ""
    return "where", [f"where {name}{expression(stmt.expr)}"]


def _rollup(stmt: ast.RollupStmt) -> tuple[str, list[str]]:
    source = f" from {stmt.table.text}" if stmt.table else ""
    return "rollup", [f"rollup to {stmt.column.text}{source}"]


def _pay_once(stmt: ast.PayOnceStmt) -> tuple[str, list[str]]:
    by = f" by {stmt.by.text}" if stmt.by else ""
    return "pay", [f"pay {amount(stmt.amount)} once when {expression(stmt.condition)}{by}"]


def _cap(stmt: ast.CapStmt) -> tuple[str, list[str]]:
    covers = ", ".join(c.name.text + (" credit" if c.credit else "") for c in stmt.covers)
    return "cap", [f"cap {amount(stmt.amount)} per {stmt.per.text}" + (f" for {covers}" if covers else "")]


def _tier(stmt: ast.TierRow) -> tuple[str, list[str]]:
    value = f"rate {expression(stmt.rate)}" if stmt.rate is not None else literal(stmt.multiplier)
    return "tier", [bound(stmt.low), "..", bound(stmt.high) if stmt.high else "", value]


# Each one-line statement as its alignment group and cells.
_CELLS: dict[type, Callable[[Any], tuple[str, list[str]]]] = {
    ast.Setting: _setting,
    ast.ColumnStmt: _column,
    ast.KeyStmt: lambda stmt: ("role", ["key", stmt.column.text]),
    ast.DateStmt: lambda stmt: ("role", ["date", stmt.column.text]),
    ast.PayeeStmt: _payee,
    ast.CreditStmt: lambda stmt: ("role", ["credit", expression(stmt.expr)]),
    ast.RoleStmt: lambda stmt: ("role", [stmt.role, stmt.column.text]),
    ast.FileStmt: lambda stmt: ("file", ["file", literal(stmt.path)]),
    ast.WhereStmt: _where,
    ast.RollupStmt: _rollup,
    ast.PolicyStmt: lambda stmt: ("policy", ["on", stmt.subject.text, stmt.action.text]),
    ast.PerStmt: lambda stmt: ("per", [f"per {stmt.unit.text}"]),
    ast.DefaultStmt: lambda stmt: ("default", [f"default {literal(stmt.value)}"]),
    ast.ColumnsStmt: lambda stmt: ("columns", ["columns " + " ".join(n.text for n in stmt.names)]),
    ast.OnCreditStmt: lambda stmt: ("on", [f"on {stmt.role.text} credit"]),
    ast.RateStmt: lambda stmt: ("rate", [f"rate {expression(stmt.expr)}"]),
    ast.PayRowStmt: lambda stmt: ("pay", [f"pay {expression(stmt.amount)} per {stmt.unit.text}"]),
    ast.PayOnceStmt: _pay_once,
    ast.MultiplierStmt: lambda stmt: (
        "multiplier",
        [f"multiplier {expression(stmt.factor)} when {expression(stmt.condition)}"],
    ),
    ast.CapStmt: _cap,
    ast.GateStmt: lambda stmt: ("gate", [f"gate {expression(stmt.condition)}"]),
    ast.TierRow: _tier,
    ast.CurvePoint: lambda stmt: ("point", [bound(stmt.x), "->", amount(stmt.y)]),
    ast.Name: lambda stmt: ("extend", [f"extend {stmt.text}"]),  # extend above / below in a curve
    ast.StrictStmt: lambda stmt: ("strict", ["strict"]),
    ast.Expect: lambda stmt: ("expect", [expect(stmt)]),
    _Row: lambda stmt: ("row", [literal(v) for v in stmt.values]),
}


def expect(stmt: ast.Expect) -> str:
    if stmt.what == "error":
        return f"expect error {stmt.subject.text}" + (f" {literal(stmt.value)}" if stmt.value else "")
    if stmt.what in ("reject", "excluded"):
        return f"expect {stmt.what} {literal(stmt.subject)}" + (f" {stmt.reason.text}" if stmt.reason else "")
    parts = [f"expect {stmt.what} {literal(stmt.subject)}"]
    if stmt.period is not None:
        parts.append(f"in {literal(stmt.period)}")
    if stmt.component is not None:
        parts.append(f"for {stmt.component.text}")
    if stmt.payee is not None:
        parts.append(f"of {literal(stmt.payee)}")
    return " ".join(parts) + f" == {literal(stmt.value)}"


def _line_text(group_cells: list[list[str]], row: list[str]) -> str:
    """Cells padded to the widest of their column in the group (the last cell is not padded)."""
    widths = [max(len(r[i]) if i < len(r) else 0 for r in group_cells) for i in range(len(row))]
    padded = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
    return " ".join(padded).rstrip()


class Formatter:
    def __init__(self, source: str, path: str):
        self.source = source
        self.tree = parse(source, path)
        self.comments = find_comments(source)
        lines = source.splitlines()
        self.blank = {i for i, line in enumerate(lines, 1) if not line.strip()}
        self.out: list[str] = []

    # ------------------------------------------------------------ comments
    def _own_comments_before(self, line: int, depth: int) -> None:
        # Own-line comments, and any trailing comment its statement did not take, go on their own lines;
        # a blank line after a comment in the source stays.
        while self.comments and self.comments[0].line < line:
            comment = self.comments.pop(0)
            self.out.append(INDENT * depth + comment.text)
            following = self.comments[0].line if self.comments and self.comments[0].line < line else line
            if self._blank_between(comment.line, following) and line < 10**9:
                self.out.append("")

    def _trailing(self, first: int, last: int) -> str:
        taken = [c for c in self.comments if first <= c.line <= last and not c.own_line]
        for comment in taken:
            self.comments.remove(comment)
        return "  " + "  ".join(c.text for c in taken) if taken else ""

    def _blank_between(self, previous_end: int, line: int) -> bool:
        return any(previous_end < number < line for number in self.blank)

    # ------------------------------------------------------------ layout
    def format(self) -> str:
        previous_end = None
        for item in self.tree.items:
            span = item.span
            if previous_end is not None:
                self.out.append("")
            self._own_comments_before(span.line, 0)
            self._statement(item, 0, [])
            previous_end = span.end_line
        self._own_comments_before(10**9, 0)
        while self.out and not self.out[-1].strip():
            self.out.pop()
        return "\n".join(self.out) + "\n"

    def _block(self, header: str, span, children: list, depth: int) -> None:
        self.out.append(INDENT * depth + header + " {" + self._trailing(span.line, span.line))
        previous_end = span.line
        groups = self._groups(children)
        for index, child in enumerate(children):
            child_span = child.span
            if index and self._blank_between(previous_end, child_span.line):
                if self.out[-1].strip():
                    self.out.append("")
            self._own_comments_before(child_span.line, depth + 1)
            self._statement(child, depth + 1, groups[index])
            previous_end = child_span.end_line
        self._own_comments_before(span.end_line, depth + 1)
        self.out.append(INDENT * depth + "}" + self._trailing(span.end_line, span.end_line))

    def _groups(self, children: list) -> list[list[list[str]]]:
        """For each child, the cells of its alignment group (consecutive one-line statements of one kind)."""
        result: list[list[list[str]]] = []
        current: list[list[str]] = []
        previous = None
        for child in children:
            if isinstance(child, BLOCKS) or isinstance(child, (ast.PlanBlock, ast.ComponentBlock, ast.TestBlock)):
                current, previous = [], None
                result.append([])
                continue
            group, row = cells(child)
            if previous is None or group != previous[0] or self._blank_between(previous[1], child.span.line):
                current = []
            current.append(row)
            result.append(current)
            previous = (group, child.span.end_line)
        return result

    def _statement(self, stmt, depth: int, group: list[list[str]]) -> None:
        if isinstance(stmt, ast.PlanBlock):
            self._block(f"plan {literal(stmt.name)}", stmt.span, list(stmt.settings), depth)
        elif isinstance(stmt, ast.TransactionsBlock):
            self._block("transactions", stmt.span, list(stmt.statements), depth)
        elif isinstance(stmt, ast.TableBlock):
            name = f" {stmt.name.text}" if stmt.name else ""
            self._block(f"{stmt.kind.text}{name}", stmt.span, list(stmt.statements), depth)
        elif isinstance(stmt, ast.ComponentBlock):
            self._block(f"{stmt.kind.text} {stmt.name.text}", stmt.span, list(stmt.statements), depth)
        elif isinstance(stmt, ast.TestBlock):
            self._block(f"test {literal(stmt.name)}", stmt.span, list(stmt.statements), depth)
        elif isinstance(stmt, ast.TestData):
            self._block("transactions", stmt.span, list(stmt.statements), depth)
        elif isinstance(stmt, ast.RowsBlock):
            rows = [_Row(values, span) for values, span in zip(stmt.rows, stmt.row_spans, strict=True)]
            self._block("rows", stmt.span, rows, depth)
        elif isinstance(stmt, ast.TiersBlock):
            header = f"tiers {stmt.mode.text} on {' '.join(w.text for w in stmt.basis)}"
            self._block(header, stmt.span, list(stmt.rows), depth)
        elif isinstance(stmt, ast.AcceleratorBlock):
            self._block(f"accelerator on {' '.join(w.text for w in stmt.basis)}", stmt.span, list(stmt.rows), depth)
        elif isinstance(stmt, ast.CurveBlock):
            children = sorted([*stmt.points, *stmt.extends], key=lambda c: (c.span.line, c.span.column))
            self._block(f"curve on {' '.join(w.text for w in stmt.basis)}", stmt.span, children, depth)
        else:
            _, row = cells(stmt)
            rows = group or [row]
            text = _line_text(rows, row)
            trailing = self._trailing(stmt.span.line, stmt.span.end_line)
            if trailing:  # trailing comments of a group line up in one column
                text = text.ljust(max(len(_line_text(rows, other)) for other in rows))
            self.out.append(INDENT * depth + text + trailing)


def is_formatted(source: str, path: str = "<plan>") -> bool:
    return format_source(source, path) == source


def strip_positions(node):
    """A tree with spans and source texts removed: what a plan means, to compare before and after formatting."""
    if isinstance(node, ast.PlanFile):
        return strip_positions(node.items)
    if isinstance(node, (list, tuple)):
        parts = []
        for part in node:  # loops, not generators: one frame per level of nesting (see MAX_EXPRESSION_DEPTH)
            parts.append(strip_positions(part))
        return tuple(parts)
    if isinstance(node, ast.Literal):
        return ("literal", node.kind, node.value)
    if isinstance(node, ast.Bound):
        return ("bound", node.kind, node.value)
    if hasattr(node, "__dataclass_fields__"):
        parts = [type(node).__name__]
        for name in node.__dataclass_fields__:
            if name not in ("span", "row_spans"):
                parts.append(strip_positions(getattr(node, name)))
        return tuple(parts)
    if isinstance(node, Decimal):
        return node
    return node
