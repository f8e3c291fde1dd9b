"""Operations on groups of consecutive elements, without a Python loop per group.

A grouping is a boolean mask ``starts``, True on the first element of each
group (and always on element 0). Sums of int64 stay exact.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from spmlang.engine.runtime.cores import cores


def starts_from_keys(*keys: np.ndarray) -> np.ndarray:
    """True where any key differs from the element before (keys sorted so groups are consecutive)."""
    n = len(keys[0]) if keys else 0
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
        for key in keys:
            starts[1:] |= key[1:] != key[:-1]
    return starts


def start_index(starts: np.ndarray) -> np.ndarray:
    """For each element, the index of its group's first element."""
    return np.maximum.accumulate(np.where(starts, np.arange(starts.size), 0)) if starts.size else starts.astype(int)


def cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Running sums that restart at each group."""
    values = np.asarray(values)
    if values.size == 0:
        return values.copy()
    running = np.cumsum(values)
    first = start_index(starts)
    before = np.where(first > 0, running[first - 1], 0)
    return running - before


def diff(running: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The inverse of :func:`cumsum`: each element minus the one before it in its group."""
    running = np.asarray(running)
    if running.size == 0:
        return running.copy()
    previous = np.concatenate(([0], running[:-1])).astype(running.dtype)
    previous[starts] = 0
    return running - previous


def sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """One sum per group, in group order."""
    values = np.asarray(values)
    if values.size == 0:
        return values[:0].copy()
    return np.add.reduceat(values, np.flatnonzero(starts))


def ids(starts: np.ndarray) -> np.ndarray:
    """Group number (0, 1, 2 ...) of each element."""
    return np.cumsum(starts) - 1 if starts.size else starts.astype(np.int64)


def order_by(*keys: np.ndarray) -> np.ndarray:
    """A stable sort by several non-negative integer keys, most significant first.

    When their value ranges fit in 63 bits together the keys are packed into one int64 and sorted once
    (see :func:`stable_order`), which is many times faster than ``np.lexsort`` on millions of rows.
    """
    columns = [np.asarray(k) for k in keys]
    n = columns[0].size if columns else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lows = [int(k.min()) for k in columns]
    bits = [max(int(k.max()) - low, 0).bit_length() for k, low in zip(columns, lows, strict=True)]
    if sum(bits) > 63:
        return np.lexsort(tuple(reversed(columns)))
    packed = np.zeros(n, dtype=np.int64)
    for key, low, width in zip(columns, lows, bits, strict=True):
        if width:
            packed <<= width
            packed |= key.astype(np.int64, copy=False) - low  # widened first: an int8 key minus its low overflows
    return stable_order(packed, sum(bits))


def stable_order(packed: np.ndarray, bits: int | None = None) -> np.ndarray:
    """``np.argsort(packed, kind="stable")`` for non-negative int64 keys of at most ``bits`` bits.

    Sorting values is much faster than sorting indices (numpy sorts int64 values with SIMD): when the key
    and a row's position fit together in 63 bits, the position rides in the low bits of the key, which
    also makes the sort stable, and is read back after sorting.
    """
    n = packed.size
    if bits is None:
        bits = int(packed.max(initial=0)).bit_length()
    position_bits = max(n - 1, 0).bit_length()
    if bits + position_bits > 63:
        return np.argsort(packed, kind="stable")
    combined = packed.astype(np.int64)  # a copy, widened (narrower keys would overflow when shifted)
    combined <<= position_bits
    combined |= np.arange(n, dtype=np.int64)
    sort_in_place(combined)
    combined &= (1 << position_bits) - 1
    return combined


THREADED_SORT = 1 << 21  # values from which sort_in_place sorts parts of them on several cores


# Values that fall from one to the next at most once in this many are in long sorted runs (lines of one
# component after another's, each in crediting order): numpy's stable sort merges such runs several times
# faster than its default sort sorts them (which gains nothing from order already there).
RUN_LENGTH = 64


def in_sorted_runs(values: np.ndarray) -> bool:
    """Whether ``values`` fall from one to the next at most once in :data:`RUN_LENGTH` (and are long enough
    for that to say anything)."""
    if values.size < 2 * RUN_LENGTH:
        return False
    return int(np.count_nonzero(values[1:] < values[:-1])) * RUN_LENGTH <= values.size


def sort_in_place(values: np.ndarray) -> None:
    """``values.sort()`` of integer values, on every core for a large array: numpy sorts on one, releasing the
    GIL, so parts sorted on threads at once and then merged (a stable sort finds the sorted runs and merges
    them) take about half the time on two cores. Values mostly in sorted runs are sorted by the stable sort,
    which merges the runs where they are. The same values in the same order: it is a sort."""
    kind: Literal["stable", "quicksort"] = "stable" if in_sorted_runs(values) else "quicksort"
    parts = min(cores(), values.size // max(THREADED_SORT // 2, 1)) if values.size >= THREADED_SORT else 1
    if parts < 2:
        values.sort(kind=kind)
    else:
        _sorted_on_threads(values, parts, kind)


def _sorted_on_threads(values: np.ndarray, parts: int, kind: Literal["stable", "quicksort"] = "quicksort") -> None:
    from concurrent.futures import ThreadPoolExecutor

    bounds = np.linspace(0, values.size, parts + 1, dtype=np.int64)
    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(lambda k: values[bounds[k] : bounds[k + 1]].sort(kind=kind), range(parts)))
    values.sort(kind="stable")


def uniform(value, n: int, dtype=None) -> np.ndarray:
    """``n`` copies of ``value`` stored once: a read-only view (stride 0) that reads like a full array. For
    per-row columns that are constant in most plans (a fixed rate, a share of 100%, no rollup), which would
    otherwise take 8 bytes a row."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), (n,))


def is_uniform(values: np.ndarray) -> bool:
    """Whether ``values`` is one value stored once (see :func:`uniform`), or empty."""
    return values.ndim == 1 and (values.size == 0 or values.strides[0] == 0)


def gather(values: np.ndarray, index) -> np.ndarray:
    """``values[index]`` (an index array, a mask or a slice); a :func:`uniform` column stays uniform."""
    if values.size and is_uniform(values):
        if isinstance(index, slice):
            count = len(range(*index.indices(values.size)))
        else:
            index = np.asarray(index)
            count = int(np.count_nonzero(index)) if index.dtype == bool else index.size
        return np.broadcast_to(values[:1], (count,))
    return values[index]
