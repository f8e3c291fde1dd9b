"""A run on a Dask cluster, from the client: the steps, what the groups sent back added up, the ledger folder.

1. Each piece of the transactions is read on a worker and routed: the groups of the payees each row may
   credit (:mod:`spmlang.cluster.groups`).
2. Keys seen in several rows are found with Dask's shuffle (by key), so that the rows of a key meet.
3. The rows are shuffled by group (Dask's shuffle), and each group is paid by the engine of a run on one
   machine, its part of the ledger written as it is paid (:mod:`spmlang.cluster.paying`).
4. The client adds up the row accounting of every group (each row counted by one), writes the rejects and the
   manifest, and renames the folder of parts into place: a run that fails leaves no ledger.

One module, though long: the client's steps in the order they run, each handing its work to Dask.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from spmlang.cluster import groups as g
from spmlang.cluster import stops, work
from spmlang.cluster.pieces import pieces_of
from spmlang.diagnostics import InputError
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.read.earlier import read_earlier
from spmlang.engine.read.inputs import RunInputs, fx_rates, lookup_tables, read_basis_tables
from spmlang.engine.read.loaded import LoadedTable
from spmlang.engine.read.plan_files import resolve_plan_file
from spmlang.report.manifest import FileRecord, InputRecord, input_records
from spmlang.report.summary import Summary, owed_notes
from spmlang.settings import count_setting

NOT_YET = "E515"  # a plan feature or option a cluster does not run yet
FAILED = "E514"  # the cluster could not be used, or the run could not finish on it


@dataclass
class ClusterRun:
    """What a run on a cluster gave: the summary, the row accounting, the rejects, and the ledger folder (with
    its parts) if one was written."""

    summary: Summary
    accounting: dict
    rejects: pa.Table
    line_count: int | None  # None: no ledger was written (its lines were not made)
    run_id: str
    inputs: list[InputRecord]
    options: dict
    groups: int
    path: Path | None = None
    parts: list[FileRecord] | None = None


def refuse_what_is_not_yet_distributed(plan, inputs: RunInputs) -> None:
    """A clean error (E515) for what a cluster run would not do as one machine does."""
    if inputs.keep_transactions:
        raise InputError("not yet on a cluster: what-ifs (keep_transactions)", code=NOT_YET)


def run_on_cluster(
    compiled: CompiledPlan,
    inputs: RunInputs,
    client,
    out: Path | None = None,
    options: dict | None = None,
    progress: bool = False,
    groups: int | None = None,
) -> ClusterRun:
    """Run ``compiled`` over ``inputs`` on the Dask ``client``'s cluster; the ledger, if ``out`` is given, is
    written as a folder of parquet parts there (its manifest is written by the caller:
    :func:`spmlang.cluster.result.run_on`)."""
    plan = compiled.plan
    refuse_what_is_not_yet_distributed(plan, inputs)
    base = Path(plan.path).resolve().parent if plan.path and not plan.path.startswith("<") else None
    deals = inputs.deals
    if deals is None:
        deals = resolve_plan_file(plan.transactions.file, "transactions", plan, base, inputs.allow_outside_paths)
    if deals is None:
        raise InputError("no transactions given", hint="pass --deals PATH (or deals=... in Python)", code="E503")
    # The tables every group reads are read here first: a problem with them is said before any work is sent.
    sources: dict = {}
    earlier = read_earlier(inputs.paid, plan, compiled.calendar) if inputs.paid else None
    for number, paid in enumerate(earlier.files if earlier is not None else [], 1):
        sources[f"paid {number}"] = paid
    lookup_tables(plan, compiled.calendar, inputs, base, sources)
    fx_rates(plan, compiled.calendar, inputs, base, sources)
    tables = read_basis_tables(plan, compiled.calendar, inputs, base)
    sources.update(tables.sources)
    pieces = pieces_of(deals, _label(deals))
    count = groups or count_setting("SPM_CLUSTER_GROUPS", "16 (payee groups)") or 2 * sum(client.nthreads().values())
    count = max(1, count)
    managers = _managers(tables)
    by_key = _earlier_keys(earlier, count)
    options = dict(options or {"strict": inputs.strict, "allow_outside_paths": inputs.allow_outside_paths})
    folder = _partial_folder(out) if out is not None else None
    import dask

    held: list = []  # what the run keeps on the workers: let go if it fails
    try:
        # The rows travel as Arrow bytes in object columns: Dask must not make text of them.
        with dask.config.set({"dataframe.convert-string": False}):
            return _run(
                compiled, inputs, client, pieces, count, managers, by_key, sources, options, folder, out, progress, held
            )
    except BaseException:
        _given_up(held, folder)
        raise


def _given_up(held: list, folder: str | None) -> None:
    """A run that failed: what it kept on the workers let go (Dask drops the tasks no one waits for), and its
    folder of parts removed. A task still running may be writing a part: the folder is renamed first, and a
    part is written only into a folder that is there (never made by a worker), so none is left behind."""
    held.clear()
    if folder is not None and os.path.isdir(folder):
        gone = f"{folder}.failed"
        os.replace(folder, gone)
        shutil.rmtree(gone, ignore_errors=True)


def _run(compiled, inputs, client, pieces, count, managers, by_key, sources, options, folder, out, progress, held):
    import dask.dataframe as dd
    from dask import delayed

    plan = compiled.plan
    records = input_records(sources, None)
    job = work.Job(
        uuid.uuid4().hex,
        plan,
        _for_workers(inputs, sources),
        count,
        managers,
        by_key,
        "",
        folder,
        [str(p) for p in inputs.paid],
    )
    label = pieces[0].label
    try:
        reading = delayed(job, pure=False)
        routed = client.persist([delayed(work.route_piece)(p.source, p.label, p.shown, reading) for p in pieces])
        held.append(routed)
        rows = client.compute([delayed(work.rows_of)(r) for r in routed], sync=True)
        bases = _bases(rows, routed, client)
        transactions = _transaction_records(client, pieces, rows)
        run_id = _run_id(plan.sha256, transactions + records, options)
        job_d = delayed(replace(job, run_id=run_id), pure=False)
        meta = work.keys_meta(g.words(count))
        keys = dd.from_delayed([delayed(work.keys_frame)(r) for r in routed], meta=meta, verify_meta=False)
        repeated = keys.shuffle(on="key", npartitions=max(1, len(pieces))).map_partitions(work.repeated_keys, meta=meta)
        found = client.compute(repeated, sync=True)
        words = [c for c in found.columns if c != "key"]
        same_key = {
            str(key): np.asarray(masks, np.int64).view(np.uint64)
            for key, masks in zip(found["key"], found[words].to_numpy(), strict=True)
        }
        blobs = dd.from_delayed(
            [delayed(work.blob_frame)(r, i, same_key, bases[i], job_d) for i, r in enumerate(routed)],
            meta=work.BLOB_META,
            verify_meta=False,
        )
        credited = blobs.shuffle(on="group", npartitions=count).map_partitions(
            work.credit_partition, job_d, bases, label, meta=work.CREDITED_META
        )
        credited = client.persist(credited)
        held.append(credited)
        # The pieces as read and routed are let go: Dask drops each once the rows it sent are credited (not
        # when all are), and reads it again if a lost worker's part must be made again.
        del routed, keys, repeated, blobs, held[0]
        _progress(credited, progress)
        if stops.may_stop(plan, inputs.strict):  # every group credited: the row one machine would stop at
            stopped = [s for s in client.compute(credited["stops"], sync=True) if s is not None]
            if stopped:
                raise stops.said(stopped, compiled, inputs, label)
        through = int(client.compute(credited["through"].max(), sync=True))
        paid_frame = client.persist(credited.map_partitions(work.pay_partition, job_d, through, meta=work.PAID_META))
        held.append(paid_frame)
        _progress(paid_frame, progress)
        paid = sorted(client.compute(paid_frame, sync=True)["paid"], key=lambda p: p.group)
    except _lost() as error:  # a worker lost again and again, a connection closed: said as such, no traceback
        raise InputError(
            f"the run could not finish on the cluster: {_why_lost(error)}",
            code=FAILED,
            hint="Dask retries a task whose worker was lost; this one failed each time. Check the workers' "
            "logs and memory (docs/scale.md); nothing was written",
        ) from None
    result = _gathered(paid, compiled, sum(rows), label, transactions + records, sources, run_id, options, count)
    if folder is not None and out is not None:
        result.parts = [
            FileRecord(path=p.part[0], format="parquet", sha256=p.part[2], rows=p.part[1]) for p in paid if p.part
        ]
        _into_place(folder, out)
        result.path = out
    return result


def _lost() -> tuple[type[BaseException], ...]:
    """What Dask raises when a run cannot finish on its cluster (not a mistake in the data, nor a bug)."""
    from asyncio import CancelledError as TaskCancelled
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    return (KilledWorker, CommClosedError, CancelledError, TaskCancelled, TimeoutError, OSError)


_STEPS = {  # the tasks of a run, as its error says them
    "route_piece": "reading and routing a piece of the transactions",
    "credit_partition": "crediting payee groups",
    "pay_partition": "paying payee groups",
}


def _why_lost(error: BaseException) -> str:
    """What a run lost, in a sentence: a task whose worker process ended each time it ran it, by its step."""
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        key = error.task[0] if isinstance(error.task, tuple) else error.task
        step = _STEPS.get(str(key).split("-")[0])
        tried = error.allowed_failures + 1
        # Dask counts a lost worker against every task it had been given, queued ones too: the task it names
        # was on the worker each time, but another task there may have ended it.
        doing = step or "running one of the run's tasks"
        return f"a worker process ended each of the {tried} times it was {doing} (or running another task beside it)"
    return f"{type(error).__name__}: {error}"


def _progress(frame, progress: bool) -> None:
    """Dask's progress bar of ``frame`` (persisted), if asked for: until it is computed."""
    if progress:
        from distributed import progress as dask_progress

        dask_progress(frame)


