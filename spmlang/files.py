"""Files spm writes appear whole or not at all: ledgers, manifests, statements, reports, formatted plans.

Each is written beside its place and moved into it once complete (a rename, which the file system does at
once): a run stopped midway leaves what the path held before, and no partial file. Standard library only,
so that commands which never touch data (``spm fmt``) can use it without importing numpy or pyarrow.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A file to write in place of ``path``: it becomes ``path`` only once written whole. Interrupted or
    failed, it is removed, and whatever ``path`` held before is left as it was (never half a ledger)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: Path, content: str) -> None:
    """``content`` as the UTF-8 text of ``path``, written whole (see :func:`replacing`). A file that is there
    already keeps its permissions, and a symbolic link is written through (its target is what changes): a
    formatted plan stays the file it was."""
    path = Path(os.path.realpath(path))
    with replacing(path) as partial:
        partial.write_text(content, encoding="utf-8")
        if path.exists():
            shutil.copymode(path, partial)
