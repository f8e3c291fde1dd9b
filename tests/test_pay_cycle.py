"""The pay cycle, case by case: clawback modes, windows and refunds, holds, draws, the payout floor, and runs
against earlier ledgers (docs/calculation.md §6). Figures are worked by hand in each test."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from helpers import quarterly_plan
from hypothesis import given, settings
from hypothesis import strategies as st

import spmlang
from spmlang.diagnostics import InputError, UsageError

HEADER = """plan "Cycle" {{
  year starts 2027-01-01
  payout      quarterly
{settings}}}

transactions {{
  column id         text
  column rep        text
  column day        date
  column kind       text
  column amount     money
  column cancelled  date
  column refund     money
  column paid       date
  key       id
  date      day
  payee     rep
  credit    amount
  cancelled cancelled
  refunded  refund
}}
"""

COMMISSION_AND_SPIF = """
component commission {{
  rate 10%
{commission}}}

spif logo {{
  pay $500 per deal
  where kind == "new"
{spif}}}
"""


def plan(settings: str = "", commission: str = "", spif: str = "", extra: str = ""):
    text = HEADER.format(settings=settings) + COMMISSION_AND_SPIF.format(commission=commission, spif=spif) + extra
    return spmlang.loads(text, "cycle.spm")


def deals(*rows) -> pa.Table:
    """Rows of (id, rep, day, kind, amount, cancelled, refund, paid); None for empty."""
    names = ["id", "rep", "day", "kind", "amount", "cancelled", "refund", "paid"]
    padded = [tuple(row) + (None,) * (len(names) - len(row)) for row in rows]
    return pa.table(
        {
            name: pa.array([str(r[i]) if r[i] is not None else None for r in padded], pa.string())
            for i, name in enumerate(names)
        }
    )


def lines(result, **where) -> list[dict]:
    return [r for r in result.ledger.to_pylist() if all(r[k] == v for k, v in where.items())]


def amounts(result, **where) -> list[Decimal]:
    return [r["amount"] for r in lines(result, **where)]


def pay(result, payee: str, period: str | None = None) -> Decimal:
    return sum((r["amount"] for r in lines(result, payee=payee) if period in (None, r["period"])), Decimal("0.00"))


def test_as_paid_claws_back_a_fixed_amount_and_at_rate_keeps_it():
    data = deals(("N1", "ann", "2027-02-01", "new", 20000, "2027-05-01"))
    as_paid = plan().run(data)
    at_rate = plan("  clawback at_rate\n").run(data)
    # Q1: 2,000.00 commission + 500.00 SPIF. Cancelled in Q2.
    assert amounts(as_paid, kind="clawback", period="2027-Q2") == [Decimal("-2000.00"), Decimal("-500.00")]
    assert amounts(at_rate, kind="clawback", period="2027-Q2") == [Decimal("-2000.00"), Decimal("0.00")]
    assert pay(as_paid, "ann") == Decimal("0.00") and pay(at_rate, "ann") == Decimal("500.00")


def test_a_partial_refund_claws_back_in_proportion_rounded_to_the_cent():
    # 1,000.01 at 10% pays 100.00 (cumulative rounding); a third refunded: -33.33 of it (100.00 x 333.34 / 1000.01).
    result = plan().run(deals(("P1", "ann", "2027-01-10", "renewal", "1000.01", "2027-02-01", "333.34")))
    clawback = lines(result, kind="clawback")
    assert [c["amount"] for c in clawback] == [Decimal("-33.33")]
    assert "refunded 333.34 of 1000.01" in clawback[0]["explanation"]


def test_a_cancellation_outside_the_window_is_counted_not_clawed_back():
    result = plan("  clawback as_paid within 90 days\n").run(
        deals(
            ("W1", "ann", "2027-01-10", "renewal", 10000, "2027-06-01"),
            ("W2", "ann", "2027-01-10", "renewal", 10000, "2027-03-01"),
        )
    )
    outside = lines(result, kind="clawback", txn="W1")
    assert [c["amount"] for c in outside] == [Decimal("0.00")]
    assert "142 days after the transaction: outside the 90-day window" in outside[0]["explanation"]
    assert amounts(result, kind="clawback", txn="W2") == [Decimal("-1000.00")]


def test_cancellations_after_the_year_or_before_the_deal():
    result = plan().run(
        deals(
            ("A1", "ann", "2027-03-10", "renewal", 10000, "2028-01-15"),  # next plan year's to claw back
            ("A2", "ann", "2027-03-10", "renewal", 10000, "2027-03-01"),  # before its own date: bad data
        )
    )
    assert not lines(result, kind="clawback")
    assert amounts(result, txn="A1") == [Decimal("1000.00")]
    assert result.accounting["rejected"] == {"invalid_value": 1}
    rejected = result.rejects.to_pylist()
    assert rejected[0]["key"] == "A2" and "before the transaction's date" in rejected[0]["message"]


def test_a_refund_larger_than_the_credit_is_rejected():
    result = plan().run(deals(("R1", "ann", "2027-03-10", "renewal", 1000, "2027-04-01", 1500)))
    assert result.accounting["rejected"] == {"invalid_value": 1}
    assert "not between zero and the credit" in result.rejects.to_pylist()[0]["message"]


def test_recalculate_re_prices_later_rows_and_reverses_a_per_deal_amount():
    tiers = """  clawback recalculate
  tiers marginal on credit {
    $0      .. $50,000 rate 5%
    $50,000 ..         rate 10%
  }
