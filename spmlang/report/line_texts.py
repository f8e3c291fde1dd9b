"""Ledger lines as a statement shows them, a whole column at a time: each line's two rows of a page's table
(escaped as Jinja2 escapes), and its row of the statement's CSV file (quoted as csv.writer quotes, a text cell safe
in a spreadsheet), made with Arrow's string kernels for many lines at once (see statement_lines.py): labels once
for each distinct one, amounts by numbers, explanations from their templates (line_words.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels.column_text import amount as plain_amount
from spmlang.engine.kernels.column_text import grouped_amount, join_element_wise, pretty
from spmlang.engine.read.numbers import decimal_units
from spmlang.figures import money
from spmlang.report import cells
from spmlang.report.cells import as_array, join, large
from spmlang.report.explanations import sentences
from spmlang.report.line_words import explanation_cells

ADJUSTMENT_KINDS = (
    "true_up",
    "cap",
    "gate",
    "bonus",
    "draw",
    "draw_recovery",
    "clawback",
    "adjustment",
    "hold",
    "release",
    "floor",
    "floor_recovery",
)
KIND_WORDS = {
    "earning": "earning",
    "spif": "SPIF",
    "bonus": "bonus",
    "true_up": "true-up",
    "cap": "cap",
    "gate": "gate",
    "draw": "draw",
    "draw_recovery": "draw recovery",
    "clawback": "clawback",
    "adjustment": "adjustment of a closed period",
    "hold": "held",
    "release": "released",
    "floor": "payout floor",
    "floor_recovery": "floor recovery",
    "fx": "paid in",
}


class JoinedText:
    """Text of many rows, each slice of them as one string: ``text[start:stop]`` is rows start to stop joined,
    cut from one buffer (Arrow's: not copied whole)."""

    def __init__(self, rows: pa.Array | pa.ChunkedArray):
        array = as_array(pc.cast(rows, pa.large_string()))
        if array.null_count:
            raise ValueError("every line has its text")
        buffers = array.buffers()
        assert buffers[1] is not None  # a string array has its offsets
        offsets = np.frombuffer(cast(memoryview, buffers[1]), dtype=np.int64)
        self.offsets = offsets[array.offset : array.offset + len(array) + 1]
        self.data = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")

    def __getstate__(self) -> tuple:
        return self.offsets, bytes(self.data)  # a view does not pickle: its bytes do

    def __setstate__(self, state: tuple) -> None:
        self.offsets, data = state
        self.data = memoryview(data)

    def __getitem__(self, rows: slice) -> str:
        return str(self.bytes_of(rows), "utf-8")

    def bytes_of(self, rows: slice) -> memoryview:
        """Rows start to stop joined, as UTF-8 (a view of the buffer: bytes(), or join them, to keep them)."""
        return self.data[int(self.offsets[rows.start]) : int(self.offsets[rows.stop])]


def converted_words(currency: str | None, rate: Decimal | None, day, plan_currency: str) -> str | None:
    """How a row line's money was converted to the plan currency, in words (None: it was in it already)."""
    if currency is None or currency == plan_currency or rate is None:
        return None
    of = f"the rate of {day.isoformat()}" if day is not None else "the fixed rate"
    return f"{currency} at {rate.normalize():f}, {of}"


@dataclass
class LineTexts:
    """The texts of a few statement lines given as records (StatementLine): as they read, before a page or a
    CSV file writes them."""

    date: pa.Array
    txn: pa.Array
    component: pa.Array
    kind: pa.Array  # the kind in words (true-up)
    credit: pa.Array  # as the CSV has it: -1234.50, empty where none
    amount: pa.Array
    words: pa.Array  # the explanation for people
    clause: pa.Array
    adjustment: pa.Array  # whether the line is among the statement's adjustments
    credit_shown: pa.Array  # as the page shows it: -1,234.50
    amount_shown: pa.Array

    @staticmethod
    def of_records(lines: list, adjustment: bool) -> LineTexts:
        def column(values: list[str]) -> pa.Array:
            return pa.array(values, pa.large_string())

        return LineTexts(
            column([line.date for line in lines]),
            column([line.txn for line in lines]),
            column([line.component for line in lines]),
            column([line.kind for line in lines]),
            column(["" if line.credit is None else str(line.credit) for line in lines]),
            column([str(line.amount) for line in lines]),
            column([line.words for line in lines]),
            column([line.clause for line in lines]),
            pa.array([adjustment] * len(lines), pa.bool_()),
            column([money(line.credit) for line in lines]),
            column([money(line.amount) for line in lines]),
        )


@dataclass
class LineCells:
    """Each line's cells: as a statement page's table shows them (HTML, escaped) and as its CSV file writes
    them (quoted where they must be, safe in a spreadsheet)."""

    date: pa.Array  # both: 2027-01-31, empty where none
    txn_html: pa.Array  # — where none
    component_html: pa.Array
    kind_html: pa.Array  # ' (true-up)'; nothing for an earning
    credit_html: pa.Array  # -1,234.50, empty where none
    amount_html: pa.Array
    words_html: pa.Array
    clause_html: pa.Array
    section_csv: pa.Array  # earning or adjustment
    txn_csv: pa.Array
    component_csv: pa.Array
    kind_csv: pa.Array
    credit_csv: pa.Array  # -1234.50: never quoted
    amount_csv: pa.Array
    words_csv: pa.Array
    clause_csv: pa.Array

    @staticmethod
    def of_texts(line: LineTexts) -> LineCells:
        """The cells of lines given as their texts, each made from its line's."""
        return LineCells(
            date=line.date,
            txn_html=_txn_html(line.txn),
            component_html=cells.escaped(line.component),
            kind_html=_kind_html(line.kind),
            credit_html=line.credit_shown,
            amount_html=line.amount_shown,
            words_html=cells.escaped(line.words),
            clause_html=cells.escaped(line.clause),
            section_csv=_section(line.adjustment),
            txn_csv=_spreadsheet_cell(line.txn),
            component_csv=_spreadsheet_cell(line.component),
            kind_csv=cells.csv_cell(line.kind),
            credit_csv=cells.csv_cell(line.credit),
            amount_csv=cells.csv_cell(line.amount),
            words_csv=_spreadsheet_cell(line.words),
            clause_csv=_spreadsheet_cell(line.clause),
        )

    @staticmethod
    def of_ledger(table: pa.Table, currency: str, adjustment: np.ndarray) -> LineCells:
        """The cells of ledger lines as build_ledger makes them (labels dictionary-encoded, explanations as a
        ledger stores them); ``adjustment``: whether each is among its statement's adjustments. A label's cells
        are made once, an amount's by numbers, an explanation from its template (see line_words.py)."""
        credit, shown_credit = _amount_texts(table.column("credit"))
        amount, shown_amount = _amount_texts(table.column("amount"))
        words = None if "currency" in table.column_names else _template_words(table, shown_credit)
        if words is None:  # each line's sentence, as the engine writes it, made into cells
            said = _words(table, currency)
            words = (cells.escaped(said), _spreadsheet_cell(said))
        component, kind, clause = table.column("component"), table.column("kind"), table.column("clause")
        return LineCells(
            date=cells.each_distinct(pc.dictionary_encode(as_array(table.column("date"))), lambda days: days),
            txn_html=_txn_html(table.column("txn")),
            component_html=cells.each_distinct(component, cells.escaped),
            kind_html=cells.each_distinct(kind, lambda kinds: _kind_html(_kind_words(kinds))),
            credit_html=shown_credit,
            amount_html=shown_amount,
            words_html=words[0],
            clause_html=cells.each_distinct(clause, cells.escaped),
            section_csv=_section(pa.array(adjustment, pa.bool_())),
            txn_csv=_spreadsheet_cell(table.column("txn")),
            component_csv=cells.each_distinct(component, _spreadsheet_cell),
            kind_csv=cells.each_distinct(kind, lambda kinds: cells.csv_cell(_kind_words(kinds))),
            credit_csv=credit,
            amount_csv=amount,
            words_csv=words[1],
            clause_csv=cells.each_distinct(clause, _spreadsheet_cell),
        )


def html_rows(line: LineCells) -> pa.Array:
    """Each line as two rows of a statement page's table (what statement.html's loop over lines wrote)."""
    return join(
        '<tr class="main"><td class="key">',
        line.date,
        '</td><td class="key">',
        line.txn_html,
        '</td>\n<td class="num">',
        line.credit_html,
        '</td><td class="num">',
        line.amount_html,
        '</td></tr>\n<tr class="why"><td colspan="4"><b>',
        line.component_html,
        line.kind_html,
        "</b>:\n",
        line.words_html,
        ' <span class="clause">',
        line.clause_html,
        "</span></td></tr>",
    )


def csv_rows(line: LineCells) -> pa.Array:
    """Each line as a row of a statement's CSV file: section, date, txn, component, kind, credit, amount,
    explanation, clause (what csv.writer wrote of each, a text cell safe in a spreadsheet)."""
    return join_element_wise(
        line.section_csv,
        line.date,
        line.txn_csv,
        line.component_csv,
        line.kind_csv,
        line.credit_csv,
        line.amount_csv,
        line.words_csv,
        join(line.clause_csv, "\n"),
        large(","),
    )


def _section(adjustment: pa.Array) -> pa.Array:
    return pc.if_else(adjustment, large("adjustment"), large("earning"))


def _txn_html(txn) -> pa.Array:
    escaped = cells.escaped(txn)
    return pc.if_else(pc.equal(escaped, large("")), large("—"), escaped)


def _kind_html(kind: pa.Array) -> pa.Array:
    """' (true-up)' after a line's component; an earning line says no kind."""
    said = join(" (", cells.escaped(kind), ")")
    return pc.if_else(pc.equal(kind, large("earning")), large(""), said)


def _spreadsheet_cell(words) -> pa.Array:
    return cells.csv_cell(cells.spreadsheet(cells.text(words)))


def _amount_texts(column) -> tuple[pa.Array, pa.Array]:
    """Amounts as a statement's CSV has them (-1234.50) and as its page shows them (-1,234.50), empty where
    none: written from their cents, not cast from decimals."""
    column = as_array(column)
    units = decimal_units(column)
    made = [plain_amount(units).cast(pa.large_string()), grouped_amount(units).cast(pa.large_string())]
    if column.null_count:
        made = [pc.if_else(column.is_valid(), text, large("")) for text in made]
    return made[0], made[1]


def _kind_words(kind: pa.Array) -> pa.Array:
    """Each line's kind as a statement says it: true_up -> true-up."""
    return pa.array([KIND_WORDS.get(str(k), str(k)) for k in kind.to_pylist()], pa.large_string())


def _template_words(table: pa.Table, credit: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    return explanation_cells(table.column("explanation"), credit, table.column("exact"), table.column("rollup_from"))


def _words(table: pa.Table, currency: str) -> pa.Array:
    """A line's explanation for people: thousands separated, and how its credit was converted, if it was."""
    columns = [table.column(name) for name in ("explanation", "credit", "exact", "rollup_from")]
    words = pretty(cells.text(sentences(*columns)))
    if "currency" not in table.column_names:
        return words
    other, rate, day = table.column("currency"), table.column("fx_rate"), table.column("fx_date")
    other_currency = cast(pa.ChunkedArray, pc.fill_null(pc.not_equal(other, pa.scalar(currency)), pa.scalar(False)))
    converted = pc.and_(pc.and_(other.is_valid(), other_currency), rate.is_valid())
    # Each distinct rate written once, as Decimal.normalize() writes it (1.085310 -> 1.08531, 1E-7 -> 0.0000001).
    rates = cast(pa.DictionaryArray, pc.dictionary_encode(as_array(rate)))
    written = ["" if value is None else f"{value.normalize():f}" for value in rates.dictionary.to_pylist()]
    rate_text = cast(pa.Array, pc.fill_null(pa.array(written, pa.large_string()).take(rates.indices), large("")))
    of = pc.if_else(day.is_valid(), join("the rate of ", cells.text(day)), large("the fixed rate"))
    note = join(" (credit converted from ", cells.text(other), " at ", rate_text, ", ", of, ")")
    return join(words, pc.if_else(converted, note, large("")))
