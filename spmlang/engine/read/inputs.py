"""Where a run's data comes from, and reading the tables beside the transactions: lookup tables, quotas,
targets and the roster. Each comes from the caller (a path or a table), else from the file the plan names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.read.currencies import Rates, read_rates
from spmlang.engine.read.plan_files import resolve_plan_file
from spmlang.engine.read.roster import RosterRows, read_roster
from spmlang.engine.read.tables import (
    LookupTable,
    PayeeAmounts,
    load_reference,
    payee_amounts,
    roster_managers,
    roster_payees,
)
from spmlang.ir.kinds import TableKind
from spmlang.ir.plan import CheckedPlan, TableSpec


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
    workers: int | None = None  # processes to pay batches with (None: spm decides; see engine.runtime.parallel)
    paid: list = field(default_factory=list)  # earlier ledgers: what was already paid (their periods are closed)
    through: str | None = None  # the last period to pay (None: the plan year's last)
    keep_transactions: bool = False  # read the transactions whole and keep them (what-ifs run on them again)


def lookup_tables(
    plan: CheckedPlan, calendar: PlanCalendar, inputs: RunInputs, base: Path | None, sources: dict
) -> dict:
    """The plan's lookup tables (and the roster, read as one: roster[payee].manager), by name; ``sources`` is
    told where each was read from."""
    tables = {}
    for name, spec in plan.tables.items():
        if spec.kind not in (TableKind.LOOKUP, TableKind.ROSTER) or spec.employment:
            continue  # a roster with dates has several rows a payee: it is no lookup table (see _roster)
        source = inputs.tables.get(name)
        if spec.kind is TableKind.ROSTER and inputs.roster is not None:
            source = inputs.roster
        if source is None and spec.rows is None:
            source = resolve_plan_file(spec.file, f"table '{name}'", plan, base, inputs.allow_outside_paths)
        if source is None and spec.kind is TableKind.ROSTER:
            continue  # loaded, with its error, by _roster when a rollup needs it
        data = load_reference(spec, source, plan.path, calendar)
        sources[name] = data
        tables[name] = LookupTable(data)  # the roster too: roster[payee].manager
    return tables


def _table_source(plan: CheckedPlan, kind: str, inputs: RunInputs, base: Path | None):
    spec = plan.tables.get(kind)
    source = getattr(inputs, kind) if getattr(inputs, kind) is not None else inputs.tables.get(kind)
    if source is None and spec is not None and spec.rows is None:
        source = resolve_plan_file(spec.file, kind, plan, base, inputs.allow_outside_paths)
    return spec, source


@dataclass
class BasisTables:
    """The tables read beside the transactions: the roster, the quotas and the targets (None where the plan
    has none), and the sources they were read from."""

    managers: dict[str, str]  # payee -> manager, of a roster of payees and managers alone, for rollups
    roster: RosterRows | None  # a roster with dates or terms (start, end, plan, currency, eligibility)
    named: list[str]  # everyone a roster of payees and managers names (draws and the floor pay them)
    quotas: PayeeAmounts | None
    targets: PayeeAmounts | None
    sources: dict


def read_basis_tables(plan: CheckedPlan, calendar: PlanCalendar, inputs: RunInputs, base: Path | None) -> BasisTables:
    """The roster, the quotas and the targets, and the sources they were read from."""
    sources: dict = {}
    managers_by_name, roster, named = _roster(plan, calendar, inputs, base, sources)
    quotas, targets = (_amounts(plan, calendar, kind, inputs, base, sources) for kind in ("quotas", "targets"))
    return BasisTables(managers_by_name, roster, named, quotas, targets, sources)


def fx_rates(
    plan: CheckedPlan, calendar: PlanCalendar, inputs: RunInputs, base: Path | None, sources: dict
) -> Rates | None:
    """The fx table, if the plan has one: from ``--table fx=PATH`` (``tables={"fx": ...}``), else the file or
    rows the plan gives it."""
    spec = plan.tables.get(TableKind.FX)
    if spec is None:
        return None
    source = inputs.tables.get(TableKind.FX)
    if source is None and spec.rows is None:
        source = resolve_plan_file(spec.file, "the fx table", plan, base, inputs.allow_outside_paths)
    data = load_reference(spec, source, plan.path, calendar)
    sources[TableKind.FX.value] = data
    return read_rates(data, plan.settings.currency)


def _amounts(
    plan: CheckedPlan, calendar: PlanCalendar, kind: str, inputs: RunInputs, base: Path | None, sources: dict
) -> PayeeAmounts | None:
    spec, source = _table_source(plan, kind, inputs, base)
    if spec is None:
        return None
    data = load_reference(spec, source, plan.path, calendar)
    sources[kind] = data
    return payee_amounts(data, calendar)


def _roster(
    plan: CheckedPlan, calendar: PlanCalendar, inputs: RunInputs, base: Path | None, sources: dict
) -> tuple[dict[str, str], RosterRows | None, list[str]]:
    """An undated roster's managers (where credit rolls up) and everyone it names (a plan with a draw or a
    payout floor pays them, with a transaction or not), or a roster with dates or terms, read whole."""
    declared = plan.tables.get(TableKind.ROSTER)
    termed = declared is not None and has_terms(declared)
    guarantees = plan.draw is not None or plan.settings.payout_floor is not None
    if not plan.transactions.rollup and not termed and not (declared is not None and guarantees):
        return {}, None, []
    spec, source = _table_source(plan, "roster", inputs, base)
    data = load_reference(spec, source, plan.path, calendar)
    sources["roster"] = data
    if termed:
        return {}, read_roster(data, plan.settings.name), []
    managers = roster_managers(data)
    named = sorted({*roster_payees(data), *managers.values()})
    return (managers if plan.transactions.rollup else {}), None, named


def has_terms(roster: TableSpec) -> bool:
    """Whether a roster says more than who manages whom: employment (dates, plans), currency or eligibility."""
    return roster.employment or roster.prorate is not None or "currency" in roster.roles


# Why a table given to a run was left unread: the plan has no use for it.
_UNUSED = {
    "quotas": "the plan uses no quota",
    "targets": "the plan uses no target incentive",
    "roster": "the plan neither rolls up to managers, nor pays a draw or a payout floor, nor has a roster block",
    "fx": "the plan has no fx table",
}


def unread_tables(inputs: RunInputs, sources: dict) -> list[tuple[str, str, str]]:
    """The quotas, targets, roster or fx table given to a run that the plan never read, each as (name, what it
    was given as, why it went unread): the summary warns of them, as they may be meant for another plan."""
    unread = []
    for name, why in _UNUSED.items():
        given = getattr(inputs, name, None)
        given = given if given is not None else inputs.tables.get(name)
        if given is None or name in sources:
            continue
        what = str(given) if isinstance(given, (str, Path)) else f"a {type(given).__name__}"
        unread.append((name, what, why))
    return unread
