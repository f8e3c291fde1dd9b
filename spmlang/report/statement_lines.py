"""The lines of many statements at once, made column by column.

A statement shows each of its ledger lines as a row of HTML and a row of CSV. Made one line at a time in
Python, that text is most of the cost of the statements of a large run; here it is made with Arrow's string
kernels for the lines of a block of payees together, and each statement takes its rows as one slice of the
block's text. A line becomes a Python record (:class:`StatementLine`) only where one is asked for: the API, the
terminal, or a company's own template that loops over the lines.

The figures of each statement's head (payout, year to date, by component, what is owed) are sums over the same
lines, made with numpy per block (:class:`PeriodFigures`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.column_text import pretty
from spmlang.engine.pay.lines import KIND
from spmlang.engine.payout import PaidLines, Payout
from spmlang.ir.kinds import DRAW_KINDS, FLOOR_KINDS, GUARANTEE_KINDS, HOLD_KINDS, LineKind
from spmlang.report.explanations import readable
from spmlang.report.ledger import build_ledger, public
from spmlang.report.line_texts import (
    ADJUSTMENT_KINDS,
    KIND_WORDS,
    JoinedText,
    LineCells,
    LineTexts,
    as_array,
    converted_words,
    csv_rows,
    html_rows,
)
from spmlang.report.python_rows import python_rows

EARNINGS, ADJUSTMENTS, PAID_IN = 0, 1, 2  # a line's section of its statement (PAID_IN: shown apart)
BLOCK_LINES = 1 << 16  # about this many ledger lines are made into text at once (a block of whole payees)

# The ledger columns a statement shows of a line (or reads: a draw's balance), the currency ones where a plan has
# them: what its StatementLine records and its rows of HTML and CSV are made of.
_RECORDED = [
    *("date", "txn", "component", "kind", "credit", "amount", "explanation", "clause", "balance"),
    *("currency", "fx_rate", "fx_date"),
]
_SHOWN = [*_RECORDED, "exact", "rollup_from"]  # and what templated explanations name

_SECTION_OF_KIND = np.array(
    [PAID_IN if k is LineKind.FX else ADJUSTMENTS if k.value in ADJUSTMENT_KINDS else EARNINGS for k in LineKind],
    np.int8,
)


@dataclass
class StatementLine:
    date: str
    txn: str
    component: str
    kind: str
    credit: Decimal | None
    amount: Decimal
    words: str
    clause: str


# Within lines_as_bytes: the rows of each page's lines, in the order the page shows them.
_SPLICED: ContextVar[list[memoryview] | None] = ContextVar("spm_statement_lines_spliced", default=None)
MARKER = "\x00spm statement lines\x00"  # where a page shows its lines, within lines_as_bytes


@contextlib.contextmanager
def lines_as_bytes() -> Iterator[list[memoryview]]:
    """Within, a page made of statement lines shows a marker in place of each's rows, and the rows' UTF-8 go
    into the list given, in order: the page encoded, with the rows put in the markers' places (:func:`spliced`),
    is the page encoded, without decoding and encoding every row (most of a page's bytes)."""
    made: list[memoryview] = []
    token = _SPLICED.set(made)
    try:
        yield made
    finally:
        _SPLICED.reset(token)


def spliced(page: str, rows: list[memoryview]) -> bytes | None:
    """``page`` (made within :func:`lines_as_bytes`) as UTF-8, ``rows`` in the places of its markers; None
    where it does not show each once, in order (its text held a marker of its own)."""
    parts = page.encode().split(MARKER.encode())
    if len(parts) != len(rows) + 1:
        return None
    made: list[bytes | memoryview] = [parts[0]]
    for row, part in zip(rows, parts[1:], strict=True):
        made += (row, part)
    return b"".join(made)


class StatementLines(Sequence[StatementLine]):
    """A statement's earnings (or its adjustments): a sequence of :class:`StatementLine`, and the same lines as
    rows of the statement's page (:attr:`html`) and CSV file (:attr:`csv`). Lines of a run are cut from their
    block's text (see :class:`LinesBlock`), their records made when first asked for; lines given as records
    (``StatementLines(records=[...])``) are made into text from them. Read-only: a record changed afterwards
    does not change the text."""

    def __init__(
        self,
        block: LinesBlock | None = None,
        start: int = 0,
        stop: int = 0,
        *,
        records: Sequence[StatementLine] = (),
        adjustments: bool = False,
    ):
        self._block, self._start, self._stop = block, start, stop
        self._records: list[StatementLine] | None = None if block is not None else list(records)
        self._adjustments = adjustments  # lines given as records: which of the statement's tables they are in

    @property
    def html(self) -> Any:
        """The lines as rows of the statement page's table (HTML, escaped); within :func:`lines_as_bytes`, a
        marker in their place."""
        from markupsafe import Markup

        if self._block is not None:
            lines = slice(self._start, self._stop)
            rows = _SPLICED.get()  # each marker's rows, in the order the page asks for them
            if rows is None:
                return Markup(self._block.html[lines])
            rows.append(self._block.html.bytes_of(lines))
            return Markup(MARKER)
        return Markup(self._given(html_rows))

    @property
    def csv(self) -> str:
        """The lines as rows of the statement's CSV file, each starting with its section."""
        if self._block is not None:
            return self._block.csv[self._start : self._stop]
        return self._given(csv_rows)

    def csv_bytes(self) -> bytes | memoryview:
        """:attr:`csv` as UTF-8."""
        if self._block is not None:
            return self._block.csv.bytes_of(slice(self._start, self._stop))
        return self.csv.encode()

    def _given(self, rows: Callable[[LineCells], pa.Array]) -> str:
        records = self._lines()
        if not records:
            return ""
        made = LineCells.of_texts(LineTexts.of_records(records, self._adjustments))
        return JoinedText(rows(made))[0 : len(records)]

    @property
    def total(self) -> Decimal:
        """The sum of the lines' amounts."""
        if self._block is not None:
            return Decimal(self._block.cents_between(self._start, self._stop)) / 100
        return sum((line.amount for line in self._lines()), Decimal("0.00"))

    def _lines(self) -> list[StatementLine]:
        if self._records is None:
            assert self._block is not None  # only lines of a block are made late
            self._records = self._block.records(self._start, self._stop)
        return self._records

    def __len__(self) -> int:
        return self._stop - self._start if self._block is not None else len(self._lines())

    @overload
    def __getitem__(self, index: int) -> StatementLine: ...

    @overload
    def __getitem__(self, index: slice) -> list[StatementLine]: ...

    def __getitem__(self, index: int | slice) -> StatementLine | list[StatementLine]:
        return self._lines()[index]

    def __iter__(self) -> Iterator[StatementLine]:
        return iter(self._lines())

    def __add__(self, other: Sequence[StatementLine]) -> list[StatementLine]:
        return [*self, *other]

    def __radd__(self, other: Sequence[StatementLine]) -> list[StatementLine]:
        return [*other, *self]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (StatementLines, list)):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._lines())


