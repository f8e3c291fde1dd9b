"""Earlier ledgers and pay-cycle arguments that are not what spm wrote or takes: refused with a clean error, or
warned about, never settled as if they were (found by trying hostile inputs)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from test_pay_cycle import COMMISSION_AND_SPIF, HEADER, deals, plan
from test_pay_cycle_example import EXAMPLE

import spmlang
from spmlang.diagnostics import InputError, UsageError
from spmlang.verify import verify


def _mend_manifest(ledger) -> None:
    """The manifest's hash of ``ledger`` made that of the file as it is now: an edit hidden from the hash."""
    manifest_file = ledger.with_name(ledger.stem + ".manifest.json")
    manifest = json.loads(manifest_file.read_text())
    manifest["ledger"]["sha256"] = hashlib.sha256(ledger.read_bytes()).hexdigest()
    manifest_file.write_text(json.dumps(manifest))


def test_a_line_after_the_period_a_ledger_paid_through_is_refused(tmp_path):
    """--through writes no line after its period: one there was added since (a late deal would otherwise be
    taken as not paid, and paid again)."""
    cycle = plan()
    data = deals(("A1", "ann", "2027-02-01", "renewal", 10000), ("A2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.csv")
    text = (tmp_path / "q1.csv").read_text().splitlines()
    added = text[1].replace('"2027-Q1"', '"2027-Q2"').replace('"A1"', '"A2"')
    (tmp_path / "q1.csv").write_text("\n".join([*text, added]) + "\n")
    _mend_manifest(tmp_path / "q1.csv")
    with pytest.raises(
        InputError, match="a line paid in 2027-Q2, after 2027-Q1, the last period this ledger paid"
    ) as e:
        cycle.run(data, paid=[tmp_path / "q1.csv"])
    assert (e.value.row, e.value.column, e.value.code) == (len(text), "period", "E512")


def test_a_ledger_of_another_plan_is_paid_against_with_a_warning(tmp_path):
    data = deals(("B1", "ann", "2027-02-01", "renewal", 10000), ("B2", "ann", "2027-05-01", "renewal", 10000))
    plan().run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    text = HEADER.format(settings="") + COMMISSION_AND_SPIF.format(commission="", spif="")
    renamed = spmlang.loads(text.replace('plan "Cycle"', 'plan "Cycle 2028"'), "cycle.spm")
    summary = renamed.run(data, paid=[tmp_path / "q1.parquet"]).summary()
    assert summary.warnings == [
        f'the earlier ledger {tmp_path / "q1.parquet"} was written by the plan "Cycle", not "Cycle 2028": its lines '
        "are settled under their own components and clauses (pass this plan's earlier ledgers, unless the plan was "
        "renamed)"
    ]
    assert plan().run(data, paid=[tmp_path / "q1.parquet"]).summary().warnings == []


def test_verify_says_a_ledger_paid_against_an_edited_one_is_not_reproduced(tmp_path):
    """Q1's ledger edited, its manifest's hash mended to match, and Q2 paid against it: Q2 re-runs to the same
    bytes, but the chain it stands on is broken, so it is not reproduced either (`spm verify` exits 1)."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    ledgers = project / "ledgers"
    cycle = spmlang.load(project / "plan.spm")
    cycle.run(project / "deals-Q1.csv", through="2027-Q1").write(ledgers / "2027-Q1.parquet")
    table = pq.read_table(ledgers / "2027-Q1.parquet")
    pq.write_table(table.slice(1), ledgers / "2027-Q1.parquet")
    _mend_manifest(ledgers / "2027-Q1.parquet")
    q2 = cycle.run(project / "deals-Q2.csv", paid=[ledgers / "2027-Q1.parquet"], through="2027-Q2")
    q2.write(ledgers / "2027-Q2.parquet")
    assert not verify(ledgers / "2027-Q1.parquet", roots=[project]).identical
    checked = verify(ledgers / "2027-Q2.parquet", roots=[project])
    assert not checked.identical
    assert any("2027-Q1.parquet is not reproduced" in finding for finding in checked.findings), checked.findings
    assert checked.report().startswith(f"{ledgers / '2027-Q2.parquet'}: NOT reproduced")


@pytest.mark.parametrize(
    ("paid", "message"),
    [
        (lambda result: result, "not a Result"),
        (lambda result: result.ledger, "not a Table"),
        (lambda result: [result.ledger], "not a Table"),
        (lambda result: {"q1": 1}, "not a dict"),
        (lambda result: 7, "not an int"),
    ],
)
def test_paid_takes_the_paths_of_ledgers_spm_wrote(paid, message):
    cycle = plan()
    data = deals(("C1", "ann", "2027-02-01", "renewal", 10000))
    q1 = cycle.run(data, through="2027-Q1")
    with pytest.raises(UsageError, match=f"paid= takes the paths of earlier ledgers .*, {message}: write"):
        cycle.run(data, paid=paid(q1))


@pytest.mark.parametrize("through", [dt.date(2027, 6, 30), 2, ["2027-Q2"]])
def test_through_takes_a_periods_label(through):
    with pytest.raises(UsageError, match="through= takes a period's label, such as '2027-Q2' or 'Q2', not a"):
        plan().run(deals(("D1", "ann", "2027-02-01", "renewal", 10000)), through=through)


def test_earlier_lines_adding_up_past_the_limit_are_an_error_not_a_number_past_it(tmp_path):
    """Each line below the limit (E512 otherwise), two of them past it: a ledger edited by hand, its manifest
    gone. A run adding them up (what was paid, a draw's balance) would hold more than spm holds."""
    cycle = plan()
    data = deals(("F1", "ann", "2027-02-01", "renewal", 10000), ("F2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.csv")
    (tmp_path / "q1.manifest.json").unlink()
    text = (tmp_path / "q1.csv").read_text().splitlines()
    big = text[1].replace(",1000.00,", ",3000000000000.00,")
    assert big != text[1]
    (tmp_path / "q1.csv").write_text("\n".join([text[0], big, big.replace('"F1"', '"F3"')]) + "\n")
    with pytest.raises(spmlang.AmountTooLarge) as error:
        cycle.run(data, paid=[tmp_path / "q1.csv"])
    assert str(error.value).startswith(
        f"error[E511]: {tmp_path / 'q1.csv'}: the sum of the amounts of ann's earlier lines, each taken as "
        "positive, is too large to hold (about 6,000,000,000,000)"
    )


def test_paid_takes_any_collection_of_paths(tmp_path):
    cycle = plan()
    data = deals(("G1", "ann", "2027-02-01", "renewal", 10000), ("G2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    for paid in (tmp_path.glob("*.parquet"), {tmp_path / "q1.parquet"}, str(tmp_path / "q1.parquet")):
        periods = {line["period"] for line in cycle.run(data, paid=paid).ledger.to_pylist()}
        assert periods == {"2027-Q2"}  # Q1 closed by the ledger given


def test_a_line_with_no_transaction_is_not_taken_for_a_row_with_an_empty_key(tmp_path):
    """An earlier bonus, true-up or cap line names no transaction; a row of the data with an empty key is
    rejected. Keys compared as Arrow compares them matched the two nulls: the bonus paid in Q1 was taken back
    and paid again, on two adjustments."""
    club = spmlang.loads(
        HEADER.format(settings="")
        + "quotas {\n  per period\n  rows {\n    ann 2027-Q1 $1,000\n    ann 2027-Q2 $1,000\n  }\n}\n"
        + "component base {\n  rate 10%\n}\nbonus club {\n  pay $2,500 once when attainment >= 100%\n}\n",
        "club.spm",
    )
    data = deals(("K1", "ann", "2027-02-01", "renewal", 10000))
    q1 = club.run(data, through="2027-Q1")
    assert [r["amount"] for r in q1.ledger.to_pylist() if r["txn"] is None] == [Decimal("2500.00")]
    q1.write(tmp_path / "q1.parquet")
    with_empty = deals(("K1", "ann", "2027-02-01", "renewal", 10000), (None, "ann", "2027-04-02", "renewal", 1))
    again = club.run(with_empty, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    assert again.accounting["rejected"] == {"missing_value": 1}
    assert [r for r in again.ledger.to_pylist() if r["kind"] == "adjustment"] == []
