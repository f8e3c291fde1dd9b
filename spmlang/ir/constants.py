"""Constants in a plan: the value of an expression made only of literals, and the largest amount a plan may write.

Both the checker (which refuses a constant past the limit) and the engine (which folds a fixed rate into its
tiers) need them: they are part of the contract between the two.
"""

from __future__ import annotations

import re
from decimal import Decimal

from spmlang.ir import expressions as ir

# Currencies are named by their ISO 4217 codes, in the plan and in the data alike.
CURRENCY_CODES = "a code is three capital letters, as ISO 4217 writes them (USD, EUR, JPY)"


CURRENCY_CODE = "^[A-Z]{3}$"  # as a regular expression (Python's and Arrow's alike)


def is_currency_code(text: str) -> bool:
    return re.fullmatch(CURRENCY_CODE, text) is not None  # not "EUR\n", which $ alone would let through


# The largest amount a plan may write, in currency units: the engine holds amounts below 2**62 millionths of the
# currency unit (spmlang.engine.money.LIMIT); a constant past it could never be paid.
MONEY_LIMIT = Decimal(1 << 62) / 1_000_000


def too_large(value: Decimal) -> bool:
    """Whether a plan's constant (an amount, a rate, a multiplier) is past what the engine can hold."""
    return abs(value) >= MONEY_LIMIT


def too_large_hint() -> str:
    return (
        f"spm holds amounts up to {MONEY_LIMIT.quantize(Decimal('0.01'), rounding='ROUND_DOWN'):,} (a "
        "millionth of the currency unit, in 64 bits); is a digit or a decimal point misplaced?"
    )


def constant_value(node: ir.IR) -> Decimal | None:
    """The value of an expression made only of literals (``8%``, ``-$5``, ``1.5 * 2``), else None."""
    if isinstance(node, ir.Const) and isinstance(node.value, Decimal):
        return node.value
    if isinstance(node, ir.Negate):
        inner = constant_value(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ir.Arith):
        left, right = constant_value(node.left), constant_value(node.right)
        if left is None or right is None:
            return None
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return left / right if right != 0 else None
    return None
