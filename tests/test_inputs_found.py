"""Inputs a review of data and the Python API found mishandled (a wrapped number, a traceback, a misleading
message), each pinned on its own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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


def _run_with(table: pa.Table):
    return spmlang.loads(PLAN, "found.spm").run(table)


def test_a_whatif_on_category_or_large_string_text_is_priced():
    """A what-if over a run whose payees were a category (int8 indices), or whose keys were large_string while
    the deal gave a number, crashed: 'Array chunks must all be same type'."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "id": pd.Series(["a", "b"], dtype="string[pyarrow]"),
            "rep": pd.Series(["ann", "bo"]).astype("category"),
            "day": [DAY, DAY],
            "amount": [100.0, 200.0],
            "units": [1, 2],
        }
    )
    result = spmlang.loads(PLAN, "found.spm").run(frame)
    for deal in ({"amount": 50, "day": dt.date(2027, 3, 1)}, {"id": 5, "amount": 50, "day": dt.date(2027, 3, 1)}):
        assert str(result.whatif(deal, payee="ann")).splitlines()[3] == "  its own lines pay 5.00"


def test_a_whatif_date_is_read_as_a_row_of_the_data_would_be():
    """An aware datetime was taken in UTC (2027-03-31 23:00 in New York paid in Q2, where the same row in the
    data is paid in Q1); numpy's datetime64 and an int past int64 were tracebacks, not E513."""
    import numpy as np
    import pandas as pd

    evening = pd.Timestamp("2027-03-31 23:00", tz="America/New_York")
    result = _run_with(_deals(amount=[100.0]))
    [line] = result.whatif({"amount": 50, "day": evening}, payee="ann").lines
    assert (line.period, line.trail.date) == ("2027-Q1", "2027-03-31")
    [line] = result.whatif({"amount": 50, "day": np.datetime64("2027-05-02")}, payee="ann").lines
    assert (line.period, line.trail.date) == ("2027-Q2", "2027-05-02")
    try:
        result.whatif({"amount": 10**20, "day": DAY}, payee="ann")
    except spmlang.InputError as error:
        assert "'100000000000000000000' is too large" in str(error) and error.code == "E513"
    else:
        raise AssertionError("an amount of 10**20 was priced")


