"""Figures whose types fit but whose units do not: a plain number where a percent is meant (`attainment >= 50`
is 5,000%, `rate 8` is 800%), money compared with a percent. Each passes the type rules and would pay wrongly
and silently; each is an error (E301) that says what to write."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from decimal import Decimal

from spmlang.diagnostics import Span
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type
from spmlang.syntax import ast

# (message, where, hint)
Mismatch = tuple[str, Span, str]


def _plain_number(node: ir.IR) -> Decimal | None:
    """The value of a plain number written in the plan (8, 8.0; not 8%), if ``node`` is one."""
    if isinstance(node, ir.Const) and node.type in (Type.INTEGER, Type.NUMBER) and isinstance(node.value, Decimal):
        return node.value
    return None


def _figure(value: Decimal) -> str:
    return format(value.normalize(), "f")


def comparison_mismatch(left: ir.IR, right: ir.IR, span: Span) -> Mismatch | None:
    """Money compared with a percent (`amount > 5%` compares it with 0.05), or a percent with a plain number
    past 1 (`attainment >= 50` is 5,000%)."""
    if {left.type, right.type} == {Type.MONEY, Type.PERCENT}:
        hint = "compare money with an amount (amount > $5,000), a percent with a percent (attainment >= 50%)"
        return "cannot compare money with percent", span, hint
    for percent, other in ((left, right), (right, left)):
        value = _plain_number(other)
        if percent.type is Type.PERCENT and value is not None and abs(value) > 1:
            message = f"{_figure(value)} is a plain number: as a percent it is {_figure(value * 100)}%"
            return message, other.span, f"write {_figure(value)}% (a percent is compared with a percent)"
    return None


def rate_mismatch(rate: ir.IR, written: str) -> Mismatch | None:
    """A rate on money credit written as a plain number past 1: `rate 8` would pay 800% of the credit."""
    value = _plain_number(rate)
    if value is None or abs(value) <= 1:
        return None
    message = f"rate {written} would pay {_figure(value * 100)}% of the credit"
    return message, rate.span, f"write {written}% (a plain number is a fraction of the credit: 0.08 is 8%)"


# Currency signs a money figure may be written with, and the plan currencies each stands for. `$` is many
# currencies' sign (USD, CAD, AUD ...): only a plan in euros or pounds is told of it.
_SIGNS = {"€": ("EUR",), "£": ("GBP",), "$": None}
_NOT_DOLLARS = ("EUR", "GBP")


def currency_sign_mismatches(tree: object, currency: str) -> list[tuple[str, Span]]:
    """The first money figure written with each sign that is not the plan currency's (`€250` in a USD plan:
    250 US dollars), as (the figure as written, where)."""
    found: dict[str, tuple[str, Span]] = {}
    for literal in _money_literals(tree):
        sign = literal.text.lstrip("-")[:1]
        meant = _SIGNS.get(sign, ())
        wrong = currency in _NOT_DOLLARS if meant is None else bool(meant) and currency not in meant
        if wrong and sign not in found:
            found[sign] = (literal.text, literal.span)
    return list(found.values())


def _money_literals(node: object) -> Iterator[ast.Literal]:
    if isinstance(node, ast.Literal):
        if node.kind == "money":
            yield node
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            yield from _money_literals(item)
    elif is_dataclass(node) and not isinstance(node, type):
        for field in fields(node):
            yield from _money_literals(getattr(node, field.name))


def currency_sign_hint(written: str, currency: str) -> str:
    """What to write for a money figure written with another currency's sign."""
    sign = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    figure = written.lstrip("-")[1:]
    own = f"{sign}{figure}" if sign else f"the amount in {currency}"
    return f"write {own} (a sign is not converted: every amount is in the plan currency), or change the currency"
