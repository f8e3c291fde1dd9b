"""What-ifs (spm whatif, Result.whatif): exactly a rerun with the deals added to the data, to the cent.

For each example plan, deals that cross a tier, hit a cap, open a gate, roll up to a manager or split their credit
are added two ways: as hypothetical deals, and as rows appended to the CSV file, run again from scratch. The two
ledgers must be the same line for line (but for the run id), and the changes the what-if reports the difference
of the two runs' totals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from helpers import DATA, SCENARIOS

import spmlang

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AE = EXAMPLES / "plans" / "account_executive.spm"
AE_DATA = {
    "deals": EXAMPLES / "data" / "ae_deals.csv",
    "quotas": EXAMPLES / "data" / "ae_quotas.csv",
    "targets": EXAMPLES / "data" / "ae_targets.csv",
}
SDR = EXAMPLES / "plans" / "sdr.spm"
SDR_DATA = {"deals": EXAMPLES / "data" / "sdr_activities.csv", "quotas": EXAMPLES / "data" / "sdr_quotas.csv"}
CRM = EXAMPLES / "plans" / "crm_agents.spm"
CRM_DATA = {
    "deals": EXAMPLES / "data" / "crm" / "sales_pipeline.csv",
    "quotas": EXAMPLES / "data" / "crm" / "quotas.csv",
    "roster": EXAMPLES / "data" / "crm" / "sales_teams.csv",
    "tables": {"products": EXAMPLES / "data" / "crm" / "products.csv"},
}
WON = {"stage": "Closed Won", "deal_type": "expansion", "term_months": "12"}


def appended(source: Path, rows: list[dict[str, str]], folder: Path) -> Path:
    """A copy of the CSV file ``source`` with ``rows`` after its own (columns it has that a row lacks empty)."""
    text = source.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    path = folder / source.name
    path.write_text(text + ("" if text.endswith("\n") else "\n") + out.getvalue(), encoding="utf-8")
    return path


def totals(result) -> dict[tuple, Decimal]:
    return {(r["payee"], r["period"], r["component"]): r["amount"] for r in result.totals().to_pylist()}


def assert_a_rerun(plan_path: Path, data: dict, deals: list[dict], payee: str | None, folder: Path):
    """The what-if of ``deals`` is the run over the CSV file with the deals appended, line for line."""
    plan = spmlang.load(plan_path)
    before = plan.run(**data)
    whatif = before.whatif(deals, payee=payee)
    rerun = plan.run(**{**data, "deals": appended(data["deals"], [d.values for d in whatif.deals], folder)})

    assert whatif.after.ledger.drop(["run_id"]).equals(rerun.ledger.drop(["run_id"]))
    assert whatif.after.accounting == rerun.accounting
    old, new = totals(before), totals(rerun)
    expected = [
        (cell, old.get(cell, Decimal(0)), new.get(cell, Decimal(0)))
        for cell in sorted(old.keys() | new.keys(), key=str)
    ]
    expected = [(cell, was, now) for cell, was, now in expected if was != now]
    changed = [((c.payee, c.period, c.component), c.before, c.after) for c in whatif.changes]
    assert sorted(changed, key=str) == sorted(expected, key=str)  # str: a cell of no component is None
    assert whatif.difference == sum(new.values()) - sum(old.values())
    keys = {deal.key for deal in whatif.deals}
    own = [r for r in rerun.ledger.to_pylist() if r["txn"] in keys]
    assert sorted((line.payee, line.period, line.amount) for line in whatif.lines) == sorted(
        (r["payee"], r["period"], r["amount"]) for r in own
    )
    for deal in whatif.deals:
        assert deal.paid == sum((r["amount"] for r in own if r["txn"] == deal.key), Decimal("0.00"))
    owed = {
        (r["payee"], what): (r[column], now[column])
        for r, now in _owed_pairs(before, rerun)
        for column, what in (
            ("draw", "draw to recover"),
            ("floor", "payout floor to recover"),
            ("held", "held, not yet payable"),
        )
        if r[column] != now[column]
    }
    assert {(o.payee, o.what): (o.before, o.after) for o in whatif.owed} == owed
    return whatif


def _owed_pairs(before, after) -> list[tuple[dict, dict]]:
    """Each payee's row of what they owe at the end of ``before`` and of ``after`` (zeros where none)."""
    zero = {"draw": Decimal("0.00"), "floor": Decimal("0.00"), "held": Decimal("0.00")}
    was = {r["payee"]: r for r in before.owed().to_pylist()}
    now = {r["payee"]: r for r in after.owed().to_pylist()}
    return [({**zero, **was.get(p, {})}, {**zero, **now.get(p, {})}) for p in sorted(was.keys() | now.keys())]