@dataclass
class PeriodFigures:
    """What a statement's head shows of one payee's period, from its lines."""

    period: int
    total: Decimal
    by_component: dict[str, Decimal]  # in the order the names first appear among the period's lines
    draw: Decimal | None  # the balance after the period's last draw line (None: it has none)
    floor: Decimal | None
    held: Decimal  # held less released in the period
    paid_in: tuple[str, str] | None  # the explanation and clause of the period's first fx line
    earnings: StatementLines
    adjustments: StatementLines


class LinesBlock:
    """The ledger lines of some payees, in the order asked for, as their statements show them."""

    def __init__(
        self, payout: Payout, paid: PaidLines, run_id: str, codes: list[int], lines_of: Callable[[int], np.ndarray]
    ):
        """The lines of the payees ``codes`` among ``paid`` (a batch's lines, or the run's), which ``lines_of``
        finds by payee code."""
        found = [lines_of(code) for code in codes]
        index = np.concatenate(found) if found else np.zeros(0, np.int64)
        self.payees = len(codes)
        self.payee = np.repeat(np.arange(len(codes)), [part.size for part in found])  # position in ``codes``
        lines = paid.lines
        self.period = lines.period[index].astype(np.int64)
        kind = lines.kind[index]
        self.cents = paid.cents[index]
        self.section = _SECTION_OF_KIND[kind]
        self.period_count = payout.run.calendar.count
        # The block's ledger lines, the columns a statement shows of them, their explanations as a ledger stores
        # them: built here, so that a worker builds its own payees' and nobody the whole ledger.
        built = build_ledger(payout, run_id, paid.take(index), only=_SHOWN)
        self._built = built.select([name for name in _SHOWN if name in built.column_names])
        self.currency = currency = payout.run.plan.settings.currency
        # The lines of each (payee, period, section) together, each's in ledger order: a statement's slice.
        self.order = grouping.order_by(self.payee, self.period, self.section.astype(np.int64))
        self._cents_before = np.concatenate(([0], np.cumsum(self.cents[self.order])))
        made = LineCells.of_ledger(self._built.take(self.order), currency, self.section[self.order] == ADJUSTMENTS)
        self.html = JoinedText(html_rows(made))  # the rows of a slice of ``order``: html[start:stop]
        self.csv = JoinedText(csv_rows(made))
        self._kind = kind

    def _public(self, index: np.ndarray) -> pa.Table:
        """Lines of the block (``index``: where they are in it) as the run's ledger (Result.ledger) has them,
        with their sentences: for lines asked for as records."""
        taken = public(readable(self._built.take(index)))
        return taken.select([name for name in _RECORDED if name in taken.column_names])

    def cents_between(self, start: int, stop: int) -> int:
        return int(self._cents_before[stop] - self._cents_before[start])

    def records(self, start: int, stop: int) -> list[StatementLine]:
        """The lines of a slice of ``order`` as Python records."""
        rows = python_rows(self._public(self.order[start:stop]))
        return [_record(row, self.currency) for row in rows]

    # ------------------------------------------------------------------ the figures of each payee's periods
    def periods_of(self) -> list[list[PeriodFigures]]:
        """For each payee of the block, the figures of each period it has lines in, in period order."""
        result: list[list[PeriodFigures]] = [[] for _ in range(self.payees)]  # a payee without lines: none
        if self.payee.size == 0:
            return result
        # Lines are in ledger order: each payee's together, their periods in order.
        starts = grouping.starts_from_keys(self.payee, self.period)
        group_starts = np.flatnonzero(starts)
        if np.any(np.diff(self.period[group_starts])[np.diff(self.payee[group_starts]) == 0] <= 0):
            raise ValueError("a payee's ledger lines are in period order")
        group = grouping.ids(starts)
        totals = np.add.reduceat(self.cents, group_starts)
        components = self._by_component(group)
        draws = self._last_balances(group, DRAW_KINDS)
        floors = self._last_balances(group, FLOOR_KINDS)
        held = np.zeros(group_starts.size, np.int64)
        holding = np.isin(self._kind, [KIND[k] for k in HOLD_KINDS])
        np.add.at(held, group[holding], -self.cents[holding])
        paid_in = self._first_paid_in(group)
        periods = self.period_count
        sorted_key = (self.payee[self.order] * periods + self.period[self.order]) * 3 + self.section[self.order]
        # Where each group's earnings, adjustments and fx lines start in ``order``: one search for them all.
        payee_of, period_of = self.payee[group_starts], self.period[group_starts]
        key = (payee_of * periods + period_of) * 3
        bounds = np.searchsorted(sorted_key, key[:, None] + [EARNINGS, ADJUSTMENTS, PAID_IN]).tolist()
        totals_of, held_of = totals.tolist(), held.tolist()
        for g, (payee, period) in enumerate(zip(payee_of.tolist(), period_of.tolist(), strict=True)):
            first, middle, last = bounds[g]
            result[payee].append(
                PeriodFigures(
                    period,
                    Decimal(totals_of[g]) / 100,
                    components.get(g, {}),
                    draws.get(g),
                    floors.get(g),
                    Decimal(held_of[g]) / 100,
                    paid_in.get(g),
                    StatementLines(self, first, middle),
                    StatementLines(self, middle, last),
                )
            )
        return result

    def _by_component(self, group: np.ndarray) -> dict[int, dict[str, Decimal]]:
        """Each period's sum per component (draws and floors under one name), the names in the order they
        first appear among its lines; fx lines (the payout again, in another currency) belong to none."""
        shown = np.flatnonzero(self.section != PAID_IN)
        if shown.size == 0:
            return {}
        guarantee = np.isin(self._kind[shown], [KIND[k] for k in GUARANTEE_KINDS])
        names = pc.coalesce(
            as_array(self._built.column("component").take(shown)).cast(pa.string()),
            pc.if_else(pa.array(guarantee), "draws and floor", "(none)"),
        )
        encoded = cast(pa.DictionaryArray, pc.dictionary_encode(names))
        name_code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        labels = [str(label) for label in encoded.dictionary.to_pylist()]
        shown_group = group[shown]
        order = grouping.order_by(shown_group, name_code)  # stable: the first of each name comes first
        starts = grouping.starts_from_keys(shown_group[order], name_code[order])
        sums = grouping.sums(self.cents[shown][order], starts)
        first = order[starts]  # each cell's first line (positions in ``shown``, in ledger order)
        cells = np.argsort(first, kind="stable")  # by period, then by where each name first appears
        result: dict[int, dict[str, Decimal]] = {}
        for cell in cells.tolist():
            at = int(first[cell])
            result.setdefault(int(shown_group[at]), {})[labels[int(name_code[at])]] = Decimal(int(sums[cell])) / 100
        return result

    def _last_balances(self, group: np.ndarray, kinds: tuple) -> dict[int, Decimal]:
        """The balance after each period's last line of ``kinds`` that has one."""
        balance = self._built.column("balance")
        has = np.isin(self._kind, [KIND[k] for k in kinds]) & balance.is_valid().to_numpy(zero_copy_only=False)
        mine = np.flatnonzero(has)
        if mine.size == 0:
            return {}
        last = mine[np.append(group[mine][1:] != group[mine][:-1], True)]
        values = balance.take(last).to_pylist()
        return {int(group[i]): cast(Decimal, value) for i, value in zip(last.tolist(), values, strict=True)}

    def _first_paid_in(self, group: np.ndarray) -> dict[int, tuple[str, str]]:
        """The explanation and clause of each period's first fx line."""
        mine = np.flatnonzero(self.section == PAID_IN)
        if mine.size == 0:
            return {}
        first = mine[np.append(True, group[mine][1:] != group[mine][:-1])]
        rows = self._public(first).select(["explanation", "clause"]).to_pylist()
        return {int(group[i]): (pretty(row["explanation"]), row["clause"]) for i, row in zip(first, rows, strict=True)}


def blocks_of(codes: list[int], lines_of: Callable[[int], np.ndarray]) -> Iterator[list[int]]:
    """``codes`` cut into runs of payees of about :data:`BLOCK_LINES` lines together (at least one payee)."""
    block: list[int] = []
    count = 0
    for code in codes:
        block.append(code)
        count += lines_of(code).size
        if count >= BLOCK_LINES:
            yield block
            block, count = [], 0
    if block:
        yield block


# ---------------------------------------------------------------------- a line as a record
def _record(row: dict, plan_currency: str) -> StatementLine:
    converted = converted_words(row.get("currency"), row.get("fx_rate"), row.get("fx_date"), plan_currency)
    return StatementLine(
        row["date"].isoformat() if row["date"] else "",
        row["txn"] or "",
        row["component"] or "",
        KIND_WORDS.get(row["kind"], row["kind"]),
        row["credit"],
        row["amount"],
        pretty(row["explanation"]) + (f" (credit converted from {converted})" if converted else ""),
        row["clause"] or "",
    )
