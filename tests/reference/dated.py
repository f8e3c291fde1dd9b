"""The reference evaluator's roster with dates, proration and currencies: day by day, in plain Python.

Nothing here is shared with the engine. A roster row holds from its start to its end (an empty end: to the day
before the payee's next row, or on); a payee's quota and target of a period are summed over its days, each
day's amount weighed by the eligibility of the row that holds on it (by days), or month by month over the
months employed every day (by months); a transaction's money converts at the latest rate on or before its
day (or its period's last day, or the currency's one rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

DAY = dt.timedelta(days=1)


@dataclass
class RosterRow:
    payee: str
    manager: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    plan: str | None = None
    currency: str | None = None
    eligibility: Decimal | None = None


class Roster:
    """A roster with dates: the row of a payee in force on a day."""

    def __init__(self, rows: list[RosterRow], plan_name: str, prorate: str | None, employment: bool):
        self.plan_name = plan_name
        self.prorate = prorate
        self.employment = employment
        by_payee: dict[str, list[RosterRow]] = {}
        for row in rows:
            by_payee.setdefault(row.payee, []).append(row)
        self.rows: dict[str, list[tuple[dt.date, dt.date, RosterRow]]] = {}
        for payee, own in by_payee.items():
            own.sort(key=lambda r: r.start or dt.date.min)
            spans = []
            for i, row in enumerate(own):
                start = row.start or dt.date.min
                end = row.end
                if end is None:
                    following = own[i + 1].start if i + 1 < len(own) else None
                    end = following - DAY if following is not None else dt.date.max
                spans.append((start, end, row))
            self.rows[payee] = spans

    def row(self, payee: str, day: dt.date) -> RosterRow | None:
        for start, end, row in self.rows.get(payee, []):
            if start <= day <= end:
                return row
        return None

    def employed(self, payee: str, day: dt.date) -> bool:
        row = self.row(payee, day)
        return row is not None and (row.plan is None or row.plan == self.plan_name)

    def why_not(self, payee: str, day: dt.date) -> str:
        if payee not in self.rows:
            return f"{payee} is not in the roster"
        row = self.row(payee, day)
        if row is not None:
            return f"{payee} is on plan '{row.plan}' on {day}, not this one"
        return f"{payee} is not employed on {day}"

    def manager(self, payee: str, day: dt.date) -> str | None:
        row = self.row(payee, day)
        return row.manager if row is not None else None

    def weight(self, payee: str, day: dt.date) -> Fraction:
        """A day's weight in a prorated amount: the eligibility of the row on this plan that holds, else 0."""
        row = self.row(payee, day)
        if row is None or not (row.plan is None or row.plan == self.plan_name):
            return Fraction(0)
        return Fraction(row.eligibility if row.eligibility is not None else Decimal(1))

    def currency(self, payee: str, last_day: dt.date) -> str | None:
        """The currency of the payee's row that last started by ``last_day``."""
        started = [row for start, _, row in self.rows.get(payee, []) if start <= last_day]
        return started[-1].currency if started else None


def days(first: dt.date, end: dt.date):
    """Each day of [first, end)."""
    day = first
    while day < end:
        yield day
        day += DAY


def rounded(value: Fraction) -> Decimal:
    """To 10^-6, half away from zero."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def spread(annual: Decimal, periods: int) -> list[Decimal]:
    """An annual amount per period: whole millionths evenly, the last period the rest."""
    units = int(annual * 10**6)
    share = units // periods if units >= 0 else -((-units) // periods)
    amounts = [share] * periods
    amounts[-1] += units - share * periods
    return [Decimal(a) / 10**6 for a in amounts]


def period_amount(
    amount_on,  # day -> the period's amount in force on it (Decimal), or None
    payee: str,
    first: dt.date,
    end: dt.date,
    months: list[tuple[dt.date, dt.date]],
    roster: Roster | None,
) -> Decimal:
    """A period's amount: its days' amounts, weighed by the roster as it prorates (see the module)."""
    prorate = roster.prorate if roster is not None and payee in roster.rows else None
    if prorate in (None, "none"):
        total = sum((Fraction(amount_on(day) or 0) for day in days(first, end)), Fraction(0))
        return rounded(total / (end - first).days)
    if roster is None:
        raise ValueError("only a roster prorates")
    if prorate == "days":
        total = sum(
            (Fraction(amount_on(day) or 0) * roster.weight(payee, day) for day in days(first, end)), Fraction(0)
        )
        return rounded(total / (end - first).days)
    total = Fraction(0)
    for month_first, month_end in months:
        if all(roster.employed(payee, day) for day in days(month_first, month_end)):
            month = sum(
                (Fraction(amount_on(day) or 0) * roster.weight(payee, day) for day in days(month_first, month_end)),
                Fraction(0),
            )
            total += month / (month_end - month_first).days
    return rounded(total / len(months))


class Rates:
    """An fx table: the rate of a currency in force on a day (None: the fixed table's one rate)."""

    def __init__(self, rows: list[dict], fixed: bool):
        self.fixed = fixed
        self.rows = sorted(rows, key=lambda r: (r["currency"], r.get("date") or dt.date.min))

    def rate(self, currency: str, day: dt.date | None) -> tuple[Decimal, dt.date | None] | None:
        found = None
        for row in self.rows:
            if row["currency"] == currency and (self.fixed or row["date"] <= day):
                found = (row["rate"], None if self.fixed else row["date"])
        return found
