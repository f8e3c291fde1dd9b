"""The ``spm`` command: it parses the options, the library does the work, and it prints what came of it.

Exit codes: 0 success; 1 the plan has errors (or, for commands that judge,
the judgement failed); 2 a usage or input error (a missing file, a missing
column, a bad option); 3 an internal error in spm itself.

The commands are declared with typer in ``commands`` (``app``), a module per group of commands (``check``,
``run``, ``review``, ``plot``, ``compile``, ``lsp``); the options that name a run's data are defined once in
``data_options``; errors become messages and exit codes in ``errors``. A plain ``spm check`` is run before
typer is imported (``fast_check``): it starts in about half the time.
"""

import sys
from typing import Any

from spmlang.cli.process import set_process_defaults


def main() -> None:
    """Entry point of the ``spm`` script."""
    set_process_defaults()
    try:
        code = _fast_check()
        if code is not None:
            sys.exit(code)
        sys.modules[__name__].app()  # as made by commands, or as a test put in its place
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
        sys.exit(code)
    except KeyboardInterrupt:
        from spmlang.cli.console import err

        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as error:  # a bug outside a command's own handling (as it starts, or as it ends)
        from spmlang.cli.errors import report_internal_error

        report_internal_error(error)
        sys.exit(3)


def _fast_check() -> int | None:
    from spmlang.cli.fast_check import fast_check

    return fast_check(sys.argv[1:])


def __getattr__(name: str) -> Any:
    """``app``, the typer application, made when first asked for."""
    if name == "app":
        from spmlang.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
