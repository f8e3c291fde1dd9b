"""The checked plan: names resolved, types known, tables validated.

This is the contract between the checker and the engine. Everything here is
already known to be well formed; the engine adds no plan validation of its own.

One module on purpose, though long: the whole contract in one place, a frozen dataclass per part of a plan, so
that what the engine may assume is read in one file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from spmlang.diagnostics import Diagnostic, Span
from spmlang.ir.expressions import IR, Type, columns_used
from spmlang.ir.kinds import (
    PERIODS_PER_YEAR,
    AttainmentBasis,
    CapScope,
    ClawbackMode,
    ComponentKind,
    Conversion,
    Frequency,
    LineKind,
    Measure,
    MeasureBasis,
    Per,
    PolicyAction,
    PolicySubject,
    Prorate,
    RateKind,
    Role,
    TableKind,
    TierMode,
    as_kind,
)

# What to do with a row that cannot be paid, unless the plan says otherwise (see PolicyAction).
POLICY_SUBJECTS = {subject: PolicyAction.REJECT for subject in PolicySubject}
POLICY_ACTIONS = tuple(PolicyAction)


@dataclass(frozen=True, slots=True)
class Settings:
    name: str
    version: str
    currency: str
    year_start: dt.date
    frequency: Frequency
    measure: Measure
    attainment_basis: AttainmentBasis
    span: Span
    clawback: ClawbackSpec | None = None  # the plan's; None: as paid, with no window
    payout_floor: Decimal | None = None  # `payout floor $0`; None: pay may go negative
    payout_floor_span: Span | None = None

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "frequency", as_kind(Frequency, self.frequency))
        object.__setattr__(self, "measure", as_kind(Measure, self.measure))
        object.__setattr__(self, "attainment_basis", as_kind(AttainmentBasis, self.attainment_basis))

    @property
    def periods(self) -> int:
        return PERIODS_PER_YEAR[self.frequency]


@dataclass(frozen=True, slots=True)
class ClawbackSpec:
    """How cancellations are clawed back: the mode, and the window (days after the transaction's date)
    outside which a cancellation is counted but not clawed back."""

    mode: ClawbackMode
    within_days: int | None
    span: Span | None


DEFAULT_CLAWBACK = ClawbackSpec(ClawbackMode.AS_PAID, None, None)


@dataclass(frozen=True, slots=True)
class DrawSpec:
    """A draw: a guaranteed pay per payout period (``amount`` money), recoverable or not."""

    amount: Decimal
    recoverable: bool
    recover_limit: Decimal | None  # at most this share of a period's pay above the draw is recovered
    recover_from: dt.date | None  # no recovery in periods that end before this date
    until: dt.date | None  # no draw in periods that start after this date (recovery goes on)
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    type: Type
    format: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class PayeeSpec:
    column: str
    share: IR | None
    span: Span


@dataclass(frozen=True, slots=True)
class FilterSpec:
    name: str
    expr: IR
    span: Span


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """The transaction table: its columns, key, date, payees, credit and filters."""

    file: str | None
    columns: dict[str, ColumnSpec]
    key: str
    date: str
    payees: tuple[PayeeSpec, ...]
    credit: IR
    credit_type: Type  # money, or number for counted credit (meetings, units)
    credit_span: Span
    filters: tuple[FilterSpec, ...]
    rollup_span: Span | None
    policies: dict[PolicySubject, PolicyAction]
    span: Span
    cancelled: str | None = None  # the date column of a cancellation or refund
    refunded: IR | None = None  # how much of the credit was refunded (empty or none: all of it)
    cancelled_span: Span | None = None
    # A dated roster and currencies (see CurrencySpec): the column of each row's currency, and who is credited
    # with a transaction outside its payee's employment (None: such a row is rejected, `outside_employment`).
    currency: CurrencySpec | None = None
    fallback: str | None = None

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "policies", {PolicySubject(s): PolicyAction(a) for s, a in self.policies.items()})

    @property
    def rollup(self) -> bool:
        return self.rollup_span is not None


@dataclass(frozen=True, slots=True)
class CurrencySpec:
    """``currency COLUMN [at ...]``: the column that says each row's currency, and at which rate its money
    converts to the plan currency."""

    column: str
    conversion: Conversion
    span: Span

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "conversion", as_kind(Conversion, self.conversion))


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A reference table: quotas, targets, roster or a lookup table."""

    kind: TableKind
    name: str
    file: str | None
    columns: dict[str, ColumnSpec]
    roles: dict[str, str]  # role (payee, period, amount, manager) -> column
    key: str  # the payee's column in quotas, targets and roster
    value: str | None
    per: Per | None  # quotas and targets
    default: object | None
    rows: tuple[tuple[object, ...], ...] | None  # inline rows, in column order
    row_spans: tuple[Span, ...]
    span: Span
    prorate: Prorate | None = None  # a roster: how it prorates quotas and targets (None: it does not)

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "kind", as_kind(TableKind, self.kind))
        object.__setattr__(self, "per", as_kind(Per, self.per))
        object.__setattr__(self, "prorate", as_kind(Prorate, self.prorate))

    @property
    def dated(self) -> bool:
        """Whether the table's rows hold from a start to an end (a roster's employment, a quota in force)."""
        return "start" in self.roles or "end" in self.roles

    @property
    def employment(self) -> bool:
        """A roster that says who is employed on this plan, and when: with dates, or with each row's plan. A
        payee it does not list is then not employed at all (see docs/language.md, "A roster with dates")."""
        return self.kind is TableKind.ROSTER and (self.dated or "plan" in self.roles)