def test_a_deal_that_pays_back_a_draw_says_what_is_left_to_recover(tmp_path):
    cycle = EXAMPLES / "pay-cycle"
    deal = {"amount": "35000", "close_date": "2027-02-15", "deal_type": "new", "paid_date": "2027-03-01"}
    whatif = assert_a_rerun(cycle / "plan.spm", {"deals": cycle / "deals-Q1.csv"}, [deal], "ben.okafor", tmp_path)
    assert [(o.payee, o.what, o.before, o.after) for o in whatif.owed] == [
        ("ben.okafor", "draw to recover", Decimal("800.00"), Decimal("0.00"))
    ]
    assert whatif.to_dict()["owed"] == [
        {"payee": "ben.okafor", "what": "draw to recover", "before": "800.00", "after": "0.00"}
    ]


def test_a_deal_that_crosses_a_tier_and_moves_later_quarters(tmp_path):
    deal = {"amount": "50000", "close_date": "2027-09-15", **WON}
    whatif = assert_a_rerun(AE, AE_DATA, [deal], "ben.okafor", tmp_path)
    (line,) = whatif.lines
    assert line.payee == "ben.okafor" and line.period == "2027-Q3" and line.amount == Decimal("5002.27")
    assert [s.tier for s in line.trail.slices] == ["50%–100%", "100%–150%"]  # it crosses 100% of quota to date
    assert whatif.deals[0].key == "whatif-1" and whatif.deals[0].fate == "credited"
    # Deals after it in Q3 move up a tier; Q4's true-up gives it back: over the year, 8% of 50,000.
    assert [(c.period, c.difference) for c in whatif.changes] == [
        ("2027-Q3", Decimal("6199.54")),
        ("2027-Q4", Decimal("-2199.54")),
    ]
    assert whatif.difference == Decimal("4000.00")


def test_a_deal_that_hits_the_cap(tmp_path):
    deal = {"amount": "900000", "close_date": "2027-10-15", **WON, "term_months": "36"}
    whatif = assert_a_rerun(AE, AE_DATA, [deal], "ana.ruiz", tmp_path)
    kinds = [line.trail.kind for line in whatif.lines]
    assert kinds == ["earning", "cap"] and whatif.lines[1].amount < 0
    assert sum(a for (p, _, c), a in totals(whatif.after).items() if p == "ana.ruiz" and c == "commission") == Decimal(
        "200000.00"
    )  # 250% of the target of 80,000


def test_a_deal_the_plan_leaves_out_changes_nothing_and_says_why(tmp_path):
    whatif = assert_a_rerun(AE, AE_DATA, [{"amount": "50000", "close_date": "2027-09-15"}], "ben.okafor", tmp_path)
    (deal,) = whatif.deals
    assert (deal.fate, deal.paid) == ("excluded", Decimal("0.00"))
    assert deal.why == 'the plan\'s filter closed_won (stage == "Closed Won")'
    assert deal.hint == 'the deal gives no stage: give it, e.g. stage="Closed Won"'
    assert whatif.changes == [] and whatif.lines == []


def test_a_deal_outside_the_plan_year_is_rejected_as_a_rerun_would(tmp_path):
    whatif = assert_a_rerun(AE, AE_DATA, [{"amount": "10", "close_date": "2028-01-04", **WON}], "dev.patel", tmp_path)
    assert whatif.deals[0].fate == "rejected" and "outside the plan year" in whatif.deals[0].why


