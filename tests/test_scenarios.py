"""The worked scenarios of ../shared/scenarios, as exact figures (S1-S12), and those of features since (S13-): S15-S18
are worked by hand in docs/calculation.md."""

from __future__ import annotations

import datetime as dt

from helpers import DATA, SCENARIOS, by_txn, d, lines, payout, run_scenario

import spmlang
from spmlang.syntax.format import format_source


def test_s01_flat_rate_filter_and_cumulative_rounding():
    result = run_scenario("s01_flat_rate", "s01.csv")
    assert by_txn(result) == {"A1": d("800.00"), "A3": d("200.04"), "B1": d("586.67")}
    assert payout(result, "alice") == d("1,000.04")
    assert payout(result, "bob") == d("586.67")
    # A2 is excluded by the filter: no line, counted under the filter's name.
    assert not lines(result, txn="A2")
    assert result.accounting == {"read": 4, "credited": 3, "excluded": {"won": 1}, "rejected": {}}


def test_s02a_marginal_tiers_on_quota_to_date_with_a_true_up():
    result = run_scenario("s02a_marginal_ytd", "s02.csv")
    assert by_txn(result) == {"D1": d("1,200.00"), "D2": d("2,400.00"), "D3": d("6,000.00"), "D4": d("4,000.00")}
    assert payout(result, "alice", "2027-Q1") == d("9,600.00")
    true_up = lines(result, kind="true_up", period="2027-Q2")
    assert [line["amount"] for line in true_up] == [d("-3,200.00")]
    assert payout(result, "alice", "2027-Q2") == d("800.00")
    assert payout(result, "alice", "2027-Q1") + payout(result, "alice", "2027-Q2") == d("10,400.00")


def test_s02b_marginal_tiers_on_an_annual_quota():
    result = run_scenario("s02b_marginal_annual", "s02.csv")
    assert by_txn(result) == {"D1": d("1,200.00"), "D2": d("1,600.00"), "D3": d("2,400.00"), "D4": d("2,000.00")}
    assert payout(result, "alice", "2027-Q1") == d("5,200.00")
    assert payout(result, "alice", "2027-Q2") == d("2,000.00")
    assert not lines(result, kind="true_up")


def test_s03_retroactive_tiers_carry_the_uplift_on_the_crossing_row():
    result = run_scenario("s03_retro_tiers", "s02.csv")
    q1 = {k: v for k, v in by_txn(result).items() if k != "D4"}
    assert q1 == {"D1": d("1,200.00"), "D2": d("4,400.00"), "D3": d("10,000.00")}
    assert payout(result, "alice", "2027-Q1") == d("15,600.00")
    d2 = lines(result, txn="D2")[0]
    assert "3200.00 + uplift 1200.00" in d2["explanation"]
    d3 = lines(result, txn="D3")[0]
    assert "7200.00 + uplift 2800.00" in d3["explanation"]


def test_s04_tiers_on_each_deals_own_size():
    result = run_scenario("s04_deal_size_tiers", "s04.csv")
    assert by_txn(result) == {"E1": d("160.00"), "E2": d("800.00"), "E3": d("3,600.00")}
    assert payout(result, "erin") == d("4,560.00")


def test_s05_payout_curve_threshold_and_flat_top():
    result = run_scenario("s05_payout_curve", "s05.csv", quotas="s05_quotas.csv", targets="s05_targets.csv")
    assert payout(result, "carol") == d("0.00")
    assert payout(result, "dave") == d("12,500.00")
    assert payout(result, "erin") == d("28,000.00")
    assert payout(result, "frank") == d("40,000.00")
    cut = lines(result, payee="frank", kind="cap")
    assert len(cut) == 1 and cut[0]["txn"] == "P4" and cut[0]["amount_cut"] == d("20,000.00")
    assert not lines(result, payee="erin", kind="cap")


def test_s06_multiplier_on_a_condition_shows_rate_and_multiplier():
    result = run_scenario("s06_kicker", "s06.csv")
    k1, k2 = lines(result, txn="K1")[0], lines(result, txn="K2")[0]
    assert (k1["amount"], k1["rate"], k1["multiplier"]) == (d("1,000.00"), d("0.1"), d("1"))
    assert (k2["amount"], k2["rate"], k2["multiplier"]) == (d("3,000.00"), d("0.1"), d("1.5"))
    assert payout(result, "kim") == d("4,000.00")


