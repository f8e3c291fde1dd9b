"""Stage 3: a checked plan compiled into a calculator, and a run of it over data.

:class:`Calculator` holds what does not depend on the data (the calendar, the
components ready to run). :meth:`Calculator.run` reads the inputs, credits
them and accounts for every row; the :class:`RunOutput` it returns pays the
credit rows a *batch* of payees at a time (:meth:`Calculator.pay`): a payee's
lines never depend on another payee's, so batches bound the memory a run
needs, stream to the ledger writer, and can be paid in parallel. Each step is
a whole-array operation; the only Python loops are over components, payee
columns, periods and batches.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.ir.expressions import Type
from spmlang.ir.plan import (
    POLICY_SUBJECTS,
    CheckedPlan,
    ComponentSpec,
    PayOnceRule,
    component_needs_targets,
    components_need_quota_basis,
    components_need_quotas,
)
from spmlang.diagnostics import AmountTooLarge, InputError, Span
from spmlang.engine.kernels import grouping
from spmlang.engine.runtime import parallel
from spmlang.engine.kernels import column_text as text
from spmlang.engine.read.accounting import RowAccounting
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.pay.component import ComponentRun, PeriodLines, Prepared, prepare, row_columns
from spmlang.engine.credit.rows import (
    DIRECT,
    ROLLUP,
    CreditRows,
    Payees,
    distinct_names,
    crediting_order,
    direct_rows_in_order,
    rollup_rows,
    split_rows,
)
from spmlang.engine.evaluate import Frame, Vec, evaluate, truth
from spmlang.engine.read.formats import load_table
from spmlang.engine.pay.limits import apply_caps, gate_lines
from spmlang.engine.pay.lines import END, KIND, ROW, START, Lines, TextColumn, in_ledger_order, make_lines
from spmlang.engine.pay.streams import Basis, Streams, build_streams, make_basis
from spmlang.engine.runtime.memory import give_back_free_memory
from spmlang.engine.kernels.money import CENT, UNIT, TooLarge, cumulative_cents, units_to_cents
from spmlang.engine.read.tables import LookupTable, load_reference, payee_amounts, roster_managers
from spmlang.engine.read.plan_files import resolve_plan_file
from spmlang.engine.read.transactions import InputRows, Transactions, read_transactions, reject_issues
from spmlang.progress import Report, Steps, tracked
from spmlang.settings import count_setting
from spmlang.ir.kinds import CapScope, LineKind, Measure, MeasureBasis, Role, TableKind


@dataclass
class RunInputs:
    """Where a run's data comes from: paths or in-memory tables, by name."""

    deals: object = None
    quotas: object = None
    targets: object = None
    roster: object = None
    tables: dict = field(default_factory=dict)
    strict: bool = False
    allow_outside_paths: bool = False
    workers: int | None = None  # processes to pay batches with (None: spm decides; see engine.parallel)


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
    return [slice(r0, r1) for r0, r1 in zip(bounds[:-1], bounds[1:])]


@dataclass
class PaidLines:
    """The ledger lines of some payees in ledger order, their amounts in cents, and their credit rows."""

    lines: Lines  # ``row`` indexes ``rows``
    cents: np.ndarray  # int64 per line, after cumulative rounding
    rows: CreditRows  # the credit rows of these payees, in crediting order
    streams: Streams  # their streams (measures)

    def take(self, index: np.ndarray | slice) -> "PaidLines":
        """Some of the lines (their rows and streams stay whole): an index array, or a slice (views)."""
        return PaidLines(self.lines.take(index), self.cents[index], self.rows, self.streams)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents): the exact sum of the lines of each cell (component -1: none)."""
        lines = self.lines
        if len(lines) == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, empty, empty
        order = grouping.order_by(lines.payee, lines.period, lines.component + 1)
        payee, period, component = lines.payee[order], lines.period[order], lines.component[order]
        starts = grouping.starts_from_keys(payee, period, component)
        return payee[starts], period[starts], component[starts], grouping.sums(self.cents[order], starts)

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at each period end) of each stream."""
        streams = self.streams
        return streams.payee, streams.role, streams.period_credit, streams.measure_at_end()

    def totals(self) -> tuple:
        """(cells, measures, number of lines): all the summary needs of these lines."""
        return self.cells(), self.measures(), len(self.lines)


