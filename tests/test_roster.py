"""A roster with dates: employment, a fallback payee, rollups by date, proration, dated quotas and targets.

The worked scenarios are S13 and S14 (tests/test_scenarios.py); here, each rule on a small plan written inline.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from unittest import mock

import pyarrow as pa
import pytest
from helpers import by_txn, d, lines, payout, quarterly_plan
from rich.console import Console

import spmlang
from spmlang.engine.credit import employment

PLAN = """plan "Test" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id     text
  column rep    text
  column rep2   text
  column share2 number
  column day    date
  column amount money
  key id
  date day
  payee rep share 1 - coalesce(share2, 0)
  payee rep2 share share2
  credit amount
  EXTRA
}
roster {
  payee   rep
  manager boss
  start   hired
  end     left
  plan    plan
}
component commission {
  rate 10%
}
"""


def plan(extra: str = "", body: str = "") -> spmlang.Plan:
    return spmlang.loads(PLAN.replace("EXTRA", extra) + body, "test.spm")


def deals(*rows) -> pa.Table:
    """rows: (id, rep, 'YYYY-MM-DD', amount[, rep2, share2])"""
    rows = [r + (None, None)[: 6 - len(r)] for r in rows]
    return pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": [r[1] for r in rows],
            "rep2": pa.array([r[4] for r in rows], pa.string()),
            "share2": pa.array([r[5] for r in rows], pa.float64()),
            "day": pa.array([dt.date.fromisoformat(r[2]) for r in rows], pa.date32()),
            "amount": pa.array([Decimal(str(r[3])) for r in rows], pa.decimal128(18, 2)),
        }
    )


def roster(*rows) -> pa.Table:
    """rows: (payee, boss, hired, left[, plan])"""
    rows = [r + (None,) * (5 - len(r)) for r in rows]

    def day(value):
        return dt.date.fromisoformat(value) if value else None

    return pa.table(
        {
            "rep": [r[0] for r in rows],
            "boss": pa.array([r[1] for r in rows], pa.string()),
            "hired": pa.array([day(r[2]) for r in rows], pa.date32()),
            "left": pa.array([day(r[3]) for r in rows], pa.date32()),
            "plan": pa.array([r[4] for r in rows], pa.string()),
        }
    )


STAFF = roster(
    ("ann", "mia", "2027-01-01", "2027-03-31"),
    ("ann", "mia", "2027-05-01", None),  # April: a leave
    ("bo", "mia", None, None, "Other plan"),  # on another plan all year
    ("cy", "mia", None, "2027-06-30", "Test"),
)


def test_a_transaction_outside_employment_is_rejected_and_says_why():
    result = plan().run(
        deals(
            ("A1", "ann", "2027-02-01", 1000),
            ("A2", "ann", "2027-04-15", 1000),  # on leave
            ("B1", "bo", "2027-02-01", 1000),
            ("C1", "cy", "2027-07-01", 1000),  # the day after cy left
            ("D1", "dee", "2027-02-01", 1000),
            ("S1", "ann", "2027-02-01", 1000, "cy", 0.5),
            ("S2", "ann", "2027-02-01", 1000, "bo", 0.5),  # a split: bo's half is outside, so the whole row
        ),
        roster=STAFF,
    )
    assert {r["key"]: (r["reason"], r["message"]) for r in result.rejects.to_pylist()} == {
        "A2": ("outside_employment", "ann is not employed on 2027-04-15"),
        "B1": ("outside_employment", "bo is on plan 'Other plan' on 2027-02-01, not this one"),
        "C1": ("outside_employment", "cy is not employed on 2027-07-01"),
        "D1": ("outside_employment", "dee is not in the roster"),
        "S2": ("outside_employment", "bo is on plan 'Other plan' on 2027-02-01, not this one"),
    }
    assert by_txn(result) == {"A1": d("100.00"), "S1": d("100.00")}
    assert result.accounting["rejected"] == {"outside_employment": 5}


def test_a_fallback_payee_is_credited_in_their_place_and_the_line_says_why():
    result = plan(
        'fallback "house account"\n  rollup to manager', "component o {\n  on rollup credit\n  rate 1%\n}\n"
    ).run(
        deals(
            ("A1", "ann", "2027-02-01", 1000),
            ("A2", "ann", "2027-04-15", 2000),
            ("S2", "ann", "2027-02-01", 1000, "bo", 0.5),
        ),
        roster=STAFF,
    )
    assert result.accounting["rejected"] == {}
    house = lines(result, payee="house account")
    assert [(line["txn"], line["credit"], line["amount"]) for line in house] == [
        ("S2", d("500.00"), d("50.00")),
        ("A2", d("2,000.00"), d("200.00")),
    ]
    assert house[1]["explanation"] == "fallback: ann is not employed on 2027-04-15; 2000.00 × 10% = 200.00"
    assert lines(result, payee="ann", txn="S2")[0]["explanation"] == "500.00 × 10% = 50.00"
    # the house account is in no roster: no manager above it; ann's own credit rolls up to mia
    assert [(line["txn"], line["rollup_from"]) for line in lines(result, payee="mia")] == [("A1", "ann"), ("S2", "ann")]


def test_explain_says_why_a_fallback_payee_was_credited_where_tiers_show_their_slices():
    tiered = PLAN.replace("component commission {\n  rate 10%\n}", "")
    tiered += "component commission {\n  tiers marginal on credit {\n    $0 .. rate 5%\n  }\n}\n"
    result = spmlang.loads(tiered.replace("EXTRA", 'fallback "house account"'), "test.spm").run(
        deals(("A2", "ann", "2027-04-15", 2000)), roster=STAFF
    )
    (period,) = result.explain("house account").periods
    (line,) = period.lines
    assert line.fallback == "ann is not employed on 2027-04-15" and line.slices
    from spmlang.report.render.terminal import explanation_renderable

    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(explanation_renderable(result.explain("house account")))
    shown = console.export_text()
    assert "credited to the fallback payee: ann is not employed on 2027-04-15" in shown
    assert "2,000.00 at 5% in tier" in shown


def test_an_employment_roster_row_without_an_end_lasts_until_the_next_row():
    staff = roster(("ann", "mia", "2027-01-01", None), ("ann", "zoe", "2027-07-01", None))
    result = plan("rollup to manager", "component o {\n  on rollup credit\n  rate 1%\n}\n").run(
        deals(("A1", "ann", "2027-06-30", 1000), ("A2", "ann", "2027-07-01", 1000)), roster=staff
    )
    assert [(line["payee"], line["txn"]) for line in lines(result, role="rollup")] == [("mia", "A1"), ("zoe", "A2")]


def test_a_roster_s_rows_that_overlap_in_the_plan_are_an_error_naming_both():
    source = PLAN.replace("EXTRA", "") + "roster2"
    source = source.replace(
        "  plan    plan\n}",
        "  plan    plan\n  rows {\n    ann mia 2027-01-01 2027-06-30 empty\n    ann zoe 2027-06-01 empty empty\n  }\n}",
    ).replace("roster2", "")
    with pytest.raises(spmlang.InputError) as error:
        spmlang.loads(source, "test.spm").run(deals(("A1", "ann", "2027-02-01", 1000)))
    assert error.value.code == "E504"
    assert str(error.value).startswith(
        "error[E504]: roster in test.spm: the roster's rows for 'ann' overlap: test.spm:26:5 (2027-01-01 .. "
        "2027-06-30) and test.spm:27:5 (2027-06-01 ..)"
    )


def test_two_rows_of_a_payee_that_start_on_one_day_are_said_to_as_written():
    """Not "row 2 ends (2027-02-28) before it starts": that end is the one spm would give it, no one's."""
    with pytest.raises(spmlang.InputError) as error:
        prorated().run(
            deals(("A1", "ann", "2027-04-01", 1000)),
            roster=staff(("ann", "2027-03-01", None, None), ("ann", "2027-03-01", None, 0.5)),
        )
    assert (error.value.code, error.value.message) == (
        "E504",
        "the roster's row 1 and row 2 for 'ann' both start on 2027-03-01",
    )
    quotas = "quotas {\n  per year\n  payee rep\n  start from\n  amount quota\n}\n"
    july = dt.date(2027, 7, 1)
    twice = pa.table({"rep": ["ann", "ann"], "from": [july, july], "quota": [400_000, 800_000]})
    with pytest.raises(spmlang.InputError, match="the quotas row of 'ann' starts on the day another of theirs does"):
        prorated("", quotas).run(
            deals(("A1", "ann", "2027-04-01", 1000)), roster=staff(("ann", None, None, None)), quotas=twice
        )


