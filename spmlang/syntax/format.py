"""``spm fmt``: one canonical layout for plan files, keeping every comment.

The layout is printed from the syntax tree: two-space indentation, one
statement per line, canonical spacing and numbers (``$1,000``), aligned
columns for column declarations, tier tables, curve points and table rows,
one blank line between top-level blocks, and a single blank line kept where
the author left one between statements. Comments are not in the tree: they
are found in the text and put back by line, before the statement that follows
them or after the statement they end. Formatting twice changes nothing.

The text of each node is canonical.py's; here is the layout of a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spmlang.syntax import ast
from spmlang.syntax.canonical import TableRow, cells, literal
from spmlang.syntax.lexical import comment_of
from spmlang.syntax.parser import parse

INDENT = "  "


@dataclass
class Comment:
    line: int
    text: str
    own_line: bool


def find_comments(source: str) -> list[Comment]:
    """Every ``#`` comment outside strings, with its line and whether it stands on a line of its own."""
    comments = []
    for number, line in enumerate(source.splitlines(), 1):
        comment = comment_of(line)
        if comment is not None:
            comments.append(Comment(number, comment.rstrip(), not line[: len(line) - len(comment)].strip()))
    return comments


def format_source(source: str, path: str = "<plan>") -> str:
    """The canonical form of a plan file. Raises PlanError if it does not parse."""
    return Formatter(source, path).format()


# ---------------------------------------------------------------------- layout

BLOCKS = (
    ast.TiersBlock,
    ast.AcceleratorBlock,
    ast.CurveBlock,
    ast.RowsBlock,
    ast.TestData,
    ast.TableBlock,
    ast.FromBlock,
)


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
            if isinstance(child, BLOCKS) or isinstance(
                child, (ast.PlanBlock, ast.ComponentBlock, ast.TestBlock, ast.DrawBlock)
            ):
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
        header = _header(stmt)
        if header is not None:
            self._block(header[0], stmt.span, header[1], depth)
        elif isinstance(stmt, ast.RowsBlock):
            table_rows = [TableRow(values, span) for values, span in zip(stmt.rows, stmt.row_spans, strict=True)]
            self._block("rows", stmt.span, table_rows, depth)
        elif isinstance(stmt, ast.CurveBlock):
            children: list[ast.CurvePoint | ast.Name] = sorted(
                [*stmt.points, *stmt.extends], key=lambda c: (c.span.line, c.span.column)
            )
            self._block(f"curve on {' '.join(w.text for w in stmt.basis)}", stmt.span, children, depth)
        else:
            _, row = cells(stmt)
            rows = group or [row]
            text = _line_text(rows, row)
            trailing = self._trailing(stmt.span.line, stmt.span.end_line)
            if trailing:  # trailing comments of a group line up in one column
                text = text.ljust(max(len(_line_text(rows, other)) for other in rows))
            self.out.append(INDENT * depth + text + trailing)


def _header(stmt) -> tuple[str, list] | None:
    """A block's header line (without its brace) and the statements inside it; None for another statement."""
    if isinstance(stmt, ast.PlanBlock):
        return f"plan {literal(stmt.name)}", list(stmt.settings)
    if isinstance(stmt, ast.TableBlock):
        return stmt.kind.text + (f" {stmt.name.text}" if stmt.name else ""), list(stmt.statements)
    if isinstance(stmt, ast.ComponentBlock):
        return f"{stmt.kind.text} {stmt.name.text}", list(stmt.statements)
    if isinstance(stmt, ast.FromBlock):
        return f"from {stmt.date.text}", list(stmt.statements)
    if isinstance(stmt, ast.DrawBlock):
        return "draw", list(stmt.statements)
    if isinstance(stmt, (ast.TransactionsBlock, ast.TestData)):
        return "transactions", list(stmt.statements)
    if isinstance(stmt, ast.TestBlock):
        return f"test {literal(stmt.name)}", list(stmt.statements)
    if isinstance(stmt, ast.TiersBlock):
        return f"tiers {stmt.mode.text} on {' '.join(w.text for w in stmt.basis)}", list(stmt.rows)
    if isinstance(stmt, ast.AcceleratorBlock):
        return f"accelerator on {' '.join(w.text for w in stmt.basis)}", list(stmt.rows)
    return None


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
