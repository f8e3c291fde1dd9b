"""One contender of the benchmark, run in its own process (so that its peak memory is its own).

    python -m benchmarks.contender NAME DEALS QUOTAS TARGETS RESULT
    python -m benchmarks.contender ledger LEDGER - - RESULT     # the totals of spm's ledger

Writes the payout totals it computed to RESULT (JSON) for the harness to verify.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NEEDED = ["deal_id", "payee", "close_date", "deal_type", "term_months", "amount"]


def floor(deals: Path) -> dict:
    """No engine can do less: read the columns the plan needs and sort them by payee and date."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(deals, columns=NEEDED)
    payee = pc.dictionary_encode(table["payee"]).combine_chunks() if not str(table.schema.field("payee").type) \
        .startswith("dictionary") else table["payee"].combine_chunks()
    order = pc.sort_indices(pa_table(payee.indices, table["close_date"]), sort_keys=[("p", "ascending"),
                                                                                     ("d", "ascending")])
    table.take(order)
    return {}


def pa_table(payee, day):
    import pyarrow as pa

    return pa.table({"p": payee, "d": day})


def spm_command(deals: Path, quotas: Path, targets: Path, ledger: Path) -> list[str]:
    """spm end to end, as a comp analyst runs it: read parquet, pay, write a parquet ledger."""
    plan = Path(__file__).parent / "plans" / "bench.spm"
    return [spm_executable(), "run", str(plan), "--deals", str(deals), "--quotas", str(quotas), "--targets", str(targets),
            "--out", str(ledger), "--quiet"]


def spm_executable() -> str:
    """The spm installed with this Python (its venv need not be activated), else the one on PATH."""
    beside = Path(sys.executable).parent / "spm"
    return str(beside) if beside.exists() else "spm"


def spm_totals(ledger: Path) -> dict:
    """The payout per (payee, quarter, component) in cents, read back from spm's ledger."""
    import pyarrow.parquet as pq

    return _spm_totals(pq.read_table(ledger, columns=["payee", "period", "component", "amount"]))


def _spm_totals(table) -> dict:
    """Summed by Arrow (a 50M-line ledger as Python objects would take ~20 GB); lines of no component (a
    transaction's unpaid rows) are left out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = table.filter(pc.is_valid(table["component"]))
    cents = pc.cast(pc.multiply(table["amount"], pa.scalar(100)), pa.int64())  # exact: amounts have 2 places
    summed = pa.table({"payee": table["payee"], "period": table["period"], "component": table["component"],
                       "cents": cents}).group_by(["payee", "period", "component"]).aggregate([("cents", "sum")])
    return {(payee, int(period[-1]) - 1, component): cents for payee, period, component, cents in
            zip(*(summed[c].to_pylist() for c in ("payee", "period", "component", "cents_sum")))}


def baseline(name: str, deals: Path, quotas: Path, targets: Path) -> dict:
    import pyarrow.parquet as pq

    from benchmarks import baselines

    function = {"python": baselines.python_loop, "pandas": baselines.pandas_frames,
                "polars": baselines.polars_frames, "duckdb": baselines.duckdb_sql}[name]
    return function(pq.read_table(deals, columns=NEEDED), pq.read_table(quotas), pq.read_table(targets))


def main() -> None:
    name, deals, quotas, targets, result = sys.argv[1], *map(Path, sys.argv[2:6])
    if name == "floor":
        totals = floor(deals)
    elif name == "ledger":  # not a contender: spm's ledger (DEALS) summed after it has been timed
        totals = spm_totals(deals)
    else:
        totals = baseline(name, deals, quotas, targets)
    rows = [[p, period, c, v] for (p, period, c), v in totals.items() if v]
    result.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
