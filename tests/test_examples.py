"""The example plans, run over their data: pinned results and the invariants every run keeps."""

from __future__ import annotations

import datetime as dt
import os
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from conftest import AE_ARGS, CRM_ARGS, EMEA_ARGS, ROOT, SDR_ARGS

import spmlang

GOLDEN = Path(__file__).parent / "golden" / "examples"


def run_example(args: list[str]) -> spmlang.Result:
    plan, rest = args[0], args[1:]
    options = dict(zip(rest[0::2], rest[1::2], strict=True))
    tables = {}
    if "--table" in options:
        name, path = options.pop("--table").split("=")
        tables[name] = ROOT / path
    kwargs = {k.lstrip("-"): ROOT / v for k, v in options.items()}
    deals = kwargs.pop("deals")
    return spmlang.load(ROOT / plan).run(deals, tables=tables, **kwargs)


EXAMPLES = {"account_executive": AE_ARGS, "sdr": SDR_ARGS, "crm_agents": CRM_ARGS, "emea": EMEA_ARGS}


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def example(request):
    return request.param, run_example(EXAMPLES[request.param])


def test_summary_matches_golden(example):
    name, result = example
    summary = result.summary()
    import io

    buffer = io.BytesIO()
    pacsv.write_csv(summary.table(), buffer)
    actual = buffer.getvalue().decode() + f"accounting: {summary.accounting}\n"
    golden = GOLDEN / f"{name}.csv"
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        golden.write_text(actual)
    assert actual == golden.read_text()


def test_lines_add_up_to_totals_and_every_row_is_accounted_for(example):
    _, result = example
    ledger = result.ledger.to_pylist()
    by_cell = defaultdict(Decimal)
    for line in ledger:
        by_cell[(line["payee"], line["period"], line["component"])] += line["amount"]
    totals = {(r["payee"], r["period"], r["component"]): r["amount"] for r in result.totals().to_pylist()}
    assert {k: v for k, v in by_cell.items()} == totals
    counts = result.accounting
    assert counts["read"] == counts["credited"] + sum(counts["excluded"].values()) + sum(counts["rejected"].values())
    credited = {line["txn"] for line in ledger if line["txn"] is not None}
    assert len(credited) == counts["credited"]


def test_every_line_cites_a_clause_and_explains_itself(example):
    _, result = example
    for line in result.ledger.to_pylist():
        assert line["clause"] and ".spm:" in line["clause"]
        assert line["explanation"]


def test_the_crm_quirks_are_handled_by_the_plan():
    result = run_example(CRM_ARGS)
    assert result.accounting["rejected"] == {}  # GTXPro is mapped to GTX Pro by the plan
    gtx_pro = [
        line
        for line in result.ledger.to_pylist()
        if line["kind"] == "earning" and line["component"] == "commission" and line["rate"] is not None
    ]
    assert gtx_pro, "commission lines carry their rate"


def test_without_the_mapping_commission_does_not_pay_gtxpro_deals_and_says_why(tmp_path):
    text = (
        (ROOT / "examples/plans/crm_agents.spm").read_text().replace('replace(product, "GTXPro", "GTX Pro")', "product")
    )
    plan = tmp_path / "crm_agents.spm"
    plan.write_text(text)
    args = [str(plan)] + CRM_ARGS[1:]
    result = run_example(args)
    assert result.accounting["rejected"] == {}  # credited: the managers' overrides still pay on them
    unpaid = result.unpaid.to_pylist()
    assert {(r["component"], r["reason"], r["message"]) for r in unpaid} == {
        ("commission", "missing_lookup", "'GTXPro' is not in table products (did you mean 'GTX Pro'?)")
    }
    assert len(unpaid) == 729  # the won GTXPro deals
    (warning,) = result.summary().warnings
    assert warning.startswith("component commission did not pay 729 credit rows (missing lookup; credit ")
    overrides = {line["txn"] for line in result.ledger.to_pylist() if line["component"] == "manager_override"}
    assert {r["key"] for r in unpaid} <= overrides


def test_the_emea_roster_and_currencies_show_in_the_ledger():
    result = run_example(EMEA_ARGS)
    assert result.accounting["rejected"] == {"missing_fx_rate": 1}  # E-9003, in CHF
    ledger = result.ledger.to_pylist()
    house = {line["txn"]: line["explanation"] for line in ledger if line["payee"] == "house"}
    assert house["E-9001"].startswith("fallback: sofia.rossi is not employed on 2027-08-20; ")
    assert house["E-9002"].startswith("fallback: oliver.hughes is not employed on 2027-02-03; ")
    paid = {(line["payee"], line["period"]): line["currency_paid"] for line in ledger if line["kind"] == "fx"}
    assert paid[("noah.fischer", "2027-Q1")] == "EUR" and paid[("noah.fischer", "2027-Q2")] == "GBP"
    assert ("house", "2027-Q1") not in paid  # the house account is paid in the plan currency
    # noah.fischer's deals roll up to claire.martin before June 1, to james.taylor from then on
    noah = [(line["date"], line["payee"]) for line in ledger if line["rollup_from"] == "noah.fischer"]
    assert {payee for _, payee in noah} == {"claire.martin", "james.taylor"}
    assert all((payee == "claire.martin") == (day < dt.date(2027, 6, 1)) for day, payee in noah)
