"""Arithmetic of expressions, column-wise: sums, products and quotients of money, numbers, integers and dates,
each checked for results spm cannot hold (past the money limit, not a finite number, a division by zero):
those are issues of their rows, never a wrapped or infinite value."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import numpy as np

from spmlang.engine.expressions.values import Frame, Issue, Vec, and_valid, as_float
from spmlang.engine.kernels.money import LIMIT, decimal_of, in_decimals, limit_text, to_units
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type


def arithmetic(node: ir.Arith, left: Vec, right: Vec, frame: Frame) -> Vec:
    """``left op right`` for ``node``, its operands evaluated."""
    valid = and_valid(left.valid, right.valid)
    op, lt, rt = node.op, left.type, right.type
    if op in ("+", "-"):
        if node.type in (Type.MONEY, Type.INTEGER, Type.DATE) and lt is not Type.NUMBER and rt is not Type.NUMBER:
            a, b = np.asarray(left.values, np.int64), np.asarray(right.values, np.int64)
            # Whole numbers added in float64 too, only to find sums past the limit (int64 would wrap them).
            rough = a.astype(np.float64) + b if op == "+" else a.astype(np.float64) - b
            return _checked_integers(a + b if op == "+" else a - b, rough, valid, node, frame)
        a, b = as_float(left), as_float(right)
        return _checked_float(a + b if op == "+" else a - b, valid, node, frame)
    if op == "*":
        if node.type is Type.MONEY:
            money, factor = (left, right) if lt is Type.MONEY else (right, left)
            factors = as_float(factor)
            product = np.asarray(money.values, np.float64) * factors
            return _checked_units(
                product,
                valid,
                node,
                frame,
                lambda i: Decimal(int(_at(money.values, i))) * decimal_of(float(_at(factors, i))),
            )
        if node.type is Type.INTEGER:
            a, b = np.asarray(left.values, np.int64), np.asarray(right.values, np.int64)
            return _checked_integers(a * b, a.astype(np.float64) * b, valid, node, frame)
        return _checked_float(as_float(left) * as_float(right), valid, node, frame)
    # division
    divisor = as_float(right)
    zero = np.asarray(divisor == 0) & np.asarray(valid)
    if np.any(zero):
        frame.issues.append(
            Issue(np.broadcast_to(zero, (frame.n,)).copy(), "invalid_value", f"division by zero at {_span_text(node)}")
        )
        valid = valid & ~zero
    safe = np.where(divisor == 0, 1.0, divisor)
    if node.type is Type.MONEY:
        return _checked_units(
            np.asarray(left.values, np.float64) / safe,
            valid,
            node,
            frame,
            lambda i: Decimal(int(_at(left.values, i))) / decimal_of(float(_at(safe, i))),
        )
    return _checked_float(as_float(left) / safe, valid, node, frame)


def _span_text(node) -> str:
    return node.span.clause


def _checked_float(values, valid, node, frame: Frame) -> Vec:
    bad = ~np.isfinite(values)
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the result at {_span_text(node)} is not a finite number",
            )
        )
        valid = valid & ~bad
        values = np.where(bad, 0.0, values)
    return Vec(values, valid, node.type)


def _checked_units(values, valid, node, frame: Frame, exact=None) -> Vec:
    """Money computed in float64 (units), snapped to units; ``exact(i)`` gives element i in decimal, for those
    past what float64 holds to the unit. Rows where it is past the limit are issues of those rows."""
    bad = ~(np.abs(values) < float(LIMIT))  # not a number included
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the amount at {_span_text(node)} is too large to hold (more than {limit_text()})",
            )
        )
    if np.any(bad):
        valid = valid & ~bad
        values = np.where(bad, 0.0, values)
    return Vec(
        to_units(
            values, None if exact is None else lambda index: [in_decimals(partial(exact, i)) for i in index.tolist()]
        ),
        valid,
        Type.MONEY,
    )


def _checked_integers(values, rough, valid, node, frame: Frame) -> Vec:
    """Whole numbers (money in units, integers, days) computed in int64, where ``rough`` (the same in float64)
    says which are past the limit, and would have wrapped: issues of their rows."""
    bad = ~(np.abs(rough) < float(LIMIT))
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the value at {_span_text(node)} is too large to hold",
            )
        )
    if np.any(bad):
        valid = valid & ~bad
        values = np.where(bad, 0, values)
    return Vec(values, valid, node.type)


def _at(values, i: int):
    """Element ``i`` of a value's array, or the constant itself."""
    return values[i] if np.ndim(values) else values


def negate(operand: Vec) -> Vec:
    return Vec(-np.asarray(operand.values) if np.ndim(operand.values) else -operand.values, operand.valid, operand.type)
