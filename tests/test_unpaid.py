"""A problem in one component's expressions stops that component paying the row, not the others.

A lookup that misses in a SPIF's `where` used to reject the whole deal, so the rep silently lost the base
commission on it (729 CRM deals, exit 0). Now the deal is credited, every other component pays it, the one
that could not read it pays nothing and says why on a ledger line, and the run warns with the count and the
credit at stake. `--strict` or `on missing_lookup error` stop the run instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

import spmlang

PLAN = """plan "Lookups" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id      text
  column rep     text
  column day     date
  column amount  money
  column product text
  key    id
  date   day
  payee  rep
  credit amount
  rollup to manager
  POLICY
}
roster {
  rows {
    ann mia
    bo  mia
    mia empty
  }
}
table products {
  column product text
  column series  text
  column rate    percent
  key product
  rows {
    "GTX Pro"    GTX 2%
    "MG Special" MG  empty
  }
}
component commission {
  rate 5%
}
spif gtx_bonus {
  pay $100 per deal
  where products[product].series == "GTX"
}
component product_rate {
  rate products[product].rate
}
component override {
  on rollup credit
  rate 1%
  where products[product].series != "MG"
}
"""


def deals() -> pa.Table:
    return pa.table(
        {
            "id": ["A", "B", "C", "D"],
            "rep": ["ann", "ann", "bo", "bo"],
            "day": [dt.date(2027, 1, 5), dt.date(2027, 2, 5), dt.date(2027, 2, 6), dt.date(2027, 2, 7)],
            "amount": pa.array(
                [Decimal("1000"), Decimal("2000"), Decimal("3000"), Decimal("500")], pa.decimal128(18, 2)
            ),
            "product": ["GTX Pro", "GTX Plus", "MG Special", "GTXPro"],
        }
    )


def run(policy: str = "", **options):
    return spmlang.loads(PLAN.replace("POLICY", policy), "lookups.spm").run(deals(), **options)


def test_the_other_components_still_pay_the_row():
    result = run()
    assert result.accounting == {"read": 4, "credited": 4, "excluded": {}, "rejected": {}}
    totals = {(r["payee"], r["component"]): r["amount"] for r in result.totals().to_pylist()}
    assert totals[("ann", "commission")] == Decimal("150.00")  # B's base commission is paid
    assert totals[("bo", "commission")] == Decimal("175.00")
    assert totals[("ann", "gtx_bonus")] == Decimal("100.00")  # A only: B's product is not in the table
    assert totals[("ann", "product_rate")] == Decimal("20.00")  # 2% of A; B missed; C's rate is empty
    assert totals[("mia", "override")] == Decimal("10.00")  # 1% of A; B and D missed, C excluded by its where


def test_each_row_a_component_cannot_pay_has_a_line_saying_why():
    lines = [r for r in run().ledger.to_pylist() if r["explanation"].startswith("not paid by this component")]
    said = {
        (r["payee"], r["txn"], r["component"]): (r["amount"], r["kind"], r["clause"], r["explanation"]) for r in lines
    }
    assert said[("ann", "B", "gtx_bonus")] == (
        Decimal("0.00"),
        "spif",
        "lookups.spm:39",
        "not paid by this component: 'GTX Plus' is not in table products (did you mean 'GTX Pro'?)",
    )
    assert said[("bo", "C", "product_rate")][3] == (
        "not paid by this component: the rate of component 'product_rate' is empty (products[product].rate)"
    )
    assert ("mia", "B", "override") in said and ("mia", "D", "override") in said
    # The direct components are not asked about rollup rows, nor the override about direct ones.
    assert all((payee == "mia") == (component == "override") for payee, _, component in said)
    assert len(lines) == 7


def test_the_run_warns_with_the_count_and_the_credit_at_stake():
    warnings = run().summary().warnings
    assert warnings[0] == (
        "component gtx_bonus did not pay 2 credit rows (missing lookup; credit 2,500.00 at stake): 'GTX Plus' is "
        "not in table products (did you mean 'GTX Pro'?). The other components paid them; each shows in the ledger "
        "as a line 'not paid by this component' (--strict stops instead)"
    )
    assert len(warnings) == 4  # product_rate: missing lookup and an empty rate; override: missing lookup
    table = run().unpaid.to_pylist()
    assert [(r["row"], r["key"], r["payee"], r["component"], r["reason"]) for r in table] == [
        (2, "B", "ann", "gtx_bonus", "missing_lookup"),
        (2, "B", "ann", "product_rate", "missing_lookup"),
        (2, "B", "mia", "override", "missing_lookup"),
        (3, "C", "bo", "product_rate", "missing_value"),
        (4, "D", "bo", "gtx_bonus", "missing_lookup"),
        (4, "D", "bo", "product_rate", "missing_lookup"),
        (4, "D", "mia", "override", "missing_lookup"),
    ]


@pytest.mark.parametrize("policy, options", [("on missing_lookup error", {}), ("", {"strict": True})])
def test_strict_or_the_plan_stops_the_run_instead(policy, options):
    with pytest.raises(spmlang.InputError) as caught:
        run(policy, **options)
    assert caught.value.code == "E510" and caught.value.row == 2
    assert "'GTX Plus' is not in table products" in caught.value.message


def test_the_command_line_prints_the_warning(spm, tmp_path):
    (tmp_path / "plan.spm").write_text(PLAN.replace("POLICY", ""))
    import pyarrow.csv as pacsv

    pacsv.write_csv(deals(), tmp_path / "deals.csv")
    result = spm("run", "plan.spm", "--deals", "deals.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: component gtx_bonus did not pay 2 credit rows" in result.stdout
    strict = spm("run", "plan.spm", "--deals", "deals.csv", "--strict", cwd=tmp_path)
    assert strict.returncode == 2 and "--strict makes every row a component cannot pay an error" in strict.stderr
