"""Each line shows the measure that priced it: in a plan that recalculates, a component that claws back money is
priced on the measure that keeps a cancelled transaction's credit, and its lines, their attainment, `spm
explain` and the statements show that measure, not the recalculated one (docs/calculation.md §6). Figures are
worked by hand; each path that makes lines is run: one process, forked workers, lines kept then cut into
batches, totals alone (and on a Dask cluster: tests/test_cluster.py)."""

from __future__ import annotations

import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from helpers import d

import spmlang
from spmlang.engine import run as calculator

PLAN = """plan "Mixed clawbacks" {{
  year starts 2027-01-01
  payout      quarterly
  attainment against annual quota
  clawback    recalculate{window}
}}

transactions {{
  column id         text
  column rep        text
  column day        date
  column amount     money
  column cancelled  date
  key       id
  date      day
  payee     rep
  credit    amount
  cancelled cancelled
}}

quotas {{
  per year
  rows {{
    ann $100,000
    bo  $100,000
    cy  $100,000
  }}
}}

component commission {{
  tiers marginal on attainment {{
    0%  .. 50% rate 4%
    50% ..     rate 10%
  }}
}}

component kicker {{
  clawback as_paid
  tiers marginal on attainment {{
    0%  .. 50% rate 1%
    50% ..     rate 2%
  }}
}}

component accelerator {{
  clawback at_rate
  tiers retroactive on attainment {{
    0%  .. 50% rate 1%
    50% ..     rate 3%
  }}
}}
"""


def mixed(window: str = "") -> spmlang.Plan:
    return spmlang.loads(PLAN.format(window=window), "mixed.spm")


def deals(*payees: str) -> pa.Table:
    """Each payee's four deals: X1 40,000 on Feb 1 cancelled on May 3, X2 30,000 on Mar 1, X3 20,000 on May 10,
    X4 10,000 on Aug 2 (X the payee's initial)."""
    rows = [
        (f"{p[0].upper()}{i}", p, day, amount, cancelled)
        for p in payees
        for i, (day, amount, cancelled) in enumerate(
            [
                ("2027-02-01", "40000", "2027-05-03"),
                ("2027-03-01", "30000", None),
                ("2027-05-10", "20000", None),
                ("2027-08-02", "10000", None),
            ],
            start=1,
        )
    ]
    names = ["id", "rep", "day", "amount", "cancelled"]
    return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})


MEASURED = ("component", "kind", "txn", "period", "measure_before", "measure_after")

