"""spm's settings: whole numbers from the environment (:func:`count_setting`), and a project's ``[tool.spm]``
table in the nearest ``pyproject.toml``.

That table holds what decides which files ``spm test`` and ``spm fmt`` find when given a folder::

    [tool.spm]
    exclude = ["tests/golden", "archive/*-2025.spm"]

Each pattern is matched (as a glob, ``/`` between folders) against a file's path relative to the
``pyproject.toml``, and against every folder above the file: a folder that matches is skipped whole.
What is named on the command line (a file, or an excluded folder itself) is never excluded.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from spmlang.diagnostics import UsageError

CONFIG = "pyproject.toml"


def count_setting(name: str, example: str) -> int | None:
    """The whole number the environment variable ``name`` holds (None when unset or empty); anything else is
    a usage error, ``example`` saying what it should be."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"{name} is '{value}': it must be a whole number, such as {example}")
    return int(value)


@dataclass(frozen=True)
class Exclusions:
    root: Path  # the folder of the pyproject.toml the patterns came from
    patterns: tuple[str, ...]

    def excludes(self, path: Path) -> bool:
        """Whether ``path`` (or a folder above it, up to the root) matches a pattern."""
        try:
            relative = path.resolve().relative_to(self.root)
        except ValueError:  # outside the project: its patterns do not apply
            return False
        parts = relative.parts
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        return any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates for pattern in self.patterns)


def exclusions(folder: Path) -> Exclusions | None:
    """The exclusions of the nearest ``pyproject.toml`` at or above ``folder`` (None: nothing excluded)."""
    start = folder.resolve()
    for candidate in (start, *start.parents):
        config = candidate / CONFIG
        if config.is_file():
            return _read(config)
    return None


def _read(config: Path) -> Exclusions | None:
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read {config}: {error}") from None
    settings = data.get("tool", {}).get("spm")
    if settings is None:
        return None
    patterns = settings.get("exclude", []) if isinstance(settings, dict) else None
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p.strip() for p in patterns):
        raise UsageError(
            f'{config}: [tool.spm] exclude must be a list of paths or glob patterns, such as ["tests/golden"]'
        )
    return Exclusions(config.parent, tuple(p.strip().strip("/") for p in patterns)) if patterns else None
