"""The pay cycle of a run: which periods it pays, and what it settles on each payee's pay once the rules
have priced the year.

In order, on a batch's lines (:func:`settle`): rows not yet payable are held (``payable when``); the periods
earlier ledgers closed are replaced by adjustments in the first open period (:mod:`.earlier`); periods after
the last one the run pays are left out; draws and the payout floor top up and recover each open period's
pay (:mod:`.draws`). Clawbacks of money were made before (:mod:`.clawbacks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from spmlang.diagnostics import UsageError
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credit.row_values import RowValues
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.pay.lines import KIND, SETTLE, Lines, last_balances, make_lines
from spmlang.engine.read.cancellations import Cancellations
from spmlang.engine.read.earlier import EarlierLedgers, PaidFile
from spmlang.engine.settle.draws import Guarantees, settle_guarantees
from spmlang.engine.settle.earlier import EarlierLines, adjust_closed, encode_earlier
from spmlang.ir.kinds import DRAW_KINDS, FLOOR_KINDS, HOLD_KINDS, LineKind
from spmlang.ir.plan import CheckedPlan


@dataclass
class PayCycle:
    """Where a run stands in the plan year's pay cycle."""

    periods: int  # in the plan year
    first_open: int = 0  # periods before it were paid by earlier ledgers
    through: int | None = None  # the last period the run pays (None: the year's last)
    guarantees_through: int = -1  # the last period draws and floors are settled for
    guarantees: Guarantees | None = None
    earlier: EarlierLines | None = None
    files: list[PaidFile] = field(default_factory=list)
    unrowed: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # payees with no credit row
    foreign_components: list[str] = field(default_factory=list)
    foreign_clauses: list[str] = field(default_factory=list)
    # Made once a process from the earlier lines, for every batch: their order by payee (and the payees in it),
    # and each payee's last draw and floor balances (payee, balance).
    _by_payee: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)
    _balances: tuple[tuple[np.ndarray, np.ndarray], ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def earlier_of(self, payees: np.ndarray) -> EarlierLines:
        """The earlier ledgers' lines of ``payees`` (sorted codes), in the ledgers' order: found among the lines
        in payee order (the batch's payees are a few of the run's), not by looking at every line a batch."""
        earlier = self.earlier
        if earlier is None:
            raise ValueError("a run against no earlier ledger has no earlier lines")
        if self._by_payee is None:
            order = np.argsort(earlier.payee, kind="stable")
            self._by_payee = (order, earlier.payee[order])
        order, in_order = self._by_payee
        if payees.size == 0:
            return earlier.take(np.zeros(0, np.int64))
        lo, hi = np.searchsorted(in_order, payees[0]), np.searchsorted(in_order, payees[-1], side="right")
        return earlier.take(np.sort(order[lo:hi][np.isin(in_order[lo:hi], payees)]))

    def closing_balances(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """(payee, balance) of each payee's last draw line, then of their last floor line, in the earlier ledgers."""
        if self._balances is None:
            paid = self.earlier
            if paid is None:
                none = (np.zeros(0, np.int32), np.zeros(0, np.int64))
                self._balances = (none, none)
            else:
                order = np.lexsort((np.arange(paid.payee.size), paid.period, paid.payee))  # payee, period, line
                self._balances = tuple(
                    last_balances(paid.payee, paid.kind, paid.balance, kinds, order)
                    for kinds in (DRAW_KINDS, FLOOR_KINDS)
                )
        return self._balances

    @property
    def last(self) -> int:
        return self.periods - 1 if self.through is None else self.through

    @property
    def active(self) -> bool:
        """Whether settling can change a batch's lines at all."""
        return self.first_open > 0 or self.through is not None or (self.guarantees is not None and self.guarantees.any)


def hold_lines(
    plan: CheckedPlan, lines: Lines, rows: CreditRows, values: list[RowValues], clauses: tuple[int, ...]
) -> Lines | None:
    """A ``hold`` line for what each row not yet payable earned (its component's lines on it, as paid), in
    the same period: earned, and held until a later run finds it payable and releases it."""
    parts = []
    for index, spec in enumerate(plan.components):
        payable = values[index].payable
        if spec.payable is None or payable is None:
            continue
        mine = np.flatnonzero((lines.component == index) & (lines.row >= 0))
        mine = mine[~payable[lines.row[mine]] & ~rows.reversal[lines.row[mine]]]
        if mine.size == 0:
            continue
        order = np.argsort(lines.row[mine], kind="stable")
        mine = mine[order]
        starts = grouping.starts_from_keys(lines.row[mine])
        first = mine[np.flatnonzero(starts)]
        amount = grouping.sums(lines.amount[mine], starts)
        keep = amount != 0
        first, amount = first[keep], amount[keep]
        if first.size == 0:
            continue
        row = lines.row[first]
        parts.append(
            make_lines(
                row.size,
                payee=lines.payee[first],
                role=lines.role[first],
                component=index,
                kind=LineKind.HOLD,
                period=lines.period[first],
                phase=SETTLE,
                row=row,
                amount=-amount,
                explanation=text.join(
                    f"held until payable ({spec.payable_text}): ", text.amount(amount), " earned, not yet paid"
                ),
                clause=clauses[index],
            )
        )
    return Lines.concat(parts) if parts else None


def settle(
    cycle: PayCycle,
    calendar: PlanCalendar,
    lines: Lines,
    rows: CreditRows,
    payees: np.ndarray,
    key_of: Callable,
) -> Lines:
    """A batch's lines (of ``payees``, its payees) settled for the run's place in the pay cycle."""
    if cycle.earlier is not None and cycle.first_open > 0:
        lines = adjust_closed(lines, rows, cycle.earlier_of(payees), cycle.first_open, list(calendar.labels), key_of)
    if cycle.through is not None:
        lines = lines.take(np.flatnonzero(lines.period <= cycle.through))
    guarantees = cycle.guarantees
    if guarantees is None or not guarantees.any or cycle.guarantees_through < cycle.first_open:
        return lines
    pay = np.zeros((payees.size, calendar.count), np.int64)
    at = np.searchsorted(payees, lines.payee)
    np.add.at(pay, (at, lines.period.astype(np.int64)), lines.amount)
    draw_owed, floor_owed = _balances(cycle, payees)
    periods = range(cycle.first_open, cycle.guarantees_through + 1)
    settled = settle_guarantees(guarantees, calendar, payees, pay, periods, draw_owed, floor_owed)
    return Lines.concat([lines, settled])


def opening(cycle: PayCycle, payees: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each of ``payees`` (sorted codes) owed of draws and floors, and had held, when the earlier ledgers
    closed (units): where this run's balances start from."""
    draw_owed, floor_owed = _balances(cycle, payees)
    held = np.zeros(payees.size, np.int64)
    paid = cycle.earlier
    if paid is not None and payees.size:
        mine = np.flatnonzero(np.isin(paid.kind, [KIND[k] for k in HOLD_KINDS]))
        at = np.searchsorted(payees, paid.payee[mine])
        inside = (at < payees.size) & (payees[np.minimum(at, payees.size - 1)] == paid.payee[mine])
        np.add.at(held, at[inside], -paid.amount[mine[inside]])
    return draw_owed, floor_owed, held


def _balances(cycle: PayCycle, payees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each payee owed of draws and floors when the earlier ledgers closed (their last balance)."""
    draw_owed = np.zeros(payees.size, np.int64)
    floor_owed = np.zeros(payees.size, np.int64)
    if cycle.earlier is None or payees.size == 0:  # a cluster's group may settle no payee
        return draw_owed, floor_owed
    for owed, (who, balance) in zip((draw_owed, floor_owed), cycle.closing_balances(), strict=True):
        at = np.searchsorted(payees, who)
        inside = (at < payees.size) & (payees[np.minimum(at, payees.size - 1)] == who)
        owed[at[inside]] = balance[inside]
    return draw_owed, floor_owed


def plan_cycle(
    plan: CheckedPlan,
    calendar: PlanCalendar,
    through: str | None,
    earlier: EarlierLedgers | None,
    rows: CreditRows,
    payees: Payees,
    rule_clause: tuple[int, ...],
    clause_count: int,
    rows_of: Callable,
    guarantees: Guarantees,
    cancellations: Cancellations,
) -> PayCycle:
    """The run's place in the pay cycle: the periods earlier ledgers closed, the last period it pays, the
    earlier lines in its codes, and the payees it settles without a credit row of their own."""
    last = None
    if through is not None:
        last = calendar.parse_period(through)
        if last is None:
            raise UsageError(
                f"--through {through}: not a period of this plan ({calendar.labels[0]} to {calendar.labels[-1]})"
            )
    first_open = 0 if earlier is None else earlier.closed + 1
    if earlier is not None and first_open >= calendar.count:
        raise UsageError(
            f"every period of the plan year is closed: the earlier ledgers paid through {calendar.labels[-1]} "
            "(a run without --through pays every period it has a line in; close one with "
            f"--through {calendar.labels[0]})"
        )
    if last is not None and last < first_open:
        raise UsageError(
            f"--through {calendar.labels[last]} is closed: the earlier ledgers paid through "
            f"{calendar.labels[first_open - 1]}; pay {calendar.labels[first_open]} or later"
        )
    # Draws are settled up to the last period with a transaction or a cancellation (a run made in May pays no
    # draw for December; a clawback after the last deal still meets the floor), or the first open period when
    # earlier ledgers closed the rest; --through says otherwise.
    with_data = int(rows.period[~rows.reversal].max(initial=-1))  # a cancellation's reversal row is no transaction
    if len(cancellations) and len(rows):
        days = cancellations.day[cancellations.found(rows.txn)[1]].astype(np.int64)
        with_data = max(with_data, int(calendar.period_of(days).max(initial=-1)))
    guarantees_through = last if last is not None else max(with_data, first_open if earlier is not None else -1)
    paid = None
    foreign_components: list[str] = []
    foreign_clauses: list[str] = []
    if earlier is not None:
        paid, foreign_components, foreign_clauses = encode_earlier(
            earlier, payees.code, [c.name for c in plan.components], rule_clause, clause_count, rows_of
        )
    has_rows = np.zeros(len(payees), bool)
    has_rows[rows.payee] = True
    needs = guarantees.any or earlier is not None
    unrowed = np.flatnonzero(~has_rows).astype(np.int32) if needs else np.zeros(0, np.int32)
    return PayCycle(
        calendar.count,
        first_open,
        last,
        guarantees_through,
        guarantees,
        paid,
        earlier.files if earlier is not None else [],
        unrowed,
        foreign_components,
        foreign_clauses,
    )
