"""Numbers and explanations as text, a whole column at a time.

The ledger explains every line in words (``20,000.00 at 8% (50%–100%)``). For
millions of lines that text is built with Arrow string kernels, not a Python
f-string per line.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.money import UNIT


def _grouped(integer_part: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators: 1234567 -> '1,234,567'."""
    integer_part = np.asarray(integer_part, dtype=np.int64)

    def group(rest: np.ndarray) -> pa.Array:
        # A group is zero-padded to three digits unless it is the leading one.
        digits = pc.cast(pa.array(rest % 1000), pa.string())
        return pc.if_else(pa.array(rest >= 1000), pc.utf8_lpad(digits, 3, "0"), digits)

    result = group(integer_part)
    rest = integer_part // 1000
    while np.any(rest > 0):
        joined = pc.binary_join_element_wise(group(rest), result, ",")
        result = pc.if_else(pa.array(rest > 0), joined, result)
        rest = rest // 1000
    return result


def amount(units: np.ndarray, decimals: int = 2) -> pa.Array:
    """Money (or a count) in units, with thousands separators and ``decimals`` decimals, half away from zero."""
    units = np.asarray(units, dtype=np.int64)
    step = UNIT // (10 ** decimals)
    scaled = (np.abs(units) + step // 2) // step
    base = 10 ** decimals
    text = _grouped(scaled // base)
    if decimals:
        fraction = pc.utf8_lpad(pc.cast(pa.array(scaled % base), pa.string()), decimals, "0")
        text = pc.binary_join_element_wise(text, fraction, ".")
    negative = pa.array((units < 0) & (scaled > 0))
    return pc.if_else(negative, pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)


def exact(units: np.ndarray) -> pa.Array:
    """An exact amount: at least 2 decimals, up to 6 when they are not zero (200.044)."""
    text = amount(units, 6)
    return pc.replace_substring_regex(text, r"(\.\d\d\d*?)0+$", r"\1")


def percent(ratio: np.ndarray) -> pa.Array:
    """0.625 -> '62.5%' (at most two decimals)."""
    ratio = np.asarray(ratio, dtype=np.float64)
    hundredths = np.floor(np.abs(ratio) * 10000 + 0.5).astype(np.int64)
    text = pc.cast(pa.array(hundredths // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(hundredths % 100), pa.string()), 2, "0")
    text = pc.binary_join_element_wise(text, pc.replace_substring_regex(fraction, "0+$", ""), ".")
    text = pc.replace_substring_regex(text, r"\.$", "")
    negative = pa.array((ratio < 0) & (hundredths > 0))
    text = pc.if_else(negative, pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)
    return pc.binary_join_element_wise(text, pa.scalar("%"), "")


def number(values: np.ndarray) -> pa.Array:
    """A plain number with up to four decimals: 1.5 -> '1.5'."""
    values = np.asarray(values, dtype=np.float64)
    scaled = np.floor(np.abs(values) * 10000 + 0.5).astype(np.int64)
    text = pc.cast(pa.array(scaled // 10000), pa.string())
    fraction = pc.replace_substring_regex(pc.utf8_lpad(pc.cast(pa.array(scaled % 10000), pa.string()), 4, "0"),
                                          "0+$", "")
    text = pc.replace_substring_regex(pc.binary_join_element_wise(text, fraction, "."), r"\.$", "")
    return pc.if_else(pa.array(values < 0), pc.binary_join_element_wise(pa.scalar("-"), text, ""), text)


def join(*parts, separator: str = "") -> pa.Array:
    """Concatenate string arrays and fixed strings; a null part drops out (with its separator).

    Not ``binary_join_element_wise(null_handling="skip")``: in pyarrow it drops the rows where every part is
    null, which would shift every later explanation onto the wrong line.
    """
    arrays = [p for p in parts if isinstance(p, (pa.Array, pa.ChunkedArray))]
    if not arrays:
        return pa.scalar(separator.join(str(p) for p in parts if p is not None), pa.string())
    if not separator:
        filled = [pc.fill_null(p, "") if isinstance(p, (pa.Array, pa.ChunkedArray)) else pa.scalar(p, pa.string())
                  for p in parts]
        return pc.binary_join_element_wise(*filled, "")
    result = pa.nulls(len(arrays[0]), pa.string())
    for part in parts:
        part = part if isinstance(part, (pa.Array, pa.ChunkedArray)) else pa.array([part] * len(result), pa.string())
        joined = pc.binary_join_element_wise(result, part, separator)
        result = pc.if_else(pc.is_null(result), part, pc.if_else(pc.is_null(part), result, joined))
    return pc.fill_null(result, "")


def when(mask: np.ndarray, text) -> pa.Array:
    """``text`` where mask holds, null elsewhere (so that :func:`join` leaves it out)."""
    mask = np.asarray(mask, dtype=bool)
    if not isinstance(text, (pa.Array, pa.ChunkedArray)):
        text = pa.array(np.full(mask.size, text, dtype=object), pa.string())
    return pc.if_else(pa.array(mask), text, pa.scalar(None, pa.string()))


def constant(text: str, n: int) -> pa.Array:
    return pa.array(np.full(n, text, dtype=object), pa.string()) if n else pa.array([], pa.string())


def pick(index: np.ndarray, labels: list[str]) -> pa.Array:
    """labels[index] for each element; null where index < 0."""
    index = np.asarray(index, dtype=np.int64)
    valid = index >= 0
    taken = pc.take(pa.array(labels, pa.string()), pa.array(np.where(valid, index, 0)))
    return pc.if_else(pa.array(valid), taken, pa.scalar(None, pa.string()))


def format_percent(value: Decimal) -> str:
    """A fixed rate for people: Decimal('0.125') -> '12.5%'."""
    shown = (value * 100).normalize()
    text = f"{shown:f}"
    return f"{text}%"


def format_money(value: Decimal) -> str:
    return f"{value:,.2f}"
