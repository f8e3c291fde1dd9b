"""The ``spm`` command: it parses the options, the library does the work, and it prints what came of it.

Exit codes: 0 success; 1 the plan has errors (or, for commands that judge,
the judgement failed); 2 a usage or input error (a missing file, a missing
column, a bad option); 3 an internal error in spm itself.

A module per group of commands (``check``, ``run``, ``review``, ``plot``, ``compile``, ``lsp``); the options that name a
run's data are defined once in ``data_options``; errors become messages and exit codes in ``errors``.

The modules that declare commands do without ``from __future__ import annotations``: Typer reads every
command's parameters as each ``spm`` command starts, and would evaluate annotations written as strings anew.
"""

import sys
from typing import Annotated

import typer

from spmlang.cli.check import check_command
from spmlang.cli.compile import compile_command
from spmlang.cli.console import err
from spmlang.cli.errors import report_internal_error, show_tracebacks
from spmlang.cli.lsp import lsp_command
from spmlang.cli.plot import plot_command
from spmlang.cli.process import set_process_defaults
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


def main() -> None:
    """Entry point of the ``spm`` script."""
    set_process_defaults()
    try:
        app()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
        sys.exit(code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as error:  # a bug outside a command's own handling (as it starts, or as it ends)
        report_internal_error(error)
        sys.exit(3)
