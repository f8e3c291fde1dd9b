"""A column converted to its declared type, and what each converter shares.

Converters are per type: numbers.py (number, percent, integer, money), text.py (text, bool), dates.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from spmlang.engine.kernels import grouping
from spmlang.ir.expressions import Type

# A longer column of text is looked at for repeats: dates are read a distinct text at a time, and text whose
# first values repeat is dictionary-encoded.
DISTINCT_FIRST = 1 << 12


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
    values: Any  # numpy or Arrow, as ``type`` says (above): no static type follows it
    valid: np.ndarray
    invalid: np.ndarray
    raw: pa.Array | None  # the column as read (dropped once the rows that cannot be read are reported)
    notes: pa.Array | None = None  # why a value cannot be read, where there is more to say (null elsewhere)

    @property
    def any_invalid(self) -> bool:
        """Whether any value cannot be read (at once where none are: ``invalid`` is then one False, stored once)."""
        invalid = self.invalid[:1] if grouping.is_uniform(self.invalid) else self.invalid
        return bool(np.any(invalid))


class WrongType(Exception):
    """The column's own type cannot be read as the declared type at all (a float column declared a date)."""


def present_mask(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return grouping.uniform(True, len(array))  # stored once: most columns have no empty value
    return array.is_valid().to_numpy(zero_copy_only=False)


def typed(spec, values, valid, invalid, raw, notes: pa.Array | None = None) -> ColumnValues:
    return ColumnValues(
        spec.name, spec.type, values, valid & ~invalid if np.any(invalid) else valid, invalid, raw, notes
    )


def buffer_view(buffer: pa.Buffer | None, dtype: npt.DTypeLike) -> np.ndarray:
    """A numpy view of an Arrow buffer, without a copy."""
    if buffer is None:
        raise ValueError("the array has no such buffer")
    # pyarrow's Buffer has the buffer protocol; numpy's stubs (before Python 3.12) take a list of the
    # standard library's buffer types instead.
    return np.frombuffer(cast(memoryview, buffer), dtype=dtype)


def integers(array: pa.Array) -> np.ndarray:
    """An Arrow integer array as int64, 0 where null (an unsigned value past int64's range: see
    :func:`past_int64`)."""
    if array.null_count:
        array = array.fill_null(0)
    return array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def past_int64(array: pa.Array) -> np.ndarray | None:
    """Where an unsigned 64-bit array holds a value int64 cannot (2**63 or more: as int64 it would wrap to a
    negative number), or None if it holds none."""
    if array.type != pa.uint64():
        return None
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    over = values > np.uint64(2**63 - 1)
    return over if over.any() else None
