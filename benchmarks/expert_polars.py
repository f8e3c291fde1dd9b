"""plans/bench.spm in polars, as an expert would write it: lazy scans, exact integer money, one sort.

Two of them, each returning the payout per (payee, quarter, component) in cents:

- ``lines`` prices every credited row as spm's ledger does (its commission after cumulative rounding and
  the cap, its SPIF after the SPIF's cap) and every quarter's true-up, then sums the lines;
- ``totals`` computes the totals the shortest way the plan's algebra allows.

The algebra (docs/calculation.md): a row moving a payee's year-to-date credit from a to b earns
f * (E(b) - E(a)) on its quarter's basis, and the true-up at quarter p re-prices every earlier row on p's
basis, so what the year has earned at the end of quarter p is C(p) = sum over rows of quarters <= p of
f * (E_p(b) - E_p(a)). Where f is 1 the sum telescopes to E_p(M_p), M_p the credit to date, and

    C(p) = E_p(M_p) + sum over kicker rows of quarters <= p of (E_p(b) - E_p(a))

Cumulative rounding and a yearly cap telescope as well: the cents paid by the end of p are
min(round(C(p)), cap). Only the kicker rows need their place in the payee's running credit: one sort of
the credited rows by a packed key (payee code, day, deal id) gives it.

A clawback takes back what a cancelled row was paid: the difference of the capped, rounded year before and
after it. The year after row i of quarter p is a sum over the rows up to it, which telescopes as C(p) does:

    E_p(b_i) + sum over kicker rows j <= i of (E_p(b_j) - E_p(a_j))

so the totals price only the cancelled rows, with a running sum over the kicker rows of their quarter. The
draw then settles each payee's pay per quarter, in order (``draws``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from benchmarks.floor import crediting_key
from benchmarks.terms import (
    CAP_PER_TARGET,
    CLAWBACK_WITHIN,
    DRAW,
    KICKER_MONTHS,
    NEXT_YEAR,
    PERIODS,
    SPIF,
    SPIF_CAP,
    SPIF_FROM,
    SPIF_TO,
    STEP,
    TIER_STARTS,
    TO_CENTS,
)

Q = [f"q{p}" for p in range(PERIODS)]  # quota to date at each quarter, whole units
COMPONENTS = ("commission", "spring_new_logos")


def credited(deals: Path) -> pl.LazyFrame:
    """The credited rows: the deals the plan's filter keeps, with the packed key of crediting order, and the
    quarter a row is clawed back in (null: it is not)."""
    scan = pl.scan_parquet(deals).filter(pl.col("deal_type") != "renewal")
    cancelled = pl.col("cancelled")
    clawed = (cancelled < NEXT_YEAR) & ((cancelled - pl.col("close_date")).dt.total_days() <= CLAWBACK_WITHIN)
    return scan.select(
        crediting_key().alias("key"),
        pl.col("payee").to_physical().alias("code"),
        (pl.col("close_date").dt.quarter() - 1).cast(pl.Int8).alias("period"),
        pl.col("amount").to_physical().cast(pl.Int64).alias("cents"),  # decimal(18, 2): its integer is cents
        (pl.col("term_months") >= KICKER_MONTHS).alias("kicker"),
        ((pl.col("deal_type") == "new_logo") & pl.col("close_date").is_between(SPIF_FROM, SPIF_TO)).alias("spif"),
        pl.when(clawed).then((cancelled.dt.quarter() - 1).cast(pl.Int8)).alias("clawed_in"),
        pl.col("payee"),
    )


def payee_terms(quotas: Path, targets: Path) -> pl.LazyFrame:
    """Per payee (by name): the quota to date at each quarter and the yearly cap in cents."""
    quota = pl.scan_parquet(quotas).select(
        pl.col("payee"),
        (pl.col("period").str.slice(-1).cast(pl.Int8) - 1).alias("p"),
        pl.col("amount").round().cast(pl.Int64).alias("q"),
    )
    to_date = quota.group_by("payee").agg(
        pl.col("q").filter(pl.col("p") <= p).sum().alias(Q[p]) for p in range(PERIODS)
    )
    cap = pl.scan_parquet(targets).select(
        pl.col("payee"), (pl.col("amount") * CAP_PER_TARGET).round().cast(pl.Int64).alias("cap")
    )
    return to_date.join(cap, on="payee", how="left")


def every_payee(quotas: Path, targets: Path, credited_payees: pl.Series) -> pl.DataFrame:
    """The payees of the run, whom the draw guarantees: those of the quotas, the targets and credited deals."""
    named = [pl.scan_parquet(path).select(pl.col("payee").cast(pl.String)) for path in (quotas, targets)]
    return pl.concat([*named, credited_payees.cast(pl.String).to_frame("payee").lazy()]).unique().collect()


def earned(m: pl.Expr, q: pl.Expr) -> pl.Expr:
    """E(m) in hundredths of a cent, m cents of year-to-date credit against q whole units of quota to date."""
    return STEP * (m + sum((m - start * q).clip(lower_bound=0) for start in TIER_STARTS))


def cents(x: pl.Expr) -> pl.Expr:
    """Hundredths of a cent to cents, half away from zero."""
    return pl.when(x >= 0).then((x + TO_CENTS // 2) // TO_CENTS).otherwise(-((TO_CENTS // 2 - x) // TO_CENTS))


def capped(paid: pl.Expr, cap: pl.Expr | int) -> pl.Expr:
    """What a running total ``paid`` pays under a cap: its line is the difference of two of these."""
    return pl.min_horizontal(paid, cap)


def running(value: str, group: str) -> pl.Expr:
    """The running sum of ``value`` before each row within runs of equal ``group`` (rows sorted by group): one
    pass over the sorted rows, no hashing of groups."""
    total = pl.col(value).cum_sum() - pl.col(value)
    start = pl.when(pl.col(group) != pl.col(group).shift(1, fill_value=-1)).then(total)
    return total - start.forward_fill()


def by_code(table: pl.DataFrame, codes: int) -> pl.DataFrame:
    """``table`` (one row per payee code) with a row for every code below ``codes``, in code order: a column of
    it gathered by the rows' codes broadcasts a payee's values to its rows (no join, no hashing)."""
    every = pl.DataFrame({"code": pl.int_range(codes, dtype=pl.UInt32, eager=True)})
    return every.join(table, on="code", how="left", maintain_order="left")


def spread(table: pl.DataFrame, *columns: str) -> list[pl.Expr]:
    """Each of ``table``'s ``columns`` (a table by_code) broadcast to the rows by their codes."""
    return [pl.lit(table[c]).gather(pl.col("code")).alias(c) for c in columns]


