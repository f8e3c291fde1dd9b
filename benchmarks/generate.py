"""A synthetic but realistic transaction table, with quotas and targets to match (seeded).

    python -m benchmarks.generate --rows 10000000 --payees 10000 --out benchmarks/data

Deals per payee are skewed (a few reps close far more than most), dates cover
the plan year, amounts are log-normal with a few percent of credit notes
(negative amounts). About 1.5% of the deals (not credit notes) are cancelled, 10
to 200 days after they closed: some within the plan's 180-day clawback window,
some outside it, some after the plan year (the next year's to claw back); the
rest have no cancellation date. The same arguments give the same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PRODUCTS = [
    "Core",
    "Core Plus",
    "Analytics",
    "Analytics Pro",
    "Platform",
    "Add-on A",
    "Add-on B",
    "Services",
    "Support",
    "Training",
]
TYPES = ["new_logo", "expansion", "renewal"]
CURRENCIES = ["USD", "EUR", "GBP"]
YEAR = dt.date(2027, 1, 1)
CANCELLED = 0.015  # the share of deals cancelled
CANCELLED_AFTER = (10, 200)  # days after the deal closed, the least and the most


def data_paths(rows: int, payees: int, folder: Path) -> dict[str, Path]:
    """Where the data of a size lives. Quotas follow the volume of deals, so every file is named by both."""
    size = f"{rows}x{payees}"
    return {
        "deals": folder / f"deals_{size}.parquet",
        "quotas": folder / f"quotas_{size}.parquet",
        "targets": folder / f"targets_{size}.parquet",
        **dated_paths(folder / f"deals_{size}.parquet", folder / f"quotas_{size}.parquet"),
    }


def dated_paths(deals: Path, quotas: Path) -> dict[str, Path]:
    """The files of the `spm-dated` contender beside a size's deals and quotas: the deals with their currency,
    the roster with dates, the fx table (and beside a sample of the deals, the sample's own deals)."""
    return {
        "deals_dated": deals.with_name(f"{deals.stem}_dated{deals.suffix}"),
        "roster": quotas.with_name(quotas.name.replace("quotas_", "roster_")),
        "fx": quotas.with_name(quotas.name.replace("quotas_", "fx_")),
    }


def decimal_cents(cents: np.ndarray) -> pa.Array:
    """int64 cents as an Arrow decimal128(18, 2) array, exactly: each value's two 64-bit words, the high one
    its sign extended (a cast from int64 would multiply by 100)."""
    words = np.empty((cents.size, 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = np.where(cents < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), cents.size, [None, pa.py_buffer(words)])


def generate(rows: int, payees: int, folder: Path, seed: int = 2027) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = np.array([f"rep{i:06d}" for i in range(payees)])
    # Skewed: payee weights follow a Pareto tail, so a few reps close many deals.
    weights = rng.pareto(1.5, payees) + 0.2
    weights /= weights.sum()
    payee = rng.choice(payees, size=rows, p=weights)
    day = rng.integers(0, 365, size=rows)
    cents = np.round(rng.lognormal(mean=8.6, sigma=1.0, size=rows) * 100).astype(np.int64)
    credit_note = rng.random(rows) < 0.03
    cents = np.where(credit_note, -np.maximum(cents // 4, 1), cents)
    deal_type = rng.choice(3, size=rows, p=[0.3, 0.5, 0.2])
    term = rng.choice(np.array([12, 24, 36], dtype=np.int32), size=rows, p=[0.6, 0.25, 0.15])
    product = rng.integers(0, len(PRODUCTS), size=rows)
    start = (YEAR - dt.date(1970, 1, 1)).days
    deal_id = rng.permutation(rows).astype(np.int64) + 1_000_000
    # drawn after every other column, so that those are what they were before cancellations were added
    cancelled = (rng.random(rows) < CANCELLED) & (cents > 0)
    waited = rng.integers(CANCELLED_AFTER[0], CANCELLED_AFTER[1] + 1, size=rows)
    table = pa.table(
        {
            "deal_id": pa.array(deal_id),
            "payee": pa.DictionaryArray.from_arrays(pa.array(payee.astype(np.int32)), pa.array(names)),
            "close_date": pa.array((day + start).astype(np.int32), pa.int32()).cast(pa.date32()),
            "product": pa.DictionaryArray.from_arrays(pa.array(product.astype(np.int32)), pa.array(PRODUCTS)),
            "deal_type": pa.DictionaryArray.from_arrays(pa.array(deal_type.astype(np.int32)), pa.array(TYPES)),
            "term_months": pa.array(term),
            "amount": decimal_cents(cents),  # exact money: decimal(18, 2)
            "cancelled": pa.array((day + waited + start).astype(np.int32), pa.int32(), mask=~cancelled).cast(
                pa.date32()
            ),
        }
    )
    paths = data_paths(rows, payees, folder)
    deals, quota_path, target_path = paths["deals"], paths["quotas"], paths["targets"]
    pq.write_table(table, deals, compression="zstd", row_group_size=1 << 20)

    # Quotas per quarter in proportion to each rep's expected volume, so attainment spreads around 100%.
    expected = weights * rows * float(np.exp(8.6 + 0.5)) * 0.8
    quarter = np.round(expected / 4 / 1000) * 1000 + 10_000
    quotas = pa.table(
        {
            "payee": np.repeat(names, 4),
            "period": np.tile(np.array(["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]), payees),
            "amount": pa.array(np.repeat(quarter, 4), pa.float64()),  # whole currency units
        }
    )
    targets = pa.table({"payee": names, "amount": pa.array(np.round(quarter * 4 * 0.1 / 100) * 100, pa.float64())})
    pq.write_table(quotas, quota_path)
    pq.write_table(targets, target_path)
    dated = dated_paths(deals, quota_path)
    _dated_files(table, names, dated, np.random.default_rng(seed + 1))  # its own draws: the files above are as before
    return {"deals": deals, "quotas": quota_path, "targets": target_path, **dated}


def _dated_files(deals: pa.Table, names: np.ndarray, paths: dict[str, Path], rng: np.random.Generator) -> None:
    """The `spm-dated` contender's data: each deal's currency; a roster of two rows a payee (to June 30, and from
    July 1, paid in GBP for every other payee); monthly rates of 1, so that it pays what spm pays."""
    currency = rng.choice(3, size=deals.num_rows, p=[0.5, 0.3, 0.2])
    with_currency = deals.append_column(
        "deal_currency", pa.DictionaryArray.from_arrays(pa.array(currency.astype(np.int32)), pa.array(CURRENCIES))
    )
    pq.write_table(with_currency, paths["deals_dated"], compression="zstd", row_group_size=1 << 20)
    count = names.size
    roster = pa.table(
        {
            "payee": np.repeat(names, 2),
            "start": pa.array([dt.date(2026, 1, 1), dt.date(2027, 7, 1)] * count, pa.date32()),
            "end": pa.array([dt.date(2027, 6, 30), None] * count, pa.date32()),
            "paid_in": pa.array([v for i in range(count) for v in (None, "GBP" if i % 2 else None)], pa.string()),
        }
    )
    pq.write_table(roster, paths["roster"])
    months = [dt.date(2027, month, 1) for month in range(1, 13)]
    fx = pa.table(
        {
            "date": pa.array(months * 2, pa.date32()),
            "currency": ["EUR"] * 12 + ["GBP"] * 12,
            "rate": pa.array([1.0] * 24, pa.float64()),
        }
    )
    pq.write_table(fx, paths["fx"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--payees", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    paths = generate(args.rows, args.payees, args.out, args.seed)
    for name, path in paths.items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
