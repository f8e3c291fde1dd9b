"""A run of a compiled plan: read and credit the data once (then :class:`~spmlang.engine.payout.Payout` pays it
a batch of payees at a time).

:func:`credit_run` reads the inputs (:mod:`~spmlang.engine.read`), credits them and accounts for every row
(:mod:`~spmlang.engine.credit`), and evaluates each component's values per credit row: a
:class:`~spmlang.engine.credited.CreditedRun`, cut into batches of whole payees (:func:`payee_batches`).
Each step is a whole-array operation; the only Python loops are over components, payee columns and periods.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np

from spmlang.diagnostics import AmountTooLarge, InputError
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis, check_basis, make_basis
from spmlang.engine.credit.crediting import make_credit_rows
from spmlang.engine.credit.employment import Employment
from spmlang.engine.credit.proration import PeriodAmounts
from spmlang.engine.credit.reversals import add_reversals
from spmlang.engine.credit.row_values import component_row_values
from spmlang.engine.credit.rows import Payees, crediting_order, distinct_names
from spmlang.engine.credit.terms import Terms, check_paid_in, pay_rates
from spmlang.engine.credited import CreditedRun
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, TooLarge
from spmlang.engine.read.earlier import EarlierLedgers, read_earlier
from spmlang.engine.read.formats import load_table
from spmlang.engine.read.inputs import RunInputs, fx_rates, lookup_tables, read_basis_tables, unread_tables
from spmlang.engine.read.plan_files import resolve_plan_file
from spmlang.engine.read.roster import RosterRows
from spmlang.engine.read.tables import PayeeAmounts
from spmlang.engine.read.transactions import columns_read, read_transactions
from spmlang.engine.runtime import parallel
from spmlang.engine.runtime.memory import give_back_free_memory
from spmlang.engine.settle.cycle import plan_cycle
from spmlang.engine.settle.draws import Guarantees
from spmlang.progress import Report, Steps
from spmlang.settings import count_setting

__all__ = ["BATCH_ROWS", "CreditedRun", "RunInputs", "credit_run", "payee_batches"]

# Credit rows per batch, at least (a payee is never split across batches). SPM_BATCH_ROWS overrides it: a tuning
# knob, and a way for tests to pay a small run in many batches.
BATCH_ROWS = 1 << 18


def payee_batches(payee: np.ndarray, size: int | None = None) -> list[slice]:
    """Cut credit rows ordered by payee (``payee`` in that order) into batches of whole payees, each of about
    ``size`` rows or more (:data:`BATCH_ROWS` by default). A batch is a range of the crediting order.

    The cuts depend only on the data, so the same run always pays (and writes) the same batches."""
    size = size or count_setting("SPM_BATCH_ROWS", f"{BATCH_ROWS} (credit rows)") or BATCH_ROWS
    n = payee.size
    if n == 0:
        return []
    payee_starts = np.flatnonzero(grouping.starts_from_keys(payee))
    at = np.searchsorted(payee_starts, np.arange(size, n, size))
    cuts = np.unique(payee_starts[at[at < payee_starts.size]])
    bounds = [0, *[int(c) for c in cuts if 0 < c < n], n]
    return [slice(r0, r1) for r0, r1 in pairwise(bounds)]


# ---------------------------------------------------------------------- reading and crediting
def credit_run(compiled: CompiledPlan, inputs: RunInputs, progress: Report | None = None) -> CreditedRun:
    """Read ``inputs`` and credit them; ``progress(step, done, total)`` hears of each step (see
    spmlang.progress)."""
    plan = compiled.plan
    step = Steps(progress, 4)
    earlier = read_earlier(inputs.paid, plan, compiled.calendar) if inputs.paid else None
    step("reading transactions")
    base = Path(plan.path).resolve().parent if plan.path and not plan.path.startswith("<") else None
    sources: dict = {}
    for number, paid in enumerate(earlier.files if earlier is not None else [], 1):
        sources[f"paid {number}"] = paid
    lookups = lookup_tables(plan, compiled.calendar, inputs, base, sources)
    deals = (
        inputs.deals
        if inputs.deals is not None
        else resolve_plan_file(plan.transactions.file, "transactions", plan, base, inputs.allow_outside_paths)
    )
    if deals is None:
        raise InputError(
            "no transactions given",
            hint="pass --deals PATH (or deals=... in Python), or name a file in the plan's transactions block",
            code="E503",
        )
    rates = fx_rates(plan, compiled.calendar, inputs, base, sources)
    # Quotas, targets and the roster are read on another thread while the transactions are (Arrow lets go of
    # the GIL); a problem with the transactions is still the one reported first.
    with ThreadPoolExecutor(1, thread_name_prefix="spm-references") as pool:
        basis_tables = pool.submit(read_basis_tables, plan, compiled.calendar, inputs, base)
        whole = inputs.keep_transactions
        loaded = load_table(deals, list(plan.transactions.columns), "transactions", in_pieces=not whole)
        loaded.read_only(columns_read(plan))
        loaded.kept = loaded.kept or whole
        sources["transactions"] = loaded
        txns = read_transactions(plan, loaded, lookups, compiled.calendar, inputs.strict, rates)
    if loaded.rows >= parallel.MIN_ROWS:  # what reading freed: crediting runs in it, not on top of it
        give_back_free_memory()
    accounting = txns.accounting

    step("reading quotas, targets and the roster")
    tables = basis_tables.result()
    managers_by_name, quotas, targets, roster = tables.managers, tables.quotas, tables.targets, tables.roster
    sources.update(tables.sources)
    alive = accounting.pending()
    payees = _payees(
        txns.payee_names, alive, tables.named, quotas, targets, earlier, roster, plan.transactions.fallback
    )
    step("crediting")
    employment = (
        Employment.of(roster, payees, plan.transactions.fallback, accounting, compiled.calendar) if roster else None
    )
    rows, in_order = make_credit_rows(
        plan,
        txns,
        payees,
        managers_by_name,
        alive,
        set().union(*(c.columns_read() for c in plan.components)),
        employment,
    )
    del alive
    # Each payee's days on this plan, per period, counted once for quotas, targets and the draw alike.
    by_day = PeriodAmounts(compiled.calendar, roster) if roster is not None else None
    basis = _basis(compiled, payees, quotas, targets, sources, roster, by_day)
    rows = check_basis(plan, compiled.calendar, rows, basis, payees, accounting)
    terms = None
    if roster is not None or rates is not None:
        terms = Terms(
            roster,
            rates,
            txns.fx_rows,
            employment.fallbacks if employment is not None else None,
            pay_rates(roster, payees, compiled.calendar, rates) if roster is not None else None,
        )

    if earlier is not None:
        check_paid_in(earlier, roster, payees, compiled.calendar, plan.settings.currency)
    rejections = accounting.rejections
    values = component_row_values(plan, rows, txns, payees, lookups, basis)
    if accounting.rejections > rejections:  # rows a component could not read: their transactions go
        keep = np.flatnonzero(accounting.pending()[rows.txn])
        rows = rows.take(keep)
        values = [v.take(keep) for v in values]
    rows, values, reversed_any = add_reversals(plan, compiled.calendar, rows, values, txns.cancellations)
    step("ordering the credit rows")
    if not in_order or reversed_any:
        order = crediting_order(rows, txns.key_rank)
        rows = rows.take(order)
        values = [v.take(order) for v in values]
        del order
    step.finish()
    credited = txns.credited()
    floor = plan.settings.payout_floor
    guarantees = Guarantees(
        plan.draw, None if floor is None else int(floor * UNIT), compiled.draw_clause, compiled.floor_clause
    )
    if plan.draw is not None and by_day is not None:  # no draw outside employment; prorated as quotas are
        guarantees.draw_levels, guarantees.draw_notes = by_day.guaranteed(int(plan.draw.amount * UNIT), payees)
    cycle = plan_cycle(
        plan,
        compiled.calendar,
        inputs.through,
        earlier,
        rows,
        payees,
        compiled.rule_clause,
        len(compiled.clauses),
        credited.rows_of,
        guarantees,
        credited.cancellations,
    )
    batches = payee_batches(rows.payee)
    if cycle.unrowed.size and not batches:  # payees with no credit row still settle: draws, closed periods
        batches.append(slice(0, 0))  # (among credit rows, each batch settles those between its payees)
    return CreditedRun(
        compiled,
        payees,
        rows,
        values,
        batches,
        basis,
        credited,
        txns.key_rank,
        sources,
        inputs.workers,
        cycle,
        terms,
        unread_tables(inputs, sources),
    )


def _payees(
    payee_names: list,
    alive: np.ndarray,
    named: list[str],
    quotas: PayeeAmounts | None,
    targets: PayeeAmounts | None,
    earlier: EarlierLedgers | None,
    roster: RosterRows | None = None,
    fallback: str | None = None,
) -> Payees:
    """Every payee of the run: of a live transaction, everyone a roster names (read where the plan rolls up or
    pays a draw or a floor), in the quotas or targets, the fallback payee, and everyone an earlier ledger
    paid."""
    names = set().union(*(distinct_names(values, alive) for values in payee_names))
    if earlier is not None:
        names.update(earlier.payee.values)
    names.update(named)
    if roster is not None:
        names.update(roster.names())
    if fallback is not None:
        names.add(fallback)
    for amounts in (quotas, targets):
        if amounts is not None:
            names.update(amounts.names())
    return Payees(sorted(names))


def _basis(
    compiled: CompiledPlan,
    payees: Payees,
    quotas: PayeeAmounts | None,
    targets: PayeeAmounts | None,
    sources: dict,
    roster: RosterRows | None = None,
    by_day: PeriodAmounts | None = None,
) -> Basis:
    periods = compiled.calendar.count
    proration = None
    dated = any(amounts is not None and amounts.dated is not None for amounts in (quotas, targets))
    if dated or (roster is not None and roster.prorate is not None):  # amounts that hold day by day
        by_day = by_day or PeriodAmounts(compiled.calendar, roster)
        proration = by_day.proration(payees)
    weighed = by_day if proration is not None or dated else None

    def matrix(amounts: PayeeAmounts | None) -> tuple[np.ndarray, np.ndarray]:
        if weighed is not None:
            return weighed.matrix(amounts, payees)
        if amounts is None:
            return np.zeros((len(payees), periods), np.int64), np.zeros(len(payees), bool)
        return amounts.matrix(payees.names, periods)

    try:
        return make_basis(*matrix(quotas), *matrix(targets), compiled.plan.settings.attainment_basis, proration)
    except TooLarge as error:
        table, payee = error.table, error.position
        if table is None or payee is None:  # make_basis names both for every amount it finds too large
            raise
        source = sources.get(table)
        raise AmountTooLarge(
            f"the {table[:-1]} of {payees.names[payee]} over the year",
            source.label if source is not None else table,
            error.value,
        ) from None
