"""Payee groups: which transactions a group of payees needs, so that a group is paid as a whole run would pay it.

Every payee is in one group (a hash of the name). A payee's lines depend only on the transactions credited to
it and on the tables every group has (quotas, targets, roster, lookups, fx, earlier ledgers): so a group is
sent every transaction that may credit one of its payees, and pays exactly what a run over all the data pays
them. A transaction may credit the payees it names (one per payee column: splits), every manager above them in
the roster (rollups, whatever their dates) and the fallback payee; it goes to each of their groups. Two
more: the rows of one key go where any of them goes (the first in file order is kept, later ones are
rejected as duplicates), and a key an earlier ledger cites goes to the groups of the payees it paid.

Each row is counted (read, credited, excluded, rejected) by one group only, its *home*: the lowest group it
goes to. A row that credits no one (an empty payee) goes to the group of its key, else of its row number.

Groups are bit masks: one bit per group, in words of 64 (``(rows, words)`` arrays of ``uint64``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WORD = 64


def words(groups: int) -> int:
    """How many 64-bit words a mask of ``groups`` groups takes."""
    return max(1, -(-groups // WORD))


def group_of(name: str, groups: int) -> int:
    """The group of a payee (or of a key): the same on every machine and in every run."""
    return zlib.crc32(name.encode("utf-8")) % groups


def bits(group_numbers: Iterable[int], groups: int) -> np.ndarray:
    """One mask with the bits of ``group_numbers``."""
    mask = np.zeros(words(groups), np.uint64)
    for g in group_numbers:
        mask[g // WORD] |= np.uint64(1) << np.uint64(g % WORD)
    return mask


def has(masks: np.ndarray, group: int) -> np.ndarray:
    """Per row: whether its mask has ``group``'s bit."""
    return (masks[:, group // WORD] >> np.uint64(group % WORD)) & np.uint64(1) == 1


def lowest(masks: np.ndarray, groups: int) -> np.ndarray:
    """Per row: its lowest group (the row's home), -1 where the mask is empty."""
    home = np.full(masks.shape[0], -1, np.int64)
    for g in range(groups - 1, -1, -1):
        home[has(masks, g)] = g
    return home


class Reach:
    """Who may be credited with a transaction that names a payee: the payee, every manager above it in the
    roster (dated rows included) and the fallback payee; as a mask of their groups, made once per name."""

    def __init__(self, groups: int, managers: dict[str, set[str]], fallback: str | None):
        self.groups = groups
        self.managers = managers  # payee -> every manager the roster gives it, on any date
        self.fallback = bits([group_of(fallback, groups)], groups) if fallback is not None else None
        self._masks: dict[str, np.ndarray] = {}

    def mask(self, name: str) -> np.ndarray:
        found = self._masks.get(name)
        if found is None:
            above, todo = {name}, [name]
            while todo:  # the roster is acyclic (checked when read); `above` stops a cycle all the same
                for manager in self.managers.get(todo.pop(), ()):
                    if manager not in above:
                        above.add(manager)
                        todo.append(manager)
            found = bits((group_of(n, self.groups) for n in above), self.groups)
            self._masks[name] = found
        return found

    def of_rows(self, payee_columns: list[pa.Array], rows: int) -> np.ndarray:
        """The masks of the rows whose payee columns are ``payee_columns`` (text, null where empty)."""
        masks = np.zeros((rows, words(self.groups)), np.uint64)
        for column in payee_columns:
            encoded = dictionary(column)
            names = encoded.dictionary.to_pylist()
            if not names:
                continue
            table = np.stack([self.mask(str(name)) for name in names])
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False).astype(bool)
            masks[valid] |= table[codes[valid].astype(np.int64)]
        if self.fallback is not None:
            masks |= self.fallback
        return masks


def dictionary(column) -> pa.DictionaryArray:
    """A text column dictionary-encoded, in one chunk."""
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return cast(pa.DictionaryArray, encoded)


def add_by_key(masks: np.ndarray, keys: pa.Array, by_key: dict[str, np.ndarray]) -> None:
    """OR into ``masks`` the groups ``by_key`` gives each row's key (rows of a key without one: unchanged)."""
    if not by_key or len(keys) == 0:
        return
    known = list(by_key)
    found = pc.index_in(keys, value_set=pa.array(known, pa.string())).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(~np.isnan(found.astype(np.float64)))
    if at.size:
        table = np.stack([by_key[k] for k in known])
        masks[at] |= table[found[at].astype(np.int64)]


def homeless(masks: np.ndarray, keys: pa.Array, first_row: int, groups: int) -> None:
    """Give each row that credits no one a group: its key's (so that the rows of a key meet), else its row
    number's."""
    empty = np.flatnonzero(~masks.any(axis=1))
    if empty.size == 0:
        return
    key_text = keys.take(pa.array(empty, pa.int64())).to_pylist()
    for row, key in zip(empty.tolist(), key_text, strict=True):
        group = group_of(key, groups) if key is not None else (first_row + row) % groups
        masks[row] = bits([group], groups)
