"""What a roster with dates or terms and currencies add to a credited run (:class:`Terms`), and the rate each
payee's payout converts at, where they are paid in another currency than the plan's.

A payee is paid in the currency of their roster row that last started by a period's end (empty: the plan's).
Their payout of the period converts at the rate that holds on its last day (at fixed rates: the currency's
one rate); a rate the fx table lacks is an error naming the payee, the currency and the day (their pay cannot
be converted, and is never converted 1:1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credit.employment import Fallbacks
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.read.currencies import Rates
from spmlang.engine.read.roster import RosterIndex, RosterRows


@dataclass(frozen=True)
class Terms:
    """A run's roster with dates or terms, its fx table, and what they did to its rows."""

    roster: RosterRows | None
    rates: Rates | None
    fx_rows: np.ndarray | None  # per input row: the fx table row its money converted at (-1: the plan currency)
    fallbacks: Fallbacks | None  # rows credited to the fallback payee, and why
    pay_rates: np.ndarray | None  # (payees, periods): the fx row a payee's payout converts at (-1: not converted)

    def fallback_reasons(self, rows: CreditRows) -> pa.Array | None:
        """Why each of ``rows`` went to the fallback payee (null for the others); None where none did."""
        if self.fallbacks is None:
            return None
        return self.fallbacks.of_rows(rows)


def pay_rates(roster: RosterRows, payees: Payees, calendar: PlanCalendar, rates: Rates | None) -> np.ndarray | None:
    """(payees, periods): the fx table row each payee's payout of each period converts at; -1 where they are
    paid in the plan currency. None where the roster names no other currency."""
    if all(currency is None or (rates is not None and currency == rates.plan_currency) for currency in roster.currency):
        return None
    if rates is None:  # pragma: no cover - the checker gives a roster with currencies an fx table
        raise ValueError("a roster with currencies comes with an fx table")
    index = RosterIndex(roster, payees.code)
    result = np.full((len(payees), calendar.count), -1, dtype=np.int64)
    ends = [int(calendar.bounds[p + 1]) - 1 for p in range(calendar.count)]
    for payee in sorted(set(roster.payee)):
        code = payees.code.get(payee)
        if code is None:
            continue
        for period, end in enumerate(ends):
            row = index.latest_started(code, end)
            currency = roster.currency[row] if row >= 0 else None
            if currency is None or currency == rates.plan_currency:
                continue
            found = int(rates.find(rates.codes(pa.array([currency])), None if rates.fixed else np.array([end]))[0])
            if found < 0:
                day = "" if rates.fixed else f" on or before {calendar.end(period).isoformat()}"
                raise InputError(
                    f"no {currency} rate{day}, which paying {payee} in {currency} for {calendar.labels[period]} needs",
                    file=rates.label,
                    code="E504",
                    hint=f"add a {currency} rate to the fx table (or pay {payee} in the plan currency: leave the "
                    "roster's currency empty)",
                )
            result[code, period] = found
    return result
