"""A statement line's explanation as its page and its CSV file show it, made from what the ledger stores.

A ledger stores most explanations as one of a few templates ('{credit} at 8% × 0.5x (0%–50%) = {exact}') and
the rest as sentences (see :mod:`spmlang.report.explanations`). A statement shows each with thousands
separators (:func:`~spmlang.engine.kernels.column_text.pretty`), escaped for HTML, and as a CSV cell safe in a
spreadsheet (see line_texts.py). Done to each line's sentence, that is regular expressions over every
character of millions of lines; here it is done once to each distinct template or sentence, and a templated
line's cells are its template's pieces joined with its own figures, written with their separators by numbers.

The two ways give the same text wherever no digit, comma or point of a template's words touches a figure
(``pretty`` then reads no number across the two): :func:`explanation_cells` checks that, and says None where a
template does not keep to it (no template spm writes breaks it). A template's words are read as a sentence is,
with Arrow's regular expressions: its Unicode may know digits that Python's does not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import escape

from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.column_text import pretty
from spmlang.engine.read.numbers import decimal_units
from spmlang.report import cells
from spmlang.report.explanations import Named, fill, template_pieces
from spmlang.spreadsheet import FORMULA_STARTS

_FORMULA_STARTS = pa.array(FORMULA_STARTS, pa.large_string())


def explanation_cells(
    stored: pa.Array | pa.ChunkedArray,
    credit: pa.Array,
    exact: pa.Array | pa.ChunkedArray,
    rollup_from: pa.Array | pa.ChunkedArray,
) -> tuple[pa.Array, pa.Array] | None:
    """Each line's explanation as a statement shows it, as HTML and as a CSV cell, from ``stored`` (a ledger's
    explanations: templates and sentences, text or dictionary-encoded), the lines' ``credit`` as a statement
    shows it (-1,234.50), and their ``exact`` and ``rollup_from`` columns. None where a template's words touch a
    figure (see above)."""
    encoded = _encoded(stored)
    index = np.asarray(encoded.indices, dtype=np.int64)
    used = np.flatnonzero(np.bincount(index, minlength=len(encoded.dictionary)))  # of a longer column's dictionary
    place = np.zeros(len(encoded.dictionary), np.int64)
    place[used] = np.arange(used.size)
    which = place[index]
    distinct = encoded.dictionary.take(used).cast(pa.large_string())
    # Values that name no figure are sentences (their braces doubled): made into cells all together.
    named = np.flatnonzero(np.asarray(pc.match_substring_regex(distinct, r"\{(credit|exact|rollup_from)\}")))
    said = distinct.take(named).to_pylist()
    templates = {int(k): _Template.of(str(value)) for k, value in zip(named.tolist(), said, strict=True)}
    if not all(template.safe for template in templates.values()):
        return None
    words = pretty(pc.replace_substring(pc.replace_substring(distinct, "{{", "{"), "}}", "}"))
    made = [cells.escaped(words), cells.csv_cell(cells.spreadsheet(words))]
    lines = np.flatnonzero(np.isin(which, named))
    if lines.size:  # the templated lines' cells after the sentences', each line taking its own
        filled = _filled(templates, which[lines], credit, exact, rollup_from, lines)
        made = [pa.concat_arrays([some, own]) for some, own in zip(made, filled, strict=True)]
        which[lines] = len(distinct) + np.arange(lines.size)
    return made[0].take(which), made[1].take(which)


def _encoded(stored: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    stored = cells.as_array(stored)
    if pa.types.is_dictionary(stored.type):
        return cast(pa.DictionaryArray, stored)
    return cast(pa.DictionaryArray, pc.dictionary_encode(stored))


def _touches_number(character: str) -> bool:
    """Whether pretty reads ``character`` as part of a number: a digit (Unicode's Nd, as Arrow's regular
    expressions know it, which may be a later Unicode than Python's), a comma or a point."""
    return bool(pc.match_substring_regex(pa.array([character]), r"^[\p{Nd},.]$")[0].as_py())


def _pretty(words: str) -> str:
    """:func:`pretty` of a template's words as it reads a line's sentence: with Arrow's regular expressions."""
    return str(pretty(pa.array([words], pa.string()))[0].as_py())


@dataclass
class _Template:
    """A template's pieces as a statement writes them: its words with separators (``words``), escaped for HTML,
    with quotes doubled for CSV; and whether its words make a line's CSV cell quoted."""

    pieces: list
    words: list = field(default_factory=list)
    html: list = field(default_factory=list)
    csv: list = field(default_factory=list)
    quoted: bool = False
    safe: bool = True  # no word touches a figure, nor a figure another

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # the same few templates in every block of lines: made once (not changed)
    def of(stored: str) -> _Template:
        pieces = template_pieces(stored)
        made = _Template(pieces)
        for at, piece in enumerate(pieces):
            if isinstance(piece, Named):
                before = pieces[at - 1] if at else ""
                after = pieces[at + 1] if at + 1 < len(pieces) else ""
                for word, edge in ((before, -1), (after, 0)):
                    made.safe &= isinstance(word, str) and not (word and _touches_number(word[edge]))
                made.words.append(piece)
                made.html.append(piece)
                made.csv.append(piece)
                continue
            words = _pretty(piece)
            made.words.append(words)
            made.html.append(str(escape(words)))
            made.csv.append(words.replace('"', '""'))
            made.quoted |= cells.needs_quotes(words)
        return made


def _filled(templates: dict[int, _Template], which: np.ndarray, credit, exact, rollup_from, lines: np.ndarray):
    """The HTML and CSV cells of ``lines``, each of the template ``which`` names among ``templates``."""
    order = sorted(templates)
    slot = np.searchsorted(np.array(order), which)
    quoted = np.array([templates[k].quoted for k in order])[slot]
    # What each figure a template names reads, in each.
    words_of: dict[str, pa.Array] = {}
    html_of: dict[str, pa.Array] = {}
    csv_of: dict[str, pa.Array] = {}
    for name in ("credit", "exact", "rollup_from"):
        uses = np.array([Named(name) in templates[k].pieces for k in order])[slot]
        if not uses.any():
            continue
        if name == "rollup_from":  # a payee's name: text, as any
            shown = pretty(cells.text(cells.as_array(rollup_from).take(lines)))
            words_of[name], html_of[name] = shown, cells.escaped(shown)
            csv_of[name] = pc.replace_substring(shown, '"', '""')
            quoting = np.asarray(pc.match_substring_regex(shown, cells.QUOTED))  # makes a cell quoted
        else:
            shown = (
                cells.as_array(credit).take(lines)
                if name == "credit"
                else text.grouped_exact(decimal_units(cells.as_array(exact).take(lines))).cast(pa.large_string())
            )
            words_of[name] = html_of[name] = csv_of[name] = shown
            quoting = np.asarray(pc.match_substring(shown, ","))  # a number: only its separators do
        quoted |= uses & quoting
    html = fill({k: t.html for k, t in templates.items()}, which, html_of, pa.large_string())
    same = all(t.html == t.csv for t in templates.values()) and all(html_of[n].equals(csv_of[n]) for n in csv_of)
    body = html if same else fill({k: t.csv for k, t in templates.items()}, which, csv_of, pa.large_string())
    # A cell that a spreadsheet would read as a formula starts with an apostrophe (see cells.spreadsheet): of
    # the lines that start as a formula does (by their template's first piece), the words that are no number.
    formula = np.zeros(lines.size, bool)
    first = [t.words[0] if t.words else "" for t in (templates[k] for k in order)]
    starts = np.array([isinstance(piece, str) and piece[:1] in FORMULA_STARTS for piece in first])[slot]
    for name, shown in words_of.items():
        leads = np.array([piece == Named(name) for piece in first])[slot]
        if leads.any():
            starts |= leads & np.asarray(pc.is_in(pc.utf8_slice_codeunits(shown, 0, 1), value_set=_FORMULA_STARTS))
    at = np.flatnonzero(starts)
    if at.size:
        some = {name: shown.take(at) for name, shown in words_of.items()}
        words = fill({k: t.words for k, t in templates.items()}, which[at], some, pa.large_string())
        formula[at] = cells.formula(words)
    apostrophe = pc.if_else(pa.array(formula), cells.large("'"), cells.large(""))
    csv = pc.if_else(pa.array(quoted), cells.join('"', apostrophe, body, '"'), cells.join(apostrophe, body))
    return html, csv
