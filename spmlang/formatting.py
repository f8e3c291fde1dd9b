"""``spm fmt``'s work on files: each plan or test file put in the canonical layout (syntax/format.py) and
rewritten whole, or, to check, compared with it as a unified diff. The command prints what came of each."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spmlang.files import write_text
from spmlang.syntax.format import format_source
from spmlang.syntax.source import read_source


@dataclass
class Formatted:
    """What formatting one file came to."""

    path: Path
    changed: bool = False  # its layout is not the canonical one (with check: it would be rewritten)
    diff: str = ""  # with check: from the file as it is to the file formatted
    error: Exception | None = None  # it could not be read or parsed (or spm has a bug): it is left as it was


def format_files(files: list[Path], check: bool = False) -> Iterator[Formatted]:
    """Format each of ``files`` in turn: rewrite it whole in the canonical layout (a stopped run never leaves
    half a plan), or with ``check`` change nothing and give the diff. Each file on its own: one that cannot be
    formatted stops no other (its error comes back as its outcome's)."""
    for path in files:
        try:
            yield format_file(path, check)
        except Exception as error:  # returned, not swallowed: the caller says what it was (a bug as a bug)
            yield Formatted(path, error=error)


def format_file(path: Path, check: bool = False) -> Formatted:
    """Format one file (see :func:`format_files`); raises what stops it."""
    source = read_source(path, "test file" if path.name.endswith(".test.spm") else "plan file")
    formatted = format_source(source, str(path))
    if formatted == source:
        return Formatted(path)
    if check:
        diff = difflib.unified_diff(
            source.splitlines(keepends=True),
            formatted.splitlines(keepends=True),
            f"{path} (as it is)",
            f"{path} (formatted)",
        )
        return Formatted(path, changed=True, diff="".join(diff))
    write_text(path, formatted)
    return Formatted(path, changed=True)