@dataclass
class RunOutput:
    """A credited run: everything known before paying, and the means to pay it a batch of payees at a time.

    ``lines``, ``cents``, ``rows`` and ``streams`` (the whole run's) are made on first use and kept;
    :meth:`shipped` pays batch after batch without keeping them, for a ledger written as it is paid.
    """

    plan: CheckedPlan
    calendar: PlanCalendar
    payees: Payees
    credit_rows: CreditRows  # in crediting order: by payee, role, date, transaction key (see crediting_order)
    prepared: list[Prepared]  # each component's row-level values, aligned with ``credit_rows``
    batches: list[slice]  # ranges of ``credit_rows``: whole payees
    basis: Basis
    transactions: InputRows
    key_rank: np.ndarray  # per input row
    clauses: list[Span]
    sources: dict  # input name -> LoadedTable or TableData label info
    runs: list[ComponentRun]  # the components as run, one per plan component
    calculator: "Calculator" = field(repr=False)
    workers_wanted: int | None = None
    _cells: tuple | None = field(default=None, repr=False)
    _measures: tuple | None = field(default=None, repr=False)
    _line_count: int | None = field(default=None, repr=False)

    @property
    def accounting(self) -> RowAccounting:
        return self.transactions.accounting

    def unpaid(self) -> list["UnpaidRows"]:
        """The credit rows each component could not pay (see Prepared.failed), by component and reason."""
        found = []
        for spec, prepared in zip(self.plan.components, self.prepared):
            if prepared.failed is None:
                continue
            for code in np.unique(prepared.failed[prepared.failed > 0]).tolist():
                rows = np.flatnonzero(prepared.failed == code)
                credit = int(self.credit_rows.credit[rows].astype(object).sum())  # Python's integers: no limit
                found.append(UnpaidRows(spec.name, REASONS[code - 1], rows, credit,
                                        prepared.failure[int(rows[0])].as_py()))
        return found

    def pay(self, index: int) -> PaidLines:
        """The lines of batch ``index``."""
        if "_whole" in self.__dict__:
            whole, offsets = self._whole
            batch = self.batches[index]
            part = whole.take(slice(offsets[index], offsets[index + 1]))
            part.lines.row = np.where(part.lines.row >= 0, part.lines.row - batch.start, -1)
            first, last = (int(self.streams.row_stream[r]) for r in (batch.start, batch.stop - 1))
            return PaidLines(part.lines, part.cents, self.rows.take(batch),
                             self.streams.slice(batch, slice(first, last + 1)))
        return self.calculator.pay(self, self.batches[index])

    def shipped(self, make: Callable[[PaidLines], list] | None = None, progress: Report | None = None,
                step: str = "paying") -> Iterator:
        """Pay batch after batch, in order, and yield the Arrow tables ``make(paid)`` makes of each (none
        without ``make``); the totals per cell, the measures and the line count are kept on the way. Large
        runs are paid on every core (see :mod:`spmlang.engine.parallel`), ``make`` included."""
        count = len(self.batches)

        def ship(index: int) -> parallel.Shipment:  # in whichever process pays the batch
            paid = self.pay(index)
            return parallel.Shipment(make(paid) if make else [], paid.totals())

        workers = self.workers()
        shipments = parallel.ordered_map(ship, count, workers) if workers else map(ship, range(count))
        totals = BatchTotals()
        for shipment in tracked(shipments, count, step, progress):
            totals.add(shipment.value)
            yield from shipment.tables
        if self._cells is None:
            self._cells, self._measures = totals.cells(self.calendar.count)
        self._line_count = totals.lines

    def workers(self) -> int:
        """How many worker processes would pay this run's batches (0: this process pays them)."""
        if "_whole" in self.__dict__:
            return 0
        return parallel.worker_count(len(self.batches), len(self.credit_rows), self.workers_wanted)

    @property
    def rows(self) -> CreditRows:
        """Every credit row, in crediting order."""
        return self.credit_rows

    @cached_property
    def streams(self) -> Streams:
        return build_streams(self.rows, self.calendar.count, self.calculator.ytd)

    @cached_property
    def _whole(self) -> tuple[PaidLines, np.ndarray]:
        parts = [self.calculator.pay(self, batch) for batch in self.batches]
        for part, batch in zip(parts, self.batches):
            part.lines.row = np.where(part.lines.row >= 0, part.lines.row + batch.start, -1)
        offsets = np.cumsum([0, *[len(p.lines) for p in parts]])
        cents = np.concatenate([p.cents for p in parts]) if parts else np.zeros(0, np.int64)
        return PaidLines(Lines.concat([p.lines for p in parts]), cents, self.rows, self.streams), offsets

    @property
    def lines(self) -> Lines:
        """Every line of the run, in ledger order (``row`` indexes :attr:`rows`)."""
        return self._whole[0].lines

    @property
    def cents(self) -> np.ndarray:
        return self._whole[0].cents

    @property
    def line_count(self) -> int:
        if self._line_count is None:
            self._line_count = len(self.lines)
        return self._line_count

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, period, component, cents) of every cell with lines, in order (see :meth:`PaidLines.cells`)."""
        self.total_up()
        return self._cells

    def measures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(payee, role, credit per period, measure at period ends) of every stream (see :meth:`PaidLines.measures`)."""
        self.total_up()
        return self._measures

    def total_up(self, progress: Report | None = None) -> None:
        """Pay every batch for its totals (the summary's figures), unless they are known; the lines are not
        kept."""
        if self._cells is not None:
            return
        if "_whole" in self.__dict__:
            self._cells, self._measures = self._whole[0].cells(), self._whole[0].measures()
            return
        deque(self.shipped(progress=progress), maxlen=0)  # run to the end: it yields nothing without `make`


