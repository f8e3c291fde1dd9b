"""The run manifest: what a ledger was computed from, so that it can be reproduced and verified.

``spm run --out ledger.parquet`` writes ``ledger.manifest.json`` beside it: the
plan (name, version, content hash and text), each input (path, row count,
content hash), the engine version, the options, the run id, the row
accounting and the ledger file's own hash. There is no timestamp in it or in
the ledger: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from spmlang.diagnostics import InputError

MANIFEST_VERSION = 1


class PlanRecord(BaseModel):
    name: str
    version: str
    path: str | None
    sha256: str
    source: str = Field(description="The plan text, so that a changed plan can be shown as a diff.")

    @staticmethod
    def of(plan, base: Path | None) -> PlanRecord:
        """The record of a checked ``plan``, its path relative to ``base`` (a plan given as text keeps its
        name, such as ``<plan>``)."""
        return PlanRecord(
            name=plan.settings.name,
            version=plan.settings.version,
            path=plan.path if plan.path.startswith("<") else relative(Path(plan.path), base),
            sha256=plan.sha256,
            source=plan.source,
        )


class InputRecord(BaseModel):
    name: str  # transactions, quotas, targets, roster, or a lookup table's name
    kind: str  # file | in-memory | inline
    path: str | None  # relative to the manifest's folder when it is a file
    rows: int
    sha256: str


class FileRecord(BaseModel):
    path: str
    format: str
    sha256: str
    rows: int


class RunManifest(BaseModel):
    manifest_version: int = MANIFEST_VERSION
    engine: str
    run_id: str
    plan: PlanRecord
    inputs: list[InputRecord]
    options: dict
    accounting: dict
    currency: str | None = None  # the plan's: a later run against this ledger must pay in it
    through: str | None = None  # --through: the last period paid; later runs with --paid start after it
    ledger: FileRecord | None = None
    rejects: FileRecord | None = None
    # A ledger written as a folder (spm run --cluster): its parquet parts; ``ledger`` is then the folder, its
    # sha256 that of the parts' names and hashes (see spmlang.hashing.parts_sha256).
    parts: list[FileRecord] | None = None

    def to_json(self) -> str:
        fields = self.model_dump(mode="json", exclude={"parts"} if self.parts is None else None)
        return json.dumps(fields, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @staticmethod
    def read(path: Path) -> RunManifest:
        """The manifest at ``path``; an error naming it where it is not one spm wrote (a manifest is data)."""
        try:
            return RunManifest.model_validate_json(path.read_bytes())
        except OSError as error:
            reason = error.strerror or str(error)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"]))
            reason = f"{first['msg']}" + (f" (at {where})" if where else "")
        raise InputError(
            f"cannot read the manifest: {reason}",
            file=str(path),
            hint="a manifest is the file spm run --out wrote beside the ledger, as it wrote it",
            code="E500",
        )


def sha256_table(table) -> str:
    """A content hash of an in-memory Arrow table (its schema and values)."""
    import pyarrow as pa

    sink = io.BytesIO()
    combined = table.combine_chunks()
    with pa.ipc.new_stream(sink, combined.schema) as writer:
        writer.write_table(combined)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def input_records(sources: dict, base: Path | None) -> list[InputRecord]:
    """One record per input of a run, in a stable order. ``base``: the folder paths are relative to."""
    records = []
    for name in sorted(sources):
        source = sources[name]
        loaded = getattr(source, "loaded", source)  # reference tables wrap the table they were read from
        rows = getattr(source, "rows", None)
        if loaded is None:  # rows written in the plan: covered by the plan's hash
            records.append(InputRecord(name=name, kind="inline", path=None, rows=rows or 0, sha256=""))
            continue
        if rows is None:
            rows = loaded.rows
        if loaded.path is not None:
            records.append(
                InputRecord(name=name, kind="file", path=relative(loaded.path, base), rows=rows, sha256=loaded.sha256())
            )
        else:
            records.append(
                InputRecord(name=name, kind="in-memory", path=None, rows=rows, sha256=sha256_table(loaded.table))
            )
    return records


def relative(path: Path, base: Path | None) -> str:
    """A path as the manifest stores it: relative to the manifest's folder when possible."""
    path = Path(path).resolve()
    if base is None:
        return str(path)
    try:
        return os.path.relpath(path, Path(base).resolve())
    except ValueError:  # another drive on Windows
        return str(path)
