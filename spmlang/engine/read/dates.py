"""Dates written as text: read in a column's format, and a wrong format told from a wrong date.

A text that reads as a date a century or more from the plan year (``01-03-17`` read as ``%Y-%m-%d`` is in the
year 1) is almost surely written in another format: such a date cannot be read, and its message says what it
reads as and which format to declare, found by trying common formats on the texts that could not be read.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import PlanCalendar, to_days
from spmlang.engine.read.column_values import DISTINCT_FIRST, WrongType, integers, typed

DEFAULT = "%Y-%m-%d"
# Tried on a column's unreadable dates, to say which format they are written in.
COMMON = [
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%m-%y",
    "%m-%d-%y",
    "%y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%Y%m%d",
]
_PARTS = {"d": "day", "m": "month", "b": "month", "B": "month", "y": "year", "Y": "year"}


def parse(text: pa.Array, fmt: str | None, plausible: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dates written as text in ``fmt``: (int64 days, where readable). With ``plausible`` (days), a date
    before its first day or from its second on is not readable: read in a wrong format."""
    fmt = fmt or DEFAULT
    text = pc.utf8_trim_whitespace(text)
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    # strptime normalises impossible dates (31-02 becomes 03-03): format the date
    # back and compare, ignoring zero padding, so that such values are invalid.
    back = pc.strftime(parsed, format=fmt)
    same = pc.equal(_unpadded(pc.utf8_lower(back)), _unpadded(pc.utf8_lower(text)))
    ok = same.fill_null(False).to_numpy(zero_copy_only=False)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
    days = np.where(ok, np.nan_to_num(days.astype(np.float64)), 0).astype(np.int64)
    if plausible is not None:
        ok = ok & (days >= plausible[0]) & (days < plausible[1])
        days = np.where(ok, days, 0)
    return days, ok


def _unpadded(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(text, r"(^|[^0-9])0+([0-9])", r"\1\2")


def plausible(calendar: PlanCalendar) -> tuple[int, int]:
    """The days a date read from text may fall on (from, before): less than a century from the plan year,
    and not before the year 1000."""
    first = max(calendar.year_start.year - 99, 1000)
    return to_days(dt.date(first, 1, 1)), to_days(dt.date(calendar.last_day.year + 100, 1, 1))


def wrong_format_notes(
    raw: pa.Array, invalid: np.ndarray, column: str, fmt: str | None, calendar: PlanCalendar
) -> pa.Array | None:
    """For each row of ``raw`` (a date column as read) that is ``invalid`` because its text reads as a date a
    century or more from the plan year: what it reads as, that the column's format looks wrong, and the format
    to declare; null for other rows. None if no row is such. The work is on the distinct unreadable texts."""
    texts = pc.unique(raw.take(np.flatnonzero(invalid))).drop_null()
    days, readable = parse(texts, fmt)
    if not readable.any():
        return None
    far = texts.filter(pa.array(readable))
    read_as = np.datetime_as_string(days[readable].astype("datetime64[D]"))
    shown = f'"{fmt}"' if fmt else f'"{DEFAULT}" (the default)'
    fix = _what_to_declare(texts, column, fmt or DEFAULT, calendar)
    messages = [
        f"'{text}' reads as {date} in the format {shown}, a century or more from the plan year: the "
        f"column's format looks wrong; {fix}"
        for text, date in zip(far.to_pylist(), read_as, strict=True)
    ]
    return pa.array(messages, pa.string()).take(pc.index_in(raw, value_set=far))


def _what_to_declare(texts: pa.Array, column: str, current: str, calendar: PlanCalendar) -> str:
    """The format (other than ``current``) that reads the most ``texts`` as dates less than a century from
    the plan year, and of those the one whose dates lie nearest it; every one of them if that leaves several
    (``01-03-17`` is the 1st of March or the 3rd of January), as a declaration to write."""
    window = plausible(calendar)
    year = calendar.year_start.year
    scores = {}
    for fmt in COMMON:
        if fmt == current:
            continue
        days, ok = parse(texts, fmt, window)
        years = days[ok].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        scores[fmt] = (int(ok.sum()), -int(np.abs(years - year).sum()))
    best = max(scores.values())
    if best[0] == 0:
        return f'declare the format its dates are written in, such as `column {column} date "%d-%m-%Y"`'
    chosen = [fmt for fmt, score in scores.items() if score == best]
    first = f'declare `column {column} date "{chosen[0]}"`'
    if len(chosen) == 1:
        return first
    return " or ".join([f"{first} ({_order(chosen[0])})"] + [f'"{fmt}" ({_order(fmt)})' for fmt in chosen[1:]])


def _order(fmt: str) -> str:
    """The order of a format's parts: ``%d-%m-%y`` -> ``day-month-year``."""
    return "-".join(_PARTS[code[:1]] for code in fmt.split("%")[1:] if code[:1] in _PARTS)


def convert_date(array, spec, present, plausible: tuple[int, int] | None = None):
    n = len(array)
    if pa.types.is_date(array.type) or pa.types.is_timestamp(array.type):
        days = integers(pc.cast(array if pa.types.is_date32(array.type) else pc.cast(array, pa.date32()), pa.int32()))
        return typed(spec, days, present, np.zeros(n, bool), array)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise WrongType('dates in a file are text (with `column NAME date "FORMAT"`) or a date type')
    if n <= DISTINCT_FIRST:
        days, ok = parse(array, spec.format, plausible)
        return typed(spec, days, present, present & ~ok, array)
    # A year has a few hundred days: each distinct text is read once, then spread to its rows.
    encoded = pc.dictionary_encode(array)
    if len(encoded.dictionary) == 0:  # no date at all
        return typed(spec, np.zeros(n, np.int64), present, np.zeros(n, bool), array)
    days, ok = parse(encoded.dictionary, spec.format, plausible)
    index = integers(encoded.indices)  # 0 where null: masked by present
    return typed(spec, np.where(present, days[index], 0), present, present & ~ok[index], array)