@dataclass
class UnpaidRows:
    """Credit rows a component could not pay, for one reason: which (indices of the run's credit rows), their
    credit in all (units), and the first one's message."""

    component: str
    reason: str
    rows: np.ndarray
    credit: int
    message: str


@dataclass
class BatchTotals:
    """What paid batches add up to: totals per cell, measures per stream, and their lines (see
    :meth:`PaidLines.totals`)."""

    parts: list = field(default_factory=list)
    lines: int = 0

    def add(self, totals: tuple) -> None:
        cells, measures, lines = totals
        self.parts.append((cells, measures))
        self.lines += lines

    def cells(self, periods: int) -> tuple[tuple, tuple]:
        """(cells, measures), each concatenated over the batches in order."""
        cells = _concat([c for c, _ in self.parts], [np.zeros(0, np.int64)] * 4)
        measures = _concat([m for _, m in self.parts], [np.zeros(0, np.int32), np.zeros(0, np.int8),
                                                        np.zeros((0, periods), np.int64),
                                                        np.zeros((0, periods), np.int64)])
        return cells, measures


def _concat(parts: list[tuple], empty: list[np.ndarray]) -> tuple:
    """Concatenate tuples of arrays element-wise; ``empty`` (the shapes of nothing) when there are none."""
    if not parts:
        return tuple(empty)
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(len(empty)))