"""
    text = HEADER.format(settings="") + COMMISSION_AND_SPIF.format(commission="", spif="").replace(
        "  rate 10%\n", tiers
    )
    recalculating = spmlang.loads(text, "cycle.spm")
    result = recalculating.run(
        deals(
            ("C1", "ann", "2027-01-10", "new", 40000, "2027-04-20"),
            ("C2", "ann", "2027-02-10", "renewal", 20000),
            ("C3", "ann", "2027-05-10", "renewal", 10000),
        )
    )
    # Q1: C1 40,000 at 5% = 2,000; C2: 10,000 at 5% + 10,000 at 10% = 1,500. Q2: C1 leaves the measure
    # (60,000 -> 20,000): E(20,000) - E(60,000) = 1,000 - 3,500 = -2,500, then C3 20,000 -> 30,000 at 5% = 500.
    assert amounts(result, component="commission", kind="clawback") == [Decimal("-2500.00")]
    assert amounts(result, component="commission", txn="C3") == [Decimal("500.00")]
    # The SPIF is paid per deal: its clawback is the deal's own line, not what a negative deal would earn.
    assert amounts(result, component="logo", kind="clawback") == [Decimal("-500.00")]
    assert pay(result, "ann") == Decimal("1500.00")  # 30,000 at 5%, as if C1 had never been


def test_a_component_that_claws_back_money_is_priced_without_the_reversal():
    text = HEADER.format(settings="  clawback recalculate\n") + COMMISSION_AND_SPIF.format(
        commission="  clawback as_paid\n", spif=""
    )
    result = spmlang.loads(text, "cycle.spm").run(
        deals(
            ("M1", "ann", "2027-01-10", "renewal", 40000, "2027-04-20"), ("M2", "ann", "2027-05-10", "renewal", 10000)
        )
    )
    assert amounts(result, component="commission", kind="clawback") == [Decimal("-4000.00")]
    assert amounts(result, component="commission", txn="M2") == [Decimal("1000.00")]


def test_payable_when_holds_until_a_later_run_finds_the_row_payable(tmp_path):
    cycle = plan(spif="  payable when paid is not empty\n")
    unpaid = deals(("H1", "ann", "2027-02-10", "new", 10000))
    q1 = cycle.run(unpaid, through="2027-Q1")
    assert amounts(q1, component="logo") == [Decimal("500.00"), Decimal("-500.00")]
    assert [r["kind"] for r in lines(q1, component="logo")] == ["spif", "hold"]
    q1.write(tmp_path / "q1.parquet")
    collected = deals(("H1", "ann", "2027-02-10", "new", 10000, None, None, "2027-04-03"))
    q2 = cycle.run(collected, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    release = lines(q2, kind="release")
    assert [(r["amount"], r["txn"], r["for_period"]) for r in release] == [(Decimal("500.00"), "H1", "2027-Q1")]


def test_the_payout_floor_tops_up_and_recovers_later():
    floored = plan("  payout floor $0\n")
    # F1 cancelled in Q2, as paid: Q2 = 100 - 3,000 = -2,900 -> floor 2,900;
    # Q3 pays 2,000, all of it recovers the floor: Q3 0, owed 900.
    cancelled = floored.run(
        deals(
            ("F1", "ann", "2027-01-10", "renewal", 30000, "2027-05-01"),
            ("F1x", "ann", "2027-04-10", "renewal", 1000),
            ("F2", "ann", "2027-07-10", "renewal", 20000),
        )
    )
    assert [pay(cancelled, "ann", p) for p in ("2027-Q1", "2027-Q2", "2027-Q3")] == [
        Decimal("3000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]
    floor = lines(cancelled, kind="floor")
    recovery = lines(cancelled, kind="floor_recovery")
    assert [(r["amount"], r["balance"]) for r in floor] == [(Decimal("2900.00"), Decimal("2900.00"))]
    assert [(r["amount"], r["balance"]) for r in recovery] == [(Decimal("-2000.00"), Decimal("900.00"))]
    assert "payout floor still to recover: ann 900.00" in str(cancelled.summary())


def test_a_draw_runs_until_its_date_and_recovers_from_its_date_at_most_its_share():
    draw = """
