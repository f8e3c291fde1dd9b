"""A payout paid in another currency: one ``fx`` line per payee and period, after every other line of it.

The ledger's amounts stay in the plan currency: the fx line's amount is 0, and it says what the period's payout
is in the currency the payee is paid in (``amount_paid``), at which rate and of which day. The payout converts
once, half away from zero, to the cent of that currency: ``paid = payout / rate`` (the fx table's rate is what
one unit of the currency is worth in the plan's).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pyarrow as pa

from spmlang.diagnostics import AmountTooLarge
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, LIMIT
from spmlang.engine.pay.lines import PAID, Lines, make_lines
from spmlang.engine.read.currencies import Rates
from spmlang.ir.kinds import LineKind


@dataclass
class Payments:
    """The payout of each (payee, period) with an fx line, converted: cents of the payee's currency, and the fx
    table row of the rate."""

    payee: np.ndarray  # int64
    period: np.ndarray  # int64
    paid: np.ndarray  # int64 cents, in the currency of the fx row
    fx_row: np.ndarray  # int64

    def of_lines(self, payee: np.ndarray, period: np.ndarray, periods: int) -> np.ndarray:
        """The payment of each line's (payee, period) (an index into these payments; -1 where none)."""
        keys = self.payee * periods + self.period
        wanted = np.asarray(payee, dtype=np.int64) * periods + np.asarray(period, dtype=np.int64)
        if keys.size == 0:
            return np.full(wanted.size, -1, dtype=np.int64)
        # Searched whatever their order: a whole run's payments are its batches', one after another.
        order = np.argsort(keys, kind="stable")
        at = np.minimum(np.searchsorted(keys[order], wanted), keys.size - 1)
        return np.where(keys[order[at]] == wanted, order[at], -1)

    @staticmethod
    def concat(parts: list[Payments | None]) -> Payments | None:
        present = [p for p in parts if p is not None]
        if not present:
            return None
        return Payments(*(np.concatenate([getattr(p, name) for p in present]) for name in Payments.__annotations__))


def payment_lines(
    payee: np.ndarray, period: np.ndarray, amount: np.ndarray, pay_rates: np.ndarray, rates: Rates, clause: int
) -> tuple[Lines | None, Payments | None]:
    """The fx line of each (payee, period) whose payee is paid in another currency, and the payments they stand
    for; ``payee``, ``period`` and ``amount`` (whole cents in units) are the lines', in ledger order."""
    if payee.size == 0:
        return None, None
    starts = grouping.starts_from_keys(payee, period)
    first = np.flatnonzero(starts)
    payee, period = payee[first].astype(np.int64), period[first].astype(np.int64)
    fx_row = pay_rates[payee, period]
    converted = np.flatnonzero(fx_row >= 0)
    if converted.size == 0:
        return None, None
    totals = grouping.sums(amount, starts)[converted] // CENT  # whole cents (checked in pay_batch)
    payee, period, fx_row = payee[converted], period[converted], fx_row[converted]
    converted_cents = [_converted(int(c), rates.decimals[int(r)]) for c, r in zip(totals, fx_row, strict=True)]
    too_large = [i for i, cents in enumerate(converted_cents) if abs(cents) * CENT >= LIMIT]
    if too_large:  # a rate of a tiny fraction of the plan currency: more of the payee's than spm holds
        at = too_large[0]
        currency = rates.currencies[int(rates.currency[int(fx_row[at])])]
        raise AmountTooLarge(
            f"a payout converted to {currency} at {rates.decimals[int(fx_row[at])]:f}",
            "the fx table",
            float(converted_cents[at] * CENT),
        )
    paid = np.array(converted_cents, dtype=np.int64)
    explanation = pa.array(
        [
            _explanation(int(c), int(p), rates, int(r))
            for c, p, r in zip(totals.tolist(), paid.tolist(), fx_row.tolist(), strict=True)
        ],
        pa.string(),
    )
    fx_lines = make_lines(
        converted.size,
        payee=payee,
        role=0,
        component=-1,
        kind=LineKind.FX,
        period=period,
        phase=PAID,
        amount=0,
        explanation=explanation,
        clause=clause,
    )
    return fx_lines, Payments(payee, period, paid.astype(np.int64), fx_row)


def order_with_payment_lines(payee: np.ndarray, period: np.ndarray, order: np.ndarray, fx_lines: Lines) -> np.ndarray:
    """The ledger order of ``Lines.concat([lines, fx_lines])``: ``order`` (that of ``lines``; ``payee`` and
    ``period`` are theirs in it) with each fx line placed last among its payee's lines of its period. The lines
    are then gathered once, in that order: no sort of them all, no second gather."""
    n = order.size
    ends = np.flatnonzero(grouping.starts_from_keys(payee, period)[1:])  # each group's last line
    ends = np.append(ends, n - 1)
    key = payee.astype(np.int64) * (1 << 16) + period
    fx_key = fx_lines.payee.astype(np.int64) * (1 << 16) + fx_lines.period
    after = ends[np.searchsorted(key[ends], fx_key)]  # the group each fx line closes (its keys are sorted)
    inserted_before = np.searchsorted(after, np.arange(n), side="left")  # fx lines of earlier groups
    place = np.empty(n + len(fx_lines), dtype=np.int64)
    place[np.arange(n) + inserted_before] = order
    place[after + 1 + np.arange(len(fx_lines))] = n + np.arange(len(fx_lines))
    return place


def _converted(cents: int, rate: Decimal) -> int:
    """Cents of the plan currency in cents of a currency worth ``rate`` of it, half away from zero."""
    with localcontext() as context:
        context.prec = 60
        return int((Decimal(cents) / rate).to_integral_value(rounding=ROUND_HALF_UP))


def _explanation(cents: int, paid: int, rates: Rates, row: int) -> str:
    currency = rates.currencies[int(rates.currency[row])]
    day = rates.date_text(row)
    of = f"the {currency} rate of {day}" if day else f"the fixed {currency} rate"
    return (
        f"paid in {currency}: {_cents(cents)} {rates.plan_currency} ÷ {rates.decimals[row].normalize():f} "
        f"({of}) = {_cents(paid)} {currency}"
    )


def _cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