def test_with_strict_a_deal_that_would_be_rejected_stops_the_what_if_as_a_rerun(tmp_path):
    lines = AE_DATA["deals"].read_text().splitlines(keepends=True)
    deals = tmp_path / "deals.csv"
    deals.write_text("".join(line for line in lines if ",2028-" not in line))  # none rejected: strict runs
    result = spmlang.load(AE).run(**{**AE_DATA, "deals": deals}, strict=True)
    with pytest.raises(spmlang.InputError, match="the date 2028-01-04 is outside the plan year") as caught:
        result.whatif({"amount": "10", "close_date": "2028-01-04", **WON}, payee="dev.patel")
    # Its row is after the data's: the header and one row fewer than ae_deals.csv's lines.
    assert caught.value.file == f"{deals} with the what-if deal" and caught.value.row == len(lines)


def test_sdr_a_meeting_that_opens_the_gate_and_one_over_the_monthly_cap(tmp_path):
    meeting = {"activity": "meeting", "qualified": "true", "activity_date": "2027-02-20"}
    whatif = assert_a_rerun(SDR, SDR_DATA, [meeting], "kai.moreno", tmp_path)
    # 10 of 20 meetings: the gate opens, and February's meetings are paid (they were withheld).
    assert [(c.period, c.component) for c in whatif.changes] == [("2027-02", "meetings")]
    assert whatif.difference > 75
    opportunity = {"activity": "opportunity", "qualified": "true", "activity_date": "2027-01-15", "pipeline": "60000"}
    capped = assert_a_rerun(SDR, SDR_DATA, [opportunity], "ivy.chen", tmp_path)
    # January is at $2,500 already: the deal's 200 x 1.5 pays, and the plan's cap at the month's end cuts as much.
    assert capped.deals[0].paid == Decimal("300.00") and capped.difference == 0
    assert [(c.component, c.difference) for c in capped.changes] == [
        ("meetings", Decimal("-75.00")),
        ("opportunities", Decimal("75.00")),
    ]


def test_crm_a_deal_reaches_the_manager_through_the_rollup(tmp_path):
    deal = {"product": "GTX Pro", "deal_stage": "Won", "close_date": "15-06-17", "close_value": "5000"}
    whatif = assert_a_rerun(CRM, CRM_DATA, [deal], "Moses Frase", tmp_path)
    assert [e.payee for e in whatif.explanations] == ["Moses Frase", "Dustin Brinkmann"]
    assert {(c.payee, c.component) for c in whatif.changes} == {
        ("Moses Frase", "commission"),
        ("Dustin Brinkmann", "manager_override"),
    }


def test_split_credit_reaches_both_payees_and_their_manager(tmp_path):
    deal = {"close_date": "2027-05-01", "amount": "10000", "share1": "0.5", "rep2": "bob", "share2": "0.5"}
    whatif = assert_a_rerun(SCENARIOS / "s09_split_rollup.spm", {"deals": DATA / "s09.csv"}, [deal], "alice", tmp_path)
    # 5% of each half; mia's override of 1% on each of her two reports' credit.
    assert sorted((line.payee, line.component, line.amount) for line in whatif.lines) == [
        ("alice", "commission", Decimal("250.00")),
        ("bob", "commission", Decimal("250.00")),
        ("mia", "override", Decimal("50.00")),
        ("mia", "override", Decimal("50.00")),
    ]


def test_several_deals_at_once_and_keys_that_are_not_taken(tmp_path):
    source = tmp_path / "data"
    source.mkdir()
    deals = appended(
        AE_DATA["deals"], [{"deal_id": "whatif-1", "owner": "ben.okafor", "close_date": "2027-05-01"}], source
    )
    data = {**AE_DATA, "deals": deals}
    first = {"amount": "20000", "close_date": "2027-03-01", **WON}
    second = {"amount": "30000", "close_date": "2027-06-01", **WON, "owner": "chloe.martin"}
    whatif = assert_a_rerun(AE, data, [first, second], "ben.okafor", tmp_path)
    assert [(d.key, d.payee) for d in whatif.deals] == [("whatif-2", "ben.okafor"), ("whatif-3", "chloe.martin")]