def by_cell(table: pl.DataFrame, columns: list[str], name: str) -> pl.Expr:
    """``columns`` of ``table`` (a table by_code), one per quarter, broadcast to each row from its own quarter's
    (its cell: code x 4 + quarter): one gather instead of a gather per quarter and a choice between them."""
    flat = table.select(pl.col(columns).fill_null(0)).to_numpy().reshape(-1)  # code-major: code x 4 + quarter
    return pl.lit(pl.Series(flat)).gather(pl.col("cell")).alias(name)


def _payees(deals: Path, quotas: Path, targets: Path, spif_order: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The credited rows sorted once, with each row's running credit (and, with ``spif_order``, SPIF deals)
    before it; and per payee code (every code, in order): the quota to date (``q{p}``) and the cap; the year's
    exact earnings to date at the end of each quarter (``c{p}``) and at its start, after its true-up (``r{p}``);
    what the kicker rows of earlier quarters earn beyond 1x on the quarter's basis (``x{p}``); credit (``m{p}``)
    and SPIF deals (``n{p}``) to date."""
    ordered = (
        credited(deals)
        .sort("key")
        .with_columns(
            running("cents", "code").alias("before"),
            *([running("spif", "code").alias("spif_before")] if spif_order else []),
        )
        .collect()
    )
    cells = (
        ordered.lazy()
        .group_by("code", "period")
        .agg(pl.col("payee").first(), pl.col("cents").sum(), pl.col("spif").sum())
        .collect()
    )
    to_date = [pl.col("period") <= p for p in range(PERIODS)]
    payees = (
        cells.lazy()
        .group_by("code")
        .agg(
            pl.col("payee").first().cast(pl.String),
            *(pl.col("cents").filter(to_date[p]).sum().alias(f"m{p}") for p in range(PERIODS)),
            *(pl.col("spif").filter(to_date[p]).sum().cast(pl.Int64).alias(f"n{p}") for p in range(PERIODS)),
        )
        .join(payee_terms(quotas, targets), on="payee", how="left")
        .collect()
    )
    payees = by_code(payees, int(ordered["code"].max()) + 1)
    # What kicker rows earn beyond 1x on each quarter's basis, per (code, quarter); then per code, over the
    # rows of quarters up to p (in c{p}) and before p (in the true-up at p)
    after = pl.col("before") + pl.col("cents")
    kicked = (
        ordered.lazy()
        .filter("kicker")
        .select("code", "period", "before", "cents", *spread(payees, *Q))
        .group_by("code", "period")
        .agg(
            (earned(after, pl.col(Q[p])) - earned(pl.col("before"), pl.col(Q[p]))).sum().alias(f"g{p}")
            for p in range(PERIODS)
        )
        .group_by("code")
        .agg(
            *(pl.col(f"g{p}").filter(to_date[p]).sum().alias(f"k{p}") for p in range(PERIODS)),
            *(pl.col(f"g{p}").filter(pl.col("period") < p).sum().alias(f"x{p}") for p in range(1, PERIODS)),
        )
    )
    payees = (
        payees.lazy()
        .join(kicked, on="code", how="left", maintain_order="left")
        .with_columns(
            *(
                (earned(pl.col(f"m{p}"), pl.col(Q[p])) + pl.col(f"k{p}").fill_null(0)).alias(f"c{p}")
                for p in range(PERIODS)
            ),
            pl.lit(0, pl.Int64).alias("r0"),
            pl.lit(0, pl.Int64).alias("x0"),
            *(
                (earned(pl.col(f"m{p - 1}"), pl.col(Q[p])) + pl.col(f"x{p}").fill_null(0)).alias(f"r{p}")
                for p in range(1, PERIODS)
            ),
        )
        .collect()
    )
    return ordered, payees


def totals(deals: Path, quotas: Path, targets: Path) -> dict:
    """The totals by the algebra: group sums per payee, the kicker rows priced in order, and the cancelled rows
    priced for their clawbacks; then the draw."""
    ordered, payees = _payees(deals, quotas, targets)
    paid = [capped(cents(pl.col(f"c{p}")), pl.col("cap")) for p in range(PERIODS)]
    spif = [capped(pl.col(f"n{p}") * SPIF, SPIF_CAP) for p in range(PERIODS)]
    earned_cells = [
        payees.lazy()
        .filter(pl.col("payee").is_not_null())
        .select(
            "code",
            pl.lit(p, pl.Int8).alias("period"),
            (paid[p] - (paid[p - 1] if p else 0)).alias("commission"),
            (spif[p] - (spif[p - 1] if p else 0)).alias("spring_new_logos"),
        )
        for p in range(PERIODS)
    ]
    return settled(pl.concat([*earned_cells, clawed_back(ordered, payees)]), ordered, payees, quotas, targets)


def clawed_back(ordered: pl.DataFrame, payees: pl.DataFrame) -> pl.LazyFrame:
    """The clawbacks by the algebra, per (code, quarter of the cancellation): the cancelled rows priced alone.
    The year's exact earnings after row i of quarter p are E_p(b_i), plus what the kicker rows of earlier
    quarters earn beyond 1x on p's basis (``x{p}``), plus the same of the quarter's kicker rows up to i: a
    running sum over the kicker rows. A SPIF row's pay depends on the SPIF deals before it: a running count."""
    after = pl.col("before") + pl.col("cents")
    gain = earned(after, pl.col("basis")) - earned(pl.col("before"), pl.col("basis"))
    year = pl.col("earlier") + earned(after, pl.col("basis")) + running("kick", "cell") + pl.col("kick")
    line = pl.col("gain") * pl.when(pl.col("kicker")).then(2).otherwise(1)
    spif_before = pl.col("spif_before").cast(pl.Int64) * SPIF
    return (
        ordered.lazy()
        .filter(pl.col("kicker") | pl.col("spif") | pl.col("clawed_in").is_not_null())
        .with_columns((pl.col("code").cast(pl.Int64) * PERIODS + pl.col("period")).alias("cell"))
        .with_columns(
            by_cell(payees, Q, "basis"),
            by_cell(payees, [f"x{p}" for p in range(PERIODS)], "earlier"),
            *spread(payees, "cap"),
        )
        .with_columns(gain.alias("gain"))
        .with_columns(
            pl.when(pl.col("kicker")).then(pl.col("gain")).otherwise(0).alias("kick"),
            running("spif", "code").alias("spif_before"),
        )
        .with_columns(year.alias("year"))
        .filter(pl.col("clawed_in").is_not_null())
        .select(
            "code",
            pl.col("clawed_in").alias("period"),
            (capped(cents(pl.col("year") - line), pl.col("cap")) - capped(cents(pl.col("year")), pl.col("cap"))).alias(
                "commission"
            ),
            pl.when(pl.col("spif"))
            .then(capped(spif_before, SPIF_CAP) - capped(spif_before + SPIF, SPIF_CAP))
            .otherwise(0)
            .alias("spring_new_logos"),
        )
    )


def lines(deals: Path, quotas: Path, targets: Path) -> dict:
    """Every line priced: each credited row's commission and SPIF, in order, each quarter's true-up, the
    clawback of each cancelled row (minus what it was paid, in the quarter of the cancellation), and the draw."""
    ordered, payees = _payees(deals, quotas, targets, spif_order=True)
    credit_after = pl.col("before") + pl.col("cents")
    earning = (earned(credit_after, pl.col("basis")) - earned(pl.col("before"), pl.col("basis"))) * pl.when(
        pl.col("kicker")
    ).then(2).otherwise(1)
    spif_before = pl.col("spif_before").cast(pl.Int64) * SPIF
    priced = (
        ordered.lazy()
        .with_columns((pl.col("code").cast(pl.Int64) * PERIODS + pl.col("period")).alias("cell"))
        # the row's own quarter's quota to date, the year's earnings at the quarter's start, the cap
        .with_columns(
            by_cell(payees, Q, "basis"),
            by_cell(payees, [f"r{p}" for p in range(PERIODS)], "start"),
            *spread(payees, "cap"),
        )
        .with_columns(earning.alias("earning"))
        # the year's exact earnings after the row: its quarter's start plus the quarter's rows so far
        .with_columns((pl.col("start") + running("earning", "cell") + pl.col("earning")).alias("year"))
        .select(
            "code",
            "period",
            "clawed_in",
            (
                capped(cents(pl.col("year")), pl.col("cap"))
                - capped(cents(pl.col("year") - pl.col("earning")), pl.col("cap"))
            ).alias("commission"),
            pl.when(pl.col("spif"))
            .then(capped(spif_before + SPIF, SPIF_CAP) - capped(spif_before, SPIF_CAP))
            .otherwise(0)
            .alias("spring_new_logos"),
        )
        .collect()
    )
    clawbacks = (
        priced.lazy()
        .filter(pl.col("clawed_in").is_not_null())
        .select("code", pl.col("clawed_in").alias("period"), *(-pl.col(c) for c in COMPONENTS))
    )
    # The true-up at p (p > 0) takes the year from c(p - 1) to r(p); paid after rounding and the cap
    true_ups = (
        payees.lazy()
        .filter(pl.col("payee").is_not_null())
        .select(
            "code",
            *(
                (
                    capped(cents(pl.col(f"r{p}")), pl.col("cap")) - capped(cents(pl.col(f"c{p - 1}")), pl.col("cap"))
                ).alias(str(p))
                for p in range(1, PERIODS)
            ),
        )
        .unpivot(index="code", variable_name="period", value_name="commission")
        .select("code", pl.col("period").cast(pl.Int8), "commission", pl.lit(0).alias("spring_new_logos"))
    )
    cells = pl.concat([priced.lazy().drop("clawed_in"), true_ups, clawbacks], how="vertical_relaxed")
    return settled(cells, ordered, payees, quotas, targets)


def settled(cells: pl.LazyFrame, ordered: pl.DataFrame, payees: pl.DataFrame, quotas: Path, targets: Path) -> dict:
    """The payout per (payee, quarter, component) of ``cells`` (code, period, and an amount per component, any
    number of them per payee and quarter), and the payee's draw lines per quarter (as ``draw``)."""
    summed = (
        cells.group_by("code", "period")
        .agg(pl.col(c).sum() for c in COMPONENTS)
        .join(payees.lazy().select("code", "payee"), on="code")
        .collect()
    )
    pay = summed.group_by("payee").agg(
        pl.sum_horizontal(COMPONENTS).filter(pl.col("period") == p).sum().alias(f"pay{p}") for p in range(PERIODS)
    )
    everyone = every_payee(quotas, targets, summed["payee"]).join(pay, on="payee", how="left").fill_null(0)
    drawn = draws(everyone, int(ordered["period"].max()))
    columns = [c for c in drawn.columns if c.startswith("draw")]
    found = pl.concat(
        [
            summed.unpivot(COMPONENTS, index=["payee", "period"], variable_name="component"),
            drawn.unpivot(columns, index="payee", variable_name="component").select(
                "payee",
                pl.col("component").str.slice(4).cast(pl.Int8).alias("period"),
                pl.lit("draw").alias("component"),
                "value",
            ),
        ]
    )
    keys = zip(*(found[c].to_list() for c in ("payee", "period", "component")), strict=True)
    return dict(zip(keys, found["value"].to_list(), strict=True))


def draws(pay: pl.DataFrame, last: int) -> pl.DataFrame:
    """``pay`` (a payee a row, its pay in each quarter: ``pay{p}``) with the sum of its draw lines in each quarter up
    to ``last`` (``draw{p}``). In quarter order: pay below the draw is topped up to it, and the top-up is owed;
    what is owed is recovered from pay above the draw, never taking it below."""
    frame = pay.with_columns(pl.lit(0, pl.Int64).alias("owed"))
    for p in range(last + 1):
        paid = pl.col(f"pay{p}")
        frame = frame.with_columns((DRAW - paid).clip(lower_bound=0).alias("top"))
        recovered = pl.min_horizontal(pl.col("owed") + pl.col("top"), (paid + pl.col("top") - DRAW).clip(lower_bound=0))
        frame = frame.with_columns(recovered.alias("recovered")).with_columns(
            (pl.col("top") - pl.col("recovered")).alias(f"draw{p}"),
            (pl.col("owed") + pl.col("top") - pl.col("recovered")).alias("owed"),
        )
    return frame
