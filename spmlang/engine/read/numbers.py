"""Number, percent, integer and money columns: read from numbers of any Arrow type, or from text in the column's
number format ("1.234,56"), exactly where they can be (money as int64 units), and never past what the engine
holds: a value that cannot be read, or is too large, is marked invalid with a note saying why."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import column_text
from spmlang.engine.kernels.money import LIMIT, UNIT, decimal_to_units, to_units
from spmlang.engine.read.column_values import WrongType, buffer_view, integers, past_int64, present_mask, typed
from spmlang.engine.read.text import as_text, trimmed
from spmlang.ir.expressions import Type
from spmlang.ir.plan import ColumnSpec

_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_SIX_DECIMALS_RE = r"^[+-]?(\d+\.?\d{0,6}|\.\d{1,6})$"  # read exactly as units
_SEPARATORS = {  # number format -> (thousands separator, decimal mark)
    "1234.56": ("", "."),
    "1,234.56": (",", "."),
    "1234,56": ("", ","),
    "1.234,56": (".", ","),
    "1 234,56": (" ", ","),
    "1 234.56": (" ", "."),
    "1'234.56": ("'", "."),
}


def _clean_number_text(array: pa.Array, spec: ColumnSpec) -> pa.Array:
    text = pc.utf8_trim_whitespace(as_text(array))
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
        percent = pc.ends_with(text, "%").fill_null(False).to_numpy(zero_copy_only=False)
        text = pc.replace_substring_regex(text, r"\s*%$", "")
    safe, ok = _readable(text, pattern)
    values = pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)
    if percent is not None:
        values = np.where(percent, values / 100.0, values)
    return values, present & ~ok


def _readable(text: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    """``text`` where it matches ``pattern`` (else '0'), and where it does."""
    ok = pc.match_substring_regex(text, pattern).fill_null(False)
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
    raise WrongType("declare the column as text, or fix the file")


# Floats narrower than float64: the magnitude from which their steps are wider than a cent (amounts that large
# cannot be held to the cent), and their names.
_NARROW_FLOATS = {pa.float32(): 2**17, pa.float16(): 2**4}
_FLOAT_NAMES = {pa.float32(): "float32", pa.float16(): "float16"}


def _as_written(array: pa.Array) -> np.ndarray:
    """A float32 or float16 column as float64, each value through its shortest decimal text: the number that
    was stored (0.085, not the 0.08500000089406967 float32 holds). Nulls are NaN."""
    if array.type == pa.float32():  # Arrow writes the shortest text that reads back as the same float32
        return pc.cast(pc.cast(array, pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
    halves = array.fill_null(0).to_numpy(zero_copy_only=False)  # float16: at most 65,536 distinct values
    distinct, index = np.unique(halves, return_inverse=True)
    shortest = np.array([float(np.format_float_positional(value, unique=True)) for value in distinct])
    return np.where(present_mask(array), shortest[index], np.nan)


def convert_number(array, spec, present):
    values, invalid = _to_float(array, spec, present)
    return typed(spec, values, present, invalid, array)


def convert_integer(array, spec, present):
    if pa.types.is_integer(array.type):
        over = past_int64(array)
        if over is None:
            return typed(spec, integers(array), present, np.zeros(len(array), bool), array)
        values = np.where(over, 0, integers(array))
        return typed(
            spec,
            values,
            present,
            over,
            array,
            _noted(over, array, f"' is too large: integers must be less than {2**63:,}"),
        )
    plain = None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = trimmed(array)
        try:  # every value a plain integer (the usual file): exact, and read in one pass
            return typed(spec, integers(pc.cast(text, pa.int64())), present, np.zeros(len(array), bool), array)
        except pa.ArrowInvalid:  # some value is not plain digits, or too large
            # pyarrow-stubs: fill_null keeps no BooleanArray type
            plain = cast(pa.BooleanArray, pc.match_substring_regex(text, r"^[+-]?\d{1,18}$").fill_null(False))
    values, invalid = _to_float(array, spec, present)  # 1.0, 1e3, $5, 1,234 (by the column's format)
    fractional = present & ~invalid & (values != np.round(values))
    too_big = present & ~invalid & (np.abs(values) >= 2.0**53)  # not held exactly by the float it was read as
    whole = np.where(invalid | fractional | too_big, 0, values).astype(np.int64)
    if plain is not None and pc.any(plain).as_py():  # written as digits: read exactly, however large
        digits = pc.replace_substring_regex(pc.if_else(plain, text, "0"), r"^\+", "")
        exact = plain.to_numpy(zero_copy_only=False)
        whole = np.where(exact, integers(pc.cast(digits, pa.int64())), whole)
        too_big &= ~exact
    return typed(spec, whole, present, invalid | fractional | too_big, array)


def convert_money(array, spec, present):
    if pa.types.is_integer(array.type):
        values = integers(array)
        too_big = present & ((values > _MOST) | (values < -_MOST))
        over = past_int64(array)  # wrapped to a negative amount as int64
        if over is not None:
            too_big |= over
        return typed(spec, np.where(too_big, 0, values) * UNIT, present, too_big, array, _too_large(too_big, array))
    if pa.types.is_decimal(array.type):
        exact = _decimal_to_units(array)
        if exact is not None:
            units, too_big = exact
            return typed(spec, units, present, too_big, array, _too_large(too_big, array))
    safe = None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        # Every value plain digits with at most six decimals (the usual file): exact, and read in one pass.
        exact = _exact_units(trimmed(array)) if spec.format in (None, "1234.56") else None
        if exact is not None:
            units, too_big = exact
            return typed(spec, units, present, too_big, array, _too_large(too_big, array))
        safe, ok = _readable(_clean_number_text(array, spec), _NUMBER_RE)  # $5, 1,234.56 (by the format)
        exact = _exact_units(safe)
        if exact is not None:
            units, too_big = exact
            return typed(spec, units, present, (present & ~ok) | too_big, array, _too_large(too_big, array))
    values, invalid = _to_float(array, spec, present)  # more than six decimals, 1e-9: through floats
    coarse = None
    if array.type in _NARROW_FLOATS:  # float32: 1,234,567.89 is held as 1,234,567.875
        coarse = present & ~invalid & (np.abs(values) >= _NARROW_FLOATS[array.type])
        invalid = invalid | coarse
    units, too_big = _float_units(values, present & ~invalid, array, spec)
    if safe is not None:  # text: only the values with more than six decimals or an exponent are read as floats
        units, too_big = _exact_where_plain(safe, units, too_big)
    notes = _too_large(too_big, array)
    coarse_notes = None
    if coarse is not None:
        stored, limit = _FLOAT_NAMES[array.type], f"{_NARROW_FLOATS[array.type]:,}"
        coarse_notes = _noted(
            coarse,
            array,
            f"' cannot be held to the cent: the column is stored as {stored}, "
            f"whose steps are wider than a cent from {limit} up; store money as "
            "decimal (or float64)",
        )
    if coarse_notes is not None:  # some value cannot be held to the cent
        notes = coarse_notes if notes is None else pc.coalesce(notes, coarse_notes)
    return typed(spec, units, present, invalid | too_big, array, notes)


_MOST = LIMIT // UNIT  # the largest whole amount the engine holds
_LIMIT_TEXT = f"{LIMIT // UNIT:,}.{LIMIT % UNIT:06d}"  # less than this in magnitude: every amount the engine holds


def _too_large(too_big: np.ndarray, array: pa.Array) -> pa.Array | None:
    return _noted(too_big, array, f"' is too large: amounts must be less than {_LIMIT_TEXT} in magnitude")


def _noted(mask: np.ndarray, array: pa.Array, after: str) -> pa.Array | None:
    """A note for each row of ``mask`` (the value quoted, then ``after``), null elsewhere; None if no row is."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return None
    quoted = pc.cast(array.take(rows), pa.string())
    return column_text.spread(len(array), rows, column_text.join("'", quoted, after))


