"""The ``spm`` command as typer reads it: the commands, their options and help.

The modules that declare commands do without ``from __future__ import annotations``: Typer reads every
command's parameters as each ``spm`` command starts, and would evaluate annotations written as strings anew.
"""

from typing import Annotated

import typer

from spmlang.cli.check import check_command
from spmlang.cli.compile import compile_command
from spmlang.cli.errors import show_tracebacks
from spmlang.cli.lsp import lsp_command
from spmlang.cli.plot import plot_command
from spmlang.cli.review import diff_command, fmt_command, tests_command, verify_command
from spmlang.cli.run import explain_command, run_command, statement_command, whatif_command

EXIT_CODES = """Exit codes: 0 success; 1 plan errors; 2 usage or input errors; 3 an internal error in spm."""

app = typer.Typer(
    name="spm",
    help="Sales compensation plans as code: check them, run them over transactions, read the ledger.\n\n" + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="On an internal error (a bug in spm), show its traceback too (as SPM_DEBUG=1 does)."
        ),
    ] = False,
) -> None:
    """The options given before the command (``spm --debug run ...``)."""
    show_tracebacks(debug)


# In the order `spm --help` lists them.
app.command(name="check")(check_command)
app.command(name="run")(run_command)
app.command(name="explain")(explain_command)
app.command(name="statement")(statement_command)
app.command(name="whatif")(whatif_command)
app.command(name="test")(tests_command)
app.command(name="fmt")(fmt_command)
app.command(name="diff")(diff_command)
app.command(name="plot")(plot_command)
app.command(name="compile")(compile_command)
app.command(name="lsp")(lsp_command)
app.command(name="verify")(verify_command)
