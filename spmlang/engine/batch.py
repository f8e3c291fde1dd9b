"""Paying one batch of payees: every component's lines (engine/pay/), the plan caps, in ledger order, rounded to
cents, then settled for the pay cycle (engine/settle/) and converted where a payee is paid in another currency;
or, where only totals are asked for, the same by group sums (:func:`batch_sums`, engine/pay/sums.py).

A batch is a range of the credited run's rows holding whole payees (see :func:`spmlang.engine.run.payee_batches`):
a payee's lines never depend on another payee's, so batches are paid apart, in any process, and give the same
lines as one batch would. :func:`pay_batch` is a function of the credited run and the batch alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmlang.diagnostics import AmountTooLarge
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.credited import CreditedRun
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, TooLarge
from spmlang.engine.pay.component_lines import component_lines
from spmlang.engine.pay.limits import apply_caps, plan_caps_in_order
from spmlang.engine.pay.lines import (
    KIND,
    NO_BALANCE,
    ROW,
    Lines,
    in_ledger_order,
    last_balances,
    ledger_order,
    make_lines,
)
from spmlang.engine.pay.payments import Payments, order_with_payment_lines, payment_lines
from spmlang.engine.pay.streams import StreamsByComponent, build_streams_by_component
from spmlang.engine.pay.sums import component_cells
from spmlang.engine.pay.sums_rows import Cancelled, cell_lines
from spmlang.engine.settle.clawbacks import money_clawbacks
from spmlang.engine.settle.cycle import hold_lines, settle
from spmlang.ir.kinds import DRAW_KINDS, FLOOR_KINDS, GUARANTEE_KINDS, HOLD_KINDS, LineKind
from spmlang.ir.plan import CapSpec, CheckedPlan


@dataclass
class PaidLines:
    """The ledger lines of some payees in ledger order, their amounts in cents, and their credit rows."""

    lines: Lines  # ``row`` indexes ``rows``
    cents: np.ndarray  # int64 per line, after cumulative rounding
    rows: CreditRows  # the credit rows of these payees, in crediting order
    streams: StreamsByComponent  # their streams (measures), as each component and the payee's figures count them
    payments: Payments | None = None  # their payouts paid in other currencies (the fx lines')

    def take(self, index: np.ndarray | slice) -> PaidLines:
        """Some of the lines (their rows, streams and payments stay whole): an index array, or a slice (views)."""
        return PaidLines(self.lines.take(index), self.cents[index], self.rows, self.streams, self.payments)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents): the exact sum of the lines of each cell (component -1: none), in
        that order."""
        return cell_sums(self.lines.payee, self.lines.period, self.lines.component, self.cents)

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at each period end) of each stream."""
        streams = self.streams.of_payee
        return streams.payee, streams.role, streams.period_credit, streams.measure_at_end()

    def owed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, draw owed, floor owed, held) after the last line of each payee that owes or has held
        anything (units): what is left to recover or to release; NO_BALANCE where a payee has no draw (or
        floor) line here."""
        lines = self.lines
        if not np.isin(lines.kind, [KIND[k] for k in GUARANTEE_KINDS + HOLD_KINDS]).any():  # most plans: one pass
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        parts = [last_balances(lines.payee, lines.kind, lines.balance, kinds) for kinds in (DRAW_KINDS, FLOOR_KINDS)]
        held_lines = np.flatnonzero(np.isin(lines.kind, [KIND[k] for k in HOLD_KINDS]))
        payee = np.unique(np.concatenate([parts[0][0], parts[1][0], lines.payee[held_lines]])).astype(np.int64)
        owed = [np.full(payee.size, NO_BALANCE, np.int64), np.full(payee.size, NO_BALANCE, np.int64)]
        owed.append(np.zeros(payee.size, np.int64))
        for (who, balance), target in zip(parts, owed, strict=False):
            target[np.searchsorted(payee, who)] = balance
        np.add.at(owed[2], np.searchsorted(payee, lines.payee[held_lines]), -lines.amount[held_lines])
        return payee, owed[0], owed[1], owed[2]

    def totals(self) -> tuple:
        """(cells, measures, number of lines, what is owed): all the summary needs of these lines."""
        return self.cells(), self.measures(), len(self.lines), self.owed()


