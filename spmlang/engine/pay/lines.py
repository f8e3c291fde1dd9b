"""Ledger lines while the engine works on them: parallel arrays, one element per line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa

from spmlang.ir.kinds import LineKind

KINDS = tuple(LineKind)  # a line's kind is its index here (an int8 column)
KIND = {name: code for code, name in enumerate(KINDS)}
# Where a line sits in its period: re-pricing first, then the rows, then period-end decisions, then what the pay
# cycle settles on the period's pay (clawbacks, holds, adjustments of closed periods), then the draws and floors,
# decided on all of it; last, the period's payout converted to the currency its payee is paid in
# (engine/pay/payments.py).
START, ROW, END, SETTLE, GUARANTEE, PAID = 0, 1, 2, 3, 4, 5
NO_BALANCE = np.iinfo(np.int64).min  # the balance of a line that carries none


class TextColumn:
    """Strings of lines that are reordered many times: the strings stay where they were made, and only an
    index into their concatenation moves. :meth:`resolve` gathers them once, at the end."""

    def __init__(self, chunks: list, index: np.ndarray | None = None):
        if any(isinstance(c, pa.ChunkedArray) for c in chunks):
            chunks = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in chunks]
        self.chunks = chunks  # the same list object in every column taken from this one (see _whole)
        self.index = index

    @staticmethod
    def labels(index: np.ndarray, labels: list[str]) -> TextColumn:
        """labels[index] for each element (null where index < 0), with no string copied until resolved."""
        index = np.asarray(index, dtype=np.int64)
        return TextColumn([pa.array([*labels, None], pa.string())], np.where(index >= 0, index, len(labels)))

    def __len__(self) -> int:
        return int(self.index.size) if self.index is not None else sum(len(c) for c in self.chunks)

    def labelled(self) -> pa.DictionaryArray:
        """The strings dictionary-encoded (see text.labelled): for a column of a few labels (tiers), made of
        :meth:`labels`, no string is copied per element."""
        from spmlang.engine.kernels import column_text as text

        return text.labelled(self._positions(), self._whole().cast(pa.string()))

    def _positions(self) -> np.ndarray:
        return self.index if self.index is not None else np.arange(len(self), dtype=np.int64)

    def take(self, index: np.ndarray | slice) -> TextColumn:
        return TextColumn(self.chunks, self._positions()[index])

    @staticmethod
    def concat(columns: list[TextColumn]) -> TextColumn:
        chunks, positions, offset = [], [], 0
        for column in columns:
            chunks.extend(column.chunks)
            positions.append(column._positions() + offset)
            offset += sum(len(c) for c in column.chunks)
        return TextColumn(chunks, np.concatenate(positions) if positions else np.zeros(0, np.int64))

    def resolve(self) -> pa.Array:
        if self.index is None and len(self.chunks) == 1:
            return self.chunks[0].cast(pa.string())
        return self._whole().take(self._positions()).cast(pa.string())

    def _whole(self) -> pa.Array:
        """The strings as one array, made once and shared by every column taken from this one (the ledger
        is resolved a chunk at a time; a take from a chunked array would join the chunks on every call).
        Large offsets only past 2 GiB of text (millions of explanations)."""
        if len(self.chunks) != 1 or self.chunks[0].type not in (pa.string(), pa.large_string()):
            size = sum(chunk.nbytes for chunk in self.chunks)
            kind = pa.string() if size < _STRING_BYTES else pa.large_string()
            whole = pa.concat_arrays([chunk.cast(kind) for chunk in self.chunks]) if self.chunks else pa.array([], kind)
            self.chunks[:] = [whole]  # in place: the columns sharing this list share the joined array too
        return self.chunks[0]


_STRING_BYTES = 1 << 30  # text (with offsets) held in one Arrow string array, at most: its offsets are int32


@dataclass
class Lines:
    payee: np.ndarray  # int32
    role: np.ndarray  # int8
    component: np.ndarray  # int16, -1 for a line of no component
    kind: np.ndarray  # int8, an index into KINDS
    period: np.ndarray  # int16
    phase: np.ndarray  # int8: START, ROW, END, SETTLE or GUARANTEE
    row: np.ndarray  # int64: ordered credit row, -1 for an adjustment
    amount: np.ndarray  # int64 units: what the line pays (whole cents once the earnings are rounded)
    exact: np.ndarray  # int64 units: what the rule earned before rounding (= amount for adjustments)
    cut: np.ndarray  # int64 units: what a cap or gate took off (0 elsewhere)
    rate: np.ndarray  # float64, NaN where none
    multiplier: np.ndarray  # float64
    tier: TextColumn
    explanation: TextColumn
    clause: np.ndarray  # int32: index into the run's clause list
    for_period: np.ndarray  # int16: the period the amount belongs to (an adjustment's closed period; else period)
    balance: np.ndarray  # int64 units: owed by the payee after a draw or floor line (NO_BALANCE elsewhere)
    # The transaction of a line on no credit row, as an earlier ledger named it (the adjustment of one no longer
    # paid): its input row, or -2 - j for the j-th key gone from the data (EarlierLines.gone); -1 elsewhere.
    txn: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.amount.size)

    def take(self, index: np.ndarray | slice) -> Lines:
        """Some of the lines: an index array (copies) or a slice (views, nothing copied)."""
        if not isinstance(index, slice):
            index = np.asarray(index, dtype=np.int64)
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            values[f.name] = value.take(index) if isinstance(value, TextColumn) else value[index]
        return Lines(**values)

    @staticmethod
    def concat(parts: Sequence[Lines | None]) -> Lines:
        """The lines of ``parts`` in order (None: no lines)."""
        present = [p for p in parts if p is not None]
        if not present:
            return empty_lines()
        values: dict[str, Any] = {}
        for f in fields(Lines):
            items = [getattr(p, f.name) for p in present]
            if isinstance(items[0], TextColumn):
                values[f.name] = TextColumn.concat(items)
            else:
                values[f.name] = np.concatenate(items)
        return Lines(**values)


def make_lines(
    n: int,
    *,
    payee,
    role,
    component: int | np.ndarray,
    kind: LineKind,
    period,
    phase: int | np.ndarray,
    row=None,
    amount,
    cut=None,
    rate=None,
    multiplier=None,
    tier=None,
    explanation,
    clause: int | np.ndarray,
    exact=None,
    for_period=None,
    balance=None,
    txn=None,
) -> Lines:
    """Lines of one kind from one component; scalars broadcast."""

    def column(value, dtype, default):
        if value is None:
            value = default
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    return Lines(
        payee=column(payee, np.int32, 0),
        role=column(role, np.int8, 0),
        component=column(component, np.int16, -1),
        kind=column(KIND[kind], np.int8, 0),
        period=column(period, np.int16, 0),
        phase=column(phase, np.int8, ROW),
        row=column(row, np.int64, -1),
        amount=column(amount, np.int64, 0),
        cut=column(cut, np.int64, 0),
        exact=column(amount if exact is None else exact, np.int64, 0),
        rate=column(rate, np.float64, np.nan),
        multiplier=column(multiplier, np.float64, 1.0),
        tier=_text(tier if tier is not None else TextColumn.labels(np.full(n, -1), [])),
        explanation=_text(explanation),
        clause=column(clause, np.int32, -1),
        for_period=column(period if for_period is None else for_period, np.int16, 0),
        balance=column(balance, np.int64, NO_BALANCE),
        txn=column(txn, np.int64, -1),
    )


def _text(values) -> TextColumn:
    return values if isinstance(values, TextColumn) else TextColumn([values])


def empty_lines() -> Lines:
    return make_lines(
        0,
        payee=0,
        role=0,
        component=-1,
        kind=LineKind.EARNING,
        period=0,
        phase=ROW,
        amount=0,
        explanation=pa.array([], pa.string()),
        clause=-1,
    )


def last_balances(
    payee: np.ndarray, kind: np.ndarray, balance: np.ndarray, kinds: tuple, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(payee, balance) after the last line of each payee among those of ``kinds`` that carry a balance; the
    lines taken in ``order`` (an index; by default as they come, each payee's lines together and in order)."""
    index = np.arange(payee.size) if order is None else order
    mine = index[np.isin(kind[index], [KIND[k] for k in kinds]) & (balance[index] != NO_BALANCE)]
    last = mine[np.append(payee[mine][1:] != payee[mine][:-1], True)] if mine.size else mine
    return payee[last], balance[last]


def in_ledger_order(lines: Lines, row_date: np.ndarray, row_txn: np.ndarray, key_rank: np.ndarray) -> Lines:
    """The lines in ledger order: payee, period, phase, then the date and key of the line's credit row (none
    for adjustments), role, component, kind. ``row_date`` and ``row_txn`` are per credit row (``lines.row``
    indexes them), ``key_rank`` per input row."""
    from spmlang.engine.kernels.grouping import order_by

    on_row = lines.row >= 0
    if row_date.size == 0:  # payees with no credit row: their lines are of periods only
        date = rank = np.zeros(len(lines), np.int64)
    else:
        row = np.where(on_row, lines.row, 0)
        date = np.where(on_row, row_date[row], 0)
        rank = np.where(on_row, key_rank[row_txn[row]], 0)
    return lines.take(
        order_by(lines.payee, lines.period, lines.phase, date, rank, lines.role, lines.component + 1, lines.kind)
    )
