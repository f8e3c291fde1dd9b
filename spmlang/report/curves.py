"""What a component pays along its measure, as a chart: the points ``spm plot``, ``spm diff --plot`` and the
statements draw (:mod:`spmlang.report.render.charts` draws them).

The points are :class:`~spmlang.report.component_pay.Pay`'s: the compiled plan's own, so a chart cannot disagree
with the ledger (tests/test_plot.py runs the engine at the plotted points). Here they become a chart's series,
with its tier starts, jumps, caps, closed gate, marginal rate and the notes on what it cannot draw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from spmlang import figures
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.pay.curves import CurveFunction
from spmlang.engine.pay.tiers import TierFunction
from spmlang.ir.constants import constant_value
from spmlang.ir.kinds import CapScope
from spmlang.ir.plan import ComponentSpec, PayPerRowRule
from spmlang.report.component_pay import (
    ATTAINMENT,
    CREDIT,
    REFERENCE,
    ROW_CREDIT,
    ROWS,
    Pay,
    Scale,
    period_end_condition,
)

__all__ = ["ATTAINMENT", "CREDIT", "REFERENCE", "ROWS", "ROW_CREDIT", "Pay", "Scale", "component_curve"]


@dataclass
class Series:
    """One line of a chart: what is paid (in cents) at each point of the measure (units; rows on a ROWS axis)."""

    label: str
    measure: np.ndarray
    cents: np.ndarray
    x: np.ndarray  # as the axis shows it
    y: np.ndarray


@dataclass
class Mark:
    """A place on the x axis: where a tier starts, a curve's point, where a gate opens."""

    x: float
    measure: int
    label: str


@dataclass
class Level:
    """A cap: its height on the y axis (None where the chart cannot place it) and its text."""

    y: float | None
    label: str


@dataclass
class ComponentCurve:
    name: str
    title: str
    axis: str
    x_label: str
    y_label: str
    rate_label: str
    series: list[Series] = field(default_factory=list)  # the first: as it pays; then one per multiplier
    rate_x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the segments' ends, as the axis shows them
    rate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per segment (NaN: a jump)
    marks: list[Mark] = field(default_factory=list)
    jumps: list[float] = field(default_factory=list)  # x where the pay steps up at once (retroactive tiers, gates)
    levels: list[Level] = field(default_factory=list)
    closed: list[tuple[float, float]] = field(default_factory=list)  # x ranges where the gate holds pay back
    notes: list[str] = field(default_factory=list)  # what is not drawn, and why

    @property
    def paid(self) -> Series | None:
        return self.series[0] if self.series else None


def plan_curves(
    compiled: CompiledPlan, scale: Scale | None = None, names: list[str] | None = None, spans: dict | None = None
) -> list[ComponentCurve]:
    """The curve of each component (of ``names``, in plan order); ``spans`` may set a component's x range (its
    largest measure), as ``spm diff --plot`` does to draw two plans alike."""
    return [
        component_curve(Pay(compiled, index, scale or Scale(), version=version), (spans or {}).get(spec.name))
        for index, spec in enumerate(compiled.plan.components)
        if names is None or spec.name in names
        for version in range(len(spec.in_versions()))  # each dated version: a chart of its own
    ]


def component_curve(pay: Pay, span: int | None = None) -> ComponentCurve:
    """The chart of a component: what it pays at each point of its measure (each series), its tiers, jumps, caps
    and gate, its marginal rate, and what it cannot draw."""
    spec = pay.spec
    curve = ComponentCurve(
        spec.name, _title(pay.compiled, spec, pay.since), pay.axis, _x_label(pay), _y_label(pay), _rate_label(pay)
    )
    curve.notes = list(pay.notes)
    rule = spec.rule
    if isinstance(rule, PayPerRowRule) and constant_value(rule.amount) is None:
        curve.notes.append(f"pays {rule.amount_text} per {rule.unit}: an amount that differs row by row")
        return curve
    for condition, what in (
        (spec.gate, f"gate {spec.gate_text}"),
        (period_end_condition(rule), "the bonus's condition"),
    ):
        unknown = pay.unknown(condition) if condition is not None else []
        if unknown:
            curve.notes.append(f"{what}: not drawn (it reads {', '.join(unknown)}{_hint(unknown)})")
            if condition is not spec.gate:
                return curve
    grid = pay.grid(span if span is not None else pay.natural_span())
    factors = [(1.0, "as it pays")] + [(float(m.factor), f"with {m.text}") for m in spec.multipliers]
    for factor, label in factors:
        cents, _ = pay.paid(grid, factor)
        curve.series.append(Series(label, grid, cents, pay.x_of(grid), pay.y_of(cents)))
    _describe(pay, curve, grid)
    return curve


