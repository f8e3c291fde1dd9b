"""Earning functions: what a credit row earns under a component's rule.

Every cumulative rule is a function E(m) of the payee's measure m (credit, or
attainment through the quota). A row moving m from a to b earns
``f x (E(b) - E(a))``, f being the row's multipliers (and its rate, where the
rate is per row). E values are snapped to exact units before the difference,
so the lines of a stream telescope exactly: their sum is E at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang import figures
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import UNIT, decimal_to_units, in_decimals, scaled, to_units, within_limit
from spmlang.engine.pay.lines import TextColumn
from spmlang.ir.kinds import MeasureBasis, RateKind, TierMode
from spmlang.ir.plan import CurveSpec, TierTable

_BIG = np.int64(2**62)


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

    def __getitem__(self, index) -> "Factors":
        return Factors(tuple(np.asarray(part)[index] for part in self.parts))


def apply_factor(delta: np.ndarray, factor: "np.ndarray | Factors") -> np.ndarray:
    """factor x delta in exact units; delta itself where the factor is exactly 1."""
    delta = np.asarray(delta, dtype=np.int64)
    parts = factor.parts if isinstance(factor, Factors) else (factor,)
    product = factor.product if isinstance(factor, Factors) else factor
    return np.where(product == 1.0, delta, scaled(delta, *parts))


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

    def value(self, m: np.ndarray, basis: RowBasis) -> np.ndarray:
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
    function,
    before: np.ndarray,
    after: np.ndarray,
    basis: RowBasis,
    factor: "np.ndarray | Factors",
    tiers: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """f x (E(b) - E(a)) for each row, in exact units. ``tiers`` (of a and b), if known, saves finding them."""
    if tiers is None:
        delta = function.value(after, basis) - function.value(before, basis)
    else:
        delta = function.value(after, basis, tiers[1]) - function.value(before, basis, tiers[0])
    return apply_factor(within_limit(delta), factor)  # each E is within the limit; their difference may not be


def describe_tiers(
    function: TierFunction,
    credit: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    tiers: tuple[np.ndarray, np.ndarray],
    quota: np.ndarray,
    amount: np.ndarray,
    multiplier: np.ndarray,
    row_rate: np.ndarray | None = None,
) -> pa.Array | TextColumn:
    """'20000.00 at 4% (0%–50%) + 20000.00 at 8% (50%–100%) = 2400.00' (credit and attainment have their own
    ledger columns; explain and statements add thousands separators). ``tiers``: the tier of each row's measure
    before and after it."""
    tier_before, tier_after = tiers
    credit = np.asarray(credit, dtype=np.int64)
    rate_labels = function.rate_labels
    if row_rate is not None:  # a per-row rate times each tier's multiplier
        shown = text.rate_percent(row_rate)
        rate_labels = [text.join(shown, f" × {label}") for label in function.rate_labels]
    if function.retroactive:
        rate = function.rates[tier_after]
        own = scaled(credit, rate)
        uplift = np.asarray(amount) - own
        reached_label = (
            text.pick(tier_after, function.rate_labels) if row_rate is None else _pick_text(tier_after, rate_labels)
        )
        body = text.join(
            text.amount(credit),
            " at ",
            reached_label,
            " (",
            text.pick(tier_after, function.labels),
            ")",
            text.when(
                uplift != 0, text.join(" = ", text.exact(own), " + uplift ", text.exact(uplift), " on earlier credit")
            ),
        )
        return text.join(body, _times(multiplier), " = ", text.exact(amount))
    # Most rows stay in one tier: their text is the row's credit, the label of its tier and multiplier (one of
    # a few: " at 8% × 1.5x (100%–150%) × 2 = "), and the exact amount, made in one join.
    tail = None  # the multipliers' text (' × 2'), made only where needed
    fixed_rates = all(isinstance(label, str) for label in rate_labels)
    middle = _at_tier_times(tier_after, rate_labels, function.labels, multiplier) if fixed_rates else None
    if middle is not None:
        described = text.join(*text.amount_then(credit, *middle), *text.exact_parts(amount))
    else:
        tail = _times(multiplier)
        if fixed_rates:
            at_tier = text.pick(
                tier_after, [f" at {label} ({function.labels[k]})" for k, label in enumerate(rate_labels)]
            )
        else:
            at_tier = text.join(
                " at ",
                _pick_text(tier_after, rate_labels),
                text.pick(tier_after, [f" ({label})" for label in function.labels]),
            )
        described = text.join(text.amount(credit), at_tier, tail, " = ", text.exact(amount))
    crossing = tier_before != tier_after
    special = np.flatnonzero(crossing | (credit == 0))
    if special.size == 0:
        return described
    # Rows that cross a boundary show every slice; a row with no credit changes nothing.
    body = text.constant("no change", special.size)
    crosses = np.flatnonzero(crossing[special])
    if crosses.size:
        rows = special[crosses]
        slices = function.slices(before[rows], after[rows], np.asarray(quota)[rows])
        parts = []
        for k in range(slices.shape[1]):
            filled = np.flatnonzero(slices[:, k])
            label = rate_labels[k] if isinstance(rate_labels[k], str) else rate_labels[k].take(pa.array(rows[filled]))
            part = text.join(text.amount(slices[filled, k]), " at ", label, f" ({function.labels[k]})")
            parts.append(text.spread(rows.size, filled, part))
        joined = text.join(*parts, separator=" + ")
        # A multiplier applies to the whole sum: (a + b) x 1.2, not a + b x 1.2.
        several = np.asarray(multiplier)[rows] != 1.0
        joined = pc.if_else(pa.array(several), text.join("(", joined, ")"), joined)
        body = text.scatter(body, crosses, joined)
    tail = tail.take(pa.array(special)) if tail is not None else _times(np.asarray(multiplier)[special])
    fixed = text.join(body, tail, " = ", text.exact(np.asarray(amount)[special]))
    # Put in place when the ledger's text is gathered (see TextColumn), not by rebuilding the column here (at
    # 10M rows, replace_with_mask cost a tenth of paying).
    position = np.arange(credit.size, dtype=np.int64)
    position[special] = credit.size + np.arange(special.size)
    return TextColumn([described, fixed], position)


def _times(multiplier: np.ndarray) -> pa.Array:
    """' × 2' where a row's multiplier is not 1; null (nothing) where it is."""
    return text.when(np.asarray(multiplier) != 1.0, text.join(" × ", text.number(multiplier)))


