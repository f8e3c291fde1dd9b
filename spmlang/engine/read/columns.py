"""Turning the columns of an input table into typed arrays.

A value that cannot be read as its column's type is marked invalid row by row,
so the run can reject that row with a reason instead of failing or, worse,
guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import LIMIT, UNIT, decimal_to_units, to_units
from spmlang.engine.read import dates
from spmlang.ir.expressions import Type
from spmlang.ir.plan import ColumnSpec

_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_INTEGER_RE = r"^[+-]?\d+$"
_SEPARATORS = {  # number format -> (thousands separator, decimal mark)
    "1234.56": ("", "."),
    "1,234.56": (",", "."),
    "1234,56": ("", ","),
    "1.234,56": (".", ","),
    "1 234,56": (" ", ","),
    "1 234.56": (" ", "."),
    "1'234.56": ("'", "."),
}


@dataclass
class ColumnValues:
    """A column converted to its declared type.

    ``values`` is numpy for numbers (money as int64 units, number/percent as
    float64, integer as int64, date as int64 days, bool) and Arrow for text.
    ``valid`` is True where a value is present and readable; ``invalid`` is True
    where a value is present but cannot be read (the row will be rejected). An
    empty value (nothing, white space, a NaN as pandas writes a missing number)
    is neither: it is empty, as an empty field of a CSV file is.
    """

    name: str
    type: Type
    values: object
    valid: np.ndarray
    invalid: np.ndarray
    raw: pa.Array | None  # the column as read (dropped once the rows that cannot be read are reported)
    notes: pa.Array | None = None  # why a value cannot be read, where there is more to say (null elsewhere)

    @property
    def any_invalid(self) -> bool:
        """Whether any value cannot be read (at once where none are: ``invalid`` is then one False, stored once)."""
        invalid = self.invalid[:1] if grouping.is_uniform(self.invalid) else self.invalid
        return bool(np.any(invalid))


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
        if len(self.invalid) == 1:
            return self.first
        if self.numbers is not None:
            values = self.numbers
        elif self.number_pieces:
            values = np.concatenate(self.number_pieces)
            self.number_pieces.clear()
        else:
            if len({chunk.type for chunk in self.texts}) > 1:  # a short last piece left plain among encoded ones
                self.texts = [
                    chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk) for chunk in self.texts
                ]
            values = pa.chunked_array(self.texts)
            self.texts.clear()
            if pa.types.is_dictionary(values.type):
                values = values.unify_dictionaries()
            values = values.combine_chunks()
        if all(grouping.is_uniform(valid) and valid[:1].all() for valid in self.valid):
            valid = grouping.uniform(True, self.filled)
        else:
            valid = np.concatenate(self.valid)
        if not self.any_invalid:  # as read, mostly: no array of ten million False (nor its page faults)
            return ColumnValues(
                self.first.name, self.first.type, values, valid, grouping.uniform(False, self.filled), None
            )
        invalid = np.concatenate(self.invalid)
        raw = notes = None
        if invalid.any():
            raw = _joined_text(self.raw, self.invalid)
        if any(piece is not None for piece in self.notes):
            notes = _joined_text(self.notes, self.invalid)
        return ColumnValues(self.first.name, self.first.type, values, valid, invalid, raw, notes)


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
    if pa.types.is_dictionary(array.type):
        if spec.type is Type.TEXT:  # keep it encoded: string operations then run on its few distinct values
            array = pa.DictionaryArray.from_arrays(array.indices, _as_text(array.dictionary))
        else:
            array = array.dictionary_decode()
    if pa.types.is_floating(array.type):
        array = _nan_as_null(array)
    present = _valid(array)
    try:
        if spec.type is Type.DATE:
            column = _convert_date(array, spec, present, plausible_dates)
        else:
            column = _CONVERTERS[spec.type](array, spec, present)
    except _WrongType as error:
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


class _WrongType(Exception):
    pass


def _valid(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return grouping.uniform(True, len(array))  # stored once: most columns have no empty value
    return array.is_valid().to_numpy(zero_copy_only=False)


def _result(spec, values, valid, invalid, raw, notes: pa.Array | None = None) -> ColumnValues:
    return ColumnValues(
        spec.name, spec.type, values, valid & ~invalid if np.any(invalid) else valid, invalid, raw, notes
    )


def _nan_as_null(array: pa.Array) -> pa.Array:
    """A float column with its NaNs null: NaN is how pandas writes a missing number, and an empty value is
    empty, as an empty CSV field is (infinity is a value, and cannot be read)."""
    nan = pc.is_nan(array)
    if not pc.any(nan).as_py():
        return array
    return pc.if_else(pc.fill_null(nan, False), pa.scalar(None, array.type), array)


def _blank_is_empty(column: ColumnValues, array: pa.Array) -> None:
    """Text of nothing or only white space (a parquet file's empty cells) is an empty value, not one that cannot
    be read: looked for among the values that could not be read (few), not in the whole column."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return
    rows = np.flatnonzero(column.invalid)
    blank = rows[_empty(pc.utf8_trim_whitespace(array.take(pa.array(rows))))]
    if blank.size == 0:
        return
    column.invalid = column.invalid.copy()
    column.invalid[blank] = False  # and valid stays False: empty


def _as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if pa.types.is_dictionary(array.type):
        return array
    return pc.cast(array, pa.string())


def _clean_number_text(array: pa.Array, spec: ColumnSpec) -> pa.Array:
    text = pc.utf8_trim_whitespace(_as_text(array))
    text = pc.replace_substring_regex(text, r"^([+-]?)\s*[$€£]\s*", r"\1")
    thousands, mark = _SEPARATORS.get(spec.format or "1234.56", ("", "."))
    if thousands:
        text = pc.replace_substring(text, thousands, "")
    if mark == ",":
        text = pc.replace_substring(text, ",", ".")
    return text


def _parse_numbers(
    array: pa.Array, spec: ColumnSpec, present: np.ndarray, pattern: str
) -> tuple[np.ndarray, np.ndarray]:
    """Text to float64; returns (values, invalid)."""
    text = _clean_number_text(array, spec)
    percent = None
    if spec.type is Type.PERCENT:
        percent = pc.fill_null(pc.ends_with(text, "%"), False).to_numpy(zero_copy_only=False)
        text = pc.replace_substring_regex(text, r"\s*%$", "")
    safe, ok = _readable(text, pattern)
    values = pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)
    if percent is not None:
        values = np.where(percent, values / 100.0, values)
    return values, present & ~ok


