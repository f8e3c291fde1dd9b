"""The sandbox a company's statement templates run in (``spm statement --template DIR``): Jinja2's, where a
template calls nothing but its own macros and Jinja2's helpers (range, loop.cycle ...), not a method of the
figures it is given; and within what a page needs. A template makes no text or list longer than a page could
show, by any of the ways Jinja2 has to grow one (repeating, joining, ``~``, ``+``, padding, replacing), nor a
number of more digits than a page could print, and a page stops at a time whether or not it writes anything
(:func:`deadline`): a template is the company's file, but a mistake in it must not take the machine's memory or
hang a pay run."""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

POWER = 100  # the largest power a template raises to
LONGEST = 100_000  # the longest text or list a template makes by repeating one
DIGITS = 3_000  # the most digits of a whole number a template makes (Python writes none of over 4,300)
LONGEST_TEXT = 20_000_000  # the longest text or list a template makes any other way (a page's most characters)


class Slow(BaseException):
    """A page took longer than its time (raised by :func:`deadline`; not an ``Exception``, so that nothing a
    template calls can take it for its own error and carry on)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Slow` in the code run within, once ``seconds`` have passed: a template's loop stops though
    it writes nothing (``{% set %}`` in loops of loops). A timer signal, so only where one can be had (the main
    thread, a system with ``setitimer``); elsewhere the page is still stopped between the pieces it writes."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame) -> None:
        raise Slow

    previous = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    delay, interval = signal.setitimer(signal.ITIMER_REAL, seconds)  # a timer of the program's own, if any
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if delay > 0:  # the program's own timer, given back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-6), interval)


class _BoundedConcat(CodeGenerator):
    """Jinja2's code generator, with each ``~`` (concatenation) checked for its length."""

    def visit_Concat(self, node, frame) -> None:
        self.write("environment.bounded_text(")
        super().visit_Concat(node, frame)
        self.write(")")


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, within a page's bounds (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedConcat

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, made in _FILTER_SIZES.items():
            self.filters[name] = _checked(self.filters[name], made)

    def is_safe_callable(self, obj: Any) -> bool:
        helper = isinstance(obj, Macro) or any(obj is value for value in self.globals.values())
        helper = helper or isinstance(getattr(obj, "__self__", None), LoopContext)
        return helper and super().is_safe_callable(obj)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > POWER:
            raise SecurityError(f"it raises to a power above {POWER}")
        if _digits(operator, left, right) > DIGITS:  # a power of a power, a square squared in a loop
            raise SecurityError(f"it makes a number of more than {DIGITS:,} digits")
        if operator == "*":
            for times, repeated in ((right, left), (left, right)):
                if isinstance(repeated, str | list | tuple) and isinstance(times, int):
                    if len(repeated) * times > LONGEST:
                        raise SecurityError(f"it repeats a text or a list to more than {LONGEST:,} items")
        if operator == "+" and _sized(left) and _sized(right):
            _within(len(left) + len(right))
        if operator == "%" and isinstance(left, str):
            _within(len(left) + _widths(left, right))
        return super().call_binop(context, operator, left, right)

    def bounded_text(self, text: Any) -> Any:
        """``text`` (what a ``~`` made), unless it is longer than any page."""
        _within(len(text))
        return text


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _within(size: int) -> None:
    if size > LONGEST_TEXT:
        raise SecurityError(f"it makes a text or a list of more than {LONGEST_TEXT:,} characters or items")


def _digits(operator: str, left: Any, right: Any) -> float:
    """About how many digits the whole number ``left * right`` or ``left ** right`` has (0: not whole
    numbers), known before it is made: a power of a huge number takes minutes and gigabytes to make."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return 0
    bits = left.bit_length() + right.bit_length() if operator == "*" else left.bit_length() * max(right, 0)
    return bits * 0.30103  # log10(2)


_WIDTH = re.compile(r"%[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _widths(form: str, values: Any) -> int:
    """How many characters the widths and precisions of printf-style ``form`` can add, at most (a width given
    as ``*`` is taken from ``values``)."""
    given = [v for v in (values if isinstance(values, tuple) else (values,)) if isinstance(v, int)]
    total = 0
    for match in _WIDTH.finditer(form):
        for part in match.groups():
            if part == "*":
                total += max((abs(v) for v in given), default=0)
            elif part:
                total += int(part)
    return total


# How long each of Jinja2's filters that can make a long text or list from a short one would make it, from its
# arguments (by name, as the filter takes them), before it is made.
def _lines(text: Any) -> int:
    return str(text).count("\n") + 1


def _replaced(a: dict) -> int:
    text, old, new = str(a["s"]), str(a["old"]), str(a["new"])
    found = text.count(old) if old else len(text) + 1
    if a.get("count") is not None:
        found = min(found, max(int(a["count"]), 0))
    return len(text) + found * max(len(new) - len(old), 0)


def _joined(a: dict) -> int:
    items = a["value"]
    if not isinstance(items, list | tuple):
        return 0  # made one at a time by another filter, each already bounded
    return sum(len(str(item)) for item in items) + len(str(a.get("d", ""))) * len(items)


def _summed(a: dict) -> int:
    items, start = a["iterable"], a.get("start", 0)
    if not (isinstance(items, list | tuple) and (_sized(start) or any(_sized(item) for item in items))):
        return 0
    return (len(start) if _sized(start) else 0) + sum(len(item) for item in items if _sized(item))


_FILTER_SIZES: dict[str, Callable[[dict], int]] = {
    "center": lambda a: len(str(a["value"])) + (a.get("width", 80) if isinstance(a.get("width", 80), int) else 0),
    "indent": lambda a: (
        len(str(a["s"]))
        + _lines(a["s"]) * (a.get("width", 4) if isinstance(a.get("width", 4), int) else len(str(a.get("width"))))
    ),
    "format": lambda a: len(str(a["value"])) + _widths(str(a["value"]), tuple(a.get("args", ()))),
    "replace": _replaced,
    "join": _joined,
    "sum": _summed,
}


def _checked(original: Callable, size: Callable[[dict], int]) -> Callable:
    """``original`` (a filter), refusing to make what would be longer than any page."""
    signature = inspect.signature(original)

    @functools.wraps(original)  # keeps Jinja2's mark of what the filter is passed first (a context ...)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        try:
            named = signature.bind(*args, **kwargs).arguments
        except TypeError:  # the filter's own error, said by the filter
            return original(*args, **kwargs)
        _within(size(named))
        return original(*args, **kwargs)

    return bounded
