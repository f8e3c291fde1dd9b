"""Money primitives: exact rounding, cumulative rounding, formatting (property-based)."""

from __future__ import annotations

import re
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import UNIT, cumulative_cents, to_units, units_to_cents

units = st.integers(min_value=-(10**15), max_value=10**15)


def half_away(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


@given(st.lists(units, min_size=1, max_size=60), st.lists(st.booleans(), min_size=60, max_size=60))
def test_cumulative_rounding_is_exact_per_group(amounts, breaks):
    values = np.array(amounts, dtype=np.int64)
    starts = np.array(breaks[: len(amounts)])
    starts[0] = True
    cents = cumulative_cents(values, starts)
    group = np.cumsum(starts)
    for g in np.unique(group):
        members = values[group == g]
        exact = sum(Decimal(int(v)) for v in members) / UNIT
        assert Decimal(int(cents[group == g].sum())) / 100 == half_away(exact)
        # and every running total is the rounded exact running total
        running = np.cumsum(members)
        assert [Decimal(int(c)) for c in np.cumsum(cents[group == g])] == [
            half_away(Decimal(int(r)) / UNIT) * 100 for r in running
        ]


@given(
    st.decimals(min_value=Decimal("-100000000"), max_value=Decimal("100000000"), places=2),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("2"), places=4),
)
def test_rate_products_snap_to_the_exact_decimal(amount, rate):
    exact = half_away(amount * rate, "0.000001")
    computed = to_units(np.array([float(int(amount * 100)) * UNIT / 100 * float(rate)]))[0]
    assert Decimal(int(computed)) / UNIT == exact


@given(units)
def test_units_to_cents_rounds_half_away_from_zero(value):
    assert Decimal(int(units_to_cents(np.array([value]))[0])) / 100 == half_away(Decimal(value) / UNIT)


@given(st.lists(units, min_size=1, max_size=20))
def test_amount_text_matches_python_formatting(values):
    plain = text.amount(np.array(values, dtype=np.int64))
    assert plain.to_pylist() == [f"{half_away(Decimal(v) / UNIT):.2f}".replace("-0.00", "0.00") for v in values]
    shown = text.pretty(plain).to_pylist()
    expected = [f"{half_away(Decimal(v) / UNIT):,.2f}" for v in values]
    assert shown == [e.replace("-0.00", "0.00") if e == "-0.00" else e for e in expected]  # no negative zero


@given(st.lists(st.tuples(units, st.integers(0, 99)), min_size=1, max_size=20), st.sampled_from([3, 64, 65]))
def test_an_amount_then_a_fixed_text_reads_as_the_amount_and_the_text(values, options):
    """Taken with the cents from a table of endings (a few texts), or apart (many): the same words."""
    amounts = np.array([v for v, _ in values] + [-5000, -500_000], dtype=np.int64)  # -0.01, -0.50: '-0.'
    index = np.array([i % options for _, i in values] + [0, options - 1])
    texts = [f" at {k}% = " for k in range(options)]
    joined = text.join(*text.amount_then(amounts, index, texts)).to_pylist()
    assert joined == [a + texts[i] for a, i in zip(text.amount(amounts).to_pylist(), index, strict=True)]
    assert joined[-2:] == ["-0.01 at 0% = ", f"-0.50 at {options - 1}% = "]


@given(st.lists(units, min_size=1, max_size=20))
def test_exact_text_shows_every_digit_and_at_least_cents(values):
    def expected(value: int) -> str:
        whole, fraction = f"{Decimal(value) / UNIT:.6f}".rstrip("0").split(".")
        return f"{whole}.{fraction.ljust(2, '0')}" if value else "0.00"

    assert text.exact(np.array(values, dtype=np.int64)).to_pylist() == [expected(v) for v in values]
    assert text.exact(np.array([-4000, 200_044_000, 5], np.int64)).to_pylist() == ["-0.004", "200.044", "0.000005"]


def test_ties_go_away_from_zero():
    assert to_units(np.array([2.5, -2.5, 0.5, 1.4999999])).tolist() == [3, -3, 1, 1]
    assert units_to_cents(np.array([5000, -5000, 4999])).tolist() == [1, -1, 0]


