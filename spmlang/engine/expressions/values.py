"""The values of expressions, column-wise, and what expressions are evaluated over.

A value is a :class:`Vec`: an array (or a scalar, for constants) with a validity mask and its type. Money is
int64 units, numbers float64, dates int64 days, text an Arrow array. Problems that belong to particular rows
(a lookup key not in its table, a division by zero) do not raise: they are recorded as :class:`Issue` values
on the :class:`Frame`, and the run rejects those rows with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import to_days
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, decimal_to_units
from spmlang.ir.expressions import Type


@dataclass
class Vec:
    values: object
    valid: object  # numpy bool array, or a bool for a scalar
    type: Type


@dataclass
class Issue:
    """Rows an expression could not evaluate, and why."""

    mask: np.ndarray
    subject: str  # a policy subject: missing_lookup, invalid_value ...
    message: object  # str, or an Arrow string array with one message per row
    column: str | None = None


@dataclass
class Frame:
    """What expressions are evaluated over: ``n`` rows of columns, builtins and lookup tables."""

    n: int
    columns: dict = field(default_factory=dict)  # name -> Vec, or a callable returning one (lazy)
    builtins: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)  # name -> LookupTable
    issues: list = field(default_factory=list)
    source: Frame | None = None  # the rows these rows come from (credit rows: transactions); see evaluate_rows
    source_rows: np.ndarray | None = None  # each row's row in ``source``

    def column(self, name: str) -> Vec:
        value = self.columns[name]
        if callable(value):
            value = value()
            self.columns[name] = value
        return value

    def builtin(self, name: str) -> Vec:
        value = self.builtins[name]
        if callable(value):
            value = value()
            self.builtins[name] = value
        return value


def const_value(value: object, type_: Type) -> object:
    """A literal's engine representation."""
    if type_ is Type.MONEY:
        return decimal_to_units(value)
    if type_ is Type.INTEGER:
        return int(value)
    if type_ in (Type.NUMBER, Type.PERCENT):
        return float(value)
    if type_ is Type.DATE:
        return to_days(value) if isinstance(value, dt.date) else value
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


def as_float(vec: Vec) -> object:
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
        return pc.take(result, values.indices)
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
