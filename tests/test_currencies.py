"""Currencies: money converted at the rate of a transaction's date, of its period's end, or a fixed rate; rows
without a rate rejected; payouts paid in another currency; the fx table read strictly.

The worked scenario is S15 (tests/test_scenarios.py); here, each rule on a small plan written inline.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from helpers import by_txn, d, lines, quarterly_plan

import spmlang
from spmlang.ir.constants import CURRENCY_CODES as CODES

PLAN = """plan "FX" {
  currency USD
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  column cur    text
  key id
  date day
  payee rep
  credit amount
  currency cur AT
  where big: amount >= $1,000
}
component commission {
  rate 10%
}
"""

RATES = pa.table(
    {
        "date": pa.array([dt.date(2027, 1, 1), dt.date(2027, 3, 15), dt.date(2027, 1, 1)], pa.date32()),
        "currency": ["EUR", "EUR", "GBP"],
        "rate": [1.1, 1.2, 1.25],
    }
)


def plan(at: str = "") -> spmlang.Plan:
    return spmlang.loads(PLAN.replace(" AT", f" {at}" if at else ""), "fx.spm")


def deals(*rows) -> pa.Table:
    """rows: (id, 'YYYY-MM-DD' or None, amount, currency)"""
    return pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": ["ann"] * len(rows),
            "day": pa.array([dt.date.fromisoformat(r[1]) if r[1] else None for r in rows], pa.date32()),
            "amount": pa.array([Decimal(str(r[2])) for r in rows], pa.decimal128(24, 2)),
            "cur": pa.array([r[3] for r in rows], pa.string()),
        }
    )


DEALS = deals(
    ("E1", "2027-03-14", 1000, "EUR"),  # the day before EUR's second rate
    ("E2", "2027-03-15", 1000, "EUR"),
    ("G1", "2027-02-01", 1000, "GBP"),
    ("U1", "2027-02-01", 1000, "USD"),
)


def test_at_the_transaction_s_date_the_rate_in_force_that_day():
    result = plan().run(DEALS, tables={"fx": RATES})
    assert by_txn(result) == {"E1": d("110.00"), "E2": d("120.00"), "G1": d("125.00"), "U1": d("100.00")}
    assert {line["txn"]: line["fx_date"] for line in lines(result)} == {
        "E1": dt.date(2027, 1, 1),
        "E2": dt.date(2027, 3, 15),
        "G1": dt.date(2027, 1, 1),
        "U1": None,
    }


def test_at_period_end_the_rate_of_the_period_s_last_day():
    result = plan("at period end").run(DEALS, tables={"fx": RATES})
    assert by_txn(result) == {"E1": d("120.00"), "E2": d("120.00"), "G1": d("125.00"), "U1": d("100.00")}


def test_at_fixed_rates_the_fx_table_s_one_rate_per_currency():
    fixed = pa.table({"currency": ["EUR", "GBP"], "rate": [1.05, 1.3]})
    result = plan("at fixed rate").run(DEALS, tables={"fx": fixed})
    assert by_txn(result) == {"E1": d("105.00"), "E2": d("105.00"), "G1": d("130.00"), "U1": d("100.00")}
    assert {line["fx_date"] for line in lines(result)} == {None}


def test_money_converts_before_the_filters_compare_it():
    # 950 EUR is 1,045 USD at 1.10: over the filter's $1,000. 950 USD is not.
    result = plan().run(deals(("E1", "2027-02-01", 950, "EUR"), ("U1", "2027-02-01", 950, "USD")), tables={"fx": RATES})
    assert by_txn(result) == {"E1": d("104.50")}
    assert result.accounting["excluded"] == {"big": 1}


def test_a_row_without_a_currency_or_a_rate_is_rejected_never_taken_1_to_1():
    result = plan().run(
        deals(
            ("E0", "2026-12-31", 5000, "EUR"),  # outside the year: its reason, though no rate holds then either
            ("E1", "2027-02-01", 5000, None),
            ("J1", "2027-02-01", 5000, "JPY"),
            ("D1", None, 5000, "EUR"),
            ("B1", "2027-02-01", 4_611_686_018_427, "EUR"),  # too large once converted
            ("L1", "2027-02-01", 5000, "usd"),  # the plan currency's code, not in capitals: no code at all
            ("L2", "2027-02-01", 5000, "EURO"),
        ),
        tables={"fx": RATES},
    )
    assert {r["key"]: (r["reason"], r["message"]) for r in result.rejects.to_pylist()} == {
        "E0": ("outside_year", "the date 2026-12-31 is outside the plan year (2027-01-01 to 2027-12-31)"),
        "E1": ("missing_value", "the currency (cur) is empty"),
        "J1": ("missing_fx_rate", "no JPY rate on or before 2027-02-01 in the fx table"),
        "D1": ("missing_value", "the date (day) is empty"),
        "B1": ("invalid_value", "the amount of amount converted is too large to hold"),
        "L1": ("invalid_value", f"'usd' is not a currency code: {CODES}"),
        "L2": ("invalid_value", f"'EURO' is not a currency code: {CODES}"),
    }


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"currency": ["EUR"], "rate": [0.0]}, "the EUR rate 0 is not a rate"),
        ({"currency": ["USD"], "rate": [1.1]}, "the plan currency's rate is 1.1"),
        ({"currency": ["EUR", "EUR"], "rate": [1.1, 1.2]}, "two EUR rates"),
        ({"currency": ["EUR", "eur"], "rate": [1.1, 1.2]}, "'eur' is not a currency code"),
        ({"currency": ["EURO"], "rate": [1.1]}, "'EURO' is not a currency code"),
    ],
)
def test_the_fx_table_must_be_clean(rates, message):
    with pytest.raises(spmlang.InputError, match=message) as error:
        plan("at fixed rate").run(DEALS, tables={"fx": pa.table(rates)})
    assert error.value.code == "E504"


PAID_IN = quarterly_plan(
    "Paid in",
    """roster {
  payee    rep
  start    hired
  currency paid_in
}
fx {
  file "fx.csv"
}
component commission {
  rate 10%
}
""",
    "  currency USD\n",
)


def test_a_payee_is_paid_in_the_currency_of_their_row_at_each_period_s_end(tmp_path):
    # ann is paid in GBP until June 30, in EUR from July 1: Q1 and Q2 in GBP, Q3 in EUR.
    (tmp_path / "plan.spm").write_text(PAID_IN)
    (tmp_path / "fx.csv").write_text(
        "date,currency,rate\n2027-01-01,GBP,1.25\n2027-06-30,GBP,1.3\n2027-01-01,EUR,1.1\n"
    )
    (tmp_path / "deals.csv").write_text(
        "id,rep,day,amount\nA1,ann,2027-02-01,1000\nA2,ann,2027-05-01,1300\nA3,ann,2027-08-01,1000\n"
    )
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\nann,2027-07-01,EUR\n")
    result = spmlang.load(tmp_path / "plan.spm").run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")
    paid = [(line["period"], line["amount_paid"], line["currency_paid"]) for line in lines(result, kind="fx")]
    assert paid == [("2027-Q1", d("80.00"), "GBP"), ("2027-Q2", d("100.00"), "GBP"), ("2027-Q3", d("90.91"), "EUR")]
    assert lines(result, kind="fx")[1]["explanation"] == (
        "paid in GBP: 130.00 USD ÷ 1.3 (the GBP rate of 2027-06-30) = 100.00 GBP"
    )
    # The ledger's columns say it too, and the statement's CSV has the payout paid.
    assert lines(result, txn="A1")[0]["currency"] is None  # the plan names no transaction currency
    [q3] = result.statements(["ann"], ["2027-Q3"])
    assert q3.to_csv().splitlines()[-1] == (
        "paid,,,,fx,,90.91,paid in EUR: 100.00 USD ÷ 1.1 (the EUR rate of 2027-01-01) = 90.91 EUR,plan.spm:19"
    )


def test_a_closed_period_keeps_the_currency_it_was_paid_in(tmp_path):
    # Q1 was paid to ann in GBP. A roster rewritten to pay her in EUR from the start would say Q1 was paid in
    # EUR: refused; a change from an open period on is a row that starts then.
    (tmp_path / "plan.spm").write_text(PAID_IN)
    (tmp_path / "fx.csv").write_text("date,currency,rate\n2027-01-01,GBP,1.25\n2027-01-01,EUR,1.1\n")
    (tmp_path / "deals.csv").write_text("id,rep,day,amount\nA1,ann,2027-02-01,1000\nA2,ann,2027-05-01,1300\n")
    plan = spmlang.load(tmp_path / "plan.spm")
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\n")
    plan.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv", through="2027-Q1").write(tmp_path / "q1.parquet")
    for roster, said in [
        ("rep,hired,paid_in\nann,2026-01-01,EUR\n", "the roster now pays them in EUR"),
        ("rep,hired,paid_in\nann,2026-01-01,\n", "the roster now pays them in USD"),
    ]:
        (tmp_path / "roster.csv").write_text(roster)
        with pytest.raises(spmlang.InputError) as raised:
            plan.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv", paid=tmp_path / "q1.parquet")
        assert (raised.value.code, raised.value.file) == ("E512", str(tmp_path / "q1.parquet"))
        assert raised.value.message == f"ann was paid in GBP for 2027-Q1, a closed period; {said}"
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\nann,2027-04-01,EUR\n")
    q2 = plan.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv", paid=tmp_path / "q1.parquet")
    assert [(line["period"], line["currency_paid"]) for line in lines(q2, kind="fx")][0] == ("2027-Q2", "EUR")


def test_spm_verify_reproduces_a_ledger_with_currencies(spm, tmp_path):
    (tmp_path / "plan.spm").write_text(PAID_IN)
    (tmp_path / "fx.csv").write_text("date,currency,rate\n2027-01-01,GBP,1.25\n")
    (tmp_path / "deals.csv").write_text("id,rep,day,amount\nA1,ann,2027-02-01,1000\n")
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\n")
    run = spm(
        "run", "plan.spm", "--deals", "deals.csv", "--roster", "roster.csv", "--out", "ledger.parquet", cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    verified = spm("verify", "ledger.parquet", cwd=tmp_path)
    assert verified.returncode == 0 and "identical" in verified.stdout, verified.stdout + verified.stderr


def test_a_payee_paid_a_draw_alone_in_another_currency_has_the_payment_on_the_fx_line(tmp_path, monkeypatch):
    # bo has no transaction: paid a draw only, by a batch of a run paid in many (one credit row each). The fx
    # line finds bo's payment among every batch's.
    (tmp_path / "plan.spm").write_text(PAID_IN + "draw {\n  amount $125 per period\n  non_recoverable\n}\n")
    (tmp_path / "fx.csv").write_text("date,currency,rate\n2027-01-01,GBP,1.25\n")
    (tmp_path / "deals.csv").write_text("id,rep,day,amount\nA1,cy,2027-02-01,5000\nA2,dee,2027-02-01,5000\n")
    (tmp_path / "roster.csv").write_text(
        "rep,hired,paid_in\nbo,2026-01-01,GBP\ncy,2026-01-01,GBP\ndee,2026-01-01,GBP\n"
    )
    from spmlang.engine import run as calculator

    monkeypatch.setattr(calculator, "BATCH_ROWS", 1)
    result = spmlang.load(tmp_path / "plan.spm").run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")
    assert [(line["payee"], line["amount_paid"]) for line in lines(result, kind="fx", period="2027-Q1")] == [
        ("bo", d("100.00")),
        ("cy", d("400.00")),
        ("dee", d("400.00")),
    ]


def test_rows_looked_up_and_converted_in_parts_are_as_all_at_once(monkeypatch):
    """The rows in other currencies are converted a part at a time (PART_ROWS): every part boundary, a row
    without a rate and an amount too large to hold converted among them, gives the same ledger and rejects."""
    from spmlang.engine.read import currencies

    rows = deals(
        ("E1", "2027-03-14", 1000, "EUR"),
        ("S1", "2027-02-01", 1000, "SEK"),  # the fx table has no SEK rate: rejected
        ("G1", "2027-02-01", 1000, "GBP"),
        ("U1", "2027-02-01", 1000, "USD"),
        ("E2", "2027-03-15", "9000000000000", "EUR"),  # too large once converted
        ("E3", "2027-04-01", 2500, "EUR"),
        ("G2", "2027-05-01", 3000, "GBP"),
    )

    def run():
        result = plan().run(rows, tables={"fx": RATES})
        return result.ledger.drop_columns(["run_id"]), result.rejects

    whole = run()
    for part in (1, 2, 3):
        monkeypatch.setattr(currencies, "PART_ROWS", part)
        assert run() == whole
    reasons = sorted(whole[1].column("reason").to_pylist())
    assert reasons == ["invalid_value", "missing_fx_rate"]


def test_dates_of_the_fx_table_and_the_roster_in_another_format_are_refused_as_transactions_are(tmp_path):
    """'27-06-01' read by the default format is the year 27: a rate or a hire date a century off would be used
    silently (a deal of 2027 converted at a rate of the year 27's June)."""
    (tmp_path / "plan.spm").write_text(PAID_IN)
    (tmp_path / "deals.csv").write_text("id,rep,day,amount\nA1,ann,2027-02-01,1000\n")
    (tmp_path / "fx.csv").write_text("date,currency,rate\n27-01-01,GBP,1.25\n")
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\n")
    run = spmlang.load(tmp_path / "plan.spm")
    with pytest.raises(spmlang.InputError) as error:
        run.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")
    assert (error.value.code, error.value.column, error.value.row) == ("E504", "date", 2)  # as a spreadsheet counts
    assert error.value.message == (
        "'27-01-01' reads as 0027-01-01 in the format \"%Y-%m-%d\" (the default), a century or more from the plan "
        'year: the column\'s format looks wrong; declare `column date date "%y-%m-%d"`'
    )
    (tmp_path / "fx.csv").write_text("date,currency,rate\n2027-01-01,GBP,1.25\n")
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,26-01-01,GBP\n")
    with pytest.raises(spmlang.InputError, match="'26-01-01' reads as 0026-01-01") as error:
        run.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")
    assert (error.value.file, error.value.column) == (str(tmp_path / "roster.csv"), "hired")
    # A date far off on purpose, which no other format reads near the plan year, is as written: HR's 'unknown'.
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,1900-01-01,GBP\n")
    paid = run.run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")
    assert [line["amount_paid"] for line in lines(paid, kind="fx")] == [d("80.00")]


def paid_in_gbp(tmp_path, deals: str, rate: str = "1.25"):
    """The run of ann, paid in GBP at ``rate`` from 2027-01-01, and her ``deals`` (CSV rows: id,rep,day,amount)."""
    (tmp_path / "plan.spm").write_text(PAID_IN)
    (tmp_path / "fx.csv").write_text(f"date,currency,rate\n2027-01-01,GBP,{rate}\n")
    (tmp_path / "deals.csv").write_text("id,rep,day,amount\n" + deals)
    (tmp_path / "roster.csv").write_text("rep,hired,paid_in\nann,2026-01-01,GBP\n")
    return spmlang.load(tmp_path / "plan.spm").run(tmp_path / "deals.csv", roster=tmp_path / "roster.csv")


def test_a_payout_too_large_in_the_payees_currency_is_an_error_not_a_wrapped_number(tmp_path):
    result = paid_in_gbp(tmp_path, "A1,ann,2027-02-01,250000\n", rate="0.00000000000001")
    with pytest.raises(spmlang.AmountTooLarge) as error:
        result.write(tmp_path / "ledger.parquet")
    assert error.value.code == "E511"
    assert str(error.value).startswith(
        "error[E511]: the fx table: a payout converted to GBP at 0.00000000000001 is too large to hold (about "
    )


def test_a_statement_shows_the_payout_paid_in_another_currency_in_cents(tmp_path):
    result = paid_in_gbp(tmp_path, "A1,ann,2027-02-01,4004\nA2,ann,2027-05-01,4400\n", rate="1")
    paid = [s.to_csv().splitlines()[-1].split(",")[6] for s in result.statements(["ann"])]
    assert paid == ["400.40", "440.00"]  # as every other amount of the file: not 400.4 and 440


def test_explain_gives_the_currency_figures_of_a_line_as_values(tmp_path):
    """Not only in the sentence: the transaction's currency and rate on its lines, the payout paid on the fx
    line, as the ledger's columns have them (the rate as written)."""
    result = paid_in_gbp(tmp_path, "A1,ann,2027-02-01,1000\n")
    [q1] = result.explain("ann").to_dict()["periods"]
    fx = [line for line in q1["lines"] if line["kind"] == "fx"]
    assert [(x["fx_rate"], x["fx_date"], x["amount_paid"], x["currency_paid"]) for x in fx] == [
        ("1.25", "2027-01-01", "80.00", "GBP")
    ]
    assert {line["currency_paid"] for line in q1["lines"] if line["kind"] != "fx"} == {None}
    converted = plan().run(deals(("E1", "2027-03-20", 5000, "EUR")), tables={"fx": RATES}).explain("ann")
    [line] = converted.to_dict()["periods"][0]["lines"]
    assert (line["currency"], line["fx_rate"], line["fx_date"]) == ("EUR", "1.2", "2027-03-15")


def test_currencies_no_code_are_found_once_a_distinct_value():
    from spmlang.engine.read.currencies import _not_codes

    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, None, 0], pa.int32()), pa.array(["EUR", None, "usd"]))
    assert _not_codes(column).tolist() == [False, False, True, False, False]  # an empty one is said elsewhere
    assert _not_codes(pa.array(["EUR", None, "GBP"])) is None


@pytest.mark.parametrize("written", ["eur", '"EURO"'])
def test_an_fx_row_in_the_plan_names_its_currency_by_code(written):
    text = PLAN.replace(" AT", "") + "fx {\n  rows {\n    2027-01-01 " + written + " 1.1\n  }\n}\n"
    with pytest.raises(spmlang.PlanError) as error:
        spmlang.loads(text, "fx.spm")
    code = written.strip('"')
    assert str(error.value).splitlines()[0] == f"fx.spm:24:5: '{code}' is not a currency code"
    assert error.value.diagnostics[0].code == "E301"
