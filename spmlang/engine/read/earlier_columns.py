"""The columns of earlier ledgers, read a whole column at a time.

A paid ledger holds as many lines as the run that wrote it: its labels (payee, kind, component, period ...)
are read as each distinct value once and each line's position among them, its money as int64 units, and its
keys as an Arrow array. Nothing is a Python object a line, so a run against a ledger of ten million lines
costs about what the run that wrote it did. A value spm does not write is an error naming its file, row and
column (see :func:`line_error`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.kernels.money import UNIT
from spmlang.engine.read.numbers import decimal_units


@dataclass(frozen=True)
class Labels:
    """A text column of the earlier ledgers: each distinct value once (``values``, in the order first met),
    and each line's position among them (``index``; -1 where the line has none)."""

    values: list[str]
    index: np.ndarray  # int32, a line each

    def __len__(self) -> int:
        return int(self.index.size)

    def __getitem__(self, line: int) -> str | None:
        at = int(self.index[line])
        return None if at < 0 else self.values[at]

    def codes(self, code_of: Callable[[str], int], none: int) -> np.ndarray:
        """Each line's code (int64): ``code_of`` its value, once a distinct value; ``none`` where it has none."""
        table = np.array([*map(code_of, self.values), none], np.int64)
        return table[self.index]  # -1 reads the last slot: none's

    def where(self, test: Callable[[str], bool]) -> np.ndarray:
        """Whether each line's value passes ``test`` (False where it has none), ``test`` called once a value."""
        table = np.array([*map(test, self.values), False], bool)
        return table[self.index]

    @staticmethod
    def of(column: pa.Array | pa.ChunkedArray | None, rows: int) -> Labels:
        """A text column's labels (dictionary-encoded or not, as a file holds it); None: a column the file has
        not, every line without a value."""
        if column is None:
            return Labels([], np.full(rows, -1, np.int32))
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return Labels.concat([_chunk_labels(chunk) for chunk in chunks], rows)

    @staticmethod
    def concat(parts: Sequence[Labels], rows: int = 0) -> Labels:
        """The labels of ``parts`` one after another, each distinct value once."""
        values: dict[str, int] = {}
        indices = []
        for part in parts:
            table = np.array([*(values.setdefault(v, len(values)) for v in part.values), -1], np.int32)
            indices.append(table[part.index])
        index = np.concatenate(indices) if indices else np.full(rows, -1, np.int32)
        return Labels(list(values), index)


def _chunk_labels(chunk: pa.Array) -> Labels:
    """One chunk's labels, with only the values some line has (a parquet dictionary may hold others), in the
    order the lines first have them."""
    if not pa.types.is_dictionary(chunk.type):
        chunk = pc.dictionary_encode(pc.cast(chunk, pa.string()) if not pa.types.is_string(chunk.type) else chunk)
    encoded = cast(pa.DictionaryArray, chunk)
    values = encoded.dictionary.cast(pa.string()).to_pylist()
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    if None in values:  # a null among a file's dictionary values: a line without one (never kept below)
        index = np.where(np.isin(index, [i for i, v in enumerate(values) if v is None]), -1, index)
    dictionary = [v or "" for v in values]
    used = np.zeros(len(dictionary) + 1, bool)
    used[index] = True  # -1 marks the last slot, no value's
    used = used[:-1]
    if used.all() and _first_met_in_order(index, len(dictionary)):
        return Labels(dictionary, index)
    present = index[index >= 0]
    first = np.full(len(dictionary), present.size, np.int64)
    np.minimum.at(first, present, np.arange(present.size))
    kept = np.flatnonzero(used)
    kept = kept[np.argsort(first[kept], kind="stable")]
    renumber = np.full(len(dictionary) + 1, -1, np.int32)
    renumber[kept] = np.arange(kept.size, dtype=np.int32)
    return Labels([dictionary[i] for i in kept.tolist()], renumber[index])


def _first_met_in_order(index: np.ndarray, count: int) -> bool:
    """Whether the values 0, 1, 2 ... are first met in that order (as dictionary_encode numbers them)."""
    present = index[index >= 0]
    if present.size == 0:
        return True
    running = np.maximum.accumulate(present)
    return bool(np.all(present <= np.concatenate([[0], running[:-1] + 1])))


