"""Ledger lines as a statement shows them, a whole column at a time: each line's two rows of a page's table
(escaped as Jinja2 escapes), and its row of the statement's CSV file (quoted as csv.writer quotes, a text cell safe
in a spreadsheet), made with Arrow's string kernels for many lines at once (see statement_lines.py)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels.column_text import join_element_wise, pretty
from spmlang.figures import money
from spmlang.spreadsheet import FORMULA_STARTS, PLAIN_NUMBER


def _large(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _join(*parts: pa.Array | pa.ChunkedArray | str) -> pa.Array:
    """The parts joined, row by row: large-string arrays and fixed texts."""
    return join_element_wise(*[_large(p) if isinstance(p, str) else p for p in parts], _large(""))


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


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


class JoinedText:
    """Text of many rows, each slice of them as one string: ``text[start:stop]`` is rows start to stop joined,
    cut from one buffer."""

    def __init__(self, rows: pa.Array | pa.ChunkedArray):
        array = as_array(pc.cast(rows, pa.large_string()))
        if array.null_count:
            raise ValueError("every line has its text")
        buffers = array.buffers()
        assert buffers[1] is not None  # a string array has its offsets
        offsets = np.frombuffer(cast(memoryview, buffers[1]), dtype=np.int64)
        self.offsets = offsets[array.offset : array.offset + len(array) + 1]
        self.data = buffers[2].to_pybytes() if buffers[2] is not None else b""

    def __getitem__(self, rows: slice) -> str:
        return self.data[int(self.offsets[rows.start]) : int(self.offsets[rows.stop])].decode()


def converted_words(currency: str | None, rate: Decimal | None, day, plan_currency: str) -> str | None:
    """How a row line's money was converted to the plan currency, in words (None: it was in it already)."""
    if currency is None or currency == plan_currency or rate is None:
        return None
    of = f"the rate of {day.isoformat()}" if day is not None else "the fixed rate"
    return f"{currency} at {rate.normalize():f}, {of}"


@dataclass
class LineTexts:
    """The texts of each line that both its HTML and its CSV row show."""

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
    def of(table: pa.Table, currency: str, adjustment: np.ndarray) -> LineTexts:
        """The texts of ledger lines (``adjustment``: whether each is among its statement's adjustments)."""
        kind = table.column("kind")
        credit, amount = _text(table.column("credit")), _text(table.column("amount"))
        return LineTexts(
            _text(table.column("date")),
            _text(table.column("txn")),
            _text(table.column("component")),
            _kind_words(kind),
            credit,
            amount,
            _words(table, currency),
            _text(table.column("clause")),
            pa.array(adjustment, pa.bool_()),
            pretty(credit),
            pretty(amount),
        )

    @staticmethod
    def of_records(lines: list, adjustment: bool) -> LineTexts:
        """The texts of a few statement lines given as records (StatementLine), one at a time."""

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


def html_rows(line: LineTexts) -> pa.Array:
    """Each line as two rows of a statement page's table (what statement.html's loop over lines wrote)."""
    txn = _escaped(line.txn)
    kind = _join(" (", _escaped(line.kind), ")")
    kind = pc.if_else(pc.equal(line.kind, _large("earning")), _large(""), kind)  # an earning line says no kind
    return _join(
        '<tr class="main"><td class="key">',
        line.date,
        '</td><td class="key">',
        pc.if_else(pc.equal(txn, _large("")), _large("—"), txn),
        '</td>\n<td class="num">',
        line.credit_shown,
        '</td><td class="num">',
        line.amount_shown,
        '</td></tr>\n<tr class="why"><td colspan="4"><b>',
        _escaped(line.component),
        kind,
        "</b>:\n",
        _escaped(line.words),
        ' <span class="clause">',
        _escaped(line.clause),
        "</span></td></tr>",
    )


def csv_rows(line: LineTexts) -> pa.Array:
    """Each line as a row of a statement's CSV file: section, date, txn, component, kind, credit, amount,
    explanation, clause (what csv.writer wrote of each, a text cell safe in a spreadsheet)."""
    return join_element_wise(
        pc.if_else(line.adjustment, _large("adjustment"), _large("earning")),
        _csv_cell(line.date),
        _csv_cell(_spreadsheet(line.txn)),
        _csv_cell(_spreadsheet(line.component)),
        _csv_cell(line.kind),
        _csv_cell(line.credit),
        _csv_cell(line.amount),
        _csv_cell(_spreadsheet(line.words)),
        _join(_csv_cell(_spreadsheet(line.clause)), "\n"),
        _large(","),
    )


