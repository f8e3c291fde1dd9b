"""What ``spm check`` finds in one file, as data.

A plan file is parsed and checked; a test file (``*.test.spm``) is read with its plan, and each of its tests
checked. The outcome is a :class:`FileCheck`: its diagnostics as JSON-ready data (what ``spm check --format
json`` prints and GitHub annotations are made from), a one-line summary of what was found, the exit code it
calls for, and the diagnostics as people read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spmlang.diagnostics import Diagnostic, InputError, PlanError, render_diagnostics


@dataclass(frozen=True)
class FileCheck:
    """The outcome of checking one plan or test file.

    ``diagnostics`` are plain data (as :meth:`Diagnostic.to_dict` makes them); ``exit_code`` is 0 when the
    file is ok (it may have warnings), 1 when it has errors, 2 when it cannot be read."""

    file: str
    ok: bool = True
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""  # what was found: "3 component(s), 0 warning(s)", "4 test(s)"
    exit_code: int = 0
    # The diagnostics as people read them: rendered from the plan's diagnostics and sources (in colour if
    # asked), or as the text that says them (the invalid tests of a test file, an unreadable file).
    shown: tuple[Diagnostic, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.get("severity") == "error")

    def rendered(self, color: bool = False) -> str:
        """The diagnostics as ``spm check`` prints them (empty if there are none)."""
        if self.shown:
            return render_diagnostics(self.shown, self.sources, color=color)
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready data: file, ok, diagnostics, summary."""
        return {"file": self.file, "ok": self.ok, "diagnostics": self.diagnostics, "summary": self.summary}


def check_file(path: Path) -> FileCheck:
    """Check one plan or test file. A plan's errors, and a file that cannot be read, are part of the outcome,
    never raised."""
    try:
        if path.name.endswith(".test.spm"):
            return _check_tests(path)
        return _check_plan(path)
    except PlanError as error:
        return FileCheck(
            str(path),
            ok=False,
            exit_code=1,
            diagnostics=[d.to_dict() for d in error.diagnostics],
            shown=tuple(error.diagnostics),
            sources=error.sources,
        )
    except InputError as error:
        diagnostic = {
            "severity": "error",
            "code": error.code,
            "message": error.message,
            "hint": error.hint,
            "file": error.file or str(path),
        }
        return FileCheck(str(path), ok=False, exit_code=2, diagnostics=[diagnostic], text=str(error))


def _check_plan(path: Path) -> FileCheck:
    from spmlang.api import load

    plan = load(path)
    warnings = plan.warnings
    return FileCheck(
        str(path),
        diagnostics=[d.to_dict() for d in warnings],
        summary=f"{len(plan.components)} component(s), {len(warnings)} warning(s)",
        shown=tuple(warnings),
        sources={plan.path: plan.checked.source},
    )


def _check_tests(path: Path) -> FileCheck:
    from spmlang.testing.cases import TestFileError, read_cases  # reads tables: pyarrow, only for test files

    try:
        cases = read_cases(path)
    except TestFileError as error:
        raise error.error from None
    summary = f"{len(cases)} test(s)"
    broken = [case for case in cases if case.error]
    if not broken:
        return FileCheck(str(path), summary=summary)
    return FileCheck(
        str(path),
        ok=False,
        exit_code=1,
        summary=summary,
        diagnostics=[diagnostic.to_dict() for case in broken for diagnostic in case.diagnostics],
        text="\n\n".join(case.error or "" for case in broken),
    )