class Calculator:
    """A checked plan, compiled: ready to run over any data of the declared shape."""

    def __init__(self, plan: CheckedPlan):
        self.plan = plan
        settings = plan.settings
        self.calendar = PlanCalendar(settings.year_start, settings.frequency)
        self.ytd = settings.measure is Measure.YEAR_TO_DATE
        self.runs = [ComponentRun(c, plan.transactions.credit_type) for c in plan.components]
        self.clauses: list[Span] = [plan.transactions.credit_span]
        self.rule_clause = [self._clause(_rule_span(c)) for c in plan.components]
        self.cap_clauses = [[self._clause(cap.span) for cap in c.caps] for c in plan.components]
        self.gate_clause = [self._clause(c.gate_span) if c.gate_span else -1 for c in plan.components]
        self.plan_cap_clauses = [self._clause(cap.span) for cap in plan.plan_caps]

    def _clause(self, span: Span) -> int:
        self.clauses.append(span)
        return len(self.clauses) - 1

    # ------------------------------------------------------------------ the run
    def run(self, inputs: RunInputs, progress: Report | None = None) -> RunOutput:
        """Run over ``inputs``; ``progress(step, done, total)`` hears of each step (see spmlang.progress)."""
        plan = self.plan
        step = Steps(progress, 4)
        step("reading transactions")
        base = Path(plan.path).resolve().parent if plan.path and not plan.path.startswith("<") else None
        sources: dict = {}
        lookups = self._lookup_tables(inputs, base, sources)
        deals = inputs.deals if inputs.deals is not None else \
            resolve_plan_file(plan.transactions.file, "transactions", plan, base, inputs.allow_outside_paths)
        if deals is None:
            raise InputError("no transactions given", hint="pass --deals PATH (or deals=... in Python), or name a "
                             "file in the plan's transactions block", code="E503")
        # Quotas, targets and the roster are read on another thread while the transactions are (Arrow lets go of
        # the GIL); a problem with the transactions is still the one reported first.
        with ThreadPoolExecutor(1, thread_name_prefix="spm-references") as pool:
            references = pool.submit(self._references, inputs, base)
            loaded = load_table(deals, list(plan.transactions.columns), "transactions", in_pieces=True)
            sources["transactions"] = loaded
            txns = read_transactions(plan, loaded, lookups, self.calendar, inputs.strict)
        if loaded.rows >= parallel.MIN_ROWS:  # what reading freed: crediting runs in it, not on top of it
            give_back_free_memory()
        accounting = txns.accounting

        step("reading quotas, targets and the roster")
        managers_by_name, quotas, targets, read = references.result()
        sources.update(read)
        alive = accounting.pending()
        names = set().union(*(distinct_names(values, alive) for values in txns.payee_names))
        if managers_by_name:
            names.update(managers_by_name.values())
        for amounts in (quotas, targets):
            if amounts is not None:
                names.update(amounts.by_payee)
        step("crediting")
        payees = Payees(sorted(names))
        rows, in_order = self._credit_rows(txns, payees, managers_by_name, alive,
                                           set().union(*(row_columns(c) for c in plan.components)))
        del alive
        periods = self.calendar.count
        quota_matrix, quota_known = quotas.matrix(payees.names, periods) if quotas else \
            (np.zeros((len(payees), periods), np.int64), np.zeros(len(payees), bool))
        target_matrix, target_known = targets.matrix(payees.names, periods) if targets else \
            (np.zeros((len(payees), periods), np.int64), np.zeros(len(payees), bool))
        try:
            basis = make_basis(quota_matrix, quota_known, target_matrix, target_known,
                               plan.settings.attainment_basis)
        except TooLarge as error:
            source = sources.get(error.table)
            raise AmountTooLarge(f"the {error.table[:-1]} of {payees.names[error.position]} over the year",
                                 source.label if source is not None else error.table, error.value) from None
        rows = self._check_basis(rows, basis, payees, accounting)

        rejections = accounting.rejections
        prepared = self._prepare(rows, txns, payees, lookups, basis)
        if accounting.rejections > rejections:  # rows a component could not read: their transactions go
            keep = np.flatnonzero(accounting.pending()[rows.txn])
            rows = rows.take(keep)
            prepared = [p.take(keep) for p in prepared]
        step("ordering the credit rows")
        if not in_order:
            order = crediting_order(rows)
            rows = rows.take(order)
            prepared = [p.take(order) for p in prepared]
            del order
        step.finish()
        return RunOutput(plan, self.calendar, payees, rows, prepared, payee_batches(rows.payee), basis,
                         txns.credited(), txns.key_rank, self.clauses, sources, self.runs, self, inputs.workers)

    def _credit_rows(self, txns: Transactions, payees: Payees, managers_by_name: dict[str, str], alive: np.ndarray,
                     read: set[str]) -> tuple[CreditRows, bool]:
        """The credit rows of the ``alive`` transactions, and whether they are in crediting order already (else
        they are in key order). The transactions' columns but those in ``read`` are let go on the way."""
        plan = self.plan
        codes = [payees.encode(values) for values in txns.payee_names]
        txns.release_columns(keep=read)
        rollup = plan.transactions.rollup and any(c.role is Role.ROLLUP for c in plan.components)
        rows = None
        if len(codes) == 1 and not rollup:  # the common case: rows made in crediting order
            rows = direct_rows_in_order(codes[0], txns.shares[0], txns.credit, txns.dates, txns.calendar, alive,
                                        txns.key_order, txns.key_rank)
        in_order = rows is not None
        if not in_order:
            rows = split_rows(codes, txns.shares, txns.credit, txns.dates, txns.periods, alive, txns.key_order)
        if rollup:
            managers = np.full(len(payees), -1, dtype=np.int32)
            for payee, manager in managers_by_name.items():
                if payee in payees.code:
                    managers[payees.code[payee]] = payees.code[manager]
            rows = CreditRows.concat([rows, rollup_rows(rows, managers)])
        if not in_order and (len(codes) > 1 or rows.role.any()):  # back in key order (crediting_order
            rows = rows.take(grouping.stable_order(txns.key_rank[rows.txn]))  # relies on it)
        txns.release_credit()
        return rows, in_order

    def pay(self, output: RunOutput, batch: slice) -> PaidLines:
        """The lines of one batch of payees, in ledger order; amounts rounded cumulatively to cents."""
        rows = output.credit_rows.take(batch)  # views: the rows are in crediting order
        basis, payees = output.basis, output.payees
        try:
            streams = build_streams(rows, self.calendar.count, self.ytd)
        except TooLarge as error:
            row = error.position
            raise AmountTooLarge(f"the credit of {payees.names[rows.payee[row]]} in "
                                 f"{self.calendar.labels[rows.period[row]]}", None, error.value) from None
        component_lines = []
        for i, run in enumerate(self.runs):
            try:
                component_lines.append(self._component_lines(i, run, output.prepared[i].take(batch), rows,
                                                             streams, basis, payees))
            except TooLarge as error:
                raise AmountTooLarge(f"an amount of {run.spec.kind} '{run.spec.name}'",
                                     self.clauses[self.rule_clause[i]].clause, error.value) from None
        lines = Lines.concat(component_lines + [self._unpaid_rows(rows, component_lines)])
        ranks = output.key_rank
        try:
            capped = self._plan_caps(lines, rows, ranks, basis)
        except TooLarge as error:
            clause = self.clauses[self.plan_cap_clauses[0]].clause if self.plan_cap_clauses else None
            raise AmountTooLarge("a payee's total under the plan cap", clause, error.value) from None
        lines = in_ledger_order(capped, rows.date, rows.txn, ranks)
        return PaidLines(lines, _round(lines), rows, streams)

    # ------------------------------------------------------------------ inputs
    def _lookup_tables(self, inputs: RunInputs, base: Path | None, sources: dict) -> dict:
        tables = {}
        for name, spec in self.plan.tables.items():
            if spec.kind not in (TableKind.LOOKUP, TableKind.ROSTER):
                continue
            source = inputs.tables.get(name)
            if spec.kind is TableKind.ROSTER and inputs.roster is not None:
                source = inputs.roster
            if source is None and spec.rows is None:
                source = resolve_plan_file(spec.file, f"table '{name}'", self.plan, base, inputs.allow_outside_paths)
            if source is None and spec.kind is TableKind.ROSTER:
                continue  # loaded, with its error, by _roster when a rollup needs it
            data = load_reference(spec, source, self.plan.path)
            sources[name] = data
            tables[name] = LookupTable(data)  # the roster too: roster[payee].manager
        return tables

    def _table_source(self, kind: str, inputs: RunInputs, base: Path | None):
        spec = self.plan.tables.get(kind)
        source = getattr(inputs, kind) if getattr(inputs, kind) is not None else inputs.tables.get(kind)
        if source is None and spec is not None and spec.rows is None:
            source = resolve_plan_file(spec.file, kind, self.plan, base, inputs.allow_outside_paths)
        return spec, source

    def _references(self, inputs: RunInputs, base: Path | None) -> tuple[dict[str, str], object, object, dict]:
        """The roster's managers, the quotas and the targets (None where the plan has none), and the sources
        they were read from."""
        sources: dict = {}
        managers_by_name = self._roster(inputs, base, sources)
        quotas, targets = (self._amounts(kind, inputs, base, sources) for kind in ("quotas", "targets"))
        return managers_by_name, quotas, targets, sources

    def _amounts(self, kind: str, inputs: RunInputs, base: Path | None, sources: dict):
        spec, source = self._table_source(kind, inputs, base)
        if spec is None:
            return None
        data = load_reference(spec, source, self.plan.path)
        sources[kind] = data
        return payee_amounts(data, self.calendar)

    def _roster(self, inputs: RunInputs, base: Path | None, sources: dict) -> dict[str, str]:
        if not self.plan.transactions.rollup:
            return {}
        spec, source = self._table_source("roster", inputs, base)
        data = load_reference(spec, source, self.plan.path)
        sources["roster"] = data
        return roster_managers(data)

    def _check_basis(self, rows: CreditRows, basis: Basis, payees: Payees, accounting: RowAccounting) -> CreditRows:
        """Attainment needs a quota for each credited payee and period; % of target needs a target."""
        rejections = accounting.rejections
        for role in (DIRECT, ROLLUP):
            components = [c for c in self.plan.components if (c.role is Role.ROLLUP) == (role == ROLLUP)]
            if grouping.is_uniform(rows.role):  # rows of one role (no rollups): all of them, or none
                if len(rows) == 0 or rows.role[0] != role:
                    continue
                in_role = True
            else:
                in_role = rows.role == role
            # Found on the (payee, period) cells first: only where some cell lacks a quota or a target are the
            # rows looked at, by a lookup in a table of cells (bools: 10,000 payees fit in a cache).
            # Attainment needs the quota basis of the row's period; a row that only reads its payee's `quota`
            # needs their annual quota.
            on_basis = components_need_quota_basis(components)
            no_quota = None
            if on_basis:
                no_quota = basis.quota <= 0
            elif components_need_quotas(components):
                no_quota = np.broadcast_to((basis.quota_period.sum(axis=1) <= 0)[:, None], basis.quota.shape)
            if no_quota is not None and no_quota.any():
                bad = in_role & no_quota[rows.payee, rows.period]
                if np.any(bad):
                    known = basis.quota_known[rows.payee]
                    message = text.join(
                        text.when(~known, text.join("no quota for ", text.pick(rows.payee, payees.names))),
                        text.when(known, text.join("the quota basis of " if on_basis else "the annual quota of ",
                                                   text.pick(rows.payee, payees.names), " is zero")),
                        " in ", text.pick(rows.period, self.calendar.labels))
                    self._reject_rows(rows, bad, "missing_quota", message, accounting)
            needs_targets = any(component_needs_targets(c) for c in components) or (role == DIRECT and any(
                cap.of_target and cap.covers_role(Role.DIRECT, self.plan.components) for cap in self.plan.plan_caps))
            if needs_targets and not basis.target_known.all():
                bad = in_role & ~basis.target_known[rows.payee]
                if np.any(bad):
                    message = text.join("no target incentive for ", text.pick(rows.payee, payees.names))
                    self._reject_rows(rows, bad, "missing_quota", message, accounting)
        if accounting.rejections == rejections:
            return rows
        return rows.take(np.flatnonzero(accounting.pending()[rows.txn]))

    @staticmethod
    def _reject_rows(rows: CreditRows, bad: np.ndarray, reason: str, message, accounting: RowAccounting,
                     column: str | None = None) -> None:
        """Reject the transactions of the credit rows in ``bad`` (a row's message is its first bad credit row's)."""
        picked = np.flatnonzero(bad)
        txn, first = np.unique(rows.txn[picked], return_index=True)
        mask = np.zeros(accounting.rows, dtype=bool)
        mask[txn] = True
        if isinstance(message, str):
            per_txn = message
        else:
            slots = np.full(accounting.rows, -1, dtype=np.int64)
            slots[txn] = picked[first]
            per_txn = message.take(pa.array(np.maximum(slots, 0)))
        accounting.reject(mask, reason, per_txn, column)

    def _prepare(self, rows: CreditRows, txns: Transactions, payees: Payees, lookups: dict,
                 basis: Basis) -> list[Prepared]:
        """Evaluate every component's row expressions over the credit rows; reject rows they cannot read. A row's
        ``quota`` and ``target`` are its payee's annual quota and target incentive (rows whose payee has none
        were rejected by :meth:`_check_basis` where a component reads them)."""
        n = len(rows)
        index = pa.array(rows.txn)

        def gathered(name: str):
            def load() -> Vec:
                column = txns.frame.column(name)
                valid = np.asarray(column.valid)[rows.txn] if np.ndim(column.valid) else column.valid
                values = column.values.take(index) if isinstance(column.values, pa.Array) else \
                    np.asarray(column.values)[rows.txn]
                return Vec(values, valid, column.type)
            return load

        credit_type = self.plan.transactions.credit_type
        credit = rows.credit if credit_type is Type.MONEY else rows.credit / UNIT
        annual_quota = basis.quota_period.sum(axis=1)
        if credit_type is not Type.MONEY:
            annual_quota = annual_quota / UNIT
        # Expressions of the transaction's columns alone are evaluated per transaction (see evaluate_rows),
        # unless filters left so few rows that evaluating every transaction would cost more than gathering.
        transactions = Frame(txns.frame.n, txns.frame.columns, tables=lookups) if 2 * n >= txns.frame.n else None
        prepared = []
        for spec in self.plan.components:
            # A frame per component: the columns it gathers per credit row (~80 MB each at 10M rows) for
            # expressions of a row's credit, share or payee are let go before the next component's.
            frame = Frame(n, {name: gathered(name) for name in txns.columns}, tables=lookups, builtins={
                "credit": Vec(credit, True, credit_type),
                "share": Vec(rows.share, True, Type.NUMBER),
                "payee": lambda: Vec(payees.array.take(pa.array(rows.payee)), True, Type.TEXT),
                "quota": lambda: Vec(annual_quota[rows.payee], True, credit_type),
                "target": lambda: Vec(basis.target_annual[rows.payee], True, Type.MONEY),
            }, source=transactions, source_rows=rows.txn)
            one = prepare(spec, rows, frame)
            if frame.issues:
                one = _unpayable(spec, one, rows, frame.issues, txns)
            frame.issues.clear()
            prepared.append(one)
        return prepared

    # ------------------------------------------------------------------ components
    def _component_lines(self, index: int, run: ComponentRun, prepared: Prepared, rows: CreditRows,
                         streams: Streams, basis: Basis, payees: Payees) -> Lines:
        spec = run.spec
        clause = self.rule_clause[index]
        parts = []
        row_lines = run.row_lines(prepared, rows, streams, basis)
        if row_lines.rows.size:
            r = row_lines.rows
            explanation = row_lines.explanation
            if spec.role is Role.ROLLUP:
                whose = text.pick(rows.rollup_from[r], payees.names)
                plain = explanation.resolve() if isinstance(explanation, TextColumn) else explanation
                explanation = text.join("rollup of ", whose, "'s credit: ", plain)
            parts.append(make_lines(r.size, payee=rows.payee[r], role=rows.role[r], component=index,
                                    kind=spec.line_kind, period=rows.period[r], phase=ROW, row=r,
                                    amount=row_lines.amount, rate=row_lines.rate, multiplier=row_lines.multiplier,
                                    tier=row_lines.tier, explanation=explanation, clause=clause))
        if prepared.failed is not None and prepared.failed.any():  # rows it could not evaluate: a zero line each
            r = np.flatnonzero(prepared.failed)
            explanation = text.join("not paid by this component: ", prepared.failure.take(pa.array(r)))
            parts.append(make_lines(r.size, payee=rows.payee[r], role=rows.role[r], component=index,
                                    kind=spec.line_kind, period=rows.period[r], phase=ROW, row=r, amount=0,
                                    explanation=explanation, clause=clause))
        true_ups = run.true_ups(prepared, row_lines, rows, streams, basis)
        parts.append(self._period_lines(true_ups, streams, index, LineKind.TRUE_UP, START, clause))
        period_end = None
        if isinstance(spec.rule, PayOnceRule) or spec.gate is not None:
            period_end = self._period_end_frame(streams, basis)
        if isinstance(spec.rule, PayOnceRule):
            met = truth(evaluate(spec.rule.condition, period_end), period_end.n).reshape(streams.count, self.calendar.count)
            ends = [self.calendar.end(p) for p in range(self.calendar.count)]
            bonuses = run.bonuses(streams, basis, met, ends, self.calendar.labels)
            parts.append(self._period_lines(bonuses, streams, index, LineKind.BONUS, END, clause))
        lines = Lines.concat(parts)
        if len(lines) == 0:
            return lines
        beyond = np.zeros(len(rows), dtype=np.int64)
        if row_lines.beyond_curve is not None:
            beyond[row_lines.rows] = row_lines.beyond_curve
        stream_key = lines.role.astype(np.int64) * (len(streams.payee) + 1) + lines.payee
        order = grouping.order_by(lines.role, lines.payee, lines.period, lines.phase, lines.row + 1)
        lines = lines.take(order)
        stream_key = stream_key[order]
        # Round what the rule earned, cumulatively per payee over the year; caps and gates then act on cents,
        # so that no cap is ever crossed by rounding (docs/calculation.md §5).
        lines.amount = cumulative_cents(lines.exact, grouping.starts_from_keys(stream_key)) * CENT
        paid, cap_lines = apply_caps(lines, stream_key, list(spec.caps), self.cap_clauses[index], basis)
        extra = [cap_lines]
        if spec.gate is not None:
            is_open = truth(evaluate(spec.gate, period_end), period_end.n).reshape(streams.count, self.calendar.count)
            attainment = period_end.builtin("attainment").values.reshape(streams.count, self.calendar.count)
            stream_of_line = _stream_of(lines, streams)
            extra.append(gate_lines(lines, paid, stream_of_line, streams, is_open, attainment, index,
                                    spec.gate_text, self.calendar.labels, self.gate_clause[index]))
        extra.append(self._curve_top(lines, beyond, spec, clause))
        return Lines.concat([lines, *extra])

    def _curve_top(self, lines: Lines, beyond: np.ndarray, spec: ComponentSpec, clause: int) -> Lines | None:
        """Split each row line past a curve's last point into what the last slope would pay and a cap
        line for the cut. Caps and gates above worked on the line as paid; the split keeps its sum."""
        on_row = (lines.row >= 0) & (lines.kind == KIND[spec.line_kind])
        cut = units_to_cents(np.where(on_row, beyond[np.maximum(lines.row, 0)], 0)) * CENT
        hit = np.flatnonzero(cut != 0)
        if hit.size == 0:
            return None
        lines.amount[hit] += cut[hit]
        lines.exact[hit] += beyond[lines.row[hit]]
        top = spec.rule.curve
        last = text.format_percent(top.xs[-1]) if top.basis is MeasureBasis.ATTAINMENT else text.format_money(top.xs[-1])
        cut_from = lines.take(hit)
        explanation = text.join(f"the payout curve is flat above {last}: ", text.exact(cut[hit]), " cut")
        return make_lines(hit.size, payee=cut_from.payee, role=cut_from.role, component=cut_from.component,
                          kind=LineKind.CAP, period=cut_from.period, phase=ROW, row=cut_from.row, amount=-cut[hit],
                          cut=cut[hit], explanation=explanation, clause=clause)

    def _period_lines(self, period_lines: PeriodLines, streams: Streams, component: int, kind: str, phase: int,
                      clause: int) -> Lines | None:
        s = period_lines.stream
        if s.size == 0:
            return None
        return make_lines(s.size, payee=streams.payee[s], role=streams.role[s], component=component, kind=kind,
                          period=period_lines.period, phase=phase, amount=period_lines.amount,
                          explanation=period_lines.explanation, clause=clause)

    def _period_end_frame(self, streams: Streams, basis: Basis) -> Frame:
        """Period-end values of every stream, as a frame of streams x periods (row-major)."""
        periods = self.calendar.count
        measure = streams.measure_at_end()
        payee = np.repeat(streams.payee[:, None], periods, axis=1)
        period = np.repeat(np.arange(periods)[None, :], streams.count, axis=0)
        attainment = basis.attainment(measure, payee, period)
        counted = self.plan.transactions.credit_type is not Type.MONEY
        credit_type = self.plan.transactions.credit_type

        def quantity(values: np.ndarray) -> Vec:
            flat = values.reshape(-1)
            return Vec(flat / UNIT if counted else flat, True, credit_type)

        return Frame(streams.count * periods, builtins={
            "attainment": Vec(attainment.reshape(-1), True, Type.PERCENT),
            "credit": quantity(measure),
            "quota": quantity(basis.quota[payee, period]),
            "target": Vec(basis.target[payee, period].reshape(-1), True, Type.MONEY),
            "count": Vec(streams.count_at_end().reshape(-1), True, Type.INTEGER),
        })

    def _unpaid_rows(self, rows: CreditRows, component_lines: list[Lines]) -> Lines | None:
        """A zero line for each credit row no component paid, so that every credited row shows."""
        paid = np.zeros(len(rows), dtype=bool)
        for lines in component_lines:
            on_rows = lines.row[lines.row >= 0]
            paid[on_rows] = True
        unpaid = np.flatnonzero(~paid)
        if unpaid.size == 0:
            return None
        explanation = text.join("credit ", text.amount(rows.credit[unpaid]), ": no component pays on this row")
        return make_lines(unpaid.size, payee=rows.payee[unpaid], role=rows.role[unpaid], component=-1,
                          kind=LineKind.EARNING, period=rows.period[unpaid], phase=ROW, row=unpaid, amount=0,
                          explanation=explanation, clause=0)

    def _plan_caps(self, lines: Lines, rows: CreditRows, ranks: np.ndarray, basis: Basis) -> Lines:
        """Plan caps over each payee's lines in ledger order, per period before per year, each on what the caps
        before it left of the lines it covers (every line, or those of the components and roles it names)."""
        caps = list(self.plan.plan_caps)
        if not caps or len(lines) == 0:
            return lines
        ordered = in_ledger_order(lines, rows.date, rows.txn, ranks)
        paid = ordered.amount
        cut_lines = []
        for cap, clause in sorted(zip(caps, self.plan_cap_clauses), key=lambda pair: pair[0].scope is CapScope.YEAR):
            covered = slice(None) if cap.covers_all else np.flatnonzero(self._covered(cap, ordered))
            part = ordered.take(covered)
            part.amount = paid[covered]
            kept, cuts = apply_caps(part, part.payee.astype(np.int64), [cap], [clause], basis)
            if cuts is not None:
                paid = paid.copy() if paid is ordered.amount else paid
                paid[covered] = kept
                cut_lines.append(cuts)
        return Lines.concat([ordered, *cut_lines])

    def _covered(self, cap, lines: Lines) -> np.ndarray:
        """The lines a plan cap names: of its components, or on its roles' credit."""
        components = [i for i, c in enumerate(self.plan.components) if c.name in cap.components]
        roles = [DIRECT if role is Role.DIRECT else ROLLUP for role in cap.roles]
        return np.isin(lines.component, components) | np.isin(lines.role, roles)