def _managers(tables) -> dict[str, set[str]]:
    """Each payee's managers in the roster, on any date (credit may roll up to any of them)."""
    managers: dict[str, set[str]] = {}
    for payee, manager in tables.managers.items():
        managers.setdefault(payee, set()).add(manager)
    if tables.roster is not None:
        for payee, manager in zip(tables.roster.payee, tables.roster.manager, strict=True):
            if manager:
                managers.setdefault(payee, set()).add(manager)
    return managers


def _earlier_keys(earlier, count: int) -> dict[str, np.ndarray]:
    """The keys earlier ledgers cite, each with the groups of the payees they paid it to."""
    by_key: dict[str, np.ndarray] = {}
    if earlier is not None:
        group = earlier.payee.codes(lambda payee: g.group_of(payee, count), -1)
        for key, number in zip(earlier.txn.to_pylist(), group.tolist(), strict=True):
            if key is not None:
                mask = by_key.setdefault(key, np.zeros(g.words(count), np.uint64))
                mask |= g.bits([number], count)
    return by_key


def _gathered(paid, compiled, read, label, inputs, sources, run_id, options, count) -> ClusterRun:
    """The groups' results as one run's: accounting added up, summary rows in payee order."""
    plan = compiled.plan
    accounting: dict = {"read": 0, "credited": 0, "excluded": {}, "rejected": {}}
    for p in paid:
        accounting["read"] += p.accounting["read"]
        accounting["credited"] += p.accounting["credited"]
        for kind in ("excluded", "rejected"):
            for name, n in p.accounting[kind].items():
                accounting[kind][name] = accounting[kind].get(name, 0) + n
    if accounting["read"] != read:  # every row has one home: a mismatch is a bug, never a number to print
        raise RuntimeError(f"the groups accounted for {accounting['read']} rows of {read}")
    summaries = [p.summary for p in paid]
    first = summaries[0]
    components = max((s.components for s in summaries), key=len)  # with "draws and floor" if any group has it
    rows = [row for s in summaries for row in s.rows]
    for row in rows:
        row.by_component += [0] * (len(components) - len(row.by_component))
    periods = {label: i for i, label in enumerate(compiled.calendar.labels)}
    rows.sort(key=lambda row: (row.payee, periods[row.period]))
    rejects = pa.concat_tables([p.rejects for p in paid]).sort_by("row") if paid else pa.table({})
    first_rejects: dict = {}
    for reason, message in zip(
        rejects.column("reason").to_pylist(), rejects.column("message").to_pylist(), strict=True
    ):
        first_rejects.setdefault(reason, message)
    owed = [p.owed for p in paid]
    names = [n for o in owed for n in o[0]]
    order = np.argsort(np.array(names, dtype=object), kind="stable") if names else np.zeros(0, np.int64)
    arrays = [np.concatenate([o[i] for o in owed])[order] for i in (1, 2, 3)] if names else [np.zeros(0)] * 3
    notes = list(paid[0].period_notes) + owed_notes([names[i] for i in order.tolist()], *arrays)
    inputs_shown = [(name, source.label, source.rows) for name, source in sources.items()]
    summary = Summary(
        first.plan,
        first.currency,
        components,
        rows,
        accounting,
        first.counted_credit,
        [("transactions", label, read), *inputs_shown],
        first_rejects,
        _unpaid(paid, plan),
        notes,
        first.unchecked,  # every group reads the same earlier ledgers
        first.other_plans,
        first.unread,
    )
    records = inputs
    lines = None if any(p.lines is None for p in paid) else sum(p.lines or 0 for p in paid)
    return ClusterRun(summary, accounting, rejects, lines, run_id, records, options, count)


