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

from dataclasses import dataclass
from decimal import Decimal

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
    text = _expression(node)
    own = _precedence(node)
    if own < parent or (right and own == parent and own < 9):
        return f"({text})"
    return text


def _expression(node) -> str:
    if isinstance(node, ast.Literal):
        return literal(node)
    if isinstance(node, ast.Ref):
        return node.name
    if isinstance(node, ast.Lookup):
        column = f".{node.column.text}" if node.column else ""
        return f"{node.table.text}[{expression(node.key)}]{column}"
    if isinstance(node, ast.Call):
        args = []
        for arg in node.args:  # a loop, not a generator: one frame fewer per level of nesting
            args.append(expression(arg))
        return f"{node.function.text}({', '.join(args)})"
    if isinstance(node, ast.Unary):
        if node.op == "not":
            return f"not {expression(node.operand, _PRECEDENCE['not'])}"
        return f"-{expression(node.operand, _PRECEDENCE['neg'])}"
    if isinstance(node, ast.Binary):
        own = _PRECEDENCE[node.op]
        return f"{expression(node.left, own)} {node.op} {expression(node.right, own, right=True)}"
    compare = _PRECEDENCE["compare"] + 1
    if isinstance(node, ast.Compare):
        return f"{expression(node.left, compare)} {node.op} {expression(node.right, compare)}"
    if isinstance(node, ast.InList):
        values = ", ".join(literal(v) for v in node.values)
        return f"{expression(node.operand, compare)} {'not in' if node.negated else 'in'} [{values}]"
    if isinstance(node, ast.InRange):
        return (
            f"{expression(node.operand, compare)} in {expression(node.low, compare)} .. "
            f"{expression(node.high, compare)}"
        )
    if isinstance(node, ast.IsEmpty):
        return f"{expression(node.operand, compare)} is {'not empty' if node.negated else 'empty'}"
    if isinstance(node, ast.IfExpr):
        return f"if {expression(node.condition)} then {expression(node.then)} else {expression(node.otherwise)}"
    raise AssertionError(type(node).__name__)


def amount(node: ast.Amount) -> str:
    return expression(node.expr) + (" of target" if node.of_target else "")


def bound(node: ast.Bound) -> str:
    kind = {"number": "number", "money": "money", "percent": "percent"}[node.kind]
    return literal(ast.Literal(kind, node.text, node.value, node.span))


# ---------------------------------------------------------------------- statements

BLOCKS = (ast.TiersBlock, ast.AcceleratorBlock, ast.CurveBlock, ast.RowsBlock, ast.TestData, ast.TableBlock)


def cells(stmt) -> tuple[str, list[str]]:
    """A one-line statement as (alignment group, cells). Cells of one group are aligned in columns."""
    if isinstance(stmt, ast.Setting):
        words = {"year": "year starts", "attainment": "attainment against"}.get(stmt.key, stmt.key)
        values = [literal(v) if isinstance(v, ast.Literal) else v.text for v in stmt.values]
        return "setting", [words, " ".join(values)]
    if isinstance(stmt, ast.ColumnStmt):
        row = ["column", stmt.name.text, stmt.type.text]
        return "column", row + ([literal(stmt.format)] if stmt.format else [])
    if isinstance(stmt, ast.KeyStmt):
        return "role", ["key", stmt.column.text]
    if isinstance(stmt, ast.DateStmt):
        return "role", ["date", stmt.column.text]
    if isinstance(stmt, ast.PayeeStmt):
        share = f" share {expression(stmt.share)}" if stmt.share is not None else ""
        return "role", ["payee", stmt.column.text + share]
    if isinstance(stmt, ast.CreditStmt):
        return "role", ["credit", expression(stmt.expr)]
    if isinstance(stmt, ast.RoleStmt):
        return "role", [stmt.role, stmt.column.text]
    if isinstance(stmt, ast.FileStmt):
        return "file", ["file", literal(stmt.path)]
    if isinstance(stmt, ast.WhereStmt):
        name = f"{stmt.name.text}: " if stmt.name else ""
        return "where", [f"where {name}{expression(stmt.expr)}"]
    if isinstance(stmt, ast.RollupStmt):
        source = f" from {stmt.table.text}" if stmt.table else ""
        return "rollup", [f"rollup to {stmt.column.text}{source}"]
    if isinstance(stmt, ast.PolicyStmt):
        return "policy", ["on", stmt.subject.text, stmt.action.text]
    if isinstance(stmt, ast.PerStmt):
        return "per", [f"per {stmt.unit.text}"]
    if isinstance(stmt, ast.DefaultStmt):
        return "default", [f"default {literal(stmt.value)}"]
    if isinstance(stmt, ast.ColumnsStmt):
        return "columns", ["columns " + " ".join(n.text for n in stmt.names)]
    if isinstance(stmt, ast.OnCreditStmt):
        return "on", [f"on {stmt.role.text} credit"]
    if isinstance(stmt, ast.RateStmt):
        return "rate", [f"rate {expression(stmt.expr)}"]
    if isinstance(stmt, ast.PayRowStmt):
        return "pay", [f"pay {expression(stmt.amount)} per {stmt.unit.text}"]
    if isinstance(stmt, ast.PayOnceStmt):
        by = f" by {stmt.by.text}" if stmt.by else ""
        return "pay", [f"pay {amount(stmt.amount)} once when {expression(stmt.condition)}{by}"]
    if isinstance(stmt, ast.MultiplierStmt):
        return "multiplier", [f"multiplier {expression(stmt.factor)} when {expression(stmt.condition)}"]
    if isinstance(stmt, ast.CapStmt):
        covers = ", ".join(c.name.text + (" credit" if c.credit else "") for c in stmt.covers)
        return "cap", [f"cap {amount(stmt.amount)} per {stmt.per.text}" + (f" for {covers}" if covers else "")]
    if isinstance(stmt, ast.GateStmt):
        return "gate", [f"gate {expression(stmt.condition)}"]
    if isinstance(stmt, ast.TierRow):
        value = f"rate {expression(stmt.rate)}" if stmt.rate is not None else literal(stmt.multiplier)
        return "tier", [bound(stmt.low), "..", bound(stmt.high) if stmt.high else "", value]
    if isinstance(stmt, ast.CurvePoint):
        return "point", [bound(stmt.x), "->", amount(stmt.y)]
    if isinstance(stmt, ast.Name):  # extend above / below in a curve
        return "extend", [f"extend {stmt.text}"]
    if isinstance(stmt, ast.StrictStmt):
        return "strict", ["strict"]
    if isinstance(stmt, ast.Expect):
        return "expect", [expect(stmt)]
    if isinstance(stmt, _Row):
        return "row", [literal(v) for v in stmt.values]
    raise AssertionError(type(stmt).__name__)


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


@dataclass
class _Row:
    values: tuple
    span: object


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
