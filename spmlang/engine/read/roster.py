"""A roster with dates and terms: who is employed when, under which manager, on which plan, paid in which
currency, at what eligibility (docs/language.md, "A roster with dates").

Like every reference table it must be clean: a row that ends before it starts, two rows of a payee that
overlap, an eligibility outside 0%-100% is an :class:`InputError` naming the file (or the plan's line) and
the rows. A roster of payees and managers alone is read as it always was (tables.roster_managers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import OPEN_END, OPEN_START, from_days
from spmlang.engine.read.tables import TableData, required_values, texts
from spmlang.ir.kinds import Prorate


@dataclass
class RosterRows:
    """The roster's rows, by payee and then start. ``start`` and ``end`` are the first and last day of each
    row (int64 days; :data:`OPEN_START` and :data:`OPEN_END` where open); a payee's rows never overlap."""

    label: str
    payee: list[str]
    start: np.ndarray
    end: np.ndarray
    manager: list[str | None]
    plan: list[str | None]  # the plan the row is on (None: the roster names none)
    on_plan: np.ndarray  # bool: the row is employment on this plan
    currency: list[str | None]  # the currency the payee is paid in (None: the plan's)
    eligibility: np.ndarray  # float64: the share of quota and target (1.0 where empty)
    employment: bool  # whether the roster says who is employed (dates, or plans): others are not
    prorate: Prorate | None

    def __len__(self) -> int:
        return len(self.payee)

    def names(self) -> list[str]:
        """Every payee and manager the roster names."""
        return sorted({*self.payee, *(m for m in self.manager if m)})

    def describe(self, row: int) -> str:
        """A row's days, as people read them: ``2027-02-15 .. 2027-06-30``, ``.. 2027-06-30``, ``2027-02-15 ..``."""
        start = "" if self.start[row] == OPEN_START else f"{from_days(int(self.start[row])).isoformat()} "
        end = "" if self.end[row] == OPEN_END else f" {from_days(int(self.end[row])).isoformat()}"
        return f"{start}..{end}".strip()


def read_roster(data: TableData, plan_name: str) -> RosterRows:
    """The roster of ``data``, checked: each row's days, a payee's rows apart, eligibility a share."""
    spec = data.spec
    roles = spec.roles
    payees = texts(required_values(data, roles["payee"]))
    n = len(payees)
    start = _days(data, roles.get("start"), OPEN_START)
    end = _days(data, roles.get("end"), OPEN_END)
    order = sorted(range(n), key=lambda i: (payees[i], int(start[i])))
    file_rows = [_row_label(data, i) for i in order]
    payees = [payees[i] for i in order]
    start, end = start[order], end[order]
    open_end = _empty(data, roles.get("end"))[order]
    _close_open_ends(payees, start, end, open_end)
    _check_days(data, payees, start, end, file_rows, spec.employment)
    plans = _optional_texts(data, roles.get("plan"), order)
    eligibility = np.ones(n) if "eligibility" not in roles else _eligibility(data, roles["eligibility"], order)
    return RosterRows(
        data.label,
        payees,
        start,
        end,
        _optional_texts(data, roles.get("manager"), order),
        plans,
        np.array([plan is None or plan == plan_name for plan in plans], dtype=bool),
        _optional_texts(data, roles.get("currency"), order),
        eligibility,
        spec.employment,
        spec.prorate,
    )


def _row_label(data: TableData, row: int) -> str:
    """Where a row is, for a message: its line in the plan, or its row in the file."""
    if data.loaded is None and data.spec.row_spans:
        return str(data.spec.row_spans[row])
    return f"row {row + 1 + data.row_offset}"


def _days(data: TableData, column: str | None, open_day: int) -> np.ndarray:
    if column is None:
        return np.full(data.rows, open_day, dtype=np.int64)
    values = data.columns[column]
    return np.where(np.asarray(values.valid, bool), np.asarray(values.values, dtype=np.int64), open_day)


def _empty(data: TableData, column: str | None) -> np.ndarray:
    if column is None:
        return np.ones(data.rows, dtype=bool)
    return ~np.asarray(data.columns[column].valid, bool)


def _close_open_ends(payees: list[str], start: np.ndarray, end: np.ndarray, open_end: np.ndarray) -> None:
    """A row without an end lasts until the day before the payee's next row starts (or on, if it is the last)."""
    for i in range(len(payees) - 1):
        if open_end[i] and payees[i + 1] == payees[i] and start[i + 1] != OPEN_START:
            end[i] = start[i + 1] - 1