def _exact_where_plain(text: pa.Array, units: np.ndarray, too_big: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``units`` and ``too_big`` as read through floats, with the numbers of ``text`` written with at most six
    decimals read again exactly."""
    plain = pc.match_substring_regex(text, _SIX_DECIMALS_RE).fill_null(False)
    exact = _exact_units(pc.if_else(plain, text, "0"))
    if exact is None:
        return units, too_big
    read = plain.to_numpy(zero_copy_only=False)
    return np.where(read, exact[0], units), np.where(read, exact[1], too_big)


def _float_units(values: np.ndarray, readable: np.ndarray, array: pa.Array, spec) -> tuple[np.ndarray, np.ndarray]:
    """Amounts read as floats (where ``readable``) to units, and where they are too large to hold. Near the
    limit a float cannot tell (its steps there are ~1,000 units): such values are read again exactly."""
    scaled = np.where(readable, values, 0.0) * UNIT
    magnitude = np.abs(scaled)
    too_big = magnitude >= float(LIMIT)
    units = to_units(np.where(too_big, 0.0, scaled)) if too_big.any() else to_units(scaled)
    if magnitude.size and magnitude.max() >= float(LIMIT) - 2.0**14:
        near = np.flatnonzero(readable & (np.abs(magnitude - float(LIMIT)) <= 2.0**14))
        taken = array.take(near)
        if pa.types.is_string(taken.type) or pa.types.is_large_string(taken.type):
            exact = [Decimal(value) for value in _clean_number_text(taken, spec).to_pylist() if value is not None]
        else:  # a float's own value, exactly
            exact = [Decimal(value) for value in taken.to_pylist() if value is not None]
        for row, value in zip(near.tolist(), exact, strict=True):
            held = decimal_to_units(value)
            too_big[row] = abs(held) >= LIMIT
            units[row] = 0 if too_big[row] else held
    return units, too_big


def decimal_units(array: pa.Array) -> np.ndarray:
    """Exact decimals of at most 6 places, as spm writes them (a ledger's money and ratios), back to units; 0
    where null. A ValueError for a value with more places, or too large to hold, which spm never writes (a
    ledger edited by hand)."""
    if not pa.types.is_decimal(array.type):  # text that reads as decimals, or an ArrowInvalid saying why not
        array = pc.cast(array, pa.decimal128(38, 6))
    if array.type.scale > 6:
        raise ValueError(f"decimals of {array.type.scale} places: spm writes at most 6")
    converted = _decimal_to_units(array)
    if converted is None or converted[1].any():
        at = 0 if converted is None else int(np.flatnonzero(converted[1])[0])
        raise ValueError(f"{array[at].as_py()} is larger than any amount spm writes")
    return converted[0]


def _decimal_to_units(array: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact decimals to units (0 where null), and where a value is too large to hold (its units then 0): of
    LIMIT units or more in magnitude. None if a value is wider than 38 digits at six decimals."""
    scale = array.type.scale
    if isinstance(array.type, pa.Decimal64Type):
        if 0 <= scale <= 6:  # one int64 word a value (a ledger as built)
            low = buffer_view(array.buffers()[1], np.int64)[array.offset : array.offset + len(array)]
            return _scaled(np.where(present_mask(array), low, 0) if array.null_count else low, scale)
        array = array.cast(pa.decimal128(array.type.precision, scale))  # exact: Arrow rounds decimal128 alone
    if not 0 <= scale <= 6 or not isinstance(array.type, pa.Decimal128Type):  # 1E+20 at scale -20: cast
        try:
            rounded = pc.round(array, ndigits=6, round_mode="half_towards_infinity") if scale > 6 else array
            array = pc.cast(rounded, pa.decimal128(38, 6))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # wider than 38 digits at 6 places
            return None  # not exact units: the caller reads such a column through floats, flagging what is too big
        scale = 6
    # A decimal128 is two little-endian int64 words: it fits in int64 where the high word is the low word's sign.
    words = buffer_view(array.buffers()[1], np.int64)[2 * array.offset : 2 * (array.offset + len(array))]
    low, high = words[0::2], words[1::2]
    if array.null_count:
        present = present_mask(array)
        low, high = np.where(present, low, 0), np.where(present, high, 0)
    return _scaled(low, scale, high != low >> 63)


def _scaled(low: np.ndarray, scale: int, wide: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decimals of ``scale`` places given as int64 (``wide``: where one is wider than int64) in units, 0 where
    too large to hold, and where they are."""
    factor = 10 ** (6 - scale)
    bound = -(-LIMIT // factor)  # the least value of LIMIT units or more
    too_big = (low >= bound) | (low <= -bound)  # not np.abs: it overflows on the least int64
    if wide is not None:
        too_big |= wide
    if too_big.any():
        low = np.where(too_big, 0, low)
    elif factor == 1:
        return low.copy(), too_big
    return low * factor, too_big


def convert_percent(array, spec, present):
    return convert_number(array, spec, present)
