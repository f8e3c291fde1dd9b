"""The sandbox a company's statement templates run in (``spm statement --template DIR``): Jinja2's, where a
template calls nothing but its own macros and Jinja2's helpers (range, loop.cycle ...), not a method of the
figures it is given; and within what a page needs. A template is the company's file, but a mistake in it must
not take the machine's memory or hang a pay run: it makes no text or list larger than a page could show by the
ways Jinja2 has to grow one from a small template (repeating, ``~``, ``+``, ``%``, a macro's or a block's
output, and the filters that pad, join, replace, wrap, batch or sum), no number of more digits than a page could
print, and a page stops at its time whether or not it writes anything (:func:`deadline`).

Sizes are counted in characters and items, as Python would write them (:func:`size`), before a value is made.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext, Macro, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

POWER = 100  # the largest power a template raises to
LONGEST = 100_000  # the most items a template makes by repeating a text or a list
DIGITS = 3_000  # the most digits of a whole number a template makes (Python writes none of over 4,300)
LONGEST_TEXT = 20_000_000  # the most characters (or items) of anything a template makes (a page's most)


class Slow(BaseException):
    """A page took longer than its time (raised by :func:`deadline`; not an ``Exception``, so that nothing a
    template calls can take it for its own error and carry on)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Slow` in the code run within, once ``seconds`` have passed: a template's loop stops though
    it writes nothing (``{% set %}`` in loops of loops). A timer signal, so only where one can be had (the main
    thread, a system with ``setitimer``); elsewhere the page is still stopped between the pieces it writes. A
    program's own timer and handler are given back after (its timer with what was left of it)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    armed = [True]

    def expired(signum, frame) -> None:
        if armed[0]:  # not once the page is done: a signal due as it ends is let go
            # Again soon, until the page is done: raised where Python cannot pass it on (a garbage collector's
            # callback, a destructor), it is printed and lost.
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            raise Slow

    previous = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    delay, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        # No Slow while the timer is undone (it fires again until then): held back, and one due let go.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM}) if _MASKS else None
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if mask is not None:  # a signal pending is discarded (POSIX), never waited for: another thread may take it
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if delay > 0:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-6), interval)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


_MASKS = hasattr(signal, "pthread_sigmask")


HEADROOM = 1 << 30  # the memory a page may take beyond what the process holds as it begins (bytes)


@contextlib.contextmanager
def memory_bound(headroom: int | None = None) -> Iterator[None]:
    """Within, the process may hold at most ``headroom`` (:data:`HEADROOM`) more memory than as it enters: an
    allocation past it is a ``MemoryError``, not the machine's memory taken. Whatever way a template finds to
    grow a value that the counting of this module misses ends so. Linux, on the main thread (the limit is the
    process's address space: another thread allocating meanwhile would be held to it too); elsewhere nothing."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * resource.getpagesize()
    limit = held + (HEADROOM if headroom is None else headroom)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:  # the program's own limit is tighter already
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def size(value: Any, most: int = LONGEST_TEXT, _seen: dict[int, int] | None = None) -> int:
    """About how many characters ``value`` takes written as text (items, for a list of numbers): texts by their
    length, lists, tuples and mappings by their items', recursively, anything else by its text as a list writes
    it (found once per object). Counting stops past ``most``: a list repeating one long text counts every
    repeat, and costs no more to count than ``most`` allows."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int | float | Decimal | bool) or value is None:
        return _magnitude_chars(value)
    seen = {} if _seen is None else _seen
    if id(value) in seen:
        return seen[id(value)]
    if isinstance(value, list | tuple | dict):
        items = itertools.chain.from_iterable(value.items()) if isinstance(value, dict) else value
        total = 0
        for item in items:
            total += size(item, most - total, seen) + 2  # ", " between items
            if total > most:
                break
    elif isinstance(value, range):
        total = len(value) * (len(str(value[-1])) + 2 if len(value) else 0)
    else:  # a figure, a date, a namespace: its text, as a list writes it
        total = len(repr(value))
    seen[id(value)] = total
    return total


def _magnitude_chars(value: Any) -> int:
    digits = _magnitude(value)
    return int(digits) + 8 if digits is not None else 8


def _within(count: int) -> None:
    if count > LONGEST_TEXT:
        raise SecurityError(f"it makes a text or a list of more than {LONGEST_TEXT:,} characters or items")


class _BoundedConcat(CodeGenerator):
    """Jinja2's code generator, each ``~`` (concatenation) joined by :meth:`Sandbox.joined`, which counts the
    parts before joining them."""

    def visit_Concat(self, node, frame) -> None:
        if frame.eval_ctx.volatile:
            markup = "context.eval_ctx.volatile"
        else:
            markup = "True" if frame.eval_ctx.autoescape else "False"
        self.write("environment.joined((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write(f"), {markup})")


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, within a page's bounds (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedConcat

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, made in _FILTER_SIZES.items():
            self.filters[name] = _checked(self, name, self.filters[name], made)

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
                    _within(size(repeated) * times)  # a list of long texts, repeated
        if operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _within(size(left) + size(right))
        if operator == "%" and isinstance(left, str):
            _within(_formatted(left, right))
        return super().call_binop(context, operator, left, right)

    def joined(self, parts: tuple, markup: bool) -> str:
        """The parts of a ``~`` joined (as Jinja2 joins them), once their length is known to be a page's."""
        _within(sum(size(part) for part in parts))
        return markup_join(parts) if markup else "".join(map(str, parts))

    def concat(self, pieces) -> str:  # Jinja2's is "".join
        """A macro's, a block's or a filter block's output (Jinja2 joins it with this), within a page's length."""
        pieces = list(pieces)
        _within(sum(len(piece) for piece in pieces))
        return "".join(pieces)


def _digits(operator: str, left: Any, right: Any) -> float:
    """About how many digits the number ``left * right`` or ``left ** right`` has before its point (0: another
    operator, or not numbers), known before it is made: a power of a huge number takes minutes and gigabytes,
    and a decimal of a huge exponent as long to write as a whole number (``|int``)."""
    if operator not in ("*", "**") or _magnitude(left) is None or _magnitude(right) is None:
        return 0
    if operator == "*":
        return (_magnitude(left) or 0) + (_magnitude(right) or 0)
    times = right if isinstance(right, int) else int(right) if isinstance(right, Decimal) and right.is_finite() else 0
    return (_magnitude(left) or 0) * max(times, 0)


def _magnitude(value: Any) -> float | None:
    """How many digits ``value`` has before its point, about (None: not a whole number or a decimal)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value.bit_length() * 0.30103  # log10(2)
    if isinstance(value, Decimal):
        return float(max(value.adjusted() + 1, 0)) if value.is_finite() and value else 0.0
    return None


# A printf conversion: %, a mapping key, flags, a width and a precision (either may be *), a type.
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]?")


def _formatted(form: str, values: Any) -> int:
    """At most how long ``form % values`` is: the form, and each conversion as wide as its width or precision
    (a ``*`` one as the largest whole number given) and as long as the longest value given."""
    given = (
        list(values.values()) if isinstance(values, dict) else list(values) if isinstance(values, tuple) else [values]
    )
    widest = max((abs(v) for v in given if isinstance(v, int) and not isinstance(v, bool)), default=0)
    longest = max((size(v) for v in given), default=0)
    total = len(form)
    for match in _CONVERSION.finditer(form):
        total += longest
        for part in match.groups():
            total += widest if part == "*" else int(part) if part else 0
    return total


# How long each of Jinja2's filters that can make a long text or list from a short one would make it, from its
# arguments (by name, as the filter takes them), before it is made; an iterable given as a generator is taken
# into a list first, at most LONGEST_TEXT items of it (see _checked).
def _whole_number(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _lines(text: Any) -> int:
    return str(text).count("\n") + 1 if isinstance(text, str) else 1


def _replaced(a: dict) -> int:
    text, old, new = a["s"], a["old"], a["new"]
    if not all(isinstance(v, str) for v in (text, old, new)):
        return size(text) + size(new) * (size(text) + 1)
    found = text.count(old) if old else len(text) + 1
    count = a.get("count")
    if isinstance(count, int) and count >= 0:  # a negative count, as none, replaces every one
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _joined(a: dict, environment) -> int:
    items, between = a["value"], size(a.get("d", ""))
    if a.get("attribute") is not None and isinstance(items, list | tuple):
        get = make_attrgetter(environment, a["attribute"])
        items = [get(item) for item in items]
    count = len(items) if hasattr(items, "__len__") else 1
    return size(items) + between * count


def _summed(a: dict, environment) -> int:
    items = a["iterable"]
    if a.get("attribute") is not None:
        get = make_attrgetter(environment, a["attribute"])
        items = [get(item) for item in items]
    return size(a.get("start", 0)) + size(items)


def _lists_summed(a: dict, environment) -> list | tuple | None:
    """``sum`` of lists (or tuples) as one pass over them, where Python's adds them one to the next, copying
    what it has each time (minutes, in one step no timer stops, for a list of a hundred thousand lists); None
    where the items are not all lists (or all tuples) like ``start``."""
    start = a.get("start", 0)
    if not isinstance(start, list | tuple):
        return None
    items = a["iterable"]
    if a.get("attribute") is not None:
        get = make_attrgetter(environment, a["attribute"])
        items = [get(item) for item in items]
    if not all(isinstance(item, type(start)) for item in items):
        return None
    return type(start)(itertools.chain(start, *items))


_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": lambda a: size(a["value"]) + _whole_number(a.get("width", 80)),
    "indent": lambda a: size(a["s"]) + _lines(a["s"]) * max(_whole_number(a.get("width", 4)), size(a.get("width"))),
    "format": lambda a: _formatted(str(a["value"]), tuple(a.get("args", ())) or a.get("kwargs", {})),
    "replace": _replaced,
    "join": _joined,
    "sum": _summed,
    "wordwrap": lambda a: size(a["s"]) * (1 + size(a.get("wrapstring") or "\n")),
    "urlize": lambda a: size(a["value"]) * (2 + size(a.get("target") or "") + size(a.get("rel") or "")),
    "batch": lambda a: size(a["value"]) + _whole_number(a.get("linecount")) * (1 + size(a.get("fill_with"))),
    "slice": lambda a: size(a["value"]) + _whole_number(a.get("slices")) * (2 + size(a.get("fill_with"))),
    "tojson": lambda a: size(a["value"]) * (2 + max(_whole_number(a.get("indent")), 0)),
    "pprint": lambda a: size(a["value"]) * 2,
    "string": lambda a: size(a["s"]),
    "list": lambda a: size(a["value"]),
}
# Filters given an iterable to go through: a generator is taken into a list (of at most LONGEST_TEXT items) so that
# it can be counted, and the filter given the list.
_ITERABLES = {"join": "value", "sum": "iterable", "batch": "value", "slice": "value", "list": "value"}


def _checked(environment, name: str, original: Callable, made: Callable[..., int]) -> Callable:
    """``original`` (the filter ``name``), refusing to make what would be longer than any page."""
    signature = inspect.signature(original)
    # Jinja2 passes some filters a context first (an eval context, the environment) that their signature, as
    # inspect sees it through Jinja2's wrapper of filters that may run async, does not name.
    first = next(iter(signature.parameters), "")
    unnamed = _PassArg.from_obj(original) is not None and first not in ("eval_ctx", "context", "environment")
    iterable = _ITERABLES.get(name)
    needs_environment = len(inspect.signature(made).parameters) == 2

    @functools.wraps(original)  # keeps Jinja2's mark of what the filter is passed first (a context ...)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        passed, args = (args[:1], args[1:]) if unnamed else ((), args)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # the filter's own error, said by the filter
            return original(*passed, *args, **kwargs)
        named = bound.arguments
        if iterable is not None and not isinstance(named.get(iterable), str | list | tuple | dict | range):
            items = list(itertools.islice(iter(named[iterable]), LONGEST_TEXT + 1))
            _within(len(items))
            named[iterable] = items
        _within(made(named, environment) if needs_environment else made(named))
        if name == "sum":
            joined = _lists_summed(named, environment)
            if joined is not None:
                return joined
        return original(*passed, *bound.args, **bound.kwargs)

    return bounded
