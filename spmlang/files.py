"""Files spm writes appear whole or not at all: ledgers, manifests, statements, reports, formatted plans.

Each is written beside its place and moved into it once complete (a rename, which the file system does at
once): a run stopped midway leaves what the path held before, and no partial file. Standard library only,
so that commands which never touch data (``spm fmt``) can use it without importing numpy or pyarrow.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from spmlang.diagnostics import OutputError

# What the file system says when a file cannot be written where it was asked for (not a bug of spm's), and
# what to do about it.
_ELSEWHERE = "choose another path"
_REFUSED = {
    errno.ENOSPC: ("the disk is full", "free some space, or write it elsewhere"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or write it elsewhere"),
    errno.EFBIG: ("the file is larger than this system allows", "write it elsewhere"),
    errno.EROFS: ("the file system is read-only", _ELSEWHERE),
    errno.EACCES: ("permission denied", "choose a folder you can write to"),
    errno.EPERM: ("permission denied", "choose a folder you can write to"),
    errno.ENOTDIR: ("a part of its path is a file, not a folder", _ELSEWHERE),
    errno.EEXIST: ("a file is there, not a folder", _ELSEWHERE),
    errno.EISDIR: ("it is a folder", "give a file name"),
    errno.ENAMETOOLONG: ("the name is too long", _ELSEWHERE),
    errno.EIO: ("the disk reported an error", "check the disk, or write it elsewhere"),
}


def _refused(path: Path, error: OSError) -> OutputError:
    """The error for an ``error`` of one of the _REFUSED kinds."""
    reason, fix = _REFUSED[error.errno or 0]
    return OutputError(path, reason, hint=f"{fix}; nothing was written there (what the path held before is as it was)")


def check_writable(path: Path) -> None:
    """Refuse ``path`` now, before any work, if it clearly cannot be written: it is a folder, or the folder it
    would be in is a file or cannot be written to (raises :class:`~spmlang.diagnostics.OutputError`)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "it is a folder", hint="give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the folders spm would make go under this one
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(path, f"'{folder}' is a file, not a folder", hint=_ELSEWHERE)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(path, f"permission denied in '{folder}'", hint="choose a folder you can write to")


def check_new_ledger(ledger: Path, paid: Iterable[str | Path], named: str) -> None:
    """Refuse to write a ledger at ``ledger`` (said as ``named``: '--out q2.parquet') where one of the earlier
    ledgers the run is paid against is (a paid ledger is never rewritten), or where its manifest would replace
    another ledger's (:func:`check_manifest_free`)."""
    from spmlang.diagnostics import UsageError

    if any(Path(ledger).resolve() == Path(earlier).resolve() for earlier in paid):
        raise UsageError(f"{named} is an earlier ledger this run is paid against: a paid ledger is never rewritten")
    check_manifest_free(ledger)


def check_path_given(path, call: str, takes: str) -> None:
    """A usage error unless ``path`` is a path (text or a ``Path``): ``load(None)`` says what it ``takes``."""
    from spmlang.diagnostics import UsageError

    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"{call} takes {takes}, not {type(path).__name__}")


def files_given(plan, named: Iterable[tuple[str, object]], paid: Iterable[str | Path]) -> list[tuple[str, Path]]:
    """The files a run is given, as a message says each (``named``: what it is, and its source; a table or a
    DataFrame is no file), with the plan's and the earlier ledgers' (and their manifests)."""
    found = [("the plan", Path(plan))] if plan and not str(plan).startswith("<") else []
    found += [(what, Path(source)) for what, source in named if isinstance(source, (str, os.PathLike))]
    return found + earlier_ledgers(paid)


def check_not_read(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path]]) -> None:
    """Refuse an output (``("--rejects q1.csv", path)``) that is a file the run reads (``("the quotas", path)``:
    the plan, its data, an earlier ledger or that ledger's manifest), or another of its outputs: written over,
    an input would be gone, and a paid ledger rewritten."""
    from spmlang.diagnostics import UsageError

    taken: dict[Path, str] = {}
    for what, path in inputs:
        taken.setdefault(Path(path).resolve(), what)
    for named, path in outputs:
        where = Path(path).resolve()
        if where in taken:
            raise UsageError(
                f"{named} is {taken[where]}: spm never writes over a file it reads, nor one of its "
                "outputs over another; write it elsewhere"
            )
        taken[where] = f"also {named}"


def ledger_outputs(
    ledger: str | Path | None, named: str, rejects: str | Path | None, rejects_named: str
) -> list[tuple[str, Path]]:
    """What a run writes: the ledger and its manifest, the rejected rows, each said as a message names it."""
    from spmlang.hashing import manifest_path

    outputs = []
    if ledger is not None:
        outputs += [(named, Path(ledger)), (f"the manifest of {named}", manifest_path(Path(ledger)))]
    if rejects is not None:
        outputs.append((rejects_named, Path(rejects)))
    return outputs


