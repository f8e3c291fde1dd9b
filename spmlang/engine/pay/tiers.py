"""Tier tables as earning functions: marginal (each slice of the measure at its tier's rate) or retroactive
(the rate of the tier reached on the whole measure), on attainment (bounds times the quota) or on credit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from spmlang import figures
from spmlang.engine.kernels.money import decimal_to_units, in_decimals, scaled, to_units
from spmlang.engine.pay.earnings import RowBasis
from spmlang.ir.kinds import MeasureBasis, RateKind, TierMode
from spmlang.ir.plan import TierTable

_BIG = np.int64(2**62)


class TierFunction:
    """Marginal or retroactive tiers, on attainment (bounds x quota) or on credit."""

    def __init__(self, table: TierTable, scale: Decimal = Decimal(1), scale_text: str | None = None):
        self.table = table
        self.retroactive = table.mode is TierMode.RETROACTIVE
        self.on_attainment = table.basis is MeasureBasis.ATTAINMENT
        self.lows = [float(t.low) for t in table.tiers]
        self.low_units = np.array([decimal_to_units(t.low) for t in table.tiers], dtype=np.int64)
        self.decimal_rates = [t.rate * scale for t in table.tiers]  # exact, for explanations
        self.rates = np.array([float(rate) for rate in self.decimal_rates])
        self.labels = [t.label for t in table.tiers]
        if table.rate_kind is RateKind.MULTIPLIER:
            base = f"{scale_text} × " if scale_text else ""
            self.rate_labels = [f"{base}{figures.format_number(float(t.rate))}x" for t in table.tiers]
        elif table.rate_kind is RateKind.MONEY:
            self.rate_labels = [f"{figures.format_money(t.rate)} each" for t in table.tiers]
        else:
            self.rate_labels = [figures.format_percent(t.rate) for t in table.tiers]

    @property
    def depends_on_basis(self) -> bool:
        """Whether E changes when the quota basis changes (tiers on attainment)."""
        return self.on_attainment

    def breakpoints(self, quota: np.ndarray, n: int) -> np.ndarray:
        """(n, tiers) int64: where each tier starts, in units of credit."""
        if not self.on_attainment:
            return np.broadcast_to(self.low_units, (n, self.low_units.size))
        quota = np.asarray(quota, dtype=np.int64)
        return np.stack([scaled(quota, low) for low in self.lows], axis=1)

    def _filled(self, m: np.ndarray, lows: np.ndarray) -> np.ndarray:
        """(n, tiers) int64: credit in each tier at measure m; below 0 counts in the first tier."""
        m = np.asarray(m, dtype=np.int64)[:, None]
        highs = np.concatenate([lows[:, 1:], np.full((lows.shape[0], 1), _BIG)], axis=1)
        filled = np.clip(m - lows, 0, highs - lows)
        filled[:, 0] += np.minimum(m[:, 0] - lows[:, 0], 0)
        return filled

    def _cell_table(self, quota_cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: where each tier starts (units) and what is earned when m reaches it."""
        cached = getattr(self, "_cells", None)
        if cached is not None and cached[0] is quota_cells:
            return cached[1], cached[2]
        lows = self.breakpoints(quota_cells, quota_cells.size)
        widths = np.diff(lows, axis=1).astype(np.float64)
        reached = np.zeros(lows.shape, dtype=np.float64)
        reached[:, 1:] = np.cumsum(widths * self.rates[:-1], axis=1)
        self._cells = (quota_cells, lows, reached)
        return lows, reached

    def locate(self, m: np.ndarray, basis: RowBasis) -> np.ndarray:
        """The tier holding each row's measure m (a value on a boundary belongs to the higher tier)."""
        m = np.asarray(m, dtype=np.int64)
        if not self.on_attainment:
            return np.maximum(np.searchsorted(self.low_units, m, side="right") - 1, 0)
        lows, _ = self._cell_table(basis.quota_cells)
        tier = np.zeros(m.size, dtype=np.int64)
        for k in range(1, lows.shape[1]):
            tier += m >= lows[basis.cell, k]
        return tier

    def value(self, m: np.ndarray, basis: RowBasis, tier: np.ndarray | None = None) -> np.ndarray:
        """E(m) in units for each row: the earnings at the start of m's tier plus its rate on the rest."""
        m = np.asarray(m, dtype=np.int64)
        tier = self.locate(m, basis) if tier is None else tier
        if self.on_attainment:
            lows, reached = self._cell_table(basis.quota_cells)
            flat = basis.cell * lows.shape[1] + tier
            low, base = lows.reshape(-1)[flat], reached.reshape(-1)[flat]
        else:
            low = self.low_units[tier]
            base = np.concatenate([[0.0], np.cumsum(np.diff(self.low_units) * self.rates[:-1])])[tier]
        rate = self.rates[tier]

        def exact(index: np.ndarray) -> list[int]:  # values float64 cannot hold to the unit, in decimal
            lows = self._cell_table(basis.quota_cells)[0] if self.on_attainment else None
            return [
                self._exact(int(m[i]), int(tier[i]), lows[basis.cell[i]] if lows is not None else self.low_units)
                for i in index.tolist()
            ]

        if self.retroactive:
            return to_units(rate * m.astype(np.float64), exact)
        return to_units(base + rate * (m - low).astype(np.float64), exact)

    def _exact(self, m: int, tier: int, lows: np.ndarray) -> int:
        """E(m) in units, computed in decimal: what :meth:`value` computes in float64."""
        rates = self.decimal_rates
        if self.retroactive:
            return in_decimals(lambda: rates[tier] * m)

        def earned() -> Decimal:
            total = sum((rates[k] * (int(lows[k + 1]) - int(lows[k])) for k in range(tier)), Decimal(0))
            return total + rates[tier] * (m - int(lows[tier]))

        return in_decimals(earned)

    def slices(self, before: np.ndarray, after: np.ndarray, quota: np.ndarray) -> np.ndarray:
        lows = self.breakpoints(quota, np.asarray(before).size)
        return self._filled(after, lows) - self._filled(before, lows)
