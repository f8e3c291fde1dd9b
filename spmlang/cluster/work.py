"""What runs on the workers: route a piece of the transactions to payee groups, find keys seen more than once,
and pay a partition's groups with the engine of a run on one machine.

Every function here is a task: it takes plain values and the :class:`Job` (sent to each worker once), and gives
back plain values (pandas frames for Dask's shuffle, Arrow tables as IPC bytes inside them).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from spmlang.cluster import groups as g
from spmlang.cluster.job import GroupPaid, Job, context
from spmlang.cluster.paying import credit, pay
from spmlang.cluster.pieces import Piece
from spmlang.cluster.stops import group_stops, may_stop, recorded
from spmlang.diagnostics import InputError
from spmlang.engine.read.loaded import LoadedTable
from spmlang.engine.read.transactions import read_transactions
from spmlang.engine.runtime.memory import give_back_free_memory

ROW, HOME = "__spm_row", "__spm_home"  # columns a piece's rows carry to their groups
# For tests only: a file named by this variable (in the workers' environment), holding "STEP once" or "STEP
# always", makes a task of STEP (route, credit, pay) end its worker process: once (the first task to claim the
# file), or every time. How a lost worker is retried, or a run that cannot finish fails, is tested so.
TEST_KILL = "SPM_CLUSTER_TEST_KILL"


def _killed_for_tests(step: str) -> None:
    flag = os.environ.get(TEST_KILL)
    if not flag or not Path(flag).is_file():
        return
    said = Path(flag).read_text().split()
    if said[:1] != [step]:
        return
    if said[1:] != ["always"]:
        try:
            os.rename(flag, f"{flag}.claimed")  # one task claims it, whichever worker runs it
        except FileNotFoundError:
            return
    os._exit(1)


@dataclass
class Routed:
    """A piece read, and the groups each of its rows goes to (before keys seen twice are joined)."""

    table: pa.Table
    masks: np.ndarray
    keys: pa.Array  # each row's key as text, null where empty
    row_offset: int  # a row's number in its file is row + 1 + row_offset


def route_piece(source, label: str, shown: str | None, job: Job) -> Routed:
    """Read a piece as the engine reads transactions, and find the groups of the payees each row may credit."""
    _killed_for_tests("route")
    ctx = context(job)
    plan = ctx.compiled.plan
    loaded = Piece(source, label, shown).load(list(plan.transactions.columns))
    table = loaded.whole()
    # Read with the accounting of this piece alone: only the payee columns and the keys are used here; the
    # rows are read again, and accounted for (a row that stops the run too), in their groups.
    with recorded():
        txns = read_transactions(
            plan,
            LoadedTable(table, label, None, loaded.row_offset),
            ctx.lookups,
            ctx.compiled.calendar,
            False,
            ctx.rates,
        )
    masks = ctx.reach.of_rows(txns.payee_names, table.num_rows)
    routed = Routed(table, masks, txns.credited().keys(), loaded.row_offset)
    del txns
    give_back_free_memory()  # what reading took for a while, back before the next task
    return routed


def rows_of(routed: Routed) -> int:
    return routed.table.num_rows


def keys_frame(routed: Routed) -> pd.DataFrame:
    """Each row's key (rows with one) and groups, to find the keys seen more than once."""
    valid = np.asarray(routed.keys.is_valid().to_numpy(zero_copy_only=False), bool)
    frame = {"key": pd.Series(routed.keys.filter(pa.array(valid)).to_pylist(), dtype=object)}
    for word in range(routed.masks.shape[1]):
        frame[f"m{word}"] = routed.masks[valid, word].view(np.int64)
    return pd.DataFrame(frame)


def keys_meta(words: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"key": pd.Series([], dtype=object), **{f"m{w}": pd.Series([], dtype=np.int64) for w in range(words)}}
    )


