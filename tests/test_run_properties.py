"""Properties of whole runs over random deal tables for the example AE plan (hypothesis)."""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, examples
from hypothesis import given, settings
from hypothesis import strategies as st

import spmlang
from spmlang.engine.credit import crediting as calculator

PLAN = spmlang.load(ROOT / "examples/plans/account_executive.spm")
QUOTAS = ROOT / "examples/data/ae_quotas.csv"
TARGETS = ROOT / "examples/data/ae_targets.csv"
REPS = ["ana.ruiz", "ben.okafor", "chloe.martin", "nobody.known"]

deal = st.fixed_dictionaries(
    {
        "owner": st.sampled_from(REPS),
        "close_date": st.dates(
            min_value=__import__("datetime").date(2026, 12, 25), max_value=__import__("datetime").date(2028, 1, 5)
        ).map(lambda d: d.isoformat()),
        "stage": st.sampled_from(["Closed Won", "Closed Won", "Closed Lost"]),
        "deal_type": st.sampled_from(["new_logo", "expansion", "renewal"]),
        "amount": st.one_of(st.decimals(min_value=-50_000, max_value=400_000, places=2).map(str), st.just("n/a")),
        "term_months": st.sampled_from(["12", "24", "36"]),
    }
)


def table_of(deals: list[dict]) -> pa.Table:
    columns = {
        name: [d[name] for d in deals]
        for name in ("owner", "close_date", "stage", "deal_type", "amount", "term_months")
    }
    columns["deal_id"] = [f"D{i % 97}" for i in range(len(deals))]  # some duplicate keys
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


# The same plan with its rates changed from July 1 (a dated version of its commission).
JULY = spmlang.load(ROOT / "examples/plans/account_executive_july.spm")


@settings(max_examples=examples(40))
@given(st.lists(deal, max_size=60), st.sampled_from([PLAN, JULY]))
def test_lines_statements_explain_and_accounting_agree(deals, plan):
    result = plan.run(table_of(deals), quotas=QUOTAS, targets=TARGETS)
    ledger = result.ledger.to_pylist()
    counts = result.accounting
    assert counts["read"] == len(deals)
    assert counts["credited"] + sum(counts["excluded"].values()) + sum(counts["rejected"].values()) == len(deals)
    assert result.rejects.num_rows == sum(counts["rejected"].values())

    by_cell = defaultdict(Decimal)
    for line in ledger:
        by_cell[(line["payee"], line["period"])] += line["amount"]
    for payee in sorted({line["payee"] for line in ledger}):
        trail = result.explain(payee)
        for period in trail.periods:
            assert period.total == by_cell[(payee, period.period)]
            assert sum((line.amount for line in period.lines), Decimal(0)) == period.total
        for statement in result.statements([payee]):
            assert statement.earned + statement.adjusted == statement.payout == by_cell[(payee, statement.period)]
    # caps: commission never exceeds 250% of the 80,000 target in a year
    commission = defaultdict(Decimal)
    for line in ledger:
        if line["component"] == "commission":
            commission[line["payee"]] += line["amount"]
    assert all(total <= Decimal("200000.00") for total in commission.values())


@settings(max_examples=examples(30))
@given(st.lists(deal, max_size=60))
def test_a_rate_change_on_july_1_leaves_the_first_half_as_it_was(deals):
    """A version from July 1 changes no line of a period before it, and of the periods after it only the lines
    of deals dated from July 1 (and their caps) and the new rates' true-ups: the first half's rows, re-priced at
    each true-up under the old rates, earn what they earned without the change."""
    old = PLAN.run(table_of(deals), quotas=QUOTAS, targets=TARGETS).ledger.to_pylist()
    new = JULY.run(table_of(deals), quotas=QUOTAS, targets=TARGETS).ledger.to_pylist()

    def first_half(ledger):
        return [(x["payee"], x["period"], x["kind"], x["txn"], x["amount"]) for x in ledger if x["period"] < "2027-Q3"]

    assert first_half(old) == first_half(new)
    before_july = [x for x in new if x["date"] is not None and x["date"].isoformat() < "2027-07-01"]
    assert all(not x["explanation"].endswith("(rates from 2027-07-01)") for x in before_july)
    after = [
        x for x in new if x["kind"] == "earning" and x["date"] is not None and x["date"].isoformat() >= "2027-07-01"
    ]
    assert all(x["clause"] == "account_executive_july.spm:65" for x in after)


