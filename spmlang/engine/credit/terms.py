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
from spmlang.engine.read.earlier import EarlierLedgers
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
    codes = np.array(sorted({payees.code[p] for p in roster.payee if p in payees.code}), dtype=np.int64)
    ends = calendar.bounds[1:] - 1  # each period's last day
    code_of, day_of = np.repeat(codes, ends.size), np.tile(ends, codes.size)
    row = index.latest_started(code_of, day_of)
    names = [roster.currency[r] if r >= 0 else None for r in row.tolist()]
    paid_in = np.array([name is not None and name != rates.plan_currency for name in names], dtype=bool)
    currency = rates.codes(
        pa.array([name if wanted else None for name, wanted in zip(names, paid_in, strict=True)], pa.string())
    )
    found = rates.find(currency, None if rates.fixed else day_of)
    missing = np.flatnonzero(paid_in & (found < 0))
    if missing.size:
        first = int(missing[0])
        payee, period, name = payees.names[int(code_of[first])], first % ends.size, names[first]
        day = "" if rates.fixed else f" on or before {calendar.end(period).isoformat()}"
        raise InputError(
            f"no {name} rate{day}, which paying {payee} in {name} for {calendar.labels[period]} needs",
            file=rates.label,
            code="E504",
            hint=f"add a {name} rate to the fx table (or pay {payee} in the plan currency: leave the roster's "
            "currency empty)",
        )
    result = np.full((len(payees), calendar.count), -1, dtype=np.int64)
    result[code_of[paid_in], np.tile(np.arange(ends.size), codes.size)[paid_in]] = found[paid_in]
    return result


def _paid_in(earlier: EarlierLedgers) -> dict[tuple[str, int], str | None]:
    """Each (payee, closed period) of the earlier ledgers, in the order their lines first name them, and the
    currency its payout was paid in: its fx line's (the last, if several), None (the plan's) without one."""
    closed = np.flatnonzero(earlier.period <= earlier.closed)
    payee = earlier.payee.index[closed].astype(np.int64)
    pair = payee * (int(earlier.period.max(initial=0)) + 1) + earlier.period[closed]
    distinct, first_at = np.unique(pair, return_index=True)
    fx = earlier.kind.where(lambda kind: kind == "fx")[closed]
    currency = np.full(distinct.size, -1, np.int64)
    fx_lines = np.flatnonzero(fx)[::-1]  # the last fx line of a pair first: the one that says
    fx_pairs, last = np.unique(pair[fx_lines], return_index=True)
    currency[np.searchsorted(distinct, fx_pairs)] = earlier.currency_paid.index[closed[fx_lines[last]]]
    then: dict[tuple[str, int], str | None] = {}
    for at in np.argsort(first_at, kind="stable").tolist():
        line = int(closed[first_at[at]])
        paid_in = int(currency[at])
        then[(earlier.payee.values[earlier.payee.index[line]], int(earlier.period[line]))] = (
            earlier.currency_paid.values[paid_in] if paid_in >= 0 else None
        )
    return then


def check_paid_in(
    earlier: EarlierLedgers, roster: RosterRows | None, payees: Payees, calendar: PlanCalendar, plan_currency: str
) -> None:
    """A closed period was paid in the currency its earlier ledger says (an fx line names it; none: the plan's).
    A roster that now pays a payee of a closed period in another currency would rewrite what was paid: E512."""
    now_elsewhere = roster is not None and any(c not in (None, plan_currency) for c in roster.currency)
    if not now_elsewhere and not any(earlier.currency_paid.values):  # paid in the plan currency then and now:
        return  # the usual plan, and no pass over the earlier ledgers' lines
    then = _paid_in(earlier)
    if not then:
        return
    pairs = list(then)
    now: list[str | None] = [None] * len(pairs)
    if roster is not None:
        index = RosterIndex(roster, payees.code)
        codes = np.array([payees.code.get(payee, -1) for payee, _ in pairs], np.int64)
        ends = calendar.bounds[1:] - 1
        row = index.latest_started(codes, ends[[period for _, period in pairs]])
        now = [roster.currency[r] if r >= 0 else None for r in row.tolist()]
    labels = list(calendar.labels)
    for (payee, period), was, current in zip(pairs, then.values(), now, strict=True):
        was, current = was or plan_currency, current or plan_currency
        if was != current:
            # The ledger that paid it: the first to close a period from it on.
            paid_by = min(
                (f for f in earlier.files if f.through and labels.index(f.through) >= period),
                key=lambda f: labels.index(f.through),
                default=earlier.files[0],
            )
            now_paid = (
                f"the roster now pays them in {current}" if roster is not None else f"this run pays them in {current}"
            )
            raise InputError(
                f"{payee} was paid in {was} for {calendar.labels[period]}, a closed period; {now_paid}",
                file=paid_by.path,
                hint=f"keep the roster's currency of {payee} for the periods the earlier ledgers paid; a change "
                "takes effect from an open period (a roster row that starts then)",
                code="E512",
            )