def repeated_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The keys of a shuffled partition seen more than once, each with every group its rows go to."""
    repeated = frame[frame["key"].duplicated(keep=False)]
    if repeated.empty:
        return repeated
    words = [c for c in frame.columns if c != "key"]
    return repeated.groupby("key", sort=False)[words].agg(np.bitwise_or.reduce).reset_index()


def blob_frame(routed: Routed, piece: int, by_key: dict[str, np.ndarray], first_row: int, job: Job) -> pd.DataFrame:
    """The piece's rows for each group it has rows for (Arrow IPC bytes, one row per group), with each row's
    number in the piece and whether the group is its home. The first piece sends every group its rows, none
    or some: each group gets the columns' types, and a group no row goes to is still paid (its payees with no
    transaction: draws)."""
    masks = routed.masks.copy()
    g.add_by_key(masks, routed.keys, by_key)
    g.add_by_key(masks, routed.keys, job.by_key)
    g.homeless(masks, routed.keys, first_row, job.groups)
    home = g.lowest(masks, job.groups)
    groups, blobs = [], []
    for group in range(job.groups):
        rows = np.flatnonzero(g.has(masks, group))
        if rows.size == 0 and piece > 0:
            continue
        part = routed.table.take(pa.array(rows, pa.int64()))
        part = part.append_column(ROW, pa.array(rows, pa.int64()))
        part = part.append_column(HOME, pa.array(home[rows] == group, pa.bool_()))
        groups.append(group)
        blobs.append(_bytes(part))
    return pd.DataFrame(
        {
            "group": pd.Series(groups, dtype=np.int64),
            "piece": np.int64(piece),
            "data": pd.Series(blobs, dtype=BLOBS),
        }
    )


# Large binary (64-bit offsets): a group's rows from every piece are one partition of the shuffle, over 2 GB
# with tens of millions of rows a group, where plain binary's offsets overflow.
BLOBS = pd.ArrowDtype(pa.large_binary())
BLOB_META = pd.DataFrame(
    {
        "group": pd.Series([], dtype=np.int64),
        "piece": pd.Series([], dtype=np.int64),
        "data": pd.Series([], dtype=BLOBS),
    }
)
PAID_META = pd.DataFrame({"group": pd.Series([], dtype=np.int64), "paid": pd.Series([], dtype=object)})


CREDITED_META = pd.DataFrame(
    {
        "group": pd.Series([], dtype=np.int64),
        "credited": pd.Series([], dtype=object),
        "through": pd.Series([], dtype=np.int64),
        "stops": pd.Series([], dtype=object),
    }
)


def credit_partition(frame: pd.DataFrame, job: Job, bases: list[int], label: str) -> pd.DataFrame:
    """Read and credit every group of a shuffled partition: one run of the engine per group, kept on the worker
    until it is paid (with how far its draws would be settled: see :func:`pay_partition`). Where a rejected
    row stops the run, a group that met such rows sends them back instead (see :mod:`spmlang.cluster.stops`)."""
    _killed_for_tests("credit")
    compiled = context(job).compiled
    plan = compiled.plan
    stopping = may_stop(plan, job.inputs.strict)
    # Without a draw or a payout floor, nothing a group pays waits for the others: it is paid at once, and
    # its credited run let go before the next group is read (see pay_partition).
    at_once = not stopping and plan.draw is None and plan.settings.payout_floor is None
    made: list[tuple] = []
    for group in sorted(set(frame["group"].tolist())):
        loaded, home = group_rows(frame[frame["group"] == group], bases, label)
        table, numbers = loaded.whole(), loaded.row_numbers
        stops: list = []
        if stopping:
            with recorded() as stops:
                run = credit(loaded, job, compiled)
        else:
            run = credit(loaded, job, compiled)
        if stops:
            assert numbers is not None  # a group's rows are always numbered (group_rows)
            made.append((group, None, -1, group_stops(stops, home, table, numbers, run.transactions.keys())))
        elif at_once:
            made.append((group, pay(group, run, home, job, run.cycle.guarantees_through), -1, None))
        else:
            made.append((group, (run, home), run.cycle.guarantees_through, None))
        del loaded, table, run
        give_back_free_memory()  # a group's rows as read, let go before the next group is read
    return pd.DataFrame(
        {
            "group": pd.Series([m[0] for m in made], dtype=np.int64),
            "credited": pd.Series([m[1] for m in made], dtype=object),
            "through": pd.Series([m[2] for m in made], dtype=np.int64),
            "stops": pd.Series([m[3] for m in made], dtype=object),
        }
    )


def pay_partition(frame: pd.DataFrame, job: Job, guarantees_through: int) -> pd.DataFrame:
    """Pay every credited group of a partition; draws and the floor settled up to ``guarantees_through``, the
    latest of every group's (the last period with data in the whole run)."""
    _killed_for_tests("pay")
    paid = []
    for group, credited in zip(frame["group"].tolist(), frame["credited"], strict=True):
        if isinstance(credited, GroupPaid):  # paid as it was credited (no draw nor floor to settle)
            paid.append(credited)
            continue
        run, home = credited
        paid.append(pay(group, run, home, job, guarantees_through))
        give_back_free_memory()
    return pd.DataFrame({"group": [p.group for p in paid], "paid": pd.Series(paid, dtype=object)})


def group_rows(frame: pd.DataFrame, bases: list[int], label: str) -> tuple[LoadedTable, np.ndarray]:
    """A group's rows from every piece, in file order, numbered as in their files; and which it accounts for."""
    frame = frame.sort_values("piece", kind="stable")
    tables = [_table(data) for data in frame["data"]]
    try:
        table = pa.concat_tables(tables)
    except pa.ArrowInvalid as error:
        raise InputError(
            f"the transaction files do not agree on their columns' types: {error}", file=label, code="E502"
        ) from None
    numbers = np.concatenate(
        [
            np.asarray(t.column(ROW).to_numpy(), np.int64) + 1 + bases[int(piece)]
            for t, piece in zip(tables, frame["piece"].tolist(), strict=True)
        ]
        or [np.zeros(0, np.int64)]
    )
    home = np.asarray(table.column(HOME).to_numpy(zero_copy_only=False), bool)
    table = table.drop_columns([ROW, HOME])
    return LoadedTable(table, label, None, 0, row_numbers=numbers), home


def _bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
