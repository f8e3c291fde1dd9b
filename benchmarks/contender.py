"""One contender of the benchmark, run in its own process (so that its peak memory is its own).

    python -m benchmarks.contender NAME DEALS QUOTAS TARGETS RESULT
    python -m benchmarks.contender ledger LEDGER - - RESULT     # the totals of spm's ledger
    python -m benchmarks.contender statements FOLDER - - RESULT # the totals of spm's statements

Writes the payout totals it computed to RESULT (JSON) for the harness to verify (the floor writes none).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

PLAN = Path(__file__).parent / "plans" / "bench.spm"
DATED_PLAN = Path(__file__).parent / "plans" / "bench_dated.spm"

# What each contender is, as the report's legend says it.
CONTENDERS = {
    "floor": "the true floor: read the 7 columns the plan needs, drop renewals, one sort by payee, date and "
    "deal id, gather (polars)",
    "spm": "`spm run`: parquet in, the explained parquet ledger out",
    "spm-dated": "`spm run` as spm, with a roster with dates (employment checked, quotas prorated by days, half "
    "the payees paid in GBP) and deals in three currencies converted by an fx table (rates of 1: the same "
    "payouts)",
    "spm-statements": "`spm statement --no-charts`: every payee's pay statements (an HTML page and a CSV file a "
    "payee and quarter) written to memory (/dev/shm), its lines summed from the CSV files",
    "spm-totals": "spm through its API, totals only: `spmlang.load(plan).run(...).totals()`, no ledger (with "
    "the process settings `spm` makes)",
    "polars-lines": "polars, expert: every credited row, true-up and clawback priced (rounded, capped), summed; "
    "the draw",
    "polars-totals": "polars, expert: totals by the plan's algebra (group sums; kicker and cancelled rows priced "
    "in order); the draw",
    "duckdb-lines": "DuckDB SQL, expert: every credited row, true-up and clawback priced (rounded, capped), "
    "summed; the draw",
    "duckdb-totals": "DuckDB SQL, expert: totals by the plan's algebra; the draw",
    "pandas": "naive: pandas, written straight from the plan (multi-key sorts, a second sort, floats read)",
    "python": "naive: a plain Python loop over the rows",
}


def spm_command(deals: Path, quotas: Path, targets: Path, ledger: Path) -> list[str]:
    """spm end to end, as a comp analyst runs it: read parquet, pay, write a parquet ledger."""
    return [
        spm_executable(),
        "run",
        str(PLAN),
        "--deals",
        str(deals),
        "--quotas",
        str(quotas),
        "--targets",
        str(targets),
        "--out",
        str(ledger),
        "--quiet",
    ]


def spm_dated_command(deals: Path, quotas: Path, targets: Path, ledger: Path) -> list[str]:
    """spm as :func:`spm_command` runs it, over the same deals with their currencies, a roster with dates and an
    fx table (see bench_dated.spm)."""
    from benchmarks.generate import dated_paths

    dated = dated_paths(deals, quotas)
    command = spm_command(dated["deals_dated"], quotas, targets, ledger)
    command[2] = str(DATED_PLAN)
    return [*command, "--roster", str(dated["roster"]), "--table", f"fx={dated['fx']}"]


def spm_statements_command(deals: Path, quotas: Path, targets: Path, folder: Path) -> list[str]:
    """spm's pay statements for every payee, as a comp team makes them each period (without charts)."""
    command = spm_command(deals, quotas, targets, folder)
    command[1] = "statement"
    command.remove("--quiet")  # spm statement shows no progress bar where nothing reads it
    return [*command, "--no-charts"]


def statements_totals(folder: Path) -> dict:
    """The payout per (payee, quarter, component) in cents, summed from the lines of every statement's CSV file
    (``payee/2027-Q1.csv``: the benchmark's payees make folders of their own names)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    types = {"section": pa.string(), "component": pa.string(), "amount": pa.decimal128(18, 2)}
    options = pacsv.ConvertOptions(column_types=types, include_columns=list(types), strings_can_be_null=False)
    tables = []
    for path in sorted(Path(folder).glob("*/*.csv")):
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=False), convert_options=options)
        table = table.filter(pc.is_in(table["section"], pa.array(["earning", "adjustment"])))
        component = pc.if_else(pc.equal(table["component"], ""), pa.scalar(None, pa.string()), table["component"])
        n = table.num_rows
        tables.append(
            pa.table(
                {
                    "payee": pa.array([path.parent.name] * n, pa.string()),
                    "period": pa.array([path.stem] * n, pa.string()),
                    "component": component,
                    "amount": table["amount"],
                }
            )
        )
    return arrow_totals(pa.concat_tables(tables))


def spm_executable() -> str:
    """The spm installed with this Python (its venv need not be activated), else the one on PATH."""
    beside = Path(sys.executable).parent / "spm"
    return str(beside) if beside.exists() else "spm"


def ledger_totals(ledger: Path) -> dict:
    """The payout per (payee, quarter, component) in cents, read back from spm's ledger."""
    import pyarrow.parquet as pq

    return arrow_totals(pq.read_table(ledger, columns=["payee", "period", "component", "amount"]))