def test_calendar_labels_and_period_parsing():
    import datetime as dt

    quarters = PlanCalendar(dt.date(2027, 1, 1), "quarterly")
    assert quarters.labels == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert [quarters.parse_period(t) for t in ("2027-Q2", "Q3", "2027-11-30", "2027-02", "2028-01-01")] == [
        1,
        2,
        3,
        0,
        None,
    ]
    fiscal = PlanCalendar(dt.date(2027, 2, 1), "monthly")
    assert fiscal.labels[0] == "FY2027-M01" and fiscal.labels[-1] == "FY2027-M12"
    assert fiscal.parse_period("2027-02") == 0 and fiscal.parse_period("2028-01-31") == 11
    assert fiscal.end(11) == dt.date(2028, 1, 31)


@given(
    st.sampled_from(["monthly", "quarterly", "half_yearly", "yearly"]),
    st.integers(1, 12),
    st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(20_000, 22_000), max_size=50),
)
def test_the_period_of_a_date_is_the_period_whose_days_hold_it(frequency, month, days):
    import datetime as dt

    calendar = PlanCalendar(dt.date(2027, month, 1), frequency)
    bounds = calendar.bounds
    expected = [next((p for p in range(calendar.count) if bounds[p] <= day < bounds[p + 1]), -1) for day in days]
    assert calendar.period_of(np.array(days, dtype=np.int64)).tolist() == expected
    assert calendar.in_year(np.array(days, dtype=np.int64)).tolist() == [p >= 0 for p in expected]
    inside = np.array(
        [day for day, p in zip(days, expected, strict=True) if p >= 0], dtype=np.int32
    )  # as credit rows hold them
    assert calendar.period_in_year(inside).tolist() == [p for p in expected if p >= 0]


def test_joining_text_keeps_rows_where_every_part_is_empty():
    import pyarrow as pa

    empty = pa.array([None, None, "c"], pa.string())
    some = pa.array([None, "b", "d"], pa.string())
    assert text.join(empty, some, separator=" + ").to_pylist() == ["", "b", "c + d"]
    assert text.join("x", empty, some).to_pylist() == ["x", "xb", "xcd"]


@given(
    st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300])),
        min_size=1,
        max_size=40,
    ),
    st.data(),
)
def test_ledger_ratios_are_six_decimal_rounding_of_the_values_shown(values, data):
    # empty where not valid or not a number; infinities and huge values held to +-4e12
    from spmlang.report.ledger import _ratio

    valid = np.array(data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))))
    got = _ratio(np.array(values, dtype=np.float64), valid).to_pylist()
    for value, ok, shown in zip(values, valid, got, strict=True):
        if not ok:
            assert shown is None
        elif value != value:
            assert shown == 0
        elif abs(value) > 4e12:  # (at 4e18 millionths a float is exact to ~1e3 of them)
            assert abs(shown - Decimal(4e12).copy_sign(Decimal(value))) < Decimal("0.01")
        else:  # float scaling may land on the other side of a tie
            expected = Decimal(repr(value)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
            assert abs(shown - expected) <= Decimal("0.000001")


def _separators_one_at_a_time(line: str) -> str:
    """How statements added thousands separators before: a comma at a time, until none is added."""
    previous = None
    while previous != line:
        previous, line = line, re.sub(r"(\d)(\d{3})(?=[,.]\d)", r"\1,\2", line)
    return line


@given(st.text(st.sampled_from("0123456789.,x -×()%"), max_size=40))
def test_a_line_gets_its_thousands_separators_in_one_pass_as_one_at_a_time(line):
    assert text.pretty(line) == _separators_one_at_a_time(line)


def test_thousands_separators_for_a_statement_line_cost_a_few_microseconds():
    line = "12345678.90 at 8% × 1.5x (100%–150%) + 1234567.00 at 16% (150%–) = 2170370.5680"
    assert text.pretty(line) == "12,345,678.90 at 8% × 1.5x (100%–150%) + 1,234,567.00 at 16% (150%–) = 2,170,370.5680"
    started = time.process_time()
    for _ in range(2000):
        text.pretty(line)
    ours = time.process_time() - started
    started = time.process_time()
    for _ in range(2000):
        _separators_one_at_a_time(line)
    assert ours < (time.process_time() - started) / 2
