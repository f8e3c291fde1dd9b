"""``spm compile``: a plan compiled into its calculator; with ``--explain``, the calculator's steps printed."""

from typing import Annotated

import typer

from spmlang.cli.console import out
from spmlang.cli.data_options import PlanFile
from spmlang.cli.errors import errors_to_exit_codes


def compile_command(
    plan: PlanFile,
    explain_steps: Annotated[bool, typer.Option("--explain", help="Print the calculator as readable steps.")] = False,
) -> None:
    """Compile a plan into its calculator; with --explain, print its steps with the clause of each."""
    from spmlang.api import load
    from spmlang.engine.steps import plan_steps, render_steps

    with errors_to_exit_codes():
        loaded = load(plan)
        compiled = loaded.compiled
        if explain_steps:
            out.print(render_steps(plan_steps(compiled), loaded.checked), markup=False)
        else:
            out.print(
                f"{plan}: compiled ({len(loaded.components)} component(s), {compiled.calendar.count} periods)",
                markup=False,
            )
