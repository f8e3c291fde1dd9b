"""Text of many statement lines as a page's table and a CSV file hold it, a whole column at a time: escaped as
Jinja2 escapes, quoted as csv.writer quotes, safe in a spreadsheet. Large strings (64-bit offsets): the lines
of one payee may hold more than 2 GB of text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels.column_text import join_element_wise, scatter
from spmlang.spreadsheet import FORMULA_STARTS, PLAIN_NUMBER


def large(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def join(*parts: pa.Array | pa.ChunkedArray | str) -> pa.Array:
    """The parts joined, row by row: large-string arrays and fixed texts."""
    return join_element_wise(*[large(p) if isinstance(p, str) else p for p in parts], large(""))


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def text(column) -> pa.Array:
    """A column as text, empty where it is null (a date as 2027-01-31, an amount as -1234.50)."""
    column = as_array(column)
    written = column if pa.types.is_large_string(column.type) else pc.cast(column, pa.large_string())
    return pc.fill_null(written, large(""))


def each_distinct(column, make: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """``make`` (text -> text, row by row) of each line's value as text: of a dictionary-encoded column (a
    label: a component, a clause), made once for each distinct value."""
    column = as_array(column)
    if not pa.types.is_dictionary(column.type):
        return make(text(column))
    values = pa.concat_arrays([text(column.dictionary), pa.array([""], pa.large_string())])  # last: null's
    return make(values).take(column.indices.fill_null(len(column.dictionary)))


def escaped(words) -> pa.Array:
    """Text as HTML shows it (what Jinja2's autoescape writes): & < > " ' escaped. Most texts hold none: they
    are looked at once, and only those that do are copied."""
    words = text(words)
    rows = np.flatnonzero(np.asarray(pc.match_substring_regex(words, "[&<>\"']")))
    if not rows.size:
        return words
    some = words.take(rows)
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        some = pc.replace_substring(some, character, entity)
    return scatter(words, rows, some)


def _csv_module_quotes(cell: str) -> bool:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cell, ""])
    return buffer.getvalue().startswith('"')


# Python's \d is any decimal digit of Unicode (Nd); Arrow's (RE2's) is 0-9 alone.
_PLAIN_NUMBER = "^(?:" + PLAIN_NUMBER.replace("\\d", "\\p{Nd}") + ")$"
# csv.writer quotes a cell with a carriage return alone in some versions of Python, not in others: as it does.
QUOTED = '[,"\r\n]' if _csv_module_quotes("a\rb") else '[,"\n]'
_QUOTED = re.compile(QUOTED)


def needs_quotes(cell: str) -> bool:
    """Whether csv.writer quotes ``cell``."""
    return _QUOTED.search(cell) is not None


def formula(words: pa.Array) -> np.ndarray:
    """Whether each text would be read by a spreadsheet as a formula (see
    :func:`spmlang.spreadsheet.spreadsheet_text`): it starts as one does, and is no plain number. Few texts
    start so: the others are looked at for their first character alone."""
    first = pc.utf8_slice_codeunits(words, 0, 1)
    starts = np.flatnonzero(np.asarray(pc.is_in(first, value_set=pa.array(FORMULA_STARTS, first.type))))
    found = np.zeros(len(words), bool)
    if starts.size:
        found[starts] = np.asarray(pc.invert(pc.match_substring_regex(words.take(starts), _PLAIN_NUMBER)))
    return found


def spreadsheet(words: pa.Array) -> pa.Array:
    """Text cells safe in a spreadsheet (see :func:`spmlang.spreadsheet.spreadsheet_text`), column-wise."""
    found = formula(words)
    return pc.if_else(pa.array(found), join("'", words), words) if found.any() else words


def csv_cell(words: pa.Array) -> pa.Array:
    """A CSV cell as csv.writer writes it (the excel dialect): quoted, its quotes doubled, where it holds a
    comma, a quote or a line break."""
    quoted = pc.match_substring_regex(words, QUOTED)
    if not pc.any(quoted).as_py():
        return words
    return pc.if_else(quoted, join('"', pc.replace_substring(words, '"', '""'), '"'), words)
