"""Earlier ledgers: what was already paid (`spm run ... --paid LEDGER`).

The periods an earlier ledger paid are closed: a run never writes lines in them again. What it pays in them
now and what they paid then are compared in :mod:`spmlang.engine.settle.earlier`; here the ledgers are read,
checked against the plan (its periods, its currency) and their lines encoded against the run: payees,
components, periods and transactions by this run's codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.kernels.money import NO_BALANCE, UNIT
from spmlang.hashing import PARTS, manifest_path, records, sha256_file
from spmlang.ir.kinds import GUARANTEE_KINDS, LineKind, Role
from spmlang.ir.plan import CheckedPlan
from spmlang.spreadsheet import from_spreadsheet_text

_COLUMNS = ("payee", "period", "component", "kind", "role", "txn", "credit", "amount", "clause")
_OPTIONAL = ("for_period", "balance", "currency_paid")
_TEXT = ("payee", "period", "component", "kind", "role", "txn", "clause", "for_period", "currency_paid")

# The kinds whose amount a later run recomputes and compares; draws and floors are decided once, when their
# period is paid, and carried as balances.
SETTLED_ONCE = GUARANTEE_KINDS


@dataclass
class PaidFile:
    """One earlier ledger file: where it is, its hash, and the last period it paid. A run records it among
    its inputs (``paid 1``, ``paid 2`` ...), so that its manifest names the ledgers it builds on and
    ``spm verify`` finds one that changed since."""

    path: str
    digest: str
    through: str
    rows: int = 0
    checked: bool = True  # against the hash its manifest recorded (False: no manifest beside it says one)

    @property
    def loaded(self) -> PaidFile:  # read as an input record (report.manifest.input_records)
        return self

    def sha256(self) -> str:
        return self.digest

    @property
    def label(self) -> str:
        return Path(self.path).name


@dataclass
class EarlierLedgers:
    """The lines of the earlier ledgers of a run, as plain columns (one element per line)."""

    files: list[PaidFile]
    closed: int  # the last closed period (index); -1: none
    payee: list[str]
    period: np.ndarray  # int16 index: the period the line was paid in
    for_period: np.ndarray  # int16 index: the period its amount belongs to
    component: list[str | None]
    kind: list[str]
    role: list[str]
    txn: list[str | None]
    credit: np.ndarray  # int64 units (0 where none)
    amount: np.ndarray  # int64 units
    balance: np.ndarray  # int64 units, or NO_BALANCE
    clause: list[str]
    currency_paid: list[str | None]  # of an fx line: the currency the period's payout was paid in

    def __len__(self) -> int:
        return int(self.amount.size)


def read_earlier(paths: list, plan: CheckedPlan, calendar: PlanCalendar) -> EarlierLedgers:
    """Read the earlier ledgers (files spm wrote: parquet, CSV or JSON lines). Clean errors (E512) for a file
    that is not a ledger or was changed since spm wrote it, a ledger of another currency or with periods this
    plan does not have, the same ledger twice or two that paid one period, and a ledger paid against another
    one that is not given."""
    files: list[PaidFile] = []
    tables: list[tuple[pa.Table, list[int], Path]] = []
    paid_by: dict[int, str] = {}  # period -> the ledger that paid it
    built_on: list[tuple[str, str, Path]] = []  # (sha256, path) of the ledgers each one was paid against
    for given in paths:
        path = Path(given)
        table = _read(path)
        manifest = _manifest(path)
        digest = _sha256(path)
        _check_manifest(manifest, digest, path, plan)
        if any(Path(file.path).resolve() == path.resolve() for file in files):
            raise _error("this ledger is given twice", path, "pass each earlier ledger once")
        periods = [_period_index(calendar, p, path) for p in table.column("period").to_pylist()]
        for period in sorted(set(periods)):
            if period in paid_by:
                raise _error(
                    f"{calendar.labels[period]} was paid by {paid_by[period]} too: two ledgers paid one period",
                    path,
                    "pass the ledgers of the runs that closed each period once (run after run, each with --paid)",
                )
            paid_by[period] = path.name
        through = manifest.get("through")
        if through:  # a ledger of an earlier version may record --through as given: Q1, 2027-03
            through = calendar.label_of(str(through))
        last = _period_index(calendar, through, path) if through else max(periods, default=-1)
        recorded = manifest.get("ledger")
        checked = isinstance(recorded, dict) and bool(recorded.get("sha256"))
        files.append(PaidFile(str(path), digest, calendar.labels[last] if last >= 0 else "", table.num_rows, checked))
        tables.append((table, periods, path))
        built_on += [
            (record["sha256"], str(record.get("path")), path)
            for record in manifest.get("inputs", [])
            if isinstance(record, dict) and str(record.get("name", "")).startswith("paid ") and record.get("sha256")
        ]
    given = {file.digest for file in files}
    given_paths = {Path(file.path).resolve() for file in files}
    for digest, recorded, by in built_on:
        if digest in given:
            continue
        if (by.parent / recorded).resolve() in given_paths:  # given, but not as it was when it was paid against
            raise _error(
                f"this ledger was paid against the earlier ledger {recorded}, which was changed since (its hash "
                "differs from the one this ledger's manifest recorded)",
                by,
                "a paid ledger is never edited: pass the file as it was (spm verify finds what changed)",
            )
        raise _error(
            f"this ledger was paid against the earlier ledger {recorded}, which is not given",
            by,
            "pass every earlier ledger of the plan year (--paid each one): its periods are closed too",
        )
    columns: dict[str, list] = {name: [] for name in (*_COLUMNS, *_OPTIONAL)}
    period_index: list[int] = []
    for_period: list[int] = []
    for table, periods, path in tables:
        for name in (*_COLUMNS, *_OPTIONAL):
            values = table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows
            columns[name].extend(values)
        period_index.extend(periods)
        own = table.column("for_period").to_pylist() if "for_period" in table.column_names else [None] * len(periods)
        for_period += [p if f is None else _period_index(calendar, f, path) for p, f in zip(periods, own, strict=True)]
    _check_values(columns, tables)
    _check_lines(columns, period_index, for_period, tables)
    return EarlierLedgers(
        files,
        _closed(files, calendar),
        columns["payee"],
        np.asarray(period_index, np.int16),
        np.asarray(for_period, np.int16),
        columns["component"],
        columns["kind"],
        columns["role"],
        columns["txn"],
        _units(columns["credit"], 0, "credit", tables),
        _units(columns["amount"], None, "amount", tables),
        _units(columns["balance"], NO_BALANCE, "balance", tables),
        [c or "" for c in columns["clause"]],
        columns["currency_paid"],
    )


def _closed(files: list[PaidFile], calendar: PlanCalendar) -> int:
    """The last period the earlier ledgers closed."""
    return max((calendar.labels.index(file.through) for file in files if file.through), default=-1)


def _error(message: str, path: Path, hint: str) -> InputError:
    return InputError(message, file=str(path), hint=hint, code="E512")


def _check_manifest(manifest: dict, digest: str, path: Path, plan: CheckedPlan) -> None:
    currency = manifest.get("currency")
    if currency and currency != plan.settings.currency:
        raise _error(
            f"the earlier ledger is in {currency}, this plan pays in {plan.settings.currency}",
            path,
            "pass the ledgers of this plan's currency",
        )
    recorded = manifest.get("ledger")
    if isinstance(recorded, dict) and not records(path, recorded.get("format"), manifest.get("parts") is not None):
        raise _error(
            f"no manifest of this ledger beside it: {manifest_path(path).name} is that of {recorded.get('path')}, a "
            "ledger written under the same name since",
            path,
            "write each ledger under a name of its own (spm run --out writes a manifest beside each)",
        )
    if isinstance(recorded, dict) and recorded.get("sha256") and recorded["sha256"] != digest:
        raise _error(
            "the earlier ledger was changed after spm wrote it (its hash differs from its manifest's)",
            path,
            "a paid ledger is never edited: pass the file spm wrote (spm verify finds what changed)",
        )


_NEEDED = ("payee", "period", "kind", "amount")


def _check_values(columns: dict[str, list], tables: list) -> None:
    """Every line names its payee, period and kind, and has an amount."""
    for name in _NEEDED:
        for index, value in enumerate(columns[name]):
            if value is None or (isinstance(value, str) and not value.strip()):
                raise _line_error(f"a ledger line with no {name}", index, tables, name)


_KINDS = frozenset(map(str, LineKind))
_ROLES = frozenset(map(str, Role))


def _check_lines(columns: dict[str, list], period: list[int], for_period: list[int], tables: list) -> None:
    """Every line is one spm writes: of a kind and role it has, and correcting (``for_period``) no period after
    the one it was paid in. A line made by hand otherwise would be settled as what it is not (a kind spm does
    not know as an adjustment, a correction of a later period as paid twice)."""
    for name, known in (("kind", _KINDS), ("role", _ROLES)):
        for index, value in enumerate(columns[name]):
            if value not in known:
                said = f"a ledger line of {name} {value!r}, which spm does not write"
                raise _line_error(said, index, tables, name, f" ({name}: {', '.join(sorted(known))})")
    for index, (paid, corrected) in enumerate(zip(period, for_period, strict=True)):
        if corrected > paid:
            said = f"a line paid in {columns['period'][index]} corrects {columns['for_period'][index]}, a later period"
            raise _line_error(said, index, tables, "for_period", " (adjustments correct earlier periods)")


def _line_error(message: str, index: int, tables: list, column: str, more: str = "") -> InputError:
    """E512 naming the file, row (1-based, as a spreadsheet counts data rows) and column of the ``index``-th
    line of all: a line spm does not write."""
    for table, _, path in tables:
        if index < table.num_rows:
            hint = f"a paid ledger is never edited: pass the file spm wrote{more}"
            return InputError(message, file=str(path), column=column, row=index + 1, hint=hint, code="E512")
        index -= table.num_rows
    raise IndexError(index)


def _units(values: list, missing: int | None, name: str, tables: list) -> np.ndarray:
    """Money of a ledger column in units; an empty one is ``missing`` (None: an error), a value that is not a
    decimal amount or that is too large an error naming its file and row."""
    units = []
    for index, value in enumerate(values):
        if value is None:
            if missing is None:
                raise _line_error(f"a ledger line with no {name}", index, tables, name)
            units.append(missing)
            continue
        try:
            if isinstance(value, str) and not _AMOUNT.fullmatch(value):
                raise InvalidOperation
            amount = Decimal(str(value))
            if not amount.is_finite() or abs(amount) >= _LARGEST or amount != amount.quantize(_CENT):
                raise InvalidOperation
        except InvalidOperation:
            raise _line_error(f"'{value}' is not an amount spm writes", index, tables, name) from None
        units.append(int((amount * UNIT).to_integral_value()))
    return np.asarray(units, np.int64)


_LARGEST = Decimal(2**62) / UNIT  # the largest amount spm holds (see kernels.money.LIMIT)
_CENT = Decimal("0.01")  # a ledger's money is whole cents
_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # money as spm writes it in a CSV or JSON ledger: 1234.50


def _period_index(calendar: PlanCalendar, label: str | None, path: Path) -> int:
    if label is not None and label in calendar.labels:
        return calendar.labels.index(label)
    raise InputError(
        f"the earlier ledger has the period {label!r}, which is not a period of this plan "
        f"({calendar.labels[0]} to {calendar.labels[-1]})",
        file=str(path),
        hint="pass ledgers of this plan year; a ledger of another year is not an earlier run of this one",
        code="E512",
    )


def _read(path: Path) -> pa.Table:
    if path.is_dir():  # a ledger a cluster wrote: a folder of parquet parts (see spmlang.cluster)
        return _read_parts(path)
    if not path.is_file():
        raise InputError(
            "the earlier ledger does not exist",
            file=str(path),
            hint="pass the ledger a run wrote with --out",
            code="E500",
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif suffix == ".csv":
            import pyarrow.csv as pacsv

            header = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 20)).column_names
            types = {name: pa.string() for name in header}
            table = pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
            )
            table = _unescaped(table)
        elif suffix == ".json":  # one array of lines, as spm writes it
            table = _from_records(json.loads(path.read_text(encoding="utf-8")))
        else:
            import pyarrow.json as pajson

            table = pajson.read_json(path) if path.stat().st_size else _from_records([])  # a run that paid nothing
    except (pa.ArrowInvalid, OSError, ValueError) as error:
        raise _error(
            f"cannot read the earlier ledger: {str(error).splitlines()[0]}",
            path,
            "pass a ledger spm wrote (.parquet, .csv, .json or .jsonl)",
        ) from None
    missing = [name for name in _COLUMNS if name not in table.column_names]
    if missing:
        raise _error(
            f"this is not a ledger spm wrote: it has no column {', '.join(missing)}",
            path,
            "pass the ledger a run wrote with --out",
        )
    for name in _TEXT:
        if name in table.column_names and pa.types.is_dictionary(table.column(name).type):
            table = table.set_column(table.column_names.index(name), name, pc.cast(table.column(name), pa.string()))
    return table


def _from_records(records) -> pa.Table:
    """The lines of a JSON ledger (money as its exact text); with none, the columns a ledger has."""
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise ValueError("it is not an array of ledger lines")
    if not records:
        return pa.table({name: pa.array([], pa.string()) for name in (*_COLUMNS, *_OPTIONAL)})
    return pa.Table.from_pylist(records)


def _unescaped(table: pa.Table) -> pa.Table:
    """A CSV ledger's text as spm wrote it before making it safe for spreadsheets."""
    for name in ("payee", "component", "txn", "clause"):
        if name in table.column_names:
            values = [None if v is None else from_spreadsheet_text(v) for v in table.column(name).to_pylist()]
            table = table.set_column(table.column_names.index(name), name, pa.array(values, pa.string()))
    return table


def _manifest(ledger: Path) -> dict:
    """The manifest beside a ledger (``ledger.manifest.json``), if there is one."""
    path = manifest_path(ledger)
    if not path.is_file():
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _sha256(path: Path) -> str:
    return sha256_file(path)


def _read_parts(folder: Path) -> pa.Table:
    """A ledger written as a folder of parquet parts, its parts in name order: the lines of each payee are in
    one part, in ledger order."""
    import pyarrow.parquet as pq

    parts = sorted(folder.glob(PARTS))
    if not parts:
        raise InputError(
            "the folder holds no ledger parts (part-*.parquet)",
            file=str(folder),
            hint="pass a ledger folder spm run --cluster wrote with --out",
            code="E500",
        )
    try:
        return pa.concat_tables([pq.read_table(part) for part in parts])
    except (OSError, pa.ArrowInvalid) as error:
        reason = str(error).splitlines()[0].rstrip(": ")  # Arrow's first line: the rest is two parts' schemas
        raise _error(
            f"cannot read the earlier ledger: {reason}",
            folder,
            "pass a ledger folder spm run --cluster wrote with --out, with only its parts",
        ) from None
