"""A run of a compiled plan: read and credit the data once, then pay it a batch of payees at a time.

:func:`credit_run` reads the inputs (:mod:`~spmlang.engine.read`), credits them and accounts for every row
(:mod:`~spmlang.engine.credit`), and evaluates each component's values per credit row: a
:class:`~spmlang.engine.credit.credited.CreditedRun`. :class:`Payout` pays it batch after batch
(:func:`~spmlang.engine.pay.batch.pay_batch`): a payee's lines never depend on another payee's, so batches
bound the memory a run needs, stream to the ledger writer, and are paid on every core for large runs
(:mod:`~spmlang.engine.runtime.parallel`). Each step is a whole-array operation; the only Python loops are over
components, payee columns, periods and batches.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

from spmlang.diagnostics import AmountTooLarge, InputError
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis, check_basis, make_basis
from spmlang.engine.credit.credited import CreditedRun
from spmlang.engine.credit.crediting import make_credit_rows
from spmlang.engine.credit.employment import Employment
from spmlang.engine.credit.proration import PeriodAmounts
from spmlang.engine.credit.reversals import add_reversals
from spmlang.engine.credit.rows import CreditRows, Payees, crediting_order, distinct_names
from spmlang.engine.credit.terms import Terms, pay_rates
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, TooLarge
from spmlang.engine.pay.batch import PaidLines, pay_batch
from spmlang.engine.pay.lines import Lines
from spmlang.engine.pay.payments import Payments
from spmlang.engine.pay.row_values import component_row_values, row_columns
from spmlang.engine.pay.streams import Streams, build_streams
from spmlang.engine.read.earlier import EarlierLedgers, read_earlier
from spmlang.engine.read.formats import load_table
from spmlang.engine.read.inputs import RunInputs, fx_rates, lookup_tables, read_basis_tables
from spmlang.engine.read.plan_files import resolve_plan_file
from spmlang.engine.read.roster import RosterRows
from spmlang.engine.read.tables import PayeeAmounts
from spmlang.engine.read.transactions import read_transactions
from spmlang.engine.runtime import parallel
from spmlang.engine.runtime.memory import give_back_free_memory
from spmlang.engine.settle.cycle import plan_cycle
from spmlang.engine.settle.draws import Guarantees
from spmlang.progress import Report, Steps, tracked
from spmlang.settings import count_setting

__all__ = ["BATCH_ROWS", "CreditedRun", "PaidLines", "Payout", "RunInputs", "credit_run", "payee_batches"]

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
    lookups = lookup_tables(plan, inputs, base, sources)
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
    rates = fx_rates(plan, inputs, base, sources)
    # Quotas, targets and the roster are read on another thread while the transactions are (Arrow lets go of
    # the GIL); a problem with the transactions is still the one reported first.
    with ThreadPoolExecutor(1, thread_name_prefix="spm-references") as pool:
        basis_tables = pool.submit(read_basis_tables, plan, compiled.calendar, inputs, base)
        whole = inputs.keep_transactions
        loaded = load_table(deals, list(plan.transactions.columns), "transactions", in_pieces=not whole)
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
        txns.payee_names, alive, managers_by_name, quotas, targets, earlier, roster, plan.transactions.fallback
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
        set().union(*(row_columns(c) for c in plan.components)),
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
        credited.keys,
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
    )


def _payees(
    payee_names: list,
    alive: np.ndarray,
    managers_by_name: dict[str, str],
    quotas: PayeeAmounts | None,
    targets: PayeeAmounts | None,
    earlier: EarlierLedgers | None,
    roster: RosterRows | None = None,
    fallback: str | None = None,
) -> Payees:
    """Every payee of the run: of a live transaction, a manager in the roster, in the quotas or targets, the
    fallback payee, everyone a roster with dates or terms names, and everyone an earlier ledger paid."""
    names = set().union(*(distinct_names(values, alive) for values in payee_names))
    if earlier is not None:
        names.update(earlier.payee)
    if managers_by_name:
        names.update(managers_by_name.values())
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


# ---------------------------------------------------------------------- paying
@dataclass
class Payout:
    """Paying a credited run, and what paying it has given so far.

    :meth:`in_batches` pays batch after batch without keeping the lines (a ledger written as it is paid) and
    keeps the totals on the way; :meth:`whole` pays every batch once and keeps all the lines (explain,
    statements): after that, a batch's lines are taken from them.
    """

    run: CreditedRun
    kept: KeptLines | None = field(default=None, repr=False)  # every line, once :meth:`whole` was asked for
    totals: RunTotals | None = field(default=None, repr=False)  # once every batch was paid

    @cached_property
    def streams(self) -> Streams:
        """The streams (measures) of every credit row."""
        run = self.run
        return build_streams(run.credit_rows, run.calendar.count, run.compiled.year_to_date)

    def batch(self, index: int) -> PaidLines:
        """The lines of batch ``index``."""
        batch = self.run.batches[index]
        if self.kept is None:
            return pay_batch(self.run, batch)
        part = self.kept.lines.take(slice(self.kept.offsets[index], self.kept.offsets[index + 1]))
        part.lines.row = np.where(part.lines.row >= 0, part.lines.row - batch.start, -1)
        if batch.start == batch.stop:  # payees with no credit row (see credit_run)
            streams = self.streams.slice(batch, slice(0, 0))
        else:
            first, last = (int(self.streams.row_stream[r]) for r in (batch.start, batch.stop - 1))
            streams = self.streams.slice(batch, slice(first, last + 1))
        return PaidLines(part.lines, part.cents, self.run.credit_rows.take(batch), streams, self.kept.lines.payments)

    def whole(self) -> PaidLines:
        """Every line of the run, in ledger order (``row`` indexes the run's credit rows), kept."""
        if self.kept is None:
            run = self.run
            parts = [pay_batch(run, batch) for batch in run.batches]
            for part, batch in zip(parts, run.batches, strict=True):
                part.lines.row = np.where(part.lines.row >= 0, part.lines.row + batch.start, -1)
            offsets = np.cumsum([0, *[len(p.lines) for p in parts]])
            cents = np.concatenate([p.cents for p in parts]) if parts else np.zeros(0, np.int64)
            payments = Payments.concat([p.payments for p in parts])
            lines = PaidLines(Lines.concat([p.lines for p in parts]), cents, run.credit_rows, self.streams, payments)
            self.kept = KeptLines(lines, offsets)
        return self.kept.lines

    def in_batches(
        self,
        make: Callable[[PaidLines], Iterable[pa.Table]] | None = None,
        progress: Report | None = None,
        step: str = "paying",
    ) -> Iterator:
        """Pay batch after batch, in order, and yield the Arrow tables ``make(paid)`` makes of each (none
        without ``make``); the totals per cell, the measures and the line count are kept on the way. Large
        runs are paid on every core (see :mod:`spmlang.engine.runtime.parallel`), ``make`` included."""
        count = len(self.run.batches)

        def pay(index: int) -> parallel.BatchResult:  # in whichever process pays the batch
            if make is not None:
                paid = self.batch(index)
            else:  # totals alone: the lines are dropped unread, their text unwritten
                with text.unwritten():
                    paid = self.batch(index)
            return parallel.BatchResult(make(paid) if make else [], paid.totals())

        workers = self.workers()
        results = parallel.ordered_map(pay, count, workers) if workers else map(pay, range(count))
        adding = BatchTotals()
        for result in tracked(results, count, step, progress):
            if not isinstance(result.value, tuple):
                raise TypeError("a batch's result carries its totals")
            adding.add(result.value)
            yield from result.tables
        cells, measures, owed = adding.joined(self.run.calendar.count)
        self.totals = RunTotals(cells, measures, adding.lines, owed)

    def workers(self) -> int:
        """How many worker processes would pay this run's batches (0: this process pays them)."""
        if self.kept is not None:
            return 0
        run = self.run
        return parallel.worker_count(len(run.batches), len(run.credit_rows), run.workers_wanted)

    @property
    def rows(self) -> CreditRows:
        """Every credit row, in crediting order."""
        return self.run.credit_rows

    @property
    def lines(self) -> Lines:
        """Every line of the run, in ledger order (``row`` indexes :attr:`rows`)."""
        return self.whole().lines

    @property
    def cents(self) -> np.ndarray:
        return self.whole().cents

    @property
    def line_count(self) -> int:
        if self.totals is not None:
            return self.totals.lines
        return len(self.lines)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents) of every cell with lines, in order (see :meth:`PaidLines.cells`)."""
        return self.totalled().cells

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at period ends) of every stream (see
        :meth:`PaidLines.measures`)."""
        return self.totalled().measures

    def owed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, draw owed, floor owed, held) at the end of the run (see :meth:`PaidLines.owed`)."""
        return self.totalled().owed

    def totalled(self, progress: Report | None = None) -> RunTotals:
        """The run's totals (the summary's figures): from the kept lines, else by paying every batch without
        keeping its lines."""
        if self.totals is None:
            if self.kept is not None:
                whole = self.kept.lines
                self.totals = RunTotals(whole.cells(), whole.measures(), len(whole.lines), whole.owed())
            else:
                deque(self.in_batches(progress=progress), maxlen=0)  # yields nothing without `make`
        assert self.totals is not None
        return self.totals


@dataclass
class KeptLines:
    """Every line of a run, and where each batch's lines start among them."""

    lines: PaidLines
    offsets: np.ndarray  # batch i's lines are lines[offsets[i]:offsets[i + 1]]