def test_a_dataframe_column_of_mixed_values_is_read_value_by_value():
    """A pandas object column mixing 100, "200.5" and 300.0 (or a Decimal infinity) was pyarrow's error about
    the whole table; a Series an AttributeError. Each value is now read as a CSV cell is: a bad one is its row's
    reject."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "id": [1, "b", "c"],
            "rep": ["ann"] * 3,
            "day": [DAY, "2027-02-03", DAY],
            "amount": [100, "200.5", Decimal("Infinity")],
            "units": [1, 2, 3],
        }
    )
    result = spmlang.loads(PLAN, "found.spm").run(frame)
    assert [r["amount"] for r in result.totals().to_pylist()] == [Decimal("30.05")]
    [reject] = result.rejects.to_pylist()
    assert (reject["row"], reject["key"], reject["column"]) == (3, "c", "amount")
    assert reject["message"].startswith("cannot read 'Infinity' as an amount of money")
    try:
        spmlang.loads(PLAN, "found.spm").run(pd.Series([1, 2]))
    except spmlang.InputError as error:
        assert "cannot read the transactions from a pandas Series" in str(error)
    else:
        raise AssertionError("a Series was read as a table")


def test_a_file_is_read_for_what_it_is_or_named_for_it(spm, tmp_path):
    """A parquet file named .csv said 'the column id is missing; the file has: PAR1...'; an Arrow stream named
    .arrow 'Not a Feather V1 or Arrow IPC file'; a CSV header with no line end after it 'Could not skip initial
    1 rows'."""
    table = _deals(amount=[100.0])
    pq.write_table(table, tmp_path / "deals.csv")
    (tmp_path / "found.spm").write_text(PLAN)
    result = spm("run", tmp_path / "found.spm", "--deals", tmp_path / "deals.csv")
    assert result.returncode == 2
    assert (
        result.stderr
        == f"error[E500]: {tmp_path / 'deals.csv'}: is a parquet file, not a CSV file\n  = hint: name it .parquet\n"
    )
    with pa.OSFile(str(tmp_path / "stream.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    plan = spmlang.loads(PLAN, "found.spm")
    assert plan.run(tmp_path / "stream.arrow").totals().equals(plan.run(table).totals())
    (tmp_path / "header.csv").write_text("id,rep,day,amount,units")
    assert plan.run(tmp_path / "header.csv").summary().accounting["read"] == 0


def test_one_amount_with_seven_decimals_leaves_the_others_exact(tmp_path):
    """One value with more than six decimals sent the whole column through floats: 98765432109.015 was paid as
    98,765,432,109.01."""
    plan = spmlang.loads(PLAN.replace("rate 10%", "rate 100%"), "found.spm")
    head = "id,rep,day,amount,units\nA,ann,2027-01-05,98765432109.015,1\n"
    (tmp_path / "six.csv").write_text(head + "B,bo,2027-01-05,1.5,1\n")
    (tmp_path / "seven.csv").write_text(head + "B,bo,2027-01-05,1.5000001,1\nC,bo,2027-01-05,2E-7,1\n")
    for name in ("six.csv", "seven.csv"):
        [ann] = [r for r in plan.run(tmp_path / name).totals().to_pylist() if r["payee"] == "ann"]
        assert ann["amount"] == Decimal("98765432109.02"), name


def test_a_plan_year_spm_cannot_count_is_an_error_where_it_is_written():
    """year starts 9999-02-01 passed spm check and was an internal error at run time (year 10000); year 0001 was
    accepted and every row then rejected."""
    for year in ("9999-02-01", "0001-01-01"):
        try:
            spmlang.loads(PLAN.replace("year starts 2027-01-01", f"year starts {year}"), "found.spm")
        except spmlang.PlanError as error:
            assert "E404" in error.render() and "a plan year starts between 1900 and 2999" in str(error)
        else:
            raise AssertionError(f"year starts {year} was accepted")


def test_a_quota_period_given_as_a_datetime_is_read_as_its_date():
    """A pandas datetime64 period column was read as '2027-01-01 00:00:00.000000', 'not a period of this plan'."""
    import pandas as pd

    plan = spmlang.loads(
        PLAN.replace("component commission {", "quotas {\n  per period\n}\ncomponent commission {"), "q.spm"
    )
    quotas = pd.DataFrame({"payee": ["ann"], "period": pd.to_datetime(["2027-01-01"]), "amount": [1000.0]})
    result = plan.run(_deals(amount=[100.0]), quotas=quotas)
    assert result.totals().num_rows == 1


def test_string_view_columns_are_read_as_text_of_any_type():
    """polars' string_view text was read for text columns and refused (E502) for dates and money."""
    view = pa.string_view()
    table = pa.table(
        {
            "id": pa.array(["a"], view),
            "rep": pa.array(["ann"], view),
            "day": pa.array(["2027-02-01"], view),
            "amount": pa.array(["100.50"], view),
            "units": pa.array(["2"], view),
        }
    )
    [line] = spmlang.loads(PLAN, "found.spm").run(table).totals().to_pylist()
    assert (line["period"], line["amount"]) == ("2027-Q1", Decimal("10.05"))


def test_shares_over_100_percent_name_their_columns():
    """The reject of a split whose shares add up past 100% named no column, and not the shares it added."""
    plan = spmlang.loads(
        PLAN.replace(
            "column units  integer",
            "column units  integer\n  column rep2 text\n  column s1 percent\n  column s2 percent",
        ).replace("payee  rep", "payee  rep share s1\n  payee  rep2 share s2"),
        "split.spm",
    )
    table = _deals(amount=[100.0]).append_column("rep2", pa.array(["bo"]))
    table = table.append_column("s1", pa.array([0.6])).append_column("s2", pa.array([0.5]))
    [reject] = plan.run(table).rejects.to_pylist()
    assert (reject["reason"], reject["column"]) == ("bad_split", "s1")
    assert reject["message"] == "shares add up to 110% (s1 + s2), more than 100%"


def test_ids_past_what_a_float_holds_are_rejected_not_merged(tmp_path):
    """JSON ids 12345678901234567891 and ...892 are read by Arrow as one float: the second was rejected as a
    duplicate of a key the file does not have."""
    rows = [(12345678901234567891, 1), (12345678901234567892, 2), (5, 3)]
    (tmp_path / "deals.jsonl").write_text(
        "".join(
            f'{{"id": {key}, "rep": "ann", "day": "2027-02-01", "amount": {amount}, "units": 1}}\n'
            for key, amount in rows
        )
    )
    result = spmlang.loads(PLAN, "found.spm").run(tmp_path / "deals.jsonl")
    rejects = result.rejects.to_pylist()
    assert [(r["row"], r["reason"], r["column"]) for r in rejects] == [
        (1, "invalid_value", "id"),
        (2, "invalid_value", "id"),
    ]
    assert "too large to be the one written exactly: write it as text" in rejects[0]["message"]
    assert [r["amount"] for r in result.totals().to_pylist()] == [Decimal("0.30")]


def test_a_row_of_too_few_fields_is_numbered_as_rejects_are_after_a_blank_line(tmp_path):
    """docs/cli.md: blank lines are not counted. A row with too few fields after a blank line was numbered by
    its line (4), where a bad value in the same place is row 3."""
    head = "id,rep,day,amount,units\nA,ann,2027-02-01,10,1\n\n"
    (tmp_path / "short.csv").write_text(head + "B,ann,2027-02-01,10\n")
    (tmp_path / "bad.csv").write_text(head + "B,ann,2027-02-31,10,1\n")
    plan = spmlang.loads(PLAN, "found.spm")
    [reject] = plan.run(tmp_path / "bad.csv").rejects.to_pylist()
    try:
        plan.run(tmp_path / "short.csv")
    except spmlang.InputError as error:
        assert f"row {reject['row']}: this row has 4 fields, but the header has 5" in str(error)
    else:
        raise AssertionError("a row of 4 fields was read")
