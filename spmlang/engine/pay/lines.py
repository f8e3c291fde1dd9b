"""Ledger lines while the engine works on them: parallel arrays, one element per line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import NO_BALANCE
from spmlang.engine.kernels.templates import ROLLUP, Templated, escaped_array
from spmlang.ir.kinds import LineKind

KINDS = tuple(LineKind)  # a line's kind is its index here (an int8 column)
KIND = {name: code for code, name in enumerate(KINDS)}
# Where a line sits in its period: re-pricing first, then the rows, then period-end decisions, then what the pay
# cycle settles on the period's pay (clawbacks, holds, adjustments of closed periods), then the draws and floors,
# decided on all of it; last, the period's payout converted to the currency its payee is paid in
# (engine/pay/payments.py).
START, ROW, END, SETTLE, GUARANTEE, PAID = 0, 1, 2, 3, 4, 5
ANY_CREDIT = np.iinfo(np.int64).min  # the credit of a templated line whose template does not say it


class _Strings:
    """The chunks of strings a text column and every column taken from it share, and what is made of them
    once: their sentences joined, and what a ledger stores of them."""

    def __init__(self, chunks: list):
        if any(isinstance(c, pa.ChunkedArray) for c in chunks):
            chunks = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in chunks]
        self.chunks = chunks
        self.whole: pa.Array | None = None
        self.stored: _Stored | None = None

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)

    def sentences(self) -> pa.Array:
        """Every string as one array, made once and shared by every column taken from this one (the ledger
        is resolved a chunk at a time; a take from a chunked array would join the chunks on every call).
        Large offsets only past 2 GiB of text (millions of explanations)."""
        if self.whole is None:
            chunks = [c.sentences() if isinstance(c, Templated) else c for c in self.chunks]
            if len(chunks) == 1 and chunks[0].type in (pa.string(), pa.large_string()):
                self.whole = chunks[0]
            else:
                size = sum(chunk.nbytes for chunk in chunks)
                kind = pa.string() if size < _STRING_BYTES else pa.large_string()
                self.whole = pa.concat_arrays([c.cast(kind) for c in chunks]) if chunks else pa.array([], kind)
            if not self.templated():  # the chunks are no longer needed: only their sentences are read
                self.chunks = [self.whole]
        return self.whole

    def templated(self) -> bool:
        return any(isinstance(c, Templated) for c in self.chunks)

    def for_ledger(self) -> _Stored:
        if self.stored is None:
            self.stored = _Stored(self.chunks)
        return self.stored


class _Stored:
    """What a ledger stores of a text column's strings (see TextColumn.for_ledger), made once for all of
    them: the strings, each string's place among them, and, for a templated explanation, its numbers."""

    def __init__(self, chunks: list):
        stored: list[pa.Array] = []
        place, credit, exact, templated, rollup_from = [], [], [], [], []
        offset = 0
        for chunk in chunks:
            n = len(chunk)
            if isinstance(chunk, Templated):
                stored.append(pa.array(chunk.templates(), pa.string()))
                place.append(offset + chunk.which)
                offset += len(chunk.middles)
                credit.append(chunk.credit if chunk.says_credit else np.full(n, ANY_CREDIT, np.int64))
                exact.append(chunk.exact)
                templated.append(np.ones(n, bool))
                rollup_from.append(np.full(n, -1, np.int64) if chunk.rollup is None else chunk.rollup[0])
            else:
                stored.append(escaped_array(chunk.cast(pa.string())))
                place.append(offset + np.arange(n, dtype=np.int64))
                offset += n
                credit.append(np.zeros(n, np.int64))
                exact.append(np.zeros(n, np.int64))
                templated.append(np.zeros(n, bool))
                rollup_from.append(np.full(n, -1, np.int64))
        self.strings = pa.concat_arrays(stored) if stored else pa.array([], pa.string())
        self.place = np.concatenate(place) if place else np.zeros(0, np.int64)
        self.credit = np.concatenate(credit) if credit else np.zeros(0, np.int64)
        self.exact = np.concatenate(exact) if exact else np.zeros(0, np.int64)
        self.templated = np.concatenate(templated) if templated else np.zeros(0, bool)
        self.rollup_from = np.concatenate(rollup_from) if rollup_from else np.zeros(0, np.int64)
        self.chunks = chunks  # for the sentences of a templated string whose line does not hold what it says

    def sentences(self, positions: np.ndarray) -> pa.Array:
        """The sentences of templated strings at ``positions``, as the engine wrote them."""
        starts = np.cumsum([0, *(len(chunk) for chunk in self.chunks)])
        chunk_of = np.searchsorted(starts, positions, side="right") - 1
        said = [
            self.chunks[k].take(positions[chunk_of == k] - starts[k]).sentences() for k in np.unique(chunk_of).tolist()
        ]
        order = np.argsort(chunk_of, kind="stable")  # the sentences above are by chunk: back in the asked order
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return pa.concat_arrays(said).take(back)


