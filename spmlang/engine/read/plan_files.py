"""Files a plan names itself: resolved next to the plan, and kept inside its folder.

A plan is data, not a program: it may name data files, but only inside its own
folder. ``..`` and absolute paths (and links that lead out of the folder) are
refused unless the person running it allows them explicitly.
"""

from __future__ import annotations

from pathlib import Path

from spmlang.diagnostics import InputError
from spmlang.ir.plan import CheckedPlan


def resolve_plan_file(
    path: str | None, what: str, plan: CheckedPlan, base: Path | None, allow_outside: bool
) -> Path | None:
    """The file a plan names for ``what``, or None if it names none."""
    if path is None:
        return None
    folder = (base or Path.cwd()).resolve()
    candidate = Path(path)
    refused = candidate.is_absolute() or ".." in candidate.parts
    resolved = (folder / candidate).resolve()
    if not refused and folder != resolved and folder not in resolved.parents:
        refused = True  # a link that leads out of the plan's folder
    if refused and not allow_outside:
        raise InputError(
            f"the plan names the {what} file '{path}', which is outside the plan's folder {folder}",
            file=plan.path,
            code="E505",
            hint="pass the file on the command line (--deals, --quotas, --targets, --table NAME=PATH), "
            "or allow it with --allow-outside-paths",
        )
    return resolved
