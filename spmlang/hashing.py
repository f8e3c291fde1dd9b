"""Hashes of files: what a run's id and its manifest record of each input and output."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from pathlib import Path

BLOCK = 1 << 20


PARTS = "part-*.parquet"  # the files of a ledger written as a folder (spm run --cluster)


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, as hex. Of a folder of ledger parts: of each part's name and hash, in name
    order, one per line (a part changed, added or removed changes it)."""
    if Path(path).is_dir():
        return parts_sha256([(part.name, sha256_file(part)) for part in Path(path).glob(PARTS)])
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def parts_sha256(parts: list[tuple[str, str]]) -> str:
    """The sha256 of a folder of ledger parts, from each part's (name, sha256): of one line per part, in name
    order."""
    listing = "".join(f"{name} {digest}\n" for name, digest in sorted(parts))
    return hashlib.sha256(listing.encode()).hexdigest()


def sha256_in_background(path: Path) -> Future:
    """:func:`sha256_file` of ``path``, computed on a thread of its own: hashlib and reading let go of the GIL,
    so an input is hashed on another core while the run reads it (at ten million rows the transactions took
    0.1 s to hash after the run). A daemon thread: a run that stops early does not wait for it."""
    future: Future = Future()

    def work() -> None:
        try:
            future.set_result(sha256_file(path))
        except BaseException as error:  # noqa: BLE001 - the run hears of it when it asks for the hash
            future.set_exception(error)

    threading.Thread(target=work, name=f"spm-hash-{Path(path).name}", daemon=True).start()
    return future


def manifest_path(ledger: Path) -> Path:
    """ledger.parquet -> ledger.manifest.json"""
    return ledger.with_name(ledger.stem + ".manifest.json")


def ledger_beside(manifest: Path, format: object, parts: bool) -> Path:
    """The ledger a manifest stands beside: named as it is, in the ``format`` it records (a folder of parts, if
    ``parts``). A ledger renamed with its manifest is still its manifest's."""
    stem = manifest.name.removesuffix(".manifest.json")
    return manifest.with_name(stem if parts else f"{stem}.{format}")


def records(ledger: Path, format: object, parts: bool) -> bool:
    """Whether the manifest beside ``ledger``, recording a ledger of ``format`` (a folder of parts, if ``parts``),
    can be ``ledger``'s: not that of a ledger of another format written under the same name since (``--out
    q2.csv`` after ``--out q2.parquet`` writes its manifest over the first's)."""
    folder = Path(ledger).is_dir()
    written = "parquet" if folder else Path(ledger).suffix.lower().lstrip(".")
    return str(format).lower() == written and parts == folder  # recorded as given: Q2.CSV's format is CSV
