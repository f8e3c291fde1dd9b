"""Earning functions: what a credit row earns under a component's rule.

Every cumulative rule is a function E(m) of the payee's measure m (credit, or
attainment through the quota). A row moving m from a to b earns
``f x (E(b) - E(a))``, f being the row's multipliers (and its rate, where the
rate is per row). E values are snapped to exact units before the difference,
so the lines of a stream telescope exactly: their sum is E at the end.

The functions are tiers (tiers.py) and curves (curves.py); the ledger's text of what a row earned is
descriptions.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from spmlang.engine.kernels.money import scaled, within_limit
from spmlang.engine.pay.lines import TextColumn


class RowBasis:
    """The quota and target basis of each row, as an index into per-(payee, period) cells.

    Tier breakpoints depend only on the cell, so they are computed once per cell, not once per row.
    """

    def __init__(self, cell: np.ndarray, quota_cells: np.ndarray, target_cells: np.ndarray):
        self.cell = cell
        self.quota_cells = quota_cells
        self.target_cells = target_cells

    @property
    def quota(self) -> np.ndarray:
        return self.quota_cells[self.cell]

    @property
    def target(self) -> np.ndarray:
        return self.target_cells[self.cell]

    def take(self, index: np.ndarray) -> RowBasis:
        return RowBasis(self.cell[index], self.quota_cells, self.target_cells)


class RowStarts:
    """Where each row's measure starts: mostly where the row before ended, in the same (payee, period) cell of
    the basis, so that E (or the tier) there is the row before's at its end and is not computed again. Only
    the other rows (``fresh``: a stream's first row, a period's, one after rows the component does not pay)
    are computed. E is a function of the measure and the cell alone, so the values are the same either way."""

    def __init__(self, before: np.ndarray, after: np.ndarray, basis: RowBasis):
        same = np.zeros(before.size, bool)
        same[1:] = (before[1:] == after[:-1]) & (basis.cell[1:] == basis.cell[:-1])
        self.same = same
        self.fresh = np.flatnonzero(~same)
        self.before = before
        self.basis = basis

    def of(self, at_end: np.ndarray, compute: Callable[[np.ndarray, RowBasis], np.ndarray]) -> np.ndarray:
        """Each row's value at its start, given every row's ``at_end``; ``compute(m, basis)`` for the fresh rows."""
        at_start = np.empty_like(at_end)
        at_start[1:] = at_end[:-1]
        fresh = self.fresh
        at_start[fresh] = compute(self.before[fresh], self.basis.take(fresh))
        return at_start


@dataclass(frozen=True)
class Factors:
    """What multiplies a row's line: its multipliers, and its own rate where the rate is per row (`rate
    rates[product]` under an accelerator). Kept apart, not multiplied out in float64, so that a product whose
    rounding float64 could change is computed exactly from each one's decimal (see money.scaled)."""

    parts: tuple[np.ndarray, ...]

    @property
    def product(self) -> np.ndarray:
        """Their product in float64: for what a line shows, and to find where it is exactly 1."""
        product = self.parts[0]
        for part in self.parts[1:]:
            product = product * part
        return product

    def __getitem__(self, index) -> Factors:
        return Factors(tuple(np.asarray(part)[index] for part in self.parts))


def apply_factor(delta: np.ndarray, factor: np.ndarray | Factors) -> np.ndarray:
    """factor x delta in exact units; delta itself where the factor is exactly 1."""
    delta = np.asarray(delta, dtype=np.int64)
    parts = factor.parts if isinstance(factor, Factors) else (factor,)
    product = factor.product if isinstance(factor, Factors) else factor
    return np.where(product == 1.0, delta, scaled(delta, *parts))


class EarningFunction(Protocol):
    """E(m): what a payee has earned at measure m, in units, for each row (``tier``: m's tier, where known)."""

    def value(self, m: np.ndarray, basis: RowBasis, tier: np.ndarray | None = None) -> np.ndarray: ...


@dataclass
class RowLines:
    """What a component's rule earns on each of its rows, before caps and gates."""

    rows: np.ndarray  # indices into the ordered credit rows
    amount: np.ndarray  # int64 units
    tier: pa.Array | TextColumn  # label of the tier reached (null where tiers do not apply)
    rate: np.ndarray  # float rate, or NaN
    multiplier: np.ndarray  # float
    explanation: pa.Array | TextColumn
    beyond_curve: np.ndarray | None = None  # int64 units: what the curve's flat top keeps from each row


def cumulative_lines(
    function: EarningFunction,
    before: np.ndarray,
    after: np.ndarray,
    basis: RowBasis,
    factor: np.ndarray | Factors,
    tiers: tuple[np.ndarray, np.ndarray] | None = None,
    starts: RowStarts | None = None,
) -> np.ndarray:
    """f x (E(b) - E(a)) for each row, in exact units. ``tiers`` (of a and b) and ``starts``, if known, save
    finding them."""
    starts = starts if starts is not None else RowStarts(before, after, basis)
    if tiers is None:
        at_end = function.value(after, basis)
        at_start = starts.of(at_end, function.value)
    else:
        at_end = function.value(after, basis, tiers[1])
        fresh_tiers = tiers[0][starts.fresh]
        at_start = starts.of(at_end, lambda m, cells: function.value(m, cells, fresh_tiers))
    # Each E is within the limit; their difference may not be.
    return apply_factor(within_limit(at_end - at_start), factor)
