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
from spmlang.report.explanations import NAMED, readable


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
    table = readable(table)  # the explanations as sentences
    return by_payee(table) if "payee" in table.column_names else table


def read_ledger(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A parquet ledger spm wrote, a file or a folder of parts a cluster wrote (see :func:`read_ledger_folder`),
    as :attr:`spmlang.Result.ledger` gives a run's: the explanations as sentences. ``columns``: only these
    (the explanations need the columns their templates name to be sentences, and are read with them)."""
    import pyarrow.parquet as pq

    path = Path(path)
    wanted = columns
    if columns is not None and "explanation" in columns:
        wanted = list(dict.fromkeys([*columns, *NAMED]))
    if is_ledger_folder(path):
        table = read_ledger_folder(path, wanted)
    else:
        try:
            table = readable(pq.read_table(path, columns=wanted))
        except (OSError, pa.ArrowInvalid) as error:
            reason = str(error).splitlines()[0]
            raise InputError(f"cannot read the ledger: {reason}", file=str(path), code="E500") from None
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
        plan=PlanRecord(
            name=checked.settings.name,
            version=checked.settings.version,
            path=checked.path if checked.path.startswith("<") else relative(Path(checked.path), base),
            sha256=checked.sha256,
            source=checked.source,
        ),
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
