"""Explanations as templates: '{credit} at 8% × 1.5x (100%–150%) = {exact}'.

Most ledger lines are explained by one of a few sentences with two numbers in them: the line's credit and what
its rule earned before rounding. A ledger stores such a line's explanation as its template, and the two numbers
in the line's own ``credit`` and ``exact`` columns: the text repeats, so it costs next to nothing to build and to
write, and the sentence is made where a person reads it (``spmlang.report.explanations``). Every other
explanation is stored as its sentence, with ``{`` and ``}`` doubled, as in Python's ``str.format``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import column_text as text

CREDIT = "{credit}"  # the line's credit (its ledger column `credit`), as text.amount writes it
EXACT = "{exact}"  # what the line's rule earned before rounding (its column `exact`), as text.exact writes it
ROLLUP_FROM = "{rollup_from}"  # whose credit a rollup line's is (its column `rollup_from`)
ROLLUP = ("rollup of ", "'s credit: ")  # what a rollup line's explanation starts with, around the name


def escaped(words: str) -> str:
    """``words`` as a template that says just them."""
    return words.replace("{", "{{").replace("}", "}}")


def escaped_array(words: pa.Array) -> pa.Array:
    """Each of ``words`` as a template that says just it (most hold no brace: then ``words`` itself)."""
    if not len(words) or not pc.any(pc.match_substring_regex(words, r"[{}]")).as_py():
        return words
    return pc.replace_substring(pc.replace_substring(words, "{", "{{"), "}", "}}")


@dataclass
class Templated:
    """The explanations of lines on credit rows that read '{credit}' + a middle + '{exact}' (or, of a fixed
    amount per row, the middle + '{exact}'), the middle one of a few (' at 8% (0%–50%) = ', '500.00 per deal =
    '): kept as the numbers and an index into the middles until asked for as text, either as sentences (as the
    engine's other explanations are) or as templates (in a ledger)."""

    credit: np.ndarray  # int64 units
    which: np.ndarray  # int64: each line's middle
    middles: list[str]
    exact: np.ndarray  # int64 units
    rollup: tuple[np.ndarray, list[str]] | None = None  # of rollup lines: whose credit (payee codes), the names
    after: str = ""  # what every line says last (a version's ' (rates from 2027-07-01)')
    says_credit: bool = True  # whether each line starts with its credit (not a fixed amount's)

    def __post_init__(self) -> None:
        self.credit, self.which, self.exact = (
            np.asarray(values, dtype=np.int64) for values in (self.credit, self.which, self.exact)
        )

    def take(self, index: np.ndarray) -> Templated:
        rollup = None if self.rollup is None else (self.rollup[0][index], self.rollup[1])
        return replace(self, credit=self.credit[index], which=self.which[index], exact=self.exact[index], rollup=rollup)

    def of_rollup(self, rollup_from: np.ndarray, names: list[str]) -> Templated:
        """The same, each line a rollup of ``rollup_from``'s credit (said before the rest)."""
        return replace(self, rollup=(rollup_from, names))

    def then(self, words: str) -> Templated:
        """The same, ``words`` said after the rest."""
        return replace(self, after=self.after + words)

    def __len__(self) -> int:
        return int(self.which.size)

    def sentences(self) -> pa.Array:
        """'13435.28 at 8% × 0.5x (0%–50%) = 537.4112' for each line."""
        start = (
            text.amount_then(self.credit, self.which, self.middles)
            if self.says_credit
            else [text.pick(self.which, self.middles)]
        )
        said = text.join(*start, *text.exact_parts(self.exact), self.after)
        if self.rollup is None:
            return said
        whose, names = self.rollup
        return text.join(ROLLUP[0], text.pick(whose, names), ROLLUP[1], said)

    def templates(self) -> list[str]:
        """The few templates, in the order of the middles."""
        start = "" if self.rollup is None else escaped(ROLLUP[0]) + ROLLUP_FROM + escaped(ROLLUP[1])
        start += CREDIT if self.says_credit else ""
        return [start + escaped(middle) + EXACT + escaped(self.after) for middle in self.middles]
