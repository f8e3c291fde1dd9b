"""What may be typed at the cursor: the keywords the grammar accepts there, and the names that fit.

Keywords come from the parser itself: the text of the block the cursor is in, up to the cursor, is fed to
spm's LALR parser, which says which words it accepts next (`per`, `once` after `pay $100`). Names come from the
declarations, by what the statement needs: a declared column after `key`, a column type after
`column NAME`, the table's columns after `products[product].`, components after `cap ... for`, and in an
expression the columns, the values spm provides there (`credit`, `attainment` ...), lookup tables and
functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spmlang.check.words import DRAW_KIND_WORDS
from spmlang.lsp import plan_model as pm
from spmlang.lsp.analysis import Analysis, analysable
from spmlang.lsp.plan_model import ast
from spmlang.lsp.symbols import PERIOD_END_BUILTINS, ROW_BUILTINS
from spmlang.lsp.text import code_part, lines_of


@dataclass(frozen=True)
class Item:
    label: str
    kind: str  # keyword, column, table, component, filter, function, builtin, value
    detail: str = ""


# Statement words of each block, for when the parser cannot say (the block has an error before the cursor).
STARTERS = {
    "": (
        "plan",
        "transactions",
        "quotas",
        "targets",
        "roster",
        "fx",
        "table",
        "component",
        "spif",
        "bonus",
        "cap",
        "draw",
        "test",
    ),
    "plan": ("version", "currency", "year", "payout", "measure", "attainment", "clawback"),
    "transactions": (
        "file",
        "column",
        "key",
        "date",
        "payee",
        "credit",
        "where",
        "rollup",
        "on",
        "cancelled",
        "refunded",
        "currency",
        "fallback",
    ),
    "table": ("file", "column", "key", "value", "default", "rows"),
    "quotas": ("file", "column", "per", "payee", "period", "amount", "start", "end", "rows"),
    "targets": ("file", "column", "per", "payee", "period", "amount", "start", "end", "rows"),
    "roster": (
        "file",
        "column",
        "payee",
        "manager",
        "start",
        "end",
        "plan",
        "currency",
        "eligibility",
        "prorate",
        "rows",
    ),
    "fx": ("file", "column", "date", "currency", "rate", "rows"),
    "component": (
        "on",
        "where",
        "rate",
        "pay",
        "tiers",
        "accelerator",
        "curve",
        "multiplier",
        "cap",
        "gate",
        "clawback",
        "payable",
        "from",
    ),
    "draw": ("amount", "recoverable", "non_recoverable", "recover", "until"),
    "curve": ("extend",),
    "test": ("transactions", "quotas", "targets", "roster", "fx", "table", "expect", "strict"),
    "test transactions": ("columns", "rows"),
}
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[$€£]?[0-9][0-9,._]*[%x]?|[A-Za-z_][A-Za-z0-9_]*|\.\.|->|[^\sA-Za-z0-9_]')
_PARTIAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
# The plan block's settings that take a word of a closed set: what is written so far -> the set.
_PLAN_SETTINGS = {
    ("payout",): "payout",
    ("measure",): "measure",
    ("attainment", "against"): "attainment basis",
    ("clawback",): "clawback",
}
_EXPRESSION_WORDS = ("credit", "where", "share", "rate", "pay", "multiplier", "gate", "when", "refunded")


def complete(analysis: Analysis, line: int, column: int) -> list[Item]:
    lines = lines_of(analysable(analysis.text))
    if not 1 <= line <= len(lines):
        return []
    before_cursor = lines[line - 1][: column - 1]
    code = code_part(before_cursor)
    if len(code) < len(before_cursor) or code.count('"') % 2:
        return []  # in a comment or a text
    partial = _PARTIAL.search(code)
    before = code[: partial.start()] if partial else code
    home = analysis.declarations
    lookup = _looked_up_table(before)
    if lookup is not None:
        return [
            Item(name, "column", _column_type(home, ("table column", lookup, name)))
            for name in home.index.names("table column", lookup)
        ]
    blocks, block_start = _enclosing_blocks(lines, line, before)
    words = [t for t in _TOKEN.findall(_statement(before))]
    accepted = _accepted(lines, block_start, line, before)
    items: list[Item] = []
    if accepted is not None:
        keywords, name_accepted = accepted
    else:
        statement_start = not words
        keywords = set(STARTERS.get(_block_word(blocks), ())) if statement_start else set()
        name_accepted = not statement_start
    if not words and _block_word(blocks) == "draw":  # the words a draw's kind is written in (a name, to the parser)
        keywords = set(keywords) | set(DRAW_KIND_WORDS)
    items += [Item(word, "keyword") for word in sorted(keywords)]
    if name_accepted:
        items += _names(home, analysis, blocks, words)
    return items


def _statement(before: str) -> str:
    """The statement being written: the line after its last `{`, `}` or `;`."""
    cut = max(before.rfind("{"), before.rfind("}"), before.rfind(";"))
    return before[cut + 1 :]


def _looked_up_table(before: str) -> str | None:
    """`products[product].` before the cursor: the table looked up (brackets may nest)."""
    text = before.rstrip()
    if not text.endswith("."):
        return None
    index = len(text) - 2
    while index >= 0 and text[index] == " ":
        index -= 1
    if index < 0 or text[index] != "]":
        return None
    depth = 0
    while index >= 0:
        if text[index] == "]":
            depth += 1
        elif text[index] == "[":
            depth -= 1
            if depth == 0:
                break
        index -= 1
    match = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[: max(index, 0)])
    return match.group(1) if match and index >= 0 else None


def _enclosing_blocks(lines: list[str], line: int, before: str) -> tuple[list[list[str]], int]:
    """The headers (as words) of the blocks around the cursor, outermost first, and the line (1-based) where
    the outermost one starts (the cursor's line if it is in none)."""
    stack: list[tuple[list[str], int]] = []
    texts = [code_part(text) for text in lines[: line - 1]] + [before]
    for number, text in enumerate(texts, 1):
        start = 0
        for index, char in enumerate(text):
            if char == "{":
                header = text[start:index]
                stack.append((_TOKEN.findall(header), number))
                start = index + 1
            elif char == "}":
                if stack:
                    stack.pop()
                start = index + 1
            elif char == ";":
                start = index + 1
    return [words for words, _ in stack], (stack[0][1] if stack else line)


def _block_word(blocks: list[list[str]]) -> str:
    if not blocks:
        return ""
    inner = blocks[-1][0] if blocks[-1] else ""
    outer = blocks[0][0] if blocks[0] else ""
    if outer == "test" and len(blocks) > 1 and inner == "transactions":
        return "test transactions"
    if inner in ("spif", "bonus", "from"):  # a dated version (`from DATE`) reads as its component does
        return "component"
    return inner


def _accepted(lines: list[str], block_start: int, line: int, before: str):
    """The parser's word on what may come next, reading only the top-level block the cursor is in (an error
    in another block does not matter here)."""
    prefix = "\n".join(lines[block_start - 1 : line - 1] + [before])
    return pm.accepted_words(prefix)


def _column_type(home: Analysis, key) -> str:
    stmt = home.index.declarations.get(key)
    return stmt.type.text if isinstance(stmt, ast.ColumnStmt) else ""


def _names(home: Analysis, analysis: Analysis, blocks: list[list[str]], words: list[str]) -> list[Item]:
    names = _Names(home, blocks, words)
    block, first = names.block, names.first
    in_test = bool(blocks and blocks[0] and blocks[0][0] == "test")
    if block == "plan":
        return names.plan()
    if first == "column" and len(words) == 2:
        return names.values("column type")
    if block == "transactions":
        found = names.transactions()
        if found is not None:
            return found
    if block in ("quotas", "targets", "roster", "table") and blocks and blocks[0] and not in_test:
        return names.table()
    if in_test:
        return _test_names(home, blocks, words, names.columns, names.components)
    if first == "cap":
        return names.cap()
    if block in ("component", "tiers", "accelerator", "curve"):
        return names.component()
    if block == "transactions" and (first in _EXPRESSION_WORDS or not words):
        return _expression_names(home, (), names.columns)
    return []


class _Names:
    """The names that may come after ``words``, at the start of a statement in ``blocks`` (outermost first)."""

    def __init__(self, home: Analysis, blocks: list[list[str]], words: list[str]):
        self.home, self.blocks, self.words = home, blocks, words
        self.block = _block_word(blocks)
        self.first = words[0] if words else ""
        self.last = words[-1] if words else ""

    def values(self, kind: str, detail: str = "") -> list[Item]:
        return [Item(word, "value", detail or kind) for word in pm.WORDS[kind]]

    def columns(self) -> list[Item]:
        index = self.home.index
        return [Item(name, "column", _column_type(self.home, ("column", "", name))) for name in index.names("column")]

    def components(self) -> list[Item]:
        return [Item(name, "component", "component") for name in self.home.index.names("component")]

    def plan(self) -> list[Item]:
        kind = _PLAN_SETTINGS.get(tuple(self.words))
        return self.values(kind) if kind is not None else []

    def transactions(self) -> list[Item] | None:
        """What a transactions statement names next; None if it is no statement of its own (an expression)."""
        words = self.words
        if words in (["key"], ["date"], ["payee"]):
            return self.columns()
        if words == ["on"]:
            return self.values("policy subject")
        if self.first == "on" and len(words) == 2:
            return self.values("policy action")
        if words == ["rollup", "to"]:
            return [Item("manager", "value", "rollup")]
        if words == ["rollup", "to", "manager", "from"]:
            return [Item("roster", "table", "roster")]
        return None

    def table(self) -> list[Item]:
        blocks, words = self.blocks, self.words
        table = blocks[-1][1] if self.block == "table" and len(blocks[-1]) > 1 else self.block
        if len(words) == 1 and self.first in ("key", "payee", "period", "amount", "manager", "value"):
            return [
                Item(name, "column", _column_type(self.home, ("table column", table, name)))
                for name in self.home.index.names("table column", table)
            ]
        if words == ["per"]:
            return self.values("table per")
        return []

    def cap(self) -> list[Item]:
        if self.last == "per":
            return self.values("cap per")
        if "for" in self.words:
            return self.components() + [
                Item("direct", "value", "direct credit"),
                Item("rollup", "value", "rollup credit"),
            ]
        return _expression_names(self.home, ROW_BUILTINS if self.block == "component" else (), self.columns)

    def component(self) -> list[Item]:
        words, first, last = self.words, self.first, self.last
        if words == ["on"]:
            return self.values("role")
        if words == ["tiers"]:
            return self.values("tier mode")
        if first in ("tiers", "accelerator", "curve") and last == "on":
            return self.values("basis")
        if words == ["extend"]:
            return self.values("extend")
        if first == "gate" or first == "pay" and "once" in words:
            return [Item(name, "builtin", "at each period end") for name in PERIOD_END_BUILTINS]
        return _expression_names(self.home, ROW_BUILTINS, self.columns)


def _expression_names(home: Analysis, builtins: tuple[str, ...], columns) -> list[Item]:
    items = columns()
    items += [
        Item(name, "builtin", "provided by spm") for name in builtins if name not in {item.label for item in items}
    ]
    for name in home.index.names("table"):
        block = home.index.declarations.get(("table", "", name))
        if isinstance(block, ast.TableBlock) and block.kind.text in ("table", "roster"):
            items.append(Item(name, "table", "lookup table: NAME[key]"))
    items += [Item(name, "function", pm.FUNCTION_ARGUMENTS[name]) for name in pm.WORDS["function"]]
    return items


def _test_names(home: Analysis, blocks, words: list[str], columns, components) -> list[Item]:
    first = words[0] if words else ""
    last = words[-1] if words else ""
    inner = blocks[-1]
    if words == ["columns"] or first == "columns":
        if inner and inner[0] == "transactions":
            return columns()
        table = inner[1] if inner and inner[0] == "table" and len(inner) > 1 else (inner[0] if inner else "")
        return [Item(name, "column", "") for name in home.index.names("table column", table)]
    if first == "expect":
        if last == "for":
            return components()
        if len(words) == 3 and words[1] == "reject":
            return [Item(word, "value", "reason") for word in pm.WORDS["policy subject"]]
        if len(words) == 3 and words[1] == "excluded":
            return [Item(name, "filter", "filter") for name in home.index.names("filter")]
    return []
