"""The ledger's text of what a row earned under tiers or a curve: '20000.00 at 4% (0%–50%) + 20000.00 at 8%
(50%–100%) = 2400.00'. Made column-wise: most rows share a few texts, joined once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang import figures
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import scaled, to_units
from spmlang.engine.kernels.templates import Templated
from spmlang.engine.pay.curves import CurveFunction
from spmlang.engine.pay.lines import TextColumn
from spmlang.engine.pay.tiers import TierFunction


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
    # Most rows stay in one tier: their text is the row's credit, one of a few middles (" at 8% × 1.5x
    # (100%–150%) × 2 = ": the tier, its rate, the multipliers) and the exact amount, kept as templates.
    middle = (
        None if function.retroactive else _at_tier_times(tier_after, rate_labels, function.labels, multiplier, row_rate)
    )

    def row_labels_of(rows: np.ndarray | slice) -> list[pa.Array]:
        """With a per-row rate: each tier's label for ``rows``, the row's rate times the tier's multiplier."""
        assert row_rate is not None
        shown = text.rate_percent(np.asarray(row_rate)[rows])
        return [text.join(shown, f" × {label}") for label in function.rate_labels]

    row_labels = row_labels_of(slice(None)) if row_rate is not None and middle is None else None
    if function.retroactive:
        # E(m) is the rate reached times m: the row's own credit at that rate, plus the uplift of the earlier
        # credit to it; their sum times the row's multipliers is its line (as spm explain slices it).
        per_row = () if row_rate is None else (np.asarray(row_rate),)
        rate = function.rates[tier_after]
        own = scaled(credit, rate, *per_row)
        uplift = scaled(after, rate, *per_row) - scaled(before, function.rates[tier_before], *per_row) - own
        multiplied = np.asarray(multiplier) != 1.0
        reached_label = text.pick(tier_after, rate_labels) if row_labels is None else _pick_text(tier_after, row_labels)
        body = text.join(
            text.amount(credit),
            " at ",
            reached_label,
            " (",
            text.pick(tier_after, function.labels),
            ")",
            text.when(uplift == 0, _times(multiplier)),
            text.when(
                uplift != 0,
                text.join(
                    text.when(multiplied, " = ("),
                    text.when(~multiplied, " = "),
                    text.exact(own),
                    " + uplift ",
                    text.exact(uplift),
                    " on earlier credit",
                    text.when(multiplied, text.join(")", _times(multiplier))),
                ),
            ),
        )
        return text.join(body, " = ", text.exact(amount))
    tail = None  # the multipliers' text (' × 2'), made only where needed
    described: pa.Array | Templated
    if middle is not None:  # kept as the numbers and which middle: sentences or, in a ledger, templates
        described = Templated(credit, middle[0], middle[1], amount)
    else:
        tail = _times(multiplier)
        if row_labels is None:
            at_tier = text.pick(
                tier_after, [f" at {label} ({function.labels[k]})" for k, label in enumerate(rate_labels)]
            )
        else:
            at_tier = text.join(
                " at ",
                _pick_text(tier_after, row_labels),
                text.pick(tier_after, [f" ({label})" for label in function.labels]),
            )
        described = text.join(text.amount(credit), at_tier, tail, " = ", text.exact(amount))
    crossing = tier_before != tier_after
    special = np.flatnonzero(crossing | (credit == 0))
    if special.size == 0:
        return TextColumn([described]) if isinstance(described, Templated) else described
    # Rows that cross a boundary show every slice; a row with no credit changes nothing.
    body = text.constant("no change", special.size)
    crosses = np.flatnonzero(crossing[special])
    if crosses.size:
        rows = special[crosses]
        slices = function.slices(before[rows], after[rows], np.asarray(quota)[rows])
        parts = []
        for k in range(slices.shape[1]):
            filled = np.flatnonzero(slices[:, k])
            label = rate_labels[k] if row_rate is None else row_labels_of(rows[filled])[k]
            part = text.join(text.amount(slices[filled, k]), " at ", label, f" ({function.labels[k]})")
            parts.append(text.spread(rows.size, filled, part))
        joined = text.join(*parts, separator=" + ")
        # A multiplier applies to the whole sum: (a + b) x 1.2, not a + b x 1.2.
        several = np.asarray(multiplier)[rows] != 1.0
        joined = pc.if_else(pa.array(several), text.join("(", joined, ")"), joined)
        body = text.scatter(body, crosses, joined)
    tail = tail.take(special) if tail is not None else _times(np.asarray(multiplier)[special])
    fixed = text.join(body, tail, " = ", text.exact(np.asarray(amount)[special]))
    # Put in place when the ledger's text is gathered (see TextColumn), not by rebuilding the column here
    # (replace_with_mask over every line cost a good part of paying).
    position = np.arange(credit.size, dtype=np.int64)
    position[special] = credit.size + np.arange(special.size)
    return TextColumn([described, fixed], position)