# ---------------------------------------------------------------------- errors naming a line


@dataclass(frozen=True)
class LedgerFile:
    """Where an earlier ledger's lines start among all of them, for an error naming a file and its row."""

    path: Path
    rows: int


def line_error(message: str, line: int, files: Sequence[LedgerFile], column: str, more: str = "") -> InputError:
    """E512 naming the file, row (1-based, as a spreadsheet counts data rows) and column of the ``line``-th
    line of all: a line spm does not write."""
    for file in files:
        if line < file.rows:
            hint = f"a paid ledger is never edited: pass the file spm wrote{more}"
            return InputError(message, file=str(file.path), column=column, row=line + 1, hint=hint, code="E512")
        line -= file.rows
    raise IndexError(line)


def first(mask: np.ndarray) -> int | None:
    """The first line of ``mask``, if any."""
    return int(np.argmax(mask)) if mask.any() else None


# ---------------------------------------------------------------------- money


def money_units(
    columns: Sequence[pa.ChunkedArray | None], missing: int | None, name: str, files: Sequence[LedgerFile]
) -> np.ndarray:
    """A money column of the earlier ledgers (one per file; None: a file without it) in units; an empty value
    is ``missing`` (None: an error). Exact: decimals as spm writes them, or their text (a CSV or JSON ledger).
    Anything else, or a value that is not whole cents or is too large, is read a value at a time, which finds
    the line to name in its error."""
    parts = []
    for number, column in enumerate(columns):
        rows = files[number].rows
        if column is None:
            if missing is None and rows:
                raise line_error(f"a ledger line with no {name}", sum(f.rows for f in files[:number]), files, name)
            parts.append(np.full(rows, missing, np.int64))
            continue
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        units = _whole_cents(array, missing)
        if units is None:
            before = sum(f.rows for f in files[:number])
            units = _units_one_by_one(array.to_pylist(), missing, name, files, before)
        parts.append(units)
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _whole_cents(array: pa.Array, missing: int | None) -> np.ndarray | None:
    """Units of a column whose every value is what spm writes (whole cents, below the limit), else None."""
    if array.null_count and missing is None:
        return None
    if array.null_count == len(array):  # a column of no value (no draw in the plan): null-typed in JSON
        return np.full(len(array), missing, np.int64)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        if not pc.all(pc.match_substring_regex(array, _AMOUNT_RE)).as_py():  # nulls are skipped
            return None
    elif not pa.types.is_decimal(array.type):
        return None
    try:
        units = decimal_units(array)  # text: cast to decimals, an error for more than six places
    except (ValueError, pa.ArrowInvalid):
        return None
    if np.any(units % _CENT_UNITS):
        return None
    if array.null_count and missing is not None:  # (None: refused above)
        units = np.where(pc.is_valid(array).to_numpy(zero_copy_only=False), units, missing)
    return units


def _units_one_by_one(
    values: list, missing: int | None, name: str, files: Sequence[LedgerFile], before: int
) -> np.ndarray:
    """:func:`money_units` of one file's column, a value at a time: for a file some value of which is not as
    spm writes it (the first such is an error naming its line)."""
    units = []
    for index, value in enumerate(values):
        if value is None or (missing is None and isinstance(value, str) and not value.strip()):
            if missing is None:
                raise line_error(f"a ledger line with no {name}", before + index, files, name)
            units.append(missing)
            continue
        try:
            if isinstance(value, str) and not _AMOUNT.fullmatch(value):
                raise InvalidOperation
            amount = Decimal(str(value))
            if not amount.is_finite() or abs(amount) >= _LARGEST or amount != amount.quantize(_CENT):
                raise InvalidOperation
        except InvalidOperation:
            raise line_error(f"'{value}' is not an amount spm writes", before + index, files, name) from None
        units.append(int((amount * UNIT).to_integral_value()))
    return np.asarray(units, np.int64)


_LARGEST = Decimal(2**62) / UNIT  # the largest amount spm holds (see kernels.money.LIMIT)
_CENT = Decimal("0.01")  # a ledger's money is whole cents
_CENT_UNITS = UNIT // 100
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # money as spm writes it in a CSV or JSON ledger: 1234.50
_AMOUNT_RE = r"^-?[0-9]+(\.[0-9]+)?$"