@dataclass
class RunTotals:
    """What the summary needs of a paid run: the exact sum of each (payee, period, component) cell, each
    stream's measures, and how many lines it has."""

    cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    measures: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    lines: int
    owed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # payee, draw owed, floor owed, held


@dataclass
class BatchTotals:
    """What paid batches add up to: totals per cell, measures per stream, and their lines (see
    :meth:`PaidLines.totals`)."""

    parts: list = field(default_factory=list)
    lines: int = 0

    def add(self, totals: tuple) -> None:
        cells, measures, lines, owed = totals
        self.parts.append((cells, measures, owed))
        self.lines += lines

    def joined(self, periods: int) -> tuple[tuple, tuple, tuple]:
        """(cells, measures, owed), each concatenated over the batches in order."""
        cells = _concat([c for c, _, _ in self.parts], [np.zeros(0, np.int64)] * 4)
        owed = _concat([o for _, _, o in self.parts], [np.zeros(0, np.int64)] * 4)
        measures = _concat(
            [m for _, m, _ in self.parts],
            [
                np.zeros(0, np.int32),
                np.zeros(0, np.int8),
                np.zeros((0, periods), np.int64),
                np.zeros((0, periods), np.int64),
            ],
        )
        return cells, measures, owed


def _concat(parts: list[tuple], empty: list[np.ndarray]) -> tuple:
    """Concatenate tuples of arrays element-wise; ``empty`` (the shapes of nothing) when there are none."""
    if not parts:
        return tuple(empty)
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(len(empty)))
