"""A component compiled: its earning rule, ready to run over the ordered credit rows of a batch.

Given the component's values per row (:mod:`spmlang.engine.credit.row_values`), :class:`CompiledComponent`
computes its row lines, the true-ups at period boundaries where the quota basis grows, and the once-per-payee
bonus of a ``pay ... once when`` rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa

from spmlang import figures
from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.row_values import RowValues
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, decimal_to_units, ensure_sums_fit, scaled, to_units, within_limit
from spmlang.engine.pay.curves import CurveFunction
from spmlang.engine.pay.descriptions import (
    describe_curve,
    describe_per_row,
    describe_rate,
    describe_row_curve,
    describe_tiers,
)
from spmlang.engine.pay.earnings import Factors, RowBasis, RowLines, RowStarts, apply_factor, cumulative_lines
from spmlang.engine.pay.lines import TextColumn
from spmlang.engine.pay.streams import Streams
from spmlang.engine.pay.tiers import TierFunction
from spmlang.ir.constants import constant_value
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import MeasureBasis, Role
from spmlang.ir.plan import (
    ComponentSpec,
    CurveRule,
    PayOnceRule,
    PayPerRowRule,
    RateRule,
    TierRule,
)


@dataclass
class PeriodLines:
    """Lines at a period boundary: true-ups (start) or bonuses (end), one per stream and period."""

    stream: np.ndarray
    period: np.ndarray
    amount: np.ndarray
    explanation: pa.Array

    @staticmethod
    def empty() -> PeriodLines:
        return PeriodLines(
            np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int64), pa.array([], pa.string())
        )


def _row_basis(basis: Basis, payee: np.ndarray, period) -> RowBasis:
    """Each row's cell in the (payee, period) basis tables."""
    periods = basis.quota.shape[1]
    return RowBasis(payee.astype(np.int64) * periods + period, basis.quota_cells, basis.target_cells)