def test_a_cycle_among_the_managers_in_force_on_a_day_is_an_error():
    staff = roster(("ann", "bo", None, None), ("bo", "ann", "2027-06-01", None), ("bo", None, None, "2027-05-31"))
    run = plan("rollup to manager", "component o {\n  on rollup credit\n  rate 1%\n}\n")
    before = run.run(deals(("A1", "ann", "2027-05-01", 1000)), roster=staff)  # bo reports to no one yet
    assert (payout(before, "ann"), payout(before, "bo")) == (d("100.00"), d("10.00"))
    with pytest.raises(spmlang.InputError, match=r"the roster has a cycle on 2027-06-02: bo -> ann -> bo"):
        run.run(deals(("A1", "ann", "2027-06-02", 1000)), roster=staff)
    # Found after as many levels as there are managers (2), not as payees (2,002): each level is a rollup row a
    # deal, held until the cycle is found.
    others = roster(*[(f"rep{i}", None, None, None) for i in range(2000)])
    levels = []
    real = employment.rollups
    with mock.patch.object(employment, "rollups", lambda *a: levels.append(a[2]) or real(*a)):
        with pytest.raises(spmlang.InputError, match="cycle"):
            run.run(deals(("A1", "ann", "2027-06-02", 1000)), roster=pa.concat_tables([staff, others]))
    assert levels == [2]


