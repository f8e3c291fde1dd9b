"""The plan's tables loaded for a run: lookups, quotas, targets, the roster.

One module, though long: every table read beside the transactions is found, read and checked the same way.
Their data must be clean: a bad value in a quota file is an
:class:`InputError` naming the file, row and column (a run that silently
dropped a quota would pay the wrong amounts). Transactions, by contrast, are
rejected row by row.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import OPEN_END, OPEN_START, PlanCalendar
from spmlang.engine.expressions.values import Frame, Issue, Vec, const_value, decoded_text, on_text
from spmlang.engine.kernels.money import UNIT, to_units
from spmlang.engine.read.columns import ColumnValues, convert_column
from spmlang.engine.read.dates import COMMON, DEFAULT, parse, plausible, wrong_format_notes
from spmlang.engine.read.formats import LoadedTable, available_columns, load_table
from spmlang.figures import format_money
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import Per, TableKind
from spmlang.ir.plan import TableSpec


@dataclass
class TableData:
    """A reference table's columns, converted to their declared types."""

    spec: TableSpec
    label: str
    columns: dict[str, ColumnValues]
    rows: int
    row_offset: int  # file row numbering, as in LoadedTable
    loaded: LoadedTable | None = None  # where it was read from (None: rows written in the plan)


def load_reference(spec: TableSpec, source, plan_label: str, calendar: PlanCalendar | None = None) -> TableData:
    """Read a table from ``source`` (path or in-memory table) or from the plan's inline rows. A date its format
    reads a century or more from ``calendar``'s year (where given), which another format reads near it, was
    written in that other format (``27-03-01``): an error that says which."""
    if source is None and spec.rows is not None:
        return _inline(spec, spec.rows, plan_label)
    if source is None:
        raise InputError(f"no data for the {_named(spec)}", hint=_how_to_pass(spec), code="E503")
    if spec.kind in (TableKind.QUOTAS, TableKind.TARGETS) and spec.per is None:
        spec = _shape_from_data(spec, available_columns(source))
    loaded = load_table(source, list(spec.columns), _describe(spec))
    columns = {}
    for name, column_spec in spec.columns.items():
        values = convert_column(loaded.whole().column(name), column_spec, loaded.label)
        misread = _misread_dates(values, column_spec, calendar) if column_spec.type is Type.DATE else None
        bad = np.flatnonzero(values.invalid if misread is None else values.invalid | misread)
        if bad.size:
            row = int(bad[0])
            notes = values.notes
            if misread is not None and misread[row] and calendar is not None and values.raw is not None:
                written = pc.cast(values.raw, pa.string())  # which format reads it near the plan year
                notes = wrong_format_notes(written, misread, name, column_spec.format, calendar)
            note = notes[row].as_py() if notes is not None else None  # too large, say
            raw = values.raw[row].as_py() if values.raw is not None else None
            message = note or f"'{raw}' is not {column_spec.type}"
            raise InputError(
                message,
                file=loaded.label,
                column=name,
                row=row + 1 + loaded.row_offset,
                code="E504",
                hint=f"{bad.size} value(s) in this column cannot be read; reference tables must be clean",
            )
        columns[name] = values
    return TableData(spec, loaded.label, columns, loaded.whole().num_rows, loaded.row_offset, loaded)


def _misread_dates(values: ColumnValues, spec, calendar: PlanCalendar | None) -> np.ndarray | None:
    """The rows of a date column written as text whose format reads them a century or more from the plan year
    where another common format reads them near it: ``27-03-01`` read as the year 27, a format mistaken. A date
    far off that no other format reads near (``9999-12-31`` for no end, ``1900-01-01`` for unknown) is as
    written. None where there is none."""
    raw = values.raw
    if calendar is None or raw is None or not (pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type)):
        return None
    low, high = plausible(calendar)
    days = np.asarray(values.values, np.int64)
    far = np.flatnonzero(np.asarray(values.valid, bool) & ~values.invalid & ((days < low) | (days >= high)))
    if far.size == 0:
        return None
    texts = pc.cast(raw.take(far), pa.string())
    near = np.zeros(far.size, bool)
    for fmt in COMMON:
        if fmt != (spec.format or DEFAULT):
            near |= parse(texts, fmt, (low, high))[1]
    if not near.any():
        return None
    misread = np.zeros(days.size, bool)
    misread[far[near]] = True
    return misread