def test_s07_spif_in_a_window_capped_per_payee():
    result = run_scenario("s07_spif", "s07.csv")
    spif = by_txn(result)
    assert {k: spif[k] for k in ("N1", "N2", "N3", "N4")} == {
        "N1": d("1,000.00"),
        "N2": d("1,000.00"),
        "N3": d("1,000.00"),
        "N4": d("0.00"),
    }
    n4_cap = lines(result, txn="N4", kind="cap")
    assert [line["amount_cut"] for line in n4_cap] == [d("1,000.00")]
    # N5 is outside the SPIF's window, R1 not a new logo: credited, paid nothing by the SPIF.
    assert not lines(result, txn="N5", kind="spif") and spif["N5"] == d("0.00")
    assert payout(result, "bob") == d("0.00")
    assert payout(result, "alice", component="new_logo_march") == d("3,000.00")


def test_s08_cap_per_quarter_cuts_the_crossing_row_in_part():
    result = run_scenario("s08_period_cap", "s08.csv")
    assert by_txn(result) == {
        "C1": d("2,000.00"),
        "C2": d("2,500.00"),
        "C3": d("500.00"),
        "C4": d("0.00"),
        "C5": d("1,000.00"),
    }
    cuts = {line["txn"]: line["amount_cut"] for line in lines(result, kind="cap")}
    assert cuts == {"C3": d("1,000.00"), "C4": d("1,000.00")}
    assert payout(result, "carl", "2027-Q1") == d("5,000.00")
    assert payout(result, "carl", "2027-Q2") == d("1,000.00")


def test_s09_split_credit_and_manager_override():
    result = run_scenario("s09_split_rollup", "s09.csv")
    assert payout(result, "alice") == d("3,000.00")
    assert payout(result, "bob") == d("2,000.00")
    assert payout(result, "mia") == d("1,000.00")
    mia = lines(result, payee="mia")
    assert sorted(line["amount"] for line in mia) == [d("400.00"), d("600.00")]
    assert {line["rollup_from"] for line in mia} == {"alice", "bob"}
    assert {line["role"] for line in mia} == {"rollup"}
    assert {line["credit"] for line in lines(result, payee="alice")} == {d("60,000.00")}


def test_s10_gate_withholds_then_releases():
    result = run_scenario("s10_gate", "s10.csv")
    assert payout(result, "gina", "2027-Q1") == d("0.00")
    withheld = lines(result, kind="gate", period="2027-Q1")
    assert [line["amount"] for line in withheld] == [d("-4,000.00")]
    assert payout(result, "gina", "2027-Q2") == d("13,000.00")
    assert by_txn(result, "earning")["G2"] == d("9,000.00")
    released = lines(result, kind="gate", period="2027-Q2")
    assert [line["amount"] for line in released] == [d("4,000.00")]


def test_s13_base_commission_rate_is_each_reps_annual_target_over_annual_quota():
    result = run_scenario("s13_base_commission_rate", "s13.csv", quotas="s13_quotas.csv", targets="s13_targets.csv")
    # ann 60,000 / 600,000 = 10%; bob 60,000 / 400,000 = 15%; cy 60,000 / 360,000 = 1/6, rounded cumulatively.
    assert by_txn(result) == {
        "A1": d("10,000.00"),
        "A2": d("2,500.00"),
        "B1": d("6,000.00"),
        "C1": d("5,000.00"),
        "C2": d("166.67"),
        "C3": d("166.66"),
    }
    assert lines(result, txn="C2")[0]["explanation"] == "1000.00 × 16.6667% = 166.666667"
    # Without a target (dee) or a quota (eve) there is no rate: the rows are rejected, as for attainment.
    assert {(r["key"], r["reason"], r["message"]) for r in result.rejects.to_pylist()} == {
        ("D1", "missing_quota", "no target incentive for dee"),
        ("E1", "missing_quota", "no quota for eve in 2027-Q1"),
    }


def test_s14_plan_caps_cover_what_they_name():
    result = run_scenario("s14_plan_cap_for", "s14.csv")
    # ann's commission and SPIF share one $1,200 cap: A pays 600 + 500, B's 600 crosses it, C pays nothing.
    assert payout(result, "ann") == d("1,200.00")
    assert [
        (line["txn"], line["component"], line["amount_cut"]) for line in lines(result, payee="ann", kind="cap")
    ] == [("B", "commission", d("500.00")), ("C", "commission", d("300.00")), ("C", "new_logo", d("500.00"))]
    # mia's override is not under the reps' cap, only under the cap on rollup credit: 1,200 + 1,200 + 100.
    assert payout(result, "mia") == d("2,500.00")
    assert [(line["txn"], line["amount_cut"]) for line in lines(result, payee="mia", kind="cap")] == [
        ("C", d("500.00"))
    ]
    # Without `for`, a plan cap covers every line, the override too (as it always has).
    source = (SCENARIOS / "s14_plan_cap_for.spm").read_text()
    every_line = source.replace(" for commission, new_logo", "").replace("cap $2,500 per year for rollup credit\n", "")
    result = spmlang.loads(every_line, "s12.spm").run(DATA / "s14.csv")
    assert payout(result, "ann") == d("1,200.00") and payout(result, "mia") == d("1,200.00")


