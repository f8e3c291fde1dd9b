"""Earlier ledgers: what was already paid (`spm run ... --paid LEDGER`).

The periods an earlier ledger paid are closed: a run never writes lines in them again. What it pays in them
now and what they paid then are compared in :mod:`spmlang.engine.settle.earlier`; here the ledgers are read,
checked against the plan (its periods, its currency) and their lines encoded against the run: payees,
components, periods and transactions by this run's codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import AmountTooLarge, InputError
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.kernels.column_text import scatter
from spmlang.engine.kernels.money import LIMIT, NO_BALANCE
from spmlang.engine.read.earlier_columns import Labels, LedgerFile, first, line_error, money_units
from spmlang.hashing import PARTS, manifest_path, records, sha256_file
from spmlang.ir.kinds import GUARANTEE_KINDS, LineKind, Role
from spmlang.ir.plan import CheckedPlan
from spmlang.spreadsheet import from_spreadsheet_text

_COLUMNS = ("payee", "period", "component", "kind", "role", "txn", "credit", "amount", "clause")
_OPTIONAL = ("for_period", "balance", "currency_paid")
_LABELS = {"payee", "period", "component", "kind", "role", "clause", "for_period", "currency_paid"}

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
    plan: str | None = None  # the name of the plan that wrote it, as its manifest records it

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
    """The lines of the earlier ledgers of a run, a column at a time (see read.earlier_columns)."""

    files: list[PaidFile]
    closed: int  # the last closed period (index); -1: none
    payee: Labels
    period: np.ndarray  # int16 index: the period the line was paid in
    for_period: np.ndarray  # int16 index: the period its amount belongs to
    component: Labels
    kind: Labels
    role: Labels
    txn: pa.Array  # text: the transaction's key; null where a line names none
    credit: np.ndarray  # int64 units (0 where none)
    amount: np.ndarray  # int64 units
    balance: np.ndarray  # int64 units, or NO_BALANCE
    clause: Labels
    currency_paid: Labels  # of an fx line: the currency the period's payout was paid in

    def __len__(self) -> int:
        return int(self.amount.size)


def read_earlier(paths: list, plan: CheckedPlan, calendar: PlanCalendar) -> EarlierLedgers:
    """Read the earlier ledgers (files spm wrote: parquet, CSV or JSON lines). Clean errors (E512) for a file
    that is not a ledger or was changed since spm wrote it, a ledger of another currency or with periods this
    plan does not have, the same ledger twice or two that paid one period, and a ledger paid against another
    one that is not given."""
    files: list[PaidFile] = []
    tables: list[tuple[pa.Table, np.ndarray, Path]] = []
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
        periods = _periods(Labels.of(table.column("period"), table.num_rows), calendar, path)
        for period in np.unique(periods).tolist():
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
        last = _period_index(calendar, through, path) if through else int(periods.max(initial=-1))
        later = np.flatnonzero(periods > last)
        if later.size:  # --through wrote no line after its period: one there was added since
            rows_before = sum(table.num_rows for table, _, _ in tables)
            where = [LedgerFile(p, t.num_rows) for t, _, p in tables] + [LedgerFile(path, table.num_rows)]
            said = f"a line paid in {calendar.labels[periods[later[0]]]}, after {calendar.labels[last]}, the last "
            raise line_error(said + "period this ledger paid", rows_before + int(later[0]), where, "period")
        recorded = manifest.get("ledger")
        checked = isinstance(recorded, dict) and bool(recorded.get("sha256"))
        plan_name = manifest.get("plan", {}).get("name") if isinstance(manifest.get("plan"), dict) else None
        through_label = calendar.labels[last] if last >= 0 else ""
        files.append(PaidFile(str(path), digest, through_label, table.num_rows, checked, plan_name))
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
    return _lines(files, tables, calendar)


def _lines(files: list[PaidFile], tables: list[tuple[pa.Table, np.ndarray, Path]], calendar: PlanCalendar):
    """The lines of every earlier ledger, checked to be lines spm writes."""
    where = [LedgerFile(path, table.num_rows) for table, _, path in tables]

    def labels(name: str) -> Labels:
        return Labels.concat([Labels.of(_column(table, name), table.num_rows) for table, _, _ in tables])

    def money(name: str, missing: int | None) -> np.ndarray:
        return money_units([_column(table, name) for table, _, _ in tables], missing, name, where)

    period = np.concatenate([periods for _, periods, _ in tables]) if tables else np.zeros(0, np.int16)
    for_period = [
        _periods(Labels.of(_column(table, "for_period"), table.num_rows), calendar, path, periods)
        for table, periods, path in tables
    ]
    payee, kind, role = labels("payee"), labels("kind"), labels("role")
    for name, column in (("payee", payee), ("kind", kind)):  # every line names its payee and kind
        blank = first(column.where(lambda value: not value.strip()) | (column.index < 0))
        if blank is not None:
            raise line_error(f"a ledger line with no {name}", blank, where, name)
    for name, column, known in (("kind", kind, _KINDS), ("role", role, _ROLES)):
        unknown = first(~column.where(known.__contains__))
        if unknown is not None:
            said = f"a ledger line of {name} {column[unknown]!r}, which spm does not write"
            raise line_error(said, unknown, where, name, f" ({name}: {', '.join(sorted(known))})")
    corrected = np.concatenate(for_period) if for_period else np.zeros(0, np.int16)
    later = first(corrected > period)
    if later is not None:
        labels_of = calendar.labels
        said = f"a line paid in {labels_of[period[later]]} corrects {labels_of[corrected[later]]}, a later period"
        raise line_error(said, later, where, "for_period", " (adjustments correct earlier periods)")
    amount = money("amount", None)
    _check_sums(payee, amount, where)
    txns = [table.column("txn") for table, _, _ in tables]
    return EarlierLedgers(
        files,
        _closed(files, calendar),
        payee,
        period,
        corrected,
        labels("component"),
        kind,
        role,
        pa.chunked_array([c for t in txns for c in pc.cast(t, pa.string()).chunks], pa.string()).combine_chunks(),
        money("credit", 0),
        amount,
        money("balance", NO_BALANCE),
        labels("clause"),
        labels("currency_paid"),
    )


def _check_sums(payee: Labels, amount: np.ndarray, where: list[LedgerFile]) -> None:
    """A payee's earlier lines add up to less than the largest amount spm holds (each line does: see
    money_units), as every sum a run makes does; else E511 (a ledger edited by hand, with no manifest to tell)."""
    magnitude = np.zeros(len(payee.values) + 1)
    np.add.at(magnitude, payee.index, np.abs(amount).astype(np.float64))
    for at in np.flatnonzero(magnitude[:-1] >= float(LIMIT) * (1 - 1e-9)).tolist():  # a float cannot tell:
        lines = np.flatnonzero(payee.index == at)
        if sum(abs(units) for units in amount[lines].tolist()) >= LIMIT:  # added up exactly
            ends = np.cumsum([file.rows for file in where])
            holding = np.unique(np.searchsorted(ends, lines, side="right")).tolist()  # the files with their lines
            what = f"the sum of the amounts of {payee.values[at]}'s earlier lines, each taken as positive,"
            raise AmountTooLarge(what, ", ".join(str(where[i].path) for i in holding), magnitude[at])


def _column(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


def _periods(column: Labels, calendar: PlanCalendar, path: Path, paid: np.ndarray | None = None) -> np.ndarray:
    """A ledger's periods (int16 indices); ``paid``: of a for_period column, the period a line without one
    was paid in."""
    known = {label: i for i, label in enumerate(calendar.labels)}
    index = column.codes(lambda label: known.get(label, -2), -1)
    unknown = first(index == -2)
    if unknown is not None:
        _period_index(calendar, column[unknown], path)  # says which, and where
    if paid is not None:
        index = np.where(index < 0, paid, index)
    elif index.size and index.min() < 0:  # a line without a period
        _period_index(calendar, None, path)
    return index.astype(np.int16)


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


_KINDS = frozenset(map(str, LineKind))
_ROLES = frozenset(map(str, Role))


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
            table = _read_parquet(path)
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
    return table


def _read_parquet(path: Path) -> pa.Table:
    """A parquet ledger's columns a run reads (not its explanations, measures and rates); its labels as the
    file holds them, dictionary-encoded (a few distinct values, each line's an index into them), not as text a
    line."""
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    read = [name for name in (*_COLUMNS, *_OPTIONAL) if name in names]
    return pq.read_table(path, columns=read, read_dictionary=[name for name in read if name in _LABELS])


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
        if name not in table.column_names:
            continue
        column = table.column(name).combine_chunks()
        quoted = np.flatnonzero(pc.starts_with(column, "'").fill_null(False).to_numpy(zero_copy_only=False))
        if quoted.size:  # only a text starting with a quote can be one spm made safe
            was = pa.array([from_spreadsheet_text(str(v)) for v in column.take(quoted).to_pylist()], pa.string())
            table = table.set_column(table.column_names.index(name), name, scatter(column, quoted, was))
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

    parts = sorted(folder.glob(PARTS))
    if not parts:
        raise InputError(
            "the folder holds no ledger parts (part-*.parquet)",
            file=str(folder),
            hint="pass a ledger folder spm run --cluster wrote with --out",
            code="E500",
        )
    try:
        return pa.concat_tables([_read_parquet(part) for part in parts])
    except (OSError, pa.ArrowInvalid) as error:
        reason = str(error).splitlines()[0].rstrip(": ")  # Arrow's first line: the rest is two parts' schemas
        raise _error(
            f"cannot read the earlier ledger: {reason}",
            folder,
            "pass a ledger folder spm run --cluster wrote with --out, with only its parts",
        ) from None
