"""Exact money: int64 fixed point inside the engine, cents in the ledger.

Credit, measures and amounts before rounding are int64 counts of 10^-6 of the
currency unit ("units"). Sums of units are exact. A product with a rate or a
payout-curve value is evaluated in float64 and snapped back to units with
:func:`to_units` (half away from zero); for amounts under about a billion and
rates of up to four decimals that snap recovers the exact decimal result.

Ledger amounts are cents, made by cumulative rounding (:func:`cumulative_cents`)
in exact integer arithmetic: ``line_i = round(C_i) - round(C_{i-1})``, so the
lines of a group always add up to its rounded total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa

UNIT = 1_000_000  # units per currency unit
CENT = UNIT // 100  # units per cent
LIMIT = 1 << 62  # units: every amount the engine holds is below this in magnitude
_TIE_TOLERANCE = 2.0 ** -50  # relative: float error of a few operations, far below one unit


def decimal_to_units(value: Decimal) -> int:
    """An exact decimal in currency units (or a count) to fixed-point units, half away from zero."""
    return int((value * UNIT).to_integral_value(rounding=ROUND_HALF_UP))


def to_units(values: np.ndarray | float) -> np.ndarray:
    """Float values already scaled to units -> int64 units, half away from zero.

    A value within a few ulps of a half unit is a tie computed inexactly, and
    goes away from zero like the exact tie it stands for.
    """
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    rounded = np.floor(magnitude + 0.5 + magnitude * _TIE_TOLERANCE)
    return np.copysign(rounded, values).astype(np.int64)


def units_to_cents(units: np.ndarray) -> np.ndarray:
    """Round int64 units to int64 cents, half away from zero, exactly."""
    units = np.asarray(units, dtype=np.int64)
    magnitude = (np.abs(units) + CENT // 2) // CENT
    return np.where(units < 0, -magnitude, magnitude)


def cumulative_cents(units: np.ndarray, group_starts: np.ndarray) -> np.ndarray:
    """Cumulative rounding within groups of consecutive lines.

    ``units`` are exact line amounts in order; ``group_starts`` is a boolean
    mask, True on the first line of each group. Returns lines in cents whose
    running sums equal the rounded running sums of the exact amounts.
    """
    from spmlang.engine import grouping

    running = grouping.cumsum(np.asarray(units, dtype=np.int64), group_starts)
    return grouping.diff(units_to_cents(running), group_starts)


def cents_to_decimal_array(cents: np.ndarray, valid: np.ndarray | None = None, scale: int = 2,
                           precision: int = 18) -> pa.Array:
    """int64 integers, read as having ``scale`` decimals, to an Arrow decimal128 array (exact)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((cents.size, 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)  # two's complement sign extension to 128 bits
    return _decimals(pa.decimal128(precision, scale), words, cents.size, valid)


def cents_to_decimal64_array(cents: np.ndarray, valid: np.ndarray | None = None, scale: int = 2) -> pa.Array:
    """int64 integers, read as having ``scale`` decimals, to an Arrow decimal64(18) array: the same integers,
    not copied. The ledger is built so: parquet stores decimals of up to 18 digits as int64 whichever Arrow
    type they come in (and reads them back as decimal128), and this one it writes without converting."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    return _decimals(pa.decimal64(18, scale), cents, cents.size, valid)


def _decimals(kind: pa.DataType, words: np.ndarray, n: int, valid: np.ndarray | None) -> pa.Array:
    if not np.little_endian:  # pragma: no cover - every supported platform is little endian
        raise RuntimeError("spmlang's ledger writer needs a little-endian machine")
    buffers = [None, pa.py_buffer(words)]  # no copy: the Arrow buffer keeps the numpy array alive
    null_count = 0
    if valid is not None and not bool(np.all(valid)):
        buffers[0] = pa.py_buffer(np.packbits(np.asarray(valid, dtype=bool), bitorder="little").tobytes())
        null_count = int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(kind, n, buffers, null_count=null_count)


def units_to_scale(units: np.ndarray, scale: int = 2) -> np.ndarray:
    """int64 units as int64 integers with ``scale`` decimals (at most 6), half away from zero."""
    units = np.asarray(units, dtype=np.int64)
    step = 10 ** (6 - scale)
    if step == 1:
        return units
    magnitude = (np.abs(units) + step // 2) // step
    return np.where(units < 0, -magnitude, magnitude)


def units_to_decimal_array(units: np.ndarray, valid: np.ndarray | None = None, scale: int = 2) -> pa.Array:
    """int64 units to a decimal128 array with ``scale`` decimals (half away from zero when scale < 6)."""
    return cents_to_decimal_array(units_to_scale(units, scale), valid, scale=scale, precision=18 if scale <= 6 else 28)
