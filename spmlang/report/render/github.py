"""Diagnostics as GitHub Actions annotations (``spm check --format github``): each shows on the line of the
pull request it is about."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from spmlang.visible import visible

# Where a diagnostic is, and the name GitHub gives it.
_POSITION = (("line", "line"), ("column", "col"), ("end_line", "endLine"), ("end_column", "endColumn"))


def github_annotations(diagnostics: Iterable[Mapping[str, Any]], file: str) -> list[str]:
    """One workflow command per diagnostic (as :meth:`spmlang.diagnostics.Diagnostic.to_dict` makes them):
    ``::error file=...,line=...,col=...::message``; ``file`` is the file of a diagnostic that names none."""
    lines = []
    for diagnostic in diagnostics:
        level = "warning" if diagnostic.get("severity") == "warning" else "error"
        where = [f"file={_escape(diagnostic.get('file') or file, property_value=True)}"]
        for key, name in _POSITION:
            if diagnostic.get(key) is not None:
                where.append(f"{name}={diagnostic[key]}")
        if diagnostic.get("code"):
            where.append(f"title={_escape(diagnostic['code'], property_value=True)}")
        message = diagnostic["message"] + (f" (hint: {diagnostic['hint']})" if diagnostic.get("hint") else "")
        lines.append(f"::{level} {','.join(where)}::{_escape(message)}")
    return lines


def _escape(text: str, property_value: bool = False) -> str:
    """Text as a workflow command holds it: line breaks and ``%`` escaped (and ``:`` and ``,`` in a
    property's value), control characters shown as their escapes."""
    text = visible(text, lines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text