PRORATED = quarterly_plan(
    "Prorated",
    """roster {
  payee       rep
  start       hired
  end         left
  eligibility fte
  PRORATE
}
QUOTAS
component commission {
  rate 10%
  cap 100% of target per period
}
""",
)


def prorated(rule: str = "", quotas: str = "") -> spmlang.Plan:
    return spmlang.loads(PRORATED.replace("PRORATE", rule).replace("QUOTAS", quotas), "prorated.spm")


def staff(*rows) -> pa.Table:
    """rows: (payee, hired, left, fte)"""

    def day(value):
        return dt.date.fromisoformat(value) if value else None

    return pa.table(
        {
            "rep": [r[0] for r in rows],
            "hired": pa.array([day(r[1]) for r in rows], pa.date32()),
            "left": pa.array([day(r[2]) for r in rows], pa.date32()),
            "fte": pa.array([r[3] for r in rows], pa.float64()),
        }
    )


def caps(result, payee: str) -> dict[str, Decimal]:
    """Each period's target (the cap of 100% of it) as the line that crosses it shows: what it cut."""
    return {line["period"]: line["amount_cut"] for line in lines(result, payee=payee, kind="cap")}


def test_a_leave_and_a_part_time_row_prorate_the_target_day_by_day():
    # A target of 4,000 a quarter; ann is away 2027-02-01 .. 2027-02-28 (28 of Q1's 90 days), then works 50%
    # from 2027-03-01: 31 days at 100% + 31 at 50% = 46.5 days' worth, 4,000 x 46.5 / 90 = 2,066.67.
    targets = pa.table({"payee": ["ann"] * 4, "period": ["Q1", "Q2", "Q3", "Q4"], "amount": [4000.0] * 4})
    people = staff(("ann", "2027-01-01", "2027-01-31", None), ("ann", "2027-03-01", None, 0.5))
    result = prorated().run(
        deals(("A1", "ann", "2027-01-10", 100_000), ("A2", "ann", "2027-04-10", 100_000)),
        targets=targets,
        roster=people,
    )
    assert payout(result, "ann", "2027-Q1") == d("2,066.67")
    assert payout(result, "ann", "2027-Q2") == d("2,000.00")  # every day at 50%
    statement = result.statements(["ann"], ["2027-Q1"])[0]
    assert statement.proration == "62 of 90 days: 31 at 100%, 31 at 50%"  # 31 + 15.5 = 46.5 days
    assert statement.target == d("2,066.67")