def test_s12_a_plan_caps_for_formats_to_one_layout():
    source = (SCENARIOS / "s14_plan_cap_for.spm").read_text()
    messy = source.replace("for commission, new_logo", "for  commission ,new_logo").replace(
        "for rollup credit", "for rollup   credit"
    )
    assert messy != source and format_source(messy) == source


def test_s15_a_mid_quarter_hire_has_the_quarter_s_quota_for_her_days():
    result = run_scenario("s15_mid_quarter_hire", "s15.csv")
    # Hired Feb 15: 45 of Q1's 90 days, so a Q1 quota of 90,000 x 45 / 90 = 45,000; 60,000 of credit is 133.33%.
    assert [r["message"] for r in result.rejects.to_pylist()] == ["hana is not employed on 2027-02-01"]
    assert by_txn(result) == {"H1": d("2,000.00"), "H2": d("1,750.00"), "H3": d("1,500.00"), "I1": d("2,250.00")}
    h2 = lines(result, txn="H2")[0]
    assert (h2["attainment_before"], h2["attainment_after"]) == (d("0.888889"), d("1.333333"))
    assert payout(result, "hana", "2027-Q1") == d("3,750.00")
    # Q2's whole quota joins: 45,000 + 90,000 to date; the Q1 credit re-priced under 100% gives back 750.
    assert [line["amount"] for line in lines(result, payee="hana", kind="true_up")] == [d("-750.00")]
    assert payout(result, "hana", "2027-Q2") == d("750.00")
    # ivan, at 50% eligibility all year: half of each quarter's quota; 45,000 is exactly 100%.
    assert lines(result, txn="I1")[0]["attainment_after"] == d("1.000000")


def test_s15_by_whole_months_counts_march_alone():
    source = (SCENARIOS / "s15_mid_quarter_hire.spm").read_text().replace("prorate by days", "prorate by months")
    result = spmlang.loads(source, "s15.spm").run(DATA / "s15.csv")
    # Feb is not a whole month employed (from the 15th), March is: 1 of 3 months, a Q1 quota of 30,000.
    assert by_txn(result)["H1"] == d("2,500.00")  # 30,000 at 5% + 10,000 at 10%
    assert by_txn(result)["H2"] == d("2,000.00")  # all above 100%: 20,000 at 10%
    statement = result.statements(["hana"], ["2027-Q1"])[0]
    assert statement.proration == "1 of 3 whole months"


def test_s15_the_statement_and_explain_show_the_proration():
    result = run_scenario("s15_mid_quarter_hire", "s15.csv")
    [hana] = result.statements(["hana"], ["2027-Q1"])
    assert (hana.quota, hana.proration) == (d("45,000.00"), "45 of 90 days")
    assert "prorated,,,,,,,quota and target prorated: 45 of 90 days," in hana.to_csv()
    assert 'Quota and target prorated</div><div class="value">45 of 90 days' in hana.to_html()
    [ivan] = result.statements(["ivan"], ["2027-Q1"])
    assert (ivan.quota, ivan.proration) == (d("45,000.00"), "at 50% eligibility")
    assert result.explain("hana", "2027-Q2").periods[0].proration is None  # every day of Q2, at 100%


def test_s16_rollups_follow_the_manager_in_force_on_the_deal_s_date():
    result = run_scenario("s16_transfer", "s16.csv")
    assert payout(result, "raj") == d("5,000.00")
    overrides = {(line["payee"], line["txn"]): line["amount"] for line in lines(result, role="rollup")}
    # R1 (May 20) under mia; R2 (June 1, his first day on zoe's team) and R3 under zoe: 2% of each.
    assert overrides == {("mia", "R1"): d("1,000.00"), ("zoe", "R2"): d("600.00"), ("zoe", "R3"): d("400.00")}
    assert {line["rollup_from"] for line in lines(result, role="rollup")} == {"raj"}


