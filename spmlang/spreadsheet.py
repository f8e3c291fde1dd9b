"""Text cells of the CSV files spm writes, safe to open in a spreadsheet, and read back as they were."""

from __future__ import annotations

import re

# A spreadsheet opening a CSV file reads a cell starting with one of these as a formula (=HYPERLINK(...) links
# out, =WEBSERVICE(...) sends data away, -2+3 and @SUM(...) compute) or drops the tab or carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?"


def spreadsheet_text(text: str) -> str:
    """A text cell of a CSV file as spreadsheets expect it: one a spreadsheet would read as a formula is
    prefixed with a single quote (``'=HYPERLINK(...)``); a plain number (``-12.50``) is left as it is."""
    if text[:1] in FORMULA_STARTS and not re.fullmatch(PLAIN_NUMBER, text):
        return "'" + text
    return text


def from_spreadsheet_text(text: str) -> str:
    """The text :func:`spreadsheet_text` was given (for a CSV file spm wrote, read back)."""
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS and not re.fullmatch(PLAIN_NUMBER, text[1:]):
        return text[1:]
    return text