def cell_sums(
    payee: np.ndarray, period: np.ndarray, component: np.ndarray, cents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The sum of ``cents`` of each (payee, period, component) cell, the cells in that order. Lines in ledger
    order (each payee's periods in turn) are summed in place, a table of each (payee, period)'s few components
    at a time: no sort of the lines, which took three quarters of the time."""
    if payee.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty
    later = payee[1:] > payee[:-1]
    if not np.all(later | ((payee[1:] == payee[:-1]) & (period[1:] >= period[:-1]))):
        order = grouping.order_by(payee, period, component + 1)
        payee, period, component = payee[order], period[order], component[order]
        starts = grouping.starts_from_keys(payee, period, component)
        return payee[starts], period[starts], component[starts], grouping.sums(cents[order], starts)
    runs = grouping.starts_from_keys(payee, period)
    width = int(component.max()) + 2  # the components' codes, and -1 (none)
    cell = (np.cumsum(runs) - 1) * width + (component.astype(np.int64) + 1)
    count = np.bincount(cell)
    total = np.zeros(count.size, np.int64)
    np.add.at(total, cell, np.asarray(cents, np.int64))  # exact: integers, no floats
    found = np.flatnonzero(count)
    first = np.flatnonzero(runs)[found // width]
    return payee[first], period[first], (found % width - 1).astype(component.dtype), total[found]


def unrowed_in(run: CreditedRun, batch: slice) -> np.ndarray:
    """The payees with no credit row that ``batch`` settles (draws, the floor, closed periods): those whose codes
    fall between its first payee and the next batch's (the first batch from the lowest code, the last to the
    highest), so that the ledger stays in payee order."""
    unrowed, payee = run.cycle.unrowed, run.credit_rows.payee
    low = int(payee[batch.start]) if batch.start > 0 else None
    high = int(payee[batch.stop]) if batch.stop < len(payee) else None
    keep = np.ones(unrowed.size, bool)
    if low is not None:
        keep &= unrowed >= low
    if high is not None:
        keep &= unrowed < high
    return unrowed[keep]


def pay_batch(run: CreditedRun, batch: slice) -> PaidLines:
    """The lines of one batch of payees, in ledger order; amounts rounded cumulatively to cents."""
    compiled = run.compiled
    calendar = compiled.calendar
    rows = run.credit_rows.take(batch)  # views: the rows are in crediting order
    basis, payees = run.basis, run.payees
    try:
        streams = streams_by_component(run, rows, batch)
    except TooLarge as error:
        row = error.position
        raise AmountTooLarge(
            f"the credit of {payees.names[rows.payee[row]]} in {calendar.labels[rows.period[row]]}", None, error.value
        ) from None
    by_component: list[Lines] = []
    batch_values = []
    fallback = run.terms.fallback_reasons(rows) if run.terms is not None else None
    for i, component in enumerate(compiled.components):
        values = run.row_values[i].take(batch)
        batch_values.append(values)
        try:
            by_component.append(
                component_lines(
                    compiled,
                    i,
                    values,
                    rows,
                    streams.of(i),
                    basis,
                    payees,
                    fallback,
                )
            )
        except TooLarge as error:
            raise AmountTooLarge(
                f"an amount of {component.spec.kind} '{component.spec.name}'",
                compiled.clauses[compiled.rule_clause[i]].clause,
                error.value,
            ) from None
    lines = Lines.concat([*by_component, _unpaid_rows(rows, by_component)])
    ranks = run.key_rank
    try:
        capped = _plan_caps(compiled, lines, rows, ranks, basis)
    except TooLarge as error:
        clause = compiled.clauses[compiled.plan_cap_clauses[0]].clause if compiled.plan_cap_clauses else None
        raise AmountTooLarge("a payee's total under the plan cap", clause, error.value) from None
    held = hold_lines(compiled.plan, capped, rows, batch_values, compiled.payable_clause)
    capped = Lines.concat([capped, held]) if held is not None else capped
    clawed = money_clawbacks(
        compiled.plan, calendar, capped, rows, run.transactions.cancellations, compiled.clawback_clause
    )
    lines = Lines.concat([capped, clawed]) if clawed is not None else capped
    cycle = run.cycle
    if cycle.active:
        lines = settle(cycle, calendar, lines, rows, _payees_here(run, rows, batch), run.transactions.keys)
    order = ledger_order(lines, rows.date, rows.txn, ranks)
    payments = None
    if run.terms is not None and run.terms.pay_rates is not None and run.terms.rates is not None:
        payee, period = lines.payee[order], lines.period[order]  # whole cents: _round below checks it
        fx_lines, payments = payment_lines(
            payee, period, lines.amount[order], run.terms.pay_rates, run.terms.rates, compiled.pay_currency_clause
        )
        if fx_lines is not None:
            order = order_with_payment_lines(payee, period, order, fx_lines)
            lines = Lines.concat([lines, fx_lines])
    lines = lines.take(order)
    return PaidLines(lines, _round(lines), rows, streams, payments)


def streams_by_component(run: CreditedRun, rows: CreditRows, batch: slice) -> StreamsByComponent:
    """The streams of the batch's ``rows`` each component is priced on: with or without the reversal rows of
    cancelled transactions (see credit.reversals)."""
    reverses = [values.reverses[batch] if values.reverses is not None else None for values in run.row_values]
    return build_streams_by_component(rows, run.calendar.count, run.compiled.year_to_date, reverses)


def _payees_here(run: CreditedRun, rows: CreditRows, batch: slice) -> np.ndarray:
    """The batch's payees (sorted codes): of its credit rows, which are in payee order (each run's first: no
    sort), and those it settles with no credit row."""
    return np.union1d(rows.payee[grouping.starts_from_keys(rows.payee)], unrowed_in(run, batch)).astype(np.int32)


def _unpaid_rows(rows: CreditRows, component_lines: list[Lines]) -> Lines | None:
    """A zero line for each credit row no component paid, so that every credited row shows."""
    paid = rows.reversal.copy()  # a reversal row is the clawback of a row that shows
    for lines in component_lines:
        on_rows = lines.row[lines.row >= 0]
        paid[on_rows] = True
    unpaid = np.flatnonzero(~paid)
    if unpaid.size == 0:
        return None
    explanation = text.join("credit ", text.amount(rows.credit[unpaid]), ": no component pays on this row")
    return make_lines(
        unpaid.size,
        payee=rows.payee[unpaid],
        role=rows.role[unpaid],
        component=-1,
        kind=LineKind.EARNING,
        period=rows.period[unpaid],
        phase=ROW,
        row=unpaid,
        amount=0,
        explanation=explanation,
        clause=0,
    )


def _plan_caps(compiled: CompiledPlan, lines: Lines, rows: CreditRows, ranks: np.ndarray, basis: Basis) -> Lines:
    """Plan caps over each payee's lines in ledger order, per period before per year, each on what the caps
    before it left of the lines it covers (every line, or those of the components and roles it names)."""
    caps = list(compiled.plan.plan_caps)
    if not caps or len(lines) == 0:
        return lines
    ordered = in_ledger_order(lines, rows.date, rows.txn, ranks)
    paid = ordered.amount
    cut_lines = []
    for i in plan_caps_in_order(compiled.plan.plan_caps):
        cap, clause = caps[i], compiled.plan_cap_clauses[i]
        covered = slice(None) if cap.covers_all else np.flatnonzero(_covered(compiled.plan, cap, ordered))
        part = ordered.take(covered)
        part.amount = paid[covered]
        kept, cuts = apply_caps(part, part.payee.astype(np.int64), [cap], [clause], basis)
        if cuts is not None:
            paid = paid.copy() if paid is ordered.amount else paid
            paid[covered] = kept
            cut_lines.append(cuts)
    return Lines.concat([ordered, *cut_lines])


def _covered(plan: CheckedPlan, cap: CapSpec, lines: Lines) -> np.ndarray:
    """The lines a plan cap names: of its components, or on its roles' credit."""
    components = [i for i, c in enumerate(plan.components) if c.name in cap.components]
    roles = [role.code for role in cap.roles]
    return np.isin(lines.component, components) | np.isin(lines.role, roles)


