"""``spm check``'s work, and the command lines of it that ``spm`` runs without typer.

``spm check`` runs on every save, in editors and pre-commit hooks: it starts in about half the time when
typer (and pydantic, which typer converts every value with) is never imported. :func:`fast_check` runs the
plain command lines (``spm check PLANS... [--format FORMAT]``); any other (``--help``, ``--debug``, a path
that starts with ``-``, an unknown option or format, no plan at all, any on Windows) goes to typer, which
says what it says for it. Either way the check is :func:`check_plans`, with the same messages and exit codes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spmlang.cli.console import err, in_color, out, print_json, print_rendered
from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError

if TYPE_CHECKING:
    from spmlang.check_report import FileCheck

CHECK_FORMATS = ("text", "json", "github")


def check_plans(plans: Sequence[Path], output_format: str) -> int:
    """Check each file and print what was found; the exit code the worst of them calls for."""
    with errors_to_exit_codes():
        if output_format not in CHECK_FORMATS:
            raise UsageError(f"--format is one of {', '.join(CHECK_FORMATS)}, not '{output_format}'")
        from spmlang.check_report import check_file

        checks = []
        for path in plans:
            checked = check_file(path)
            checks.append(checked)
            if output_format == "text":
                _print_text(checked)
            elif output_format == "github":
                from spmlang.report.render.github import github_annotations

                for line in github_annotations(checked.diagnostics, checked.file):
                    print(line)
        if output_format == "json":
            print_json([checked.to_dict() for checked in checks], ensure_ascii=True)
        return max((checked.exit_code for checked in checks), default=0)


def _print_text(checked: FileCheck) -> None:
    rendered = checked.rendered(color=in_color(err))
    if rendered:
        print_rendered(rendered)
    if checked.ok:
        out.print(f"{checked.file}: ok ({checked.summary})", markup=False)
    else:
        err.print(f"{checked.file}: {checked.errors} error(s)\n", markup=False)


def plain_check(args: Sequence[str]) -> tuple[list[Path], str] | None:
    """The plans and format of ``spm check PLANS... [--format FORMAT]`` (``args`` after ``spm``), or None for
    any other command line: those typer reads. On Windows typer reads them all: there it expands wildcards
    (``spm check plans\\*.spm``), which the shell does elsewhere."""
    if not args or args[0] != "check" or os.name == "nt" or _completing():
        return None
    plans: list[Path] = []
    formats: list[str] = []
    words = iter(args[1:])
    for word in words:
        if word == "--format":
            formats.append(next(words, ""))
        elif word.startswith("--format="):
            formats.append(word.removeprefix("--format="))
        elif word and not word.startswith("-"):
            plans.append(Path(word))
        else:
            return None
    if not plans or len(formats) > 1 or (formats and formats[0] not in CHECK_FORMATS):
        return None
    return plans, formats[0] if formats else "text"


def _completing() -> bool:
    """Whether a shell asks for completions (``_SPM_COMPLETE`` and the like): typer answers them."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def fast_check(args: Sequence[str]) -> int | None:
    """Run ``spm check`` if ``args`` is a plain check's command line, and return its exit code; else None."""
    plain = plain_check(args)
    if plain is None:
        return None
    try:
        return check_plans(*plain)
    except Exception as stop:  # errors_to_exit_codes has said what went wrong and ends the command
        import typer

        if isinstance(stop, typer.Exit):
            return stop.exit_code
        raise
