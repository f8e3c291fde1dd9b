"""Runs against earlier ledgers, clawbacks and draws: cases the differential and property tests found, each
pinned on its own (docs/calculation.md §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pyarrow as pa

import spmlang
from spmlang.engine import run as calculator

PLAN = """
plan "Cycle" {
  year starts 2027-01-01
  payout quarterly
}

transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  column cancel date
  key       id
  date      day
  payee     rep
  credit    amount
  cancelled cancel
}

component commission {
  rate 10%
}
"""


def deals(*rows: tuple) -> pa.Table:
    """(id, rep, day, amount[, cancel]) rows as a transaction table."""
    rows = tuple((*row, None)[:5] for row in rows)
    return pa.table(
        {
            "id": pa.array([r[0] for r in rows], pa.string()),
            "rep": pa.array([r[1] for r in rows], pa.string()),
            "day": pa.array([dt.date.fromisoformat(r[2]) for r in rows], pa.date32()),
            "amount": pa.array([Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
            "cancel": pa.array([None if r[4] is None else dt.date.fromisoformat(r[4]) for r in rows], pa.date32()),
        }
    )


def lines(result) -> list[tuple]:
    return [(r["payee"], r["period"], r["kind"], r["txn"], r["amount"]) for r in result.ledger.to_pylist()]


def test_a_payee_whose_only_paid_transaction_is_gone_gets_its_adjustment(tmp_path):
    """ann's only deal, paid in a closed quarter, is no longer in the data: the run takes back what it paid
    (it stopped with an IndexError)."""
    plan = spmlang.loads(PLAN, "cycle.spm")
    q1 = tmp_path / "q1.parquet"
    plan.run(deals(("D1", "ann", "2027-02-01", "1000"), ("D2", "bo", "2027-02-01", "500")), through="2027-Q1").write(q1)
    result = plan.run(deals(("D2", "bo", "2027-02-01", "500")), paid=[q1], through="2027-Q2")
    (line,) = result.ledger.to_pylist()
    assert (line["payee"], line["period"], line["kind"], line["amount"]) == ("ann", "2027-Q2", "adjustment", -100)
    assert line["for_period"] == "2027-Q1"
    assert "D1: no longer paid" in line["explanation"]


def test_an_adjustment_of_a_transaction_no_longer_paid_names_it(tmp_path):
    """A transaction paid in a closed period and now gone from the data, or rejected, is taken back on a line
    whose `txn` names it, as every adjustment of a transaction does (it was empty: only the explanation said)."""
    plan = spmlang.loads(PLAN, "cycle.spm")
    q1 = tmp_path / "q1.parquet"
    paid = deals(
        ("D1", "ann", "2027-02-01", "1000"), ("D2", "ann", "2027-02-02", "500"), ("D3", "bo", "2027-03-01", "10")
    )
    plan.run(paid, through="2027-Q1").write(q1)
    now = deals(("D2", "ann", "2027-02-02", "500"), ("D3", "bo", "2027-03-01", "10", "2027-02-01"))  # D3: rejected
    result = plan.run(now, paid=[q1], through="2027-Q2")
    assert result.accounting["rejected"] == {"invalid_value": 1}  # cancelled before its date
    assert lines(result) == [
        ("ann", "2027-Q2", "adjustment", "D1", Decimal("-100.00")),
        ("bo", "2027-Q2", "adjustment", "D3", Decimal("-1.00")),
    ]


def test_a_late_transaction_of_a_payee_new_to_the_run_is_paid_as_an_adjustment(tmp_path):
    """cy was not in the earlier ledger: the deal cy closed in the closed quarter, reported late, is paid in
    the first open one. Paid in a batch of its own (as in a large run), it stopped with an IndexError."""
    plan = spmlang.loads(PLAN, "cycle.spm")
    q1 = tmp_path / "q1.parquet"
    plan.run(deals(("D1", "ann", "2027-02-01", "1000")), through="2027-Q1").write(q1)
    late = deals(("D1", "ann", "2027-02-01", "1000"), ("D9", "cy", "2027-03-30", "2000"))
    with mock.patch.object(calculator, "BATCH_ROWS", 1):  # a batch per payee
        result = plan.run(late, paid=[q1], through="2027-Q2")
    assert lines(result) == [("cy", "2027-Q2", "adjustment", "D9", Decimal("200.00"))]
    assert "D9: not in the earlier ledger" in result.ledger.column("explanation")[0].as_py()


def test_a_recalculated_cancellation_leaves_the_measure_in_key_order_on_its_day():
    """Credit rows are ordered by date, then key (docs/calculation.md §2); a cancellation's reversal row too.
    D1's credit leaves the measure on 2027-03-01 before D2, closed that day, is priced: D2 earns at 1% from
    zero. (The reversal row went after every row of its day, and D2 was priced at 10% above $50,000.)"""
    plan = spmlang.loads(
        PLAN.replace("payout quarterly\n}", "payout quarterly\n  clawback recalculate\n}").replace(
            "rate 10%", "tiers marginal on credit {\n    $0 .. $50,000 rate 1%\n    $50,000 .. rate 10%\n  }"
        ),
        "cycle.spm",
    )
    result = plan.run(deals(("D1", "ann", "2027-01-10", "60000", "2027-03-01"), ("D2", "ann", "2027-03-01", "30000")))
    assert lines(result) == [
        ("ann", "2027-Q1", "earning", "D1", Decimal("1500.00")),
        ("ann", "2027-Q1", "clawback", "D1", Decimal("-1500.00")),
        ("ann", "2027-Q1", "earning", "D2", Decimal("300.00")),
    ]


def test_draws_run_to_the_last_period_with_a_transaction_or_a_cancellation_whatever_the_clawback_mode():
    """Without --through, draws are paid up to the last period with a transaction or a cancellation
    (docs/calculation.md §6), in every mode: a clawback after the last deal still meets the draw (with
    `clawback recalculate` alone, its reversal row counted, and the other modes stopped at the deal)."""
    drawn = PLAN + "\ndraw {\n  amount $100 per period\n  non_recoverable\n}\n"
    data = deals(("D1", "ann", "2027-02-01", "100", "2027-08-01"))
    for mode in ("as_paid", "at_rate", "recalculate"):
        plan = spmlang.loads(drawn.replace("payout quarterly\n}", f"payout quarterly\n  clawback {mode}\n}}"), "c.spm")
        draws = [(r["period"], r["amount"]) for r in plan.run(data).ledger.to_pylist() if r["kind"] == "draw"]
        # Q1: 10.00 earned, 90.00 drawn; Q2 nothing earned; Q3: the 10.00 clawed back, 110.00 drawn.
        assert draws == [
            ("2027-Q1", Decimal("90.00")),
            ("2027-Q2", Decimal("100.00")),
            ("2027-Q3", Decimal("110.00")),
        ], mode


def test_a_periods_draw_comes_after_what_it_tops_up():
    """The ledger settles a period's pay in order (docs/calculation.md §7): clawbacks, holds and adjustments,
    then the draw and the floor on what they left. The draw line came first: its row-less line sorted before
    every clawback of a transaction."""
    plan = spmlang.loads(
        PLAN.replace("payout quarterly\n}", "payout quarterly\n  payout floor $0\n}")
        + "\ndraw {\n  amount $50 per period\n  recoverable\n}\n",
        "c.spm",
    )
    result = plan.run(deals(("D1", "ann", "2027-02-01", "1000", "2027-05-01"), ("D2", "ann", "2027-05-02", "100")))
    assert lines(result) == [
        ("ann", "2027-Q1", "earning", "D1", Decimal("100.00")),
        ("ann", "2027-Q2", "earning", "D2", Decimal("10.00")),
        ("ann", "2027-Q2", "clawback", "D1", Decimal("-100.00")),
        ("ann", "2027-Q2", "draw", None, Decimal("140.00")),
    ]


def test_every_ledger_spm_writes_can_be_paid_against(tmp_path):
    """A ledger written as .json (an array), or as .jsonl with no line (nothing paid in the closed quarter),
    is an earlier ledger like any other (both stopped with E512 'cannot read the earlier ledger')."""
    plan = spmlang.loads(PLAN, "cycle.spm")
    for suffix in ("parquet", "csv", "json", "jsonl"):
        for day, paid_then in (("2027-02-01", Decimal("100.00")), ("2027-05-01", None)):
            q1 = tmp_path / suffix / f"q1-{day}.{suffix}"  # a folder a format: a ledger has its own manifest
            plan.run(deals(("D1", "ann", day, "1000")), through="2027-Q1").write(q1)
            now = plan.run(deals(("D1", "ann", day, "1000"), ("D2", "ann", "2027-02-02", "50")), paid=[q1])
            expected = [("ann", "2027-Q2", "adjustment", "D2", Decimal("5.00"))]
            if paid_then is None:
                expected.insert(0, ("ann", "2027-Q2", "earning", "D1", Decimal("100.00")))
            assert lines(now) == expected, suffix


def test_a_true_up_is_not_what_a_deal_was_paid_when_it_is_clawed_back():
    """docs/calculation.md §6: `as_paid` and `at_rate` take back a deal's own lines, not the true-up that cut
    them when the quota to date grew; `recalculate` leaves the year as if the deal had never been."""
    tiers = PLAN.replace(
        "component commission {\n  rate 10%\n}",
        "quotas {\n  per period\n  rows {\n    a 2027-Q1 $10,000\n    a 2027-Q2 $10,000\n"
        "    a 2027-Q3 $10,000\n    a 2027-Q4 $10,000\n  }\n}\n"
        "component commission {\n  tiers marginal on attainment {\n    0% .. 100% rate 5%\n"
        "    100% .. rate 20%\n  }\n}",
    )
    data = deals(("R1", "a", "2027-02-01", "20000", "2027-08-01"))
    for mode, year in (("as_paid", "-1500.00"), ("at_rate", "-1500.00"), ("recalculate", "0.00")):
        plan = spmlang.loads(tiers.replace("payout quarterly", f"payout quarterly\n  clawback {mode}"), "c.spm")
        result = plan.run(data, through="2027-Q4")
        got = [(period, kind, amount) for _, period, kind, _, amount in lines(result)]
        assert got[:2] == [("2027-Q1", "earning", Decimal("2500.00")), ("2027-Q2", "true_up", Decimal("-1500.00"))]
        assert sum(amount for _, _, amount in got) == Decimal(year), (mode, got)


def test_a_withdrawn_cancellation_is_said_as_such_not_as_a_deal_no_longer_paid(tmp_path):
    """Clawed back in a closed quarter, then the cancellation withdrawn: the deal is still paid, and the
    adjustment that gives the money back says why (review: it said 'no longer paid (removed, ...)')."""
    plan = spmlang.loads(PLAN, "cycle.spm")
    cancelled = deals(("C1", "ann", "2027-02-01", "1000", "2027-05-10"))
    plan.run(cancelled, through="2027-Q2").write(tmp_path / "h1.parquet")
    kept = plan.run(deals(("C1", "ann", "2027-02-01", "1000")), paid=[tmp_path / "h1.parquet"], through="2027-Q3")
    [back] = [r for r in kept.ledger.to_pylist() if r["kind"] == "adjustment"]
    assert (back["txn"], back["for_period"], back["amount"]) == ("C1", "2027-Q2", Decimal("100.00"))
    assert back["explanation"].startswith(
        "for 2027-Q2, C1: no longer cancelled in this period (its cancellation withdrawn or moved): paid -100.00"
    )


def test_a_refund_changed_after_its_period_closed_says_so(tmp_path):
    """A partial refund raised from 4,000 to 6,000 after Q1 closed: the adjustment said 're-priced (the plan, a
    quota or an earlier row changed)', which none of them had."""
    plan = spmlang.loads(
        PLAN.replace("column cancel date", "column cancel date\n  column refund money").replace(
            "cancelled cancel", "cancelled cancel\n  refunded refund"
        ),
        "refund.spm",
    )

    def refunded(amount: str) -> pa.Table:
        table = deals(("R1", "ann", "2027-01-10", "10000", "2027-02-10"))
        return table.append_column("refund", pa.array([Decimal(amount)], pa.decimal128(18, 2)))

    plan.run(refunded("4000"), through="2027-Q1").write(tmp_path / "q1.parquet")
    later = plan.run(refunded("6000"), paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    [line] = [r for r in later.ledger.to_pylist() if r["kind"] == "adjustment"]
    assert (line["txn"], line["for_period"], line["amount"]) == ("R1", "2027-Q1", Decimal("-200.00"))
    assert line["explanation"] == (
        "for 2027-Q1, R1: its clawback changed (the refund, the cancellation, or what it reverses): paid 600.00, "
        "due now 400.00, -200.00"
    )


def test_a_credit_of_sub_cent_precision_is_not_said_to_have_changed(tmp_path):
    """A credit held to the micro-unit (a converted amount, 1,000.005 here) was compared with the earlier
    ledger's, held to the cent: a re-priced deal said 'its credit changed 1,000.01 -> 1,000.01'."""
    table = deals(("A", "ann", "2027-02-01", "1000"))
    table = table.set_column(3, "amount", pa.array([Decimal("1000.005")], pa.decimal128(18, 3)))
    spmlang.loads(PLAN, "cycle.spm").run(table, through="2027-Q1").write(tmp_path / "q1.parquet")
    repriced = spmlang.loads(PLAN.replace("rate 10%", "rate 12%"), "cycle.spm")
    later = repriced.run(table, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    [line] = [r for r in later.ledger.to_pylist() if r["kind"] == "adjustment"]
    assert line["explanation"] == (
        "for 2027-Q1, A: re-priced (the plan, a quota or an earlier row changed): paid 100.00, due now 120.00, 20.00"
    )