# The ledger of ann, worked by hand (quota 100,000 for the year: attainment is the measure / 100,000).
#
# commission recalculates: A1's credit leaves its measure on May 3 (a twin of -40,000, 70,000 -> 30,000).
#   Q1  A1  0 -> 40,000             40,000 at 4%                             =  1,600.00
#       A2  40,000 -> 70,000        10,000 at 4% + 20,000 at 10%             =  2,400.00
#   Q2  A1' 70,000 -> 30,000        E(30,000) - E(70,000) = 1,200 - 4,000    = -2,800.00 (clawback, on the twin)
#       A3  30,000 -> 50,000        20,000 at 4%                             =    800.00
#   Q3  A4  50,000 -> 60,000        10,000 at 10%                            =  1,000.00
# kicker claws back as paid: its measure keeps A1 (the twin moves nothing), so A3 and A4 run on from 70,000.
#   Q1  A1  0 -> 40,000             40,000 at 1%                             =    400.00
#       A2  40,000 -> 70,000        10,000 at 1% + 20,000 at 2%              =    500.00
#   Q2  A3  70,000 -> 90,000        20,000 at 2%                             =    400.00
#       A1  0 -> 40,000 (its row)   what A1 was paid                         =   -400.00 (clawback)
#   Q3  A4  90,000 -> 100,000       10,000 at 2%                             =    200.00
# accelerator claws back at rate, retroactive tiers: E(m) = m x (1% below 50,000, else 3%).
#   Q1  A1  0 -> 40,000             E(40,000) = 400                          =    400.00
#       A2  40,000 -> 70,000        E(70,000) - E(40,000) = 2,100 - 400      =  1,700.00
#   Q2  A3  70,000 -> 90,000        E(90,000) - E(70,000) = 2,700 - 2,100    =    600.00
#       A1  0 -> 40,000 (its row)   40,000 at the 1% it earned               =   -400.00 (clawback)
#   Q3  A4  90,000 -> 100,000       E(100,000) - E(90,000) = 3,000 - 2,700   =    300.00
# (On the old engine every line showed commission's measure: kicker's and accelerator's A3 30,000 -> 50,000,
# A4 50,000 -> 60,000.)
ANN = [
    ("commission", "earning", "A1", "2027-Q1", "0", "40,000", "1,600"),
    ("kicker", "earning", "A1", "2027-Q1", "0", "40,000", "400"),
    ("accelerator", "earning", "A1", "2027-Q1", "0", "40,000", "400"),
    ("commission", "earning", "A2", "2027-Q1", "40,000", "70,000", "2,400"),
    ("kicker", "earning", "A2", "2027-Q1", "40,000", "70,000", "500"),
    ("accelerator", "earning", "A2", "2027-Q1", "40,000", "70,000", "1,700"),
    ("commission", "clawback", "A1", "2027-Q2", "70,000", "30,000", "-2,800"),
    ("commission", "earning", "A3", "2027-Q2", "30,000", "50,000", "800"),
    ("kicker", "earning", "A3", "2027-Q2", "70,000", "90,000", "400"),
    ("accelerator", "earning", "A3", "2027-Q2", "70,000", "90,000", "600"),
    ("kicker", "clawback", "A1", "2027-Q2", "0", "40,000", "-400"),
    ("accelerator", "clawback", "A1", "2027-Q2", "0", "40,000", "-400"),
    ("commission", "earning", "A4", "2027-Q3", "50,000", "60,000", "1,000"),
    ("kicker", "earning", "A4", "2027-Q3", "90,000", "100,000", "200"),
    ("accelerator", "earning", "A4", "2027-Q3", "90,000", "100,000", "300"),
]


def expected(payee: str = "ann") -> list[tuple]:
    """ANN's lines for ``payee`` (the same deals under its initial): each line's (MEASURED, attainment before
    and after, amount)."""
    initial = payee[0].upper()
    return [
        (c, kind, initial + txn[1:], period, d(before), d(after), d(before) / 100_000, d(after) / 100_000, d(amount))
        for c, kind, txn, period, before, after, amount in ANN
    ]


def measured(rows: list[dict], payee: str = "ann") -> list[tuple]:
    return [
        (*(r[k] for k in MEASURED), r["attainment_before"], r["attainment_after"], r["amount"])
        for r in rows
        if r["payee"] == payee
    ]


def test_each_line_shows_the_measure_its_component_was_priced_on():
    result = mixed().run(deals("ann"))
    assert measured(result.ledger.to_pylist()) == expected()
    # The recalculated clawback is A1's twin: dated the cancellation, its credit negative.
    twin = next(r for r in result.ledger.to_pylist() if r["component"] == "commission" and r["kind"] == "clawback")
    assert (str(twin["date"]), twin["credit"]) == ("2027-05-03", d("-40,000"))


def test_totals_alone_are_the_lines_totals():
    # Q1: 1,600 + 2,400 | 400 + 500 | 400 + 1,700; Q2: -2,800 + 800 | 400 - 400 | 600 - 400; Q3: 1,000 | 200 | 300.
    result = mixed().run(deals("ann"))
    by_sums = {(r["period"], r["component"]): r["amount"] for r in result.totals().to_pylist()}
    assert by_sums == {
        ("2027-Q1", "commission"): d("4,000"),
        ("2027-Q1", "kicker"): d("900"),
        ("2027-Q1", "accelerator"): d("2,100"),
        ("2027-Q2", "commission"): d("-2,000"),
        ("2027-Q2", "kicker"): d("0"),
        ("2027-Q2", "accelerator"): d("200"),
        ("2027-Q3", "commission"): d("1,000"),
        ("2027-Q3", "kicker"): d("200"),
        ("2027-Q3", "accelerator"): d("300"),
    }
    from_lines: dict[tuple, Decimal] = {}
    for r in result.ledger.to_pylist():
        key = (r["period"], r["component"])
        from_lines[key] = from_lines.get(key, Decimal("0.00")) + r["amount"]
    assert from_lines == by_sums