def _shape_from_data(spec: TableSpec, available: list[str]) -> TableSpec:
    """An undeclared quotas or targets table is per period when its data has a period column."""
    period_column = spec.roles["period"]
    if period_column in available:
        return replace(spec, per=Per.PERIOD)
    roles = {role: column for role, column in spec.roles.items() if role != "period"}
    columns = {name: column for name, column in spec.columns.items() if name != period_column}
    return replace(spec, per=Per.YEAR, roles=roles, columns=columns)


def _describe(spec: TableSpec) -> str:
    """What a table is called where it is read: an in-memory one is "the fx table", "the quotas table" ..."""
    return f"table '{spec.name}'" if spec.kind is TableKind.LOOKUP else spec.kind


def _named(spec: TableSpec) -> str:
    """What a table is called in a sentence: "the fx table", "the quotas" ..."""
    return "fx table" if spec.kind is TableKind.FX else _describe(spec)


def _how_to_pass(spec: TableSpec) -> str:
    if spec.kind in (TableKind.QUOTAS, TableKind.TARGETS):
        return f"pass --{spec.kind} PATH, or write the rows in the plan's {spec.kind} block"
    if spec.kind is TableKind.FX:
        return "pass --table fx=PATH, or give the plan's fx block a file or rows"
    return f"pass --table {spec.name}=PATH, or give the table a file or rows in the plan"


def _inline(spec: TableSpec, rows: tuple[tuple[object, ...], ...], plan_label: str) -> TableData:
    """The table of the rows written in the plan."""
    columns = {}
    for index, (name, column_spec) in enumerate(spec.columns.items()):
        python_values = [row[index] for row in rows]
        array = _python_array(python_values, column_spec.type)
        values = convert_column(array, column_spec, plan_label)
        columns[name] = values
    return TableData(spec, f"{_named(spec)} in {plan_label}", columns, len(rows), 0)


def _python_array(values: list, type_: Type) -> pa.Array:
    if type_ is Type.MONEY:
        return pa.array([None if v is None else Decimal(v) for v in values], type=pa.decimal128(38, 6))
    if type_ in (Type.NUMBER, Type.PERCENT):
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64())
    if type_ is Type.INTEGER:
        return pa.array([None if v is None else int(v) for v in values], type=pa.int64())
    if type_ is Type.DATE:
        return pa.array(values, type=pa.date32())
    if type_ is Type.BOOL:
        return pa.array(values, type=pa.bool_())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def required_values(data: TableData, column: str) -> ColumnValues:
    values = data.columns[column]
    missing = np.flatnonzero(~values.valid)
    if missing.size:
        raise InputError(
            "a value is missing",
            file=data.label,
            column=column,
            row=int(missing[0]) + 1 + data.row_offset,
            code="E504",
            hint="every row of a reference table needs its key and amount",
        )
    return values


def texts(values: ColumnValues) -> list[str]:
    array = values.values
    if isinstance(array, pa.DictionaryArray) and not array.null_count:
        # Each distinct text made once: a quota table names each payee once a period (~5x faster).
        words = [str(v) for v in array.dictionary.to_pylist()]
        return [words[i] for i in array.indices.to_numpy().tolist()]
    return [str(v) for v in array.to_pylist()]


# ---------------------------------------------------------------------- lookups


