"""Engine behaviour beyond the worked scenarios, on small plans written inline.

One file though long: each test is short and stands alone on the plan header and deals written here once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from helpers import by_txn, d, lines, payout
from hypothesis import given, settings
from hypothesis import strategies as st

import spmlang
from spmlang.engine.read.keys import in_key_order, key_ranks

HEADER = """plan "Test" {
  year starts 2027-01-01
  payout quarterly
  MEASURE
}
transactions {
  column id   text
  column rep  text
  column day  date
  column amount money
  column kind text
  key id
  date day
  payee rep
  credit amount
  ROLLUP
}
"""


def make_plan(body: str, measure: str = "measure year_to_date", rollup: str = "") -> spmlang.Plan:
    return spmlang.loads(HEADER.replace("MEASURE", measure).replace("ROLLUP", rollup) + body, "test.spm")


def deals(*rows) -> pa.Table:
    """rows: (id, rep, 'YYYY-MM-DD', amount[, kind])"""
    rows = [r + ("x",) * (5 - len(r)) for r in rows]
    return pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": [r[1] for r in rows],
            "day": pa.array([dt.date.fromisoformat(r[2]) for r in rows], pa.date32()),
            "amount": pa.array([Decimal(str(r[3])) for r in rows], pa.decimal128(18, 2)),
            "kind": [r[4] for r in rows],
        }
    )


QUOTAS = pa.table({"payee": ["a"] * 4, "period": ["Q1", "Q2", "Q3", "Q4"], "amount": [100_000.0] * 4})
TARGETS = pa.table({"payee": ["a"], "amount": [10_000.0]})


def test_plan_wide_cap_cuts_across_components_in_row_order():
    plan = make_plan("""
component base { rate 10% }
spif big { pay $500 per deal; where amount >= $5,000 }
cap $1,200 per year
""")
    result = plan.run(deals(("D1", "a", "2027-01-10", 6000), ("D2", "a", "2027-02-10", 6000)))
    assert payout(result, "a") == d("1,200.00")
    # D1 earns 600 + 500; D2's 600 crosses the cap at 100, then its 500 is cut whole.
    cuts = [(line["txn"], line["component"], line["amount_cut"]) for line in lines(result, kind="cap")]
    assert cuts == [("D2", "base", d("500.00")), ("D2", "big", d("500.00"))]


def test_cap_in_percent_of_target_per_year():
    plan = make_plan("component base {\n  rate 10%\n  cap 50% of target per year\n}\n")
    result = plan.run(deals(("D1", "a", "2027-01-10", 40000), ("D2", "a", "2027-05-10", 40000)), targets=TARGETS)
    assert payout(result, "a") == d("5,000.00")
    assert by_txn(result) == {"D1": d("4,000.00"), "D2": d("1,000.00")}


def test_bonus_once_when_attainment_reached_by_a_date():
    plan = make_plan("""
bonus club {
  pay $2,500 once when attainment >= 100% by 2027-09-30
}
""")
    rows = deals(("D1", "a", "2027-02-10", 90000), ("D2", "a", "2027-05-10", 150000), ("D3", "a", "2027-08-10", 200000))
    result = plan.run(rows, quotas=QUOTAS)
    (bonus,) = lines(result, kind="bonus")
    # Q1: 90% of 100k; Q2: 240k of 200k = 120% -> paid at the end of Q2, and only once.
    assert (bonus["period"], bonus["amount"], bonus["txn"]) == ("2027-Q2", d("2,500.00"), None)


def test_bonus_not_paid_after_its_deadline():
    plan = make_plan("bonus club {\n  pay $2,500 once when attainment >= 100% by 2027-06-30\n}\n")
    result = plan.run(deals(("D1", "a", "2027-08-10", 500000)), quotas=QUOTAS)
    assert not lines(result, kind="bonus")


def test_rollup_reaches_every_manager_up_the_roster():
    plan = make_plan(
        """
roster {
  rows {
    a  m1
    m1 vp
  }
}
component base { rate 10% }
component override {
  on rollup credit
  rate 1%
}
""",
        rollup="rollup to manager",
    )
    result = plan.run(deals(("D1", "a", "2027-01-10", 10000)))
    assert payout(result, "a") == d("1,000.00")
    assert payout(result, "m1") == d("100.00") and payout(result, "vp") == d("100.00")
    assert {line["rollup_from"] for line in lines(result, payee="vp")} == {"a"}


def test_credit_note_moves_the_measure_down_and_earns_back():
    plan = make_plan("""
