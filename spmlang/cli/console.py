"""Where the commands print: ``out`` (stdout: what was asked for) and ``err`` (stderr: errors, progress).

Text from data and files is printed as it is, but never raw: control characters in it are shown as escapes
(see :mod:`spmlang.visible`), and JSON stays valid JSON.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from spmlang.visible import visible, visible_json

if TYPE_CHECKING:
    from spmlang.progress import Report


class _Console(Console):
    """A console that prints text from data and files as it is: control characters in it are shown as escapes
    (see :mod:`spmlang.visible`), ``:smile:`` stays as written. Tables and messages make their values visible
    as they are made (so that columns line up); this makes sure of whatever else is printed."""

    def print(self, *objects: Any, **options: Any) -> None:
        super().print(*(visible(o, lines=True) if isinstance(o, str) else o for o in objects), **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            yield segment if segment.control else Segment(visible(segment.text, lines=True), segment.style)


# In a pipe or a CI log there is no terminal width to respect: keep tables whole.
out = _Console(highlight=False, soft_wrap=True, emoji=False)
if not out.is_terminal:
    out = _Console(highlight=False, soft_wrap=True, emoji=False, width=200)
err = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def in_color(console: Console) -> bool:
    return console.is_terminal and "NO_COLOR" not in os.environ


def print_rendered(text: str) -> None:
    """Diagnostics as :func:`spmlang.diagnostics.render_diagnostics` made them: coloured by their own escape
    sequences where colour is wanted (their values were made visible as they were rendered)."""
    err.print(Text.from_ansi(text) if in_color(err) else text, markup=False, highlight=False)


def print_json(data: Any, ensure_ascii: bool = False) -> None:
    """``data`` as JSON on stdout; text from data or files stays valid JSON, with nothing raw on a terminal."""
    import json

    print(visible_json(json.dumps(data, indent=2, ensure_ascii=ensure_ascii)))


@contextlib.contextmanager
def progress_bar(quiet: bool) -> Iterator[Report]:
    """A progress bar on stderr while a long run lasts, for a person at a terminal; else nothing."""
    from spmlang.progress import TerminalProgress, silent, wanted

    if not (wanted(out, quiet) and err.is_terminal):
        yield silent
        return
    with TerminalProgress(err) as bar:
        yield bar
