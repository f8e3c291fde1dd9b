"""Where a payee stands at a period's end: their attainment through the year against the tiers, and their place on
each component's curve, with the way to the next tier in plain words.

Figures only, from the run's own arrays and the compiled plan (the points are :mod:`spmlang.report.curves`');
``report/render/charts.py`` draws them on the statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np

from spmlang import figures
from spmlang.engine.calendar import from_days
from spmlang.engine.kernels.money import UNIT
from spmlang.engine.pay.curves import CurveFunction
from spmlang.engine.pay.tiers import TierFunction
from spmlang.engine.payout import Payout
from spmlang.report.curves import ATTAINMENT, CREDIT, ComponentCurve, Pay, Scale, component_curve


@dataclass
class Position:
    """A payee on one component's curve: the curve drawn for their quota and target, and where they are on it."""

    component: str
    curve: ComponentCurve
    x: float
    y: float
    words: list[str]  # "You are here ...", "The next tier (8% × 1.5x) starts in 12,400.00 of credit."


@dataclass
class Standing:
    path: list[tuple[dt.date, float]]  # attainment (a fraction) through the year, to the period's end
    year: tuple[dt.date, dt.date]  # the plan year's first and last day
    periods: list[tuple[dt.date, str]]  # each period's first day and label
    breakpoints: list[tuple[float, str]]  # attainment (a fraction) where a tier or a curve's point starts
    positions: list[Position] = field(default_factory=list)


def standing(payout: Payout, payee: int, period: int) -> Standing:
    """Where ``payee`` (code) stands at the end of ``period`` (index)."""
    run, basis = payout.run, payout.run.basis
    calendar = run.calendar
    result = Standing(
        path=[],
        year=(calendar.starts[0], calendar.last_day),
        periods=[(calendar.starts[p], calendar.labels[p]) for p in range(calendar.count)],
        breakpoints=_breakpoints(payout),
    )
    direct = _stream(payout, payee, 0)
    if direct is not None:
        result.path = _path(payout, direct, payee, period)
    for index, component in enumerate(run.components):
        stream = _stream(payout, payee, component.spec.role.code)
        if stream is None:
            continue
        scale = Scale(
            quota=int(basis.quota[payee, period]) if basis.quota_known[payee] else None,
            target=int(basis.target[payee, period]) if basis.target_known[payee] else None,
            year_target=int(basis.target_annual[payee]) if basis.target_known[payee] else None,
            period_target=int(basis.target_period[payee, period]) if basis.target_known[payee] else None,
        )
        # Where the payee stands on the rule in force at the period's end (a component's dated version).
        end = payout.run.calendar.end(period)
        version = sum(1 for v in payout.run.plan.components[index].versions if v.start <= end)
        measure = int(payout.streams.of(index).measure_at_end()[stream, period])  # the one it is priced on
        position = _position(payout, index, scale, measure, version)
        if position is not None:
            result.positions.append(position)
    return result


def _stream(payout: Payout, payee: int, role: int) -> int | None:
    streams = payout.streams.of_payee  # every component's has the same streams, in the same order
    found = np.flatnonzero((streams.payee == payee) & (streams.role == role))
    return int(found[0]) if found.size else None


def _path(payout: Payout, stream: int, payee: int, period: int) -> list[tuple[dt.date, float]]:
    """Attainment after each row, at each period's start (on its quota basis) and end, to ``period``'s end."""
    streams, rows, calendar = payout.streams.of_payee, payout.rows, payout.run.calendar
    first, last = np.searchsorted(streams.row_stream, [stream, stream + 1])  # a stream's rows lie together
    carried = 0
    path: list[tuple[dt.date, float]] = []
    for p in range(period + 1):
        quota = int(payout.run.basis.quota[payee, p])
        start = carried if streams.ytd else 0
        end = start + int(streams.period_credit[stream, p])
        carried = end
        if quota <= 0:
            continue
        path.append((calendar.starts[p], start / quota))
        in_period = np.flatnonzero(rows.period[first:last] == p) + first
        path += [(from_days(rows.date[r]), int(streams.m_after[r]) / quota) for r in in_period.tolist()]
        path.append((calendar.end(p), end / quota))
    return path


