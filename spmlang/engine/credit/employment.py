"""Crediting with a roster with dates: who may be credited on a transaction's date, and whom it rolls up to.

A transaction is credited to a payee only on a day a roster row of theirs on this plan holds (their
employment); one dated outside it, or between two of their rows (a leave), is rejected with reason
``outside_employment``, or credited to the plan's ``fallback`` payee in their place. Credit rolls up to the
manager each payee's row in force on the transaction's date names: a rep who moves teams on June 1 rolls up to
the old manager before and the new one from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import PlanCalendar, from_days
from spmlang.engine.credit.rows import ROLLUP, CreditRows, Payees, rollups
from spmlang.engine.kernels import column_text as text
from spmlang.engine.read.accounting import RowAccounting
from spmlang.engine.read.roster import RosterIndex, RosterRows


@dataclass
class Fallbacks:
    """Transactions credited to the fallback payee in their own payee's place: by input row and payee column
    (the keys, sorted), and why (``ann is not employed on 2027-08-14``)."""

    keys: np.ndarray  # int64: input row x payee columns + payee column
    reasons: pa.Array
    splits: int

    def of_rows(self, rows: CreditRows) -> pa.Array:
        """Why each credit row went to the fallback payee; null for the others (and for rollup rows)."""
        keys = rows.txn.astype(np.int64) * self.splits + rows.split
        at = np.minimum(np.searchsorted(self.keys, keys), max(self.keys.size - 1, 0))
        hit = (self.keys[at] == keys) & (rows.role != ROLLUP) if self.keys.size else np.zeros(len(rows), bool)
        return self.reasons.take(pa.array(np.where(hit, at, 0), pa.int64(), mask=~hit))


@dataclass
class Employment:
    """The roster's rows in force by payee and day, and what the plan does with a transaction outside them."""

    roster: RosterRows
    index: RosterIndex
    payees: Payees
    fallback: int | None  # the fallback payee's code (None: reject such rows)
    accounting: RowAccounting
    year: tuple[int, int]  # the plan year's first and last day
    managers: np.ndarray = field(init=False)  # per roster row: its manager's payee code (-1: none)
    fallbacks: Fallbacks | None = field(default=None, init=False)  # what credited() gave the fallback payee

    def __post_init__(self) -> None:
        code = self.payees.code
        self.managers = np.array([code.get(m, -1) if m else -1 for m in self.roster.manager], dtype=np.int32)

    @staticmethod
    def of(
        roster: RosterRows, payees: Payees, fallback: str | None, accounting: RowAccounting, calendar: PlanCalendar
    ) -> Employment:
        fallback_code = payees.code[fallback] if fallback is not None else None
        year = (int(calendar.bounds[0]), int(calendar.bounds[-1]) - 1)
        return Employment(roster, RosterIndex(roster, payees.code), payees, fallback_code, accounting, year)

    def credited(self, codes: list[np.ndarray], dates: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Check each payee column's payee against the roster on each live transaction's date: reject those
        outside employment, or (with a fallback) credit the fallback payee in their place, in ``codes``. The
        transactions still alive."""
        if not self.roster.employment:
            return alive
        reasons, keys = [], []
        throughout = np.append(self.index.employed_throughout(*self.year), False)  # the last slot: no payee's
        for split, split_codes in enumerate(codes):
            # Only payees not employed all year are looked up by day (rows outside the year are rejected already).
            looked_up = alive & (split_codes >= 0) & ~throughout[split_codes]
            if not looked_up.any():
                continue
            row = np.full(split_codes.size, -1, dtype=np.int64)
            row[looked_up] = self.index.in_force(split_codes[looked_up], dates[looked_up])
            on_plan = np.where(row >= 0, self.roster.on_plan[np.maximum(row, 0)], False)
            outside = looked_up & ~on_plan
            if not outside.any():
                continue
            why = self._why(split_codes, dates, row, outside)
            if self.fallback is None:
                self.accounting.reject(outside, "outside_employment", why)
                alive = alive & self.accounting.pending()
                continue
            picked = np.flatnonzero(outside)
            keys.append(picked.astype(np.int64) * len(codes) + split)
            reasons.append(why.take(picked))
            codes[split] = np.where(outside, self.fallback, split_codes).astype(split_codes.dtype)
        if keys:
            joined = np.concatenate(keys)
            order = np.argsort(joined, kind="stable")
            self.fallbacks = Fallbacks(joined[order], pa.concat_arrays(reasons).take(order), len(codes))
        return alive

    def _why(self, codes: np.ndarray, dates: np.ndarray, row: np.ndarray, outside: np.ndarray) -> pa.Array:
        """Why each transaction of ``outside`` is outside its payee's employment, in words."""
        names = text.pick(np.where(outside, codes, -1), self.payees.names)
        days = pa.array(np.where(outside, dates, 0).astype(np.int32), pa.int32()).cast(pa.date32())
        shown = pc.cast(days, pa.string())
        listed = self.index.listed[np.maximum(codes, 0)] & (codes >= 0)
        other_plan = row >= 0  # a row holds, but on another plan
        plans = text.pick(np.where(other_plan, row, -1), [p or "" for p in self.roster.plan])
        return text.join(
            names,
            text.when(outside & ~listed, " is not in the roster"),
            text.when(outside & listed & ~other_plan, text.join(" is not employed on ", shown)),
            text.when(outside & other_plan, text.join(" is on plan '", plans, "' on ", shown, ", not this one")),
        )

    def rollup_rows(self, direct: CreditRows) -> CreditRows:
        """A rollup row for every manager above each direct row's payee on the row's date: each payee's manager
        is the one their roster row in force on that day names. A cycle among the rows in force on a day is an
        error naming it."""

        def manager_of(level: CreditRows) -> np.ndarray:
            row = self.index.in_force(level.payee, level.date)
            return np.where(row >= 0, self.managers[np.maximum(row, 0)], -1)

        def too_deep(level: CreditRows) -> None:
            self._cycle(int(level.payee[0]), int(level.date[0]))

        # A chain of managers without a cycle names each at most once: past as many levels as there are managers,
        # it goes round (found after a few levels, not one a payee of the run, each as many rows as the deals).
        levels = int(np.unique(self.managers[self.managers >= 0]).size)
        return rollups(direct, manager_of, levels, too_deep)

    def _cycle(self, payee: int, day: int) -> None:
        chain = [payee]
        while True:
            row = int(self.index.in_force(np.array([chain[-1]]), np.array([day]))[0])
            manager = int(self.managers[row]) if row >= 0 else -1
            if manager in chain:
                names = [self.payees.names[p] for p in chain[chain.index(manager) :] + [manager]]
                raise InputError(
                    f"the roster has a cycle on {from_days(day)}: {' -> '.join(names)}",
                    file=self.roster.label,
                    code="E504",
                    hint="a manager cannot report, directly or not, to someone they manage",
                )
            chain.append(manager)
