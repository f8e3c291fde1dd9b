"""A component's pay as a function of its measure: what the charts of :mod:`spmlang.report.curves` plot.

:class:`Pay` evaluates the compiled plan's own earning function (engine/pay/tiers.py, curves.py), or its fixed
rate or payment, as engine/pay/component.py applies it to a payee whose credit is m, rounds it to the cent, and
cuts it by the caps, the gate and the plan caps that act on it (engine/pay/limits.py, batch.py), in that order.
Nothing is re-derived: tests/test_plot.py runs the engine at the plotted points.

A chart shows one stretch of the measure: the plan year at its end where the measure runs through the year (the
quota basis is then the year's), else one period. Caps of another scope (a cap per period under a year-to-date
measure, a cap per row on accumulated credit) depend on how the credit is spread: they are named, not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from spmlang.engine.compile import CompiledPlan
from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import Frame, Vec, truth
from spmlang.engine.kernels.money import CENT, UNIT, decimal_to_units, scaled, units_to_cents
from spmlang.engine.pay.curves import CurveFunction
from spmlang.engine.pay.earnings import RowBasis
from spmlang.engine.pay.tiers import TierFunction
from spmlang.ir.constants import constant_value
from spmlang.ir.expressions import Type, builtins_used
from spmlang.ir.kinds import CapScope, MeasureBasis
from spmlang.ir.plan import CapSpec, ComponentSpec, CurveRule, PayOnceRule, PayPerRowRule, RateRule, TierRule

# What a chart's x axis measures.
ATTAINMENT, CREDIT, ROW_CREDIT, ROWS = "attainment", "credit", "row credit", "rows"
# The quota or target a chart assumes where it is given none: its figures are then shown as per cent of it.
REFERENCE = 1_000_000 * UNIT
POINTS = 240  # points along the x axis, besides every kink (tier starts, curve points, caps, gates)
MOST_ROWS = 200  # the longest axis of rows paid one by one


@dataclass(frozen=True)
class Scale:
    """The payee a chart is drawn for, in units: quota and target on the plan's basis, and the targets caps in
    % of target read (each known or None). ``year_target`` and ``period_target`` default to ``target`` where the
    chart's stretch is the year or the period."""

    quota: int | None = None
    target: int | None = None
    year_target: int | None = None
    period_target: int | None = None