def describe_rate(credit: np.ndarray, rate: np.ndarray, multiplier: np.ndarray, amount: np.ndarray) -> TextColumn:
    """'3000.00 × 16.6667% × 1.2 = 600.00': a flat rate (no tiers) on each row's credit. Kept as templates
    (the credit, one of a few middles, the exact amount) where rates and multipliers take few values."""
    rates = text.few_values(np.asarray(rate, dtype=np.float64).reshape(-1))
    times = text.few_values(np.asarray(multiplier, dtype=np.float64).reshape(-1))
    if text.is_unwritten() or rates is None or times is None or rates[0].size * times[0].size > _FEW_MIDDLES:
        return TextColumn(
            [
                text.join(
                    text.amount(credit),
                    " × ",
                    text.rate_percent(rate),
                    text.when(multiplier != 1.0, text.join(" × ", text.number(multiplier))),
                    " = ",
                    text.exact(amount),
                )
            ]
        )
    # Each distinct rate written by the function that writes a whole column: the same text.
    rate_text = text.rate_percent(rates[0]).to_pylist()
    shown = _times_of(times[0])
    middles = [f" × {r}{t} = " for r in rate_text for t in shown]
    which = rates[1] * len(shown) + times[1]
    return TextColumn([Templated(credit, which, middles, amount)])


def describe_per_row(pay: np.ndarray, unit: str, multiplier: np.ndarray, amount: np.ndarray) -> TextColumn:
    """'500.00 per deal × 2 = 1000.00': a fixed amount per row. Kept as templates (one of a few middles, the
    exact amount) where the amounts and multipliers take few values."""
    pay = np.asarray(pay, dtype=np.int64)
    exactly = pay.size == 0 or int(np.abs(pay).max()) < 2**53  # each amount held exactly as a float below
    pays = text.few_values(pay.astype(np.float64)) if exactly else None
    times = text.few_values(np.asarray(multiplier, dtype=np.float64).reshape(-1))
    if text.is_unwritten() or pays is None or times is None or pays[0].size * times[0].size > _FEW_MIDDLES:
        return TextColumn(
            [
                text.join(
                    text.amount(pay),
                    f" per {unit}",
                    text.when(multiplier != 1.0, text.join(" × ", text.number(multiplier))),
                    " = ",
                    text.exact(amount),
                )
            ]
        )
    # Each distinct amount written by the function that writes a whole column: the same text.
    pay_text = text.amount(pays[0].astype(np.int64)).to_pylist()
    shown = _times_of(times[0])
    middles = [f"{p} per {unit}{t} = " for p in pay_text for t in shown]
    which = pays[1] * len(shown) + times[1]
    return TextColumn([Templated(np.zeros(pay.size, np.int64), which, middles, amount, says_credit=False)])


_FEW_MIDDLES = 4096  # the middles of a column's templates, at most


def _times_of(distinct: np.ndarray) -> list[str]:
    """' × 2' for each of a few distinct multipliers, as :func:`_times` writes it; '' for 1."""
    return ["" if m == 1.0 else " × " + ("" if m != m else figures.format_number(m)) for m in distinct.tolist()]


def _times(multiplier: np.ndarray) -> pa.Array:
    """' × 2' where a row's multiplier is not 1; null (nothing) where it is."""
    return text.when(np.asarray(multiplier) != 1.0, text.join(" × ", text.number(multiplier)))


def _at_tier_times(
    tier: np.ndarray,
    rate_labels: list[str],
    labels: list[str],
    multiplier: np.ndarray,
    row_rate: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]] | None:
    """' at {rate} ({tier}){ × multiplier} = ' for each row, as an index into its few combinations (the
    distinct per-row rates, if any, times the tiers times the distinct multipliers, each written as the whole
    column's text writes it) and the combinations; None if they are many."""
    few = text.few_values(np.asarray(multiplier, dtype=np.float64).reshape(-1))
    rates = text.few_values(np.asarray(row_rate, dtype=np.float64).reshape(-1)) if row_rate is not None else None
    if text.is_unwritten() or few is None or (row_rate is not None and rates is None):
        return None
    distinct, which = few
    times = _times_of(distinct)
    tier = np.asarray(tier, dtype=np.int64)
    if rates is None:
        options = [f" at {rate} ({labels[k]}){shown} = " for k, rate in enumerate(rate_labels) for shown in times]
        return tier * len(times) + which, options
    if rates[0].size * len(rate_labels) * len(times) > _FEW_MIDDLES:
        return None
    row_rates = text.rate_percent(rates[0]).to_pylist()  # each rate as the whole column's text writes it
    options = [
        f" at {shown_rate} × {rate} ({labels[k]}){shown} = "
        for shown_rate in row_rates
        for k, rate in enumerate(rate_labels)
        for shown in times
    ]
    return (rates[1] * len(rate_labels) + tier) * len(times) + which, options


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
