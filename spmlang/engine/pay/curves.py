"""Payout curves as earning functions: linear between their points, in money or % of target incentive, on
attainment or on credit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from spmlang.engine.kernels.money import UNIT, decimal_to_units, in_decimals, to_units
from spmlang.engine.pay.earnings import RowBasis
from spmlang.ir.kinds import MeasureBasis
from spmlang.ir.plan import CurveSpec


class CurveFunction:
    """A payout curve: linear between points, money or % of target incentive."""

    def __init__(self, curve: CurveSpec):
        self.curve = curve
        self.on_attainment = curve.basis is MeasureBasis.ATTAINMENT
        self.xs = np.array([float(x) if self.on_attainment else float(decimal_to_units(x)) for x in curve.xs])
        self.ys = np.array([float(y) if curve.of_target else float(decimal_to_units(y)) for y in curve.ys])
        # What bounds the float error of a value (see value): the steepest slope, the widest x and y.
        self._steepest = float(np.max(np.abs(np.diff(self.ys) / np.diff(self.xs))))
        self._widest_x, self._widest_y = float(np.max(np.abs(self.xs))), float(np.max(np.abs(self.ys)))

    @property
    def depends_on_basis(self) -> bool:
        """Whether E changes with the quota or target basis."""
        return self.on_attainment or self.curve.of_target

    def x_of(self, m: np.ndarray, quota: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        if not self.on_attainment:
            return m
        quota = np.asarray(quota, dtype=np.float64)
        return np.divide(m, quota, out=np.zeros_like(m), where=quota != 0)

    def extended(self) -> CurveFunction:
        """The same curve with its last slope extended: what would be paid without the flat top."""
        from dataclasses import replace

        return CurveFunction(replace(self.curve, extend_above=True))

    def y_of(self, x: np.ndarray) -> np.ndarray:
        xs, ys = self.xs, self.ys
        y = np.interp(x, xs, ys)
        below, above = x < xs[0], x > xs[-1]
        if self.curve.extend_below:
            y = np.where(below, ys[0] + (x - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0]), y)
        else:
            y = np.where(below, 0.0, y)
        if self.curve.extend_above:
            y = np.where(above, ys[-1] + (x - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]), y)
        return y

    def value(self, m: np.ndarray, basis: RowBasis, tier: np.ndarray | None = None) -> np.ndarray:
        """E(m) in units for each row (a curve has no tiers: ``tier`` is not read)."""
        quota, target = basis.quota, basis.target
        y = self.y_of(self.x_of(m, quota))
        if self.curve.of_target:
            y = y * np.asarray(target, dtype=np.float64)

        def exact(index: np.ndarray) -> list[int]:  # values float64 cannot hold to the unit, in decimal
            m_ = np.asarray(m, dtype=np.int64)
            return [self._exact(int(m_[i]), int(quota[i]), int(target[i])) for i in index.tolist()]

        # x (a quotient) and the interpolation each err by a few ulps; the slope carries x's error into y.
        x = np.abs(self.x_of(m, quota))
        window = self._steepest * (x + self._widest_x) + self._widest_y + np.abs(y)
        if self.curve.of_target:
            window *= np.abs(np.asarray(target, dtype=np.float64))
        window *= 2.0**-46
        return to_units(y, exact, window)

    def _exact(self, m: int, quota: int, target: int) -> int:
        """E(m) in units, computed in decimal: what :meth:`value` computes in float64."""
        curve = self.curve
        xs = list(curve.xs) if self.on_attainment else [x * UNIT for x in curve.xs]
        ys = list(curve.ys) if curve.of_target else [y * UNIT for y in curve.ys]

        def y_of() -> Decimal:
            x = (Decimal(m) / quota if quota else Decimal(0)) if self.on_attainment else Decimal(m)
            if x < xs[0]:
                y = ys[0] + (x - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0]) if curve.extend_below else Decimal(0)
            elif x > xs[-1]:
                y = ys[-1] + (x - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) if curve.extend_above else ys[-1]
            else:
                i = max(j for j in range(len(xs)) if xs[j] <= x)
                y = ys[i] if i == len(xs) - 1 else ys[i] + (x - xs[i]) * (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
            return y * target if curve.of_target else y

        return in_decimals(y_of)