def _round(lines: Lines) -> np.ndarray:
    """Every line's amount in cents. Earnings were rounded cumulatively per payee and component over the
    year before caps and gates; those act on cents, so every amount is already whole cents."""
    cents, rest = np.divmod(lines.amount, CENT)
    if np.any(rest):  # pragma: no cover - a broken invariant of the engine, not a user error
        raise AssertionError("a ledger line is not a whole number of cents")
    return cents


def batch_sums(run: CreditedRun, batch: slice) -> tuple | None:
    """The totals of one batch (as :meth:`PaidLines.totals`, with no line count), or None where an amount
    comes near the money limit: the lines then say which amount of which clause, or pay it."""
    try:
        return _batch_sums(run, batch)
    except TooLarge:
        return None


def _batch_sums(run: CreditedRun, batch: slice) -> tuple:
    compiled = run.compiled
    calendar = compiled.calendar
    rows = run.credit_rows.take(batch)
    streams = streams_by_component(run, rows, batch)  # each component's: with or without reversal rows
    claws = Cancelled.of(run, rows)
    parts: list[Lines | None] = []
    has_line = rows.reversal.copy()
    for index in range(len(compiled.components)):
        values = run.row_values[index].take(batch)
        cells, on_rows = component_cells(run, index, values, rows, streams.of(index), claws)
        parts.append(cells)
        has_line |= on_rows
    unpaid = np.flatnonzero(~has_line)  # a zero line each, of no component (see batch._unpaid_rows)
    parts.append(cell_lines(rows.payee[unpaid], rows.period[unpaid], -1, LineKind.EARNING, np.zeros(unpaid.size)))
    lines = Lines.concat(parts)
    cycle = run.cycle
    if cycle.active:  # draws and floors are decided on each period's pay: the cells' sums are that
        lines = settle(cycle, calendar, lines, rows, _payees_here(run, rows, batch), run.transactions.keys)
    terms = run.terms
    if terms is not None and terms.pay_rates is not None and terms.rates is not None and len(lines):
        # A payee paid in another currency has an fx line in each period with lines: it converts their sum, and
        # adds nothing in the plan's currency (see pay/payments.py).
        order = grouping.order_by(lines.payee, lines.period)
        first = order[np.flatnonzero(grouping.starts_from_keys(lines.payee[order], lines.period[order]))]
        payee, period = lines.payee[first], lines.period[first]
        converted = terms.pay_rates[payee.astype(np.int64), period.astype(np.int64)] >= 0
        fx = cell_lines(payee[converted], period[converted], -1, LineKind.FX, np.zeros(int(converted.sum())))
        lines = Lines.concat([lines, fx])
    paid = PaidLines(lines, lines.amount // CENT, rows, streams)
    return paid.cells(), paid.measures(), None, paid.owed()