class TextColumn:
    """Strings of lines that are reordered many times: the strings stay where they were made, and only an
    index into their concatenation moves. :meth:`resolve` gathers them once, at the end. A chunk may be
    explanations kept as templates (:class:`Templated`): sentences when resolved, templates in a ledger
    (:meth:`for_ledger`)."""

    def __init__(self, chunks: list | _Strings, index: np.ndarray | None = None):
        # The same strings in every column taken from this one (see _Strings).
        self.strings = chunks if isinstance(chunks, _Strings) else _Strings(chunks)
        self.index = index

    @property
    def chunks(self) -> list:
        return self.strings.chunks

    @staticmethod
    def labels(index: np.ndarray, labels: list[str]) -> TextColumn:
        """labels[index] for each element (null where index < 0), with no string copied until resolved."""
        index = np.asarray(index, dtype=np.int64)
        return TextColumn([pa.array([*labels, None], pa.string())], np.where(index >= 0, index, len(labels)))

    def __len__(self) -> int:
        return int(self.index.size) if self.index is not None else len(self.strings)

    def labelled(self) -> pa.DictionaryArray:
        """The strings dictionary-encoded (see text.labelled): for a column of a few labels (tiers), made of
        :meth:`labels`, no string is copied per element. The dictionary is the labels used, in sorted order:
        which parts the strings came in (the lines of a batch, or of a whole run cut into batches; in a worker
        or not) leaves no trace in a ledger's bytes."""
        encoded = cast(pa.DictionaryArray, pc.dictionary_encode(self.strings.sentences().cast(pa.string())))
        code = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)[self._positions()]
        distinct = encoded.dictionary
        used = np.zeros(len(distinct) + 1, dtype=bool)  # the last slot is no label's (-1)
        used[code] = True
        kept = np.flatnonzero(used[:-1])
        order = kept[np.asarray(pc.sort_indices(distinct.take(kept)))]
        place = np.full(len(distinct) + 1, -1, dtype=np.int64)
        place[order] = np.arange(order.size)
        return text.labelled(place[code], distinct.take(order))

    def _positions(self) -> np.ndarray:
        return self.index if self.index is not None else np.arange(len(self), dtype=np.int64)

    def take(self, index: np.ndarray | slice) -> TextColumn:
        return TextColumn(self.strings, self._positions()[index])

    @staticmethod
    def concat(columns: list[TextColumn]) -> TextColumn:
        chunks, positions, offset = [], [], 0
        for column in columns:
            chunks.extend(column.chunks)
            positions.append(column._positions() + offset)
            offset += len(column.strings)
        return TextColumn(chunks, np.concatenate(positions) if positions else np.zeros(0, np.int64))

    def of_rollup(self, rollup_from: np.ndarray, names: list[str]) -> TextColumn:
        """Each string said of a rollup line: "rollup of {name}'s credit: " before it (``rollup_from``: each
        element's payee code). Templated explanations stay templates."""
        positions = self._positions()
        starts = np.cumsum([0, *(len(chunk) for chunk in self.chunks)])
        whose = np.full(int(starts[-1]), -1, np.int64)  # of each string: its line's (strings not shared here)
        whose[positions] = rollup_from
        chunks: list[Templated | pa.Array] = []
        for k, chunk in enumerate(self.chunks):
            own = whose[starts[k] : starts[k + 1]]
            if isinstance(chunk, Templated):
                chunks.append(chunk.of_rollup(own, names))
            else:
                chunks.append(text.join(ROLLUP[0], text.pick(own, names), ROLLUP[1], chunk.cast(pa.string())))
        return TextColumn(chunks, self.index)

    def then(self, words: str) -> TextColumn:
        """Each string with ``words`` after it. Templated explanations stay templates."""
        chunks = [c.then(words) if isinstance(c, Templated) else text.join(c, words) for c in self.chunks]
        return TextColumn(chunks, self.index)

    def resolve(self) -> pa.Array:
        """The strings, as sentences."""
        chunks = self.chunks
        if self.index is None and len(chunks) == 1 and isinstance(chunks[0], pa.Array):
            return chunks[0].cast(pa.string())
        return self.strings.sentences().take(self._positions()).cast(pa.string())

    def for_ledger(
        self, credit: np.ndarray, exact: np.ndarray, rollup_from: np.ndarray, encoded: bool = True
    ) -> pa.Array:
        """The strings as a ledger stores them, for lines of these ``credit`` and ``exact`` units and
        ``rollup_from`` payees: a templated explanation as its template where the line's own columns hold what
        it says (else as its sentence), and any other text with its braces doubled (see
        :mod:`spmlang.engine.kernels.templates`). Dictionary-``encoded``, where most lines share a few templates
        (else text: a dictionary of mostly distinct strings costs more to make and to write)."""
        if not self.strings.templated():
            said = escaped_array(self.resolve())
            return _encoded(said) if encoded else said
        stored = self.strings.for_ledger()
        positions = self._positions()
        place = stored.place[positions]
        strings = stored.strings
        misfit = np.flatnonzero(
            stored.templated[positions]
            & (
                ((stored.credit[positions] != ANY_CREDIT) & (stored.credit[positions] != credit))
                | (stored.exact[positions] != exact)
                | ((stored.rollup_from[positions] >= 0) & (stored.rollup_from[positions] != rollup_from))
            )
        )
        if misfit.size:  # what its line does not hold: the sentence the engine wrote
            place[misfit] = len(strings) + np.arange(misfit.size)
            strings = pa.concat_arrays([strings, escaped_array(stored.sentences(positions[misfit]))])
        if not encoded:
            return strings.take(place)
        # Each string used once in the dictionary (parquet writes a dictionary with a string twice unpredictably):
        # the templates of several components, or a text many lines share, are one entry each.
        used = np.zeros(len(strings), bool)
        used[place] = True
        rank = np.cumsum(used, dtype=np.int64) - 1
        distinct = _encoded(strings.filter(pa.array(used)))
        indices = np.asarray(distinct.indices, dtype=np.int32)[rank[place]]
        return pa.DictionaryArray.from_arrays(indices, distinct.dictionary)


