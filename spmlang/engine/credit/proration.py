"""A period's quota and target incentive, from dated tables and prorated by a roster with dates.

Both are amounts that hold day by day. A table's row holds its amount for the days from its start to its end
(an undated row: its whole period; a dated annual amount: its share of each period, as ``per year`` spreads
it). A roster row weighs each day: its eligibility on the days it is on this plan, nothing on the others
(before a hire, after a leaving, on a leave between two rows). A period's amount is then

    by days:    sum over its days of amount(day) x weight(day) / the days in the period
    by months:  sum over its whole months employed of (sum over the month's days of amount x weight / the
                days in the month) / the months in the period; a month with a day not employed counts nothing
    none:       the amount, unweighted

exactly, rounded once, half away from zero, to the engine's unit (10^-6 of the plan currency). A payee the
roster does not list is not prorated. The figures of docs/calculation.md §2 follow this text.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from spmlang.engine.calendar import PlanCalendar, add_months, to_days
from spmlang.engine.credit.rows import Payees
from spmlang.engine.kernels.money import CENT, decimal_of
from spmlang.engine.read.roster import RosterRows
from spmlang.engine.read.tables import PayeeAmounts, spread
from spmlang.figures import format_percent
from spmlang.ir.kinds import Prorate

Piece = tuple[int, int, Fraction]  # days [first, end) and a value that holds on them


@dataclass
class Proration:
    """How a roster prorated each payee's quota and target, in words, for the periods it did:
    ``46 of 90 days``, ``2 of 3 whole months``, ``at 50% eligibility``."""

    rule: Prorate
    notes: dict[tuple[int, int], str]  # (payee code, period) -> the note

    def note(self, payee: int, period: int) -> str | None:
        return self.notes.get((payee, period))


@dataclass(frozen=True)
class PeriodTerms:
    """What a roster gives a payee in one period: the share of an amount that holds all period (by days: the
    weighted days over the days; by months: the weighted whole months over the months), the days employed,
    the whole months employed, and the eligibilities of those days."""

    factor: Fraction
    days: int
    of_days: int
    months: int
    of_months: int
    shares: tuple[Fraction, ...]
    days_at: tuple[tuple[Fraction, int], ...] = ()  # the days at each eligibility, in the order they come


class PeriodAmounts:
    """Quotas or targets per payee and period, as the roster weighs them."""

    def __init__(self, calendar: PlanCalendar, roster: RosterRows | None):
        self.calendar = calendar
        self.rule = roster.prorate if roster is not None and roster.prorate is not None else Prorate.NONE
        self.roster = roster
        self.rows_of: dict[str, list[int]] = {}
        if roster is not None:
            for row, payee in enumerate(roster.payee):
                self.rows_of.setdefault(payee, []).append(row)
        self.periods = [(int(calendar.bounds[p]), int(calendar.bounds[p + 1])) for p in range(calendar.count)]
        months = [to_days(add_months(calendar.year_start, m)) for m in range(13)]
        self.months = [(months[m], months[m + 1]) for m in range(12)]
        self.months_per_period = 12 // calendar.count
        self._terms: dict[str, tuple[PeriodTerms, ...]] = {}  # each payee's, made once for quotas and targets alike
        per_period = self.months_per_period
        # The terms of a payee on this plan at 100% all year (most payees): one list, shared, and nothing to do
        # for them wherever a period's amount would be prorated.
        self.full_year = tuple(
            PeriodTerms(Fraction(1), end - first, end - first, per_period, per_period, (Fraction(1),))
            for first, end in self.periods
        )
        # each row's eligibility, as the decimal it stands for (see money.decimal_of), made once
        self.shares = [Fraction(decimal_of(float(e))) for e in roster.eligibility] if roster is not None else []

    def matrix(self, amounts: PayeeAmounts | None, payees: Payees) -> tuple[np.ndarray, np.ndarray]:
        """(amounts, known): int64 units shaped (payees, periods), and which payees the table has."""
        count = self.calendar.count
        matrix = np.zeros((len(payees), count), dtype=np.int64)
        known = np.zeros(len(payees), dtype=bool)
        if amounts is None:
            return matrix, known
        for i, payee in enumerate(payees.names):
            weighs = self.rule is not Prorate.NONE and payee in self.rows_of
            if amounts.dated is None:
                row = amounts.by_payee.get(payee)
                if row is None:
                    continue
                known[i] = True
                matrix[i] = row
                terms = self.terms(payee) if weighs else self.full_year
                if terms is not self.full_year:  # an amount that holds all period: its share, where rows leave out some
                    matrix[i] = [
                        value if t.factor == 1 else _rounded(value * t.factor)
                        for value, t in zip(row.tolist(), terms, strict=True)
                    ]
                continue
            dated = amounts.dated.get(payee)
            if dated is None:
                continue
            known[i] = True
            for p in range(count):
                pieces = self._dated_pieces(dated, p)
                matrix[i, p] = self._weighed(payee, p, pieces) if weighs else self._unweighed(p, pieces)
        return matrix, known

    def guaranteed(self, amount: int, payees: Payees) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
        """An amount guaranteed every period a payee works on this plan (a draw, in units, whole cents) per
        payee and period, and the notes of the periods it was prorated in: prorated as quotas are, and nothing
        in a period without a day on this plan, whatever the rule (a draw is not paid before a hire or after a
        leaving). A payee the roster does not list has nothing where it says who is employed (dates, or plans),
        else the whole amount."""
        employs = self.roster is not None and self.roster.employment
        levels = np.full((len(payees), self.calendar.count), 0 if employs else amount, dtype=np.int64)
        notes: dict[tuple[int, int], str] = {}
        for payee in self.rows_of:
            code = payees.code.get(payee)
            if code is None:
                continue
            payee_terms = self.terms(payee)
            if payee_terms is self.full_year:
                levels[code] = amount
                continue
            for p, terms in enumerate(payee_terms):
                if terms.days == 0:
                    levels[code, p] = 0
                    continue
                if self.rule is Prorate.NONE or terms.factor == 1:
                    levels[code, p] = amount
                    continue
                levels[code, p] = _rounded(Fraction(amount, CENT) * terms.factor) * CENT
                note = self._note(terms)
                if note is not None:
                    notes[(code, p)] = note
        return levels, notes

    def proration(self, payees: Payees) -> Proration | None:
        """The notes of every period a roster row prorated (None where the roster prorates nothing)."""
        if self.rule is Prorate.NONE or self.roster is None:
            return None
        notes = {}
        for payee in self.rows_of:
            code = payees.code.get(payee)
            if code is None:
                continue
            payee_terms = self.terms(payee)
            if payee_terms is self.full_year:  # nothing prorated: no note
                continue
            for p, terms in enumerate(payee_terms):
                note = self._note(terms)
                if note is not None:
                    notes[(code, p)] = note
        return Proration(self.rule, notes)

    def terms(self, payee: str) -> tuple[PeriodTerms, ...]:
        """What the roster gives ``payee`` in each period."""
        found = self._terms.get(payee)
        if found is None:
            if self._throughout(payee):  # most payees: no period of theirs needs its days counted
                found = self.full_year
            else:
                found = tuple(self._period_terms(payee, p) for p in range(self.calendar.count))
            self._terms[payee] = found
        return found

    def _throughout(self, payee: str) -> bool:
        """Whether the payee's rows hold, on this plan, at 100%, one after another, all the plan year."""
        roster = self.roster
        if roster is None:
            return False
        reached = self.periods[0][0] - 1  # the last day covered so far, without a gap
        for row in self.rows_of.get(payee, ()):  # by start
            if int(roster.start[row]) > reached + 1 or not roster.on_plan[row] or self.shares[row] != 1:
                if int(roster.end[row]) >= self.periods[0][0] and int(roster.start[row]) <= self.periods[-1][1] - 1:
                    return False  # a gap, another plan or a part time within the year
                continue
            reached = max(reached, int(roster.end[row]))
        return reached >= self.periods[-1][1] - 1

    def _period_terms(self, payee: str, period: int) -> PeriodTerms:
        first, end = self.periods[period]
        weights = self._weights(payee, first, end)
        days = sum(hi - lo for lo, hi, _ in weights)
        shares = tuple(sorted({w for _, _, w in weights}))
        months = self.months[period * self.months_per_period : (period + 1) * self.months_per_period]
        if days == end - first and shares == (Fraction(1),):  # every day, at 100%: most payees, most periods
            return PeriodTerms(Fraction(1), days, end - first, len(months), len(months), shares)
        if self.rule is Prorate.DAYS:
            factor = _overlap_sum([(first, end, Fraction(1))], weights) / (end - first)
            days_at: dict[Fraction, int] = {}
            for lo, hi, share in sorted(weights):
                days_at[share] = days_at.get(share, 0) + hi - lo
            return PeriodTerms(factor, days, end - first, 0, len(months), shares, tuple(days_at.items()))
        whole, full = Fraction(0), 0
        for lo, hi in months:
            in_month = self._weights(payee, lo, hi)
            if sum(w_hi - w_lo for w_lo, w_hi, _ in in_month) == hi - lo:  # employed every day of the month
                whole += _overlap_sum([(lo, hi, Fraction(1))], in_month) / (hi - lo)
                full += 1
        return PeriodTerms(whole / len(months), days, end - first, full, len(months), shares)

    # ------------------------------------------------------------------ pieces

    def _dated_pieces(self, dated: list[tuple[int, int, int]], period: int) -> list[Piece]:
        """The days of ``period`` each dated row holds, with its share of the period: the annual amount spread
        over the periods as `per year` spreads it."""
        first, end = self.periods[period]
        pieces = []
        for start, last, annual in dated:
            lo, hi = max(start, first), min(last + 1, end)
            if lo < hi:
                pieces.append((lo, hi, Fraction(int(spread(annual, self.calendar.count)[period]))))
        return pieces

    def _weights(self, payee: str, first: int, end: int) -> list[Piece]:
        """The days of [first, end) the payee's roster rows on this plan hold, each with its eligibility."""
        roster = self.roster
        if roster is None:
            return []
        weights = []
        for row in self.rows_of.get(payee, ()):
            if not roster.on_plan[row]:
                continue
            lo, hi = max(int(roster.start[row]), first), min(int(roster.end[row]) + 1, end)
            if lo < hi:
                weights.append((lo, hi, self.shares[row]))
        return weights

    # ------------------------------------------------------------------ amounts

    def _unweighed(self, period: int, pieces: list[Piece]) -> int:
        first, end = self.periods[period]
        return _rounded(sum((value * (hi - lo) for lo, hi, value in pieces), Fraction(0)) / (end - first))

    def _weighed(self, payee: str, period: int, pieces: list[Piece]) -> int:
        """A dated table's amount of a period, its pieces weighed day by day (by days) or month by month."""
        first, end = self.periods[period]
        if self.rule is Prorate.DAYS:
            return _rounded(_overlap_sum(pieces, self._weights(payee, first, end)) / (end - first))
        total = Fraction(0)
        for lo, hi in self.months[period * self.months_per_period : (period + 1) * self.months_per_period]:
            weights = self._weights(payee, lo, hi)
            if sum(w_hi - w_lo for w_lo, w_hi, _ in weights) == hi - lo:  # employed every day of the month
                total += _overlap_sum(pieces, weights) / (hi - lo)
        return _rounded(total / self.months_per_period)

    def _note(self, terms: PeriodTerms) -> str | None:
        if self.rule is Prorate.MONTHS:
            counted = f"{terms.months} of {terms.of_months} whole months"
            whole = terms.months == terms.of_months
        else:
            counted = f"{terms.days} of {terms.of_days} days"
            whole = terms.days == terms.of_days
        shares = terms.shares
        if whole and shares in ((), (Fraction(1),)):
            return None
        if not shares or shares == (Fraction(1),):
            return counted
        if len(terms.days_at) > 1:  # the days at each: what the amount is rebuilt from (62 of 90 days: 31 at ...)
            return f"{counted}: " + ", ".join(f"{n} at {_percent(share)}" for share, n in terms.days_at)
        eligibility = " to ".join(dict.fromkeys(_percent(share) for share in (shares[0], shares[-1])))
        return f"at {eligibility} eligibility" if whole else f"{counted} at {eligibility} eligibility"


def _percent(share: Fraction) -> str:
    return format_percent(Decimal(share.numerator) / Decimal(share.denominator))


def _overlap_sum(pieces: list[Piece], weights: list[Piece]) -> Fraction:
    """Sum over the days both hold of value x weight."""
    total = Fraction(0)
    for lo, hi, value in pieces:
        for w_lo, w_hi, weight in weights:
            days = min(hi, w_hi) - max(lo, w_lo)
            if days > 0:
                total += value * weight * days
    return total


def _rounded(value: Fraction) -> int:
    """Half away from zero, to a whole unit."""
    magnitude = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return magnitude if value >= 0 else -magnitude
