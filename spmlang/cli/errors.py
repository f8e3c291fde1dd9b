"""spm's errors as messages and exit codes: a user's mistake is a message (never a traceback) and exit 1 or 2;
a bug in spm says so in one line, with how to report it, and exit 3 (see :mod:`spmlang.cli` for the codes).

The exit code ends the command as typer's ``Exit``; typer is imported only then, since ``spm check`` starts
without it (:mod:`spmlang.cli.fast_check`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

from spmlang.cli.console import err, in_color, print_rendered
from spmlang.diagnostics import PlanError, SpmError
from spmlang.visible import visible

_tracebacks_asked = False  # spm --debug


def show_tracebacks(asked: bool) -> None:
    """Whether an internal error shows its traceback too (``spm --debug``; ``SPM_DEBUG=1`` also asks)."""
    global _tracebacks_asked
    _tracebacks_asked = asked


def _debugging() -> bool:
    return _tracebacks_asked or os.environ.get("SPM_DEBUG", "") not in ("", "0")


@contextlib.contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Turn spm's errors into messages and exit codes; never show a traceback for a user's mistake."""
    try:
        yield
    except PlanError as error:
        print_rendered(error.render(color=in_color(err)))
        errors = sum(1 for d in error.diagnostics if d.is_error)
        err.print(f"\n{errors} error(s)", markup=False)
        _exit(1)
    except SpmError as error:
        err.print(plain_error(error), markup=False)
        _exit(error.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        _exit(130)
    except Exception as error:
        if _is_exit(error):  # the command's own exit code
            raise
        report_internal_error(error)  # a bug in spm: say so plainly
        _exit(3)


def _exit(code: int) -> NoReturn:
    import typer

    raise typer.Exit(code) from None


def _is_exit(error: Exception) -> bool:
    typer = sys.modules.get("typer")  # without typer imported, nothing raised its Exit
    return typer is not None and isinstance(error, typer.Exit)


def plain_error(error: SpmError) -> str:
    """An error as one message: ``error[E500]: ...`` as it says itself, else ``error: ...``."""
    text = str(error)
    return text if text.startswith("error") else f"error: {text}"


def report_internal_error(error: BaseException) -> None:
    """Say that spm has a bug, in one line, and how to report it; the traceback only when asked for."""
    import traceback

    from spmlang.version import __version__

    if _debugging():
        err.print("".join(traceback.format_exception(error)).rstrip(), markup=False, highlight=False)
    command = next((word for word in sys.argv[1:] if not word.startswith("-")), "COMMAND")
    named = visible(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    err.print(f"internal error in spm: {named}", markup=False, highlight=False)
    how = (
        "please report it with the command you ran, this message and the traceback above"
        if _debugging()
        else f"please report it with the command you ran, this message and the traceback that `spm --debug "
        f"{command} ...` (or SPM_DEBUG=1) prints"
    )
    err.print(
        f"  = this is a bug in spm (spmlang {__version__}), not in your plan or data: {how}; if you can, "
        "add the plan and a few rows of data that show it",
        markup=False,
        highlight=False,
    )
