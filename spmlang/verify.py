"""``spm verify``: re-run a ledger from its manifest and say whether it is reproduced.

If it is not, say why: the ledger file was edited, the plan changed (with a
diff against the plan text kept in the manifest), an input changed (rows and
hash), or, with the same plan and inputs, the engine computes differently.
Then which payees' totals moved and by how much.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from spmlang.api import Plan, Result, load
from spmlang.diagnostics import InputError, UsageError
from spmlang.hashing import manifest_path, records, sha256_file
from spmlang.report.manifest import RunManifest
from spmlang.visible import visible

SPECIAL_INPUTS = ("quotas", "targets", "roster")


@dataclass
class Verification:
    ledger: Path
    identical: bool
    findings: list[str] = field(default_factory=list)
    plan_diff: list[str] = field(default_factory=list)
    changed_totals: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)
    folder: bool = False  # a ledger folder (a cluster's): compared line for line, not byte for byte

    def report(self) -> str:
        """What people read; text from the ledger, its manifest and the plan made visible."""
        lines = []
        ledger = visible(str(self.ledger))
        if self.identical and self.folder:
            lines.append(
                f"{ledger}: identical — re-running its plan over its inputs on this machine gives the same lines, "
                "and its parts are as written"
            )
        elif self.identical:
            lines.append(
                f"{ledger}: identical — re-running its plan over its inputs gives the same ledger, byte for byte"
            )
        else:
            lines.append(f"{ledger}: NOT reproduced")
        lines.extend(f"  - {visible(finding)}" for finding in self.findings)
        if self.plan_diff:
            lines.append("  plan changes:")
            lines.extend(f"    {visible(line)}" for line in self.plan_diff)
        if self.changed_totals:
            lines.append("  totals that differ (payee, period: recorded -> now):")
            for payee, period, before, after in self.changed_totals[:50]:
                lines.append(f"    {visible(payee)}, {visible(period)}: {before:,} -> {after:,} ({after - before:+,})")
            if len(self.changed_totals) > 50:
                lines.append(f"    ... and {len(self.changed_totals) - 50} more")
        return "\n".join(lines)


def verify(ledger: str | Path, roots: Iterable[str | Path] = (), allow_outside_paths: bool = False) -> Verification:
    """Re-run ``ledger`` from its manifest. The manifest is data: the plan and inputs it records are read only
    from under the ledger's folder, the current folder or one of ``roots`` (else an error, E508), unless
    ``allow_outside_paths``; nor does its record of the run's own ``allow_outside_paths`` allow anything."""
    ledger = Path(ledger)
    manifest_file = manifest_path(ledger)
    manifest = _manifest(ledger, manifest_file)
    assert manifest.ledger is not None
    base = ledger.resolve().parent
    folders = _Folders([base, Path.cwd(), *map(Path, roots)], manifest_file, allow_outside_paths)
    result = Verification(ledger, identical=False)

    file_unchanged = sha256_file(ledger) == manifest.ledger.sha256
    if not file_unchanged:
        result.findings.append("the ledger file was changed after spm wrote it (its hash differs from the manifest)")
    plan = _recorded_plan(manifest, folders, base, result)
    inputs = _recorded_inputs(manifest, folders, base, result)
    records_hold = _recorded_texts_hold(manifest, folders, base, result)
    chain_holds = True  # a ledger paid against one that is not reproduced is not reproduced either
    for earlier in inputs.get("paid", []):  # the chain of runs: each earlier ledger is reproduced too
        checked = verify(earlier, roots, allow_outside_paths) if manifest_path(earlier).exists() else None
        if checked is not None and not checked.identical:
            chain_holds = False
            result.findings.append(f"the earlier ledger {earlier} is not reproduced: " + "; ".join(checked.findings))
    if ledger.is_dir():  # written by a cluster: re-run on this machine, compared line for line
        result = _verify_folder(ledger, manifest, plan, inputs, file_unchanged, allow_outside_paths, result)
        result.identical = result.identical and chain_holds and records_hold
        return result
    try:
        rerun = plan.run(
            **inputs,
            through=manifest.options.get("through"),
            strict=bool(manifest.options.get("strict")),
            allow_outside_paths=allow_outside_paths,
        )
    except InputError as error:
        if error.code != "E512":
            raise
        result.findings.append(f"it cannot be re-run against its earlier ledgers: {error.file}: {error.message}")
        return result
    # The recorded option allowed nothing here (a manifest is data: it cannot let the plan read outside its
    # folder), but it is one of the run's options, and so part of the run id. A run that read no file outside is
    # the same run, with the same ledger, either way.
    rerun.options["allow_outside_paths"] = bool(manifest.options.get("allow_outside_paths"))
    same = _ledger_sha256(rerun, manifest.ledger.format) == manifest.ledger.sha256
    records_hold = _rerun_records_hold(manifest, rerun, result) and records_hold
    result.identical = same and file_unchanged and chain_holds and records_hold
    if rerun.run_id != manifest.run_id and not result.findings:
        result.findings.append("the run id differs")
    if not result.identical:
        _why_not_identical(result, manifest, rerun)
    return result