component commission {
  tiers marginal on attainment {
    0%  .. 50% rate 5%
    50% ..     rate 10%
  }
}
""")
    rows = deals(("D1", "a", "2027-01-10", 70000), ("C1", "a", "2027-02-10", -30000))
    result = plan.run(rows, quotas=QUOTAS)
    # D1: 50k at 5% + 20k at 10% = 4,500; C1 takes 20k back at 10% and 10k at 5% = -2,500.
    assert by_txn(result) == {"D1": d("4,500.00"), "C1": d("-2,500.00")}


def test_a_curve_on_row_credit_pays_each_deal_by_its_own_size():
    plan = make_plan("""
component deal_bonus {
  curve on row credit {
    $10,000 -> $500
    $50,000 -> $4,500
  }
  multiplier 1.5x when kind == "new"
}
""")
    rows = deals(
        ("D1", "a", "2027-01-10", 5000),
        ("D2", "a", "2027-01-11", 30000),
        ("D3", "a", "2027-02-10", 80000, "new"),
        ("D4", "a", "2027-03-10", 30000),
    )
    result = plan.run(rows)
    # Each deal alone: below the first point nothing; D2 and D4 the same 2,500 (a cumulative curve would pay D4
    # from 115,000 on, flat: nothing); D3 past the last point is flat at 4,500, x 1.5.
    assert by_txn(result) == {"D1": d("0.00"), "D2": d("2,500.00"), "D3": d("6,750.00"), "D4": d("2,500.00")}
    d3 = lines(result, txn="D3")
    # The line shows what the last slope extended pays (7,500 x 1.5), and a cap line the cut.
    assert [(line["kind"], line["amount"]) for line in d3] == [("earning", d("11,250.00")), ("cap", d("-4,500.00"))]
    assert d3[0]["explanation"] == "row credit 80000.00: curve pays 7500.00 × 1.5 = 11250.00"
    assert d3[1]["explanation"] == "the payout curve is flat above 50,000.00: 4500.00 cut"
    # Each row is its own measure: no true-up however the quota basis moves.
    assert not lines(result, kind="true_up")


def test_a_curve_on_row_credit_extended_pays_its_slopes_on_both_sides():
    plan = make_plan("""
component deal_bonus {
  curve on row credit {
    $0      -> $0
    $10,000 -> $1,000
    extend below
    extend above
  }
}
""")
    result = plan.run(deals(("D1", "a", "2027-01-10", 25000), ("C1", "a", "2027-01-11", -2000)))
    assert by_txn(result) == {"D1": d("2,500.00"), "C1": d("-200.00")}
    assert not lines(result, kind="cap")


def test_a_basis_hint_never_suggests_a_basis_of_another_meaning():
    def error(body: str) -> str:
        with pytest.raises(spmlang.PlanError) as caught:
            make_plan(body)
        return caught.value.render()

    # An accelerator grows with the accumulated measure: `row credit` is refused, and `credit` (accumulated, a
    # different plan) is not offered in its place.
    message = error("component c {\n  rate 8%\n  accelerator on row credit {\n    $0 .. 1x\n  }\n}\n")
    assert "an accelerator cannot be on row credit" in message and "did you mean" not in message
    assert "tiers marginal on row credit" in message
    # A misspelling is suggested as the word it misspells, and a word meaning 'each row' as `row credit`.
    assert "did you mean 'row credit'?" in error(
        "component c {\n  curve on row credti {\n    $0 -> $0\n    $10 -> $1\n  }\n}\n"
    )
    assert "did you mean 'row credit'?" in error(
        "component c {\n  tiers marginal on deal credit {\n    $0 .. rate 1%\n  }\n}\n"
    )
    assert "did you mean 'attainment'?" in error(
        "component c {\n  tiers marginal on atainment {\n    0% .. rate 1%\n  }\n}\n"
    )
    # Two words written as one (`row_credit`, `rowcredit`) are the basis they join, never `credit`.
    for written in ("row_credit", "rowcredit", "Row_Credit"):
        message = error(f"component c {{\n  curve on {written} {{\n    $0 -> $0\n    $10 -> $1\n  }}\n}}\n")
        assert "did you mean 'row credit'?" in message, written
    # Words of another meaning get no suggestion, only the bases that may be written.
    message = error("component c {\n  tiers marginal on total credit {\n    $0 .. rate 1%\n  }\n}\n")
    assert "did you mean" not in message and "`on attainment` or `on credit` or `on row credit`" in message


def test_a_curve_on_row_credit_pays_money_not_percent_of_target():
    with pytest.raises(spmlang.PlanError, match="a curve on row credit pays an amount of money for each row"):
        make_plan(
            "component c {\n  curve on row credit {\n    $0 -> 0% of target\n    $10,000 -> 5% of target\n  }\n}\n"
        )


def test_a_components_rows_see_the_payees_annual_quota_and_target():
    quotas = pa.table(
        {"payee": ["a"] * 4, "period": ["Q1", "Q2", "Q3", "Q4"], "amount": [100_000.0, 200_000.0, 300_000.0, 400_000.0]}
    )
    plan = make_plan("""