def _encoded(strings: pa.Array) -> pa.DictionaryArray:
    # pyarrow-stubs type dictionary_encode as taking and giving any array; it gives a dictionary array.
    return cast(pa.DictionaryArray, pc.dictionary_encode(cast(Any, strings)))


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
    """The lines in ledger order (see :func:`ledger_order`)."""
    return lines.take(ledger_order(lines, row_date, row_txn, key_rank))


def ledger_order(lines: Lines, row_date: np.ndarray, row_txn: np.ndarray, key_rank: np.ndarray) -> np.ndarray:
    """The order of ``lines`` in the ledger: payee, period, phase, then the date and key of the line's credit row
    (none for adjustments), role, component, kind. ``row_date`` and ``row_txn`` are per credit row
    (``lines.row`` indexes them), ``key_rank`` per input row."""
    from spmlang.engine.kernels.grouping import order_by

    on_row = lines.row >= 0
    if row_date.size == 0:  # payees with no credit row: their lines are of periods only
        date = rank = np.zeros(len(lines), np.int64)
    else:
        row = np.where(on_row, lines.row, 0)
        date = np.where(on_row, row_date[row], 0)
        rank = np.where(on_row, key_rank[row_txn[row]], 0)
    return order_by(lines.payee, lines.period, lines.phase, date, rank, lines.role, lines.component + 1, lines.kind)