def _recorded_texts_hold(manifest: RunManifest, folders: _Folders, base: Path, result: Verification) -> bool:
    """Whether what the manifest keeps beside the hashes is as spm wrote it: its copy of the plan (what a
    reviewer reads, and the diff is made against) hashes to the plan's recorded sha256, and the rejects file
    to its own; each that does not is noted in ``result``."""
    holds = True
    source = manifest.plan.source.replace("\r\n", "\n").encode("utf-8")
    if hashlib.sha256(source).hexdigest() != manifest.plan.sha256:
        result.findings.append("the manifest's copy of the plan was edited: it no longer hashes to the plan's sha256")
        holds = False
    if manifest.rejects is not None:
        rejects = folders.resolve(base, manifest.rejects.path, "the rejects file")
        if not rejects.is_file():
            result.findings.append(f"the rejects file {rejects} the manifest records is not there")
            holds = False
        elif sha256_file(rejects) != manifest.rejects.sha256:
            result.findings.append(f"the rejects file {rejects} was changed after spm wrote it")
            holds = False
    return holds


def _rerun_records_hold(manifest: RunManifest, rerun: Result, result: Verification) -> bool:
    """Whether the re-run accounts for the rows as the manifest says, and rejects the rows the rejects file
    (as recorded) holds; each that does not is noted in ``result``."""
    from spmlang.report.files import write_table

    holds = True
    accounting = json.loads(json.dumps(rerun.accounting))
    if accounting != manifest.accounting:
        result.findings.append(
            f"the row accounting differs: the manifest says {_counts(manifest.accounting)}, the re-run "
            f"{_counts(accounting)}"
        )
        holds = False
    if manifest.rejects is not None:
        with tempfile.TemporaryDirectory() as folder:
            again = write_table(rerun.rejects, Path(folder) / f"rejects.{manifest.rejects.format}")
        if again.sha256 != manifest.rejects.sha256:
            result.findings.append("the re-run rejects other rows than the rejects file recorded")
            holds = False
    return holds


def _counts(accounting: dict) -> str:
    rejected = sum(accounting.get("rejected", {}).values())
    excluded = sum(accounting.get("excluded", {}).values())
    return (
        f"{accounting.get('read', 0):,} read, {accounting.get('credited', 0):,} credited, {excluded:,} excluded, "
        f"{rejected:,} rejected"
    )


def _manifest(ledger: Path, manifest_file: Path) -> RunManifest:
    """The manifest beside ``ledger``, where it is that of ``ledger``."""
    if not ledger.exists():
        raise InputError("ledger file not found", file=str(ledger))
    if not manifest_file.exists():
        raise UsageError(f"no manifest beside {ledger} (expected {manifest_file}); spm run --out writes one")
    manifest = RunManifest.read(manifest_file)
    if manifest.ledger is None:
        raise UsageError(f"{manifest_file} records no ledger file")
    if not records(ledger, manifest.ledger.format, manifest.parts is not None):
        raise UsageError(
            f"no manifest of {ledger} beside it: {manifest_file} is that of {manifest.ledger.path}, a ledger written "
            "under the same name since; write each ledger under a name of its own (spm run --out writes one)"
        )
    return manifest


