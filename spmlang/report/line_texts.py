"""Ledger lines as a statement shows them, a whole column at a time: each line's two rows of a page's table
(escaped as Jinja2 escapes), and its row of the statement's CSV file (quoted as csv.writer quotes, a text cell safe
in a spreadsheet), made with Arrow's string kernels for many lines at once (see statement_lines.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels.column_text import join_element_wise, pretty
from spmlang.spreadsheet import FORMULA_STARTS, PLAIN_NUMBER

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


def joined(rows: pa.Array | pa.ChunkedArray) -> Callable[[int, int], str]:
    """A function giving the text of rows[start:stop] joined, each slice one cut of one buffer."""
    array = pc.cast(rows, pa.large_string())
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    if array.null_count:
        raise ValueError("every line has its text")
    buffers = array.buffers()
    assert buffers[1] is not None  # a string array has its offsets
    offsets = np.frombuffer(cast(memoryview, buffers[1]), dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = memoryview(buffers[2]) if buffers[2] is not None else memoryview(b"")

    def text(start: int, stop: int) -> str:
        return bytes(data[offsets[start] : offsets[stop]]).decode()

    return text


@dataclass
class LineTexts:
    """The texts of each line that both its HTML and its CSV row show."""

    date: pa.Array
    txn: pa.Array
    component: pa.Array
    kind: pa.Array  # the kind in words (true-up)
    credit: pa.Array  # -1234.50, empty where none
    amount: pa.Array
    words: pa.Array  # the explanation for people
    clause: pa.Array
    adjustment: pa.Array  # whether the line is among the statement's adjustments

    @staticmethod
    def of(table: pa.Table, currency: str) -> LineTexts:
        kind = table.column("kind")
        return LineTexts(
            _text(table.column("date")),
            _text(table.column("txn")),
            _text(table.column("component")),
            _kind_words(kind),
            _text(table.column("credit")),
            _text(table.column("amount")),
            _words(table, currency),
            _text(table.column("clause")),
            pc.is_in(kind, pa.array(ADJUSTMENT_KINDS)),
        )


def html_rows(line: LineTexts) -> pa.Array:
    """Each line as two rows of a statement page's table (what statement.html's loop over lines wrote)."""
    txn = _escaped(line.txn)
    kind = join_element_wise(" (", _escaped(line.kind), ")", "")
    kind = pc.if_else(pc.equal(line.kind, pa.scalar("earning")), "", kind)  # an earning line says no kind
    return join_element_wise(
        '<tr class="main"><td class="key">',
        line.date,
        '</td><td class="key">',
        pc.if_else(pc.equal(txn, pa.scalar("")), "—", txn),
        '</td>\n<td class="num">',
        pretty(line.credit),
        '</td><td class="num">',
        pretty(line.amount),
        '</td></tr>\n<tr class="why"><td colspan="4"><b>',
        _escaped(line.component),
        kind,
        "</b>:\n",
        _escaped(line.words),
        ' <span class="clause">',
        _escaped(line.clause),
        "</span></td></tr>",
        "",
    )


def csv_rows(line: LineTexts) -> pa.Array:
    """Each line as a row of a statement's CSV file: section, date, txn, component, kind, credit, amount,
    explanation, clause (what csv.writer wrote of each, a text cell safe in a spreadsheet)."""
    return join_element_wise(
        pc.if_else(line.adjustment, "adjustment", "earning"),
        _csv_cell(line.date),
        _csv_cell(_spreadsheet(line.txn)),
        _csv_cell(_spreadsheet(line.component)),
        _csv_cell(line.kind),
        _csv_cell(line.credit),
        _csv_cell(line.amount),
        _csv_cell(_spreadsheet(line.words)),
        join_element_wise(_csv_cell(_spreadsheet(line.clause)), "\n", ""),
        ",",
    )


def _text(column) -> pa.Array:
    """A column as text, empty where it is null (a date as 2027-01-31, an amount as -1234.50)."""
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    return pc.fill_null(text, "")


def _kind_words(kind) -> pa.Array:
    """Each line's kind as a statement says it: true_up -> true-up."""
    encoded = cast(pa.DictionaryArray, pc.dictionary_encode(as_array(kind)))
    words = pa.array([KIND_WORDS.get(str(k), str(k)) for k in encoded.dictionary.to_pylist()], pa.string())
    return words.take(encoded.indices)


def _words(table: pa.Table, currency: str) -> pa.Array:
    """A line's explanation for people: thousands separated, and how its credit was converted, if it was."""
    words = pretty(_text(table.column("explanation")))
    if "currency" not in table.column_names:
        return words
    other, rate, day = table.column("currency"), table.column("fx_rate"), table.column("fx_date")
    other_currency = cast(pa.ChunkedArray, pc.fill_null(pc.not_equal(other, pa.scalar(currency)), pa.scalar(False)))
    converted = pc.and_(pc.and_(other.is_valid(), other_currency), rate.is_valid())
    rate_text = pc.replace_substring_regex(
        pc.replace_substring_regex(_text(rate), r"(\.\d*?)0+$", r"\1"), r"\.$", ""
    )  # as Decimal.normalize() writes it: 1.085310 -> 1.08531, 1.000000 -> 1
    of = pc.if_else(day.is_valid(), join_element_wise("the rate of ", _text(day), ""), "the fixed rate")
    note = join_element_wise(" (credit converted from ", _text(other), " at ", rate_text, ", ", of, ")", "")
    return join_element_wise(words, pc.if_else(converted, note, ""), "")


def _escaped(text) -> pa.Array:
    """Text as HTML shows it (what Jinja2's autoescape writes): & < > " ' escaped."""
    text = _text(text)
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        if pc.any(pc.match_substring(text, character)).as_py():  # most texts have none: a look, not a copy
            text = pc.replace_substring(text, character, entity)
    return text


_FORMULA = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_STARTS) + "]"


def _spreadsheet(text: pa.Array) -> pa.Array:
    """Text cells safe in a spreadsheet (see :func:`spmlang.spreadsheet.spreadsheet_text`), column-wise."""
    formula = pc.and_(
        pc.match_substring_regex(text, _FORMULA), pc.invert(pc.match_substring_regex(text, f"^(?:{PLAIN_NUMBER})$"))
    )
    return pc.if_else(formula, join_element_wise("'", text, ""), text)


def _csv_cell(text: pa.Array) -> pa.Array:
    """A CSV cell as csv.writer writes it (the excel dialect): quoted, its quotes doubled, where it holds a
    comma, a quote or a line break."""
    quoted = join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(text, '[,"\r\n]'), quoted, text)