draw {
  amount $1,000 per quarter
  recoverable
  recover at most 50%
  recover from 2027-07-01
  until 2027-04-30
}
"""
    result = plan(extra=draw).run(
        deals(
            ("D1", "ann", "2027-01-10", "renewal", 2000),  # Q1 earns 200: draw 800, owed 800
            ("D2", "ann", "2027-04-10", "renewal", 30000),  # Q2 earns 3,000: no recovery before July
            ("D3", "ann", "2027-07-10", "renewal", 3000),  # Q3 earns 300, the draw ended: recover 50% = 150
            ("D4", "ann", "2027-10-10", "renewal", 20000),  # Q4 earns 2,000: recover min(650, 1,000) = 650
        )
    )
    rows = [(r["period"], r["kind"], r["amount"], r["balance"]) for r in lines(result) if r["balance"] is not None]
    assert rows == [
        ("2027-Q1", "draw", Decimal("800.00"), Decimal("800.00")),
        ("2027-Q3", "draw_recovery", Decimal("-150.00"), Decimal("650.00")),
        ("2027-Q4", "draw_recovery", Decimal("-650.00"), Decimal("0.00")),
    ]
    recovery = lines(result, kind="draw_recovery")[0]["explanation"]
    assert recovery == "recovers the draw from 50% of pay above it: -150.00; owed after it 650.00"


def test_a_recovery_limit_is_said_as_written():
    draw = "\ndraw {\n  amount $1,000 per quarter\n  recoverable\n  recover at most 33.333%\n}\n"
    result = plan(extra=draw).run(
        deals(
            ("D1", "ann", "2027-01-10", "renewal", 2000),  # Q1 earns 200: draw 800, owed 800
            ("D2", "ann", "2027-04-10", "renewal", 20000),  # Q2 earns 2,000: 33.333% of 1,000 = 333.33
        )
    )
    recovery = lines(result, kind="draw_recovery")
    assert [(r["amount"], r["explanation"]) for r in recovery] == [
        (
            Decimal("-333.33"),
            "recovers the draw from 33.333% of pay above it: -333.33; owed after it 466.67",
        )
    ]


def test_a_ledger_of_another_plan_is_adjusted_under_its_own_component_and_clause(tmp_path):
    old = plan()
    data = deals(("O1", "ann", "2027-02-01", "new", 10000))
    old.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    renamed = HEADER.format(settings="") + "\ncomponent commission {\n  rate 12%\n}\n"
    new = spmlang.loads(renamed, "cycle-v2.spm").run(data, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    adjusted = {(r["component"], r["clause"]): (r["amount"], r["for_period"]) for r in lines(new, kind="adjustment")}
    assert adjusted == {
        ("commission", "cycle-v2.spm:24"): (Decimal("200.00"), "2027-Q1"),  # 12% now, 10% then
        ("logo", "cycle.spm:28"): (Decimal("-500.00"), "2027-Q1"),  # a component the plan no longer has
    }


def test_earlier_ledgers_that_cannot_be_used(tmp_path):
    cycle = plan()
    data = deals(("E1", "ann", "2027-02-01", "renewal", 10000))
    cycle.run(data, through="2027-Q2").write(tmp_path / "h1.parquet")
    with pytest.raises(UsageError, match="--through 2027-Q1 is closed"):
        cycle.run(data, paid=[tmp_path / "h1.parquet"], through="2027-Q1")
    cycle.run(data, through="2027-Q4").write(tmp_path / "year.parquet")
    with pytest.raises(UsageError, match="every period of the plan year is closed"):
        cycle.run(data, paid=[tmp_path / "year.parquet"])
    manifest = tmp_path / "h1.manifest.json"
    recorded = json.loads(manifest.read_text())
    recorded["currency"] = "EUR"
    manifest.write_text(json.dumps(recorded))
    with pytest.raises(InputError, match="the earlier ledger is in EUR, this plan pays in USD"):
        cycle.run(data, paid=[tmp_path / "h1.parquet"])
    with pytest.raises(UsageError, match="not a period of this plan"):
        cycle.run(data, through="2027-Q9")


def test_what_payees_owe_at_the_end_is_a_table_too():
    draw = "\ndraw {\n  amount $1,000 per quarter\n  recoverable\n}\n"
    result = plan(spif="  payable when paid is not empty\n", extra=draw).run(
        deals(("T1", "ann", "2027-01-10", "new", 2000), ("T2", "bob", "2027-01-10", "renewal", 20000))
    )
    # ann earns 200 + 500 held: the draw tops her up by 800 (owed); bob earns 2,000: nothing owed.
    assert result.owed().to_pylist() == [
        {"payee": "ann", "draw": Decimal("800.00"), "floor": Decimal("0.00"), "held": Decimal("500.00")}
    ]


def test_a_what_if_runs_at_the_same_place_in_the_pay_cycle(tmp_path):
    cycle = plan()
    q1 = deals(("W1", "ann", "2027-02-01", "renewal", 10000))
    cycle.run(q1, through="2027-Q1").write(tmp_path / "q1.parquet")
    q2 = cycle.run(q1, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    late = q2.whatif(deal={"id": "W9", "rep": "ann", "day": "2027-03-20", "kind": "renewal", "amount": "5000"})
    # A Q1 deal reported now is paid as an adjustment in Q2: Q1 is closed.
    assert [(line.period, line.trail.kind, line.amount) for line in late.lines] == [
        ("2027-Q2", "adjustment", Decimal("500.00"))
    ]


@pytest.mark.parametrize("mode", ["as_paid", "at_rate", "recalculate"])
def test_a_held_row_that_is_cancelled_is_neither_paid_nor_clawed_back(mode):
    held = plan(
        f"  clawback {mode}\n",
        commission="  payable when paid is not empty\n",
        spif="  payable when paid is not empty\n",
    )
    result = held.run(
        deals(
            ("L1", "lee", "2027-02-01", "new", 40000, "2027-05-03"),  # never paid for, then cancelled
            ("L2", "lee", "2027-03-01", "renewal", 30000, None, None, "2027-03-20"),
        )
    )
    assert pay(result, "lee") == Decimal("3000.00")  # L2 at 10%: L1 neither paid nor clawed back
    assert pay(result, "lee", "2027-Q2") == Decimal("0.00")
    assert result.owed().num_rows == 0  # nothing left held
    if mode != "recalculate":  # the line says what it takes back: what L1 earned, which was never paid
        said = [r["explanation"] for r in lines(result, txn="L1", kind="clawback", component="commission")]
        assert said == ["cancelled on 2027-05-03, reverses what it earned (held, never paid) in 2027-Q1: -4000.00"]


def test_a_clawback_after_the_last_transaction_still_meets_the_floor():
    result = plan("  payout floor $0\n").run(
        deals(
            ("F1", "ann", "2027-02-01", "renewal", 40000, "2027-08-03"),
            ("F2", "ann", "2027-05-01", "renewal", 1000),
        )
    )
    assert pay(result, "ann", "2027-Q3") == Decimal("0.00")
    assert amounts(result, kind="floor") == [Decimal("4000.00")]


def test_a_payee_whose_closed_lines_are_gone_is_adjusted(tmp_path):
    cycle = plan()
    cycle.run(
        deals(("G1", "gus", "2027-02-01", "renewal", 10000), ("G2", "ann", "2027-02-01", "renewal", 5000)),
        through="2027-Q1",
    ).write(tmp_path / "q1.parquet")
    # gus's deal was entered by mistake, and G2 was really closed in April.
    now = cycle.run(
        deals(("G2", "ann", "2027-04-01", "renewal", 5000)), paid=[tmp_path / "q1.parquet"], through="2027-Q2"
    )
    assert {(r["payee"], r["kind"], r["txn"], r["amount"]) for r in lines(now)} == {
        ("gus", "adjustment", "G1", Decimal("-1000.00")),  # G1 is in no file now, but the line names it
        ("ann", "adjustment", "G2", Decimal("-500.00")),
        ("ann", "earning", "G2", Decimal("500.00")),
    }
    gone = next(r for r in lines(now) if r["payee"] == "gus")
    assert gone["explanation"].startswith("for 2027-Q1, G1: no longer paid") and gone["for_period"] == "2027-Q1"


def test_earlier_ledgers_given_twice_overlapping_incomplete_or_edited_are_refused(tmp_path):
    cycle = plan()
    data = deals(("E1", "ann", "2027-02-01", "renewal", 10000), ("E2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    q2 = cycle.run(data, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    q2.write(tmp_path / "q2.parquet")
    cycle.run(data, through="2027-Q2").write(tmp_path / "h1.parquet")
    with pytest.raises(InputError, match="given twice"):
        cycle.run(data, paid=[tmp_path / "q1.parquet", tmp_path / "q1.parquet"])
    with pytest.raises(InputError, match="2027-Q1 was paid by q1.parquet too"):
        cycle.run(data, paid=[tmp_path / "q1.parquet", tmp_path / "h1.parquet"])
    with pytest.raises(InputError, match="paid against the earlier ledger q1.parquet, which is not given"):
        cycle.run(data, paid=[tmp_path / "q2.parquet"])
    with pytest.raises(UsageError, match="never rewritten"):
        q2.write(tmp_path / "q1.parquet")
    table = pa.parquet.read_table(tmp_path / "q1.parquet") if hasattr(pa, "parquet") else None
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "q1.parquet")
    pq.write_table(
        table.set_column(
            table.column_names.index("amount"),
            "amount",
            pa.array([a * 2 for a in table.column("amount").to_pylist()], table.schema.field("amount").type),
        ),
        tmp_path / "q1.parquet",
    )
    with pytest.raises(InputError, match="changed after spm wrote it"):
        cycle.run(data, paid=[tmp_path / "q1.parquet"])
    # Its manifest's hash mended to hide the edit: the ledger paid against it still knows what it was.
    manifest = json.loads((tmp_path / "q1.manifest.json").read_text())
    manifest["ledger"]["sha256"] = hashlib.sha256((tmp_path / "q1.parquet").read_bytes()).hexdigest()
    (tmp_path / "q1.manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="the earlier ledger q1.parquet, which was changed since"):
        cycle.run(data, paid=[tmp_path / "q1.parquet", tmp_path / "q2.parquet"])


def test_a_hand_edited_csv_ledger_is_a_clean_error(tmp_path):
    cycle = plan()
    data = deals(("X1", "ann", "2027-02-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.csv")
    text = (tmp_path / "q1.csv").read_text()
    (tmp_path / "q1.manifest.json").unlink()  # no manifest to compare with: the values themselves are checked
    for edit, message in (
        (text.replace(",1000.00,", ",abc,"), "'abc' is not an amount spm writes"),
        (text.replace(",1000.00,", ",,"), "a ledger line with no amount"),
        (text.replace(',"ann",', ',"",'), "a ledger line with no payee"),
        # What Decimal reads but spm never writes: not whole cents (paid, then adjusted by a fraction of one),
        # exponents, digit separators, other digits, spaces.
        (text.replace(",1000.00,", ",1000.005,"), "'1000.005' is not an amount spm writes"),
        (text.replace(",1000.00,", ",1e3,"), "'1e3' is not an amount spm writes"),
        (text.replace(",1000.00,", ",1_000,"), "'1_000' is not an amount spm writes"),
        (text.replace(",1000.00,", ",１０００,"), "'１０００' is not an amount spm writes"),
        # Lines no run writes: settled as what they are not (an adjustment; a later period paid twice).
        (text.replace(',"earning",', ',"bonus_extra",'), "a ledger line of kind 'bonus_extra'"),
        (text.replace(',"direct",', ',"boss",'), "a ledger line of role 'boss'"),
        (text.replace('",,\n', '","2027-Q3",\n', 1), "a line paid in 2027-Q1 corrects 2027-Q3, a later period"),
    ):
        (tmp_path / "q1.csv").write_text(edit)
        with pytest.raises(InputError, match=message):
            cycle.run(data, paid=[tmp_path / "q1.csv"])


def test_an_earlier_ledger_without_its_manifest_is_paid_against_with_a_warning(tmp_path):
    cycle = plan()
    data = deals(("W1", "ann", "2027-02-01", "renewal", 10000), ("W2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.csv")
    assert cycle.run(data, paid=[tmp_path / "q1.csv"]).summary().warnings == []
    (tmp_path / "q1.manifest.json").unlink()  # nothing left to tell an edited ledger from the one spm wrote
    q2 = cycle.run(data, paid=[tmp_path / "q1.csv"])
    assert q2.summary().warnings == [
        f"the earlier ledger {tmp_path / 'q1.csv'} has no manifest beside it that spm can read: spm cannot tell "
        "whether it was edited since it was written, and takes its lines as they are (keep each ledger's "
        ".manifest.json beside it)"
    ]
    assert "warning: the earlier ledger" in str(q2.summary())


def test_a_ledger_folder_of_parts_of_two_kinds_is_one_line_of_error(tmp_path):
    """Not Arrow's two schemas of thirty lines each, a line a column, in the message."""
    import pyarrow.parquet as pq

    cycle = plan()
    data = deals(("P1", "ann", "2027-02-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    (tmp_path / "q1").mkdir()
    (tmp_path / "q1.parquet").rename(tmp_path / "q1" / "part-00000.parquet")
    pq.write_table(pa.table({"payee": ["ann"], "amount": [1]}), tmp_path / "q1" / "part-00001.parquet")
    with pytest.raises(InputError) as raised:
        cycle.run(data, paid=[tmp_path / "q1"], through="2027-Q2")
    assert raised.value.message == "cannot read the earlier ledger: Schema at index 1 was different"
    assert raised.value.hint == "pass a ledger folder spm run --cluster wrote with --out, with only its parts"
    assert raised.value.code == "E512"  # as an earlier ledger's file that cannot be read


def test_year_to_date_counts_what_earlier_ledgers_paid(tmp_path):
    cycle = plan()
    data = deals(("Y1", "ann", "2027-02-01", "renewal", 10000), ("Y2", "ann", "2027-05-01", "renewal", 20000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    q2 = cycle.run(data, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    (statement,) = q2.statements(payees=["ann"])
    assert (statement.period, statement.payout, statement.year_to_date) == (
        "2027-Q2",
        Decimal("2000.00"),
        Decimal("3000.00"),
    )
    (whole,) = cycle.run(data, through="2027-Q2").statements(payees=["ann"], periods=["2027-Q2"])
    assert statement.components == whole.components == [("commission", Decimal("2000.00"), Decimal("3000.00"))]


def test_a_cancellation_inside_a_closed_period_is_adjusted_once(tmp_path):
    cycle = plan()
    paid = deals(("A1", "ann", "2027-02-01", "renewal", 1000))
    cancelled = deals(("A1", "ann", "2027-02-01", "renewal", 1000, "2027-03-15"))
    cycle.run(paid, through="2027-Q1").write(tmp_path / "q1.parquet")
    q2 = cycle.run(cancelled, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    (line,) = lines(q2, txn="A1")
    assert (line["kind"], line["for_period"], line["amount"]) == ("adjustment", "2027-Q1", Decimal("-100.00"))
    assert "cancelled after the period closed: paid 100.00, due now 0.00, -100.00" in line["explanation"]
    q2.write(tmp_path / "q2.parquet")
    q3 = cycle.run(cancelled, paid=[tmp_path / "q1.parquet", tmp_path / "q2.parquet"], through="2027-Q3")
    assert lines(q3, txn="A1") == []  # answered in Q2: no pair of +100 and -100 in every later run


def test_an_adjustment_names_the_cause_that_moved_the_money(tmp_path):
    # Cancelled outside the window (a zero clawback line): the credit's change is the cause, not the cancellation.
    window = plan("  clawback as_paid within 10 days\n")
    window.run(deals(("C1", "cy", "2027-01-05", "renewal", 1000)), through="2027-Q1").write(tmp_path / "c1.parquet")
    changed = window.run(
        deals(("C1", "cy", "2027-01-05", "renewal", 1200, "2027-03-01")), paid=[tmp_path / "c1.parquet"]
    )
    (line,) = lines(changed, txn="C1", kind="adjustment")
    assert line["explanation"].endswith("C1: its credit changed 1000.00 -> 1200.00: paid 100.00, due now 120.00, 20.00")
    # Recalculated without it: the cancellation is the cause, cited by the clawback's clause; the credit is the
    # transaction's own (not its reversal's).
    again = plan("  clawback recalculate\n")
    data = [("R1", "ann", "2027-01-10", "renewal", 1000), ("R2", "ann", "2027-02-10", "renewal", 3000)]
    again.run(deals(*data), through="2027-Q1").write(tmp_path / "r1.parquet")
    cancelled = again.run(deals((*data[0], "2027-03-20"), data[1]), paid=[tmp_path / "r1.parquet"])
    (line,) = lines(cancelled, txn="R1", kind="adjustment")
    assert line["explanation"] == (
        "for 2027-Q1, R1: cancelled after the period closed: paid 100.00, due now 0.00, -100.00"
    )
    assert (line["credit"], line["clause"]) == (Decimal("1000.00"), "cycle.spm:4")


@pytest.mark.parametrize("through", ["Q1", "q1", "2027-03", "2027-02-14"])
def test_a_period_given_in_short_closes_a_ledger_the_next_run_can_pay_against(tmp_path, through):
    cycle = plan()
    data = deals(("Y1", "ann", "2027-02-01", "renewal", 10000), ("Y2", "ann", "2027-05-01", "renewal", 20000))
    q1 = cycle.run(data, through=through)
    q1.write(tmp_path / "q1.parquet")
    manifest = json.loads((tmp_path / "q1.manifest.json").read_text())
    assert manifest["options"]["through"] == "2027-Q1"  # the next run reads the period it closed off it
    q2 = cycle.run(data, paid=[tmp_path / "q1.parquet"], through="Q2")
    assert pay(q2, "ann", "2027-Q2") == Decimal("2000.00")
    assert pay(q2, "ann", "2027-Q1") == Decimal("0.00")  # closed: nothing of it paid again
    manifest["options"]["through"] = through  # as spm 0.1 recorded it
    (tmp_path / "q1.manifest.json").write_text(json.dumps(manifest))
    again = cycle.run(data, paid=[tmp_path / "q1.parquet"], through="Q2")
    assert pay(again, "ann", "2027-Q2") == Decimal("2000.00")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), unique=True), st.lists(st.integers(-5, 320), max_size=60))
def test_a_transaction_is_found_among_the_cancellations_by_its_input_row(cancelled, rows):
    from spmlang.engine.read.cancellations import Cancellations

    txn = np.array(sorted(cancelled), np.int64)
    cancellations = Cancellations(txn, np.zeros(txn.size, np.int32), txn, txn)
    index = {row: i for i, row in enumerate(txn.tolist())}
    assert cancellations.of(np.array(rows, np.int64)).tolist() == [index.get(row, -1) for row in rows]


def test_finding_the_few_cancelled_rows_among_a_million_costs_less_than_searching_for_each():
    from spmlang.engine.read.cancellations import Cancellations

    rng = np.random.default_rng(7)
    rows = rng.permutation(1_000_000).astype(np.int64)  # a batch's rows are in crediting order, not input order
    txn = np.sort(rng.choice(1_000_000, 15_000, replace=False)).astype(np.int64)
    cancellations = Cancellations(txn, np.zeros(txn.size, np.int32), txn, txn)

    def cpu(work) -> float:
        times = []
        for _ in range(3):
            started = time.process_time()
            work()
            times.append(time.process_time() - started)
        return min(times)

    found = cancellations.of(rows)
    assert (found >= 0).sum() == txn.size
    assert cpu(lambda: cancellations.of(rows)) < cpu(lambda: np.searchsorted(txn, rows)) / 3


def test_everyone_on_the_roster_is_paid_the_draw_deals_or_not():
    """A rep hired with no deal yet, and managers on the roster, get the draw: the plan reads its roster (of
    payees and managers) for a draw or a floor, not only to roll up."""
    plan = spmlang.loads(
        quarterly_plan(
            "Draws",
            """roster {
  payee payee
  manager manager
}
component commission {
  rate 10%
}
draw {
  amount $50 per period
  non_recoverable
}
""",
        ),
        "draws.spm",
    )
    deals = pa.table(
        {
            "id": ["A1"],
            "rep": ["ann"],
            "day": [dt.date(2027, 2, 1)],
            "amount": pa.array([Decimal("100")], pa.decimal128(18, 2)),
        }
    )
    roster = pa.table({"payee": ["ann", "cy", "mia"], "manager": ["mia", "mia", "zoe"]})
    result = plan.run(deals, roster=roster)
    draws = {(r["payee"], r["period"]): r["amount"] for r in result.ledger.to_pylist() if r["kind"] == "draw"}
    assert draws == {
        ("ann", "2027-Q1"): Decimal("40.00"),  # 10.00 earned, topped up to 50.00
        ("cy", "2027-Q1"): Decimal("50.00"),
        ("mia", "2027-Q1"): Decimal("50.00"),
        ("zoe", "2027-Q1"): Decimal("50.00"),
    }