def _recorded_plan(manifest: RunManifest, folders: _Folders, base: Path, result: Verification) -> Plan:
    """The plan the manifest records, loaded; noted in ``result`` (with a diff) if it changed."""
    if manifest.plan.path is None or manifest.plan.path.startswith("<"):
        raise UsageError(
            f"the run read its plan from memory, not from a file: {result.ledger} cannot be re-run from its manifest"
        )
    plan_path = folders.resolve(base, manifest.plan.path, "the plan")
    if not plan_path.exists():
        raise InputError(
            "the plan recorded in the manifest is not there",
            file=str(plan_path),
            hint=f"the manifest is {folders.manifest}",
        )
    plan_text = plan_path.read_text(encoding="utf-8-sig")
    plan = load(plan_path)
    if plan.checked.sha256 != manifest.plan.sha256:
        result.findings.append(
            f"the plan changed: {plan_path} (recorded version {manifest.plan.version}, now {plan.version})"
        )
        result.plan_diff = list(
            difflib.unified_diff(
                manifest.plan.source.splitlines(), plan_text.splitlines(), "recorded", "now", lineterm="", n=1
            )
        )[:80]
    return plan


def _recorded_inputs(manifest: RunManifest, folders: _Folders, base: Path, result: Verification) -> dict:
    """The inputs the manifest records, as arguments of ``Plan.run``; each that changed noted in ``result``."""
    inputs: dict = {"tables": {}}
    for record in manifest.inputs:
        if record.kind == "inline":
            continue
        if record.kind != "file" or record.path is None:
            raise UsageError(
                f"the run read '{record.name}' from memory, not from a file: it cannot be re-run from its manifest"
            )
        path = folders.resolve(base, record.path, f"the input '{record.name}'")
        if not path.exists():
            raise InputError(f"the input '{record.name}' recorded in the manifest is not there", file=str(path))
        if sha256_file(path) != record.sha256:
            result.findings.append(f"the input '{record.name}' changed: {path}")
        if record.name == "transactions":
            inputs["deals"] = path
        elif record.name.startswith("transactions "):  # one of the files of a run on a cluster, in name order
            inputs.setdefault("deal_files", []).append(path)
        elif record.name.startswith("paid "):  # an earlier ledger the run built on: verified in turn
            inputs.setdefault("paid", []).append(path)
        elif record.name in SPECIAL_INPUTS:
            inputs[record.name] = path
        else:
            inputs["tables"][record.name] = path
    return inputs


def _verify_folder(
    ledger: Path,
    manifest: RunManifest,
    plan: Plan,
    inputs: dict,
    file_unchanged: bool,
    allow_outside_paths: bool,
    result: Verification,
) -> Verification:
    """A ledger folder a cluster wrote, re-run on this machine: the same lines, payee by payee, each payee's in
    the same order (every column; with several transaction files, all but the run id, which records them as
    files where this machine reads them as one table)."""
    from spmlang.report.dataset import by_payee, read_ledger_folder

    result.folder = True
    files = inputs.pop("deal_files", None)
    if files:
        inputs["deals"] = _one_table(files, list(plan.checked.transactions.columns))
    rerun = plan.run(
        **inputs,
        through=manifest.options.get("through"),
        strict=bool(manifest.options.get("strict")),
        allow_outside_paths=allow_outside_paths,
    )
    rerun.options["allow_outside_paths"] = bool(manifest.options.get("allow_outside_paths"))
    now = by_payee(rerun.ledger)
    try:
        recorded = read_ledger_folder(ledger)
        if files:
            recorded, now = recorded.drop_columns(["run_id"]), now.drop_columns(["run_id"])
        # Other columns: written by another version of spm (before `exact`, say), which the finding below says.
        same = recorded.column_names == now.column_names and recorded.num_rows == now.num_rows
        same = same and bool(recorded.cast(now.schema).equals(now))
    except (InputError, ValueError, KeyError) as error:  # an edited part may not read, or not as a ledger
        result.findings.append(f"the recorded ledger cannot be read as a ledger: {error}")
        same = False
    result.identical = same and file_unchanged
    if not result.identical:
        _why_not_identical(result, manifest, rerun)
    return result


def _one_table(files: list[Path], columns: list[str]):
    """The transaction files of a run on a cluster as one table, in name order (as the cluster numbered them)."""
    import pyarrow as pa

    from spmlang.engine.read.formats import load_table

    return pa.concat_tables([load_table(f, columns, "transactions").whole() for f in sorted(files)])


