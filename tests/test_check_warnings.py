"""Warnings of `spm check` for plans that run but probably do not mean what they say."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from conftest import ROOT

import spmlang

MINIMUM = (ROOT / "tests" / "golden" / "errors" / "W103-minimum-paid-on-refunds.spm").read_text()


def codes(text: str) -> list[str]:
    return [d.code for d in spmlang.loads(text).warnings]


def test_a_per_row_minimum_is_paid_on_a_refund_and_check_says_so():
    """What W103 warns of: the refund row of -$1,000 is paid the $25 minimum. With the filter the hint gives,
    it is paid nothing and still lowers the credit."""
    deals = pa.table(
        {
            "id": ["d1", "r1"],
            "rep": ["ann", "ann"],
            "day": [dt.date(2027, 1, 5), dt.date(2027, 1, 9)],
            "stage": ["won", "won"],
            "amount": [2000.0, -1000.0],
        }
    )
    plan = spmlang.loads(MINIMUM)
    [warning] = plan.warnings
    assert warning.code == "W103" and "`where credit > 0`" in warning.hint
    ledger = plan.run(deals, workers=1).ledger
    assert dict(zip(ledger.column("txn").to_pylist(), ledger.column("amount").to_pylist(), strict=True)) == {
        "d1": Decimal("80.00"),
        "r1": Decimal("25.00"),
    }
    fixed = spmlang.loads(MINIMUM.replace("  pay max(", "  where credit > 0\n  pay max("))
    assert list(fixed.warnings) == []
    lines = fixed.run(deals, workers=1).ledger.select(["txn", "credit", "amount"]).to_pylist()
    assert lines == [
        {"txn": "d1", "credit": Decimal("2000.00"), "amount": Decimal("80.00")},
        {"txn": "r1", "credit": Decimal("-1000.00"), "amount": Decimal("0.00")},
    ]


@pytest.mark.parametrize(
    "where, warned",
    [
        ("", True),
        ("  where credit > 0\n", False),
        ("  where credit >= $0\n", False),
        ("  where $0 < credit\n", False),
        ("  where credit in $0 .. $1,000,000\n", False),
        ('  where credit > 0 and stage == "won"\n', False),
        ("  where credit > $0 or credit > $10\n", False),
        ("  where credit > -$5\n", True),
        ('  where credit > $0 or stage == "won"\n', True),
        ("  where amount > 0\n", False),  # the column the credit is
        ('  where stage == "won"\n', True),
    ],
)
def test_the_minimum_warning_holds_unless_a_filter_keeps_the_credit_non_negative(where, warned):
    text = MINIMUM.replace("  pay max(", where + "  pay max(")
    assert codes(text) == (["W103"] if warned else [])


def test_a_filter_of_the_transactions_block_counts_too():
    assert codes(MINIMUM.replace('  where stage == "won"\n', '  where stage == "won"\n  where amount >= 0\n')) == []


@pytest.mark.parametrize(
    "before, after",
    [
        (
            "  pay max(credit * 4%, $25) per deal",
            "  rate max(credit / $1,000 * 1%, 4%)",
        ),  # a rate of a refund is negative
        ("  pay max(credit * 4%, $25) per deal", "  pay max(credit * 4%, $0) per deal"),  # no minimum
        ("  pay max(credit * 4%, $25) per deal", "  pay min(credit * 4%, $25) per deal"),
        ("  credit amount", "  credit abs(amount)"),  # credit cannot be negative
        ("  credit amount", "  credit 1"),
    ],
)
def test_no_minimum_warning_where_no_minimum_meets_a_negative_credit(before, after):
    text = MINIMUM.replace(before, after)
    if after == "  credit 1":
        text = text.replace("pay max(credit * 4%, $25) per deal", "pay max(credit * $4, $25) per deal")
    assert codes(text) == []
