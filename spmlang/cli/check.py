"""``spm check``: plan and test files checked, their diagnostics printed as text, JSON or GitHub annotations.

The command as typer reads it; a plain ``spm check`` never comes here (see :mod:`spmlang.cli.fast_check`).
"""

from pathlib import Path
from typing import Annotated

import typer

from spmlang.cli.fast_check import check_plans


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
    worst = check_plans(plans, output_format)
    if worst:
        raise typer.Exit(worst)