def test_s17_a_eur_deal_in_a_usd_plan_paid_to_a_gbp_payee():
    result = run_scenario("s17_currencies", "s17.csv")
    g1 = lines(result, txn="G1")[0]
    # 12,345.67 EUR x 1.08531 (the rate from Mar 1) = 13,398.8791077, held as 13,398.879108; 8% of it.
    assert (g1["currency"], g1["fx_rate"], g1["fx_date"]) == ("EUR", d("1.08531"), dt.date(2027, 3, 1))
    assert (g1["credit"], g1["amount"]) == (d("13,398.88"), d("1,071.91"))
    e1 = lines(result, txn="E1")[0]  # Feb 10: the rate from Jan 1
    assert (e1["fx_rate"], e1["credit"], e1["amount"]) == (d("1.10"), d("1,100.00"), d("88.00"))
    g2 = lines(result, txn="G2")[0]
    assert (g2["currency"], g2["fx_rate"], g2["fx_date"]) == ("USD", d("1"), None)
    # gwen is paid in GBP: her Q1 payout of 1,471.91 USD at 1.2741 (the rate of Mar 31) is 1,155.25 GBP.
    [fx] = lines(result, payee="gwen", kind="fx")
    assert (fx["amount"], fx["amount_paid"], fx["currency_paid"], fx["fx_rate"]) == (
        d("0.00"),
        d("1,155.25"),
        "GBP",
        d("1.2741"),
    )
    assert payout(result, "gwen") == d("1,471.91")  # the ledger's amounts stay in the plan currency
    assert not lines(result, payee="ed", kind="fx")  # ed is paid in the plan currency
    assert [(r["key"], r["reason"]) for r in result.rejects.to_pylist()] == [("J1", "missing_fx_rate")]
    [statement] = result.statements(["gwen"])
    assert statement.paid_in is not None and (statement.paid_in.amount, statement.paid_in.currency) == (
        d("1155.25"),
        "GBP",
    )
    assert "credit converted from EUR at 1.08531, the rate of 2027-03-01" in statement.earnings[0].words


def test_s18_a_rate_change_on_july_1_with_ytd_tiers_carrying_on():
    result = run_scenario("s18_rate_change", "s18.csv")
    assert by_txn(result) == {
        "D1": d("5,200.00"),
        "D2": d("2,400.00"),
        "D3": d("3,600.00"),  # 90,000 -> 130,000 of a 150,000 quota to date: all at the new 9%
        "D4": d("6,000.00"),  # 20,000 at 9% to 150,000, 30,000 at the new 14% above
        "D5": d("900.00"),
    }
    clause = {line["txn"]: line["clause"] for line in lines(result, kind="earning")}
    assert clause == {
        "D1": "s18_rate_change.spm:30",
        "D2": "s18_rate_change.spm:30",
        "D3": "s18_rate_change.spm:36",
        "D4": "s18_rate_change.spm:36",
        "D5": "s18_rate_change.spm:36",
    }
    assert [line["explanation"].endswith("(rates from 2027-07-01)") for line in lines(result, kind="earning")] == [
        False,
        False,
        True,
        True,
        True,
    ]
    true_ups = [(line["period"], line["amount"], line["clause"]) for line in lines(result, kind="true_up")]
    # Q2: D1 re-priced at the old rates; Q4: D3 and D4 re-priced at the new ones on a quota to date of 200,000.
    assert true_ups == [
        ("2027-Q2", d("-400.00"), "s18_rate_change.spm:30"),
        ("2027-Q4", d("-1,500.00"), "s18_rate_change.spm:36"),
    ]
    assert [payout(result, "alice", f"2027-Q{q}") for q in range(1, 5)] == [
        d("5,200.00"),
        d("2,000.00"),
        d("9,600.00"),
        d("-600.00"),
    ]


def test_s18b_a_change_mid_quarter_re_prices_each_segment_on_its_own():
    result = run_scenario("s18b_mid_quarter_change", "s18b.csv")
    assert by_txn(result) == {
        "D1": d("5,200.00"),
        "D2": d("2,400.00"),
        "D3": d("6,000.00"),  # Aug 1, before the change: 60,000 at 8%, 10,000 at 12%
        "D4": d("2,800.00"),  # Sep 20, after it: 20,000 at 14%
        "D5": d("900.00"),
    }
    q4 = [(line["amount"], line["clause"]) for line in lines(result, kind="true_up", period="2027-Q4")]
    # One true-up per segment: the old rates' rows (160,000) and the new rates' (20,000), each on its own rule.
    assert q4 == [(d("-400.00"), "s18b_mid_quarter_change.spm:30"), (d("-1,000.00"), "s18b_mid_quarter_change.spm:36")]
    assert [line["explanation"] for line in lines(result, kind="true_up", period="2027-Q4")] == [
        "quota to date rises to 200000.00: credit so far 180000.00, 160000.00 of it at the rates before 2027-08-15,"
        " re-priced from 13200.00 to 12800.00",
        "quota to date rises to 200000.00: credit so far 180000.00, 20000.00 of it at the rates from 2027-08-15,"
        " re-priced from 2800.00 to 1800.00",
    ]
    assert payout(result, "alice", "2027-Q3") == d("8,800.00")
    assert payout(result, "alice", "2027-Q4") == d("-500.00")
    assert payout(result, "alice") == d("15,500.00")
