"""The type rules of expressions: the type of a literal, of ``a op b`` and of each function's result, which
types compare, and the hint for a type that does not fit. A rule that can fail returns a message saying why
instead of a type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type
from spmlang.syntax import ast

# The functions a plan may call, and what each takes (as a hint says it).
FUNCTIONS = {
    "min": "same quantity, 2 or more",
    "max": "same quantity, 2 or more",
    "abs": "one quantity",
    "coalesce": "same type, 2 or more",
    "upper": "text",
    "lower": "text",
    "trim": "text",
    "replace": "text, text, text",
    "year": "date",
    "month": "date",
    "days_between": "date, date",
}
# The functions of fixed arguments: name -> (argument types, result, what they need if not these).
_FIXED = {
    "upper": ((Type.TEXT,), Type.TEXT, "needs one text"),
    "lower": ((Type.TEXT,), Type.TEXT, "needs one text"),
    "trim": ((Type.TEXT,), Type.TEXT, "needs one text"),
    "replace": (
        (Type.TEXT, Type.TEXT, Type.TEXT),
        Type.TEXT,
        "needs three texts: the value, what to find, what to put instead",
    ),
    "year": ((Type.DATE,), Type.INTEGER, "needs one date"),
    "month": ((Type.DATE,), Type.INTEGER, "needs one date"),
    "days_between": ((Type.DATE, Type.DATE), Type.INTEGER, "needs two dates"),
}


def literal_to_const(node: ast.Literal) -> ir.Const:
    kind, value = node.kind, node.value
    if kind in ("string", "word", "period"):
        return ir.Const(str(value), Type.TEXT, node.span)
    if kind == "number" and isinstance(value, Decimal):
        is_int = value == value.to_integral_value() and "." not in node.text
        return ir.Const(value, Type.INTEGER if is_int else Type.NUMBER, node.span)
    if kind in _DECIMAL_KINDS and isinstance(value, Decimal):
        return ir.Const(value, _DECIMAL_KINDS[kind], node.span)
    if kind == "date" and isinstance(value, dt.date):
        return ir.Const(value, Type.DATE, node.span)
    if kind == "bool" and isinstance(value, bool):
        return ir.Const(value, Type.BOOL, node.span)
    raise AssertionError(kind)


_DECIMAL_KINDS = {"multiplier": Type.NUMBER, "money": Type.MONEY, "percent": Type.PERCENT}


def comparable(a: Type, b: Type) -> bool:
    if a == b:
        return True
    # Money compares with plain numbers (`amount > 1000`): the number is read as money.
    return a.is_quantity and b.is_quantity


def common_type(a: Type, b: Type) -> Type | None:
    if a == b:
        return a
    if a.is_numeric and b.is_numeric:
        return Type.NUMBER
    return None


# ------------------------------------------------------------ arithmetic
def arithmetic_type(op: str, a: Type, b: Type) -> Type | str:
    """The type of ``a op b``, or a message saying why it has none."""
    if op in ("+", "-"):
        return _sum_type(op, a, b)
    if op == "*":
        return _product_type(a, b)
    if op == "/":
        return _quotient_type(a, b)
    raise AssertionError(op)


def _sum_type(op: str, a: Type, b: Type) -> Type | str:
    if a is Type.MONEY and b is Type.MONEY:
        return Type.MONEY
    if a.is_numeric and b.is_numeric:
        if a is b:
            return a
        return Type.NUMBER
    if a is Type.DATE and b is Type.DATE and op == "-":
        return Type.INTEGER
    if a is Type.DATE and b is Type.INTEGER:
        return Type.DATE
    return f"cannot {'add' if op == '+' else 'subtract'} {b} {'to' if op == '+' else 'from'} {a}"


def _product_type(a: Type, b: Type) -> Type | str:
    if a is Type.MONEY and b.is_numeric or a.is_numeric and b is Type.MONEY:
        return Type.MONEY
    if a.is_numeric and b.is_numeric:
        if a is Type.INTEGER and b is Type.INTEGER:
            return Type.INTEGER
        if Type.PERCENT in (a, b) and Type.NUMBER not in (a, b) and a is not b:
            return Type.PERCENT
        return Type.NUMBER
    return f"cannot multiply {a} by {b}"


def _quotient_type(a: Type, b: Type) -> Type | str:
    if a is Type.MONEY and b.is_numeric:
        return Type.MONEY
    if a is Type.MONEY and b is Type.MONEY:
        return Type.NUMBER
    if a.is_numeric and b.is_numeric:
        return Type.NUMBER
    return f"cannot divide {a} by {b}"


def arith_hint(op: str, a: Type, b: Type) -> str | None:
    if op == "*" and a is Type.MONEY and b is Type.MONEY:
        return "one side should be a rate or a number, e.g. amount * 8%"
    if Type.TEXT in (a, b):
        return "text cannot take part in arithmetic; declare the column as number or money"
    return None


def hint_for_expected(expect: tuple[Type, ...], got: Type) -> str | None:
    if Type.BOOL in expect:
        return 'a condition compares values, e.g. stage == "won"'
    if Type.MONEY in expect and got.is_numeric:
        return "write money with its symbol, e.g. $1,000"
    if Type.PERCENT in expect and got is Type.MONEY:
        return "a rate is a percentage, e.g. 8%"
    return None


# ------------------------------------------------------------ functions
def function_type(name: str, types: list[Type]) -> Type | str:
    """The type of ``name(...)`` called with arguments of ``types``, or what the function needs."""
    if name in _FIXED:
        arguments, result, needs = _FIXED[name]
        return result if tuple(types) == arguments else needs
    if name in ("min", "max"):
        return _extremum_type(types)
    if name == "abs":
        if len(types) != 1 or not types[0].is_quantity:
            return "needs one number or amount"
        return types[0]
    if name == "coalesce":
        return _coalesce_type(types)
    raise AssertionError(name)


def _extremum_type(types: list[Type]) -> Type | str:
    if len(types) < 2:
        return "needs at least two values"
    result = types[0]
    for t in types[1:]:
        common = t if t == result else (common_type(result, t))
        if common is None or not result.is_quantity:
            return f"cannot mix {result} and {t}"
        result = common
    return result


def _coalesce_type(types: list[Type]) -> Type | str:
    if len(types) < 2:
        return "needs at least two values"
    result = types[0]
    for t in types[1:]:
        common = common_type(result, t)
        if common is None:
            return f"cannot mix {result} and {t}"
        result = common
    return result
