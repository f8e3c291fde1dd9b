"""``spm lsp``: the language server for editors (see docs/editors.md)."""

from __future__ import annotations

from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError


def lsp_command() -> None:
    """Run the language server for editors over stdin and stdout (needs: pip install 'spmlang[lsp]'; see
    docs/editors.md)."""
    from spmlang import lsp

    with errors_to_exit_codes():
        why = lsp.missing()
        if why is not None:
            raise UsageError(why)
        lsp.serve()