@dataclass(frozen=True, slots=True)
class Tier:
    low: Decimal
    high: Decimal | None
    rate: Decimal  # a rate (8% -> 0.08), money per unit, or a multiplier
    label: str  # "50%–100%"
    span: Span


@dataclass(frozen=True, slots=True)
class TierTable:
    mode: TierMode
    basis: MeasureBasis
    tiers: tuple[Tier, ...]
    rate_kind: RateKind
    span: Span

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "mode", as_kind(TierMode, self.mode))
        object.__setattr__(self, "basis", as_kind(MeasureBasis, self.basis))
        object.__setattr__(self, "rate_kind", as_kind(RateKind, self.rate_kind))


@dataclass(frozen=True, slots=True)
class CurveSpec:
    basis: MeasureBasis  # row: each row's own credit, money only
    xs: tuple[Decimal, ...]
    ys: tuple[Decimal, ...]
    of_target: bool
    extend_below: bool
    extend_above: bool
    span: Span

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "basis", as_kind(MeasureBasis, self.basis))


@dataclass(frozen=True, slots=True)
class CapSpec:
    amount: Decimal  # money, or a fraction of target incentive
    of_target: bool
    scope: CapScope
    text: str
    span: Span
    # What a plan cap covers (`for commission, new_logo`, `for rollup credit`): the lines of these components
    # and of these roles' credit. Neither: every line (a component's own cap covers its lines).
    components: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "scope", as_kind(CapScope, self.scope))
        object.__setattr__(self, "roles", tuple(Role(role) for role in self.roles))

    @property
    def covers_all(self) -> bool:
        return not self.components and not self.roles

    def covers_role(self, role: str, components: tuple[ComponentSpec, ...]) -> bool:
        """Whether the cap covers any line on ``role`` credit (a component pays on one role's credit)."""
        return (
            self.covers_all
            or role in self.roles
            or any(c.role == role and c.name in self.components for c in components)
        )


@dataclass(frozen=True, slots=True)
class MultiplierSpec:
    factor: Decimal
    condition: IR
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class RateRule:
    """``rate R``: credit x R, optionally shaped by an accelerator table."""

    rate: IR
    rate_text: str
    accelerator: TierTable | None
    span: Span


@dataclass(frozen=True, slots=True)
class TierRule:
    table: TierTable


@dataclass(frozen=True, slots=True)
class CurveRule:
    curve: CurveSpec


@dataclass(frozen=True, slots=True)
class PayPerRowRule:
    amount: IR
    amount_text: str
    unit: str
    span: Span


@dataclass(frozen=True, slots=True)
class PayOnceRule:
    amount: Decimal
    of_target: bool
    condition: IR
    condition_text: str
    by: dt.date | None
    span: Span


EarningRule = RateRule | TierRule | CurveRule | PayPerRowRule | PayOnceRule


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """``from DATE { ... }``: a component's earning rule (and multipliers, where given) from ``start`` on."""

    start: dt.date
    rule: EarningRule
    multipliers: tuple[MultiplierSpec, ...] | None  # None: the component's (or the version's before) continue
    span: Span  # the `from` line


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    name: str
    kind: ComponentKind
    index: int
    role: Role
    filters: tuple[FilterSpec, ...]
    rule: EarningRule
    multipliers: tuple[MultiplierSpec, ...]
    caps: tuple[CapSpec, ...]
    gate: IR | None
    gate_text: str | None
    gate_span: Span | None
    span: Span
    clawback: ClawbackSpec | None = None  # its own; None: the plan's
    payable: IR | None = None  # `payable when`: a row's lines are held while this is not true for it
    payable_text: str | None = None
    payable_span: Span | None = None
    # Dated versions (`from DATE { ... }`), dates increasing: each replaces the rule (and the multipliers it
    # gives) from its date on; the component's own statements are the version in force before the first.
    versions: tuple[VersionSpec, ...] = ()

    def __post_init__(self) -> None:  # members, not words, whoever made the plan
        object.__setattr__(self, "kind", as_kind(ComponentKind, self.kind))
        object.__setattr__(self, "role", as_kind(Role, self.role))

    def in_versions(self) -> tuple[ComponentSpec, ...]:
        """The component as each version says it, in date order: the first is the component's own statements;
        each later one has that version's rule, and its multipliers where it gives them (else the ones before).
        Everything else (the measure, filters, caps, gate) is the component's, shared by every version."""
        if not self.versions:
            return (self,)
        specs = [replace(self, versions=())]
        for version in self.versions:
            multipliers = specs[-1].multipliers if version.multipliers is None else version.multipliers
            specs.append(replace(specs[-1], rule=version.rule, multipliers=multipliers))
        return tuple(specs)

    def columns_read(self) -> set[str]:
        """The transaction columns this component reads of each row: its filters, multipliers, `payable when`,
        rate or amount per row (of every version)."""
        if self.versions:
            return set().union(*(version.columns_read() for version in self.in_versions()))
        read = [f.expr for f in self.filters] + [m.condition for m in self.multipliers]
        if self.payable is not None:
            read.append(self.payable)
        if isinstance(self.rule, RateRule):
            read.append(self.rule.rate)
        elif isinstance(self.rule, PayPerRowRule):
            read.append(self.rule.amount)
        return set().union(*(columns_used(expr) for expr in read))

    @property
    def rule_span(self) -> Span:
        """The clause a component's earning lines cite: its rule's statement (or tier table, or curve)."""
        for attr in ("span", "table", "curve"):
            value = getattr(self.rule, attr, None)
            if isinstance(value, Span):
                return value
            if value is not None and hasattr(value, "span"):
                return value.span
        return self.span

    @property
    def line_kind(self) -> LineKind:
        """The ledger kind of this component's own lines."""
        if isinstance(self.rule, PayOnceRule):
            return LineKind.BONUS
        return LineKind.SPIF if self.kind is ComponentKind.SPIF else LineKind.EARNING

    @property
    def uses_attainment(self) -> bool:
        if self.versions:
            return any(version.uses_attainment for version in self.in_versions())
        rule = self.rule
        if isinstance(rule, TierRule):
            return rule.table.basis is MeasureBasis.ATTAINMENT
        if isinstance(rule, CurveRule):
            return rule.curve.basis is MeasureBasis.ATTAINMENT
        if isinstance(rule, RateRule) and rule.accelerator is not None:
            return rule.accelerator.basis is MeasureBasis.ATTAINMENT
        return False