def _unpaid(paid, plan) -> list:
    """Each component's unpaid credit rows over every group, the message of the first row of all."""
    merged: dict = {}
    for p in paid:
        for component, reason, rows, credit, message in p.summary.unpaid:
            key = (component, reason)
            payee = p.unpaid_first[key]
            if key not in merged:
                merged[key] = [component, reason, rows, credit, message, payee]
                continue
            entry = merged[key]
            entry[2] += rows
            entry[3] += credit
            if payee < entry[5]:
                entry[4], entry[5] = message, payee
    from spmlang.engine.credit.row_values import REASONS

    index = {spec.name: i for i, spec in enumerate(plan.components)}
    ordered = sorted(merged.values(), key=lambda e: (index.get(e[0], len(index)), REASONS.index(e[1])))
    return [tuple(entry[:5]) for entry in ordered]


def _bases(rows: list[int], routed, client) -> list[int]:
    """The number before each piece's first row: one file's own numbering, else through the files."""
    if len(rows) == 1:
        return [client.compute(_offset(routed[0]), sync=True)]
    return [int(x) for x in np.concatenate([[0], np.cumsum(rows)[:-1]])]


def _offset(routed):
    from dask import delayed

    return delayed(lambda r: r.row_offset)(routed)


def _transaction_records(client, pieces, rows: list[int]) -> list[InputRecord]:
    """The transaction files (``rows`` each), each hashed on a worker (read where it is, not through the
    client). Several files are ``transactions 1``, ``transactions 2`` ... in name order."""
    from spmlang.hashing import sha256_file

    files = [p.path for p in pieces]
    if any(f is None or "://" in f for f in files):
        return [InputRecord(name="transactions", kind="in-memory", path=None, rows=sum(rows), sha256="")]
    hashes = client.gather(client.map(sha256_file, files, pure=False))
    names = ["transactions"] if len(files) == 1 else [f"transactions {i}" for i in range(1, len(files) + 1)]
    return [
        InputRecord(name=name, kind="file", path=str(f), rows=n, sha256=h)
        for name, f, n, h in zip(names, files, rows, hashes, strict=True)
    ]