def test_explain_gives_each_line_its_component_s_measure_and_tier_slices():
    trail = mixed().run(deals("ann")).explain("ann", txn="A3")
    by_component = {line.component: line for line in trail.lines}
    assert {c: (x.measure_before, x.measure_after) for c, x in by_component.items()} == {
        "commission": (d("30,000"), d("50,000")),
        "kicker": (d("70,000"), d("90,000")),
        "accelerator": (d("70,000"), d("90,000")),
    }
    assert by_component["kicker"].attainment_after == Decimal("0.9")
    # Above 50% on the kicker's measure: all of A3 in its top tier (not 20,000 at 1%, as from 30,000 to 50,000).
    assert [(s.credit, s.rate, s.amount) for s in by_component["kicker"].slices] == [(d("20,000"), "2%", d("400"))]
    # The accelerator was in its top tier already: A3 at 3%, no uplift on earlier credit.
    assert [(s.credit, s.rate, s.amount) for s in by_component["accelerator"].slices] == [(d("20,000"), "3%", d("600"))]


def test_spm_explain_prints_the_kicker_s_own_measure(spm, tmp_path):
    (tmp_path / "mixed.spm").write_text(PLAN.format(window=""))
    pacsv.write_csv(deals("ann"), tmp_path / "deals.csv")
    done = spm("explain", "mixed.spm", "--deals", "deals.csv", "--payee", "ann", "--txn", "A3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kicker = done.stdout[done.stdout.index("kicker  earning") : done.stdout.index("accelerator  earning")]
    assert "credit 20,000.00   measure 70,000.00 → 90,000.00   attainment 70% → 90%" in kicker
    assert "20,000.00 at 2% in tier 50%+ = 400.00" in kicker


def test_statements_stand_each_component_on_its_own_measure():
    (q1, q2, q3) = mixed().run(deals("ann")).statements(["ann"])
    assert q2.standing is not None
    here = {p.component: p.words[0] for p in q2.standing.positions}
    assert here == {
        "commission": "You are here: 50% attainment, 50,000.00 of credit.",
        "kicker": "You are here: 90% attainment, 90,000.00 of credit.",
        "accelerator": "You are here: 90% attainment, 90,000.00 of credit.",
    }
    # The payee's own figures count A1 out on May 3, as the component that re-prices without it does: Q2's
    # credit is -40,000 + 20,000, the measure at its end 30,000 + 20,000.
    assert (q2.credit, q2.attainment) == (d("-20,000"), Decimal("0.5"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")
def test_workers_and_kept_lines_show_the_same_measures(monkeypatch, tmp_path):
    monkeypatch.setattr(calculator, "BATCH_ROWS", 4)  # a batch per payee
    data = deals("ann", "bo", "cy")
    plan = mixed()
    forked = plan.run(data, workers=2)
    assert forked.payout.workers() == 2
    forked.write(tmp_path / "forked.parquet")  # paid batch after batch, in the workers
    kept = plan.run(data, workers=2)
    rows = kept.ledger.to_pylist()  # every line kept: a later write cuts its batches from them
    kept.write(tmp_path / "kept.parquet")
    for payee in ("ann", "bo", "cy"):
        assert measured(rows, payee) == expected(payee)
        assert measured(pq.read_table(tmp_path / "forked.parquet").to_pylist(), payee) == expected(payee)
    # The same bytes whichever way the lines were made: in workers, in one process, or kept and cut into batches
    # (a tier's labels come in each part's own list of them: the dictionary stored is the labels used, sorted).
    plan.run(data, workers=1).write(tmp_path / "one.parquet")
    stored = {name: (tmp_path / f"{name}.parquet").read_bytes() for name in ("forked", "kept", "one")}
    assert stored["forked"] == stored["kept"] == stored["one"]


def test_a_cancellation_outside_the_window_leaves_every_measure():
    # `recalculate within 30 days`: A1 is cancelled 91 days after its date. Its twin moves no component's measure
    # (commission keeps A1, as the others do), so commission's A3 runs from 70,000 to 90,000: 20,000 at 10% =
    # 2,000; its clawback is a zero line on A1's row. The payee's own figures keep A1 too: Q2's credit is A3's.
    result = mixed(" within 30 days").run(deals("ann"))
    rows = result.ledger.to_pylist()
    commission = [
        (r["kind"], r["txn"], r["measure_before"], r["measure_after"], r["amount"])
        for r in rows
        if r["component"] == "commission" and r["period"] == "2027-Q2"
    ]
    assert commission == [
        ("earning", "A3", d("70,000"), d("90,000"), d("2,000")),
        ("clawback", "A1", d("0"), d("40,000"), d("0")),
    ]
    q2 = next(row for row in result.summary().rows if row.period == "2027-Q2")
    assert (q2.credit, q2.attainment) == (20_000 * 10**6, 0.9)
    kept = mixed(" within 30 days").run(deals("ann"))
    assert kept.ledger.num_rows == result.line_count  # every line kept: the summary is added up from them
    assert str(kept.summary()) == str(result.summary())


def test_a_transaction_cancelled_on_its_own_day_leaves_after_all_its_rows():
    # T1 (100.00) is split 60/40 between two payee columns that both name ann: two rows in one stream, then their
    # twins, in the same order, after both. E(m) = 1% to 50, 10% above.
    #   T1 (60%)   0 -> 60      E(60) = 0.50 + 1.00                  =  1.50
    #   T1 (40%)   60 -> 100    E(100) - E(60) = 5.50 - 1.50         =  4.00
    #   twin (60%) 100 -> 40    E(40) - E(100) = 0.40 - 5.50         = -5.10
    #   twin (40%) 40 -> 0      E(0) - E(40)                         = -0.40
    text = """plan "Same day" {
  year starts 2027-01-01
  payout      quarterly
  clawback    recalculate
}

transactions {
  column id         text
  column rep        text
  column rep2       text
  column amount     money
  column day        date
  column cancelled  date
  key       id
  date      day
  payee     rep  share 60%
  payee     rep2 share 40%
  credit    amount
  cancelled cancelled
}

component commission {
  tiers marginal on credit {
    $0  .. $50 rate 1%
    $50 ..     rate 10%
  }
}
"""
    data = pa.table(
        {
            "id": ["T1"],
            "rep": ["ann"],
            "rep2": ["ann"],
            "amount": ["100"],
            "day": ["2027-01-10"],
            "cancelled": ["2027-01-10"],
        }
    )
    rows = spmlang.loads(text, "same.spm").run(data).ledger.to_pylist()
    assert [(r["kind"], r["credit"], r["measure_before"], r["measure_after"], r["amount"]) for r in rows] == [
        ("earning", d("60"), d("0"), d("60"), d("1.50")),
        ("earning", d("40"), d("60"), d("100"), d("4.00")),
        ("clawback", d("-60"), d("100"), d("40"), d("-5.10")),
        ("clawback", d("-40"), d("40"), d("0"), d("-0.40")),
    ]


def test_where_a_payee_stands_is_said_to_the_cent():
    """A credit held past the cent (a converted amount) was shown as '408,994.373439 of credit'; the distance to
    the next tier is rounded up, so that reaching it reaches the tier."""
    table = deals("ann")
    table = table.set_column(3, "amount", pa.array(["40000", "30000.004", "20000.0015", "10000"]))
    (_, q2, _) = mixed().run(table).statements(["ann"])[:3]
    words = {p.component: p.words for p in q2.standing.positions}
    assert words["commission"][0] == "You are here: 50% attainment, 50,000.01 of credit."
    assert all(len(part.split(" of credit")[0].rsplit(".", 1)[-1]) == 2 for w in words.values() for part in w[:1])
