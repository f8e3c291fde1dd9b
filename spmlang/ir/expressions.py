"""Typed expressions: what the checker hands to the engine.

Every node knows its :class:`Type` and its span. Names are resolved (a
:class:`Column` is a declared column, a :class:`Builtin` is a measure such as
``attainment``), so the engine evaluates without looking anything up by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from spmlang.diagnostics import Span


class Type(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"
    MONEY = "money"
    DATE = "date"
    BOOL = "bool"

    @property
    def is_numeric(self) -> bool:
        """Plain numbers: integer, number, percent (money is kept apart)."""
        return self in (Type.INTEGER, Type.NUMBER, Type.PERCENT)

    @property
    def is_quantity(self) -> bool:
        """Anything that can be added up: numbers and money."""
        return self.is_numeric or self is Type.MONEY


COLUMN_TYPES = {t.value: t for t in Type}


@dataclass(frozen=True, slots=True)
class Const:
    value: Decimal | str | dt.date | bool
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Builtin:
    """A value spm provides: ``credit`` and ``share`` of a credit row; ``attainment``,
    ``quota``, ``target``, ``count`` at a period end."""

    name: str
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: IR
    right: IR
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Negate:
    operand: IR
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Comparison:
    op: str
    left: IR
    right: IR
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # and | or
    left: IR
    right: IR
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Not:
    operand: IR
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Member:
    operand: IR
    values: tuple[Const, ...]
    negated: bool
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Between:
    operand: IR
    low: IR
    high: IR
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Missing:
    operand: IR
    negated: bool
    span: Span
    type: Type = Type.BOOL


@dataclass(frozen=True, slots=True)
class Choose:
    condition: IR
    then: IR
    otherwise: IR
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class TableLookup:
    table: str
    key: IR
    column: str
    type: Type
    span: Span


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[IR, ...]
    type: Type
    span: Span


IR = (
    Const
    | Column
    | Builtin
    | Arith
    | Negate
    | Comparison
    | Logical
    | Not
    | Member
    | Between
    | Missing
    | Choose
    | TableLookup
    | Function
)


def children(node: IR) -> tuple[IR, ...]:
    if isinstance(node, (Arith, Comparison, Logical)):
        return (node.left, node.right)
    if isinstance(node, (Negate, Not, Missing)):
        return (node.operand,)
    if isinstance(node, Member):
        return (node.operand, *node.values)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, Choose):
        return (node.condition, node.then, node.otherwise)
    if isinstance(node, TableLookup):
        return (node.key,)
    if isinstance(node, Function):
        return node.args
    return ()


def walk(node: IR) -> Iterator[IR]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def columns_used(node: IR | None) -> set[str]:
    return set() if node is None else {n.name for n in walk(node) if isinstance(n, Column)}


def builtins_used(node: IR | None) -> set[str]:
    return set() if node is None else {n.name for n in walk(node) if isinstance(n, Builtin)}


def tables_used(node: IR | None) -> set[str]:
    return set() if node is None else {n.table for n in walk(node) if isinstance(n, TableLookup)}