def earlier_ledgers(paid: Iterable[str | Path]) -> list[tuple[str, Path]]:
    """The earlier ledgers a run is paid against, and their manifests, as files it reads."""
    from spmlang.hashing import manifest_path

    found = []
    for ledger in paid:
        found += [
            (f"the earlier ledger {ledger}", Path(ledger)),
            (f"the manifest of the earlier ledger {ledger}", manifest_path(Path(ledger))),
        ]
    return found


def check_manifest_free(ledger: Path) -> None:
    """Refuse to write ``ledger`` where its manifest would replace that of another ledger still there (``--out
    q2.csv`` beside ``q2.parquet``: both have ``q2.manifest.json``). A ledger is verified, and paid against, by
    its manifest. A manifest spm cannot read, or whose ledger is gone, is no other ledger's."""
    from spmlang.hashing import ledger_beside, manifest_path, records

    ledger = Path(ledger)
    manifest = manifest_path(ledger)
    try:
        written = json.loads(manifest.read_text(encoding="utf-8"))
        format, parts = str(written["ledger"]["format"]), written.get("parts") is not None
    except (OSError, ValueError, KeyError, TypeError):  # none, or not one spm wrote
        return
    other = ledger_beside(manifest, format, parts)
    if not records(ledger, format, parts) and other.exists():
        raise OutputError(
            ledger,
            f"its manifest, {manifest}, is that of {other}, another ledger of the same name",
            hint=f"write it under another name, or remove {other} and its manifest first",
        )


def make_folder(folder: Path) -> None:
    """``folder`` and the folders it is in, made where missing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno not in _REFUSED:
            raise
        raise _refused(folder, error) from error


@contextlib.contextmanager
def replacing(path: Path, make: bool = True) -> Iterator[Path]:
    """A file to write in place of ``path``: it becomes ``path`` only once written whole. Interrupted or
    failed, it is removed, and whatever ``path`` held before is left as it was (never half a ledger). The
    file system refusing the file (a full disk, no permission) is an :class:`~spmlang.diagnostics.OutputError`
    naming ``path``. Its folder is made where missing, unless ``make`` is false (a part of a cluster's ledger:
    its folder gone means the run was given up, and must stay gone)."""
    # /dev/null, a named pipe: written into, never replaced by a file of their name. (Not looked for in a folder
    # of spm's own, where the many statement files go: a stat a file.)
    if make and _special(path):
        try:
            yield path
        except OSError as error:
            if error.errno not in _REFUSED:
                raise
            raise _refused(path, error) from error
        return
    if make:
        make_folder(path.parent)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    replaced = False
    try:
        yield partial
        os.replace(partial, path)
        replaced = True
    except OSError as error:
        if error.errno not in _REFUSED:
            raise
        raise _refused(path, error) from error
    finally:
        if not replaced:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)


def _special(path: Path) -> bool:
    """Whether ``path`` is a device or a named pipe (``/dev/null``, ``mkfifo``), not a file or a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def write_bytes(path: Path, content: bytes, make: bool = True) -> None:
    """``content`` as the bytes of ``path``, written whole (see :func:`replacing`): a chart, an image, a
    statement (``make`` false: its folder is there, made once for the many files written into it)."""
    with replacing(Path(path), make) as partial:
        partial.write_bytes(content)


def write_text(path: Path, content: str) -> None:
    """``content`` as the UTF-8 text of ``path``, written whole (see :func:`replacing`). A file that is there
    already keeps its permissions, and a symbolic link is written through (its target is what changes): a
    formatted plan stays the file it was."""
    path = Path(os.path.realpath(path))
    with replacing(path) as partial:
        partial.write_text(content, encoding="utf-8")
        if partial != path and path.exists():
            shutil.copymode(path, partial)


# How the data files spm reads (and a spreadsheet) begin, and what a message calls each.
_MAGIC = {b"PAR1": "parquet", b"ARROW1": "arrow", b"\xff\xff\xff\xff": "arrow stream", b"PK\x03\x04": "zip"}
DATA_FILE_WORDS = {
    "parquet": "a parquet file",
    "arrow": "an Arrow file",
    "arrow stream": "an Arrow stream",
    "zip": "a zip file (a spreadsheet?)",
}


def data_file_kind(path: Path) -> str | None:
    """Which binary data file ``path`` is by its first bytes (a key of :data:`DATA_FILE_WORDS`), if one."""
    try:
        with Path(path).open("rb") as handle:
            start = handle.read(8)
    except OSError:
        return None
    return next((kind for magic, kind in _MAGIC.items() if start.startswith(magic)), None)