def _check_days(
    data: TableData, payees: list[str], start: np.ndarray, end: np.ndarray, rows: list[str], employment: bool
) -> None:
    where = data.label  # the file, or "roster in plan.spm" (each row then named by its place in the plan)
    for i, payee in enumerate(payees):
        if employment and i + 1 < len(payees) and payees[i + 1] == payee and start[i + 1] == start[i]:
            day = "with no start" if start[i] == OPEN_START else f"on {from_days(int(start[i]))}"
            raise InputError(  # not "ends before it starts": the end the first would have is no one's
                f"the roster's {rows[i]} and {rows[i + 1]} for '{payee}' both start {day}",
                file=where,
                code="E504",
                hint="a payee's rows follow one another: each starts after the one before it",
            )
        if start[i] > end[i]:
            raise InputError(
                f"the roster's {rows[i]} for '{payee}' ends ({from_days(int(end[i]))}) before it starts "
                f"({from_days(int(start[i]))})",
                file=where,
                code="E504",
                hint="a row's end is its last day, on or after its start",
            )
        if i + 1 < len(payees) and payees[i + 1] == payee:
            if not employment:
                raise InputError(
                    f"the roster lists '{payee}' twice ({rows[i]} and {rows[i + 1]})",
                    file=where,
                    code="E504",
                    hint="a roster without dates has one row per payee; give it `start` and `end` columns to "
                    "list a payee's changes",
                )
            if start[i + 1] <= end[i]:
                raise InputError(
                    f"the roster's rows for '{payee}' overlap: {rows[i]} ({_span(start[i], end[i])}) and "
                    f"{rows[i + 1]} ({_span(start[i + 1], end[i + 1])})",
                    file=where,
                    code="E504",
                    hint="a payee's rows follow one another: end one the day before the next starts",
                )


def _span(start, end) -> str:
    first = "" if start == OPEN_START else from_days(int(start)).isoformat() + " "
    last = "" if end == OPEN_END else " " + from_days(int(end)).isoformat()
    return f"{first}..{last}".strip()


def _optional_texts(data: TableData, column: str | None, order: list[int]) -> list[str | None]:
    if column is None:
        return [None] * len(order)
    values = data.columns[column]
    as_text = values.values.to_pylist() if isinstance(values.values, (pa.Array, pa.ChunkedArray)) else []
    valid = np.asarray(values.valid, bool)
    return [str(as_text[i]).strip() if valid[i] and str(as_text[i]).strip() else None for i in order]


def _eligibility(data: TableData, column: str, order: list[int]) -> np.ndarray:
    values = data.columns[column]
    shares = np.where(np.asarray(values.valid, bool), np.asarray(values.values, dtype=np.float64), 1.0)
    bad = np.flatnonzero((shares < 0) | (shares > 1))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"an eligibility of {shares[row] * 100:g}% is not a share of a payee's quota and target",
            file=data.label if data.loaded is not None else str(data.spec.row_spans[row]),
            row=row + 1 + data.row_offset if data.loaded is not None else None,
            column=column,
            code="E504",
            hint="eligibility is 0% to 100% (empty: 100%)",
        )
    return shares[order]


class RosterIndex:
    """The roster's rows found by payee code and day, vectorized: each (payee, day) has at most one row."""

    def __init__(self, roster: RosterRows, code_of: dict[str, int]):
        self.roster = roster
        codes = np.array([code_of.get(p, -1) for p in roster.payee], dtype=np.int64)
        known = np.flatnonzero(codes >= 0)
        order = known[np.lexsort((roster.start[known], codes[known]))]
        self.rows = order  # roster rows in (code, start) order
        self.keys = _key(codes[order], roster.start[order])
        self.codes = codes
        self.listed = np.zeros(max(code_of.values(), default=-1) + 1, dtype=bool)
        self.listed[codes[known]] = True

    def employed_throughout(self, first: int, last: int) -> np.ndarray:
        """Per payee code: whether rows of theirs on this plan hold on every day from ``first`` to ``last`` (the
        plan year), one after another, so that no transaction of the year need be looked up."""
        roster = self.roster
        covered = np.zeros(self.listed.size, dtype=bool)
        reached: dict[int, int] = {}  # code -> the last day its rows cover, from ``first`` on, without a gap
        for row in self.rows.tolist():  # by code, then start
            code = int(self.codes[row])
            if not roster.on_plan[row]:
                reached[code] = -(1 << 62)  # a gap: another plan's days
                continue
            start, end = int(roster.start[row]), int(roster.end[row])
            so_far = reached.get(code, first - 1)
            if start <= so_far + 1 and so_far >= first - 1:
                reached[code] = max(so_far, end)
            else:
                reached[code] = -(1 << 62)
        for code, day in reached.items():
            covered[code] = day >= last
        return covered

    def in_force(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The roster row in force for each payee code on each day; -1 where none (or a code < 0)."""
        codes = np.asarray(codes, dtype=np.int64)
        days = np.asarray(days, dtype=np.int64)
        if self.rows.size == 0 or codes.size == 0:
            return np.full(codes.size, -1, dtype=np.int64)
        at = np.searchsorted(self.keys, _key(codes, days), side="right") - 1
        found = self.rows[np.maximum(at, 0)]
        hit = (at >= 0) & (codes >= 0) & (self.codes[found] == codes) & (self.roster.end[found] >= days)
        return np.where(hit, found, -1)

    def latest_started(self, codes: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Each payee's last row that starts on or before each day (the terms they were last given); -1 if none."""
        codes = np.asarray(codes, dtype=np.int64)
        if self.rows.size == 0 or codes.size == 0:
            return np.full(codes.size, -1, dtype=np.int64)
        at = np.searchsorted(self.keys, _key(codes, np.asarray(days, dtype=np.int64)), side="right") - 1
        found = self.rows[np.maximum(at, 0)]
        return np.where((at >= 0) & (codes >= 0) & (self.codes[found] == codes), found, -1)


def _key(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    """(payee code, day) as one sortable int64: days take the low 33 bits (they lie within +-2**32)."""
    return (codes.astype(np.int64) << 33) + (np.asarray(days, dtype=np.int64) + (1 << 32))
