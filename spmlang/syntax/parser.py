"""Text to syntax tree.

One LALR parser, built once from ``grammar/spm.lark`` and cached. Lark's errors
never escape: they become :class:`Diagnostic` values with a position and the
tokens that were expected. After a syntax error the offending statement is
blanked out and the file parsed again, so one run reports every syntax error
of a file rather than only the first.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from pathlib import Path

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from spmlang.diagnostics import Diagnostic, PlanError, Span
from spmlang.syntax import ast
from spmlang.syntax.hints import intent_hint
from spmlang.syntax.transformer import ToAst

MAX_SYNTAX_ERRORS = 20
# A plan is a small text file; tables of data belong in data files. Past this, parse nothing.
MAX_PLAN_CHARS = 1_000_000
# How deep an expression may nest. The checker, the formatter and the engine walk expressions recursively:
# this keeps them far from Python's recursion limit, and no sensible plan comes near it.
MAX_EXPRESSION_DEPTH = 200


def grammar_path() -> Path:
    """The grammar file: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_grammar" / "spm.lark", here.parent / "grammar" / "spm.lark"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("grammar/spm.lark is missing from this installation of spmlang")


@functools.lru_cache(maxsize=1)
def grammar_parser() -> Lark:
    grammar = grammar_path().read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_table_cache(grammar),
    )


def _table_cache(grammar: str) -> str | bool:
    """Where lark keeps the parse tables of ``grammar`` between runs, so that ``spm check`` starts fast.

    In the user's own cache folder (never a shared temporary folder), a file per grammar: two versions of
    spm side by side (two projects, a CI matrix) would otherwise rebuild the tables (~0.6 s) each time the
    other had run. Lark stamps the file with a hash of the grammar, its options and its own version, and
    rebuilds it when any of them changes. With no writable cache folder (or ``SPM_NO_CACHE`` set), the
    tables are built afresh each time.
    """
    if os.environ.get("SPM_NO_CACHE"):
        return False
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = root / "spmlang"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    return str(folder / f"grammar-{digest}.lark-cache")


# How expected terminals are named to a person.
_FRIENDLY = {
    "NAME": "a name",
    "STRING": 'a text in quotes ("...")',
    "NUMBER": "a number",
    "MONEY": "an amount like $1,000",
    "PERCENT": "a percentage like 8%",
    "DATE": "a date like 2027-01-31",
    "PERIOD": "a period like 2027-Q1",
    "MULT": "a multiplier like 1.5x",
    "MINUS": "'-'",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "PLUS": "'+'",
    "MUL_OP": "'*' or '/'",
    "_NL": "end of line",
    "$END": "end of file",
}


def _describe_terminal(name: str) -> str:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    terminal = grammar_parser().get_terminal(name) if name in {t.name for t in grammar_parser().terminals} else None
    if terminal is not None and terminal.pattern.type == "str":
        return f"'{terminal.pattern.value}'"
    return name.lower()


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    return f"'{token.value}'"


def parse(text: str, path: str = "<plan>") -> ast.PlanFile:
    """Parse plan text. Raises :class:`PlanError` with every syntax error found."""
    if len(text) > MAX_PLAN_CHARS:
        raise PlanError([too_large(path, len(text))], {})
    diagnostics: list[Diagnostic] = []
    working = text
    blanked_lines: set[int] = set()
    while True:
        try:
            tree = grammar_parser().parse(working)
        except UnexpectedInput as error:
            diagnostics.append(_syntax_diagnostic(error, path, working))
            line = getattr(error, "line", -1)
            if (
                isinstance(error, UnexpectedEOF)
                or getattr(getattr(error, "token", None), "type", None) == "$END"
                or line in blanked_lines
                or line < 1
                or len(diagnostics) >= MAX_SYNTAX_ERRORS
            ):
                raise PlanError(diagnostics, {path: text}) from None
            working, lines = blank_statement(working, line)
            blanked_lines.update(lines)
            continue
        break
    if diagnostics:
        raise PlanError(diagnostics, {path: text})
    nested = too_deep(tree, path)
    if nested:
        raise PlanError(nested, {path: text})
    builder = ToAst(path)
    items = builder.transform(tree)
    if builder.diagnostics:
        raise PlanError(builder.diagnostics, {path: text})
    return ast.PlanFile(path=path, source=text, items=tuple(items))


def too_large(path: str, size: int) -> Diagnostic:
    return Diagnostic(
        "E110",
        f"the plan is {size:,} characters long; a plan holds at most {MAX_PLAN_CHARS:,}",
        Span(path, 1, 1, 1, 2),
        "put large tables in data files and pass them with --table NAME=PATH",
    )


# The rules of expressions: each is one node of the syntax tree.
_EXPRESSION_RULES = frozenset(
    {
        "if_expr",
        "or_expr",
        "and_expr",
        "not_expr",
        "compare",
        "in_list",
        "not_in_list",
        "in_range",
        "is_empty",
        "is_not_empty",
        "binary",
        "neg",
        "ref",
        "lookup",
        "call",
        "string",
        "number",
        "money",
        "percent",
        "date",
        "period",
        "multiplier",
        "boolean",
    }
)