class CompiledComponent:
    """A component's earning rule, ready to run over ordered credit rows."""

    def __init__(self, spec: ComponentSpec, credit_type: Type):
        self.spec = spec
        self.counted = credit_type is not Type.MONEY
        rule = spec.rule
        self.function: TierFunction | CurveFunction | None = None  # the rule's E(m), if it accumulates
        self.fixed_rate: float | None = None
        if isinstance(rule, RateRule):
            fixed = constant_value(rule.rate)
            if fixed is not None:
                self.fixed_rate = float(fixed)
            if rule.accelerator is not None:
                # A fixed rate folds into the tiers (rate x multiplier per tier); a per-row rate
                # stays a factor of each row.
                scale = fixed if fixed is not None else Decimal(1)
                self.function = TierFunction(rule.accelerator, scale, rule.rate_text if fixed is not None else None)
        elif isinstance(rule, TierRule):
            self.function = TierFunction(rule.table)
        elif isinstance(rule, CurveRule):
            self.function = CurveFunction(rule.curve)
        # Each version's rule compiled, in date order (the first is this one): a row is paid under the version
        # in force on its date (RowValues.version).
        self.versions: tuple[CompiledComponent, ...] = (self,) + tuple(
            CompiledComponent(version, credit_type) for version in spec.in_versions()[1:]
        )

    @property
    def explained_by_templates(self) -> bool:
        """Whether its row lines are explained by a few sentences with the line's credit or fixed amount and its
        exact amount in them (kept as templates: see describe_rate, describe_tiers, describe_per_row), or by text
        of their own (a curve's, a retroactive tier's uplift, a rate on counted credit)."""
        if isinstance(self.function, CurveFunction):
            return False
        if isinstance(self.function, TierFunction):
            return not self.function.retroactive
        return not (isinstance(self.spec.rule, RateRule) and self.counted)  # '3 credit × 250.00': text

    def version_note(self, version: int) -> str:
        """What a line of ``version`` adds to its explanation: nothing for the first (so that a plan without
        versions explains as it always did), the version's date for the others."""
        return "" if version == 0 else f" (rates from {self.spec.versions[version - 1].start.isoformat()})"

    def segment(self, version: int) -> str | None:
        """Which rates a true-up of ``version`` re-prices the credit of (None: the component has no versions)."""
        if not self.spec.versions:
            return None
        if version == 0:
            return f"at the rates before {self.spec.versions[0].start.isoformat()}"
        return f"at the rates from {self.spec.versions[version - 1].start.isoformat()}"

    @property
    def on_row_credit(self) -> bool:
        """Whether the rule's measure is each row's own credit (tiers or a curve `on row credit`): it earns
        E(row credit), from the row alone."""
        rule = self.spec.rule
        return (isinstance(rule, TierRule) and rule.table.basis is MeasureBasis.ROW) or (
            isinstance(rule, CurveRule) and rule.curve.basis is MeasureBasis.ROW
        )

    @property
    def per_row_tiers(self) -> bool:
        return self.on_row_credit and isinstance(self.function, TierFunction)

    @property
    def cumulative(self) -> bool:
        return self.function is not None and not self.on_row_credit

    def trues_up(self, basis_varies: bool, year_to_date: bool) -> bool:
        """Whether earlier credit is re-priced at each period start: a cumulative rule read on attainment, whose
        quota basis grows period by period (quota to date), over a measure that runs through the year."""
        function = self.function
        return (
            function is not None
            and not self.on_row_credit
            and function.depends_on_basis
            and basis_varies
            and year_to_date
        )

    def _factor(self, values: RowValues, index: np.ndarray) -> Factors:
        if isinstance(self.spec.rule, RateRule) and self.fixed_rate is None:
            return Factors((values.multiplier[index], values.rates()[index]))
        return Factors((values.multiplier[index],))

    # ------------------------------------------------------------------ row lines
    def row_lines(self, values: RowValues, rows: CreditRows, streams: Streams, basis: Basis) -> RowLines:
        index = np.flatnonzero(values.selected)
        credit = rows.credit[index]
        multiplier = values.multiplier[index]
        rule = self.spec.rule
        n = index.size
        no_tier = TextColumn.labels(np.full(n, -1), [])
        if isinstance(rule, PayOnceRule):
            empty = np.zeros(0, np.int64)
            return RowLines(
                empty, empty, pa.array([], pa.string()), np.zeros(0), np.zeros(0), pa.array([], pa.string())
            )
        if isinstance(rule, PayPerRowRule):
            pay = values.payments()[index]
            amount = apply_factor(pay, multiplier)
            explanation: pa.Array | TextColumn = describe_per_row(pay, rule.unit, multiplier, amount)
            return RowLines(index, amount, no_tier, np.full(n, np.nan), multiplier, explanation)
        if isinstance(rule, RateRule) and rule.accelerator is None:
            rate = values.rates()[index]
            amount = scaled(credit, rate, multiplier)
            if not self.counted:
                explanation = describe_rate(credit, rate, multiplier, amount)
                return RowLines(index, amount, no_tier, rate, multiplier, explanation)
            explanation = text.join(  # so much a unit counted: '3 credit × 250.00 = 750.00'
                text.number(credit / UNIT),
                " credit × ",
                text.amount(to_units(rate * UNIT)),
                text.when(multiplier != 1.0, text.join(" × ", text.number(multiplier))),
                " = ",
                text.exact(amount),
            )
            return RowLines(index, amount, no_tier, rate, multiplier, explanation)
        payee, period = rows.payee[index], rows.period[index]
        row_basis = _row_basis(basis, payee, period)
        quota, target = row_basis.quota, row_basis.target
        factor = self._factor(values, index)
        function = self.function
        assert function is not None  # tiers, a curve or an accelerator: the other rules were paid above
        if self.on_row_credit and isinstance(function, TierFunction):
            zero = np.zeros(n, np.int64)
            tier = function.locate(credit, row_basis)
            amount = apply_factor(function.value(credit, row_basis, tier), factor)
            explanation = describe_tiers(function, credit, zero, credit, (zero, tier), quota, amount, factor.product)
            return RowLines(
                index,
                amount,
                TextColumn.labels(tier, function.labels),
                function.rates[tier],
                factor.product,
                explanation,
            )
        if self.on_row_credit and isinstance(function, CurveFunction):  # a curve of each row's own credit
            pays = function.value(credit, row_basis)
            amount = apply_factor(pays, factor)
            if function.curve.extend_above:
                shown_factor = factor.product
                return RowLines(
                    index,
                    amount,
                    no_tier,
                    np.full(n, np.nan),
                    shown_factor,
                    describe_row_curve(credit, pays, amount, shown_factor),
                )
            # Flat above its last point, as a cumulative curve is: the line shows what the last slope extended
            # pays, and a cap line the cut (see spmlang.engine.batch._curve_top).
            extended_pays = function.extended().value(credit, row_basis)
            shown = apply_factor(extended_pays, factor)
            explanation = describe_row_curve(credit, extended_pays, shown, factor.product)
            return RowLines(index, amount, no_tier, np.full(n, np.nan), factor.product, explanation, shown - amount)
        before, after = streams.m_before[index], streams.m_after[index]
        if isinstance(function, TierFunction):
            tier_after = function.locate(after, row_basis)
            starts = RowStarts(before, after, row_basis)
            tiers = (starts.of(tier_after, function.locate), tier_after)
            amount = cumulative_lines(function, before, after, row_basis, factor, tiers, starts)
            tier = tiers[1]
            # With a per-row rate (rate rates[product]) the tiers hold multipliers of that rate.
            row_rate = values.rates()[index] if isinstance(rule, RateRule) and self.fixed_rate is None else None
            rate = function.rates[tier] * (row_rate if row_rate is not None else 1)
            explanation = describe_tiers(
                function, credit, before, after, tiers, quota, amount, multiplier, row_rate=row_rate
            )
            return RowLines(index, amount, TextColumn.labels(tier, function.labels), rate, multiplier, explanation)
        amount = cumulative_lines(function, before, after, row_basis, factor)
        if function.curve.extend_above:
            explanation = describe_curve(function, before, after, quota, target, amount, factor.product)
            return RowLines(index, amount, no_tier, np.full(n, np.nan), factor.product, explanation)
        # Above its last point a curve is flat: a cap. A line past it shows what the extended last
        # slope pays, and a cap line the cut (see spmlang.engine.batch._curve_top); the two add up to `amount`.
        extended = function.extended()
        shown = cumulative_lines(extended, before, after, row_basis, factor)
        explanation = describe_curve(extended, before, after, quota, target, shown, factor.product)
        return RowLines(index, amount, no_tier, np.full(n, np.nan), factor.product, explanation, shown - amount)

    # ------------------------------------------------------------------ true-ups
    def true_ups(
        self,
        values: RowValues,
        lines: RowLines,
        rows: CreditRows,
        streams: Streams,
        basis: Basis,
        segment: str | None = None,
    ) -> PeriodLines:
        """Re-price earlier credit when the basis grows at a period boundary (quota to date).

        true_up(p) = earnings of all rows before p, evaluated on p's basis
                     - what the rows and true-ups before p earned.

        ``segment``: for one version of a component with dated versions (``lines`` are its rows'), which rates
        it is ("at the rates from 2027-07-01"): the explanation says how much of the credit so far it re-prices.
        """
        function = self.function
        if function is None or not self.trues_up(basis.varies, streams.ytd) or lines.rows.size == 0:
            return PeriodLines.empty()
        index = lines.rows
        periods = basis.quota.shape[1]
        stream_of, period_of = streams.row_stream[index], rows.period[index]
        before, after, payee = streams.m_before[index], streams.m_after[index], rows.payee[index]
        earned = np.zeros((streams.count, periods), dtype=np.int64)
        cells = grouping.starts_from_keys(stream_of, period_of)
        ensure_sums_fit(lines.amount, grouping.starts_from_keys(stream_of))  # the year's, so each period's too
        earned[stream_of[cells], period_of[cells]] = grouping.sums(lines.amount, cells)
        true_up = np.zeros_like(earned)
        repriced = np.zeros_like(earned)
        so_far = np.zeros(streams.count, dtype=np.int64)
        factor = self._factor(values, index)
        # Re-pricing a run of rows whose measure runs on (each row starts where the last one ended) telescopes:
        # the sum of E(after) - E(before) over the run is E(its end) - E(its start). Only rows with a factor
        # other than 1 need their own E, for what the factor adds. Exact: E is one integer per measure.
        run_start = grouping.starts_from_keys(stream_of)
        run_start[1:] |= after[:-1] != before[1:]
        scaled = factor.product != 1.0

        def value(m: np.ndarray, at: np.ndarray, p: int) -> np.ndarray:
            return function.value(m[at], _row_basis(basis, payee[at], p))

        for p in range(1, periods):
            so_far += earned[:, p - 1] + true_up[:, p - 1]
            earlier = period_of < p  # a prefix of each stream's rows (they are in date order)
            if not np.any(earlier):
                continue
            starts = np.flatnonzero(earlier & run_start)
            ends = np.flatnonzero(earlier & ~np.append(earlier[1:] & ~run_start[1:], False))
            runs = within_limit(value(after, ends, p) - value(before, starts, p))
            ensure_sums_fit(runs, grouping.starts_from_keys(stream_of[starts]))
            repriced_p = np.zeros(streams.count, dtype=np.int64)
            np.add.at(repriced_p, stream_of[starts], runs)
            own = np.flatnonzero(earlier & scaled)
            if own.size:
                delta = value(after, own, p) - value(before, own, p)
                np.add.at(repriced_p, stream_of[own], apply_factor(delta, factor[own]) - delta)
            touched = np.unique(stream_of[starts])
            repriced[touched, p] = repriced_p[touched]
            true_up[touched, p] = repriced[touched, p] - so_far[touched]
        stream, period = np.nonzero(true_up)
        amount = true_up[stream, period]
        payee = streams.payee[stream]
        measure = streams.measure_at_end()[stream, period - 1]
        of_it: pa.Array | str = ""
        if segment is not None:  # the credit of this version's rows before the period: what it re-prices
            credit = np.zeros((streams.count, periods), dtype=np.int64)
            np.add.at(credit, (stream_of, period_of), rows.credit[index])
            before_p = np.cumsum(credit, axis=1)[stream, period - 1]
            of_it = text.join(", ", text.amount(before_p), f" of it {segment},")
        explanation = text.join(
            "quota to date rises to ",
            text.amount(basis.quota[payee, period]),
            ": credit so far ",
            text.amount(measure),
            of_it,
            " re-priced from ",
            text.exact(repriced[stream, period] - amount),
            " to ",
            text.exact(repriced[stream, period]),
        )
        return PeriodLines(stream.astype(np.int64), period.astype(np.int16), amount, explanation)

    # ------------------------------------------------------------------ bonuses
    def bonuses(
        self, streams: Streams, basis: Basis, condition_met: np.ndarray, period_ends: list, labels: list[str]
    ) -> PeriodLines:
        """A once-per-payee bonus: paid at the end of the first period whose condition holds (and ends by
        its date)."""
        rule = self.spec.rule
        assert isinstance(rule, PayOnceRule)  # only a bonus pays at period ends
        role = 1 if self.spec.role is Role.ROLLUP else 0
        met = condition_met & (streams.role == role)[:, None]
        if rule.by is not None:
            met &= np.array([end <= rule.by for end in period_ends])[None, :]
        first = np.argmax(met, axis=1)
        paid = met[np.arange(streams.count), first]
        stream = np.flatnonzero(paid)
        period = first[stream].astype(np.int16)
        payee = streams.payee[stream]
        if rule.of_target:
            amount = scaled(basis.target_annual[payee], float(rule.amount))
            what = text.join(
                figures.format_percent(rule.amount), " of target ", text.amount(basis.target_annual[payee])
            )
        else:
            amount = np.full(stream.size, decimal_to_units(rule.amount), dtype=np.int64)
            what = text.constant(figures.format_money(rule.amount), stream.size)
        explanation = text.join(
            "bonus ", what, ": ", rule.condition_text, " met at the end of ", text.pick(period, labels)
        )
        return PeriodLines(stream.astype(np.int64), period, amount, explanation)
