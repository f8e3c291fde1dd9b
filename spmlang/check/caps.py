"""Checking caps: a component's own (per row, period or year), and the plan's, which may say what they cover
(``cap $250,000 per year for commission, rollup credit``)."""

from __future__ import annotations

from spmlang.check.amounts import constant_amount
from spmlang.check.context import CheckContext
from spmlang.check.expressions import Scope
from spmlang.check.words import ROLE_WORDS
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir.kinds import CapScope, Role
from spmlang.ir.plan import CapSpec, ComponentSpec, Settings, SourceSpec
from spmlang.syntax import ast
from spmlang.syntax.words import CAP_SCOPES, FREQUENCY_UNIT


class CapChecker:
    def __init__(self, checker: CheckContext, settings: Settings, source: SourceSpec, row_scope: Scope):
        self.c = checker
        self.settings = settings
        self.source = source
        self.row_scope = row_scope

    def cap(
        self,
        stmt: ast.CapStmt,
        plan_level: bool,
        components: tuple[ComponentSpec, ...] = (),
        names: tuple[str, ...] = (),
    ) -> CapSpec | None:
        """A cap. A plan cap may say what it covers (``for``): the ``components`` checked, of all those named
        ``names`` in the plan."""
        c = self.c
        scope = self._scope(stmt.per)
        if scope is None:
            return None
        if plan_level and scope is CapScope.ROW:
            c.error("E407", "a plan-wide cap applies per period or per year, not per row", stmt.per.span)
            return None
        amount = constant_amount(c, self.row_scope, stmt.amount, "a cap")
        if amount is None:
            return None
        if amount <= 0:
            c.error("E408", "a cap must be more than zero", stmt.amount.span)
            return None
        covered = self._covers(stmt.covers, plan_level, components, names)
        if covered is None:
            return None
        return CapSpec(amount, stmt.amount.of_target, scope, c.text(stmt.span), stmt.span, *covered)

    def _scope(self, per: ast.Name) -> CapScope | None:
        """What ``per WORD`` limits: a row, a period or the year; the plan's period may be named by its unit."""
        word = per.text
        unit = FREQUENCY_UNIT[self.settings.frequency]
        scope = CAP_SCOPES.get(word)
        if scope is None and word == unit:
            scope = "period" if unit != "year" else "year"
        if scope is not None:
            return CapScope(scope)
        if word in ("month", "quarter", "half"):
            self.c.error(
                "E407",
                f"this plan pays {self.settings.frequency.replace('_', ' ')}: a cap per {word} does "
                "not line up with its periods",
                per.span,
                f"use `per {unit}` (a period) or `per year`",
            )
        else:
            self.c.error(
                "E206",
                f"unknown cap scope '{word}'",
                per.span,
                did_you_mean(word, CAP_SCOPES) or "write `per row`, `per period` or `per year`",
            )
        return None

    def _covers(
        self,
        covers: tuple[ast.CapCover, ...],
        plan_level: bool,
        components: tuple[ComponentSpec, ...],
        names: tuple[str, ...],
    ) -> tuple[tuple[str, ...], tuple[Role, ...]] | None:
        """The components and roles a cap's ``for`` names (none: every line), or None after an error."""
        c = self.c
        if covers and not plan_level:
            span = Span(
                covers[0].span.path,
                covers[0].span.line,
                covers[0].span.column,
                covers[-1].span.end_line,
                covers[-1].span.end_column,
            )
            c.error(
                "E407",
                "a component's cap covers that component's lines: it takes no `for`",
                span,
                "a cap outside components may say what it covers: `cap $250,000 per year for commission`",
            )
            return None
        chosen: list[str] = []
        roles: list[Role] = []
        ok = True
        for cover in covers:
            if cover.credit:
                ok = self._cover_role(cover, names, roles) and ok
            else:
                ok = self._cover_component(cover, names, chosen) and ok
        known = {component.name for component in components}
        return (tuple(n for n in chosen if n in known), tuple(roles)) if ok else None

    def _cover_role(self, cover: ast.CapCover, names: tuple[str, ...], roles: list[Role]) -> bool:
        """Adds the role ``cover`` names (``rollup credit``) to ``roles``; False after an error."""
        word = cover.name.text
        role = ROLE_WORDS.get(word)
        if role is None:
            hint = did_you_mean(word, ROLE_WORDS)
            if hint is None:
                hint = "write `for direct credit` or `for rollup credit`" + (
                    f"; '{word}' is a component: write `for {word}`" if word in names else ""
                )
            self.c.error("E206", f"unknown credit '{word}'", cover.name.span, hint)
            return False
        if role is Role.ROLLUP and not self.source.rollup:
            self.c.error(
                "E406",
                "the cap covers rollup credit, but credit does not roll up",
                cover.span,
                "add `rollup to manager` to the transactions block, or write `for direct credit`",
            )
            return False
        if role not in roles:
            roles.append(role)
        return True

    def _cover_component(self, cover: ast.CapCover, names: tuple[str, ...], chosen: list[str]) -> bool:
        """Adds the component ``cover`` names to ``chosen``; False after an error."""
        word = cover.name.text
        if word not in names:
            hint = did_you_mean(word, names)
            if hint is None and word in ROLE_WORDS:
                hint = f"for the lines on {ROLE_WORDS[word]} credit, write `for {word} credit`"
            self.c.error(
                "E201",
                f"unknown component '{word}' in what the cap covers",
                cover.name.span,
                hint or "the plan's components are: " + ", ".join(names),
            )
            return False
        if word not in chosen:
            chosen.append(word)
        return True