def test_whole_number_keys_go_on_from_the_largest(tmp_path):
    golden = ROOT / "tests" / "golden" / "input_errors" / "E501-column-missing" / "plan.spm"
    plan = tmp_path / "plan.spm"
    plan.write_text(golden.read_text().replace("column id     text", "column id     integer"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text("id,rep,day,amount\n7,ann,2027-01-05,100\n3,bob,2027-01-06,50\n")
    deals = [{"day": "2027-02-01", "amount": "10"}, {"day": "2027-03-01", "amount": "20", "rep": "bob"}]
    whatif = assert_a_rerun(plan, {"deals": data / "deals.csv"}, deals, "ann", tmp_path)
    assert [deal.key for deal in whatif.deals] == ["8", "9"]
    with pytest.raises(spmlang.InputError, match="a transaction has the key '3' already"):
        whatif.before.whatif({"id": 3, "day": "2027-02-01", "amount": "10"}, payee="ann")


def test_python_values_pay_as_their_text_does(tmp_path):
    plan = spmlang.load(AE)
    before = plan.run(**AE_DATA)
    typed = before.whatif(
        {"amount": Decimal("50000.00"), "close_date": dt.date(2027, 9, 15), **WON, "term_months": 24},
        payee="ben.okafor",
    )
    text = before.whatif(
        {"amount": "50000", "close_date": "2027-09-15", **WON, "term_months": "24"}, payee="ben.okafor"
    )
    assert typed.after.ledger.drop(["run_id"]).equals(text.after.ledger.drop(["run_id"]))
    assert typed.deals[0].values["close_date"] == "2027-09-15"


def test_typed_data_parquet_and_dataframes_take_deals_as_text(tmp_path):
    """Data read in its own types (parquet, a DataFrame) and a deal given as text: the deal is converted on its
    own, as a CSV cell is, and the run is the rerun with the row appended in the data's types."""
    table = pacsv.read_csv(AE_DATA["deals"])  # dates, floats and integers, as Arrow infers them
    pq.write_table(table, tmp_path / "deals.parquet")
    deal = {"amount": "50000", "close_date": "2027-09-15", **WON}
    row = pa.table({"deal_id": ["whatif-1"], "owner": ["ben.okafor"], **{k: [v] for k, v in deal.items()}})
    with_row = pa.concat_tables([table, row.select(table.column_names).cast(table.schema)])
    plan = spmlang.load(AE)
    rerun = plan.run(with_row, quotas=AE_DATA["quotas"], targets=AE_DATA["targets"])
    for source in (tmp_path / "deals.parquet", table.to_pandas()):
        whatif = plan.run(source, quotas=AE_DATA["quotas"], targets=AE_DATA["targets"]).whatif(deal, "ben.okafor")
        assert whatif.after.ledger.drop(["run_id"]).equals(rerun.ledger.drop(["run_id"]))


def test_the_transactions_are_read_once(tmp_path, monkeypatch):
    import spmlang.whatif.deals as deals

    reads = []
    real = deals.load_table
    monkeypatch.setattr(deals, "load_table", lambda *a, **k: reads.append(a) or real(*a, **k))
    plan = spmlang.load(AE)
    kept = plan.run(**AE_DATA, keep_transactions=True)
    kept.whatif({"amount": "1000", **WON, "close_date": "2027-02-01"}, payee="ana.ruiz")
    assert reads == []  # kept by the run: not read again
    result = plan.run(**AE_DATA)
    for amount in ("1000", "2000"):
        result.whatif({"amount": amount, **WON, "close_date": "2027-02-01"}, payee="ana.ruiz")
    assert len(reads) == 1  # read again once, for every what-if of the run


def test_a_file_changed_since_the_run_is_an_error(tmp_path):
    data = {**AE_DATA, "deals": appended(AE_DATA["deals"], [], tmp_path)}
    result = spmlang.load(AE).run(**data)
    data["deals"].write_text(data["deals"].read_text().replace("9833.94", "9833.95"))
    with pytest.raises(spmlang.InputError, match="the file changed since the run") as caught:
        result.whatif({"amount": "1"}, payee="ana.ruiz")
    assert caught.value.code == "E513"


@pytest.mark.parametrize(
    "deal, payee, message",
    [
        ({"amout": "5"}, "ana.ruiz", "column 'amout': the plan reads no column 'amout'"),
        ({"amount": "5O000"}, "ana.ruiz", "column 'amount': cannot read '5O000' as an amount of money"),
        ({"close_date": "15/09/2027"}, "ana.ruiz", "column 'close_date': cannot read '15/09/2027' as a date"),
        ({"close_date": Decimal(5)}, "ana.ruiz", "column 'close_date': cannot read '5' as a date"),
        ({"term_months": "two"}, "ana.ruiz", "column 'term_months': cannot read 'two' as a whole number"),
        ({"deal_id": "D-1001"}, "ana.ruiz", "column 'deal_id': a transaction has the key 'D-1001' already"),
        ({"amount": "5"}, None, "column 'owner': whose deal is it? it has no payee"),
    ],
)
def test_a_deal_that_cannot_be_used_names_its_column(deal, payee, message):
    result = spmlang.load(AE).run(**AE_DATA)
    with pytest.raises(spmlang.InputError) as caught:
        result.whatif(deal, payee=payee)
    assert caught.value.code == "E513" and message in str(caught.value) and caught.value.hint


def test_an_unknown_payee_is_a_usage_error_with_a_suggestion():
    result = spmlang.load(AE).run(**AE_DATA)
    with pytest.raises(spmlang.UsageError, match="no payee 'ben.okafr' in this run; did you mean 'ben.okafor'"):
        result.whatif({"amount": "5"}, payee="ben.okafr")


def test_spm_whatif_is_the_rerun_and_reads_well(spm, tmp_path):
    args = [
        "whatif",
        AE,
        "--payee",
        "ben.okafor",
        "--deal",
        "amount=50000,close_date=2027-09-15,stage=Closed Won,deal_type=expansion",
    ]
    data = [f"--{name}={path}" for name, path in AE_DATA.items()]
    shown = spm(*args, "--deal", 'amount=1,close_date=2027-09-15,deal_type="renewal",stage=Closed Won', *data)
    assert shown.returncode == 0, shown.stderr
    assert (
        "ben.okafor closes whatif-1: close_date 2027-09-15   stage Closed Won   deal_type expansion   amount 50000"
        in shown.stdout
    )
    assert "its own lines pay 5,002.27" in shown.stdout
    assert "ben.okafor closes whatif-2:" in shown.stdout
    assert 'pays nothing: the plan\'s filter not_renewal (deal_type != "renewal") leaves it out' in shown.stdout
    assert "Over the year: +4,000.00 (ben.okafor +4,000.00)" in shown.stdout

    as_json = spm(*args, *data, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    plan = spmlang.load(AE)
    rows = [
        {
            "deal_id": "whatif-1",
            "owner": "ben.okafor",
            "amount": "50000",
            "close_date": "2027-09-15",
            "stage": "Closed Won",
            "deal_type": "expansion",
        }
    ]
    rerun = plan.run(**{**AE_DATA, "deals": appended(AE_DATA["deals"], rows, tmp_path)})
    before = totals(plan.run(**AE_DATA))
    after = totals(rerun)
    assert {(c["payee"], c["period"], c["component"]): Decimal(c["after"]) for c in report["changes"]} == {
        cell: after[cell] for cell in after if after[cell] != before.get(cell)
    }
    assert [line["amount"] for line in report["lines"]] == [
        str(r["amount"]) for r in rerun.ledger.to_pylist() if r["txn"] == "whatif-1"
    ]


def test_spm_whatif_options_said_wrong_are_usage_errors(spm):
    data = [f"--{name}={path}" for name, path in AE_DATA.items()]
    bad = spm("whatif", AE, "--payee", "ben.okafor", "--deal", "amount 5", *data)
    assert bad.returncode == 2 and "--deal takes COLUMN=VALUE pairs separated by commas, not 'amount 5'" in bad.stderr
    twice = spm("whatif", AE, "--payee", "ben.okafor", "--deal", "amount=5,amount=6", *data)
    assert twice.returncode == 2 and "--deal gives amount twice" in twice.stderr
    assert "Traceback" not in bad.stderr + twice.stderr