def _describe(pay: Pay, curve: ComponentCurve, grid: np.ndarray) -> None:
    """The marks, jumps, cap levels, closed gate and marginal rate of a curve."""
    paid = curve.series[0]
    dx, dy = np.diff(paid.x), np.diff(paid.y)
    tiny = np.diff(grid) <= 1 if pay.axis != ROWS else np.zeros(dx.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = dy / dx
    if pay.rate_scale:  # from what is paid before rounding: a rate, not the cents' steps
        units = pay.paid(grid, rounded=False)[0]
        rate = np.diff(units) / np.diff(grid).astype(np.float64) * pay.rate_scale
    curve.rate_x, curve.rate = paid.x, np.where(tiny, np.nan, rate)
    steps = np.flatnonzero(tiny & (np.abs(np.diff(paid.cents)) > 1))
    curve.jumps = [float(paid.x[i + 1]) for i in steps]
    function = pay.run.function
    if isinstance(function, TierFunction):
        for k, start in enumerate(pay.kinks()):
            curve.marks.append(Mark(float(pay.x_of(np.array([start]))[0]), start, function.rate_labels[k]))
    elif isinstance(function, CurveFunction):
        for x, y, start in zip(function.curve.xs, function.curve.ys, pay.kinks(), strict=True):
            shown = f"{figures.format_percent(y)} of target" if function.curve.of_target else _money(y)
            where = figures.format_percent(x) if function.on_attainment else _money(x)
            curve.marks.append(Mark(float(pay.x_of(np.array([start]))[0]), start, f"{where} → {shown}"))
    for scope in (CapScope.ROW, CapScope.PERIOD, CapScope.YEAR, "plan"):
        for limit, text in pay.caps.get(scope, []):
            curve.levels.append(Level(float(pay.y_of(np.array([limit]))[0]), text))
    if pay.spec.gate is not None and pay.gate_drawn:
        is_open = pay.condition(pay.spec.gate, grid)
        for run_start, run_end in _runs(~is_open):
            curve.closed.append((float(paid.x[run_start]), float(paid.x[run_end])))


def _x_label(pay: Pay) -> str:
    if pay.axis == ROWS:
        rule = pay.spec.rule
        return f"{rule.unit} rows paid" if isinstance(rule, PayPerRowRule) else "rows paid"
    if pay.axis == ATTAINMENT:
        return "attainment (%)"
    credit = "credit" if pay.axis == CREDIT else "credit of one row"
    rollup = "rollup " if pay.spec.role.code else ""
    return f"{rollup}{credit}" + ("" if pay.counted else f" ({pay.compiled.plan.settings.currency})")


def _y_label(pay: Pay) -> str:
    money = f"paid ({pay.compiled.plan.settings.currency})"
    label = {"% of quota": "paid (% of quota)", "% of target": "paid (% of target)"}.get(pay.y_unit, money)
    return label + (" per unit of the row's rate" if pay.per_row_rate else "")


def _rate_label(pay: Pay) -> str:
    if pay.per_row_rate:
        return "× the row's rate"
    if pay.rate_scale:
        return "marginal rate (%)"
    if pay.axis == ROWS:
        return "per row"
    if pay.counted and pay.axis != ATTAINMENT:
        return "per unit of credit"
    return f"{pay.y_unit if pay.y_unit != 'money' else 'paid'} per 1% of attainment"


def _hint(unknown: list[str]) -> str:
    wanted = [option for name, option in (("quota", "a quota"), ("target", "a target")) if name in unknown]
    if "attainment" in unknown or "credit" in unknown:
        wanted = wanted or ["a quota"]
    return f"; give {' and '.join(wanted)} to draw it" if wanted and "count" not in unknown else ""


def _title(compiled: CompiledPlan, spec: ComponentSpec, since: dt.date | None = None) -> str:
    source = compiled.plan.source.splitlines()
    rule = spec.rule
    span = getattr(rule, "span", None) or getattr(getattr(rule, "table", None), "span", None)
    span = span or getattr(getattr(rule, "curve", None), "span", None)
    words = source[span.line - 1].strip().rstrip("{").strip() if span is not None else ""
    dated = f" from {since.isoformat()}" if since is not None else ""
    return f"{spec.kind} {spec.name}{dated}" + (f": {words}" if words else "")


def _money(value: Decimal) -> str:
    return figures.format_money(value)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def changed_curves(
    old: CompiledPlan, new: CompiledPlan, scale: Scale | None = None
) -> list[tuple[ComponentCurve | None, ComponentCurve | None]]:
    """(before, after) for each component whose pay differs between two plans (None where a plan lacks it), in
    the order of the old plan then the new: both drawn over the same stretch of the measure, compared at the
    points of both."""
    names = [c.name for c in old.plan.components]
    names += [c.name for c in new.plan.components if c.name not in names]
    pairs: list[tuple[ComponentCurve | None, ComponentCurve | None]] = []
    for name, day in [(each, day) for each in names for day in _version_days(old, new, each)]:
        # From each day a version of either plan starts, the rules in force then in each plan.
        pays = [_pay_of(plan, name, scale or Scale(), day) for plan in (old, new)]
        if pays[0] is not None and pays[1] is not None and pays[0].axis == pays[1].axis:
            span = max(pays[0].natural_span(), pays[1].natural_span())
            before, after = component_curve(pays[0], span), component_curve(pays[1], span)
            if not _differ(pays[0], pays[1], before, after):
                continue
            pairs.append((before, after))
        else:
            old_pay, new_pay = pays
            pairs.append((component_curve(old_pay) if old_pay else None, component_curve(new_pay) if new_pay else None))
    return pairs


def _version_days(old: CompiledPlan, new: CompiledPlan, name: str) -> list[dt.date | None]:
    """None (the start of the year), and each day a dated version of the component starts in either plan."""
    days = {v.start for plan in (old, new) for c in plan.plan.components if c.name == name for v in c.versions}
    return [None, *sorted(days)]


def _pay_of(compiled: CompiledPlan, name: str, scale: Scale, day: dt.date | None = None) -> Pay | None:
    """The component's pay under its version in force on ``day`` (None: the start of the year)."""
    index = next((i for i, c in enumerate(compiled.plan.components) if c.name == name), None)
    if index is None:
        return None
    versions = compiled.plan.components[index].versions
    version = sum(1 for v in versions if day is not None and v.start <= day)
    return Pay(compiled, index, scale, version=version)


def _differ(old: Pay, new: Pay, before: ComponentCurve, after: ComponentCurve) -> bool:
    """Whether two plans pay a component differently: at any point of either chart, in any series, or in what
    their charts say of it (tiers, caps, notes)."""
    said = [
        ([s.label for s in curve.series], [m.label for m in curve.marks], [v.label for v in curve.levels], curve.notes)
        for curve in (before, after)
    ]
    if said[0] != said[1] or (before.paid is None) != (after.paid is None):
        return True
    if before.paid is None or after.paid is None:
        return False
    grid = np.union1d(before.paid.measure, after.paid.measure)
    factors = [float(m.factor) for m in old.spec.multipliers] or [1.0]
    return any(not np.array_equal(old.paid(grid, factor)[0], new.paid(grid, factor)[0]) for factor in [1.0, *factors])
