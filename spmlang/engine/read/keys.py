"""Transaction keys: their order (equal keys in file order, empty keys last), each row's rank in it, a key
seen before rejected, and keys as text for messages and the ledger. Integer keys are ordered by value, text
keys by text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.expressions.values import decoded_text
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.read.accounting import RowAccounting


def in_key_order(values, valid: np.ndarray) -> tuple[np.ndarray, bool]:
    """Input rows in key order (stable: equal keys keep file order; empty keys last), and whether the keys
    are known to be distinct (if not, they may still be)."""
    if isinstance(values, pa.DictionaryArray):
        values = pc.cast(values, pa.string())
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pc.array_sort_indices(values, null_placement="at_end").to_numpy(zero_copy_only=False), False
    values = np.asarray(values, dtype=np.int64)
    present = values[valid] if not np.all(valid) else values
    low, high = (int(present.min()), int(present.max())) if present.size else (0, 0)
    if present.size and high - low < _DENSE_SPAN * values.size:
        base = 0 if 0 <= low and high < _DENSE_SPAN * values.size else low  # 0: no keys shifted (a copy)
        order = _distinct_dense_order(values, np.asarray(valid, dtype=bool), base, low, high)
        if order is not None:
            return order, True
    if high - low < 2**62:  # as offsets from the lowest key: a fast value sort (empty keys after the highest)
        order = grouping.stable_order(np.where(valid, values - low, high - low + 1), (high - low + 1).bit_length())
        return order, False
    return np.argsort(np.where(valid, values, np.iinfo(np.int64).max), kind="stable"), False


def key_ranks(values, valid, order: np.ndarray, distinct: bool) -> np.ndarray:
    """Each row's position in key order (``order``, of the type a rank takes). Distinct integer keys that
    are every number from the lowest to the highest (ids from a sequence, however shuffled) are their own
    rank, less the lowest: no scatter of ten million positions at random. The lowest and highest keys are
    the first and last in key order."""
    n = order.size
    rank = np.empty(n, dtype=order.dtype)
    if distinct and isinstance(values, np.ndarray) and n and np.all(valid):
        low = int(values[order[0]])
        if int(values[order[-1]]) - low == n - 1:
            return np.subtract(values, low, out=rank, casting="unsafe")  # less than n: fits the rank's type
    rank[order] = np.arange(n, dtype=order.dtype)
    return rank


# Integer keys spanning fewer values than this many times the rows are put in order by slot, not sorted.
_DENSE_SPAN = 2


def _distinct_dense_order(values: np.ndarray, valid: np.ndarray, base: int, low: int, high: int) -> np.ndarray | None:
    """The key order of integer keys that are all distinct and span few values (ids from a sequence, however
    shuffled): each row is written into its key's slot and the slots read in order, with no sort (several
    times faster than sorting); ``base`` is the key of the first slot, ``low`` and ``high`` the lowest and
    highest keys. None if a key repeats (the keys are then sorted)."""
    n = values.size
    kind: type[np.signedinteger[Any]] = np.int32 if n < 2**31 else np.int64
    slots = np.full(high - base + 1, -1, dtype=kind)
    everyone = bool(valid.all())
    rows = np.arange(n, dtype=kind) if everyone else np.flatnonzero(valid).astype(kind)
    keys = values if everyone else values[rows]
    slots[keys - base if base else keys] = rows
    used = slots[low - base :]  # from the lowest key's slot: the slots before it are empty
    if used.size == rows.size and used.min() >= 0:  # as many rows as slots, each written: every key once
        order = used
    else:
        order = used[used >= 0]
        if order.size < rows.size:  # two rows wrote into one slot
            return None
    return order if everyone else np.concatenate([order, np.flatnonzero(~valid).astype(kind)])


def key_text(values, valid: np.ndarray, index: np.ndarray | None = None, present: np.ndarray | None = None) -> pa.Array:
    """Keys as text for the given rows (all by default): null where empty, or where ``present`` is false. The
    nulls ride on the values' validity, so no text is copied to place them."""
    valid = np.asarray(valid, dtype=bool)
    if index is not None:
        valid = valid[index] if valid.ndim else valid
    if present is not None:
        valid = valid & present
    null = None if np.all(valid) else ~np.broadcast_to(valid, (len(values) if index is None else len(index),))
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if index is not None or null is not None:
            positions = np.arange(len(values)) if index is None else index
            values = values.take(pa.array(positions, type=pa.int64(), mask=null))
        return values if values.type == pa.string() else pc.cast(values, pa.string())
    numbers = np.asarray(values, dtype=np.int64)
    numbers = numbers[index] if index is not None else numbers
    return pc.cast(pa.array(numbers, mask=null), pa.string())