def _readable(text: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    """``text`` where it matches ``pattern`` (else '0'), and where it does."""
    ok = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    return pc.if_else(ok, text, pa.scalar("0")), ok.to_numpy(zero_copy_only=False)


def _exact_units(text: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Numbers written as text, as exact int64 units and where they are too large to hold (see
    _decimal_to_units), if every one is a plain decimal with at most six decimals; else None."""
    try:
        return _decimal_to_units(pc.cast(text, pa.decimal128(38, 6)))
    except pa.ArrowInvalid:
        return None


def _to_float(array: pa.Array, spec: ColumnSpec, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if array.type in _NARROW_FLOATS:
        values = np.where(present, _as_written(array), 0.0)
        invalid = present & ~np.isfinite(values)
        return np.where(invalid, 0.0, values), invalid
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.where(present, values, 0.0)
        invalid = present & ~np.isfinite(values)
        return np.where(invalid, 0.0, values), invalid
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return _parse_numbers(array, spec, present, _NUMBER_RE)
    raise _WrongType("declare the column as text, or fix the file")


# Floats narrower than float64: the magnitude from which their steps are wider than a cent (amounts that large
# cannot be held to the cent), and their names.
_NARROW_FLOATS = {pa.float32(): 2**17, pa.float16(): 2**4}
_FLOAT_NAMES = {pa.float32(): "float32", pa.float16(): "float16"}


def _as_written(array: pa.Array) -> np.ndarray:
    """A float32 or float16 column as float64, each value through its shortest decimal text: the number that
    was stored (0.085, not the 0.08500000089406967 float32 holds). Nulls are NaN."""
    if array.type == pa.float32():  # Arrow writes the shortest text that reads back as the same float32
        return pc.cast(pc.cast(array, pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
    halves = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)  # float16: at most 65,536 distinct values
    distinct, index = np.unique(halves, return_inverse=True)
    shortest = np.array([float(np.format_float_positional(value, unique=True)) for value in distinct])
    return np.where(_valid(array), shortest[index], np.nan)


def _convert_number(array, spec, present):
    values, invalid = _to_float(array, spec, present)
    return _result(spec, values, present, invalid, array)


def _integers(array: pa.Array) -> np.ndarray:
    """An Arrow integer array as int64, 0 where null."""
    if array.null_count:
        array = pc.fill_null(array, 0)
    return array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _convert_integer(array, spec, present):
    if pa.types.is_integer(array.type):
        return _result(spec, _integers(array), present, np.zeros(len(array), bool), array)
    plain = None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = trimmed(array)
        try:  # every value a plain integer (the usual file): exact, and read in one pass
            return _result(spec, _integers(pc.cast(text, pa.int64())), present, np.zeros(len(array), bool), array)
        except pa.ArrowInvalid:  # some value is not plain digits, or too large
            plain = pc.fill_null(pc.match_substring_regex(text, r"^[+-]?\d{1,18}$"), False)
    values, invalid = _to_float(array, spec, present)  # 1.0, 1e3, $5, 1,234 (by the column's format)
    fractional = present & ~invalid & (values != np.round(values))
    too_big = present & ~invalid & (np.abs(values) >= 2.0**53)  # not held exactly by the float it was read as
    integers = np.where(invalid | fractional | too_big, 0, values).astype(np.int64)
    if plain is not None and pc.any(plain).as_py():  # written as digits: read exactly, however large
        digits = pc.replace_substring_regex(pc.if_else(plain, text, "0"), r"^\+", "")
        exact = plain.to_numpy(zero_copy_only=False)
        integers = np.where(exact, _integers(pc.cast(digits, pa.int64())), integers)
        too_big &= ~exact
    return _result(spec, integers, present, invalid | fractional | too_big, array)


def _convert_money(array, spec, present):
    if pa.types.is_integer(array.type):
        values = _integers(array)
        too_big = present & ((values > _MOST) | (values < -_MOST))
        return _result(spec, np.where(too_big, 0, values) * UNIT, present, too_big, array, _too_large(too_big, array))
    if pa.types.is_decimal(array.type):
        exact = _decimal_to_units(array)
        if exact is not None:
            units, too_big = exact
            return _result(spec, units, present, too_big, array, _too_large(too_big, array))
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        # Every value plain digits with at most six decimals (the usual file): exact, and read in one pass.
        exact = _exact_units(trimmed(array)) if spec.format in (None, "1234.56") else None
        if exact is not None:
            units, too_big = exact
            return _result(spec, units, present, too_big, array, _too_large(too_big, array))
        safe, ok = _readable(_clean_number_text(array, spec), _NUMBER_RE)  # $5, 1,234.56 (by the format)
        exact = _exact_units(safe)
        if exact is not None:
            units, too_big = exact
            return _result(spec, units, present, (present & ~ok) | too_big, array, _too_large(too_big, array))
    values, invalid = _to_float(array, spec, present)  # more than six decimals, 1e-9: through floats
    coarse = None
    if array.type in _NARROW_FLOATS:  # float32: 1,234,567.89 is held as 1,234,567.875
        coarse = present & ~invalid & (np.abs(values) >= _NARROW_FLOATS[array.type])
        invalid = invalid | coarse
    units, too_big = _float_units(values, present & ~invalid, array, spec)
    notes = _too_large(too_big, array)
    if coarse is not None and coarse.any():
        stored, limit = _FLOAT_NAMES[array.type], f"{_NARROW_FLOATS[array.type]:,}"
        coarse_notes = _noted(
            coarse,
            array,
            f"' cannot be held to the cent: the column is stored as {stored}, "
            f"whose steps are wider than a cent from {limit} up; store money as "
            "decimal (or float64)",
        )
        notes = coarse_notes if notes is None else pc.coalesce(notes, coarse_notes)
    return _result(spec, units, present, invalid | too_big, array, notes)


_MOST = LIMIT // UNIT  # the largest whole amount the engine holds
_LIMIT_TEXT = f"{LIMIT // UNIT:,}.{LIMIT % UNIT:06d}"  # less than this in magnitude: every amount the engine holds


def _too_large(too_big: np.ndarray, array: pa.Array) -> pa.Array | None:
    return _noted(too_big, array, f"' is too large: amounts must be less than {_LIMIT_TEXT} in magnitude")


def _noted(mask: np.ndarray, array: pa.Array, after: str) -> pa.Array | None:
    """A note for each row of ``mask`` (the value quoted, then ``after``), null elsewhere; None if no row is."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return None
    quoted = pc.cast(array.take(pa.array(rows)), pa.string())
    return text.spread(len(array), rows, text.join("'", quoted, after))


def _float_units(values: np.ndarray, readable: np.ndarray, array: pa.Array, spec) -> tuple[np.ndarray, np.ndarray]:
    """Amounts read as floats (where ``readable``) to units, and where they are too large to hold. Near the
    limit a float cannot tell (its steps there are ~1,000 units): such values are read again exactly."""
    scaled = np.where(readable, values, 0.0) * UNIT
    magnitude = np.abs(scaled)
    too_big = magnitude >= float(LIMIT)
    units = to_units(np.where(too_big, 0.0, scaled)) if too_big.any() else to_units(scaled)
    if magnitude.size and magnitude.max() >= float(LIMIT) - 2.0**14:
        near = np.flatnonzero(readable & (np.abs(magnitude - float(LIMIT)) <= 2.0**14))
        taken = array.take(pa.array(near))
        if pa.types.is_string(taken.type) or pa.types.is_large_string(taken.type):
            exact = [Decimal(value) for value in _clean_number_text(taken, spec).to_pylist()]
        else:
            exact = [Decimal(value) for value in taken.to_pylist()]  # a float's own value, exactly
        for row, value in zip(near.tolist(), exact, strict=True):
            held = decimal_to_units(value)
            too_big[row] = abs(held) >= LIMIT
            units[row] = 0 if too_big[row] else held
    return units, too_big


def _decimal_to_units(array: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact decimals to units (0 where null), and where a value is too large to hold (its units then 0): of
    LIMIT units or more in magnitude. None if a value is wider than 38 digits at six decimals."""
    scale = array.type.scale
    if scale > 6 or not isinstance(array.type, pa.Decimal128Type):
        try:
            rounded = pc.round(array, ndigits=6, round_mode="half_towards_infinity") if scale > 6 else array
            array = pc.cast(rounded, pa.decimal128(38, 6))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # wider than 38 digits at 6 places
            return None  # not exact units: the caller reads such a column through floats, flagging what is too big
        scale = 6
    # A decimal128 is two little-endian int64 words: it fits in int64 where the high word is the low word's sign.
    words = np.frombuffer(array.buffers()[1], dtype=np.int64)[2 * array.offset : 2 * (array.offset + len(array))]
    low, high = words[0::2], words[1::2]
    if array.null_count:
        present = _valid(array)
        low, high = np.where(present, low, 0), np.where(present, high, 0)
    factor = 10 ** (6 - scale)
    bound = -(-LIMIT // factor)  # the least value of LIMIT units or more
    too_big = (high != low >> 63) | (low >= bound) | (low <= -bound)  # not np.abs: it overflows on the least int64
    if too_big.any():
        low = np.where(too_big, 0, low)
    elif factor == 1:
        return low.copy(), too_big
    return low * factor, too_big


def _convert_percent(array, spec, present):
    return _convert_number(array, spec, present)


def _convert_text(array, spec, present):
    text = _encoded_if_repeating(trimmed(_as_text(array)))
    blank = _empty(text)
    if blank is not None and blank.any():  # '' or only white space: no value, as an empty CSV field is
        present = present & ~blank
    return _result(spec, text, present, np.zeros(len(array), bool), array)


def _encoded_if_repeating(text: pa.Array) -> pa.Array:
    """A long column of plain text whose values repeat (payees, products, deal types; as a CSV file gives
    them) dictionary-encoded, as parquet files mostly hold them: it takes a fraction of the memory, and what
    is done with it (filters, lookups, payee codes) is done once per distinct value. Keys and other columns
    of mostly distinct values (judged from their first values) are left as they are."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)) or len(text) <= _DISTINCT_FIRST:
        return text
    if pc.count_distinct(text.slice(0, _DISTINCT_FIRST)).as_py() > _DISTINCT_FIRST // 4:
        return text
    return pc.dictionary_encode(text)


def _empty(text: pa.Array) -> np.ndarray | None:
    """Where ``text`` (string, large string, or a dictionary of them) is '' (null or not); None if unknown."""
    if pa.types.is_dictionary(text.type):
        empty = _empty(text.dictionary)
        if empty is None or not empty.any():
            return empty if empty is None else grouping.uniform(False, len(text))
        return empty[np.asarray(text.indices.fill_null(0))]
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=kind)[text.offset : text.offset + len(text) + 1]
    return offsets[1:] == offsets[:-1]


def trimmed(text: pa.Array) -> pa.Array:
    """Text without white space before or after it: 'ann ' (as spreadsheets leave it) is the payee 'ann', and
    'renewal ' is 'renewal' to a filter. A dictionary's values are trimmed, not each element; a plain column
    is first looked at, byte by byte at the ends of its values, and left as it is where none can be white."""
    if pa.types.is_dictionary(text.type):
        values = trimmed(text.dictionary)
        return text if values is text.dictionary else pa.DictionaryArray.from_arrays(text.indices, values)
    if not _may_have_white_ends(text):
        return text
    return pc.utf8_trim_whitespace(text)


def _white_bytes(*characters: str, last: bool) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    for character in characters:
        encoded = character.encode("utf-8")
        table[encoded[-1] if last else encoded[0]] = True
    return table


# Every character Arrow's trim removes (Unicode white space; a test holds the two lists together), and from
# them the bytes that can start or end one in UTF-8.
_WHITE = [
    "\t",
    "\n",
    "\v",
    "\f",
    "\r",
    " ",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x85",
    "\xa0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
]
_WHITE_FIRST, _WHITE_LAST = _white_bytes(*_WHITE, last=False), _white_bytes(*_WHITE, last=True)


def _may_have_white_ends(text: pa.Array) -> bool:
    """Whether a value of ``text`` (string or large string) may start or end with white space: its first and
    last bytes looked up in two tables (no false 'no'; a rare false 'yes' costs one trim)."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return True
    _, offsets, data = text.buffers()
    if data is None or len(text) == 0:
        return False
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=kind)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(data, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts  # empty and null values have no ends to look at
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    return bool(_WHITE_FIRST[data[starts]].any() or _WHITE_LAST[data[ends - 1]].any())


_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def _convert_bool(array, spec, present):
    if pa.types.is_boolean(array.type):
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
        return _result(spec, values, present, np.zeros(len(array), bool), array)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(array)))
    is_true = pc.fill_null(pc.is_in(text, value_set=pa.array(_TRUE)), False).to_numpy(zero_copy_only=False)
    is_false = pc.fill_null(pc.is_in(text, value_set=pa.array(_FALSE)), False).to_numpy(zero_copy_only=False)
    return _result(spec, is_true, present, present & ~(is_true | is_false), array)


# A longer column of text is looked at for repeats: dates are read a distinct text at a time, and text whose
# first values repeat is dictionary-encoded.
_DISTINCT_FIRST = 1 << 12


def _convert_date(array, spec, present, plausible: tuple[int, int] | None = None):
    n = len(array)
    if pa.types.is_date(array.type) or pa.types.is_timestamp(array.type):
        days = _integers(pc.cast(array if pa.types.is_date32(array.type) else pc.cast(array, pa.date32()), pa.int32()))
        return _result(spec, days, present, np.zeros(n, bool), array)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise _WrongType('dates in a file are text (with `column NAME date "FORMAT"`) or a date type')
    if n <= _DISTINCT_FIRST:
        days, ok = dates.parse(array, spec.format, plausible)
        return _result(spec, days, present, present & ~ok, array)
    # A year has a few hundred days: each distinct text is read once, then spread to its rows.
    encoded = pc.dictionary_encode(array)
    if len(encoded.dictionary) == 0:  # no date at all
        return _result(spec, np.zeros(n, np.int64), present, np.zeros(n, bool), array)
    days, ok = dates.parse(encoded.dictionary, spec.format, plausible)
    index = _integers(encoded.indices)  # 0 where null: masked by present
    return _result(spec, np.where(present, days[index], 0), present, present & ~ok[index], array)


_CONVERTERS = {
    Type.TEXT: _convert_text,
    Type.INTEGER: _convert_integer,
    Type.NUMBER: _convert_number,
    Type.PERCENT: _convert_percent,
    Type.MONEY: _convert_money,
    Type.BOOL: _convert_bool,
}