component base {
  rate target / quota
  where credit >= quota / 100
}
spif big_deal {
  pay target * 1% per deal
  where credit >= quota / 20
}
bonus halfway {
  pay $100 once when quota >= $300,000
}
""")
    rows = deals(("D1", "a", "2027-01-10", 9_000), ("D2", "a", "2027-02-10", 60_000))
    result = plan.run(rows, quotas=quotas, targets=TARGETS)
    # In rows, the annual figures: 10,000 / 1,000,000 = 1% on deals of at least 10,000; 1% of 10,000 on deals
    # of at least 50,000 (not the quarter's 100,000 quota, nor the quota to date).
    assert by_txn(result) == {"D1": d("0.00"), "D2": d("700.00")}
    # In a period-end condition, the plan's quota basis (here the quota to date): 300,000 at the end of Q2.
    (bonus,) = lines(result, kind="bonus")
    assert bonus["period"] == "2027-Q2"


def test_a_row_reading_quota_needs_the_annual_quota_not_the_periods():
    # A rep ramping in with no quota in Q1 has an annual quota, so a base commission rate: Q1 is paid. With no
    # quota all year there is no rate: the row is rejected, saying why.
    quotas = pa.table(
        {
            "payee": ["a"] * 4 + ["b"] * 4,
            "period": ["Q1", "Q2", "Q3", "Q4"] * 2,
            "amount": [0.0, 100_000.0, 100_000.0, 100_000.0] + [0.0] * 4,
        }
    )
    targets = pa.table({"payee": ["a", "b"], "amount": [15_000.0, 15_000.0]})
    plan = make_plan("component base { rate target / quota }\n")
    result = plan.run(
        deals(("D1", "a", "2027-01-10", 10_000), ("D2", "b", "2027-01-10", 10_000)), quotas=quotas, targets=targets
    )
    assert by_txn(result) == {"D1": d("500.00")}
    assert [(r["key"], r["reason"], r["message"]) for r in result.rejects.to_pylist()] == [
        ("D2", "missing_quota", "the annual quota of b is zero in 2027-Q1")
    ]


def test_a_column_named_target_stays_the_column_in_a_component():
    plan = spmlang.loads(
        HEADER.replace("MEASURE", "")
        .replace("ROLLUP", "")
        .replace("  column kind text\n", "  column kind text\n  column target money\n")
        + "component c { rate 1%; "
        "where amount >= target }\n",
        "test.spm",
    )
    rows = deals(("D1", "a", "2027-01-10", 1000), ("D2", "a", "2027-01-11", 3000)).append_column(
        "target", pa.array([Decimal(2000)] * 2, pa.decimal128(18, 2))
    )
    result = plan.run(rows)  # no targets needed: `target` is the deal's column
    assert by_txn(result) == {"D1": d("0.00"), "D2": d("30.00")}


def test_quota_and_target_outside_a_component_get_a_hint_that_works():
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(
            HEADER.replace("MEASURE", "").replace("ROLLUP", "where big: amount > quota")
            + "component c { rate 1%; where count > 2 }\n",
            "test.spm",
        )
    message = caught.value.render()
    assert "the payee's quota is known in a component's where, rate, pay and multiplier" in message
    assert "'count' (the rows so far) is known only at the end of a period: use it in a gate" in message
    assert "tier table" not in message


def test_a_plan_cap_on_rollup_credit_caps_overrides_and_needs_only_the_managers_targets():
    plan = make_plan(
        """
