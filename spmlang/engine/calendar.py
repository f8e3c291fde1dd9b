"""The plan year and its payout periods.

Dates are int32 days since 1970-01-01 throughout the engine. A plan year of a
calendar year has periods labelled ``2027-Q1``, ``2027-01``, ``2027-H1``,
``2027``; a fiscal year (starting on another day) is named by the calendar
year it starts in: ``FY2027-Q1``, ``FY2027-M01``, ``FY2027-H1``, ``FY2027``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import numpy as np

from spmlang.ir.kinds import Frequency
from spmlang.ir.plan import PERIODS_PER_YEAR

EPOCH = dt.date(1970, 1, 1)
# The first and last day of a dated row (a roster's, a dated quota's) that leaves them open: before and after
# any plan year, as int64 days.
OPEN_START = -(1 << 31)
OPEN_END = (1 << 31) - 1


def to_days(day: dt.date) -> int:
    return (day - EPOCH).days


def from_days(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    return day.replace(year=day.year + month_index // 12, month=month_index % 12 + 1)


class PlanCalendar:
    """The periods of one plan year."""

    def __init__(self, year_start: dt.date, frequency: Frequency | str):
        self.year_start = year_start
        self.frequency = frequency = Frequency(frequency)
        self.count = PERIODS_PER_YEAR[frequency]
        step = 12 // self.count
        self.starts = [add_months(year_start, i * step) for i in range(self.count)]
        self.year_end = add_months(year_start, 12)  # exclusive
        self.bounds = np.array([to_days(d) for d in self.starts] + [to_days(self.year_end)], dtype=np.int64)
        calendar_year = year_start.month == 1 and year_start.day == 1
        prefix = f"{year_start.year}" if calendar_year else f"FY{year_start.year}"
        if frequency is Frequency.QUARTERLY:
            self.short = [f"Q{i + 1}" for i in range(4)]
        elif frequency is Frequency.MONTHLY:
            self.short = [f"{i + 1:02d}" if calendar_year else f"M{i + 1:02d}" for i in range(12)]
        elif frequency is Frequency.HALF_YEARLY:
            self.short = ["H1", "H2"]
        else:
            self.short = [""]
        self.labels = [f"{prefix}-{s}" if s else prefix for s in self.short]

    @property
    def last_day(self) -> dt.date:
        return self.year_end - dt.timedelta(days=1)

    def end(self, period: int) -> dt.date:
        """The last day of a period (inclusive)."""
        return from_days(int(self.bounds[period + 1]) - 1)

    def period_of(self, days: np.ndarray) -> np.ndarray:
        """The period index of each date; -1 outside the plan year."""
        span = int(self.bounds[-1] - self.bounds[0])
        # A table of the year's days (and -1 after them), read at each date's day of the plan year: one
        # gather instead of a binary search per date. Days before the year wrap to huge unsigned numbers.
        table = np.append(self._day_periods, np.int16(-1))
        offset = (np.asarray(days, dtype=np.int64) - self.bounds[0]).view(np.uint64)
        np.minimum(offset, span, out=offset)
        return table[offset]

    def in_year(self, days: np.ndarray) -> np.ndarray:
        """Whether each date lies in the plan year (has a period)."""
        days = np.asarray(days)
        return (days >= self.bounds[0]) & (days < self.bounds[-1])

    def period_in_year(self, days: np.ndarray) -> np.ndarray:
        """The period of each date, every one known to lie in the plan year (credit rows' dates): read from the
        table of the year's days without :meth:`period_of`'s guard for dates outside it."""
        return self._day_periods[np.asarray(days) - int(self.bounds[0])]

    @functools.cached_property
    def _day_periods(self) -> np.ndarray:
        """The period of each day of the plan year, from its first (int16)."""
        return np.repeat(np.arange(self.count, dtype=np.int16), np.diff(self.bounds))

    def parse_period(self, text: str) -> int | None:
        """A period written in a quota table: its label (``2027-Q1``), its short label (``Q1``),
        a month (``2027-02``) or any date (or date and time) inside it (``2027-02-01``). None if it names no
        period."""
        text = text.strip()
        if text in self.labels:
            return self.labels.index(text)
        timed = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", text)
        if timed:  # a date and time (a datetime column, as text): the date says the period
            text = timed.group(1)
        upper = text.upper()
        for i, short in enumerate(self.short):
            if short and upper in (short, f"M{short}" if short.isdigit() else short):
                return i
        day = None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                return None
        elif re.fullmatch(r"\d{4}-\d{2}", text):
            day = dt.date(int(text[:4]), int(text[5:]), 1) if 1 <= int(text[5:]) <= 12 else None
        if day is None:
            return None
        index = int(self.period_of(np.array([to_days(day)]))[0])
        return index if index >= 0 else None

    def label_of(self, text: str) -> str:
        """The label of the period ``text`` names in any form :meth:`parse_period` reads (``Q1`` -> ``2027-Q1``);
        ``text`` as it is where it names none (its caller says so)."""
        index = self.parse_period(text)
        return self.labels[index] if index is not None else text

    def describe(self) -> str:
        return f"{self.year_start.isoformat()} to {self.last_day.isoformat()}"
