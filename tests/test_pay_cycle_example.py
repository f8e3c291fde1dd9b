"""The quarter-by-quarter cycle of examples/pay-cycle: close Q1, then pay Q2 against it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "pay-cycle"


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    import spmlang

    folder = tmp_path_factory.mktemp("ledgers")
    plan = spmlang.load(EXAMPLE / "plan.spm")
    q1 = plan.run(EXAMPLE / "deals-Q1.csv", through="2027-Q1")
    q1.write(folder / "2027-Q1.parquet")
    q2 = plan.run(EXAMPLE / "deals-Q2.csv", paid=[folder / "2027-Q1.parquet"], through="2027-Q2")
    q2.write(folder / "2027-Q2.parquet")
    return folder, q1.ledger.to_pylist(), q2.ledger.to_pylist()


def test_q1_tops_up_to_the_draw_and_holds_unpaid_logos(cycle):
    _, q1, _ = cycle
    assert {line["period"] for line in q1} == {"2027-Q1"}
    pay = {}
    for line in q1:
        pay[line["payee"]] = pay.get(line["payee"], Decimal(0)) + line["amount"]
    assert pay == {"ana.ruiz": Decimal("11000.00"), "ben.okafor": Decimal("6000.00"), "cy.novak": Decimal("6000.00")}
    held = {line["txn"]: line["amount"] for line in q1 if line["kind"] == "hold"}
    assert held == {"D-103": Decimal("-1000.00"), "D-105": Decimal("-1000.00")}
    draws = {line["payee"]: (line["amount"], line["balance"]) for line in q1 if line["kind"] == "draw"}
    assert draws == {
        "ben.okafor": (Decimal("800.00"), Decimal("800.00")),
        "cy.novak": (Decimal("4800.00"), Decimal("4800.00")),
    }


def test_q2_never_writes_in_q1_and_says_what_changed_there(cycle):
    _, _, q2 = cycle
    assert {line["period"] for line in q2} == {"2027-Q2"}
    corrections = {
        (line["payee"], line["kind"], line["txn"]): (line["amount"], line["for_period"])
        for line in q2
        if line["kind"] in ("adjustment", "release", "clawback")
    }
    assert corrections == {
        ("ana.ruiz", "clawback", "D-106"): (Decimal("-2800.00"), None),
        ("ben.okafor", "release", "D-103"): (Decimal("1000.00"), "2027-Q1"),
        ("ben.okafor", "adjustment", "D-104"): (Decimal("-400.00"), "2027-Q1"),
        ("cy.novak", "adjustment", "D-107"): (Decimal("800.00"), "2027-Q1"),
    }
    d104 = next(line for line in q2 if line["txn"] == "D-104")
    assert "its credit changed 90000.00 -> 80000.00: paid 3600.00, due now 3200.00" in d104["explanation"]
    # The draw's balance carries on from Q1: ben owed 800.00, and is topped up by 3,200.00 more.
    ben_draw = next(line for line in q2 if line["payee"] == "ben.okafor" and line["kind"] == "draw")
    assert (ben_draw["amount"], ben_draw["balance"]) == (Decimal("3200.00"), Decimal("4000.00"))
    assert q2[-1]["kind"] == "draw"  # decided on everything else of the period: the last line


def test_the_manifest_chains_the_runs_and_verify_finds_a_changed_earlier_ledger(tmp_path):
    import shutil

    import spmlang
    from spmlang.verify import verify

    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    ledgers = project / "ledgers"
    plan = spmlang.load(project / "plan.spm")
    plan.run(project / "deals-Q1.csv", through="2027-Q1").write(ledgers / "2027-Q1.parquet")
    q2 = plan.run(project / "deals-Q2.csv", paid=[ledgers / "2027-Q1.parquet"], through="2027-Q2")
    q2.write(ledgers / "2027-Q2.parquet")
    manifest = json.loads((ledgers / "2027-Q2.manifest.json").read_text())
    assert manifest["through"] == "2027-Q2" and manifest["currency"] == "USD"
    assert [record["path"] for record in manifest["inputs"] if record["name"] == "paid 1"] == ["2027-Q1.parquet"]
    assert verify(ledgers / "2027-Q2.parquet", roots=[project]).identical
    table = pq.read_table(ledgers / "2027-Q1.parquet")
    pq.write_table(table.slice(1), ledgers / "2027-Q1.parquet")  # a paid line deleted afterwards
    checked = verify(ledgers / "2027-Q2.parquet", roots=[project])
    assert not checked.identical
    assert any("paid 1" in finding for finding in checked.findings), checked.findings
    assert any("2027-Q1.parquet is not reproduced" in finding for finding in checked.findings)
    assert any("changed after spm wrote it" in finding for finding in checked.findings)


def test_a_statement_of_a_closed_or_later_period_says_why_there_is_none(spm, cycle):
    """`spm statement --period 2027-Q1` against the Q1 ledger printed nothing and exited 0."""
    folder, _, _ = cycle
    common = [EXAMPLE / "plan.spm", "--deals", EXAMPLE / "deals-Q2.csv", "--paid", folder / "2027-Q1.parquet"]
    common += ["--through", "2027-Q2", "--payee", "ben.okafor", "--period"]
    closed = spm("statement", *common, "2027-Q1")
    assert closed.returncode == 0 and closed.stdout.strip() == ""
    assert f"note: no statement for 2027-Q1: it is closed: {folder / '2027-Q1.parquet'} paid it" in closed.stderr
    later = spm("statement", *common, "Q3")
    assert "note: no statement for 2027-Q3: it is after 2027-Q2, the last period this run pays" in later.stderr


def test_the_statement_csv_says_what_is_owed_and_held_after_the_period(tmp_path):
    """The page showed 'draw to recover 800.00; held, not yet payable 1,000.00'; the CSV had no such rows."""
    import spmlang

    result = spmlang.load(EXAMPLE / "plan.spm").run(EXAMPLE / "deals-Q1.csv", through="2027-Q1")
    [statement] = result.statements(["ben.okafor"], ["2027-Q1"])
    rows = statement.to_csv().splitlines()
    assert rows[-2:] == [
        "owed,,,,,,800.00,draw to recover after 2027-Q1,",
        'owed,,,,,,1000.00,"held, not yet payable after 2027-Q1",',
    ]
