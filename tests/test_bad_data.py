"""Every kind of bad input ends in a reasoned reject or a clear error, through the API and through the CLI.

One file though long: the cases are a table (REJECTS) and the tests run each through both ways in."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import spmlang

PLAN = """plan "Bad data" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id      text
  column rep     text
  column day     date
  column product text
  column amount  money
  key    id
  date   day
  payee  rep
  credit amount
  POLICY
}
quotas {
  rows {
    ann 2027-Q1 $100,000
    ann 2027-Q2 $100,000
    bo  2027-Q1 $0
  }
}
table products {
  column product text
  column rate    percent
  key product
  rows {
    "GTX Pro"    5%
    "MG Special" 3%
  }
}
component commission {
  rate products[product]
  accelerator on attainment {
    0%   .. 100% 1x
    100% ..      1.5x
  }
}
"""
HEADER = "id,rep,day,product,amount\n"
GOOD = "G1,ann,2027-01-05,GTX Pro,1000.00\n"

# name: (file content after the header, reason, column, part of the message)
REJECTS = {
    "unparsable date": ("B1,ann,2027-02-30,GTX Pro,10\n", "invalid_value", "day", "cannot read '2027-02-30' as a date"),
    "empty key": (",ann,2027-01-05,GTX Pro,10\n", "missing_value", "id", "the key (id) is empty"),
    "empty payee": ("B1,,2027-01-05,GTX Pro,10\n", "missing_value", "rep", "the payee (rep) is empty"),
    "a payee of white space": ("B1, \t,2027-01-05,GTX Pro,10\n", "missing_value", "rep", "the payee (rep) is empty"),
    "a key of white space": ("  ,ann,2027-01-05,GTX Pro,10\n", "missing_value", "id", "the key (id) is empty"),
    "empty date": ("B1,ann,,GTX Pro,10\n", "missing_value", "day", "the date (day) is empty"),
    "empty amount": ("B1,ann,2027-01-05,GTX Pro,\n", "missing_value", "amount", "the credit (`amount`) is empty"),
    "a date of white space": ("B1,ann,  ,GTX Pro,10\n", "missing_value", "day", "the date (day) is empty"),
    "an amount of white space": (
        "B1,ann,2027-01-05,GTX Pro, \n",
        "missing_value",
        "amount",
        "the credit (`amount`) is empty",
    ),
    "an amount too large": (
        "B1,ann,2027-01-05,GTX Pro,5000000000000\n",
        "invalid_value",
        "amount",
        "'5000000000000' is too large: amounts must be less than 4,611,686,018,427.387904",
    ),
    "not a number": ("B1,ann,2027-01-05,GTX Pro,NaN\n", "invalid_value", "amount", "cannot read 'NaN'"),
    "duplicate key": (
        "G1,ann,2027-01-06,GTX Pro,10\n",
        "duplicate_key",
        "id",
        "duplicate key 'G1' (first seen at row 2)",
    ),
    "no quota": ("B1,cy,2027-01-05,GTX Pro,10\n", "missing_quota", None, "no quota for cy in 2027-Q1"),
    "zero quota": ("B1,bo,2027-01-05,GTX Pro,10\n", "missing_quota", None, "the quota basis of bo is zero in 2027-Q1"),
    "outside the plan year": ("B1,ann,2028-01-05,GTX Pro,10\n", "outside_year", "day", "outside the plan year"),
}
# A key not in the table the component's rate looks up: the row is credited, and the component does not pay it
# (tests/test_unpaid.py); `on missing_lookup error` stops the run.
LOOKUP_MISS = "B1,ann,2027-01-05,GTXPro,10\n"


def plan(policy: str = "") -> spmlang.Plan:
    return spmlang.loads(PLAN.replace("POLICY", policy), "bad.spm")


def write_plan(tmp_path, policy: str = ""):
    path = tmp_path / "bad.spm"
    path.write_text(PLAN.replace("POLICY", policy))
    return path


@pytest.mark.parametrize("case", sorted(REJECTS))
def test_bad_rows_are_rejected_with_their_reason_through_the_api(tmp_path, case):
    content, reason, column, message = REJECTS[case]
    deals = tmp_path / "deals.csv"
    deals.write_text(HEADER + GOOD + content)
    result = plan().run(deals)
    (reject,) = result.rejects.to_pylist()
    assert (reject["row"], reject["reason"], reject["column"]) == (3, reason, column)
    assert message in reject["message"]
    counts = result.accounting
    assert counts["read"] == 2 and counts["credited"] == 1 and counts["rejected"] == {reason: 1}


@pytest.mark.parametrize("case", sorted(REJECTS))
def test_bad_rows_are_rejected_with_their_reason_through_the_cli(spm, tmp_path, case):
    content, reason, column, message = REJECTS[case]
    deals = tmp_path / "deals.csv"
    deals.write_text(HEADER + GOOD + content)
    rejects = tmp_path / "rejects.csv"
    result = spm("run", write_plan(tmp_path), "--deals", deals, "--rejects", rejects)
    assert result.returncode == 0, result.stderr
    assert f"rejected, {reason.replace('_', ' ')}: 1" in result.stdout
    assert reason in rejects.read_text() and message.split("'")[0] in rejects.read_text()
    strict = spm("run", write_plan(tmp_path), "--deals", deals, "--strict")
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert f"{deals}, row 3" in strict.stderr and "--strict" in strict.stderr


def test_a_run_that_credits_nothing_says_so_and_names_the_commonest_fate(spm, tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(
        HEADER + "A1,ann,2026-03-01,GTX Pro,10\nA2,ann,2026-04-01,GTX Pro,10\nA3,ann,2027-13-01,GTX Pro,10\n"
    )
    (warning,) = plan().run(deals).summary().warnings
    assert warning == (
        "no transaction was credited: of 3 rows, 2 were rejected (outside year); is this the right "
        "file for this plan (and its plan year)? The first: the date 2026-03-01 is outside the plan "
        "year (2027-01-01 to 2027-12-31)"
    )
    result = spm("run", write_plan(tmp_path), "--deals", deals)
    assert result.returncode == 0 and "warning: no transaction was credited" in result.stdout
    deals.write_text(HEADER)
    assert plan().run(deals).summary().warnings == ["the transactions table has no rows: nothing was paid"]
    deals.write_text(HEADER + GOOD)
    assert plan().run(deals).summary().warnings == []


def test_the_plan_chooses_error_for_a_kind_of_problem(spm, tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(HEADER + GOOD + LOOKUP_MISS)
    with pytest.raises(spmlang.InputError) as caught:
        plan("on missing_lookup error").run(deals)
    assert caught.value.code == "E510" and caught.value.row == 3 and caught.value.column == "product"
    assert "the plan says `on missing_lookup error`" in caught.value.hint
    result = spm("run", write_plan(tmp_path, "on missing_lookup error"), "--deals", deals)
    assert result.returncode == 2 and "'GTXPro' is not in table products" in result.stderr
    # other problems keep the default: reject
    deals.write_text(HEADER + GOOD + REJECTS["duplicate key"][0])
    assert plan("on missing_lookup error").run(deals).accounting["rejected"] == {"duplicate_key": 1}


def _parquet(path, **columns):
    pq.write_table(pa.table(columns), path)
    return path


ERRORS = {
    "a declared column missing": (
        lambda p: p.write_text("id,rep,day,amount\nG1,ann,2027-01-05,10\n") or p,
        "deals.csv",
        "column 'product': the column 'product' is missing",
    ),
    "a column of the wrong type": (
        lambda p: _parquet(
            p, id=["G1"], rep=["ann"], day=pa.array([20270105], pa.int64()), product=["GTX Pro"], amount=[10.0]
        ),
        "deals.parquet",
        "column 'day': the column is int64, which cannot be read as date",
    ),
    "an empty file": (lambda p: p.write_text("") or p, "deals.csv", "the file is empty"),
    "a truncated parquet file": (
        lambda p: (_parquet(p, id=["G1"] * 50, rep=["ann"] * 50), p.write_bytes(p.read_bytes()[:90]))[0],
        "deals.parquet",
        "cannot read this parquet file",
    ),
    "a corrupt parquet file": (
        lambda p: p.write_bytes(b"PAR1 this is not parquet PAR1") or p,
        "deals.parquet",
        "cannot read this parquet file",
    ),
    "a row with a field too few": (
        lambda p: p.write_text(HEADER + GOOD + "G2,ann,2027-01-05,GTX Pro\n") or p,
        "deals.csv",
        "row 3: this row has 4 fields, but the header has 5",
    ),
    "a row with a field too many, after a value over two lines": (  # rows as a spreadsheet counts them, blank lines not
        lambda p: (
            p.write_text(
                HEADER
                + '"G\n1",ann,2027-01-05,GTX Pro,1\n'
                + GOOD * 3_000
                + "\n"
                + "G2,ann,2027-01-05,GTX Pro,1,000.00\n"
            )
            or p
        ),
        "deals.csv",
        "row 3003: this row has 6 fields, but the header has 5\n  = hint: a value with ',' in it needs double quotes",
    ),
    "a column twice in a CSV header": (
        lambda p: p.write_text("id,amount,rep,day,product,amount\nG1,1,ann,2027-01-05,GTX Pro,2\n") or p,
        "deals.csv",
        "column 'amount': the column 'amount' appears twice: columns 2 (B) and 6 (F)",
    ),
    "a column twice in a parquet file": (
        lambda p: (
            pq.write_table(
                pa.table(
                    [["G1"], ["ann"], ["2027-01-05"], ["GTX Pro"], ["1"], ["2"]],
                    names=["id", "rep", "day", "product", "amount", "amount"],
                ),
                p,
            )
            or p
        ),
        "deals.parquet",
        "the column 'amount' appears twice: columns 5 and 6",
    ),
    "a column twice in a JSON object": (
        lambda p: (
            p.write_text(
                '{"id": "G1", "rep": "ann", "day": "2027-01-05", "product": "GTX Pro", "amount": 1}\n'
                * 2
                + '{"id": "G2", "rep": "ann", "day": "2027-01-05", "product": "GTX Pro", '
                '"amount": 1, "amount": 2}\n'
            )
            or p
        ),
        "deals.jsonl",
        "row 3, column 'amount': the column 'amount' appears twice in this row",
    ),
    "a CSV file saved as Windows-1252": (  # the first value not UTF-8 among thousands, in a column the plan reads
        lambda p: (
            p.write_bytes(
                (
                    "id,rep,day,product,amount\n"
                    + "G1,ann,2027-01-05,GTX Pro,10\n" * 5000
                    + "G2,josé,2027-01-05,GTX Pro,10\nG3,zoë,2027-01-05,GTX Pro,10\n"
                ).encode("cp1252")
            )
            or p
        ),
        "deals.csv",
        "row 5002, column 'rep': 'jos\\xe9' is not UTF-8 text\n  = hint: spm reads CSV files as UTF-8",
    ),
    "a CSV file saved as Excel's Unicode Text": (  # UTF-16 with its byte order mark; the header read garbled
        lambda p: p.write_bytes("id,rep,day,product,amount\nG1,ann,2027-01-05,GTX Pro,10\n".encode("utf-16")) or p,
        "deals.csv",
        "the file is UTF-16 text, not UTF-8\n  = hint: spm reads CSV files as UTF-8",
    ),
    "a CSV file in UTF-16 without a byte order mark": (
        lambda p: p.write_bytes("id,rep,day,product,amount\nG1,ann,2027-01-05,GTX Pro,10\n".encode("utf-16-le")) or p,
        "deals.csv",
        "the file is UTF-16 text, not UTF-8",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_unusable_inputs_are_errors_naming_the_file(spm, tmp_path, case):
    make, name, message = ERRORS[case]
    deals = tmp_path / name
    make(deals)
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(deals)
    assert message in str(caught.value) and str(deals) in str(caught.value)
    result = spm("run", write_plan(tmp_path), "--deals", deals)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_white_space_around_text_is_no_part_of_it(tmp_path, suffix):
    # as spreadsheets leave it: ' ann' is ann (one payee, with her quota), 'GTX Pro ' is in the products table
    rows = [("G1", "ann", "GTX Pro"), ("G2", " ann\u00a0", "GTX Pro "), ("G3", "\tann", " MG Special")]
    deals = tmp_path / f"deals{suffix}"
    table = pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": [r[1] for r in rows],
            "day": ["2027-01-05"] * 3,
            "product": [r[2] for r in rows],
            "amount": ["1000.00"] * 3,
        }
    )
    if suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, deals)
    else:  # the payee column dictionary-encoded, as many parquet writers store it
        pq.write_table(table.set_column(1, "rep", table.column("rep").dictionary_encode()), deals)
    result = plan().run(deals)
    assert result.accounting["credited"] == 3
    lines = result.ledger.to_pylist()
    assert {line["payee"] for line in lines} == {"ann"}
    assert [str(line["amount"]) for line in lines] == ["50.00", "50.00", "30.00"]


def test_text_that_is_not_utf8_in_a_column_the_plan_does_not_read_is_no_error(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_bytes("id,rep,day,product,amount,note\nG1,ann,2027-01-05,GTX Pro,10,café\n".encode("cp1252"))
    assert plan().run(deals).ledger.column("txn").to_pylist() == ["G1"]


def test_bom_semicolons_and_thousands_separators_are_read(tmp_path):
    text = PLAN.replace("POLICY", "").replace("column amount  money", 'column amount  money "1.234,56"')
    text = text.replace("column day     date", 'column day     date "%d.%m.%Y"')
    deals = tmp_path / "deals.csv"
    deals.write_bytes("\ufeffid;rep;day;product;amount\nG1;ann;05.01.2027;GTX Pro;1.234,50\n".encode("utf-8"))
    result = spmlang.loads(text).run(deals)
    (line,) = result.ledger.to_pylist()
    assert (line["txn"], line["date"], str(line["credit"]), str(line["amount"])) == (
        "G1",
        dt.date(2027, 1, 5),
        "1234.50",
        "61.73",
    )


def test_a_problem_with_the_transactions_is_reported_before_one_with_the_quotas(tmp_path):
    # the quotas are read on another thread while the transactions are; the errors still come in that order
    quotas, deals, missing = tmp_path / "quotas.csv", tmp_path / "deals.csv", tmp_path / "missing.csv"
    quotas.write_text("")
    deals.write_text(HEADER + GOOD)
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(deals, quotas=quotas)
    assert str(quotas) in str(caught.value) and "the file is empty" in str(caught.value)
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(missing, quotas=quotas)
    assert str(missing) in str(caught.value) and str(quotas) not in str(caught.value)


def test_a_row_with_several_problems_meets_the_first_in_the_order_of_the_steps(tmp_path):
    # key check, then filters, then empty values, then the plan year, then the credit: the first fate stands
    deals = tmp_path / "deals.csv"
    deals.write_text(
        HEADER + GOOD + "G1,ann,2027-01-06,GTX Pro,1\n"  # a duplicate key, and filtered out
        "B2,ann,2028-01-05,GTX Pro,1\n"  # filtered out, and outside the year
        "B3,,2028-01-05,GTX Pro,10\n"  # no payee, and outside the year
        "B4,ann,2028-01-05,GTX Pro,NaN\n"  # outside the year, and a credit that is not a number
        "B5,ann,2027-01-05,GTX Pro,x\n"
    )  # a credit that cannot be read: filtered on an empty value
    result = plan("where big: amount > 5").run(deals)
    fates = {(r["row"], r["reason"]) for r in result.rejects.to_pylist()}
    assert fates == {(3, "duplicate_key"), (5, "missing_value"), (6, "invalid_value"), (7, "invalid_value")}
    assert [e["row"] for e in result.excluded.to_pylist()] == [4]
    assert result.accounting["credited"] == 1


@pytest.mark.parametrize("block", [4_096, 160_000])  # ~140 pieces; or one of ~4,500 rows and one of ~1,500
def test_a_csv_file_read_in_pieces_pays_as_the_same_rows_in_one_table(tmp_path, monkeypatch, block):
    from spmlang.engine.read import csv_files

    rows = [
        f"G{i},{'ann' if i % 3 else 'bo'},2027-0{1 + i % 6}-{1 + i % 28:02d},{'GTX Pro' if i % 2 else 'MG Special'},"
        f"{i % 997}.{i % 100:02d}\n"
        for i in range(6_000)
    ]
    rows[4_321] = "B1,ann,2027-02-30,GTX Pro,10\n"  # rejected, in a later piece: its row number counts them all
    deals = tmp_path / "deals.csv"
    deals.write_text(HEADER + "".join(rows))
    whole = plan().run(
        pa.table(
            {
                name: pa.array(values)
                for name, values in zip(
                    HEADER.strip().split(","), zip(*(r.strip().split(",") for r in rows), strict=True), strict=True
                )
            }
        )
    )
    monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", block)
    pieces = plan().run(deals)
    assert pieces.accounting == whole.accounting and pieces.accounting["read"] == 6_000
    (unreadable,) = [r for r in pieces.rejects.to_pylist() if r["reason"] == "invalid_value"]
    assert unreadable["row"] == 4_323 and unreadable["key"] == "B1"  # the header is row 1
    assert pieces.ledger.drop_columns(["run_id"]).equals(whole.ledger.drop_columns(["run_id"]))


def test_a_csv_file_read_in_pieces_names_text_that_is_not_utf8_and_takes_a_header_alone(tmp_path, monkeypatch):
    from spmlang.engine.read import csv_files

    monkeypatch.setattr(csv_files, "CSV_BLOCK_BYTES", 4_096)
    deals = tmp_path / "deals.csv"
    deals.write_bytes((HEADER + GOOD * 3_000 + "G2,josé,2027-01-05,GTX Pro,10\n").encode("cp1252"))
    with pytest.raises(spmlang.InputError, match=r"row 3002, column 'rep': 'jos\\xe9' is not UTF-8 text"):
        plan().run(deals)
    deals.write_text(HEADER)
    assert plan().run(deals).accounting["read"] == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda table: table,
        lambda table: table.to_pandas(),
    ],
    ids=["pyarrow", "pandas"],
)
def test_a_table_in_memory_with_a_column_twice_is_an_error_when_the_plan_reads_it(make):
    columns = [["G1"], ["ann"], ["2027-01-05"], ["GTX Pro"], ["10"]]
    twice = make(pa.table(columns + [["20"]], names=["id", "rep", "day", "product", "amount", "amount"]))
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(twice)
    assert caught.value.code == "E507" and caught.value.column == "amount"
    assert "the column 'amount' appears twice: columns 5 and 6" in str(caught.value)
    unread = make(pa.table(columns + [["x"], ["y"]], names=["id", "rep", "day", "product", "amount", "note", "note"]))
    assert plan().run(unread).accounting["credited"] == 1


def test_empty_values_are_empty_whatever_the_file_holds_them_as(tmp_path):
    pandas = pytest.importorskip("pandas")
    text = PLAN.replace("POLICY", "where open: closed is empty").replace(
        "column amount  money", "column amount  money\n  column closed  date"
    )
    rows = {
        "id": ["G1", "B1", "B2", "B3", "B4", "B5"],
        "rep": ["ann"] * 6,
        "day": ["2027-01-05", "2027-01-05", " ", "2027-01-05", "2027-01-05", None],
        "product": ["GTX Pro"] * 6,
        "amount": [1000.0, float("nan"), 10.0, 10.0, float("inf"), 10.0],
        "closed": ["", "", "", "2027-02-01", "", "\t"],
    }
    frame = pandas.DataFrame(rows)  # day: text with white space and None; amount: NaN, as pandas writes a gap
    path = tmp_path / "deals.parquet"
    frame.to_parquet(path)
    for source in (frame, path, pa.table(rows)):
        result = spmlang.loads(text).run(source)
        fates = {r["key"]: (r["reason"], r["column"]) for r in result.rejects.to_pylist()}
        assert fates == {
            "B1": ("missing_value", "amount"),
            "B2": ("missing_value", "day"),
            "B4": ("invalid_value", "amount"),
            "B5": ("missing_value", "day"),
        }
        assert result.accounting["excluded"] == {"open": 1}  # B3: a date, so not empty
        assert result.accounting["credited"] == 1


def test_a_value_no_rule_needs_may_be_empty(tmp_path):
    text = PLAN.replace("POLICY", "").replace("column amount  money", "column amount  money\n  column discount number")
    table = pa.table(
        {
            "id": ["G1", "G2"],
            "rep": ["ann"] * 2,
            "day": ["2027-01-05"] * 2,
            "product": ["GTX Pro"] * 2,
            "amount": ["1000"] * 2,
            "discount": pa.array([0.1, float("nan")]),
        }
    )
    assert spmlang.loads(text).run(table).accounting["credited"] == 2


QUOTAS_IN_PLAN = "    ann 2027-Q2 $100,000\n"


@pytest.mark.parametrize(
    "where, message",
    [
        ("plan", "bad.spm:20:5, column 'amount': the quota -100,000.00 is negative"),
        ("quotas.csv", "quotas.csv, row 3, column 'amount': the quota -2,500.50 is negative"),
        ("targets.csv", "targets.csv, row 2, column 'amount': the target incentive -100.00 is negative"),
    ],
)
def test_a_negative_quota_or_target_is_an_error_naming_its_row(spm, tmp_path, where, message):
    text = PLAN.replace("POLICY", "") + "component bonus {\n  pay 10% of target once when attainment >= 100%\n}\n"
    if where == "plan":
        text = text.replace(QUOTAS_IN_PLAN, QUOTAS_IN_PLAN.replace("$100,000", "-$100,000"))
    (tmp_path / "quotas.csv").write_text("payee,period,amount\nann,2027-Q1,100\nann,2027-Q2,-2500.50\n")
    (tmp_path / "targets.csv").write_text(
        "payee,amount\nann,-100\n" if where == "targets.csv" else "payee,amount\nann,100\n"
    )
    (tmp_path / "bad.spm").write_text(text)
    (tmp_path / "deals.csv").write_text(HEADER + GOOD)
    args = ["--targets", "targets.csv"] + (["--quotas", "quotas.csv"] if where == "quotas.csv" else [])
    result = spm("run", "bad.spm", "--deals", "deals.csv", *args, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error[E504]: {message}" in result.stderr, result.stderr
