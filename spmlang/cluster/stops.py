"""`--strict` and a plan's `on SUBJECT error` on a cluster: the rejected row that stops the run, said as a run on
one machine says it.

One machine stops at the first step (reading, crediting, a component's values) that meets a row it must not
let through, and names the first such row of that step (in file order; for a component's values, in the order
of the credit rows), with how many rows that step met. A group meets only its own rows, so no group can tell
which step is the first of the whole run. So every group credits its rows with the stops recorded, not raised
(:data:`~spmlang.engine.read.accounting.STOPS_RECORDED`), and sends back, for each step that met such rows,
where in spm it was met, how many of its home rows it met (each row has one home group), and its first row
with the other rows of that row's key. The client credits those few rows, in file order, with the stops
recorded too: the first it meets is where one machine stops, on the same row (every row's fate up to that
step is its own, as in its group), and the count is the sum over the groups of that step's home rows.

Steps are told apart by where in spm they were met and the plan clauses (a filter, a component) it was at. One
case is left as E515: one clause that met such rows at one place for two steps alike (one filter looking a key
up in two tables, each lacking a different key): the groups' counts of each cannot be told apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.read.accounting import STOPS_RECORDED, RecordedStop
from spmlang.engine.read.loaded import LoadedTable
from spmlang.ir.kinds import PolicyAction

NUMBER = "__spm_number"  # the column of each sent row's number in its file


def may_stop(plan, strict: bool) -> bool:
    """Whether a rejected row may stop the run: ``--strict``, or a plan's `on SUBJECT error`."""
    return strict or any(action is PolicyAction.ERROR for action in plan.transactions.policies.values())


@dataclass
class Met:
    """A step that met rows that stop the run, in one group: where in spm (``site``), and how many of the
    group's home rows."""

    site: tuple
    home_rows: int


@dataclass
class GroupStops:
    """What a group sends back when it met rows that stop the run: each step that met some, and the first
    row of each (with its key's other rows), as Arrow IPC bytes with each row's number."""

    met: list[Met]
    rows: bytes


def recorded():
    """Stops recorded, not raised, while a group is credited (``with recorded() as stops: ...``)."""
    import contextlib

    @contextlib.contextmanager
    def recording():
        stops: list[RecordedStop] = []
        token = STOPS_RECORDED.set(stops)
        try:
            yield stops
        finally:
            STOPS_RECORDED.reset(token)

    return recording()


def group_stops(stops: list[RecordedStop], home: np.ndarray, table: pa.Table, numbers: np.ndarray, keys) -> GroupStops:
    """What a group sends back of the ``stops`` it met crediting ``table`` (rows numbered ``numbers``, keyed
    ``keys``)."""
    met = []
    firsts = []
    for stop in stops:
        rows = stop.rows.astype(np.int64)
        met.append(Met(stop.site, int(np.count_nonzero(home[rows]))))
        firsts.append(int(rows[0]))
    # The first rows, and every row of their keys: the second row of a key is a duplicate only after the first.
    first_keys = keys.take(pa.array(firsts, pa.int64()))
    same_key = pc.fill_null(pc.is_in(keys, value_set=pc.drop_null(first_keys)), False)
    chosen = np.asarray(same_key.to_numpy(zero_copy_only=False), bool)
    chosen[firsts] = True
    at = np.flatnonzero(chosen)
    sent = table.take(pa.array(at, pa.int64())).append_column(NUMBER, pa.array(numbers[at], pa.int64()))
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, sent.schema) as writer:
        writer.write_table(sent)
    return GroupStops(met, sink.getvalue())


def said(stopped: list[GroupStops], compiled, inputs, label: str) -> InputError:
    """The error a run on one machine stops with, from what the groups that met stops sent back."""
    from spmlang.engine.run import credit_run

    tables = [pa.ipc.open_stream(pa.py_buffer(s.rows)).read_all() for s in stopped]
    rows = pa.concat_tables(tables, promote_options="permissive")
    numbers = np.asarray(rows.column(NUMBER).to_numpy(), np.int64)
    _, unique = np.unique(numbers, return_index=True)  # in file order, each row once
    rows, numbers = rows.take(pa.array(unique, pa.int64())).drop_columns([NUMBER]), numbers[unique]
    loaded = LoadedTable(rows, label, None, 0, row_numbers=numbers)
    with recorded() as here:
        credit_run(compiled, replace(inputs, deals=loaded, workers=1))
    if not here:
        return _cannot_tell("the rows sent back did not stop the run")
    stop = here[0]  # where one machine stops: the first step that met such rows, in spm's order
    if any(other.site == stop.site for other in here[1:]):
        return _cannot_tell("one place in spm met such rows for two steps: the groups' counts cannot be told apart")
    total = sum(m.home_rows for s in stopped for m in s.met if m.site == stop.site)
    error = stop.error
    first = error.message.rsplit(" (", 1)[0]  # the client's own words (its tables named as they were given)
    return InputError(
        f"{first} ({total} row(s) like this)",
        file=error.file,
        column=error.column,
        row=error.row,
        hint=error.hint,
        code="E510",
    )


def _cannot_tell(why: str) -> InputError:
    return InputError(
        f"not yet on a cluster: saying which rejected row stops this run ({why}); rows were rejected where the "
        "run must stop",
        code="E515",
        hint="run without --cluster to see the row, or let such rows be rejected and read them in --rejects",
    )