def test_a_quota_prorated_to_nothing_says_so_where_it_rejects_a_deal():
    """A hire on the last day of a quarter has no whole month in it: the quarter's quota prorated by months is
    zero, and a deal that day has no attainment. The reason says the proration, not only the zero."""
    quotas = "quotas {\n  per period\n  rows {\n    ann 2027-Q1 $30,000\n    ann 2027-Q2 $30,000\n  }\n}"
    plan = spmlang.loads(
        PRORATED.replace("PRORATE", "prorate by months")
        .replace("QUOTAS", quotas)
        .replace("rate 10%", "tiers marginal on attainment {\n    0% .. rate 10%\n  }")
        .replace("  cap 100% of target per period\n", ""),
        "prorated.spm",
    )
    result = plan.run(deals(("A1", "ann", "2027-03-31", 1_000)), roster=staff(("ann", "2027-03-31", None, None)))
    assert [(r["key"], r["message"]) for r in result.rejects.to_pylist()] == [
        ("A1", "the quota basis of ann is zero in 2027-Q1 (prorated: 0 of 3 whole months)")
    ]


def test_prorate_none_pays_the_whole_target_whatever_the_dates():
    targets = pa.table({"payee": ["ann"] * 4, "period": ["Q1", "Q2", "Q3", "Q4"], "amount": [4000.0] * 4})
    people = staff(("ann", "2027-03-01", None, 0.5))
    result = prorated("prorate none").run(deals(("A1", "ann", "2027-03-10", 100_000)), targets=targets, roster=people)
    assert payout(result, "ann", "2027-Q1") == d("4,000.00")
    assert result.statements(["ann"], ["2027-Q1"])[0].proration is None


def test_a_dated_quota_holds_its_annual_amount_from_its_start():
    # 400,000 a year to June 30 and 800,000 from July 1: Q1, Q2 100,000 each; Q3, Q4 200,000 each. With the
    # roster, bo (hired Aug 1) has 61 of Q3's 92 days: 200,000 x 61 / 92 = 132,608.695652.
    quotas = (
        "quotas {\n  per year\n  payee rep\n  start from\n  amount quota\n  rows {\n"
        "    ann $400,000 empty\n    ann $800,000 2027-07-01\n"
        "    bo  $400,000 empty\n    bo  $800,000 2027-07-01\n  }\n}\n"
        "component bonus {\n  pay $100 per deal\n  gate attainment >= 100%\n}\n"
    )
    people = staff(("ann", None, None, None), ("bo", "2027-08-01", None, None))
    result = prorated("", quotas).run(
        deals(
            ("A1", "ann", "2027-02-01", 100_000),
            ("A2", "ann", "2027-08-01", 299_999),
            ("B1", "bo", "2027-08-02", 132_608.70),
        ),
        roster=people,
        targets=pa.table({"payee": ["ann", "bo"], "amount": [1e9, 1e9]}),
    )
    attainment = {line["txn"]: line["attainment_after"] for line in lines(result, component="commission")}
    assert attainment["A1"] == d("1.000000")  # 100,000 of Q1's 100,000
    assert attainment["A2"] == d("0.999998")  # 399,999 of 400,000 to date (Q2's 100,000 and Q3's 200,000 join)
    assert attainment["B1"] == d("1.000000")  # 132,608.70 of 132,608.695652, just over
    assert payout(result, "bo", component="bonus") == d("100.00")
    assert result.statements(["bo"], ["2027-Q3"])[0].proration == "61 of 92 days"


def test_a_roster_s_eligibility_must_be_a_share():
    with pytest.raises(spmlang.InputError, match=r"an eligibility of 150% is not a share"):
        prorated().run(deals(("A1", "ann", "2027-03-10", 1)), roster=staff(("ann", None, None, 1.5)))


