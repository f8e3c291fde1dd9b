"""Hints for syntax errors that have a likely intent.

A bare "unexpected 'of'" helps nobody who wrote ``rate 6% of close_value``: these are sentences an analyst
writes, and each has a way to say it in the language. A hint is given only where it is right whatever the
rest of the plan says; otherwise the parser's list of what it expected stands.
"""

from __future__ import annotations

import re

from lark import Token

from spmlang.syntax.lexical import code_part

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
# Known only at the end of a period: a gate may use them, a row filter may not.
_PERIOD_END = re.compile(r"\b(attainment|quota|target)\b")


def intent_hint(text: str, token: Token) -> str | None:
    """A hint for the unexpected ``token`` from the statement it ends, or None."""
    if token.type in ("$END", "_NL") or token.line is None or token.column is None or token.end_column is None:
        return None
    lines = text.split("\n")
    if not 1 <= token.line <= len(lines):
        return None
    line = lines[token.line - 1]
    if token.value == "-" or re.fullmatch(r"[QHM]\d+", str(token.value)):  # 2027-Q5: a year, then no period
        word = line[: token.column - 1].split(" ")[-1] + line[token.column - 1 :].split(" ")[0]
        if re.fullmatch(r"(FY)?\d{4}-([QH]\d+|M?\d+)", word.strip("(),")):
            return f"'{word.strip('(),')}' is no period: quarters are Q1 to Q4, halves H1 and H2, months 01 to 12"
    before = re.split(r"[{;]", line[: token.column - 1])[-1].strip()
    after = _code(line[token.end_column - 1 :]).strip()
    words = before.split()
    if not words:
        return None
    if token.value == "of" and words[0] == "rate":
        return _rate_of(before[len("rate") :].strip(), after)
    if token.value == "when" and (words[0] == "rate" or words[0] == "pay" and "per" in words[1:]):
        condition = after or "CONDITION"
        if _PERIOD_END.search(condition):
            return (
                f"`{words[0]}` pays every row of the component; a condition on the period's attainment is a "
                f"gate, on its own line: `gate {condition}` (the component pays nothing for a period unless "
                "it holds at the end)"
            )
        return (
            f"`{words[0]}` pays every row of the component; to pay only some, give the component a filter on "
            f"its own line: `where {condition}`"
        )
    if token.value == "per" and words[0] == "cap" and "per" in words[1:]:
        return _cap_per(words, after)
    return None


def _rate_of(rate: str, after: str) -> str | None:
    column = after.split()[0] if after.split() else ""
    if not rate or not _NAME.match(column) or column == "target":
        return None
    factor = f"({rate})" if _has_space_outside_brackets(rate) else rate
    return (
        f"a rate applies to the credit. To pay {rate} of {column}: make {column} the credit (`credit {column}` "
        f"in the transactions block), or, for a flat rate, pay it by row: `pay {column} * share * {factor} per "
        "deal` (share is the payee's part of a split deal, 100% if not split)"
    )


def _cap_per(words: list[str], after: str) -> str | None:
    from spmlang.syntax.words import CAP_SCOPES, FREQUENCY_UNIT

    scopes = set(CAP_SCOPES) | set(FREQUENCY_UNIT.values())
    first = words[words.index("per") + 1 :][:1]
    pers = first + after.split()[:1]  # `cap $15,000 per month per agent`: month, agent
    extra = [word for word in pers if _NAME.match(word) and word not in scopes]
    if len(pers) != 2 or len(extra) != 1:
        return None
    return f"a cap already applies to each payee separately: leave out `per {extra[0]}`"


def _code(text: str) -> str:
    """``text`` up to a comment or the end of its statement (outside quotes)."""
    code = code_part(text)
    ends = [index for index in (code.find(";"), code.find("}")) if index >= 0]
    return text[: min(ends, default=len(code))]


def _has_space_outside_brackets(text: str) -> bool:
    depth, in_string = 0, False
    for char in text:
        if char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char.isspace() and depth == 0:
            return True
    return False