class Pay:
    """A component's pay as a function of its measure, for one payee (``scale``) over the chart's stretch."""

    def __init__(
        self,
        compiled: CompiledPlan,
        index: int,
        scale: Scale = Scale(),
        row_rate: Decimal | None = None,
        version: int = 0,
    ):
        self.compiled, self.index = compiled, index
        # A component with dated versions pays by one version's rule and multipliers at a time: ``version``'s.
        self.run = compiled.components[index].versions[version]
        self.spec: ComponentSpec = self.run.spec
        versions = compiled.plan.components[index].versions
        self.since = versions[version - 1].start if version else None  # the first day of the version drawn
        self.counted = compiled.plan.transactions.credit_type is not Type.MONEY
        self.year = compiled.year_to_date or compiled.calendar.count == 1  # the stretch is the plan year
        rule = self.spec.rule
        self.axis = _axis(self.spec)
        self.row_rate = row_rate
        self.per_row_rate = isinstance(rule, RateRule) and self.run.fixed_rate is None and row_rate is None
        on_quota = isinstance(self.run.function, TierFunction) and self.axis == ATTAINMENT
        on_target = (isinstance(rule, CurveRule) and rule.curve.of_target) or (
            isinstance(rule, PayOnceRule) and rule.of_target
        )
        target = scale.target
        year_target = scale.year_target if scale.year_target is not None else (target if self.year else None)
        period_target = scale.period_target if scale.period_target is not None else (None if self.year else target)
        if on_target and target is None:  # shown as % of target: every target is the reference
            target = REFERENCE
            year_target, period_target = (REFERENCE, None) if self.year else (None, REFERENCE)
            if isinstance(rule, PayOnceRule):  # a bonus pays a share of the annual target, whatever the stretch
                year_target = REFERENCE
        self.quota = scale.quota if scale.quota is not None else REFERENCE
        self.target, self.year_target, self.period_target = target or 0, year_target, period_target
        self.y_unit = (
            "% of quota"
            if on_quota and scale.quota is None
            else "% of target"
            if on_target and scale.target is None
            else "money"
        )
        self.known = {  # what a gate or a bonus condition may read, where the chart knows it
            "attainment": self.axis == ATTAINMENT or (scale.quota is not None and self.axis != ROWS),
            "credit": self.axis in (CREDIT, ROW_CREDIT) or scale.quota is not None,
            "quota": scale.quota is not None,
            "target": scale.target is not None or self.y_unit == "% of target",
            "count": self.axis == ROWS,
        }
        self.credit_per_row = constant_value(compiled.plan.transactions.credit)
        if self.axis == ROWS:
            ok = self.credit_per_row is not None and (scale.quota is not None or self.credit_per_row == 0)
            self.known.update(credit=self.credit_per_row is not None, attainment=ok)
        self.notes: list[str] = []
        self.caps = self._caps()

    # ------------------------------------------------------------------ what is paid
    def earned(self, m: np.ndarray, factor: float = 1.0) -> np.ndarray:
        """What the rule earns at measure m (rows, on a ROWS axis), in units, before caps and gates."""
        rule, run = self.spec.rule, self.run
        m = np.asarray(m, dtype=np.int64)
        if isinstance(rule, PayPerRowRule):
            pay = constant_value(rule.amount)
            if pay is None:
                return np.zeros(m.size, dtype=np.int64)
            each = scaled(np.array([decimal_to_units(pay)]), factor)[0] if factor != 1.0 else decimal_to_units(pay)
            rows = np.arange(1, int(m.max(initial=0)) + 1, dtype=np.int64)
            running = units_to_cents(rows * each)  # each line rounded cumulatively, as the ledger rounds it
            lines = np.diff(running, prepend=0)
            for limit, _ in self.caps.get(CapScope.ROW, []):  # a cap per row cuts each line
                lines = np.minimum(lines, limit)
            return np.concatenate([[0], np.cumsum(lines)])[m] * CENT
        if isinstance(rule, PayOnceRule):
            met = self.condition(rule.condition, m)
            amount = (
                scaled(np.array([self.year_target or 0]), float(rule.amount))[0]
                if rule.of_target
                else decimal_to_units(rule.amount)
            )
            return np.where(met, amount, 0).astype(np.int64)
        basis = RowBasis(np.zeros(m.size, dtype=np.int64), np.array([self.quota]), np.array([self.target]))
        # The row's factors as engine/pay/component.py has them: its multipliers, then its own rate where the
        # rate is per row (a chart draws it as 1: in units of the row's rate, unless it is told the rate).
        parts = [factor] + ([float(self.row_rate)] if self.row_rate is not None else [])
        function = run.function
        if function is None:  # a flat rate: credit x rate x multipliers
            rate = run.fixed_rate if run.fixed_rate is not None else float(self.row_rate or 1)
            return scaled(m, rate, factor)
        value = function.value(m, basis)
        if not run.on_row_credit:  # a row moving the measure from 0 to m earns E(m) - E(0)
            value = value - function.value(np.zeros(m.size, dtype=np.int64), basis)
        return scaled(value, *parts) if float(np.prod(parts)) != 1.0 else value

    def paid(self, m: np.ndarray, factor: float = 1.0, rounded: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """What is paid at each measure m, in cents (``rounded``; else in units, for the marginal rate), after the
        caps, the gate and the plan caps; and the regime at each (which gate and caps act), to find where it
        changes. The engine rounds before it caps, to caps of whole cents: the same cents."""
        units = self.earned(m, factor)
        regime = np.zeros(np.size(m), dtype=np.int64)
        bit = 1
        caps = [
            limit
            for scope in (CapScope.ROW, CapScope.PERIOD, CapScope.YEAR)
            if scope is not CapScope.ROW or self.axis == ROW_CREDIT
            for limit, _ in self.caps.get(scope, [])
        ]
        plan_caps = [limit for limit, _ in self.caps.get("plan", [])]
        for limit in caps:
            regime |= np.where(units > limit * CENT, bit, 0)
            units, bit = np.minimum(units, limit * CENT), bit << 1
        if self.spec.gate is not None and self.gate_drawn:
            is_open = self.condition(self.spec.gate, np.asarray(m))
            regime |= np.where(is_open, bit, 0)
            units, bit = np.where(is_open, units, 0), bit << 1
        for limit in plan_caps:
            regime |= np.where(units > limit * CENT, bit, 0)
            units, bit = np.minimum(units, limit * CENT), bit << 1
        return (units_to_cents(units) if rounded else units), regime

    def condition(self, condition, m: np.ndarray) -> np.ndarray:
        """A period-end condition (a gate, a bonus's) at each measure m, as the engine decides it at the end of
        the chart's stretch (see engine/pay/component_lines.py: period_end_frame)."""
        m = np.asarray(m, dtype=np.int64)
        rows = m if self.axis == ROWS else np.ones(m.size, dtype=np.int64)
        measure = m * decimal_to_units(self.credit_per_row or Decimal(0)) if self.axis == ROWS else m
        quota = np.full(m.size, self.quota, dtype=np.int64)
        attainment = np.divide(measure.astype(np.float64), quota, out=np.zeros(m.size), where=quota != 0)
        credit_type = self.compiled.plan.transactions.credit_type

        def quantity(values: np.ndarray) -> Vec:
            return Vec(values / UNIT if self.counted else values, True, credit_type)

        frame = Frame(
            m.size,
            builtins={
                "attainment": Vec(attainment, True, Type.PERCENT),
                "credit": quantity(measure),
                "quota": quantity(quota),
                "target": Vec(np.full(m.size, self.target, dtype=np.int64), True, Type.MONEY),
                "count": Vec(rows, True, Type.INTEGER),
            },
        )
        return np.asarray(truth(evaluate(condition, frame), m.size), dtype=bool)

    @property
    def gate_drawn(self) -> bool:
        return self.spec.gate is not None and not self.unknown(self.spec.gate)

    def unknown(self, condition) -> list[str]:
        return sorted(name for name in builtins_used(condition) if not self.known.get(name, False))

    # ------------------------------------------------------------------ caps
    def _caps(self) -> dict:
        """The caps the chart draws, by scope (and "plan"), as (limit in cents, text); the others as notes."""
        caps: dict = {}
        spec = self.spec
        covering = [
            cap
            for cap in self.compiled.plan.plan_caps
            if cap.covers_all or spec.name in cap.components or spec.role in cap.roles
        ]
        for cap, key in [(cap, cap.scope) for cap in spec.caps] + [(cap, "plan") for cap in covering]:
            why = self._cap_not_drawn(cap)
            if why:
                self.notes.append(f"{cap.text}: not drawn ({why})")
                continue
            caps.setdefault(key, []).append((self._limit(cap), cap.text))
        return caps

    def _cap_not_drawn(self, cap: CapSpec) -> str | None:
        if cap.scope is CapScope.ROW and self.axis not in (ROW_CREDIT, ROWS):
            return "it limits each row; here is the credit of many"
        if cap.scope is CapScope.PERIOD and self.year and self.compiled.calendar.count > 1:
            return "it limits each period's pay; here is the year's"
        if cap.scope is CapScope.YEAR and not self.year:
            return "it limits the year's pay; here is one period's"
        if self.y_unit == "% of quota":
            return "give a quota and a target to draw it" if cap.of_target else "give a quota to draw it"
        if cap.of_target:
            target = self.year_target if cap.scope is CapScope.YEAR else self.period_target
            return None if target is not None else "give a target to draw it"
        return "give a target to draw it" if self.y_unit == "% of target" else None

    def _limit(self, cap: CapSpec) -> int:
        """The cap in whole cents, as engine/pay/limits.py: cap_limit computes it."""
        if not cap.of_target:
            return int(units_to_cents(np.array([decimal_to_units(cap.amount)]))[0])
        target = self.year_target if cap.scope is CapScope.YEAR else self.period_target
        return int(units_to_cents(scaled(np.array([target or 0]), float(cap.amount)))[0])

    # ------------------------------------------------------------------ the chart
    def kinks(self) -> list[int]:
        """Where the rule's slope changes, in units of the measure: tier starts and curve points."""
        function, quota = self.run.function, np.array([self.quota])
        if isinstance(function, TierFunction):
            return [int(v) for v in function.breakpoints(quota, 1)[0]]
        if isinstance(function, CurveFunction):
            on = function.on_attainment
            return [int(scaled(quota, float(x))[0]) if on else decimal_to_units(x) for x in function.curve.xs]
        return [0]

    def natural_span(self) -> int:
        """How far the x axis runs: past every kink, every cap reached and the gate's opening, with a margin."""
        if self.axis == ROWS:
            counts = [10]
            for found in self._changes(np.arange(0, MOST_ROWS + 1)):
                counts.append(int(found * 1.5) + 1)
            return min(max(counts), MOST_ROWS)
        last = max(self.kinks())
        if self.axis == ATTAINMENT or self.known["quota"]:
            base = self.quota
        else:
            base = (100 if self.counted else 100_000) * UNIT
        span = max(last * 4 // 3, base)
        wide = np.unique(np.linspace(0, 8 * span, 4 * POINTS).astype(np.int64))
        later = [change for change in self._changes(wide) if change > span]
        if later:
            span = max(span, int(max(later) * 1.25))
        return _rounded_up(span)

    def _changes(self, grid: np.ndarray) -> list[int]:
        """The first measure of each new regime along ``grid`` (where a cap is reached, a gate opens)."""
        _, regime = self.paid(grid)
        return [int(grid[i + 1]) for i in np.flatnonzero(np.diff(regime) != 0)]

    def grid(self, span: int) -> np.ndarray:
        """The measures a chart evaluates: evenly spread, every kink with the unit before it, and the edges of
        each regime found to the unit."""
        if self.axis == ROWS:
            return np.arange(0, span + 1, dtype=np.int64)
        kinks = [k for k in self.kinks() if 0 < k <= span]
        points = set(np.linspace(0, span, POINTS + 1).astype(np.int64).tolist())
        points.update(kinks + [k - 1 for k in kinks])
        grid = np.array(sorted(points), dtype=np.int64)
        _, regime = self.paid(grid)
        edges = []
        for i in np.flatnonzero(np.diff(regime) != 0):  # regime[low] differs from regime[high]: find the edge
            edges += self._edge(int(grid[i]), int(grid[i + 1]), int(regime[i + 1]))
        return np.unique(np.concatenate([grid, np.array(edges, dtype=np.int64)]))

    def _edge(self, low: int, high: int, regime: int) -> list[int]:
        """The two measures, a unit apart, between ``low`` (not in ``regime``) and ``high`` (in it) where the
        regime is first reached: looked for at many measures at once (a few passes, not one per bit)."""
        while high - low > 1:
            step = max((high - low) // _EDGE_POINTS, 1)
            points = np.append(np.arange(low, high, step, dtype=np.int64), high)
            reached = np.flatnonzero(self.paid(points)[1] == regime)
            if not reached.size or reached[0] == 0:  # paid() said otherwise of low or high before
                raise AssertionError(f"the regime {regime} is not reached between {low} and {high} alone")
            first = int(reached[0])
            low, high = int(points[first - 1]), int(points[first])
        return [low, high]

    # ------------------------------------------------------------------ how the axes read
    def x_of(self, measure: np.ndarray) -> np.ndarray:
        if self.axis == ROWS:
            return measure.astype(np.float64)
        if self.axis == ATTAINMENT:
            return measure / self.quota * 100
        return measure / UNIT

    def y_of(self, cents: np.ndarray) -> np.ndarray:
        if self.y_unit == "% of quota":
            return cents * CENT / self.quota * 100
        if self.y_unit == "% of target":
            return cents * CENT / self.target * 100
        return cents / 100

    @property
    def rate_scale(self) -> float | None:
        """Where the marginal rate is a share of credit (money earned per money of credit): x100 for per cent;
        None where it reads as the y axis's unit per the x axis's."""
        if self.per_row_rate:
            return 1.0
        if self.axis == ROWS or self.counted:
            return None
        if self.axis == ATTAINMENT and not (self.y_unit == "% of quota" or self.known["quota"]):
            return None
        return None if self.y_unit == "% of target" else 100.0


def _axis(spec: ComponentSpec) -> str:
    rule = spec.rule
    if isinstance(rule, PayPerRowRule):
        return ROWS
    if isinstance(rule, PayOnceRule):
        return ATTAINMENT if builtins_used(rule.condition) & {"attainment", "quota"} else CREDIT
    if (isinstance(rule, TierRule) and rule.table.basis is MeasureBasis.ROW) or (
        isinstance(rule, CurveRule) and rule.curve.basis is MeasureBasis.ROW
    ):
        return ROW_CREDIT
    return ATTAINMENT if spec.uses_attainment else CREDIT


def period_end_condition(rule):
    """A bonus's condition (None for another rule): decided at a period's end, as a gate is."""
    return rule.condition if isinstance(rule, PayOnceRule) else None


_EDGE_POINTS = 256  # the measures looked at in each pass of finding where a regime starts


def _rounded_up(units: int) -> int:
    """A span rounded up to two significant digits: an axis that ends on a round figure."""
    digits = max(len(str(units)) - 2, 0)
    step = 10**digits
    return -(-units // step) * step
