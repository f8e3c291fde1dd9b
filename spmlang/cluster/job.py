"""What a run on a cluster sends each worker once (:class:`Job`), what a worker keeps of it (the plan compiled, its
tables read), and what a payee group sends back (:class:`GroupPaid`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from spmlang.cluster import groups as g
from spmlang.engine.compile import CompiledPlan, compile_plan
from spmlang.engine.read.currencies import Rates
from spmlang.engine.read.inputs import RunInputs, fx_rates, lookup_tables
from spmlang.ir.plan import CheckedPlan


@dataclass
class Job:
    """Everything a worker needs of the run, sent once: the plan, the inputs but the transactions (paths, or
    tables in memory), the groups, and where the ledger's parts go."""

    token: str
    plan: CheckedPlan
    inputs: RunInputs
    groups: int
    managers: dict[str, set[str]]  # payee -> the managers above it in the roster
    by_key: dict[str, np.ndarray]  # keys earlier ledgers cite -> the groups of the payees they paid
    run_id: str
    folder: str | None  # the ledger's parts are written here (None: no ledger is written)
    paid_shown: list[str]  # the earlier ledgers as the run was given them (the workers read them by full path)


@dataclass
class _Context:
    compiled: CompiledPlan
    lookups: dict
    rates: Rates | None
    reach: g.Reach


_CONTEXTS: dict[str, _Context] = {}  # per worker process: the job's plan compiled and its tables read, once


def context(job: Job) -> _Context:
    found = _CONTEXTS.get(job.token)
    if found is None:
        _CONTEXTS.clear()  # one run at a time keeps its tables
        plan = job.plan
        base = Path(plan.path).resolve().parent if plan.path and not plan.path.startswith("<") else None
        sources: dict = {}
        compiled = compile_plan(plan)
        found = _Context(
            compiled,
            lookup_tables(plan, compiled.calendar, job.inputs, base, sources),
            fx_rates(plan, compiled.calendar, job.inputs, base, sources),
            g.Reach(job.groups, job.managers, plan.transactions.fallback),
        )
        _CONTEXTS[job.token] = found
    return found


@dataclass
class GroupPaid:
    """What a group sends back: its part of the ledger (written), its home rows' accounting and rejects, and
    its payees' summary rows."""

    group: int
    part: tuple[str, int, str] | None  # file name, lines, sha256
    lines: int | None  # None: no ledger was written, and the lines were not made
    accounting: dict
    rejects: pa.Table
    summary: object  # a report.summary.Summary of the group's payees
    unpaid_first: dict = field(default_factory=dict)  # (component, reason) -> first payee, for the merge
    owed: tuple = ((), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    period_notes: list[str] = field(default_factory=list)
