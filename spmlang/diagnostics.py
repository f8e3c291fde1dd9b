"""Diagnostics: what spm tells a person about a plan or an input.

Every stage reports problems as :class:`Diagnostic` values (never by raising a
bare exception), so that a file's errors can be collected and shown together,
each with its position, the source line, a caret under the span and a hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from spmlang.visible import visible


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a plan file. Lines and columns are 1-based; ``end_column`` is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def clause(self) -> str:
        """``plan.spm:14``: how a ledger line cites the clause that made it."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, with where it is and what to do about it."""

    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: str = "error"  # "error" or "warning"
    notes: tuple[tuple[Span, str], ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict:
        data: dict[str, object] = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }
        if self.span is not None:
            data.update(
                file=self.span.path,
                line=self.span.line,
                column=self.span.column,
                end_line=self.span.end_line,
                end_column=self.span.end_column,
            )
        return data


class SpmError(Exception):
    """Base of every error spm raises for a user's mistake (never a bug)."""

    exit_code = 2

    def __reduce__(self):
        # Whole, attributes and all, through a pipe from a worker process (keyword-only arguments would
        # otherwise be lost on the way).
        return _restored, (type(self), self.args, self.__dict__)


class PlanError(SpmError):
    """A plan file has errors. ``diagnostics`` holds all of them, in file order."""

    exit_code = 1

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = list(diagnostics)
        self.sources = dict(sources or {})
        errors = [d for d in self.diagnostics if d.is_error]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        summary = (
            f"{first.span}: {first.message}" if first and first.span else (first.message if first else "plan error")
        )
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(summary + more)

    def render(self, color: bool = False) -> str:
        return render_diagnostics(self.diagnostics, self.sources, color=color)


class InputError(SpmError):
    """A data input cannot be used: missing file, missing column, wrong type, corrupt file."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        hint: str | None = None,
        code: str = "E500",
    ):
        self.message = message
        self.file = file
        self.column = column
        self.row = row
        self.hint = hint
        self.code = code
        super().__init__(self.render())

    def render(self) -> str:
        """The error as people read it; text from the data in it (a value, a column's name) made
        :func:`~spmlang.visible.visible`."""
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        text = f"error[{self.code}]: {visible(text)}"
        if self.hint:
            text += f"\n  = hint: {visible(self.hint)}"
        return text


class OutputError(InputError):
    """A file spm was asked to write cannot be written: its folder is a file or not writable, the disk is full."""

    def __init__(self, path, reason: str, hint: str):
        super().__init__(f"cannot write it: {reason}", file=str(path), code="E506", hint=hint)


class AmountTooLarge(SpmError):
    """An amount too large to hold: spm stops rather than wrap it. ``where`` names what made it: a plan clause
    (``plan.spm:17``), or a table; ``what`` says what the amount is."""

    exit_code = 2
    code = "E511"

    def __init__(self, what: str, where: str | None = None, about: float | None = None, hint: str | None = None):
        from spmlang.engine.kernels.money import UNIT, limit_text

        self.what, self.where = what, where
        self.about = None if about is None or about != about else f"{abs(about) / UNIT:,.0f}"
        self.hint = hint or (
            f"spm holds amounts up to {limit_text()} (to a millionth of the currency unit, in 64 "
            "bits); check the plan's amounts and rates and the data (a misplaced decimal point?). "
            "In a currency of large amounts (IDR, VND, KRW) count credit in thousands: "
            "`credit amount / 1000`"
        )
        super().__init__(self.render())

    def render(self) -> str:
        about = f" (about {self.about})" if self.about is not None else ""
        where = f"{self.where}: " if self.where else ""
        return f"error[{self.code}]: {where}{self.what} is too large to hold{about}\n  = hint: {self.hint}"


def _restored(kind: type[SpmError], args: tuple, state: dict) -> SpmError:
    error = Exception.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class UsageError(SpmError):
    """A command was called wrongly (bad option value, unknown payee, ...)."""

    exit_code = 2

    def __str__(self) -> str:  # it may quote an option's value or a name from the data
        return visible(super().__str__())


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate to a misspelt ``name``, if any is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"did you mean '{close[0]}'?" if close else None


def render_diagnostics(diagnostics: Sequence[Diagnostic], sources: dict[str, str], color: bool = False) -> str:
    """Diagnostics as text: ``path:LINE:COL: error[CODE]: message``, the line, a caret, a hint."""
    blocks = [_render_one(d, sources, color) for d in diagnostics]
    return "\n\n".join(blocks)


def _style(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _render_one(d: Diagnostic, sources: dict[str, str], color: bool) -> str:
    """One diagnostic; what it quotes from the plan (names, text, the source line) made visible, so that the
    only escape sequences in it are its own colours."""
    label = _style(f"{d.severity}[{d.code}]", "1;31" if d.is_error else "1;33", color)
    where = f"{visible(str(d.span))}: " if d.span else ""
    head = f"{where}{label}: {visible(d.message)}"
    lines = [_style(head, "1", color) if not color else head]
    if d.span is not None:
        lines.extend(_excerpt(d.span, sources.get(d.span.path), color))
    for span, note in d.notes:
        lines.append(f"  = note: {visible(str(span))}: {visible(note)}")
        lines.extend(_excerpt(span, sources.get(span.path), color))
    if d.hint:
        lines.append(f"  = hint: {visible(d.hint)}")
    return "\n".join(lines)


def _excerpt(span: Span, source: str | None, color: bool) -> list[str]:
    if source is None:
        return []
    text_lines = source.splitlines()
    if not 1 <= span.line <= len(text_lines):
        return []
    text = text_lines[span.line - 1].expandtabs(1)
    number = str(span.line)
    gutter = " " * len(number)
    start = max(span.column - 1, 0)
    if span.end_line == span.line:
        end = start + max(span.end_column - span.column, 1)
    else:
        end = max(len(text.rstrip()), start + 1)

    def shown(first: int, last: int) -> int:  # columns first..last take as shown: a control character takes 4
        part = text[first:last]
        return len(visible(part)) + (last - first - len(part))

    caret = " " * shown(0, start) + "^" * shown(start, end)
    return [
        f" {number} | {visible(text)}",
        f" {gutter} | {_style(caret, '1;31', color)}",
    ]
