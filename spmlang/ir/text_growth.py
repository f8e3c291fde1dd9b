"""How long a text expression can make a text, known before any data is read.

Text grows only through functions: ``replace`` puts a longer text for each one it finds, ``upper`` and
``lower`` may change how many bytes a character takes. The checker refuses an expression that could make a
text more than :data:`MAX_TEXT_GROWTH` times as long as the longest text it reads (a column, a table's value,
a literal), and the engine checks the same bound again before it evaluates one: a plan cannot make spm
allocate out of proportion to its inputs (``replace(product, "a", "aaaaaaaa...")`` nested ten deep would).
"""

from __future__ import annotations

from fractions import Fraction

from spmlang.ir import expressions as ir

MAX_TEXT_GROWTH = 16
# Full Unicode case mapping can triple a character's UTF-8 length (ΐ, 2 bytes, upper-cases to 6); Arrow's
# simple case mapping grows it at most 1.5 times today. The bound assumes the worst.
CASE_GROWTH = 3


def growth(node: ir.IR) -> Fraction:
    """At most how many times as long as the longest text it reads ``node`` can be (in UTF-8 bytes)."""
    if isinstance(node, ir.Function):
        if node.name in ("upper", "lower"):
            return CASE_GROWTH * growth(node.args[0])
        if node.name == "replace":
            find, put = (str(arg.value) if isinstance(arg, ir.Const) else "" for arg in node.args[1:])
            return growth(node.args[0]) * replace_growth(find, put)
        if node.name in ("trim", "coalesce"):
            return max(growth(arg) for arg in node.args)
    if isinstance(node, ir.Choose):
        return max(growth(node.then), growth(node.otherwise))
    return Fraction(1)  # read as it is: a column, a table's value, a literal


def replace_growth(find: str, put: str) -> Fraction:
    """How many times longer replacing ``find`` by ``put`` can make a text: each find (at least its length) can
    become put. (An empty find, refused anyway, would put ``put`` between every two characters.)"""
    found, placed = len(find.encode("utf-8")), len(put.encode("utf-8"))
    if found == 0:
        return Fraction(1 + placed)
    return max(Fraction(1), Fraction(placed, found))


def problem(node: ir.Function) -> tuple[str, str] | None:
    """Why the text function ``node`` may not be evaluated, as (code, message); None if it may."""
    if node.name == "replace" and isinstance(node.args[1], ir.Const) and not str(node.args[1].value):
        return "E303", "replace(): the text to find is empty"
    if node.name in ("replace", "upper", "lower"):
        factor = growth(node)
        if factor > MAX_TEXT_GROWTH:
            return "E306", (
                f"{node.name}() here can make a text {_times(factor)} times as long as the text it "
                f"reads; a text may grow at most {MAX_TEXT_GROWTH} times"
            )
    return None


def _times(factor: Fraction) -> str:
    return f"{float(factor):,.1f}".removesuffix(".0")