def _ledger_sha256(rerun: Result, ledger_format: str) -> str:
    """The sha256 of the ledger the re-run writes, in the recorded ``format``."""
    from spmlang.report.files import write_chunks
    from spmlang.report.ledger import ledger_chunks, ledger_schema

    with tempfile.TemporaryDirectory() as folder:
        again = write_chunks(
            ledger_chunks(rerun.payout, rerun.run_id),
            Path(folder) / f"ledger.{ledger_format}",
            ledger_schema(rerun.payout.run.plan),
        )
    return again.sha256


def _why_not_identical(result: Verification, manifest: RunManifest, rerun: Result) -> None:
    """Notes in ``result`` what else differs: the engine, if nothing recorded changed; the totals that moved."""
    from spmlang.version import __version__

    engine_only = not result.findings
    if engine_only and manifest.engine == f"spmlang {__version__}":
        result.findings.append(
            f"the plan, the inputs and spm's version ({manifest.engine}) are as recorded, yet the ledger is not what "
            "they give: another build of spm or of the libraries it writes with (pyarrow) wrote it, or it was "
            "edited after it was written (its manifest's hash with it)"
        )
    elif engine_only:
        result.findings.append(
            f"the plan and inputs are unchanged, but the engine computes or writes the "
            f"ledger differently (recorded {manifest.engine}, now spmlang {__version__})"
        )
    try:
        result.changed_totals = _changed_totals(result.ledger, rerun)
        if engine_only and not result.changed_totals:
            result.findings.append(
                "every payee's total per period is as recorded: lines differ, or only the way the file is written"
            )
    except InputError as error:
        result.findings.append(f"the recorded ledger cannot be read to compare totals: {error.message}")


class _Folders:
    """The folders a manifest's paths may lead into: the ledger's, the current one, those the user names."""

    def __init__(self, folders: list[Path], manifest: Path, allow_outside: bool):
        self.folders = list(dict.fromkeys(folder.resolve() for folder in folders))
        self.manifest = manifest
        self.allow_outside = allow_outside

    def resolve(self, base: Path, recorded: str, what: str) -> Path:
        """The path the manifest records for ``what``, next to the ledger; an error if it leads (by ``..``, as
        an absolute path or through a link) out of every folder, before the file is looked at."""
        path = Path(os.path.normpath(base / recorded))
        resolved = path.resolve()
        if self.allow_outside or any(resolved == folder or folder in resolved.parents for folder in self.folders):
            return path
        raise InputError(
            f"the manifest records {what} at '{recorded}', which is outside the folders spm verify reads "
            f"({', '.join(map(str, self.folders))})",
            file=str(self.manifest),
            code="E508",
            hint="a manifest is data, and may name only files under the ledger's folder or the current folder: "
            "name the folder that holds it with --root DIR, or allow it with --allow-outside-paths",
        )


def _changed_totals(ledger: Path, rerun) -> list[tuple[str, str, Decimal, Decimal]]:
    recorded = _totals(_read_ledger(ledger))
    now = _totals(rerun.ledger.to_pylist())
    keys = sorted(set(recorded) | set(now))
    zero = Decimal("0.00")
    return [
        (payee, period, recorded.get((payee, period), zero), now.get((payee, period), zero))
        for payee, period in keys
        if recorded.get((payee, period), zero) != now.get((payee, period), zero)
    ]


def _totals(rows) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        key = (row["payee"], row["period"])
        totals[key] = totals.get(key, Decimal("0.00")) + Decimal(str(row["amount"]))
    return totals


def _read_ledger(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    try:
        if path.is_dir():
            from spmlang.report.dataset import read_ledger_folder

            return read_ledger_folder(path, ["payee", "period", "amount"]).to_pylist()
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path, columns=["payee", "period", "amount"]).to_pylist()
        if suffix == ".csv":
            import pyarrow as pa
            import pyarrow.csv as pacsv

            from spmlang.spreadsheet import from_spreadsheet_text

            types = {"payee": pa.string(), "period": pa.string(), "amount": pa.string()}
            rows = pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(include_columns=list(types), column_types=types)
            ).to_pylist()
            return [dict(row, payee=from_spreadsheet_text(row["payee"])) for row in rows]  # never empty
        import json

        text = path.read_text(encoding="utf-8")
        return json.loads(text) if suffix == ".json" else [json.loads(line) for line in text.splitlines() if line]
    except Exception as error:  # noqa: BLE001 - an edited ledger may be unreadable; say so
        raise InputError(f"cannot read the recorded ledger: {error}", file=str(path)) from None