class LookupTable:
    """A ``table NAME { key ... }``: looks up a column by key, vectorized."""

    def __init__(self, data: TableData):
        spec = data.spec
        self.name = spec.name
        self.label = data.label
        key = required_values(data, spec.key)
        self.key_type = key.type
        if key.type is Type.TEXT:
            self.keys = decoded_text(key.values)  # a dictionary's keys (a pandas category) as the text they are
            unique = pc.count_distinct(self.keys).as_py()
        else:
            self.keys = np.asarray(key.values)
            unique = len(np.unique(self.keys))
        if unique != data.rows:
            raise InputError(
                f"table '{self.name}' has the same key on two rows",
                file=data.label,
                column=spec.key,
                hint="keys of a lookup table must be unique",
                code="E504",
            )
        self.columns = data.columns
        self.value_column = spec.value
        self.default = None
        if spec.default is not None and spec.value is not None:
            column_type = spec.columns[spec.value].type
            self.default = const_value(spec.default, column_type)

    def lookup(self, key: Vec, column: str, frame: Frame) -> Vec:
        target = self.columns[column]
        if self.key_type is Type.TEXT:
            index = on_text(key.values, lambda values: pc.index_in(values, value_set=self.keys))
            index = index.to_numpy(zero_copy_only=False)
        else:
            order = np.argsort(self.keys, kind="stable")
            sorted_keys = self.keys[order]
            position = np.clip(np.searchsorted(sorted_keys, key.values), 0, max(len(sorted_keys) - 1, 0))
            hit = sorted_keys[position] == key.values if len(sorted_keys) else np.zeros(frame.n, bool)
            index = np.where(hit, order[position], np.nan)
        found = ~np.isnan(index.astype(np.float64))
        missing = np.asarray(key.valid, bool) & ~found
        safe = np.where(found, index, 0).astype(np.int64)
        valid = np.asarray(key.valid, bool) & found
        if target.type is Type.TEXT:
            values = target.values.take(safe) if len(target.values) else pa.nulls(frame.n, pa.string())
        else:
            values = np.asarray(target.values)[safe] if len(target.values) else np.zeros(frame.n)
        valid = valid & (target.valid[safe] if len(target.valid) else False)
        if np.any(missing):
            if self.default is not None and column == self.value_column:
                values = self._fill(values, missing, self.default, target.type)
                valid = valid | missing
            else:
                frame.issues.append(Issue(missing, "missing_lookup", self._messages(key, missing), None))
        return Vec(values, valid, target.type)

    @staticmethod
    def _fill(values, mask, default, type_):
        if type_ is Type.TEXT:
            return pc.if_else(pa.array(mask), pa.scalar(default, pa.string()), values)
        return np.where(mask, default, values)

    def _messages(self, key: Vec, missing: np.ndarray) -> pa.Array:
        """One message per row: the key, the table, and the closest key if one is close."""
        if self.key_type is Type.TEXT:
            texts = decoded_text(key.values)
            known = [str(k) for k in self.keys.to_pylist()]
        else:
            texts = pa.array([str(v) for v in np.asarray(key.values)])
            known = [str(k) for k in self.keys.tolist()]
        absent = pc.unique(texts.filter(pa.array(missing))).to_pylist()
        notes = {}
        for value in absent:
            close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
            spaced = [k for k in known if k.replace(" ", "").lower() == str(value).replace(" ", "").lower()]
            guess = spaced or close
            notes[value] = f"'{value}' is not in table {self.name}" + (
                f" (did you mean '{guess[0]}'?)" if guess else ""
            )
        lookup = pa.array(list(notes), type=pa.string())
        position = pc.index_in(texts, value_set=lookup)
        return pa.array(list(notes.values()), type=pa.string()).take(position)


# ---------------------------------------------------------------------- quotas, targets, roster


