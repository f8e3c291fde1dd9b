"""Turning the columns of an input table into typed arrays.

A value that cannot be read as its column's type is marked invalid row by row,
so the run can reject that row with a reason instead of failing or, worse,
guessing. Each type has its converter: numbers.py, text.py, dates.py; a column read in pieces is joined here.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.kernels import grouping
from spmlang.engine.read.column_values import ColumnValues, WrongType, present_mask
from spmlang.engine.read.dates import convert_date
from spmlang.engine.read.numbers import convert_integer, convert_money, convert_number, convert_percent
from spmlang.engine.read.text import as_text, convert_bool, convert_text, empty_text
from spmlang.ir.expressions import Type
from spmlang.ir.plan import ColumnSpec


class JoinedColumn:
    """A column converted piece by piece (see LoadedTable.pieces), joined as its pieces come. Numbers are
    copied into one array as each piece is converted, so a piece's own arrays are let go at once (and their
    memory is used again by the next piece's); text pieces are joined at the end. A piece keeps ``raw`` only
    where it has values that could not be read, to quote them (and ``notes`` where it has any); elsewhere that
    joins as empty."""

    def __init__(self, rows: int) -> None:
        self.rows = rows  # -1: not known until the last piece (numbers are then joined at the end too)
        self.filled = 0
        self.first: ColumnValues | None = None
        self.numbers: np.ndarray | None = None
        self.texts: list[pa.Array] = []
        self.number_pieces: list[np.ndarray] = []  # numbers, while how many rows is not known
        self.valid: list[np.ndarray] = []
        self.invalid: list[np.ndarray] = []
        self.any_invalid = False
        self.raw: list[pa.Array | None] = []
        self.notes: list[pa.Array | None] = []

    def _joined_texts(self) -> pa.Array:
        if len({chunk.type for chunk in self.texts}) > 1:  # a short last piece left plain among encoded ones,
            # or a what-if deal's text beside a category's (int8 indices) or a large_string's: one type for all
            encoded = [chunk.type for chunk in self.texts if pa.types.is_dictionary(chunk.type)]
            target = max(encoded, key=encoded.count) if encoded else pa.dictionary(pa.int32(), pa.string())
            self.texts = [chunk if chunk.type == target else _encoded_as(chunk, target) for chunk in self.texts]
        texts = pa.chunked_array(self.texts)
        self.texts.clear()
        if pa.types.is_dictionary(texts.type):
            texts = texts.unify_dictionaries()
        return texts.combine_chunks()

    def add(self, piece: ColumnValues) -> None:
        size = len(piece.invalid)
        if self.first is None:
            self.first = piece
        if isinstance(piece.values, np.ndarray) and self.rows < 0:  # how many rows is known at the end
            self.number_pieces.append(piece.values)
        elif isinstance(piece.values, np.ndarray):
            if self.numbers is None:
                self.numbers = np.empty(self.rows, dtype=piece.values.dtype)
            self.numbers[self.filled : self.filled + size] = piece.values
        else:
            self.texts.append(piece.values)
        self.valid.append(piece.valid)
        self.invalid.append(piece.invalid)
        self.any_invalid = self.any_invalid or piece.any_invalid
        self.raw.append(piece.raw)
        self.notes.append(piece.notes)
        self.filled += size

    def result(self) -> ColumnValues:
        first = self.first
        if first is None:
            raise ValueError("a column is joined from one piece or more")
        if len(self.invalid) == 1:
            return first
        values: np.ndarray | pa.Array
        if self.numbers is not None:
            values = self.numbers
        elif self.number_pieces:
            values = np.concatenate(self.number_pieces)
            self.number_pieces.clear()
        else:
            values = self._joined_texts()
        if all(grouping.is_uniform(valid) and valid[:1].all() for valid in self.valid):
            valid = grouping.uniform(True, self.filled)
        else:
            valid = np.concatenate(self.valid)
        if not self.any_invalid:  # as read, mostly: no array of ten million False (nor its page faults)
            return ColumnValues(first.name, first.type, values, valid, grouping.uniform(False, self.filled), None)
        invalid = np.concatenate(self.invalid)
        raw = notes = None
        if invalid.any():
            raw = _joined_text(self.raw, self.invalid)
        if any(piece is not None for piece in self.notes):
            notes = _joined_text(self.notes, self.invalid)
        return ColumnValues(first.name, first.type, values, valid, invalid, raw, notes)


def _encoded_as(chunk: pa.Array, target: pa.DataType) -> pa.Array:
    """Text as the dictionary type ``target``."""
    plain = chunk.dictionary_decode() if isinstance(chunk, pa.DictionaryArray) else chunk
    value_type = target.value_type if isinstance(target, pa.DictionaryType) else pa.string()
    return pc.dictionary_encode(plain.cast(value_type)).cast(target)


def _joined_text(pieces: list[pa.Array | None], sizes: list[np.ndarray]) -> pa.Array:
    """The pieces of a column as one text array, a piece that is None as nulls (of its size's length)."""
    return pa.concat_arrays(
        [
            pc.cast(piece, pa.string()) if piece is not None else pa.nulls(len(size), pa.string())
            for piece, size in zip(pieces, sizes, strict=True)
        ]
    )


def convert_column(array, spec: ColumnSpec, label: str, plausible_dates: tuple[int, int] | None = None) -> ColumnValues:
    """Convert one input column to the type the plan declares for it. A date written as text before
    ``plausible_dates[0]`` or from ``plausible_dates[1]`` on (days), where given, was read in a wrong format:
    it cannot be read (see dates.plausible)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if array.type == pa.string_view():  # polars' strings: read as any text is
        array = array.cast(pa.string())
    if pa.types.is_dictionary(array.type):
        if spec.type is Type.TEXT:  # keep it encoded: string operations then run on its few distinct values
            array = pa.DictionaryArray.from_arrays(array.indices, as_text(array.dictionary))
        else:
            array = array.dictionary_decode()
    if pa.types.is_floating(array.type):
        array = _nan_as_null(array)
    if pa.types.is_null(array.type):  # a column with no value at all (pandas, Arrow): empty, whatever its type
        array = pa.nulls(len(array), pa.string())
    present = present_mask(array)
    try:
        if spec.type is Type.DATE:
            column = convert_date(array, spec, present, plausible_dates)
        else:
            column = _CONVERTERS[spec.type](array, spec, present)
    except WrongType as error:
        raise InputError(
            f"the column is {array.type}, which cannot be read as {spec.type}",
            file=label,
            column=spec.name,
            hint=str(error) or None,
            code="E502",
        ) from None
    if column.any_invalid and spec.type is not Type.TEXT:
        _blank_is_empty(column, array)
    return column


def _nan_as_null(array: pa.Array) -> pa.Array:
    """A float column with its NaNs null: NaN is how pandas writes a missing number, and an empty value is
    empty, as an empty CSV field is (infinity is a value, and cannot be read)."""
    nan = pc.is_nan(array)
    if not pc.any(nan).as_py():
        return array
    return pc.if_else(nan.fill_null(False), pa.scalar(None, array.type), array)


def _blank_is_empty(column: ColumnValues, array: pa.Array) -> None:
    """Text of nothing or only white space (a parquet file's empty cells) is an empty value, not one that cannot
    be read: looked for among the values that could not be read (few), not in the whole column."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return
    rows = np.flatnonzero(column.invalid)
    blank = rows[empty_text(pc.utf8_trim_whitespace(array.take(rows)))]
    if blank.size == 0:
        return
    column.invalid = column.invalid.copy()
    column.invalid[blank] = False  # and valid stays False: empty


_CONVERTERS = {
    Type.TEXT: convert_text,
    Type.INTEGER: convert_integer,
    Type.NUMBER: convert_number,
    Type.PERCENT: convert_percent,
    Type.MONEY: convert_money,
    Type.BOOL: convert_bool,
}