def key_rows(values, valid: np.ndarray, keys: pa.Array) -> np.ndarray:
    """The input row (int64) of each of ``keys`` (text, as a ledger writes them); -1 where none has it or it
    is null. Integer keys are compared as integers, each text first checked to be the one spm writes of its
    number (``007`` is no row's key 7)."""
    if isinstance(values, np.ndarray):
        try:
            numbers = pc.cast(keys, pa.int64())
        except pa.ArrowInvalid:  # a text that is no integer: no row has it
            numbers = None
        if numbers is not None:
            written = pc.match_substring_regex(keys, "^(0|-?[1-9][0-9]*)$").fill_null(False)
            wanted = np.asarray(written.to_numpy(zero_copy_only=False), bool)
            return _integer_rows(np.asarray(values, np.int64), valid, numbers.fill_null(0).to_numpy(), wanted)
    run = key_text(values, valid)
    found = pc.index_in(keys, value_set=run, skip_nulls=True)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _integer_rows(values: np.ndarray, valid, wanted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The first row (in file order) with each of ``wanted_keys`` (where ``wanted``) among ``values`` (where
    ``valid``); -1 where none. Keys that span few numbers (ids from a sequence) are found by slot, as
    _distinct_dense_order orders them; others in the sorted keys."""
    rows = np.flatnonzero(np.broadcast_to(np.asarray(valid, bool), values.shape))
    found = np.full(wanted_keys.size, -1, np.int64)
    if rows.size == 0:
        return found
    keys = values[rows]
    low, high = int(keys.min()), int(keys.max())
    if high - low < _DENSE_SPAN * keys.size:
        slots = np.full(high - low + 1, -1, np.int64)
        slots[keys - low] = rows
        if np.count_nonzero(slots >= 0) != rows.size:  # a key twice: the first row has it
            slots.fill(np.iinfo(np.int64).max)
            np.minimum.at(slots, keys - low, rows)
            slots[slots == np.iinfo(np.int64).max] = -1
        inside = wanted & (wanted_keys >= low) & (wanted_keys <= high)
        found[inside] = slots[wanted_keys[inside] - low]
        return found
    order = np.argsort(keys, kind="stable")  # equal keys in file order: the first found first
    ordered = keys[order]
    at = np.minimum(np.searchsorted(ordered, wanted_keys), ordered.size - 1)
    hit = wanted & (ordered[at] == wanted_keys)
    found[hit] = rows[order[at[hit]]]
    return found


def reject_duplicates(values, valid: np.ndarray, order: np.ndarray, accounting: RowAccounting, column: str) -> None:
    """Each run of equal keys: the first row in file order is kept, later ones are rejected."""
    if order.size < 2:
        return
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        sorted_keys = decoded_text(values).take(order)
        same = pc.equal(sorted_keys[1:], sorted_keys[:-1]).fill_null(False).to_numpy(zero_copy_only=False)
    else:
        sorted_keys = np.asarray(values)[order]
        sorted_valid = np.asarray(valid)[order]
        same = (sorted_keys[1:] == sorted_keys[:-1]) & sorted_valid[1:] & sorted_valid[:-1]
    if not np.any(same):
        return
    run_start = np.concatenate(([True], ~same))
    first_of_run = order[np.maximum.accumulate(np.where(run_start, np.arange(order.size), 0))]
    duplicate = np.zeros(order.size, dtype=bool)
    duplicate[order[1:][same]] = True
    rows = np.flatnonzero(duplicate & valid)
    first_row = np.empty(order.size, dtype=np.int64)
    first_row[order] = first_of_run
    message = text.join(
        "duplicate key '",
        key_text(values, valid, rows),
        "' (first seen at row ",
        pc.cast(pa.array(accounting.numbers(first_row[rows])), pa.string()),
        ")",
    )
    mask = np.zeros(order.size, dtype=bool)
    mask[rows] = True
    accounting.reject(mask, "duplicate_key", text.spread(order.size, rows, message), column)
