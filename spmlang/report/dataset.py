"""A ledger read back (:func:`read_ledger`), and one written as a folder of parquet parts (``spm run
--cluster``): read back in payee order, and its manifest. Each part holds whole payees, each payee's lines in
ledger order: put in payee order, the parts are the lines a run on one machine writes, in :func:`by_payee` order
(one machine writes the payees paid only without a transaction, draws and floors, after the others)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.hashing import PARTS, parts_sha256
from spmlang.report.explanations import NAMED, ColumnError, readable


def is_ledger_folder(path: Path) -> bool:
    return Path(path).is_dir()


def by_payee(ledger: pa.Table) -> pa.Table:
    """A ledger's lines by payee, each payee's in the order they have (a stable sort)."""
    return ledger.take(pc.sort_indices(ledger, sort_keys=[("payee", "ascending")]))


def read_ledger_folder(folder: Path, columns: list[str] | None = None) -> pa.Table:
    """Every line of the folder's parts by payee (see :func:`by_payee`), each payee's as written."""
    import pyarrow.parquet as pq

    parts = sorted(Path(folder).glob(PARTS))
    if not parts:
        raise InputError("the folder holds no ledger parts (part-*.parquet)", file=str(folder), code="E500")
    try:
        table = pa.concat_tables([pq.read_table(part, columns=columns) for part in parts], promote_options="permissive")
    except (OSError, pa.ArrowInvalid) as error:
        reason = str(error).splitlines()[0]
        raise InputError(f"cannot read the ledger: {reason}", file=str(folder), code="E500") from None
    table = _readable(table, folder, folder=True)
    return by_payee(table) if "payee" in table.column_names else table


def _readable(table: pa.Table, path: Path, folder: bool = False) -> pa.Table:
    """``table``'s explanations as sentences (see :func:`readable`); an error naming the file, and the column
    and row where known, if the columns its templates name hold what spm never writes there."""
    try:
        return readable(table)
    except ColumnError as error:
        row = None if folder or error.line is None else error.line + 1  # a folder's rows: in no one file
        raise InputError(
            f"cannot read the ledger's explanations: {error}",
            file=str(path),
            column=error.column,
            row=row,
            hint="a ledger's explanations are made from its columns: pass the file spm wrote, not edited",
            code="E500",
        ) from None
    except (pa.ArrowException, ValueError) as error:
        reason = str(error).splitlines()[0]
        raise InputError(f"cannot read the ledger's explanations: {reason}", file=str(path), code="E500") from None


def read_ledger(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A parquet ledger spm wrote, a file or a folder of parts a cluster wrote (see :func:`read_ledger_folder`),
    as :attr:`spmlang.Result.ledger` gives a run's: the explanations as sentences. ``columns``: only these
    (the explanations need the columns their templates name to be sentences, and are read with them)."""
    import pyarrow.parquet as pq

    path = Path(path)
    folder = is_ledger_folder(path)
    hint = "pass a parquet ledger spm wrote, or its folder of parts: a CSV or JSON ledger holds sentences already"
    if not folder and not path.is_file():
        raise InputError("file not found", file=str(path), hint=hint, code="E500")
    wanted = columns
    try:
        if columns is not None and "explanation" in columns:
            # Those it has: a ledger written before templates has no `exact`, and holds sentences.
            first = min(path.glob(PARTS), default=path) if folder else path
            has = set(pq.read_schema(first).names) if first.is_file() else set(NAMED)  # else: said below
            wanted = list(dict.fromkeys([*columns, *(name for name in NAMED if name in has)]))
        table = read_ledger_folder(path, wanted) if folder else pq.read_table(path, columns=wanted)
    except (OSError, pa.ArrowInvalid) as error:
        reason = str(error).splitlines()[0]
        raise InputError(f"cannot read the ledger: {reason}", file=str(path), hint=hint, code="E500") from None
    table = table if folder else _readable(table, path)
    return table.select(columns) if columns is not None else table


def folder_manifest(plan, run, rejects=None):
    """The manifest of a run on a cluster (``run``: a :class:`spmlang.cluster.run.ClusterRun` that wrote its
    ledger folder), with paths relative to the folder's parent, as a ledger file's."""
    from spmlang.report.manifest import FileRecord, PlanRecord, RunManifest, relative
    from spmlang.version import __version__

    checked = plan.checked
    base = Path(run.path).resolve().parent
    parts = sorted(run.parts or [], key=lambda p: p.path)
    return RunManifest(
        engine=f"spmlang {__version__}",
        run_id=run.run_id,
        plan=PlanRecord.of(checked, base),
        inputs=[
            r.model_copy(update={"path": relative(Path(r.path), base)}) if r.kind == "file" and r.path else r
            for r in run.inputs
        ],
        options=dict(run.options),
        accounting=run.accounting,
        currency=checked.settings.currency,
        through=run.options.get("through"),
        ledger=FileRecord(
            path=relative(Path(run.path), base),
            format="parquet",
            sha256=parts_sha256([(p.path, p.sha256) for p in parts]),
            rows=run.line_count,
        ),
        rejects=None
        if rejects is None
        else FileRecord(
            path=relative(rejects.path, base),
            format=rejects.path.suffix.lstrip("."),
            sha256=rejects.sha256,
            rows=rejects.rows,
        ),
        parts=parts,
    )