def _text(column) -> pa.Array:
    """A column as text, empty where it is null (a date as 2027-01-31, an amount as -1234.50). Large strings
    (64-bit offsets): the lines of one payee may hold more than 2 GB of text."""
    text = column if pa.types.is_large_string(column.type) else pc.cast(column, pa.large_string())
    return pc.fill_null(text, pa.scalar("", pa.large_string()))


def _kind_words(kind) -> pa.Array:
    """Each line's kind as a statement says it: true_up -> true-up."""
    encoded = cast(pa.DictionaryArray, pc.dictionary_encode(as_array(kind)))
    words = pa.array([KIND_WORDS.get(str(k), str(k)) for k in encoded.dictionary.to_pylist()], pa.large_string())
    return words.take(encoded.indices)


def _words(table: pa.Table, currency: str) -> pa.Array:
    """A line's explanation for people: thousands separated, and how its credit was converted, if it was."""
    words = pretty(_text(table.column("explanation")))
    if "currency" not in table.column_names:
        return words
    other, rate, day = table.column("currency"), table.column("fx_rate"), table.column("fx_date")
    other_currency = cast(pa.ChunkedArray, pc.fill_null(pc.not_equal(other, pa.scalar(currency)), pa.scalar(False)))
    converted = pc.and_(pc.and_(other.is_valid(), other_currency), rate.is_valid())
    # Each distinct rate written once, as Decimal.normalize() writes it (1.085310 -> 1.08531, 1E-7 -> 0.0000001).
    rates = cast(pa.DictionaryArray, pc.dictionary_encode(as_array(rate)))
    written = ["" if value is None else f"{value.normalize():f}" for value in rates.dictionary.to_pylist()]
    rate_text = cast(pa.Array, pc.fill_null(pa.array(written, pa.large_string()).take(rates.indices), _large("")))
    of = pc.if_else(day.is_valid(), _join("the rate of ", _text(day)), _large("the fixed rate"))
    note = _join(" (credit converted from ", _text(other), " at ", rate_text, ", ", of, ")")
    return _join(words, pc.if_else(converted, note, _large("")))


def _escaped(text) -> pa.Array:
    """Text as HTML shows it (what Jinja2's autoescape writes): & < > " ' escaped."""
    text = _text(text)
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        if pc.any(pc.match_substring(text, character)).as_py():  # most texts have none: a look, not a copy
            text = pc.replace_substring(text, character, entity)
    return text


def _csv_module_quotes(cell: str) -> bool:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell, ""])
    return buffer.getvalue().startswith('"')


_FORMULA = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_STARTS) + "]"
# Python's \d is any decimal digit of Unicode (Nd); Arrow's (RE2's) is 0-9 alone.
_PLAIN_NUMBER = "^(?:" + PLAIN_NUMBER.replace("\\d", "\\p{Nd}") + ")$"
# csv.writer quotes a cell with a carriage return alone in some versions of Python, not in others: as it does.
_QUOTED = '[,"\r\n]' if _csv_module_quotes("a\rb") else '[,"\n]'


def _spreadsheet(text: pa.Array) -> pa.Array:
    """Text cells safe in a spreadsheet (see :func:`spmlang.spreadsheet.spreadsheet_text`), column-wise."""
    formula = pc.and_(
        pc.match_substring_regex(text, _FORMULA), pc.invert(pc.match_substring_regex(text, _PLAIN_NUMBER))
    )
    return pc.if_else(formula, _join("'", text), text)


def _csv_cell(text: pa.Array) -> pa.Array:
    """A CSV cell as csv.writer writes it (the excel dialect): quoted, its quotes doubled, where it holds a
    comma, a quote or a line break."""
    quoted = _join('"', pc.replace_substring(text, '"', '""'), '"')
    return pc.if_else(pc.match_substring_regex(text, _QUOTED), quoted, text)