def arrow_totals(table) -> dict:
    """A ledger's or a totals table's payouts per (payee, quarter, component) in cents. Summed by Arrow (a
    50M-line ledger as Python objects would take ~20 GB). Lines of no component are the draw's (its top-ups and
    recoveries: in a quarter there is one or the other, so their sum tells both), as component ``draw``, and the
    zero lines of rows no component pays."""
    import pyarrow as pa
    import pyarrow.compute as pc

    component = pc.fill_null(table["component"], "draw")
    cents = pc.cast(pc.multiply(table["amount"], pa.scalar(100)), pa.int64())  # exact: amounts have 2 places
    summed = (
        pa.table({"payee": table["payee"], "period": table["period"], "component": component, "cents": cents})
        .group_by(["payee", "period", "component"])
        .aggregate([("cents", "sum")])
    )
    return {
        (payee, int(period[-1]) - 1, component): cents
        for payee, period, component, cents in zip(
            *(summed[c].to_pylist() for c in ("payee", "period", "component", "cents_sum")),
            strict=True,
        )
    }


def spm_totals(deals: Path, quotas: Path, targets: Path) -> dict:
    """spm's engine through the public API, totals only: no ledger is built."""
    import spmlang

    return arrow_totals(spmlang.load(PLAN).run(deals, quotas=quotas, targets=targets).totals())


def spm_dated_totals(deals: Path, quotas: Path, targets: Path) -> dict:
    """spm-dated's totals, through the public API (the benchmark times it as `spm run`)."""
    import spmlang
    from benchmarks.generate import dated_paths

    dated = dated_paths(deals, quotas)
    plan = spmlang.load(DATED_PLAN)
    result = plan.run(
        dated["deals_dated"], quotas=quotas, targets=targets, roster=dated["roster"], tables={"fx": dated["fx"]}
    )
    return arrow_totals(result.ledger.select(["payee", "period", "component", "amount"]))


def spm_statements_totals(deals: Path, quotas: Path, targets: Path) -> dict:
    """spm-statements' totals, through the public API (the benchmark times it as `spm statement`): every
    payee's statements written, their lines summed."""
    import tempfile

    import spmlang

    result = spmlang.load(PLAN).run(deals, quotas=quotas, targets=targets)
    with tempfile.TemporaryDirectory() as folder:
        result.write_statements(Path(folder), charts=False)
        return statements_totals(Path(folder))


def contender(name: str):
    """The function that computes ``name``'s totals from the three files' paths."""
    if name == "spm-totals":
        return spm_totals
    if name == "spm-statements":
        return spm_statements_totals
    if name == "spm-dated":
        return spm_dated_totals
    if name == "floor":
        return _floor
    if name in ("python", "pandas"):
        return _naive(name)
    library, kind = name.split("-")
    return getattr(importlib.import_module(f"benchmarks.expert_{library}"), kind)


def _floor(deals: Path, quotas: Path, targets: Path) -> dict:
    from benchmarks.floor import floor

    floor(deals)
    return {}  # it pays nothing


def _naive(name: str):
    def run(deals: Path, quotas: Path, targets: Path) -> dict:
        import pyarrow.parquet as pq

        from benchmarks import naive
        from benchmarks.floor import NEEDED

        function = {"python": naive.python_loop, "pandas": naive.pandas_frames}[name]
        return function(pq.read_table(deals, columns=NEEDED), pq.read_table(quotas), pq.read_table(targets))

    return run


class _WithoutPandas:
    """An import finder for which pandas is not installed: pyarrow imports pandas (~0.35 s), when it is
    installed, only to ask whether values are pandas objects. The `spm` command hides it so too."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def as_spm_starts() -> None:
    """The process settings the `spm` command makes before it runs, for spm through its API: Arrow allocating
    with malloc, one OpenBLAS thread, pandas hidden from pyarrow (docs/performance.md, "Embedding spmlang")."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.meta_path.insert(0, _WithoutPandas())


def main() -> None:
    name, deals, quotas, targets, result = sys.argv[1], *map(Path, sys.argv[2:6])
    if name == "spm-totals":
        as_spm_starts()
    if name == "ledger":
        totals = ledger_totals(deals)
    elif name == "statements":
        totals = statements_totals(deals)
    else:
        totals = contender(name)(deals, quotas, targets)
    rows = [[p, period, c, v] for (p, period, c), v in totals.items() if v]
    result.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
