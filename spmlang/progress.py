"""Progress of a long run: the steps of a calculation, reported to whoever wants to show them.

The engine calls a *progress callback* ``report(step, done, total)`` as it goes: ``step`` says what it
is doing in words ("reading transactions", "component commission", "writing the ledger"), ``done`` of
``total`` steps are behind it. Anything callable with those three arguments will do, e.g. from Python::

    plan.run(deals, progress=lambda step, done, total: print(f"{done}/{total} {step}"))

:class:`TerminalProgress` is what ``spm run`` shows: a rich progress bar, only on a terminal, only once
a run has lasted more than a moment, and gone when the run ends (nothing is left in the output).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Report = Callable[[str, int, int], None]
T = TypeVar("T")


def silent(step: str, done: int, total: int) -> None:
    """The default: report nothing."""


class Steps:
    """A fixed number of steps, reported one after another."""

    def __init__(self, report: Report | None, total: int):
        self.report = report or silent
        self.total = max(total, 1)
        self.done = 0

    def __call__(self, step: str) -> None:
        """Start ``step`` (the previous one is done)."""
        self.report(step, min(self.done, self.total), self.total)
        self.done += 1

    def finish(self) -> None:
        self.report("done", self.total, self.total)


def tracked(items: Iterable[T], total: int, step: str, report: Report | None) -> Iterator[T]:
    """``items`` as they come, reporting ``step`` with how many of ``total`` are done: at once (none), and
    as each item is taken."""
    report = report or silent
    total = max(total, 1)
    report(step, 0, total)  # before the first item, which may take a while to come
    done = 0
    for item in items:
        yield item
        done += 1
        report(step, min(done, total), total)
    if not done:
        report(step, total, total)


def wanted(console, quiet: bool = False) -> bool:
    """Show progress only to a person: a terminal, not quiet, not a CI job."""
    return console.is_terminal and not quiet and not os.environ.get("CI") and os.environ.get("TERM") != "dumb"


class TerminalProgress:
    """A transient rich progress bar that appears only when a run takes longer than ``delay`` seconds.

    Use as a context manager; pass the object itself as the progress callback.
    """

    def __init__(self, console, delay: float = 0.75):
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("starting", total=1)
        self._lock = threading.Lock()
        self._shown = False
        self._closed = False
        self._timer = threading.Timer(delay, self._show)
        self._timer.daemon = True

    def __enter__(self) -> TerminalProgress:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._shown:
                self._bar.stop()

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self._bar.start()
                self._shown = True

    def __call__(self, step: str, done: int, total: int) -> None:
        self._bar.update(self._task, description=step, completed=done, total=total)