roster {
  rows {
    a m
  }
}
component base { rate 10% }
component override {
  on rollup credit
  rate 20%
}
cap 10% of target per year for rollup credit
""",
        rollup="rollup to manager",
    )
    targets = pa.table({"payee": ["m"], "amount": [10_000.0]})
    result = plan.run(deals(("D1", "a", "2027-01-10", 4000), ("D2", "a", "2027-02-10", 4000)), targets=targets)
    # a has no target and needs none: the cap does not cover a's own lines.
    assert result.rejects.num_rows == 0 and payout(result, "a") == d("800.00")
    assert payout(result, "m") == d("1,000.00")
    assert [(line["txn"], line["amount_cut"]) for line in lines(result, kind="cap")] == [("D2", d("600.00"))]
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    steps = render_steps(plan_steps(compile_plan(plan.checked)), plan.checked)
    assert "plan cap: cap 10% of target per year for rollup credit, over a payee's lines on rollup credit" in steps


def test_a_manager_without_a_target_is_not_capped_at_nothing_by_a_plan_cap_in_percent_of_target():
    plan = make_plan(
        """
roster {
  rows {
    a m
  }
}
component base { rate 10% }
component override {
  on rollup credit
  rate 20%
}
cap 10% of target per year for rollup credit
""",
        rollup="rollup to manager",
    )
    targets = pa.table({"payee": ["a"], "amount": [10_000.0]})  # the rep's, not the manager's
    result = plan.run(deals(("D1", "a", "2027-01-10", 4000)), targets=targets)
    # Capping m's override at 10% of no target would pay m nothing, silently: the deal is rejected instead.
    assert [(r["key"], r["reason"], r["message"]) for r in result.rejects.to_pylist()] == [
        ("D1", "missing_quota", "no target incentive for m")
    ]


def test_what_a_plan_cap_covers_is_checked():
    def error(caps: str) -> str:
        with pytest.raises(spmlang.PlanError) as caught:
            make_plan("component base { rate 10% }\nspif new_logo { pay $5 per deal }\n" + caps)
        return caught.value.render()

    message = error("cap $100 per year for base, new_logoo\n")
    assert "error[E201]: unknown component 'new_logoo' in what the cap covers" in message
    assert "did you mean 'new_logo'?" in message
    message = error("cap $100 per year for direct\n")
    assert "unknown component 'direct'" in message and "write `for direct credit`" in message
    message = error("cap $100 per year for base credit\n")
    assert "error[E206]: unknown credit 'base'" in message and "'base' is a component: write `for base`" in message
    message = error("cap $100 per year for rollup credit\n")
    assert "error[E406]: the cap covers rollup credit, but credit does not roll up" in message
    assert "takes no `for`" in error("component c {\n  rate 1%\n  cap $100 per year for base\n}\n")


RATES_BY_KIND = """
table rates {
  column kind text
  column rate percent
  key kind
  rows {
    new     10%
    renewal 5%
  }
}
"""


def test_accelerator_on_a_per_row_rate():
    plan = make_plan(
        RATES_BY_KIND
        + """
component commission {
  rate rates[kind]
  accelerator on attainment {
    0%   .. 100% 1x
    100% ..      2x
  }
}
"""
    )
    rows = deals(("D1", "a", "2027-01-10", 80000, "renewal"), ("D2", "a", "2027-02-10", 40000, "new"))
    result = plan.run(rows, quotas=QUOTAS)
    # D1: 80k x 5% = 4,000; D2: 20k x 10% + 20k x 10% x 2 = 6,000.
    assert by_txn(result) == {"D1": d("4,000.00"), "D2": d("6,000.00")}


def test_annual_quota_never_trues_up_and_period_measure_resets():
    plan = make_plan(
        """
component commission {
  tiers marginal on attainment {
    0%  .. 50% rate 5%
    50% ..     rate 10%
  }
}
""",
        measure="measure period_to_date",
    )
    rows = deals(("D1", "a", "2027-01-10", 70000), ("D2", "a", "2027-04-10", 70000))
    result = plan.run(rows, quotas=QUOTAS)
    assert by_txn(result) == {"D1": d("4,500.00"), "D2": d("4,500.00")}
    assert not lines(result, kind="true_up")


def test_missing_quota_rejects_the_rows_that_need_it():
    plan = make_plan("component c {\n  tiers marginal on attainment {\n    0% .. rate 5%\n  }\n}\n")
    result = plan.run(deals(("D1", "a", "2027-01-10", 1000), ("D2", "b", "2027-01-11", 1000)), quotas=QUOTAS)
    (reject,) = result.rejects.to_pylist()
    assert (reject["key"], reject["reason"], reject["message"]) == ("D2", "missing_quota", "no quota for b in 2027-Q1")


def test_row_cap_and_multipliers_multiply():
    plan = make_plan("""
