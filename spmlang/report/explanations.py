"""A ledger's explanations as sentences, where a person reads them.

A ledger stores the explanation of most lines as a template ('{credit} at 8% (0%–50%) = {exact}'), the two
numbers in the line's ``credit`` and ``exact`` columns, and every other explanation as its sentence with its
braces doubled (see :mod:`spmlang.engine.kernels.templates`). :func:`readable` makes the sentences again,
exactly as the engine would have written them, a block of lines at a time: for a parquet ledger read back
(``spmlang.read_ledger``, ``spm verify`` of a folder) and ledgers written as CSV or JSON. (A ledger made in
memory, ``Result.ledger``, is made with the sentences the engine joins.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import column_text as text
from spmlang.engine.read.numbers import decimal_units

_PIECE = re.compile(r"\{\{|\}\}|\{credit\}|\{exact\}|\{rollup_from\}|[^{}]+|[{}]")
_NUMBERS = {"{credit}": "credit", "{exact}": "exact", "{rollup_from}": "rollup_from"}  # what a template names
NAMED = tuple(_NUMBERS.values())  # the columns a ledger's templates name


def readable(table: pa.Table) -> pa.Table:
    """``table`` (ledger lines) with its explanations as sentences, made a block of lines at a time (what is
    made on the way stays small however long the ledger). A ledger without an ``exact`` column (written before
    explanations were stored as templates) holds sentences already: returned as it is. A :class:`ColumnError`
    where the explanations are not text, or a column a template names is missing, empty or holds what spm never
    writes there."""
    names = table.schema.names
    if "explanation" not in names:
        return table
    if "exact" not in names:
        if _templated(table.column("explanation")):  # not a ledger of before templates: one edited by hand
            raise ColumnError("exact", "the explanations are templates ('... = {exact}'), but the column is gone")
        return table
    stored = table.schema.field("explanation").type
    held = stored.value_type if pa.types.is_dictionary(stored) else stored
    if not (pa.types.is_string(held) or pa.types.is_large_string(held)):
        raise ColumnError("explanation", f"it holds {stored}, not text")
    present = [name for name in NAMED if name in names]  # one missing: said where a template names it
    words: list[pa.Array] = []
    offset = 0
    for block in table.select(["explanation", *present]).to_batches(max_chunksize=_LINES):
        columns = dict(zip(present, block.columns[1:], strict=True))
        try:
            words.append(sentences(block.column(0), *(columns.get(name) for name in NAMED)))
        except ColumnError as error:  # its line in the block: in the ledger
            error.line = None if error.line is None else error.line + offset
            raise
        offset += block.num_rows
    field = pa.field("explanation", pa.string(), nullable=False)
    return table.set_column(names.index("explanation"), field, pa.chunked_array(words, pa.string()))


_LINES = 1 << 16  # lines made sentences at a time


def _templated(explanations: pa.ChunkedArray) -> bool:
    """Whether any explanation is a template naming ``{exact}`` (a dictionary's distinct values looked at)."""
    for chunk in explanations.chunks:
        values = chunk.dictionary if isinstance(chunk, pa.DictionaryArray) else chunk
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            if pc.any(pc.match_substring(values, "{exact}")).as_py():
                return True
    return False


def sentences(stored, credit, exact, rollup_from) -> pa.Array:
    """The sentences of a ledger's stored explanations (text, or dictionary-encoded as a ledger is built),
    given each line's ``credit``, ``exact`` and ``rollup_from``."""
    stored = stored.combine_chunks() if isinstance(stored, pa.ChunkedArray) else stored
    if pa.types.is_dictionary(stored.type):
        distinct = stored.dictionary
        index = np.asarray(stored.indices, dtype=np.int64)
        if len(distinct) > index.size:  # a block of a longer column: only the strings its lines use
            used, index = np.unique(index, return_inverse=True)
            distinct = distinct.take(used)
        distinct = distinct.cast(pa.string())
    elif not len(stored) or not pc.any(pc.match_substring_regex(stored, r"[{}]")).as_py():
        return stored.cast(pa.string())  # no template and no brace: the sentences are what is stored
    else:
        encoded = cast(pa.DictionaryArray, pc.dictionary_encode(stored))
        distinct = encoded.dictionary.cast(pa.string())
        index = np.asarray(encoded.indices, dtype=np.int64)
    braced = np.flatnonzero(np.asarray(pc.match_substring_regex(distinct, r"[{}]")))
    templates: dict[int, list[str | Named]] = {}  # distinct value -> its pieces, where it names a column
    said: list[str | None] = []  # each braced value as it reads (None: a template)
    for k, value in zip(braced.tolist(), distinct.take(braced).to_pylist(), strict=True):
        pieces = template_pieces(value)
        if any(isinstance(piece, Named) for piece in pieces):
            templates[k] = pieces
            said.append(None)
        else:
            said.append("".join(str(piece) for piece in pieces))
    words = text.scatter(distinct, braced, pa.array(said, pa.string())).take(index)
    if not templates:
        return words
    lines = np.flatnonzero(np.isin(index, list(templates)))
    columns = {"credit": credit, "exact": exact, "rollup_from": rollup_from}
    return text.scatter(words, lines, _filled(templates, index[lines], columns, lines))


@dataclass(frozen=True)
class Named:
    """Where a template names one of its line's columns (``{credit}``)."""

    column: str


def template_pieces(template: str) -> list[str | Named]:
    """A template's pieces: text (its doubled braces single again) and the columns it names."""
    pieces: list[str | Named] = []
    for match in _PIECE.finditer(template):
        piece = match[0]
        if piece in _NUMBERS:
            pieces.append(Named(_NUMBERS[piece]))
            continue
        piece = {"{{": "{", "}}": "}"}.get(piece, piece)
        if pieces and isinstance(pieces[-1], str):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


# Each column a template names, written as the engine writes it in a sentence.
_WRITTEN = {
    "credit": lambda column: text.amount(decimal_units(column)),
    "exact": lambda column: text.exact(decimal_units(column)),
    "rollup_from": lambda column: column.cast(pa.string()),
}


class ColumnError(ValueError):
    """A column a line's template names holds no value spm writes there: the ledger was edited by hand."""

    def __init__(self, column: str, reason: str, line: int | None = None):
        super().__init__(reason)
        self.column, self.line = column, line  # the line (its index in the ledger), where known


def _written(name: str, column, which: np.ndarray, uses: list[int], lines: np.ndarray) -> pa.Array:
    """Column ``name`` of ``lines`` as the engine writes it in a sentence; a :class:`ColumnError` where a
    line whose template names it (``uses``: which templates do) has none, or one spm does not write."""
    named = np.isin(which, uses)
    if column is None:
        said = "the line's explanation names this column, which the ledger does not have"
        raise ColumnError(name, said, int(lines[np.flatnonzero(named)[0]]))
    values = _plain(column).take(lines)
    empty = np.flatnonzero(named & ~np.asarray(values.is_valid()))
    if empty.size:
        raise ColumnError(name, "the line's explanation names this column, which is empty", int(lines[empty[0]]))
    try:
        return _WRITTEN[name](values)
    except (pa.ArrowException, ValueError) as error:  # a value of another type, more places, too large
        raise ColumnError(name, str(error).splitlines()[0]) from None


def _filled(templates: dict[int, list], which: np.ndarray, columns: dict, lines: np.ndarray) -> pa.Array:
    """The sentences of ``lines``, each of the template ``which`` names, what it names from the line's
    columns."""
    named = sorted({piece.column for pieces in templates.values() for piece in pieces if isinstance(piece, Named)})
    values = {
        name: _written(name, columns[name], which, [k for k in templates if Named(name) in templates[k]], lines)
        for name in named
    }
    return fill(templates, which, values)


_TEXT = pa.string()


def fill(
    templates: dict[int, list], which: np.ndarray, values: dict[str, pa.Array], kind: pa.DataType = _TEXT
) -> pa.Array:
    """Each line's template (``which``: a key of ``templates``, a line's list of pieces) filled: its text as it
    is, and what it names (:class:`Named`) from ``values``, the lines' own, by name (text of ``kind``)."""
    order = sorted(templates)
    slot = np.searchsorted(np.array(order), which)
    parts: list[pa.Array] = []
    for position in range(max(len(pieces) for pieces in templates.values())):
        at = [templates[k][position] if position < len(templates[k]) else "" for k in order]
        if all(piece == at[0] for piece in at) and isinstance(at[0], Named):  # every line's the same column
            parts.append(values[at[0].column])
            continue
        part = pa.array([piece if isinstance(piece, str) else "" for piece in at], kind).take(slot)
        for name, written in values.items():
            uses = np.array([piece == Named(name) for piece in at])[slot]
            if uses.any():
                part = pc.if_else(pa.array(uses), written, part)
        parts.append(part)
    return text.join_element_wise(*parts, pa.scalar("", kind))


def _plain(column) -> pa.Array:
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
