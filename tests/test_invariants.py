"""Invariants of the calculation model, on random data (hypothesis)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pyarrow as pa
from conftest import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import spmlang

HEADER = """plan "I" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id text; column rep text; column day date; column amount money
  key id; date day; payee rep; credit amount
}
"""
QUOTAS = pa.table(
    {
        "payee": ["a"] * 4 + ["b"] * 4,
        "period": ["Q1", "Q2", "Q3", "Q4"] * 2,
        "amount": [50_000.0, 80_000.0, 80_000.0, 100_000.0] * 2,
    }
)
TARGETS = pa.table({"payee": ["a", "b"], "amount": [20_000.0, 30_000.0]})

deal = st.tuples(
    st.sampled_from(["a", "b"]),
    st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
    st.integers(-2_000_000, 30_000_000).map(lambda cents: Decimal(cents) / 100),
)


def table(deals) -> pa.Table:
    return pa.table(
        {
            "id": [f"D{i:04d}" for i in range(len(deals))],
            "rep": [d[0] for d in deals],
            "day": pa.array([d[1] for d in deals], pa.date32()),
            "amount": pa.array([d[2] for d in deals], pa.decimal128(18, 2)),
        }
    )


def totals(result, by=("payee", "period", "component")) -> dict:
    sums = defaultdict(Decimal)
    for line in result.ledger.to_pylist():
        sums[tuple(line[k] for k in by)] += line["amount"]
    return {k: v for k, v in sums.items() if v}


MARGINAL = (
    HEADER
    + """component c {
  tiers marginal on attainment {
    0%   .. 50%  rate 3%
    50%  .. 100% rate 7.5%
    100% ..      rate 12%
  }
}
"""
)


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(deal, max_size=25),
    st.sampled_from(["year", "period"]),
    st.integers(1, 60_000),
    st.sampled_from(["period", "year"]),
)
def test_caps_are_never_exceeded(deals, _unused, cap, scope):
    plan = spmlang.loads(
        HEADER + f"component c {{\n  rate 9%\n  cap ${cap:,} per {scope}\n}}\n"
        f"spif s {{\n  pay $300 per deal\n  cap 5% of target per {scope}\n}}\n"
    )
    result = plan.run(table(deals), targets=TARGETS)
    group = ("payee", "period", "component") if scope == "period" else ("payee", "component")
    running = defaultdict(Decimal)
    ledger = result.ledger.to_pylist()
    for i, line in enumerate(ledger):  # in ledger order, once a row's lines (earning, then its cut) are counted
        key = tuple(line[k] for k in group)
        running[key] += line["amount"]
        following = ledger[i + 1] if i + 1 < len(ledger) else None
        if (
            following is not None
            and following["txn"] == line["txn"]
            and following["kind"] == "cap"
            and following["component"] == line["component"]
        ):
            continue
        limit = (
            Decimal(cap)
            if line["component"] == "c"
            else (Decimal("1000") if line["payee"] == "a" else Decimal("1500")) / (4 if scope == "period" else 1)
        )
        assert running[key] <= limit


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(deal, min_size=1, max_size=20), st.randoms())
def test_marginal_period_totals_do_not_depend_on_row_order(deals, random):
    plan = spmlang.loads(MARGINAL)
    shuffled = list(deals)
    random.shuffle(shuffled)
    # The same deals, processed in another order: the keys (which break ties and name the rows) are reassigned.
    assert totals(plan.run(table(deals), quotas=QUOTAS)) == totals(plan.run(table(shuffled), quotas=QUOTAS))


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(deal, min_size=1, max_size=20), st.data())
def test_splitting_a_deal_in_two_changes_no_total(deals, data):
    plan = spmlang.loads(MARGINAL)
    index = data.draw(st.integers(0, len(deals) - 1))
    payee, day, amount = deals[index]
    part = data.draw(st.integers(-1_000_000, 5_000_000).map(lambda cents: Decimal(cents) / 100))
    split = deals[:index] + [(payee, day, part), (payee, day, amount - part)] + deals[index + 1 :]
    assert totals(plan.run(table(deals), quotas=QUOTAS)) == totals(plan.run(table(split), quotas=QUOTAS))


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.integers(1, 250), min_size=2, max_size=5, unique=True),
    st.lists(st.integers(0, 300), min_size=5, max_size=5),
    st.lists(deal, min_size=1, max_size=20),
    st.booleans(),
    st.booleans(),
)
def test_payout_curves_are_monotone_where_their_points_are(xs, ys, deals, below, above):
    xs, ys = sorted(xs), sorted(ys)[: len(sorted(xs))]
    if below:  # a cumulative curve pays nothing at zero (E407): extended below, it starts there
        xs, ys = [0, *xs], [0, *ys]
    points = "\n".join(f"    {x}% -> {y}% of target" for x, y in zip(xs, ys, strict=True))
    extends = ("    extend below\n" if below else "") + ("    extend above\n" if above else "")
    plan = spmlang.loads(HEADER + f"component k {{\n  curve on attainment {{\n{points}\n{extends}  }}\n}}\n")
    positive = [(p, d, abs(a)) for p, d, a in deals]
    assume(any(a for _, _, a in positive))
    result = plan.run(table(positive), quotas=QUOTAS, targets=TARGETS)
    by_row = defaultdict(Decimal)
    for line in result.ledger.to_pylist():
        if line["txn"] is not None:
            by_row[(line["payee"], line["txn"])] += line["amount"]
    # Points that never go down make a curve that never goes down (its extended ends keep their slopes):
    # a row that adds credit is never paid less. (True-ups re-price on a growing quota; they are not rows.)
    assert all(amount >= 0 for amount in by_row.values()), by_row