def too_deep(tree: Tree, path: str) -> list[Diagnostic]:
    """An error for each expression nested more than MAX_EXPRESSION_DEPTH levels, at its deepest point.

    Measured without recursion, on the parse tree, as deep as the syntax tree will be: `a and b and c` is one
    parse node that becomes a chain of two (see ToAst._fold), so its first operand lies two levels down."""
    deepest: dict[int, tuple[int, Tree]] = {}  # expression (by its outermost node) -> its deepest node
    stack: list[tuple[Tree, int, int]] = [(tree, -1, -1)]  # node, depth in its expression, the expression
    while stack:
        node, depth, root = stack.pop()
        if node.data in _EXPRESSION_RULES:
            if depth < 0:
                depth, root = 0, id(node)
            best = deepest.get(root)
            if best is None or depth > best[0] or depth == best[0] and _before(node, best[1]):
                deepest[root] = (depth, node)
        else:
            depth = root = -1
        subtrees = [c for c in node.children if isinstance(c, Tree)]
        for index, child in enumerate(subtrees):
            step = 1
            if node.data in ("and_expr", "or_expr"):
                step = len(subtrees) - max(index, 1)
            stack.append((child, depth + step if depth >= 0 else -1, root))
    return [
        Diagnostic(
            "E309",
            f"expression nested more than {MAX_EXPRESSION_DEPTH} levels deep",
            _meta_span(node.meta, path),
            "split it into simpler parts; a long `if ... else if ...` chain is better as a lookup table",
        )
        for depth, node in sorted(deepest.values(), key=lambda item: _position(item[1]))
        if depth > MAX_EXPRESSION_DEPTH
    ]


def _position(node: Tree) -> tuple[int, int]:
    return (getattr(node.meta, "line", 0), getattr(node.meta, "column", 0))


def _before(node: Tree, other: Tree) -> bool:
    return _position(node) < _position(other)


def _meta_span(meta, path: str) -> Span:
    if getattr(meta, "empty", True):
        return Span(path, 1, 1, 1, 2)
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _character_hint(char: str, text: str, line: int, column: int) -> str | None:
    """What to write instead, where a character starts something the language does not read: a number with
    an exponent or digits grouped by `_` before a sign (1e-5%, 1_000%), a letter outside ASCII in a name."""
    lines = text.splitlines()
    rest = lines[line - 1][column - 1 :] if 0 < line <= len(lines) else ""
    if re.match(r"[\d.]+(e[+-]?\d+|_\d)", rest, re.IGNORECASE):
        return "write a number in plain digits (0.00001, not 1e-5); `_` groups the digits of plain numbers only"
    if not char.isascii() and char.isalpha():
        return "names are ASCII letters, digits and _ (text in double quotes may hold any letter)"
    return None


def _syntax_diagnostic(error: UnexpectedInput, path: str, text: str) -> Diagnostic:
    line = max(getattr(error, "line", 1), 1)
    column = max(getattr(error, "column", 1), 1)
    if isinstance(error, UnexpectedCharacters):
        char = error.char
        span = Span(path, line, column, line, column + 1)
        hint = None
        if char == "'":
            hint = 'text is written in double quotes: "like this"'
        elif char == "=":
            hint = "settings take no '=' (write `payout quarterly`); a comparison is written '=='"
        else:
            hint = _character_hint(char, text, line, column)
        return Diagnostic("E101", f"unexpected character '{char}'", span, hint)
    token: Token | None = getattr(error, "token", None)
    expected_names = getattr(error, "expected", ()) or ()
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        # LALR merges lookaheads of similar states; ask the parser which tokens it really accepts here.
        try:
            expected_names = interactive.accepts() or expected_names
        except Exception:  # noqa: BLE001 - a better hint is a nicety, never a reason to fail
            pass
    expected = sorted({_describe_terminal(t) for t in expected_names})
    if token is not None and token.type not in ("$END",) and token.line is not None:
        end_column = token.end_column if token.end_line == token.line else column + 1
        if token.type == "_NL":
            end_column = column + 1
        span = Span(path, token.line, token.column or column, token.line, end_column or column + 1)
        message = f"unexpected {_describe_token(token)}"
    else:
        span = Span(path, line, column, line, column + 1)
        message = "unexpected end of file"
    hint = None
    if expected:
        shown = expected if len(expected) <= 8 else expected[:8] + ["..."]
        hint = "expected " + ", ".join(shown)
    if isinstance(error, UnexpectedEOF) or (token is not None and token.type == "$END"):
        hint = (hint + "; " if hint else "") + "is a closing '}' missing?"
    elif token is not None:
        hint = intent_hint(text, token) or hint
    return Diagnostic("E100", message, span, hint)


def blank_statement(text: str, line: int) -> tuple[str, set[int]]:
    """Replace the statement on ``line`` with spaces, keeping every position.

    A line that opens a block takes its whole block with it, so that a broken
    block header does not cascade into errors for each line inside it.
    """
    lines = text.split("\n")
    index = line - 1
    if index >= len(lines):
        return text, {line}
    opened = lines[index].count("{") - lines[index].count("}")
    last = index
    if opened > 0:
        depth = opened
        while depth > 0 and last + 1 < len(lines):
            last += 1
            depth += lines[last].count("{") - lines[last].count("}")
        touched = range(index, last + 1)
        for i in touched:
            lines[i] = " " * len(lines[i])
        return "\n".join(lines), {i + 1 for i in touched}
    keep_closers = max(-opened, 0)
    blank = " " * len(lines[index])
    if keep_closers:
        position = len(lines[index]) - 1
        chars = list(blank)
        original = lines[index]
        remaining = keep_closers
        while position >= 0 and remaining:
            if original[position] == "}":
                chars[position] = "}"
                remaining -= 1
            position -= 1
        blank = "".join(chars)
    lines[index] = blank
    return "\n".join(lines), {line}
