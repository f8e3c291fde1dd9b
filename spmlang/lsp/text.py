"""Small readings of a file's text by position (1-based lines and columns, as spm's spans count them)."""

from __future__ import annotations

import re

from spmlang.lsp.plan_model import Span, code_part

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def lines_of(text: str) -> list[str]:
    """The lines as spm counts them: split at line feeds only."""
    return text.split("\n")


def source_text(text: str, span: Span, max_lines: int = 1) -> str:
    """The text of a span: on one line as it is; over several, its lines (at most ``max_lines``, then …)."""
    lines = lines_of(text)
    if not 1 <= span.line <= len(lines):
        return ""
    if span.end_line == span.line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    if max_lines <= 1:
        return lines[span.line - 1][span.column - 1 :].strip()
    last = min(span.end_line, len(lines))
    chosen = [lines[span.line - 1][span.column - 1 :]] + lines[span.line : last - 1]
    chosen.append(lines[last - 1][: span.end_column - 1] if last == span.end_line else lines[last - 1])
    chosen = [line.rstrip("\r") for line in chosen]
    if len(chosen) > max_lines:
        chosen = chosen[: max_lines - 1] + ["  …", chosen[-1]]
    return "\n".join(chosen)


def word_at(text: str, line: int, column: int) -> str | None:
    """The word (outside strings and comments) under a 1-based position, or just before it."""
    lines = lines_of(text)
    if not 1 <= line <= len(lines):
        return None
    code = code_part(lines[line - 1])
    for match in _WORD.finditer(code):
        if match.start() + 1 <= column <= match.end() + 1:
            return match.group()
    return None


def statement_words(text: str, line: int) -> list[str]:
    """The words of the statement on a line (after its last `{`, so `component c { rate 8%` gives rate, 8)."""
    lines = lines_of(text)
    if not 1 <= line <= len(lines):
        return []
    code = code_part(lines[line - 1])
    code = code[code.rfind("{") + 1 :]
    return _WORD.findall(code.split(";")[0])