component c {
  rate 10%
  multiplier 2x when amount > $1,000
  multiplier 1.5x when kind == "new"
  cap $250 per row
}
""")
    result = plan.run(deals(("D1", "a", "2027-01-10", 1000, "new"), ("D2", "a", "2027-01-11", 2000, "new")))
    assert by_txn(result) == {"D1": d("150.00"), "D2": d("250.00")}
    assert [line["multiplier"] for line in lines(result, kind="earning")] == [d("1.5"), d("3")]


def test_a_cap_line_says_what_it_cut_or_what_reduction_it_absorbed():
    plan = make_plan("""
component c {
  rate 10%
  cap $100 per year
}
""")
    result = plan.run(
        deals(("D1", "a", "2027-01-10", 2000), ("D2", "a", "2027-01-11", -500), ("D3", "a", "2027-01-12", -1000))
    )
    # 200.00 earned, 100.00 cut; -50.00 absorbed above the cap (150.00 earned still > 100.00); then -100.00:
    # 50.00 of it absorbed (down to the cap), 50.00 paid back
    assert by_txn(result) == {"D1": d("100.00"), "D2": d("0.00"), "D3": d("-50.00")}
    assert [(line["txn"], line["amount"], line["explanation"]) for line in lines(result, kind="cap")] == [
        ("D1", d("-100.00"), "`cap $100 per year`: limit 100.00 for the plan year reached, 100.00 cut"),
        (
            "D2",
            d("50.00"),
            "`cap $100 per year`: limit 100.00 for the plan year; a reduction of 50.00 is absorbed "
            "while earnings are above it",
        ),
        (
            "D3",
            d("50.00"),
            "`cap $100 per year`: limit 100.00 for the plan year; a reduction of 50.00 is absorbed "
            "while earnings are above it",
        ),
    ]


def test_a_long_summary_shows_the_largest_and_says_how_many_there_are():
    plan = make_plan("component c {\n  rate 10%\n}\n", measure="")
    reps = [f"r{i:04d}" for i in range(1200)]
    result = plan.run(deals(*((f"D{i}", rep, "2027-01-10", 100 + i) for i, rep in enumerate(reps))))
    shown = str(result.summary())
    assert "showing the 60 largest of 1,200 payee-periods" in shown
    assert "r1199" in shown and "r0000" not in shown  # the largest payouts, not the first names


def test_ledger_is_deterministic_and_run_id_stable():
    plan = make_plan("component c { rate 10% }\n")
    rows = deals(("D1", "a", "2027-01-10", 1000), ("D2", "a", "2027-01-11", 2000))
    first, second = plan.run(rows), plan.run(rows)
    assert first.run_id == second.run_id
    assert first.ledger.equals(second.ledger)


def test_a_plan_can_not_name_a_file_outside_its_folder(tmp_path):
    folder = tmp_path / "plans"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("id,rep,day,amount,kind\n")
    plan_file = folder / "p.spm"
    plan_file.write_text(
        HEADER.replace("MEASURE", "")
        .replace("ROLLUP", "")
        .replace("transactions {", 'transactions {\n  file "../secret.csv"')
        + "component c { rate 1% }\n"
    )
    plan = spmlang.load(plan_file)
    with pytest.raises(spmlang.InputError) as caught:
        plan.run()
    assert "outside the plan's folder" in str(caught.value)
    assert plan.run(allow_outside_paths=True).ledger.num_rows == 0


def test_integer_keys_break_date_ties_in_number_order():
    plan = spmlang.loads(
        HEADER.replace("column id   text", "column id   integer").replace("MEASURE", "").replace("ROLLUP", "")
        + "component c {\n  tiers marginal on credit {\n"
        "    $0 .. $1,000 rate 1%\n    $1,000 .. rate 10%\n  }\n}\n"
    )
    rows = pa.table(
        {
            "id": [100, 99],
            "rep": ["a", "a"],
            "day": pa.array([dt.date(2027, 1, 5)] * 2, pa.date32()),
            "amount": pa.array([Decimal(1000), Decimal(1000)], pa.decimal128(18, 2)),
            "kind": ["x", "x"],
        }
    )
    result = plan.run(rows)
    # 99 comes before 100 (as numbers, not as text): it fills the 1% tier.
    assert by_txn(result) == {"99": d("10.00"), "100": d("100.00")}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-3, 12)), max_size=40),
    st.sampled_from([0, 1, 2**40, -(2**62)]),
    st.sampled_from([None, "sequence", "repeat"]),
    st.randoms(use_true_random=False),
)
def test_integer_keys_in_order_sorted_or_by_slot(keys, shift, ids, random):
    """The key order of integer keys (dense ones are put in slots, not sorted) is a stable sort with empty
    keys last, and keys said to be distinct are: ids from a sequence (every slot written once), and as many
    ids as slots with one written twice and one left empty."""
    if ids and keys:
        keys = random.sample(range(len(keys)), len(keys))
        if ids == "repeat" and len(keys) > 1:
            keys[keys.index(0)] = 1
    valid = np.array([k is not None for k in keys], dtype=bool)
    values = np.array([shift + (k or 0) for k in keys], dtype=np.int64)
    order, distinct = in_key_order(values, valid)
    expected = sorted(range(len(keys)), key=lambda i: (keys[i] is None, keys[i] or 0, i))
    assert order.tolist() == expected
    present = [k for k in keys if k is not None]
    if distinct:
        assert len(set(present)) == len(present)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-3, 12)), max_size=40),
    st.sampled_from([0, 2**40, -(2**62)]),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_key_rank_is_each_rows_place_inkey_order(keys, shift, sequence, random):
    """A row's key rank is its place in key order, whether found from the order or (for keys that are every
    number from the lowest to the highest) from the key itself."""
    if sequence:  # ids from a sequence, shuffled
        keys = random.sample(range(len(keys)), len(keys))
    valid = np.array([k is not None for k in keys], dtype=bool)
    values = np.array([shift + (k or 0) for k in keys], dtype=np.int64)
    order, distinct = in_key_order(values, valid)
    order = order.astype(np.int32)
    rank = key_ranks(values, valid, order, distinct)
    assert rank.dtype == np.int32
    assert rank[order].tolist() == list(range(len(keys)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 40), st.booleans()), min_size=1, max_size=40),
    st.sampled_from([0, 2**40, -(2**61)]),
    st.randoms(use_true_random=False),
)
def test_credit_rows_packed_in_order_are_the_rows_ordered(rows, odd_day, random):
    """The credit rows made in crediting order by one packed sort are those made in key order and then
    ordered, whichever rows are credited (payee -1: none; alive false: excluded or rejected), and however
    far from the others the date of a row that is not credited lies (it widens the dates packed unless it is
    left out of them)."""
    import datetime as dt

    from spmlang.engine.calendar import PlanCalendar
    from spmlang.engine.credit.rows import crediting_order, direct_rows_in_order, split_rows

    n = len(rows)
    codes = np.array([r[0] for r in rows], np.int32)
    alive = np.array([r[2] for r in rows], bool)
    dates = np.array([20_000 + r[1] for r in rows], np.int64)
    dates[~alive] += odd_day
    key_order = np.array(random.sample(range(n), n), np.int32)
    key_rank = np.empty(n, np.int32)
    key_rank[key_order] = np.arange(n, dtype=np.int32)
    share, credit = np.ones(n), np.arange(n, dtype=np.int64) * 100
    calendar = PlanCalendar(dt.date(2024, 9, 1), "monthly")  # the days 20,000-20,040 span two months of it
    packed = direct_rows_in_order(codes, share, credit, dates, calendar, alive, key_order, key_rank)
    general = split_rows([codes], [share], credit, dates, calendar.period_of(dates), alive, key_order)
    general = general.take(crediting_order(general))
    for name in ("txn", "payee", "date", "period", "credit"):
        assert getattr(packed, name).tolist() == getattr(general, name).tolist(), name


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "zed", "c"])), max_size=30), st.booleans())
def test_payee_codes_are_their_places_among_the_payees_whatever_the_encoding(names, chunked):
    """A name's code is its place among the run's payees; -1 for an empty name or one not among them."""
    from spmlang.engine.credit.rows import Payees

    payees = Payees(["c", "a", "b"])
    expected = [payees.code.get(name, -1) if name is not None else -1 for name in names]
    plain = pa.array(names, pa.string())
    encoded = plain.dictionary_encode()
    with_null_label = pa.DictionaryArray.from_arrays(  # a null in the dictionary itself, as some writers make
        pa.array([0 if name is None else 1 + sorted({n for n in names if n}).index(name) for name in names], pa.int8()),
        pa.array([None, *sorted({n for n in names if n})], pa.string()),
    )
    for values in (plain, encoded, with_null_label):
        if chunked:
            values = pa.chunked_array([values[: len(values) // 2], values[len(values) // 2 :]], values.type)
        codes = payees.encode(values)
        assert codes.dtype == np.int32 and codes.tolist() == expected


def test_duplicate_integer_keys_are_rejected_however_the_keys_are_ordered():
    plan = spmlang.loads(
        HEADER.replace("column id   text", "column id   integer").replace("MEASURE", "").replace("ROLLUP", "")
        + "component c {\n  rate 10%\n}\n"
    )
    ids = [5, 3, 4, 3, 1, 2]  # dense (ordered by slot) with a duplicate; then sparse (sorted)
    for keys in (ids, [k * 1_000_000 for k in ids]):
        rows = pa.table(
            {
                "id": keys,
                "rep": ["a"] * 6,
                "day": pa.array([dt.date(2027, 1, 5)] * 6, pa.date32()),
                "amount": pa.array([Decimal(100)] * 6, pa.decimal128(18, 2)),
                "kind": ["x"] * 6,
            }
        )
        result = plan.run(rows)
        assert result.accounting["rejected"] == {"duplicate_key": 1}
        assert sorted(by_txn(result)) == sorted({str(k) for k in keys})


def test_text_columns_resolve_to_their_strings_however_taken_and_joined():
    from spmlang.engine.pay.lines import TextColumn

    first, second = ["a", "bb", None, "ccc"], ["d", "ee"]
    joined = TextColumn.concat(
        [TextColumn([pa.array(first)]), TextColumn([pa.chunked_array([second[:1], second[1:]])])]
    )
    strings = first + second
    order = np.array([5, 0, 3, 3, 2, 4, 1])
    shuffled = joined.take(order)
    assert shuffled.resolve().type == pa.string()
    assert shuffled.resolve().to_pylist() == [strings[i] for i in order]
    # the ledger resolves a slice at a time; every slice sees the same strings
    for start in range(0, len(order), 3):
        part = shuffled.take(np.arange(start, min(start + 3, len(order))))
        assert part.resolve().to_pylist() == [strings[i] for i in order[start : start + 3]]
    assert TextColumn([pa.array(["x"])]).resolve().to_pylist() == ["x"]


@pytest.mark.parametrize("more_excluded", [0, 8])  # 8: so few rows credited that they are evaluated as rows
def test_a_component_reads_only_the_transactions_it_credits(more_excluded):
    """Component expressions of a transaction's columns are evaluated per transaction (or, when filters left
    few, per credit row): a transaction the plan excludes is never a problem for what a component could not
    read of it, and one it credits is not paid by that component, once, with its own key in the message."""
    plan = make_plan(
        RATES_BY_KIND
        + """