REASONS = tuple(POLICY_SUBJECTS)  # what keeps a component from paying a row (see Prepared.failed)


def _unpayable(spec: ComponentSpec, prepared: Prepared, rows: CreditRows, issues: list, txns: Transactions
               ) -> Prepared:
    """The component's rows it could not evaluate (``issues``: a lookup key not in its table, an empty rate, a
    division by zero) are rows it does not pay; the transaction is still credited, and the other components
    pay it. Unless the run is strict, or the plan says `on REASON error`: then the run stops."""
    role = ROLLUP if spec.role is Role.ROLLUP else DIRECT
    in_role = rows.role == role
    failed = np.zeros(len(rows), dtype=np.int8)
    failure = pa.nulls(len(rows), pa.string())
    accounting = txns.accounting
    for issue in issues:
        mask = np.asarray(issue.mask, dtype=bool) & in_role & (failed == 0)
        if not mask.any():
            continue
        message = issue.message if isinstance(issue.message, str) else issue.message.cast(pa.string())
        if accounting.stops(issue.subject):
            picked = np.flatnonzero(mask)
            said = message if isinstance(message, str) else message.take(pa.array(picked))
            accounting.stop(rows.txn[picked], issue.subject, said, issue.column, "row a component cannot pay")
        failed[mask] = 1 + REASONS.index(issue.subject)
        failure = pc.if_else(pa.array(mask), message, failure)
    if not failed.any():
        return prepared
    return replace(prepared, selected=prepared.selected & (failed == 0), failed=failed, failure=failure)


def _rule_span(component: ComponentSpec) -> Span:
    rule = component.rule
    for attr in ("span", "table", "curve"):
        value = getattr(rule, attr, None)
        if isinstance(value, Span):
            return value
        if value is not None and hasattr(value, "span"):
            return value.span
    return component.span


def _stream_of(lines: Lines, streams: Streams) -> np.ndarray:
    """The stream of each line (lines of one component are all of one role)."""
    key = streams.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + streams.payee
    line_key = lines.role.astype(np.int64) * (int(streams.payee.max(initial=0)) + 1) + lines.payee
    order = np.argsort(key)
    position = np.searchsorted(key[order], line_key)
    return order[np.clip(position, 0, max(order.size - 1, 0))]


def _round(lines: Lines) -> np.ndarray:
    """Every line's amount in cents. Earnings were rounded cumulatively per payee and component over the
    year before caps and gates; those act on cents, so every amount is already whole cents."""
    cents, rest = np.divmod(lines.amount, CENT)
    if np.any(rest):  # pragma: no cover - a broken invariant of the engine, not a user error
        raise AssertionError("a ledger line is not a whole number of cents")
    return cents
