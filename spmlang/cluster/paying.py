"""Paying one payee group on a worker: the engine of a run on one machine over the group's transactions, whose
lines are kept for the group's own payees only (the others are paid, whole, in their own groups)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.cluster.groups import dictionary, group_of
from spmlang.cluster.job import GroupPaid, Job
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credited import CreditedRun
from spmlang.engine.payout import Payout
from spmlang.engine.read.loaded import LoadedTable
from spmlang.engine.run import credit_run
from spmlang.report.files import write_chunks
from spmlang.report.ledger import ledger_chunks, ledger_schema
from spmlang.report.summary import owed, period_notes, summarize


def part_name(group: int) -> str:
    return f"part-{group:05d}.parquet"


def credit(loaded: LoadedTable, job: Job, compiled: CompiledPlan) -> CreditedRun:
    """A group's transactions ``loaded``, read and credited as on one machine."""
    run = credit_run(compiled, replace(job.inputs, deals=loaded, workers=1))
    # Kept on the worker until paid, and moved if Dask moves it: without the files it read (their hashes are
    # computed on threads, which do not travel). The client has its own record of them.
    return replace(run, sources={})


def pay(group: int, run: CreditedRun, home: np.ndarray, job: Job, guarantees_through: int) -> GroupPaid:
    """Pay the group ``group`` from its credited run (``home``: the rows it accounts for). Draws and the payout
    floor are settled up to the last period with data in the whole run, ``guarantees_through``: a group sees
    only some of the data, and that is the one fact of the pay cycle that depends on all of it."""
    names = run.payees.names
    mine = np.array([group_of(name, job.groups) == group for name in names], bool)
    cycle = run.cycle
    files = [replace(file, path=shown) for file, shown in zip(cycle.files, job.paid_shown, strict=True)]
    # Payees with no credit row here are settled (draws, the floor) only in their own group: every group knows
    # every payee of the tables, and would otherwise settle them all.
    unrowed = cycle.unrowed[mine[cycle.unrowed]]
    run = replace(run, cycle=replace(cycle, guarantees_through=guarantees_through, files=files, unrowed=unrowed))
    payout = Payout(run)
    part, lines = None, None
    if job.folder is not None:
        chunks = (_own(chunk, mine, names) for chunk in ledger_chunks(payout, job.run_id))
        # Into the folder the client made; never made here: gone, the run was given up (see run.py).
        written = write_chunks(chunks, Path(job.folder) / part_name(group), ledger_schema(run.plan), make_folder=False)
        part, lines = (written.path.name, written.rows, written.sha256), written.rows
    # Without a folder nothing reads the lines: the summary below is paid by group sums where the plan allows
    # (spmlang.engine.pay.sums), as a run on one machine without --out is.
    summary = summarize(payout)
    summary.rows = [row for row in summary.rows if mine[run.payees.code[row.payee]]]
    summary.unpaid, unpaid_first = _unpaid(run, mine)
    owed_names, draw, floor, held = owed(payout)
    keep = np.array([mine[run.payees.code[name]] for name in owed_names], bool)
    rejects = run.accounting.rejects(run.transactions.keys())
    home_numbers = pa.array(run.accounting.numbers(np.flatnonzero(home)), pa.int64())
    rejects = rejects.filter(pc.is_in(rejects.column("row"), value_set=home_numbers))
    return GroupPaid(
        group,
        part,
        lines,
        run.accounting.counts(among=home),
        rejects,
        summary,
        unpaid_first,
        ([n for n, k in zip(owed_names, keep.tolist(), strict=True) if k], draw[keep], floor[keep], held[keep]),
        period_notes(payout),
    )


def _own(chunk: pa.Table, mine: np.ndarray, names: list[str]) -> pa.Table:
    """The lines of a ledger chunk whose payee is in the group."""
    payee = dictionary(chunk.column("payee"))
    code = {name: i for i, name in enumerate(names)}
    in_group = np.array([bool(mine[code[str(name)]]) for name in payee.dictionary.to_pylist()] or [False])
    indices = payee.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return chunk.filter(pa.array(in_group[indices]))


def _unpaid(run, mine: np.ndarray) -> tuple[list, dict]:
    """The credit rows of the group's payees each component could not pay (as Summary.unpaid has them), and
    the first payee of each (component, reason): the merge keeps the message of the first row of all."""
    found, first = [], {}
    component_index = {spec.name: i for i, spec in enumerate(run.plan.components)}
    for unpaid in run.unpaid():
        rows = unpaid.rows[mine[run.credit_rows.payee[unpaid.rows]]]
        if rows.size == 0:
            continue
        values = run.row_values[component_index[unpaid.component]]
        credit = int(run.credit_rows.credit[rows].astype(object).sum())
        message = values.failure[int(rows[0])].as_py() if values.failure is not None else unpaid.message
        found.append((unpaid.component, unpaid.reason, int(rows.size), credit, message))
        first[(unpaid.component, unpaid.reason)] = run.payees.names[int(run.credit_rows.payee[rows[0]])]
    return found, first