@dataclass
class PayeeAmounts:
    """Quotas or target incentives: an amount per payee and period, in units; or, for a dated table, each
    payee's annual amounts and the days each holds (see engine.credit.proration, which makes periods of them)."""

    kind: str
    by_payee: dict[str, np.ndarray]  # payee -> int64 units per period
    label: str
    dated: dict[str, list[tuple[int, int, int]]] | None = None  # payee -> (first day, last day, annual units)

    def names(self) -> set[str]:
        """The payees the table has amounts for."""
        return set(self.dated) if self.dated is not None else set(self.by_payee)

    def matrix(self, payees: list[str], periods: int) -> tuple[np.ndarray, np.ndarray]:
        """(amounts, known): int64 units and a mask, shaped (payees, periods)."""
        amounts = np.zeros((len(payees), periods), dtype=np.int64)
        known = np.zeros(len(payees), dtype=bool)
        for i, payee in enumerate(payees):
            row = self.by_payee.get(payee)
            if row is not None:
                amounts[i] = row
                known[i] = True
        return amounts, known


def payee_amounts(data: TableData, calendar: PlanCalendar) -> PayeeAmounts:
    spec = data.spec
    payee_column = required_values(data, spec.roles["payee"])
    amount_column = required_values(data, spec.roles["amount"])
    payees = texts(payee_column)
    amounts = np.asarray(amount_column.values, dtype=np.int64)
    if amount_column.type is not Type.MONEY:  # counted credit: quotas are numbers of units
        amounts = to_units(np.asarray(amount_column.values, dtype=np.float64) * UNIT)
    _not_negative(data, amounts, amount_column.type)
    by_payee: dict[str, np.ndarray] = {}
    if spec.dated:
        return PayeeAmounts(spec.kind, by_payee, data.label, _dated_amounts(data, payees, amounts))
    if spec.per is Per.YEAR:
        for row, (payee, amount) in enumerate(zip(payees, amounts, strict=True)):
            if payee in by_payee:
                raise InputError(
                    f"two {spec.kind} rows for '{payee}'",
                    file=data.label,
                    row=row + 1 + data.row_offset,
                    code="E504",
                    hint=f"{spec.kind} per year have one row per payee",
                )
            by_payee[payee] = spread(int(amount), calendar.count)
        return PayeeAmounts(spec.kind, by_payee, data.label)
    period_column = required_values(data, spec.roles["period"])
    seen: set[tuple[str, int]] = set()
    periods: dict[str, int | None] = {}  # each distinct text read once: a table of 10,000 payees has 4 of them
    rows = zip(payees, texts(period_column), amounts.tolist(), strict=True)  # Python ints: numpy's are slow here
    for row, (payee, period_text, amount) in enumerate(rows):
        period = periods.get(period_text, -1)
        if period == -1:
            period = periods[period_text] = calendar.parse_period(period_text)
        if period is None:
            raise InputError(
                f"'{period_text}' is not a period of this plan",
                file=data.label,
                column=spec.roles["period"],
                row=row + 1 + data.row_offset,
                code="E504",
                hint=f"periods run {calendar.labels[0]} .. {calendar.labels[-1]} "
                f"(a label, Q1, or a date inside the period)",
            )
        if (payee, period) in seen:
            raise InputError(
                f"two {spec.kind} rows for '{payee}' in {calendar.labels[period]}",
                file=data.label,
                row=row + 1 + data.row_offset,
                code="E504",
            )
        seen.add((payee, period))
        amounts_of = by_payee.get(payee)
        if amounts_of is None:
            amounts_of = by_payee[payee] = np.zeros(calendar.count, dtype=np.int64)
        amounts_of[period] = amount
    return PayeeAmounts(spec.kind, by_payee, data.label)


