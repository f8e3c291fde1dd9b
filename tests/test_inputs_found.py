"""Inputs a review of data and the Python API found mishandled (a wrapped number, a traceback, a misleading
message), each pinned on its own."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq

import spmlang

PLAN = """plan "Found" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  column units  integer
  key    id
  date   day
  payee  rep
  credit amount
}
component commission {
  rate 10%
}
"""

DAY = dt.date(2027, 2, 1)


def _deals(**columns) -> pa.Table:
    n = len(next(iter(columns.values())))
    base = {"id": [f"D{i}" for i in range(n)], "rep": ["ann"] * n, "day": [DAY] * n, "units": [1] * n}
    base.update(columns)
    return pa.table(base)


def test_unsigned_values_past_int64_are_too_large_not_wrapped_to_negative(tmp_path):
    """uint64 amounts of 2**64-1 were read as -1.00 and paid -0.10."""
    amount = pa.array([2**64 - 1, 18446744073709551516, 1000], pa.uint64())
    units = pa.array([1, 1, 2**63], pa.uint64())
    pq.write_table(_deals(amount=amount, units=units), tmp_path / "u64.parquet")
    result = spmlang.loads(PLAN, "found.spm").run(tmp_path / "u64.parquet")
    rejects = result.rejects.to_pylist()
    assert [(r["row"], r["reason"], r["column"]) for r in rejects] == [
        (1, "invalid_value", "amount"),
        (2, "invalid_value", "amount"),
        (3, "invalid_value", "units"),
    ]
    assert rejects[0]["message"].startswith("'18446744073709551615' is too large: amounts must be less than")
    assert (
        rejects[2]["message"]
        == "'9223372036854775808' is too large: integers must be less than 9,223,372,036,854,775,808"
    )
    assert result.totals().num_rows == 0


def test_a_lookup_table_or_roster_keyed_by_a_category_column_is_read(tmp_path):
    """A pandas category (a dictionary-encoded column) as a lookup table's or a roster's key crashed with
    'count_distinct ... dictionary' (exit 3)."""
    from conftest import ROOT

    crm = ROOT / "examples" / "data" / "crm"
    plan = spmlang.load(ROOT / "examples" / "plans" / "crm_agents.spm")
    tables = {"products": crm / "products.csv", "roster": crm / "sales_teams.csv"}
    plain = plan.run(crm / "sales_pipeline.csv", quotas=crm / "quotas.csv", tables=tables)
    encoded = {}
    for name, path in tables.items():
        table = pa.csv.read_csv(path)
        encoded[name] = pa.table(
            {c: table[c].dictionary_encode() if table[c].type == pa.string() else table[c] for c in table.column_names}
        )
    categories = plan.run(crm / "sales_pipeline.csv", quotas=crm / "quotas.csv", tables=encoded)
    assert categories.totals().equals(plain.totals()) and plain.totals().num_rows > 0
