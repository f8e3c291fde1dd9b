"""The deals of a what-if as rows of the run's transactions: their values checked against the plan's columns, a
key and a payee filled in, each deal a one-row table read after the data's own rows (see :mod:`spmlang.whatif`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError, UsageError, did_you_mean
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credited import CreditedRun
from spmlang.engine.read.columns import convert_column
from spmlang.engine.read.dates import plausible
from spmlang.engine.read.formats import LoadedTable, load_table
from spmlang.engine.read.inputs import RunInputs
from spmlang.engine.read.transactions import InputRows, value_words
from spmlang.ir.expressions import Type
from spmlang.ir.plan import CheckedPlan, ColumnSpec

KEY_PREFIX = "whatif-"  # a deal without a key is given whatif-1, whatif-2 ...


def deal_values(run: CreditedRun, deals: list[Mapping[str, object]], payee: str | None) -> list[dict[str, object]]:
    """Each deal's values by column, in the plan's column order, checked: a column the plan reads, a value
    that reads as its type, a key no transaction has (``whatif-1`` ... where none is given), and a payee
    (``payee`` fills in the plan's first payee column where a deal does not give it). A value is text as a
    CSV file has it (``"50,000"`` where the column's format says so), or a Python value (a ``datetime.date``,
    a ``Decimal``)."""
    if not deals:
        raise UsageError("a what-if needs a deal: its columns and values, e.g. amount=50000,close_date=2027-09-15")
    if payee is not None and payee not in run.payees.code:
        hint = did_you_mean(payee, run.payees.names)
        raise UsageError(f"no payee '{payee}' in this run" + (f"; {hint}" if hint else ""))
    plan = run.plan
    filled = _filled(plan, run.transactions, deals, payee)
    for number, values in enumerate(filled, start=1):
        for name, value in values.items():
            _check_value(plan.transactions.columns[name], value, run.calendar, _which(number, len(filled)))
    return filled


def shown(deals: list[dict[str, object]]) -> list[dict[str, str]]:
    """The deals' values as text, as a what-if shows them and its run's options record them."""
    return [{name: as_text(value) for name, value in values.items()} for values in deals]


def rerun_inputs(run: CreditedRun, read: LoadedTable, deals: list[dict[str, object]], options: dict) -> RunInputs:
    """The inputs of ``run`` again, as it read them, with ``deals`` as rows after the transactions' own: each
    deal a one-row table of its own, converted by the same converters as the data's rows."""
    table = read
    for values in deals:
        table = table.with_rows(_piece(run.plan, values, read.whole().schema))
    table.label = f"{read.label} with the what-if deal{'s' if len(deals) > 1 else ''}"  # a row it names may be one
    sources = {
        name: getattr(source, "loaded", None)
        for name, source in run.sources.items()
        if name != "transactions" and not name.startswith("paid ")
    }
    return RunInputs(
        deals=table,
        quotas=sources.get("quotas"),
        targets=sources.get("targets"),
        roster=sources.get("roster"),
        tables={name: source for name, source in sources.items() if source is not None},
        strict=bool(options.get("strict")),
        allow_outside_paths=bool(options.get("allow_outside_paths")),
        workers=run.workers_wanted,
        paid=[file.path for file in run.cycle.files],  # the same place in the pay cycle
        through=options.get("through"),
    )


def read_again(loaded: LoadedTable, columns: list[str]) -> LoadedTable:
    """A run's transactions as read: kept by the run (read whole, or given in memory), else read again from
    their file, which must be the file the run read."""
    if loaded.table is not None:
        return loaded
    if loaded.path is None:  # a table in memory is kept by the run
        raise ValueError("the run kept neither its transactions nor where they came from")
    again = load_table(loaded.path, columns, "transactions")
    if again.sha256() != loaded.sha256():
        raise InputError(
            "the file changed since the run",
            file=loaded.label,
            hint="run the plan again, then ask what the deal would pay over the data as it is now",
            code="E513",
        )
    again.kept = True
    return again


# ---------------------------------------------------------------------- checking and filling in
def _filled(
    plan: CheckedPlan, rows: InputRows, deals: list[Mapping[str, object]], payee: str | None
) -> list[dict[str, object]]:
    source = plan.transactions
    columns = source.columns
    key, payee_column = source.key, source.payees[0].column
    keys = _Keys(rows, columns[key])
    filled = []
    for number, deal in enumerate(deals, start=1):
        values: dict[str, object] = {}
        for name, value in deal.items():
            if name not in columns:
                hint = did_you_mean(name, columns)
                raise InputError(
                    f"the plan reads no column '{name}'",
                    file=_which(number, len(deals)),
                    column=name,
                    hint=(hint + " " if hint else "") + f"its transaction columns: {', '.join(columns)}",
                    code="E513",
                )
            values[name] = value
        if _empty(values.get(payee_column)) and payee is not None:
            values[payee_column] = payee
        if _empty(values.get(payee_column)):
            raise InputError(
                "whose deal is it? it has no payee",
                file=_which(number, len(deals)),
                column=payee_column,
                hint=f"give the payee: spm whatif --payee NAME, or {payee_column}=NAME in the deal",
                code="E513",
            )
        if _empty(values.get(key)):
            values[key] = keys.new(number)
        text_key = as_text(values[key])
        if text_key in keys:
            raise InputError(
                f"a transaction has the key '{text_key}' already",
                file=_which(number, len(deals)),
                column=key,
                hint=f"give the deal its own {key}, or none: spm then makes one ({KEY_PREFIX}1 ...)",
                code="E513",
            )
        keys.given.append(text_key)
        filled.append({name: values[name] for name in columns if name in values})
    return filled


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Keys:
    """The keys of the data's transactions and of the deals so far: whether one is taken, and a new one."""

    def __init__(self, rows: InputRows, spec: ColumnSpec):
        self.rows, self.whole_numbers = rows, spec.type is Type.INTEGER
        self.given: list[str] = []  # the deals' keys, as text
        self._text: pa.Array | None = None

    def __contains__(self, key: str) -> bool:
        if key in self.given:
            return True
        if self.whole_numbers:  # compared as numbers: the data's keys are not made text
            number = _whole_number(key)
            values = np.asarray(self.rows.key_values)[np.asarray(self.rows.key_valid, bool)]
            return number is not None and bool(np.any(values == number))
        if self._text is None:
            self._text = self.rows.keys()
        return bool(pc.any(pc.equal(self._text, pa.scalar(key, pa.string()))).as_py())

    def new(self, number: int) -> object:
        """The first of whatif-1, whatif-2 ... from ``number`` on that no transaction has; for whole-number
        keys, the next number after the largest."""
        if self.whole_numbers:
            values = np.asarray(self.rows.key_values)[np.asarray(self.rows.key_valid, bool)]
            given = [n for n in map(_whole_number, self.given) if n is not None]
            return max([int(values.max()) if values.size else 0, *given]) + 1
        while f"{KEY_PREFIX}{number}" in self:
            number += 1
        return f"{KEY_PREFIX}{number}"


def _whole_number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _arrow(value: object) -> pa.Array:
    """A value given for a column as a one-row Arrow array: text as text (read as a CSV cell is), Python values
    in their own type (read as a parquet file's are)."""
    if isinstance(value, np.generic):  # numpy's scalars (a datetime64, an int64) as the Python values they hold
        value = value.item()
    if value is None or isinstance(value, str):
        return pa.array([value], pa.string())
    if isinstance(value, dt.datetime):  # with its time zone, if it has one: its date is the local one, as a row's
        return pa.array([value]) if value.tzinfo is not None else pa.array([value], pa.timestamp("us"))
    try:
        return pa.array([value])
    except (OverflowError, TypeError, pa.ArrowException):  # 10**20, say: read as its text, which says what is wrong
        return pa.array([str(value)], pa.string())


def _piece(plan: CheckedPlan, values: dict[str, object], data: pa.Schema) -> pa.Table:
    """A deal as a one-row table of every column the plan reads (those it does not give empty). Its text is of
    the width of the data's (string, or large_string as pandas gives it): a column's pieces of text are joined
    into one array."""
    arrays = {}
    for name in plan.transactions.columns:
        array = _arrow(values[name]) if not _empty(values.get(name)) else pa.nulls(1, pa.string())
        kind = data.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_large_string(kind) and pa.types.is_string(array.type):
            array = array.cast(pa.large_string())
        arrays[name] = array
    return pa.table(arrays)


def _which(number: int, count: int) -> str:
    """How an error names a deal: "the what-if deal", or "what-if deal 2" of several."""
    return "the what-if deal" if count == 1 else f"what-if deal {number}"


def _check_value(spec: ColumnSpec, value: object, calendar: PlanCalendar, which: str) -> None:
    """A value given for a column reads as the column's type, or the error names the column."""
    if _empty(value):
        return
    try:
        column = convert_column(_arrow(value), spec, "the deal", plausible(calendar))
    except InputError:  # a Python value of a type the column cannot hold (a date for a money column)
        column = None
    if column is not None and not column.invalid.any():
        return
    note = column.notes[0].as_py() if column is not None and column.notes is not None else None
    raise InputError(
        note or f"cannot read '{as_text(value)}' as {value_words(spec)}",
        file=which,
        column=spec.name,
        hint=f"write the deal's {spec.name} as the data writes it",
        code="E513",
    )


def as_text(value: object) -> str:
    """A value as the deal shows it: text as given, dates in ISO, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return "" if value is None else str(value)