def _dated_amounts(data: TableData, payees: list[str], amounts: np.ndarray) -> dict[str, list[tuple[int, int, int]]]:
    """Each payee's annual amounts and the days each holds: from its start (empty: before the year) to its end
    (empty: the day before the payee's next row starts, or on). A payee's rows may not overlap."""
    spec, roles = data.spec, data.spec.roles
    n = len(payees)

    def days(role: str, open_day: int) -> np.ndarray:
        if role not in roles:
            return np.full(n, open_day, dtype=np.int64)
        values = data.columns[roles[role]]
        return np.where(np.asarray(values.valid, bool), np.asarray(values.values, dtype=np.int64), open_day)

    start, end = days("start", OPEN_START), days("end", OPEN_END)
    open_end = end == OPEN_END
    dated: dict[str, list[tuple[int, int, int]]] = {}
    order = sorted(range(n), key=lambda i: (payees[i], int(start[i])))
    for position, i in enumerate(order):
        last = int(end[i])
        after = order[position + 1] if position + 1 < n else None
        if after is not None and payees[after] == payees[i] and open_end[i] and start[after] != OPEN_START:
            last = int(start[after]) - 1
        rows = dated.setdefault(payees[i], [])
        if int(start[i]) > last or (rows and rows[-1][1] >= int(start[i])):
            file, row = data.label, i + 1 + data.row_offset
            row_number: int | None = row
            if data.loaded is None and spec.row_spans:
                file, row_number = str(spec.row_spans[i]), None
            what = "ends before it starts" if int(start[i]) > last else "overlaps the one before it"
            if after is not None and payees[after] == payees[i] and start[after] == start[i]:
                what = "starts on the day another of theirs does"  # not "ends before": no one wrote that end
            raise InputError(
                f"the {spec.kind} row of '{payees[i]}' {what}",
                file=file,
                row=row_number,
                code="E504",
                hint=f"each row's amount holds from its start to its end; a payee's {spec.kind} rows follow "
                "one another",
            )
        rows.append((int(start[i]), last, int(amounts[i])))
    return dated


def _not_negative(data: TableData, amounts: np.ndarray, type_: Type) -> None:
    """A negative quota would make attainment negative (its period's rows then rejected, the year's attainment
    inflated), a negative target a clawback no plan asked for: either is an error naming the row."""
    negative = np.flatnonzero(amounts < 0)
    if negative.size == 0:
        return
    spec, row = data.spec, int(negative[0])
    amount = Decimal(int(amounts[row])) / UNIT
    shown = format_money(amount) if type_ is Type.MONEY else f"{amount.normalize():,f}"
    what = "quota" if spec.kind is TableKind.QUOTAS else "target incentive"
    file = data.label
    row_number: int | None = row + 1 + data.row_offset
    if data.loaded is None and spec.row_spans:  # rows written in the plan: the row's place in it
        file, row_number = str(spec.row_spans[row]), None
    raise InputError(
        f"the {what} {shown} is negative",
        file=file,
        row=row_number,
        column=spec.roles["amount"],
        code="E504",
        hint=f"a {what} is zero or more ({negative.size} negative row(s) in this table)",
    )


def spread(amount: int, periods: int) -> np.ndarray:
    """An annual amount spread evenly over the periods; the last period takes the remainder."""
    share = amount // periods if amount >= 0 else -((-amount) // periods)
    spread = np.full(periods, share, dtype=np.int64)
    spread[-1] += amount - share * periods
    return spread


def roster_payees(data: TableData) -> list[str]:
    """The payees a roster of payees and managers lists (its payee column)."""
    return texts(required_values(data, data.spec.roles["payee"]))


def roster_managers(data: TableData) -> dict[str, str]:
    spec = data.spec
    payees = texts(required_values(data, spec.roles["payee"]))
    manager_values = data.columns[spec.roles["manager"]]
    managers = manager_values.values.to_pylist()
    result: dict[str, str] = {}
    for row, (payee, manager) in enumerate(zip(payees, managers, strict=True)):
        if payee in result:
            raise InputError(
                f"the roster lists '{payee}' twice", file=data.label, row=row + 1 + data.row_offset, code="E504"
            )
        if manager is not None and str(manager).strip():
            result[payee] = str(manager)
    for start in result:
        seen = [start]
        current = result.get(start)
        while current is not None:
            if current in seen:
                chain = " -> ".join(seen[seen.index(current) :] + [current])
                raise InputError(
                    f"the roster has a cycle: {chain}",
                    file=data.label,
                    code="E504",
                    hint="a manager cannot report, directly or not, to someone they manage",
                )
            seen.append(current)
            current = result.get(current)
    return result
