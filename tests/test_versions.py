"""Dated versions of a component (`from DATE { ... }`): what is the version's and what stays the component's.

Each test is scenario S18 (docs/calculation.md §9: quarterly quota 50,000, marginal tiers 8% / 12% above 100% of
the quota to date, 9% / 14% from July 1) with one thing changed, worked by hand.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from helpers import DATA, SCENARIOS, by_txn, d, lines, payout

import spmlang

S18 = (SCENARIOS / "s18_rate_change.spm").read_text()


def run(plan: str, deals: pa.Table | None = None):
    return spmlang.loads(plan, "s18.spm").run(DATA / "s18.csv" if deals is None else deals)


def test_a_cap_per_year_counts_the_lines_of_every_version():
    # 5,200 - 400 + 2,400 = 7,200 before July; D3's 3,600 reaches the 10,000 cap at 2,800; nothing after (the
    # new rates' Q4 true-up of -1,500 is absorbed above the reached cap, D5 is cut).
    result = run(S18.replace("  from 2027-07-01 {", "  cap $10,000 per year\n\n  from 2027-07-01 {"))
    assert payout(result, "alice") == d("10,000.00")
    cuts = {line["txn"]: line["amount"] for line in lines(result, kind="cap")}
    assert cuts == {"D3": d("-800.00"), "D4": d("-6,000.00"), None: d("1,500.00"), "D5": d("-900.00")}


def test_multipliers_continue_into_a_version_unless_it_gives_its_own():
    doubled = S18.replace("  from 2027-07-01 {", '  multiplier 2x when id == "D3"\n\n  from 2027-07-01 {')
    assert by_txn(run(doubled))["D3"] == d("7,200.00")  # the component's multiplier, on the new rates
    own = doubled.replace(
        "      100% ..      rate 14%\n    }", '      100% ..      rate 14%\n    }\n    multiplier 1.5x when id == "D4"'
    )
    paid = by_txn(run(own))
    assert paid["D3"] == d("3,600.00")  # the version's multipliers replace the component's
    assert paid["D4"] == d("9,000.00")  # (1,800 + 4,200) x 1.5


def test_a_filter_is_the_component_s_for_every_version():
    result = run(S18.replace("component commission {", 'component commission {\n  where id != "D4"'))
    # D4 still moves the measure (130,000 -> 180,000): D5, 180,000 -> 190,000 of 200,000, is at 9%.
    assert "D4" not in {line["txn"] for line in lines(result, component="commission") if line["amount"]}
    assert by_txn(result)["D5"] == d("900.00")


CANCELLED = S18.replace("  column amount     money\n", "  column amount     money\n  column cancelled  date\n").replace(
    "  credit amount\n", "  credit amount\n  cancelled cancelled\n"
)


def deals(cancelled: dict[str, str]) -> pa.Table:
    rows = pa.csv.read_csv(DATA / "s18.csv").to_pylist()
    return pa.table(
        {
            "id": [r["id"] for r in rows],
            "rep": [r["rep"] for r in rows],
            "close_date": [r["close_date"].isoformat() for r in rows],
            "amount": [str(r["amount"]) for r in rows],
            "cancelled": [cancelled.get(r["id"]) for r in rows],
        }
    )


def test_a_component_with_versions_does_not_recalculate_a_cancellation():
    # Re-pricing the year without a cancelled deal telescopes under one rule only: across a change it would price
    # later rows' lost uplift at the cancelled deal's rates (A: 60,000 paid at 4%/10% in February, cancelled in
    # September; B: 30,000 in August at 5%/12% would be paid 1,800 for the year, not B's own 1,500).
    plan = CANCELLED.replace("  measure     year_to_date\n", "  measure     year_to_date\n  clawback recalculate\n")
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(plan, "s18.spm")
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [("E412", 6)]
    # Its own way, as paid, it may have.
    own = plan.replace("  from 2027-07-01 {", "  clawback as_paid\n  from 2027-07-01 {", 1)
    result = run(own, deals({"D2": "2027-08-20"}))
    [clawback] = lines(result, kind="clawback")
    assert (clawback["txn"], clawback["amount"]) == ("D2", d("-2,400.00"))  # what D2 was paid, at 8%


def test_at_rate_claws_back_what_the_transaction_s_version_earned_at_its_rate():
    # From July a fixed $100 per deal: `at_rate` keeps fixed amounts, and takes back D1's credit at its 8%.
    plan = CANCELLED.replace("  measure     year_to_date\n", "  measure     year_to_date\n  clawback at_rate\n")
    start = plan.index("  from 2027-07-01 {")
    plan = plan[:start] + "  from 2027-07-01 {\n    pay $100 per deal\n  }\n}\n"
    result = run(plan, deals({"D1": "2027-09-01", "D3": "2027-09-02"}))
    clawed = {line["txn"]: line["amount"] for line in lines(result, kind="clawback")}
    assert clawed == {"D1": d("-5,200.00"), "D3": d("0.00")}


def test_a_version_s_errors_are_reported_with_the_component_s():
    plan = S18.replace("    0%   .. 100% rate 8%", "    0%   .. 100% rate 8")
    plan = plan.replace("from 2027-07-01", "from 2028-07-01")
    try:
        spmlang.loads(plan, "s18.spm")
    except spmlang.PlanError as error:
        assert [d.code for d in error.diagnostics] == ["E301", "E411"]
    else:
        raise AssertionError("the plan has two errors")


def test_explain_says_which_version_a_rule_s_line_is():
    # Both versions' rules read `tiers marginal on attainment {`: the trail says the later one's date.
    trail = run(S18).explain("alice")
    sources = {line.txn: line.source for line in trail.lines if line.kind == "earning"}
    assert sources["D1"] == "tiers marginal on attainment {"
    assert sources["D3"] == "tiers marginal on attainment {   (from 2027-07-01)"
    assert "(from 2027-07-01)" in str(trail)
