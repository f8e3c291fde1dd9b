"""``spm lsp``: a language server for plan files (``.spm``) and test files (``.test.spm``), for any editor that
speaks the Language Server Protocol (docs/editors.md). It needs pygls: ``pip install 'spmlang[lsp]'``."""

from __future__ import annotations

INSTALL_HINT = "pip install 'spmlang[lsp]'"


def missing() -> str | None:
    """Why the server cannot start here (pygls is not installed), or None."""
    try:
        import lsprotocol  # noqa: F401 - imported only to learn whether it is installed
        import pygls  # noqa: F401 - likewise
    except ImportError as error:
        return f"spm lsp needs the package {error.name or 'pygls'}, which is not installed: {INSTALL_HINT}"
    return None


def serve() -> None:
    """Serve one editor over stdin and stdout until it says goodbye."""
    from spmlang.lsp.server import serve as start

    start()