def _at_tier_times(
    tier: np.ndarray, rate_labels: list[str], labels: list[str], multiplier: np.ndarray
) -> tuple[np.ndarray, list[str]] | None:
    """' at {rate} ({tier}){ × multiplier} = ' for each row, as an index into its few combinations (tiers times
    the distinct multipliers, written as :func:`_times` writes them) and the combinations; None if the
    multipliers take many values."""
    distinct, which = text.few_values(np.asarray(multiplier, dtype=np.float64).reshape(-1))
    if distinct is None:
        return None
    times = ["" if m == 1.0 else " × " + ("" if m != m else figures.format_number(m)) for m in distinct.tolist()]
    options = [f" at {rate} ({labels[k]}){shown} = " for k, rate in enumerate(rate_labels) for shown in times]
    return np.asarray(tier, dtype=np.int64) * len(times) + which, options


def _pick_text(index: np.ndarray, options: list[pa.Array]) -> pa.Array:
    """Element i of options[index[i]]."""
    result = options[0]
    for k in range(1, len(options)):
        result = pc.if_else(pa.array(np.asarray(index) == k), options[k], result)
    return result


def describe_curve(
    function: CurveFunction,
    before: np.ndarray,
    after: np.ndarray,
    quota: np.ndarray,
    target: np.ndarray,
    amount: np.ndarray,
    multiplier: np.ndarray,
) -> pa.Array:
    x_before, x_after = function.x_of(before, quota), function.x_of(after, quota)
    if function.on_attainment:
        moves = text.join("attainment ", text.percent(x_before), " → ", text.percent(x_after))
    else:
        moves = text.join("credit so far ", text.amount(before), " → ", text.amount(after))
    y_before, y_after = function.y_of(x_before), function.y_of(x_after)
    if function.curve.of_target:
        pays = text.join(
            "curve pays ",
            text.rate_percent(y_before),
            " → ",
            text.rate_percent(y_after),
            " of target ",
            text.amount(target),
        )
    else:
        pays = text.join("curve pays ", text.amount(to_units(y_before)), " → ", text.amount(to_units(y_after)))
    tail = text.when(np.asarray(multiplier) != 1.0, text.join(" × ", text.number(multiplier)))
    return text.join(moves, ": ", pays, tail, " = ", text.exact(amount))


def describe_row_curve(credit: np.ndarray, pays: np.ndarray, amount: np.ndarray, multiplier: np.ndarray) -> pa.Array:
    """'row credit 25000.00: curve pays 1250.00 × 1.5 = 1875.00': a curve of each row's own credit, which
    pays ``pays`` (units) for it."""
    tail = text.when(np.asarray(multiplier) != 1.0, text.join(" × ", text.number(multiplier)))
    return text.join(
        "row credit ", text.amount(credit), ": curve pays ", text.amount(pays), tail, " = ", text.exact(amount)
    )
