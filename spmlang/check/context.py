"""What the parts of the checker share while they check one file.

The diagnostics found so far (the checker never stops at the first problem), the file's text for messages,
and what an earlier part learnt that a later one needs: whether the plan year is known, which columns were
declared wrongly (already reported, so their uses stay quiet). Every part takes this, never the checker
itself, so no part imports another's code to report a problem.
"""

from __future__ import annotations

from spmlang.check.expressions import ExpressionChecker
from spmlang.diagnostics import Diagnostic, Span
from spmlang.syntax import ast


class CheckContext:
    """One plan file being checked."""

    def __init__(self, plan_file: ast.PlanFile):
        self.path = plan_file.path
        self.diagnostics: list[Diagnostic] = []
        self._lines = plan_file.source.splitlines()
        self.year_known = False
        # Columns whose declaration failed: already reported, so later uses stay quiet.
        self.broken_columns: set[str] = set()
        self.exprs = ExpressionChecker(self.diagnostics, self.broken_columns)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        hint: str | None = None,
        notes: tuple[tuple[Span, str], ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, "error", notes))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint, "warning"))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def text(self, span: Span) -> str:
        """The source text of a span, on one line."""
        if span.line == span.end_line:
            return self._lines[span.line - 1][span.column - 1 : span.end_column - 1]
        parts = [self._lines[span.line - 1][span.column - 1 :]]
        parts.extend(self._lines[span.line : span.end_line - 1])
        parts.append(self._lines[span.end_line - 1][: span.end_column - 1])
        return " ".join(p.strip() for p in parts)