@settings(max_examples=examples(15))
@given(st.lists(deal, max_size=40))
def test_two_runs_give_identical_bytes(deals):
    outputs = []
    for _ in range(2):
        buffer = io.BytesIO()
        pq.write_table(PLAN.run(table_of(deals), quotas=QUOTAS, targets=TARGETS).ledger, buffer, compression="zstd")
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]


@settings(max_examples=examples(30))
@given(st.lists(deal, max_size=60), st.randoms(use_true_random=False))
def test_credit_rows_made_in_order_pay_as_rows_ordered_after(deals, random):
    """One payee column: the credit rows are made in crediting order by one packed sort. They pay exactly as
    the general way does (rows made in key order, then ordered), ties of date broken by key."""
    days = ["2027-02-01", "2027-02-02", "2027-05-20"]  # many ties of date
    deals = [{**d, "close_date": random.choice(days)} if random.random() < 0.7 else d for d in deals]
    table = table_of(deals)
    keys = table["deal_id"].to_pylist()
    random.shuffle(keys)  # key order unlike file order
    table = table.set_column(table.schema.get_field_index("deal_id"), "deal_id", pa.array(keys, pa.string()))
    direct = PLAN.run(table, quotas=QUOTAS, targets=TARGETS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(calculator, "direct_rows_in_order", lambda *args: None)
        general = PLAN.run(table, quotas=QUOTAS, targets=TARGETS)
    assert direct.ledger.equals(general.ledger)
    assert direct.rejects.equals(general.rejects)


EMEA = spmlang.load(ROOT / "examples/plans/emea.spm")
EMEA_DATA = ROOT / "examples/data/emea"
EMEA_TABLES = {
    "quotas": EMEA_DATA / "quotas.csv",
    "targets": EMEA_DATA / "targets.csv",
    "roster": EMEA_DATA / "roster.csv",
    "tables": {"fx": EMEA_DATA / "fx.csv"},
}
emea_deal = st.fixed_dictionaries(
    {
        "owner": st.sampled_from(["amelie.dubois", "oliver.hughes", "sofia.rossi", "noah.fischer", "nobody.known"]),
        "close_date": st.dates(
            min_value=__import__("datetime").date(2026, 12, 25), max_value=__import__("datetime").date(2028, 1, 5)
        ).map(lambda d: d.isoformat()),
        "stage": st.sampled_from(["Closed Won", "Closed Won", "Closed Lost"]),
        "deal_currency": st.sampled_from(["EUR", "GBP", "USD", "CHF", ""]),
        "amount": st.decimals(min_value=-50_000, max_value=400_000, places=2).map(str),
    }
)


@settings(max_examples=examples(30))
@given(st.lists(emea_deal, max_size=50))
def test_a_dated_roster_and_currencies_keep_lines_statements_and_payments_in_agreement(deals):
    columns = {name: [d[name] for d in deals] for name in ("owner", "close_date", "stage", "deal_currency", "amount")}
    columns["deal_id"] = [f"E{i % 89}" for i in range(len(deals))]  # some duplicate keys
    result = EMEA.run(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), **EMEA_TABLES)
    counts = result.accounting
    assert counts["credited"] + sum(counts["excluded"].values()) + sum(counts["rejected"].values()) == len(deals)
    ledger = result.ledger.to_pylist()
    by_cell = defaultdict(Decimal)
    for line in ledger:
        by_cell[(line["payee"], line["period"])] += line["amount"]
    for line in ledger:
        if line["kind"] == "fx":  # the period's payout, converted once, to the cent
            expected = (by_cell[(line["payee"], line["period"])] / line["fx_rate"]).quantize(
                Decimal("0.01"), "ROUND_HALF_UP"
            )
            assert (line["amount"], line["amount_paid"]) == (Decimal("0.00"), expected)
        elif line["payee"] == "house" and line["txn"] is not None:
            assert line["explanation"].startswith("fallback: ")
    for payee in sorted({line["payee"] for line in ledger}):
        for statement in result.statements([payee]):
            assert statement.earned + statement.adjusted == statement.payout == by_cell[(payee, statement.period)]
            if statement.paid_in is not None:
                assert statement.paid_in.currency in ("EUR", "GBP")
