"""Exact money: int64 fixed point inside the engine, cents in the ledger.

Credit, measures and amounts before rounding are int64 counts of 10^-6 of the
currency unit ("units"). Every amount the engine holds is below :data:`LIMIT` in
magnitude; an amount that would not be is an error (:class:`TooLarge`), never a
wrapped number. Sums of units are exact. A product with a rate or a
payout-curve value is evaluated in float64 and snapped back to units with
:func:`to_units` (half away from zero). Where the float error could change
which unit a value rounds to (within that error of a half unit, or at amounts
so large that it reaches a whole unit, as in currencies of large numbers: IDR,
VND, KRW), the value is recomputed exactly in decimal: the snap is always the
exact decimal result.

Ledger amounts are cents, made by cumulative rounding (:func:`cumulative_cents`)
in exact integer arithmetic: ``line_i = round(C_i) - round(C_{i-1})``, so the
lines of a group always add up to its rounded total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import cast

import numpy as np
import pyarrow as pa

UNIT = 1_000_000  # units per currency unit
CENT = UNIT // 100  # units per cent
_TIE_TOLERANCE = 2.0**-50  # relative: float error of a few operations, far below one unit

LIMIT = 1 << 62  # units: every amount the engine holds is below this in magnitude
NO_BALANCE = -(1 << 63)  # the balance of a ledger line that carries none (a draw's or floor's lines carry one)
# Relative: how far a float64 result of a few operations (a product of units and up to three factors, a tier's
# value) may be from the exact one, with room to spare (each operation adds at most 2**-53).
_DOUBT = 2.0**-47
# Units: from here on that error can reach half a unit, and every result is computed in decimal.
EXACT_BELOW = 1 << 46
_LIMIT_FLOAT = float(LIMIT)
_DECIMALS = Context(prec=80)  # wide enough for any product of units and a factor, exactly


class TooLarge(Exception):
    """An amount past :data:`LIMIT` (or not a number), met where it was computed. The caller, who knows what
    the amount is (a component's clause, a payee's credit in a period), turns it into
    :class:`spmlang.diagnostics.AmountTooLarge`. ``position``: the index of the first such value among those
    checked; ``value``: about how large it is, in units; ``table``: the quotas or targets it is of, if either."""

    def __init__(self, position: int | None = None, value: float | None = None, table: str | None = None):
        super().__init__(f"an amount of about {value} units is too large to hold")
        self.position = position
        self.value = value
        self.table = table


def limit_text() -> str:
    """The largest amount the engine holds, as people read it."""
    return f"{(LIMIT - 1) // UNIT:,}.{((LIMIT - 1) % UNIT) // CENT:02d}"


def decimal_to_units(value: Decimal) -> int:
    """An exact decimal in currency units (or a count) to fixed-point units, half away from zero."""
    return int((value * UNIT).to_integral_value(rounding=ROUND_HALF_UP))


def to_units(
    values: np.ndarray | float,
    exact: Callable[[np.ndarray], Sequence[int]] | None = None,
    window: np.ndarray | None = None,
) -> np.ndarray:
    """Float values already scaled to units -> int64 units, half away from zero.

    Without ``exact``, a value within a few ulps of a half unit is taken for a tie computed inexactly, and goes
    away from zero like the exact tie it stands for. With ``exact(index)``, which computes the values at
    ``index`` exactly (as integers, in decimal), every value whose rounding its float error could change is
    computed so: those within ``window`` (by default :data:`_DOUBT` of the value: a few operations' error) of a
    half unit, and all of :data:`EXACT_BELOW` or more, where the window reaches a whole unit. A value of
    :data:`LIMIT` or more (or not a number) raises :class:`TooLarge`.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:  # a constant ($1 * 2): worked as an array of one, and given back as the scalar it was
        window = None if window is None else np.reshape(window, 1)
        return to_units(values.reshape(1), exact, window).reshape(())
    if values.ndim > 1:  # ``exact`` and ``window`` speak of flat positions
        window = None if window is None else np.broadcast_to(window, values.shape).reshape(-1)
        return to_units(values.reshape(-1), exact, window).reshape(values.shape)
    magnitude = np.abs(values)
    largest = float(magnitude.max(initial=0.0))  # NaN if any is NaN
    in_range = largest < _LIMIT_FLOAT
    if exact is None:
        if not in_range:
            position = int(np.flatnonzero(~(magnitude < _LIMIT_FLOAT))[0])
            raise TooLarge(position, float(values[position]))
        rounded = np.floor(magnitude + 0.5 + np.minimum(magnitude * _TIE_TOLERANCE, 0.25))
        return np.copysign(rounded, values).astype(np.int64)
    if not in_range:
        magnitude = np.where(magnitude < _LIMIT_FLOAT, magnitude, 0.0)
    shifted = magnitude + 0.5
    rounded = np.floor(shifted)
    result = (
        np.copysign(rounded, values).astype(np.int64)
        if in_range
        else np.where(values < 0, -rounded, rounded).astype(np.int64)
    )
    # How far each value lies from the half unit it is rounded at (0.5: on a whole unit, the farthest).
    shifted -= rounded
    shifted -= 0.5
    np.abs(shifted, out=shifted)
    doubt = magnitude * _DOUBT if window is None else window
    doubtful = shifted >= 0.5 - doubt
    if not in_range:
        doubtful |= ~(np.abs(values) < _LIMIT_FLOAT)
    if doubtful.any():
        index = np.flatnonzero(doubtful)
        for position, value in zip(index.tolist(), exact(index), strict=True):
            if not -LIMIT < value < LIMIT:
                raise TooLarge(position, float(value))
            result[position] = value
    return result


def decimal_of(value: float) -> Decimal:
    """A float rate, share or multiplier as the decimal it stands for: its shortest text at 15 significant
    digits, so that 1.2 × 1.5 (1.7999999999999998 in float64) is 1.8."""
    return Decimal(f"{value:.15g}")


def scaled(units: np.ndarray | int, *factors) -> np.ndarray:
    """``units`` times ``factors`` (float rates, shares, multipliers; arrays or scalars), snapped to units half
    away from zero, exactly whatever their size: products of :data:`EXACT_BELOW` units or more are recomputed in
    decimal. A product of :data:`LIMIT` or more raises :class:`TooLarge`."""
    shape = np.broadcast_shapes(np.shape(units), *(np.shape(factor) for factor in factors))
    if len(shape) > 1:  # element by element, as one flat array (the exact values are found by flat index)
        flat = [np.broadcast_to(value, shape).reshape(-1) for value in (units, *factors)]
        return scaled(flat[0], *flat[1:]).reshape(shape)
    product = np.asarray(units, dtype=np.float64)
    for factor in factors:
        product = product * factor

    def exact(index: np.ndarray) -> list[int]:
        with localcontext(_DECIMALS):
            result = []
            for i in index.tolist():
                value = Decimal(int(_at(units, i)))
                for factor in factors:
                    value *= decimal_of(float(_at(factor, i)))
                result.append(int(value.to_integral_value(rounding=ROUND_HALF_UP)))
            return result

    return to_units(product, exact)


def _at(values, i: int):
    """Element ``i`` of an array, or the scalar itself."""
    return values[i] if np.ndim(values) else values


def in_decimals(function: Callable[[], Decimal]) -> int:
    """``function()`` (decimal arithmetic) in a context wide enough to be exact, snapped to units."""
    with localcontext(_DECIMALS):
        return int(function().to_integral_value(rounding=ROUND_HALF_UP))


def within_limit(values: np.ndarray) -> np.ndarray:
    """``values`` (int64 units), once known to be below :data:`LIMIT` in magnitude; else :class:`TooLarge`."""
    values = np.asarray(values)
    if values.size and not int(np.abs(values).max()) < LIMIT:
        position = int(np.argmax(np.abs(values) >= LIMIT))
        raise TooLarge(position, float(values[position]))
    return values


def ensure_sums_fit(values: np.ndarray, starts: np.ndarray | None = None) -> None:
    """Raise :class:`TooLarge` if a running sum of ``values`` (int64 units) within a group (``starts``, as in
    :mod:`spmlang.engine.grouping`; one group if None) would reach :data:`LIMIT`: the int64 sums of the same
    values are then exact. ``position`` is the element where the first such sum is reached.

    Most runs are far below the limit in all: the sum of the magnitudes says so in one pass. Only otherwise
    are the running sums found, in float64 (ample to tell a sum near 2**62 from one past it)."""
    values = np.asarray(values)
    if values.size == 0 or float(np.abs(values).sum(dtype=np.float64)) < _LIMIT_FLOAT * (1 - 1e-9):
        return
    from spmlang.engine.kernels import grouping

    floats = values.astype(np.float64)
    running = np.cumsum(floats) if starts is None else grouping.cumsum(floats, starts)
    near = np.flatnonzero(np.abs(running) >= _LIMIT_FLOAT * (1 - 1e-9))
    if near.size == 0:
        return
    # Sums this near the limit are added up again exactly, in Python's integers, group by group.
    first = grouping.start_index(starts) if starts is not None else np.zeros(values.size, dtype=np.int64)
    for group in np.unique(first[near]).tolist():
        end = int(near[first[near] == group][-1]) + 1
        exact = np.cumsum(values[group:end].astype(object))
        past = np.flatnonzero(np.abs(exact) >= LIMIT)
        if past.size:
            raise TooLarge(group + int(past[0]), float(exact[past[0]]))


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
    from spmlang.engine.kernels import grouping

    ensure_sums_fit(units, group_starts)
    running = grouping.cumsum(np.asarray(units, dtype=np.int64), group_starts)
    return grouping.diff(units_to_cents(running), group_starts)


def cents_to_decimal_array(
    cents: np.ndarray, valid: np.ndarray | None = None, scale: int = 2, precision: int = 18
) -> pa.Array:
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
    # No copy: the Arrow buffer keeps the numpy array alive. (An ndarray has the buffer protocol; numpy's
    # stubs say so only from Python 3.12.)
    buffers = [None, pa.py_buffer(cast(memoryview, words))]
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