@dataclass(frozen=True, slots=True)
class CheckedPlan:
    path: str
    source: str
    sha256: str
    settings: Settings
    transactions: SourceSpec
    tables: dict[str, TableSpec]
    components: tuple[ComponentSpec, ...]
    plan_caps: tuple[CapSpec, ...]
    warnings: tuple[Diagnostic, ...] = field(default=())
    draw: DrawSpec | None = None

    def clawback(self, component: ComponentSpec) -> ClawbackSpec:
        """How ``component`` claws back a cancelled transaction: its own way, else the plan's."""
        return component.clawback or self.settings.clawback or DEFAULT_CLAWBACK

    @property
    def recalculates(self) -> bool:
        """Whether any component re-prices the year without a cancelled transaction's credit."""
        return self.transactions.cancelled is not None and any(
            self.clawback(c).mode is ClawbackMode.RECALCULATE for c in self.components
        )

    def table(self, kind: str) -> TableSpec | None:
        """The quotas, targets, roster or fx table, if the plan has one."""
        return self.tables.get(kind)

    @property
    def converts_currencies(self) -> bool:
        """Whether the plan has an fx table: its transactions, or its payees' pay, are in other currencies."""
        return TableKind.FX in self.tables

    @property
    def needs_quotas(self) -> bool:
        return components_need_quotas(self.components)


def builtins_read(component: ComponentSpec, rows: bool = True, period_ends: bool = True) -> set[str]:
    """The values spm provides that a component's expressions read: in its rows' expressions (``credit``,
    ``quota`` ...: where, rate, pay, multiplier) and in its period-end conditions (``attainment`` ...)."""
    from spmlang.ir.expressions import builtins_used

    if component.versions:
        return set().union(*(builtins_read(v, rows, period_ends) for v in component.in_versions()))
    rule = component.rule
    exprs = []
    if rows:
        exprs += [
            *(f.expr for f in component.filters),
            *(m.condition for m in component.multipliers),
            rule.rate if isinstance(rule, RateRule) else None,
            rule.amount if isinstance(rule, PayPerRowRule) else None,
        ]
    if period_ends:
        exprs += [component.gate, rule.condition if isinstance(rule, PayOnceRule) else None]
    return set().union(*(builtins_used(expr) for expr in exprs))


def components_need_quota_basis(components) -> bool:
    """Whether any component measures attainment (or reads ``quota`` at a period end) and so needs the quota
    basis of every period it pays in."""
    return any(
        component.uses_attainment or builtins_read(component, rows=False) & {"attainment", "quota"}
        for component in components
    )


def components_need_quotas(components) -> bool:
    """Whether any component needs quotas: the quota basis (see :func:`components_need_quota_basis`), or the
    payee's annual quota that its rows read."""
    return components_need_quota_basis(components) or any(
        "quota" in builtins_read(component, period_ends=False) for component in components
    )


def component_needs_targets(component: ComponentSpec) -> bool:
    """Whether a component pays or caps in % of target incentive (or reads ``target``)."""
    if component.versions:
        return any(component_needs_targets(version) for version in component.in_versions())
    if any(cap.of_target for cap in component.caps):
        return True
    rule = component.rule
    if isinstance(rule, CurveRule) and rule.curve.of_target:
        return True
    if isinstance(rule, PayOnceRule) and rule.of_target:
        return True
    return "target" in builtins_read(component)
