"""Ledger lines as Python records (a dict a line), for the few places that read lines one at a time: the
calculation trail and statements.

pyarrow's ``to_pylist`` makes a ``Decimal`` of every amount, ratio and rate of every line, one at a time
(~0.6 us each, a dozen a line). Python reads a decimal from its text faster than pyarrow builds it, and in many
lines most values repeat (a share of 1, a multiplier of 1, no cut): each distinct value is then made once. The
same records, with the same number of decimals: in ~75% of the time for a payee's hundred lines, ~30% for a
ledger of thousands.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

FEW = 64  # fewer lines than this: pyarrow's own, whose cost per call is less
MANY = 1000  # this many lines or more: each distinct value made once


def python_rows(table: pa.Table) -> list[dict]:
    """``table.to_pylist()``, made column by column."""
    if table.num_rows < FEW:
        return table.to_pylist()
    names = table.column_names
    columns = [_values(table.column(name), table.num_rows >= MANY) for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _values(column: pa.ChunkedArray, many: bool) -> list:
    kind = column.type
    exact_text = pa.types.is_decimal(kind) and 0 <= kind.scale <= 6
    if not (exact_text or (many and pa.types.is_date(kind))):
        return column.to_pylist()
    if not many:
        return _decimals(column)
    encoded = cast(pa.DictionaryArray, pc.dictionary_encode(column.combine_chunks()))
    made = _decimals(encoded.dictionary) if exact_text else encoded.dictionary.to_pylist()
    return [None if i is None else made[i] for i in encoded.indices.to_pylist()]


def _decimals(values: pa.Array | pa.ChunkedArray) -> list:
    # Arrow writes a decimal of such a scale as plain digits (never with an exponent): its text is its value.
    return [None if text is None else Decimal(text) for text in pc.cast(values, pa.string()).to_pylist()]
