"""``spm check``: plan and test files checked, their diagnostics printed as text, JSON or GitHub annotations."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from spmlang.cli.console import err, in_color, out, print_json, print_rendered
from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError

if TYPE_CHECKING:
    from spmlang.check_report import FileCheck

CHECK_FORMATS = ("text", "json", "github")


def check_command(
    plans: Annotated[
        list[Path],
        typer.Argument(
            metavar="PLANS", help="Plan files (.spm) and test files (.test.spm) to check.", show_default=False
        ),
    ],
    output_format: Annotated[
        str,
        typer.Option(
            "--format", metavar="FORMAT", help="text; json (one object per file); github (GitHub Actions annotations)."
        ),
    ] = "text",
) -> None:
    """Check plan files: names, types, tiers, curves, caps. Prints every error with its position."""
    with errors_to_exit_codes():
        if output_format not in CHECK_FORMATS:
            raise UsageError(f"--format is one of {', '.join(CHECK_FORMATS)}, not '{output_format}'")
        from spmlang.check_report import check_file
        from spmlang.report.render.github import github_annotations

        checks = []
        for path in plans:
            checked = check_file(path)
            checks.append(checked)
            if output_format == "text":
                _print_text(checked)
            elif output_format == "github":
                for line in github_annotations(checked.diagnostics, checked.file):
                    print(line)
        if output_format == "json":
            print_json([checked.to_dict() for checked in checks], ensure_ascii=True)
        worst = max((checked.exit_code for checked in checks), default=0)
        if worst:
            raise typer.Exit(worst)


def _print_text(checked: "FileCheck") -> None:
    rendered = checked.rendered(color=in_color(err))
    if rendered:
        print_rendered(rendered)
    if checked.ok:
        out.print(f"{checked.file}: ok ({checked.summary})", markup=False)
    else:
        err.print(f"{checked.file}: {checked.errors} error(s)\n", markup=False)
