"""The values of expressions, column-wise, and what expressions are evaluated over.

A value is a :class:`Vec`: an array (or a scalar, for constants) with a validity mask and its type. Money is
int64 units, numbers float64, dates int64 days, text an Arrow array. Problems that belong to particular rows
(a lookup key not in its table, a division by zero) do not raise: they are recorded as :class:`Issue` values
on the :class:`Frame`, and the run rejects those rows with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import to_days
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, decimal_to_units
from spmlang.ir.expressions import Type


@dataclass
class Vec:
    # An array of a value per row, or one value for every row (a constant): numpy for numbers, money, dates
    # and bools, Arrow for text (a Python str for a constant). Which of these it is follows ``type`` and
    # whether it is a constant, which no static type says: Any, and the code reads ``type``.
    values: Any
    valid: np.ndarray | bool  # a bool for every row alike (a constant, a column without empty values)
    type: Type


@dataclass
class Issue:
    """Rows an expression could not evaluate, and why."""

    mask: np.ndarray
    subject: str  # a policy subject: missing_lookup, invalid_value ...
    message: str | pa.Array  # one message for every row, or one per row
    column: str | None = None


class Lookup(Protocol):
    """A table an expression looks values up in (spmlang.engine.read.tables.LookupTable)."""

    def lookup(self, key: Vec, column: str, frame: Frame) -> Vec: ...


@dataclass
class Frame:
    """What expressions are evaluated over: ``n`` rows of columns, builtins and lookup tables."""

    n: int
    columns: dict[str, Vec | Callable[[], Vec]] = field(default_factory=dict)  # a callable: read when first used
    builtins: dict[str, Vec | Callable[[], Vec]] = field(default_factory=dict)
    tables: dict[str, Lookup] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    source: Frame | None = None  # the rows these rows come from (credit rows: transactions); see evaluate_rows
    source_rows: np.ndarray | None = None  # each row's row in ``source``

    def column(self, name: str) -> Vec:
        return _read(self.columns, name)

    def builtin(self, name: str) -> Vec:
        return _read(self.builtins, name)


def _read(values: dict[str, Vec | Callable[[], Vec]], name: str) -> Vec:
    """The value of ``name``, read (and kept) on first use if it is read lazily."""
    value = values[name]
    if not isinstance(value, Vec):
        value = values[name] = value()
    return value


def const_value(value: object, type_: Type) -> object:
    """A literal's engine representation (a number is a Decimal, a date a date: the checker's)."""
    if isinstance(value, Decimal):
        if type_ is Type.MONEY:
            return decimal_to_units(value)
        if type_ is Type.INTEGER:
            return int(value)
        if type_ in (Type.NUMBER, Type.PERCENT):
            return float(value)
    if type_ is Type.DATE and isinstance(value, dt.date):
        return to_days(value)
    return value


def materialize(vec: Vec, n: int) -> Vec:
    """The same value with arrays of length ``n`` (constants broadcast)."""
    values, valid = vec.values, vec.valid
    if vec.type is Type.TEXT:
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array([values] * n, type=pa.string()) if values is not None else pa.nulls(n, pa.string())
    elif np.ndim(values) == 0:
        values = np.full(n, values)
    if np.ndim(valid) == 0:
        valid = np.full(n, bool(valid))
    return Vec(values, valid, vec.type)


def truth(vec: Vec, n: int) -> np.ndarray:
    """A condition as a mask: True where it holds; an unknown (null) condition does not hold."""
    vec = materialize(vec, n)
    return np.asarray(vec.values, dtype=bool) & vec.valid


def as_float(vec: Vec) -> np.ndarray:
    """Numbers as float64; money in currency units."""
    values = vec.values
    if vec.type is Type.MONEY:
        return np.asarray(values, dtype=np.float64) / UNIT
    return np.asarray(values, dtype=np.float64)


def known_everywhere(valid) -> bool:
    """Whether a validity is True for every row: a scalar True, or True stored once (a column without empty
    values), without a pass over the rows."""
    if np.ndim(valid) == 0:
        return bool(valid)
    return grouping.is_uniform(valid) and (valid.size == 0 or bool(valid[0]))


def and_valid(a, b):
    """Known where both are; a side known everywhere leaves the other as it is (no pass, no new array)."""
    if known_everywhere(a):
        return b
    if known_everywhere(b):
        return a
    return np.logical_and(a, b)


# ---------------------------------------------------------------------- text


def on_text(values, function):
    """Apply an elementwise function of strings; on a dictionary-encoded array, to its few distinct values only
    (a payee or product column of millions of rows has thousands of distinct names, or ten)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        result = function(values.dictionary)
        if pa.types.is_string(result.type) or pa.types.is_large_string(result.type):
            return pa.DictionaryArray.from_arrays(values.indices, result)
        return result.take(values.indices)
    return function(values)


def decoded_text(values):
    """A text array without dictionary encoding (for the rare operations between two text columns)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.cast(values, pa.string()) if isinstance(values, pa.DictionaryArray) else values


def decoded_operand(values):
    """A text operand (a constant as a scalar) without dictionary encoding."""
    operand = text_operand(values)
    return operand if isinstance(operand, pa.Scalar) else decoded_text(operand)


def text_operand(values):
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.scalar(values, type=pa.string())