def _run_id(plan_sha: str, records: list[InputRecord], options: dict) -> str:
    """As :func:`spmlang.report.ledger.run_id` makes it, of these inputs: the same ledger lines as one machine."""
    import hashlib

    inputs = {r.name: {"kind": r.kind, "rows": r.rows, "sha256": r.sha256} for r in records}
    material = json.dumps({"plan": plan_sha, "inputs": inputs, "options": options}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _label(deals) -> str | None:
    """How messages name the transactions: a file as a run on one machine names it, a glob or URL as given."""
    if not isinstance(deals, (str, Path)):
        return None
    text = str(deals)
    return text if "://" in text or any(c in text for c in "*?[") else str(Path(text))


def _for_workers(inputs: RunInputs, sources: dict) -> RunInputs:
    """The inputs as the workers read them: every table the client read (those the plan names too) sent as it
    was read, once to each worker, so that a worker neither needs the files nor names them otherwise than the
    client does (a rejected row's message names the fx table as it was given); earlier ledgers by their
    absolute paths."""
    tables: dict = {}
    for name, source in sources.items():
        loaded = getattr(source, "loaded", None)
        if isinstance(loaded, LoadedTable) and not name.startswith("paid "):
            tables[name] = replace(loaded, digest=None)  # its hash is the client's (the manifest's) alone
    return replace(
        inputs,
        deals=None,
        workers=1,
        quotas=tables.pop("quotas", inputs.quotas),
        targets=tables.pop("targets", inputs.targets),
        roster=tables.pop("roster", inputs.roster),
        tables={**inputs.tables, **tables},
        paid=[str(Path(p).resolve()) for p in inputs.paid],
    )


def _partial_folder(out: Path) -> str:
    out = Path(out)
    if out.exists() and not out.is_dir():
        from spmlang.diagnostics import OutputError

        raise OutputError(out, "a file is there, and a cluster writes the ledger as a folder", "give a folder name")
    partial = out.parent / f".{out.name}.{os.getpid()}.partial"
    partial.mkdir(parents=True, exist_ok=False)
    return str(partial.resolve())


def _into_place(folder: str, out: Path) -> None:
    """The folder of parts becomes ``out``; a ledger folder there before is replaced whole."""
    out = Path(out)
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.{os.getpid()}.old"
        os.replace(out, old)
    os.replace(folder, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