def _breakpoints(payout: Payout) -> list[tuple[float, str]]:
    """Where each tier or curve point on attainment starts, with what it pays (several components: named)."""
    found: dict[float, list[str]] = {}
    components = [c for c in payout.run.components if c.spec.uses_attainment]
    for component in components:
        name = f"{component.spec.name}: " if len(components) > 1 else ""
        for version, rule in enumerate(component.versions):  # a dated version's: with its date
            function = rule.function
            since = f" from {component.spec.versions[version - 1].start.isoformat()}" if version else ""
            if isinstance(function, TierFunction):
                for tier, label in zip(function.table.tiers, function.rate_labels, strict=True):
                    if tier.low > 0:
                        found.setdefault(float(tier.low), []).append(f"{name}{label}{since}")
            elif isinstance(function, CurveFunction):
                for x, y in zip(function.curve.xs, function.curve.ys, strict=True):
                    paid = f"{figures.format_percent(y)} of target" if function.curve.of_target else figures.money(y)
                    found.setdefault(float(x), []).append(f"{name}{paid}{since}")
    return [(x, ", ".join(labels)) for x, labels in sorted(found.items())]


def _position(payout: Payout, index: int, scale: Scale, measure: int, version: int = 0) -> Position | None:
    """The payee on the component's curve (of its ``version``), where it has one to stand on (an accumulated
    measure)."""
    pay = Pay(payout.run.compiled, index, scale, version=version)
    if pay.axis not in (ATTAINMENT, CREDIT) or pay.per_row_rate or (pay.axis == ATTAINMENT and scale.quota is None):
        return None
    span = max(pay.natural_span(), int(measure * 1.25))
    curve = component_curve(pay, span)
    if curve.paid is None:
        return None
    cents, _ = pay.paid(np.array([measure]))
    x, y = float(pay.x_of(np.array([measure]))[0]), float(pay.y_of(cents)[0])
    return Position(curve.name, curve, x, y, _words(pay, curve, measure, scale))


def _words(pay: Pay, curve: ComponentCurve, measure: int, scale: Scale) -> list[str]:
    credit = _credit(measure, pay.counted)
    if pay.axis == ATTAINMENT and scale.quota:
        here = f"You are here: {figures.percent(Decimal(measure) / scale.quota)} attainment, {credit} of credit."
    else:
        here = f"You are here: {credit} of credit."
    words = [here]
    function = pay.run.function
    if isinstance(function, TierFunction):
        starts = pay.kinks()
        ahead = [k for k, start in enumerate(starts) if start > measure]
        if ahead:
            k = ahead[0]
            away = _credit(starts[k] - measure, pay.counted, ROUND_CEILING)
            words.append(f"The next tier ({function.rate_labels[k]}) starts in {away} of credit.")
        else:
            words.append(f"You are in the top tier ({function.rate_labels[-1]}).")
    elif isinstance(function, CurveFunction):
        points = [(start, mark) for start, mark in zip(pay.kinks(), curve.marks, strict=True) if start > measure]
        if points:
            start, mark = points[0]
            words.append(
                f"The curve's next point ({mark.label}) is {_credit(start - measure, pay.counted, ROUND_CEILING)} away."
            )
        elif not function.curve.extend_above:
            words.append("You are past the curve's last point: it pays no more above it.")
    for level in curve.levels:
        paid = pay.y_of(pay.paid(np.array([measure]))[0])[0]
        if level.y is not None and paid >= level.y:
            words.append(f"You have reached the cap ({level.label}).")
    spec = pay.spec
    if spec.gate is not None and pay.gate_drawn and not pay.condition(spec.gate, np.array([measure]))[0]:
        words.append(f"The gate ({spec.gate_text}) is closed: what you earn is paid once it opens.")
    return words


CENT = Decimal("0.01")


def _credit(units: int, counted: bool, rounding: str = ROUND_HALF_UP) -> str:
    """Credit as a rep reads it: money to the cent (a converted credit is held to the micro-unit; a distance
    to a tier is rounded up, so that reaching it reaches the tier)."""
    value = Decimal(int(units)) / UNIT
    return figures.format_number(float(value)) if counted else figures.money(value.quantize(CENT, rounding))
