"""Amounts too large to hold: a located error at check time, E511 at run time, never a wrapped number.

The engine holds amounts below 2**62 millionths of the currency unit (4,611,686,018,427.38); sums, products
and constants past that used to wrap silently (a deal of $10,000,000,000,000 paid -8,446,744,073,709.55).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spmlang
from spmlang.engine import run as calculator
from spmlang.engine.kernels.money import LIMIT, UNIT, TooLarge, ensure_sums_fit, scaled, to_units

HEAD = """plan "Limits" {
  currency IDR
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  column units  integer
  key    id
  date   day
  payee  rep
  credit CREDIT
}
"""


def plan(component: str, credit: str = "amount") -> spmlang.Plan:
    return spmlang.loads(HEAD.replace("CREDIT", credit) + component, "limits.spm")


def deals(*amounts, units=None, reps=None) -> pa.Table:
    n = len(amounts)
    return pa.table(
        {
            "id": [f"D{i}" for i in range(n)],
            "rep": reps or ["ani"] * n,
            "day": [dt.date(2027, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "amount": pa.array([Decimal(a) for a in amounts], pa.decimal128(30, 2)),
            "units": pa.array(units or [1] * n, pa.int64()),
        }
    )


@pytest.mark.parametrize(
    "statement",
    [
        "pay $10,000,000,000,000 per deal",  # the example: it paid -8,446,744,073,709.55 per deal
        "rate 999999999999999%",
        "rate 8%\n  cap $999999999999999 per quarter",
        "rate 8%\n  multiplier 5000000000000x when units > 1",
        "tiers marginal on credit {\n    $0 .. $5,000,000,000,000 rate 1%\n    $5,000,000,000,000 .. rate 2%\n  }",
        # Numbers and sums of constants, not only amounts: these passed the check, then ended in an internal
        # error (a number past int64; a credit of 5e12 made units past the limit) or in a row not paid.
        "pay $1 * 99999999999999999999 per deal",
        "pay $1 * 5000000000000 per deal",
        "pay $2 * 3000000000000 per deal",
        "pay $4,000,000,000,000 + $4,000,000,000,000 per deal",
        "pay -(-$3,000,000,000,000 - $3,000,000,000,000) per deal",
        "rate 1%\n}\ncomponent d {\n  rate $1",  # with `credit 5000000000000`
    ],
)
def test_a_constant_that_cannot_be_paid_is_a_located_error(statement):
    credit = "5000000000000" if "rate $1" in statement else "amount"
    with pytest.raises(spmlang.PlanError) as caught:
        plan("component c {\n  " + statement + "\n}\n", credit=credit)
    codes = {d.code for d in caught.value.diagnostics}
    assert codes == {"E312"}, caught.value.render()
    assert caught.value.diagnostics[0].span.line >= (18 if credit == "amount" else 15)  # 15: the credit's line
    assert "too large to hold" in caught.value.diagnostics[0].message


def test_the_largest_constant_spm_holds_is_accepted():
    plan("component c {\n  rate 8%\n  cap $4,611,686,018,427 per quarter\n}\n")
    # Counts and numbers compared, not amounts: they may be larger (a filter on a count column).
    plan("component c {\n  rate 8%\n  where units < 10000000000000 and units != 99999999999999\n}\n")
    plan("component c {\n  pay $1 * 1000000 * 1000000 / 1000000 per deal\n}\n")


def test_credit_summing_past_the_limit_is_an_error_naming_the_payee_and_period():
    # Each row is valid; two of them wrapped the running credit to -8,446,744,073,709.55.
    run = plan("component c {\n  rate 5%\n}\n").run(deals("3000000000000", "2500000000000", "1"))
    with pytest.raises(spmlang.AmountTooLarge) as caught:
        _ = run.ledger
    message = str(caught.value)
    assert message.startswith("error[E511]: the credit of ani in 2027-Q1 is too large to hold")
    assert "credit amount / 1000" in message  # a way out for currencies of large amounts


def test_a_target_just_below_the_limit_is_held_and_targets_summing_past_it_are_not():
    """The year's sum is first added up in floats, which cannot tell an amount within ~4,600 of the limit from
    one past it: such sums are added again exactly (a target of 4,611,686,018,000 was refused)."""
    capped = plan("targets {\n  per period\n}\ncomponent c {\n  rate 5%\n  cap 100% of target per year\n}\n")
    near = pa.table({"payee": ["ani"] * 4, "period": ["Q1", "Q2", "Q3", "Q4"], "amount": [4_611_686_018_000, 0, 0, 0]})
    assert capped.run(deals("1000"), targets=near).totals().column("amount").to_pylist() == [Decimal("50.00")]
    past = near.set_column(2, "amount", pa.array([2_305_843_009_214, 2_305_843_009_214, 0, 0]))
    with pytest.raises(spmlang.AmountTooLarge, match="the target of ani over the year is too large"):
        capped.run(deals("1000"), targets=past)


def test_earnings_past_the_limit_are_an_error_naming_the_clause():
    run = plan("component big {\n  rate 1000000%\n}\n").run(deals("5000000000", "1"))
    with pytest.raises(spmlang.AmountTooLarge) as caught:
        run.totals()
    assert str(caught.value).startswith("error[E511]: limits.spm:18: an amount of component 'big' is too large")


def test_a_worker_process_reports_the_error_as_itself():
    # Paid in worker processes (two workers, a batch per payee): the error crosses the pipe whole, not as a
    # "worker process failed" internal error.
    run = plan("component big {\n  rate 1000000%\n}\n").run(
        deals("1", "2", "5000000000", "4", reps=["ani", "budi", "citra", "dewi"]), workers=2
    )
    with mock.patch.object(calculator, "BATCH_ROWS", 1):
        with pytest.raises(spmlang.AmountTooLarge, match="component 'big'"):
            run.totals()


def test_the_command_line_says_it_in_one_message(tmp_path, spm):
    (tmp_path / "plan.spm").write_text(HEAD.replace("CREDIT", "amount") + "component c {\n  rate 5%\n}\n")
    (tmp_path / "deals.csv").write_text(
        "id,rep,day,amount,units\nA,ani,2027-01-05,3000000000000,1\nB,ani,2027-02-05,3000000000000,1\n"
    )
    result = spm("run", "plan.spm", "--deals", "deals.csv", "--out", "ledger.parquet", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error[E511]" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "ledger.parquet").exists()


def test_row_arithmetic_past_the_limit_rejects_the_row():
    # Sums of money and products of integers are computed in int64, which wraps: such rows are rejected.
    run = plan("component c {\n  rate 1%\n}\n", credit="amount + amount").run(deals("3000000000000", "1000"))
    assert run.accounting["rejected"] == {"invalid_value": 1}
    assert "too large to hold" in run.rejects.column("message")[0].as_py()
    counted = plan("component c {\n  rate $1\n}\n", credit="units * units").run(
        deals("1", "1", units=[3_000_000_000, 7])
    )
    assert counted.accounting["rejected"] == {"invalid_value": 1}
    assert counted.totals().column("amount").to_pylist() == [Decimal("49.00")]
    # A count as credit, past the limit once in units: the row is rejected, not an internal error.
    many = plan("component c {\n  rate $1\n}\n", credit="units").run(deals("1", "1", units=[5_000_000_000_000, 7]))
    assert many.accounting["rejected"] == {"invalid_value": 1}
    assert many.rejects.column("message")[0].as_py().startswith("the credit (`units`) is too large to hold")
    assert many.totals().column("amount").to_pylist() == [Decimal("7.00")]


# ---------------------------------------------------------------------- the arithmetic itself


def test_to_units_refuses_what_it_cannot_hold():
    with pytest.raises(TooLarge) as caught:
        to_units(np.array([1.0, float(LIMIT), 2.0]))
    assert caught.value.position == 1
    with pytest.raises(TooLarge):
        to_units(np.array([np.nan]))
    with pytest.raises(TooLarge):
        scaled(np.array([LIMIT - 1]), 1.5)


@given(st.integers(-(LIMIT - 1), LIMIT - 1), st.integers(0, 10**6), st.sampled_from([1, 10, 100, 10**4]))
def test_products_are_exact_decimals_at_every_size(units, numerator, denominator):
    """units x rate, for a rate of a few decimals: the exact decimal, half away from zero, or TooLarge."""
    rate = Decimal(numerator) / denominator / 100
    exact = Decimal(units) * rate
    expected = int(exact.to_integral_value(rounding="ROUND_HALF_UP"))
    try:
        got = int(scaled(np.array([units], dtype=np.int64), float(rate))[0])
    except TooLarge:
        assert abs(expected) >= LIMIT - 1
        return
    assert got == expected


def test_sums_that_would_wrap_are_found_and_where():
    values = np.array([LIMIT // 2, LIMIT // 2, 5, -5], dtype=np.int64)
    ensure_sums_fit(values, np.array([True, True, False, False]))  # two groups: each well within
    with pytest.raises(TooLarge) as caught:
        ensure_sums_fit(values, np.array([True, False, True, False]))
    assert caught.value.position == 1
    ensure_sums_fit(np.array([LIMIT - UNIT, -(LIMIT - UNIT)], dtype=np.int64))  # running sums stay within
    ensure_sums_fit(np.array([LIMIT - 2, 1], dtype=np.int64))  # up to the last unit
    with pytest.raises(TooLarge):
        ensure_sums_fit(np.array([LIMIT - 2, 1, 1], dtype=np.int64))
