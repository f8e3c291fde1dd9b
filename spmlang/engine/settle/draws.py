"""Draws and the payout floor: what a period's pay is topped up to, and how it is taken back.

A draw guarantees a payee an amount per payout period: a period that earns less is topped up (a ``draw``
line). A recoverable draw adds what it topped up to a balance the payee owes, recovered from later periods'
pay above the draw (``draw_recovery`` lines; at most the plan's share of that excess, and never taking pay
below the draw while it runs). A non-recoverable draw is never recovered. A payout floor (``payout floor
$0``) keeps a period's pay from going below it after clawbacks and true-ups (a ``floor`` line); what it tops
up is always recovered from later pay above the floor (``floor_recovery``). Each of these lines carries the
balance owed after it; a balance left at the end of the year is reported, never deducted.

Periods are settled in order, from the first open one (earlier ones were paid: see
:mod:`spmlang.engine.settle.earlier`) to the last one the run pays, starting from the balances the earlier
ledgers left.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa

from spmlang.engine.calendar import PlanCalendar, to_days
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import CENT, UNIT
from spmlang.engine.pay.lines import GUARANTEE, Lines, make_lines
from spmlang.figures import format_percent, ledger_amount
from spmlang.ir.kinds import LineKind
from spmlang.ir.plan import DrawSpec


@dataclass
class Guarantees:
    """What a run tops pay up to: the draw per period and the payout floor (units; None: none)."""

    draw: DrawSpec | None
    floor: int | None
    draw_clause: int
    floor_clause: int
    # With a roster: the draw of each payee (rows, by code) per period (columns), in units, as the roster
    # prorates it (nothing outside employment), and the notes of the prorated ones (see PeriodAmounts.guaranteed)
    draw_levels: np.ndarray | None = None
    draw_notes: dict[tuple[int, int], str] | None = None

    @property
    def any(self) -> bool:
        return self.draw is not None or self.floor is not None


def settle_guarantees(
    guarantees: Guarantees,
    calendar: PlanCalendar,
    payees: np.ndarray,
    pay: np.ndarray,
    periods: range,
    draw_owed: np.ndarray,
    floor_owed: np.ndarray,
) -> Lines | None:
    """The draw and floor lines of ``payees`` (int32 codes) over ``periods``, given each one's pay per
    period (``pay``: payees x periods, units, whole cents) and the balances owed when the first of them
    opens (units)."""
    if not guarantees.any or payees.size == 0:
        return None
    draw, floor = guarantees.draw, guarantees.floor
    draw_owed, floor_owed = draw_owed.astype(np.int64).copy(), floor_owed.astype(np.int64).copy()
    parts = []
    for period in periods:
        paid = pay[:, period].astype(np.int64).copy()
        start, end = to_days(calendar.starts[period]), to_days(calendar.end(period))
        if draw is not None:
            amount = int(draw.amount * UNIT)
            running = draw.until is None or start <= to_days(draw.until)
            levels = _draw_levels(guarantees, amount, payees, period)
            level = levels if running else np.zeros_like(levels)
            if running:
                top = np.where(levels > 0, np.maximum(levels - paid, 0), 0)  # none where the payee did not work
                if draw.recoverable:
                    draw_owed += top
                parts.append(
                    _lines(
                        payees,
                        period,
                        LineKind.DRAW,
                        top,
                        draw_owed if draw.recoverable else None,
                        guarantees.draw_clause,
                        _draw_text(draw, amount, levels, _notes(guarantees, payees, period)),
                    )
                )
                paid += top
            recovering = draw.recoverable and (draw.recover_from is None or end >= to_days(draw.recover_from))
            if recovering:
                excess = np.maximum(paid - level, 0)
                if draw.recover_limit is not None:
                    excess = _share_in_cents(excess, draw.recover_limit)
                taken = np.minimum(draw_owed, excess)
                draw_owed -= taken
                parts.append(
                    _lines(
                        payees,
                        period,
                        LineKind.DRAW_RECOVERY,
                        -taken,
                        draw_owed,
                        guarantees.draw_clause,
                        _recovery_text(draw),
                    )
                )
                paid -= taken
        if floor is not None:
            top = np.maximum(floor - paid, 0)
            floor_owed += top
            parts.append(
                _lines(
                    payees,
                    period,
                    LineKind.FLOOR,
                    top,
                    floor_owed,
                    guarantees.floor_clause,
                    f"pay below the payout floor of {ledger_amount(floor)} is topped up to it; "
                    "recovered from later pay above the floor",
                )
            )
            paid += top
            taken = np.minimum(floor_owed, np.maximum(paid - floor, 0))
            floor_owed -= taken
            parts.append(
                _lines(
                    payees,
                    period,
                    LineKind.FLOOR_RECOVERY,
                    -taken,
                    floor_owed,
                    guarantees.floor_clause,
                    f"recovers what the payout floor of {ledger_amount(floor)} topped up",
                )
            )
    return Lines.concat(parts)


def _lines(payees, period, kind, amount, owed, clause, why: str | pa.Array) -> Lines | None:
    """The lines of the payees ``amount`` is not zero for; ``why`` says why (one text, or one per payee)."""
    hit = np.flatnonzero(amount != 0)
    if hit.size == 0:
        return None
    balance = owed[hit] if owed is not None else None
    explanation = text.join(why if isinstance(why, str) else why.take(hit), ": ", text.amount(amount[hit]))
    if balance is not None:
        explanation = text.join(explanation, "; owed after it ", text.amount(balance))
    return make_lines(
        hit.size,
        payee=payees[hit],
        role=0,
        component=-1,
        kind=kind,
        period=period,
        phase=GUARANTEE,
        amount=amount[hit],
        explanation=explanation,
        clause=clause,
        balance=balance,
    )


def _share_in_cents(units: np.ndarray, share: Decimal) -> np.ndarray:
    """share x units, rounded down to the cent, exactly (Python's integers: a payee's pay times a share could
    pass int64)."""
    numerator, denominator = share.as_integer_ratio()
    cents = [c * numerator // denominator for c in (units // CENT).tolist()]
    return np.asarray(cents, np.int64) * CENT


def _draw_levels(guarantees: Guarantees, amount: int, payees: np.ndarray, period: int) -> np.ndarray:
    """Each payee's draw in ``period`` (units)."""
    if guarantees.draw_levels is None:
        return np.full(payees.size, amount, dtype=np.int64)
    return guarantees.draw_levels[payees.astype(np.int64), period]


def _notes(guarantees: Guarantees, payees: np.ndarray, period: int) -> list[str | None] | None:
    """How the roster prorated each payee's draw in ``period`` (None: no payee's was)."""
    notes = guarantees.draw_notes
    if not notes:
        return None
    found = [notes.get((int(payee), period)) for payee in payees.tolist()]
    return found if any(note is not None for note in found) else None


def _draw_text(draw: DrawSpec, amount: int, levels: np.ndarray, notes: list[str | None] | None) -> str | pa.Array:
    kind = "recoverable" if draw.recoverable else "non-recoverable"
    if notes is None:
        return f"a {kind} draw tops the period's pay up to {ledger_amount(amount)}"
    prorated = np.array([note is not None for note in notes])
    return text.join(
        f"a {kind} draw tops the period's pay up to ",
        text.amount(levels, decimals=2),
        text.when(
            prorated,
            text.join(f" (the draw of {ledger_amount(amount)} prorated: ", pa.array([n or "" for n in notes]), ")"),
        ),
    )


def _recovery_text(draw: DrawSpec) -> str:
    share = f"{format_percent(draw.recover_limit)} of " if draw.recover_limit is not None else ""
    return f"recovers the draw from {share}pay above it"