def test_expressions_cannot_look_a_dated_roster_up():
    source = PLAN.replace("EXTRA", 'where boss: roster[rep].manager == "mia"')
    with pytest.raises(spmlang.PlanError) as error:
        spmlang.loads(source, "test.spm")
    [diagnostic] = error.value.diagnostics
    assert (diagnostic.code, diagnostic.message) == ("E202", "unknown table 'roster'")
    assert diagnostic.hint == "a roster is looked up by payee where it has one row a payee: not with dates or plans"


def test_a_plan_without_a_roster_with_dates_or_currencies_has_the_ledger_it_always_had():
    from spmlang.report.ledger import LEDGER_SCHEMA

    undated = spmlang.loads(
        PLAN.replace("EXTRA", "").replace("  start   hired\n  end     left\n  plan    plan\n", ""), "test.spm"
    )
    result = undated.run(deals(("A1", "ann", "2027-02-01", 1000)))
    assert result.ledger.schema.equals(LEDGER_SCHEMA)
    assert result.ledger.column("kind").to_pylist() == ["earning"]


MONTHLY_DRAW = """plan "Draw" {
  year starts 2027-01-01
  payout monthly
}
transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  key id
  date day
  payee rep
  credit amount
}
roster {
  payee rep
  start hired
  end   left
  eligibility fte
  PRORATE
}
component commission {
  rate 5%
}
draw {
  amount $1,000 per month
  recoverable
}
"""


@pytest.mark.parametrize(
    ("rule", "february"),
    [("", "500.00"), ("prorate by days", "500.00"), ("prorate by months", None), ("prorate none", "1,000.00")],
)
def test_a_draw_is_paid_only_while_the_payee_works_prorated_as_quotas_are(rule, february):
    # hana is hired on Feb 15 (14 of February's 28 days); ivan leaves on Mar 31; jo works half time; kim is not in
    # the roster, which says who is employed: no draw before a hire, after a leaving, or for someone it does not
    # list.
    people = staff(("hana", "2027-02-15", None, None), ("ivan", None, "2027-03-31", None), ("jo", None, None, 0.5))
    plan = spmlang.loads(MONTHLY_DRAW.replace("PRORATE", rule), "draw.spm")
    result = plan.run(
        deals(("H1", "hana", "2027-03-01", 1000), ("K1", "kim", "2027-01-05", 1000), ("J1", "jo", "2027-05-10", 1000)),
        roster=people,
    )
    drawn = {(line["payee"], line["period"]): line["amount"] for line in lines(result, kind="draw")}
    assert ("hana", "2027-01") not in drawn
    assert drawn.get(("hana", "2027-02")) == (d(february) if february else None)
    assert drawn[("hana", "2027-03")] == d("950.00")  # 1,000.00 less the 50.00 earned
    assert drawn[("ivan", "2027-03")] == d("1,000.00") and ("ivan", "2027-04") not in drawn
    assert drawn[("jo", "2027-01")] == (d("1,000.00") if rule == "prorate none" else d("500.00"))
    assert not [key for key in drawn if key[0] == "kim"]  # rejected: not in the roster
    if february == "500.00":
        [line] = lines(result, kind="draw", payee="hana", period="2027-02")
        assert line["explanation"] == (
            "a recoverable draw tops the period's pay up to 500.00 (the draw of 1000.00 prorated: 14 of 28 days): "
            "500.00; owed after it 500.00"
        )


def test_a_payee_paid_only_a_draw_has_their_lines_in_payee_order(monkeypatch):
    # bo has no transaction, only a draw; the run is paid in batches of one credit row: bo's lines still come
    # between ann's and cy's, as the ledger's order (payee, period, ...) says.
    from spmlang.engine import run as calculator

    monkeypatch.setattr(calculator, "BATCH_ROWS", 1)
    people = staff(("ann", None, None, None), ("bo", None, None, None), ("cy", None, None, None))
    plan = spmlang.loads(MONTHLY_DRAW.replace("PRORATE", ""), "draw.spm")
    result = plan.run(deals(("A1", "ann", "2027-01-05", 1000), ("C1", "cy", "2027-02-05", 1000)), roster=people)
    payees = [line["payee"] for line in result.ledger.to_pylist()]
    assert payees == sorted(payees) and "bo" in payees