component commission {
  rate rates[kind]
}
""",
        rollup="where positive: amount > $0",
    )
    rows = deals(
        ("D1", "a", "2027-01-10", 1000, "new"),
        ("D2", "a", "2027-01-11", 2000, "mystery"),
        ("D3", "a", "2027-01-12", -500, "mystery"),
        ("D4", "a", "2027-01-13", 3000, "new"),
        *((f"X{i}", "a", "2027-01-14", -1, "mystery") for i in range(more_excluded)),
    )
    result = plan.run(rows, quotas=QUOTAS)
    assert by_txn(result) == {"D1": d("100.00"), "D2": d("0.00"), "D4": d("300.00")}
    assert result.accounting["excluded"] == {"positive": 1 + more_excluded}
    assert result.accounting["rejected"] == {}
    unpaid = result.unpaid.to_pylist()
    assert [(r["row"], r["key"], r["component"], r["reason"], r["message"]) for r in unpaid] == [
        (2, "D2", "commission", "missing_lookup", "'mystery' is not in table rates")
    ]


@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.booleans()), st.one_of(st.none(), st.booleans())), min_size=1, max_size=30
    ),
    st.sampled_from(["and", "or"]),
    st.sampled_from(["scalar", "stored once", "full"]),
)
def test_and_or_follow_kleene_logic_whatever_form_their_validity_takes(pairs, op, form):
    """Conditions over columns without empty values take a shortcut (two-valued logic, no validity made);
    with unknowns, false and unknown is false and true or unknown is true. The shortcut and the full logic
    agree, whether 'known everywhere' comes as a scalar, stored once, or a full array."""
    from spmlang.diagnostics import Span
    from spmlang.engine.expressions.evaluate import evaluate
    from spmlang.engine.expressions.values import Frame, Vec
    from spmlang.engine.kernels import grouping
    from spmlang.ir import expressions as ir

    def column(values):
        valid = np.array([v is not None for v in values])
        if valid.all():
            valid = {"scalar": True, "stored once": grouping.uniform(True, len(values)), "full": valid}[form]
        return Vec(np.array([bool(v) for v in values]), valid, ir.Type.BOOL)

    def kleene(a, b):
        if op == "and":
            return False if a is False or b is False else (None if a is None or b is None else True)
        return True if a is True or b is True else (None if a is None or b is None else False)

    span = Span("plan.spm", 1, 1, 1, 2)
    left, right = [p[0] for p in pairs], [p[1] for p in pairs]
    frame = Frame(len(pairs), {"a": column(left), "b": column(right)})
    result = evaluate(
        ir.Logical(op, ir.Column("a", ir.Type.BOOL, span), ir.Column("b", ir.Type.BOOL, span), span), frame
    )
    values = np.broadcast_to(result.values, (len(pairs),))
    valid = np.broadcast_to(result.valid, (len(pairs),))
    assert [bool(v) if k else None for v, k in zip(values, valid, strict=True)] == [kleene(a, b) for a, b in pairs]
    # A comparison is known where both sides are, whichever side is known everywhere.
    for first, second in (("a", "b"), ("b", "a")):
        compared = evaluate(
            ir.Comparison("==", ir.Column(first, ir.Type.BOOL, span), ir.Column(second, ir.Type.BOOL, span), span),
            frame,
        )
        known = np.broadcast_to(compared.valid, (len(pairs),)).tolist()
        assert known == [a is not None and b is not None for a, b in pairs]


def test_a_gate_line_says_the_figures_its_condition_read():
    plan = make_plan(
        "quotas {\n  per period\n}\ncomponent commission {\n  rate 10%\n  gate count >= 2 and attainment >= 10%\n}\n"
    )
    result = plan.run(deals(("A1", "a", "2027-01-10", 6000), ("A2", "a", "2027-02-10", 1000)), quotas=QUOTAS)
    gates = [line["explanation"] for line in lines(result, kind="gate")]
    assert gates == [
        "withheld 700.00: gate `count >= 2 and attainment >= 10%` not met at the end of 2027-Q1 "
        "(attainment 7%, count 2)"
    ]


def test_a_gate_line_says_whether_the_gate_held_whatever_its_sign():
    # A credit note while the gate is closed: the period's -200.00 is not taken back (a gate line of +200.00,
    # the gate not met); when it opens, the 200.00 the earnings fell by is (a line of -200.00, the gate met).
    # Each says what the condition read at the period's end (the plan has no quotas: no attainment to say).
    plan = make_plan("component commission {\n  rate 10%\n  gate credit >= $5,000\n}\n")
    result = plan.run(
        deals(("A1", "a", "2027-01-10", 6000), ("A2", "a", "2027-05-10", -2000), ("A3", "a", "2027-08-10", 1000))
    )
    gates = [(line["period"], line["amount"], line["explanation"]) for line in lines(result, kind="gate")]
    assert gates == [
        (
            "2027-Q2",
            d("200.00"),
            "not taken back 200.00 (the period's earnings below zero): gate `credit >= $5,000` not met at the end "
            "of 2027-Q2 (credit 4000.00)",
        ),
        (
            "2027-Q3",
            d("-200.00"),
            "taken back 200.00 (what the earnings fell by while it was closed): gate `credit >= $5,000` met at the "
            "end of 2027-Q3 (credit 5000.00)",
        ),
    ]
    assert [payout(result, "a", p) for p in ("2027-Q1", "2027-Q2", "2027-Q3")] == [d("600.00"), d("0.00"), d("-100.00")]
