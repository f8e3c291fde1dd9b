"""Checking what a component pays along a measure: tier tables (and accelerators, tiers of a multiplier) and
payout curves, each on a basis (attainment, accumulated credit, or each row's credit)."""

from __future__ import annotations

import re
from decimal import Decimal

from spmlang import figures
from spmlang.check.amounts import constant_amount
from spmlang.check.context import CheckContext
from spmlang.check.expressions import Scope
from spmlang.check.words import BASIS, BASIS_TEXT, CURVE_EXTENDS, ROW_WORDS
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import MeasureBasis, RateKind, TierMode
from spmlang.ir.plan import CurveSpec, Tier, TierTable
from spmlang.syntax import ast

MAX_TIERS = 1_000
# What an accelerator may be on: a measure that accumulates (not each row's own credit).
_ACCUMULATED = (MeasureBasis.ATTAINMENT, MeasureBasis.CREDIT)


class TierChecker:
    """Checks tier tables and curves of a plan whose credit is ``credit_type``; a tier's rate is checked in
    ``row_scope`` (what a component's rows see)."""

    def __init__(self, checker: CheckContext, credit_type: Type, row_scope: Scope):
        self.c = checker
        self.money_credit = credit_type is Type.MONEY
        self.row_scope = row_scope

    # ------------------------------------------------------------ bases and bounds
    def basis(self, words: tuple[ast.Name, ...], allowed: tuple[MeasureBasis, ...], what: str) -> MeasureBasis | None:
        """The basis ``words`` name, if ``what`` (tiers, an accelerator, a curve) may be on it."""
        key = tuple(w.text for w in words)
        basis = BASIS.get(key)
        if basis in allowed:
            return basis
        span = Span(
            words[0].span.path,
            words[0].span.line,
            words[0].span.column,
            words[-1].span.end_line,
            words[-1].span.end_column,
        )
        shown = " or ".join(f"`on {BASIS_TEXT[a]}`" for a in allowed)
        # Row credit is a basis, but not one an accumulated table can have: never suggest another meaning.
        if basis is MeasureBasis.ROW:
            self.c.error(
                "E206",
                f"{what} cannot be on row credit",
                span,
                f"an accelerator grows the rate with the accumulated measure: write {shown}; for rates by "
                "each row's own size, write `tiers marginal on row credit { ... }`",
            )
            return None
        suggestion = _basis_suggestion(key)
        hint = f"did you mean '{BASIS_TEXT[suggestion]}'? " if suggestion in allowed else ""
        self.c.error("E206", f"cannot measure on '{' '.join(key)}' here", span, f"{hint}write {shown}")
        return None

    def _bound_kind(self, basis: MeasureBasis) -> str:
        if basis is MeasureBasis.ATTAINMENT:
            return "percent"
        return "money" if self.money_credit else "number"

    def _check_bound(self, bound: ast.Bound, basis: MeasureBasis) -> bool:
        if too_large(bound.value):
            self.c.error("E312", f"{bound.text} is too large to hold", bound.span, too_large_hint())
            return False
        kind = self._bound_kind(basis)
        if bound.kind != kind:
            example = {"percent": "50%", "money": "$10,000", "number": "10"}[kind]
            what = "attainment" if basis is MeasureBasis.ATTAINMENT else "credit"
            self.c.error(
                "E301", f"{bound.text} is {bound.kind}, but {what} bounds are {kind}: write e.g. {example}", bound.span
            )
            return False
        return True

    # ------------------------------------------------------------ tier tables
    def tier_table(
        self, rows: tuple[ast.TierRow, ...], basis_words, mode: TierMode, span: Span, accelerator: bool
    ) -> TierTable | None:
        c = self.c
        allowed = _ACCUMULATED if accelerator else tuple(MeasureBasis)
        basis = self.basis(basis_words, allowed, "an accelerator" if accelerator else "tiers")
        if basis is None:
            return None
        if not rows:
            c.error("E406", "the tier table is empty", span)
            return None
        if len(rows) > MAX_TIERS:
            c.error(
                "E410",
                f"the tier table has {len(rows):,} tiers; a table holds at most {MAX_TIERS:,}",
                span,
                "a comp plan has a handful of tiers; a schedule this long belongs in a lookup table",
            )
            return None
        rate_kind = RateKind.MULTIPLIER if accelerator else (RateKind.RATE if self.money_credit else RateKind.MONEY)
        tiers, ok = [], True
        for i, row in enumerate(rows):
            ok = self._check_bound(row.low, basis) and ok
            if row.high is not None:
                ok = self._check_bound(row.high, basis) and ok
            value = self._tier_value(row, rate_kind)
            if value is None:
                ok = False
                continue
            ok = self._tier_bounds_fit(rows, i) and ok
            if ok:
                label = f"{row.low.text}–{row.high.text}" if row.high is not None else f"{row.low.text}+"
                tiers.append(Tier(row.low.value, row.high.value if row.high else None, value, label, row.span))
        if ok and rows[-1].high is not None:
            c.error(
                "E406",
                f"the last tier ends at {rows[-1].high.text}: what is paid above it?",
                rows[-1].span,
                f"make it open-ended ({rows[-1].low.text} ..) and use a cap to limit pay",
            )
            ok = False
        return TierTable(mode, basis, tuple(tiers), rate_kind, span) if ok else None

    def _tier_bounds_fit(self, rows: tuple[ast.TierRow, ...], i: int) -> bool:
        """Whether tier ``i`` is a range, and starts where the one before it ends (the first at 0)."""
        c, row = self.c, rows[i]
        ok = True
        if row.high is not None and row.high.value <= row.low.value:
            c.error(
                "E406",
                f"tier {row.low.text} .. {row.high.text} is empty or backwards",
                row.span,
                "write the lower bound first",
            )
            ok = False
        if i == 0 and row.low.value != 0:
            c.error(
                "E406",
                f"the first tier starts at {row.low.text}, not at 0",
                row.low.span,
                "tiers cover everything from 0 up: start the first at 0 (a threshold is a tier at rate 0%)",
            )
            ok = False
        return self._tier_follows(rows[i - 1], row) and ok if i > 0 else ok

    def _tier_follows(self, previous: ast.TierRow, row: ast.TierRow) -> bool:
        """Whether ``row`` starts where ``previous`` ends: no gap, no overlap."""
        c = self.c
        if previous.high is None:
            c.error(
                "E406",
                "only the last tier can be open-ended",
                previous.span,
                f"give it an upper bound: {previous.low.text} .. {row.low.text}",
            )
            return False
        if previous.high.value < row.low.value:
            c.error(
                "E406",
                f"gap between tiers: nothing covers {previous.high.text} to {row.low.text}",
                row.low.span,
                f"start this tier at {previous.high.text}",
                notes=((previous.span, "the tier before"),),
            )
            return False
        if previous.high.value > row.low.value:
            c.error(
                "E406",
                f"tiers overlap: {row.low.text} is below the previous tier's end {previous.high.text}",
                row.low.span,
                f"start this tier at {previous.high.text}",
                notes=((previous.span, "the tier before"),),
            )
            return False
        return True

    def _tier_value(self, row: ast.TierRow, rate_kind: RateKind) -> Decimal | None:
        c = self.c
        if rate_kind is RateKind.MULTIPLIER:
            if row.multiplier is None or not isinstance(row.multiplier.value, Decimal):
                c.error("E301", "an accelerator tier gives a multiplier of the component's rate, e.g. 1.5x", row.span)
                return None
            return row.multiplier.value
        if row.rate is None:
            c.error(
                "E301",
                "a tier pays a rate: write `rate 8%`",
                row.span,
                "multipliers such as 1.5x belong in an `accelerator` table",
            )
            return None
        rate = c.exprs.check(row.rate, self.row_scope, None)
        if rate is None:
            return None
        expected = (Type.PERCENT, Type.NUMBER) if rate_kind is RateKind.RATE else (Type.MONEY,)
        value = constant_value(rate)
        if rate.type not in expected or value is None:
            example = "8%" if rate_kind is RateKind.RATE else "$50"
            c.error(
                "E301",
                f"a tier rate is a fixed {' or '.join(map(str, expected))}, e.g. `rate {example}`",
                row.rate.span,
            )
            return None
        if value < 0:
            c.error("E406", "a tier rate cannot be negative", row.rate.span)
            return None
        return value

    # ------------------------------------------------------------ curves
    def curve(self, block: ast.CurveBlock) -> CurveSpec | None:
        c = self.c
        basis = self.basis(block.basis, tuple(MeasureBasis), "a curve")
        if basis is None:
            return None
        if len(block.points) > MAX_TIERS:
            c.error(
                "E410", f"the curve has {len(block.points):,} points; a curve holds at most {MAX_TIERS:,}", block.span
            )
            return None
        if len(block.points) < 2:
            c.error(
                "E407",
                "a payout curve needs at least two points",
                block.span,
                "e.g. 50% -> 25% of target, 100% -> 100% of target",
            )
            return None
        of_target = block.points[0].y.of_target
        if basis is MeasureBasis.ROW and of_target:
            c.error(
                "E407",
                "a curve on row credit pays an amount of money for each row, not % of target",
                block.points[0].y.span,
                "write money, e.g. $10,000 -> $500; a share of the target incentive "
                "is paid by a curve on attainment or on credit",
            )
            return None
        points = self._curve_points(block.points, basis, of_target)
        extends = self._curve_extends(block.extends)
        if points is None or extends is None:
            return None
        xs, ys = points
        if basis is not MeasureBasis.ROW and not self._pays_nothing_at_zero(block, xs, ys, "below" in extends):
            return None
        return CurveSpec(basis, xs, ys, of_target, "below" in extends, "above" in extends, block.span)

    def _pays_nothing_at_zero(
        self, block: ast.CurveBlock, xs: tuple[Decimal, ...], ys: tuple[Decimal, ...], extend_below: bool
    ) -> bool:
        """A cumulative curve's lines pay what it adds as the measure grows from zero: what it would pay at zero
        could never be paid, so every such line would be off by it. It must be nothing."""
        if xs[0] > 0 and not extend_below:
            return True  # below its first point a curve pays nothing
        slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
        at_zero = ys[0] - xs[0] * slope if extend_below or xs[0] < 0 else ys[0]
        if at_zero == 0:
            return True
        of_target = block.points[0].y.of_target
        on_attainment = block.points[0].x.text.endswith("%")

        def x_text(x: Decimal) -> str:
            return figures.format_percent(x) if on_attainment else figures.format_money(x)

        def y_text(y: Decimal) -> str:
            return f"{figures.format_percent(y)} of target" if of_target else figures.format_money(y)

        where = "extended below its first point, " if extend_below else ""
        zero = x_text(Decimal(0))
        crossing = xs[0] - ys[0] / slope if slope else None
        if extend_below and crossing is not None and 0 < crossing < xs[0]:
            hint = (
                f"to pay along that slope from where it pays nothing, give that point ({x_text(crossing)} -> "
                f"{y_text(Decimal(0))}) and drop `extend below`: below its first point a curve pays nothing"
            )
        elif extend_below:
            hint = "drop `extend below`: below its first point a curve then pays nothing"
        else:
            hint = f"start the curve at nothing ({zero} -> {y_text(Decimal(0))}); a guaranteed amount is a draw"
        self.c.error(
            "E407",
            f"{where}this curve pays {y_text(at_zero)} at {zero}, but its lines pay what it adds from there: a "
            f"payee would be paid {y_text(abs(at_zero))} {'less' if at_zero > 0 else 'more'} than it says",
            next(w.span for w in block.extends if w.text == "below") if extend_below else block.points[0].span,
            hint,
        )
        return False

    def _curve_points(
        self, points: tuple[ast.CurvePoint, ...], basis: MeasureBasis, of_target: bool
    ) -> tuple[tuple[Decimal, ...], tuple[Decimal, ...]] | None:
        """The points' xs and ys, if each is fine: increasing xs, every y the same kind of payout."""
        c = self.c
        xs, ys, ok = [], [], True
        for i, point in enumerate(points):
            ok = self._check_bound(point.x, basis) and ok
            if point.y.of_target != of_target:
                c.error(
                    "E407",
                    "mix of money and % of target in one curve",
                    point.y.span,
                    "give every point the same kind of payout",
                )
                ok = False
                continue
            y = constant_amount(c, self.row_scope, point.y, "a curve point")
            if y is None:
                ok = False
                continue
            if i > 0 and point.x.value <= points[i - 1].x.value:
                c.error(
                    "E407",
                    f"curve points must increase: {point.x.text} comes after {points[i - 1].x.text}",
                    point.x.span,
                    notes=((points[i - 1].span, "the point before"),),
                )
                ok = False
            xs.append(point.x.value)
            ys.append(y)
        return (tuple(xs), tuple(ys)) if ok else None

    def _curve_extends(self, words: tuple[ast.Name, ...]) -> set[str] | None:
        """Which ends the curve extends past its points (``extend below, above``)."""
        extends, ok = set(), True
        for word in words:
            if word.text in CURVE_EXTENDS:
                extends.add(word.text)
                continue
            self.c.error(
                "E206",
                f"a curve extends 'above' or 'below', not '{word.text}'",
                word.span,
                did_you_mean(word.text, CURVE_EXTENDS),
            )
            ok = False
        return extends if ok else None


def _basis_suggestion(key: tuple[str, ...]) -> MeasureBasis | None:
    """The basis ``key`` misspells, word by word (`row credt`, `atainment`, `deal credit`), if any. A basis of
    another number of words is never suggested: `total credit` is not a misspelt `credit`, nor `row credit`."""
    joined = "".join(key).replace("_", "").replace("-", "").lower()
    for basis, text in BASIS_TEXT.items():  # `row_credit`, `rowcredit`: one word for two
        if joined == text.replace(" ", ""):
            return basis
    key = tuple(word for written in key for word in re.split(r"[_-]", written) if word)
    for basis, text in BASIS_TEXT.items():
        words = text.split()
        if len(words) != len(key):
            continue
        if all(
            word == want or (word in ROW_WORDS if want == "row" else did_you_mean(word, (want,)))
            for word, want in zip(key, words, strict=True)
        ):
            return basis
    return None
