"""Stage 3: a checked plan compiled once into what runs: :class:`CompiledPlan`.

Everything here is known before any data is read: the calendar, each component's earning function (tiers,
a curve, a fixed rate folded into its tiers), and the table of clauses every ledger line cites. The compiled
plan is immutable: any number of runs over any data read it, and ``spm compile --explain``
(:mod:`spmlang.engine.steps`) prints it step by step.
"""

from __future__ import annotations

from dataclasses import dataclass

from spmlang.diagnostics import Span
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.pay.component import CompiledComponent
from spmlang.ir.kinds import AttainmentBasis, Measure, TableKind
from spmlang.ir.plan import CheckedPlan


@dataclass(frozen=True)
class CompiledPlan:
    """A checked plan, compiled: ready to run over any data of the declared shape."""

    plan: CheckedPlan
    calendar: PlanCalendar
    year_to_date: bool  # the measure accumulates over the year (else within each period)
    components: tuple[CompiledComponent, ...]  # one per plan component, in plan order
    # Every clause a ledger line can cite, numbered: a line's ``clause`` is an index here. 0 is the credit.
    clauses: tuple[Span, ...]
    rule_clause: tuple[int, ...]  # per component: its earning rule's clause
    cap_clauses: tuple[tuple[int, ...], ...]  # per component: each of its caps' clause
    gate_clause: tuple[int, ...]  # per component: its gate's clause (-1: none)
    plan_cap_clauses: tuple[int, ...]  # each plan cap's clause
    # The pay cycle's clauses (appended after the others: a plan without them numbers its clauses as before).
    clawback_clause: tuple[int, ...] = ()  # per component: how it claws back (-1: it cannot)
    payable_clause: tuple[int, ...] = ()  # per component: its `payable when` (-1: none)
    draw_clause: int = -1
    floor_clause: int = -1
    pay_currency_clause: int = -1  # the roster's `currency` line: where payees are paid in other currencies
    # Per component: each version's rule clause, in date order (the first is rule_clause's); appended last.
    version_clauses: tuple[tuple[int, ...], ...] = ()

    def rule_clauses(self, component: int) -> tuple[int, ...]:
        """The clause of each version's rule of ``component`` (one, without versions)."""
        return self.version_clauses[component] if self.version_clauses else (self.rule_clause[component],)

    @property
    def explained_by_templates(self) -> bool:
        """Whether most of its ledger lines are explained by templates (every version of every component's
        rule is: see CompiledComponent.explained_by_templates): its ledger then stores the explanations
        dictionary-encoded, which would only cost more for text of its own on most lines."""
        return all(version.explained_by_templates for c in self.components for version in c.versions)

    @property
    def basis_varies(self) -> bool:
        """Whether the quota basis grows period by period (quota to date, more than one period)."""
        return self.plan.settings.attainment_basis is AttainmentBasis.TO_DATE and self.calendar.count > 1


def compile_plan(plan: CheckedPlan) -> CompiledPlan:
    settings = plan.settings
    clauses: list[Span] = [plan.transactions.credit_span]
    numbered: dict[Span, int] = {clauses[0]: 0}

    def clause(span: Span) -> int:
        # One statement, one clause (a plan's clawback is every component's); a dict keeps a plan of many
        # versions, caps and components from numbering its clauses in time of their square.
        found = numbered.get(span)
        if found is None:
            found = numbered[span] = len(clauses)
            clauses.append(span)
        return found

    rule_clause = tuple(clause(c.rule_span) for c in plan.components)
    cap_clauses = tuple(tuple(clause(cap.span) for cap in c.caps) for c in plan.components)
    gate_clause = tuple(clause(c.gate_span) if c.gate_span else -1 for c in plan.components)
    plan_cap_clauses = tuple(clause(cap.span) for cap in plan.plan_caps)
    cancelled = plan.transactions.cancelled_span
    clawback_clause = tuple(
        -1 if cancelled is None else clause(plan.clawback(c).span or cancelled) for c in plan.components
    )
    payable_clause = tuple(clause(c.payable_span) if c.payable_span else -1 for c in plan.components)
    draw_clause = clause(plan.draw.span) if plan.draw is not None else -1
    floor_clause = clause(settings.payout_floor_span) if settings.payout_floor_span is not None else -1
    roster = plan.tables.get(TableKind.ROSTER)
    pay_currency_clause = -1
    if roster is not None and "currency" in roster.roles:
        pay_currency_clause = clause(roster.columns[roster.roles["currency"]].span)
    version_clauses = tuple(
        (rule_clause[i], *(clause(v.rule_span) for v in c.in_versions()[1:])) for i, c in enumerate(plan.components)
    )
    return CompiledPlan(
        plan=plan,
        calendar=PlanCalendar(settings.year_start, settings.frequency),
        year_to_date=settings.measure is Measure.YEAR_TO_DATE,
        components=tuple(CompiledComponent(c, plan.transactions.credit_type) for c in plan.components),
        clauses=tuple(clauses),
        rule_clause=rule_clause,
        cap_clauses=cap_clauses,
        gate_clause=gate_clause,
        plan_cap_clauses=plan_cap_clauses,
        clawback_clause=clawback_clause,
        payable_clause=payable_clause,
        draw_clause=draw_clause,
        floor_clause=floor_clause,
        pay_currency_clause=pay_currency_clause,
        version_clauses=version_clauses,
    )
