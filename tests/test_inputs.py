"""Reading real-world files: formats, separators, encodings, and a reason for every bad row.

One file though long: each test is one kind of file, short, on the plan written here once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import spmlang

PLAN = """plan "Inputs" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id      text
  column rep     text
  column day     date DATE_FORMAT
  column product text
  column amount  money MONEY_FORMAT
  key id
  date day
  payee rep
  credit amount
}
table rates {
  column product text
  column rate percent
  key product
  rows {
    "GTX Pro"    5%
    "MG Special" 3%
  }
}
component commission {
  rate rates[product]
}
"""


def plan(date_format: str = "", money_format: str = "") -> spmlang.Plan:
    text = PLAN.replace("DATE_FORMAT", f'"{date_format}"' if date_format else "")
    return spmlang.loads(text.replace("MONEY_FORMAT", f'"{money_format}"' if money_format else ""), "inputs.spm")


EUROPEAN = (
    "\ufeffid;rep;day;product;amount\n"
    "A1;alice;01-03-27;GTX Pro;1.234,50\n"
    "A2;alice;31-02-27;GTX Pro;100,00\n"
    "A3;;05-03-27;GTX Pro;100,00\n"
    "A4;bob;05-03-27;GTXPro;2.000,00\n"
    "A1;bob;06-03-27;MG Special;50,00\n"
    "A6;bob;07-03-27;MG Special;abc\n"
    "A7;bob;07-03-26;MG Special;10,00\n"
    "A8;bob;08-03-27;MG Special;\n"
)


def test_bom_semicolons_thousands_and_every_bad_row_with_its_reason(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(EUROPEAN, encoding="utf-8")
    result = plan("%d-%m-%y", "1.234,56").run(deals)
    reasons = {row["key"] + "@" + str(row["row"]): (row["reason"], row["column"]) for row in result.rejects.to_pylist()}
    assert reasons == {
        "A2@3": ("invalid_value", "day"),  # 31 February does not exist (Arrow would have made it 3 March)
        "A3@4": ("missing_value", "rep"),
        "A1@6": ("duplicate_key", "id"),
        "A6@7": ("invalid_value", "amount"),
        "A7@8": ("outside_year", "day"),
        "A8@9": ("missing_value", "amount"),
    }
    messages = {row["key"]: row["message"] for row in result.rejects.to_pylist()}
    assert messages["A2"] == "cannot read '31-02-27' as a date in the format \"%d-%m-%y\""
    # A4's product is not in the rates its component looks up: credited, and not paid by it, with the hint
    (unpaid,) = result.unpaid.to_pylist()
    assert (unpaid["key"], unpaid["row"], unpaid["reason"]) == ("A4", 5, "missing_lookup")
    assert unpaid["message"] == "'GTXPro' is not in table rates (did you mean 'GTX Pro'?)"
    counts = result.accounting
    assert counts["read"] == 8 and counts["credited"] == 2
    assert counts["credited"] + sum(counts["excluded"].values()) + sum(counts["rejected"].values()) == 8
    paid, not_paid = result.ledger.to_pylist()
    assert paid["credit"] == Decimal("1234.50") and paid["amount"] == Decimal("61.73")
    assert not_paid["txn"] == "A4" and not_paid["amount"] == 0


def test_strict_turns_the_first_reject_into_an_error(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(EUROPEAN, encoding="utf-8")
    with pytest.raises(spmlang.InputError) as caught:
        plan("%d-%m-%y", "1.234,56").run(deals, strict=True)
    assert caught.value.row == 3 and caught.value.column == "day"
    assert "--strict" in caught.value.hint


def test_values_with_thousands_separators_need_a_declared_format(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text('id,rep,day,product,amount\nA1,alice,2027-03-01,GTX Pro,"1,234.50"\n')
    result = plan().run(deals)
    (reject,) = result.rejects.to_pylist()
    assert reject["reason"] == "invalid_value"
    assert 'declare a format such as "1,234.56"' in reject["message"]
    assert plan(money_format="1,234.56").run(deals).ledger.column("credit").to_pylist() == [Decimal("1234.50")]


def test_parquet_with_native_types_nan_and_infinity(tmp_path):
    table = pa.table(
        {
            "id": ["x1", "x2", "x3", "x4"],
            "rep": ["a", "a", "a", "a"],
            "day": pa.array([dt.date(2027, 2, 1)] * 4, pa.date32()),
            "product": ["GTX Pro"] * 4,
            "amount": pa.array([1000.10, float("nan"), float("inf"), None], pa.float64()),
        }
    )
    path = tmp_path / "deals.parquet"
    pq.write_table(table, path)
    result = plan().run(path)
    # NaN is how pandas writes a missing number: empty, as None is; infinity is a value that cannot be read
    assert [(r["key"], r["reason"]) for r in result.rejects.to_pylist()] == [
        ("x2", "missing_value"),
        ("x3", "invalid_value"),
        ("x4", "missing_value"),
    ]
    assert result.ledger.column("amount").to_pylist() == [Decimal("50.01")]


def test_decimal_parquet_money_is_read_exactly(tmp_path):
    table = pa.table(
        {
            "id": ["x1"],
            "rep": ["a"],
            "day": pa.array([dt.date(2027, 2, 1)], pa.date32()),
            "product": ["GTX Pro"],
            "amount": pa.array([Decimal("123456789.995")], pa.decimal128(20, 3)),
        }
    )
    result = plan().run(table)
    (line,) = result.ledger.to_pylist()
    assert line["credit"] == Decimal("123456790.00")  # 123,456,789.995 shown to the cent
    assert line["amount"] == Decimal("6172839.50")  # 5% of the exact 123,456,789.995 = 6,172,839.49975


def test_pandas_and_polars_dataframes(tmp_path):
    pandas = pytest.importorskip("pandas")
    polars = pytest.importorskip("polars")
    rows = {
        "id": ["a", "b"],
        "rep": ["r", "r"],
        "day": ["2027-01-05", "2027-01-06"],
        "product": ["GTX Pro"] * 2,
        "amount": [100.0, 200.0],
    }
    for frame in (pandas.DataFrame(rows), polars.DataFrame(rows)):
        result = plan().run(frame)
        assert [str(v) for v in result.ledger.column("amount").to_pylist()] == ["5.00", "10.00"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("id,rep,day,product\n", "the column 'amount' is missing"),
    ],
)
def test_unusable_files_are_input_errors(tmp_path, content, message):
    path = tmp_path / "deals.csv"
    path.write_text(content)
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(path)
    assert message in str(caught.value)


def test_truncated_parquet_is_an_input_error(tmp_path):
    path = tmp_path / "deals.parquet"
    pq.write_table(pa.table({"id": ["a"] * 100, "amount": [1.0] * 100}), path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(path)
    assert "cannot read this parquet file" in str(caught.value)


def test_header_only_file_credits_nothing(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text("id,rep,day,product,amount\n")
    result = plan().run(path)
    assert result.ledger.num_rows == 0
    assert result.accounting == {"read": 0, "credited": 0, "excluded": {}, "rejected": {}}


def test_dictionary_encoded_text_gives_the_same_ledger(tmp_path):
    rows = {
        "id": ["a", "b", "c", "d"],
        "rep": ["ann", "bo", None, "ann"],
        "day": pa.array([dt.date(2027, 2, 1)] * 4, pa.date32()),
        "product": ["GTX Pro", "MG Special", "GTX Pro", "GTXPro"],
        "amount": pa.array([Decimal("100.00")] * 4, pa.decimal128(18, 2)),
    }
    plain = pa.table(rows)
    encoded = pa.table(
        {
            **rows,
            "rep": pa.array(rows["rep"]).dictionary_encode(),
            "product": pa.array(rows["product"]).dictionary_encode(),
        }
    )
    path = tmp_path / "encoded.parquet"
    pq.write_table(encoded, path)
    assert pq.read_table(path).schema.field("rep").type == pa.dictionary(pa.int32(), pa.string())
    expected = plan().run(plain)
    for source in (encoded, path):
        result = plan().run(source)
        assert result.ledger.drop(["run_id"]).equals(expected.ledger.drop(["run_id"]))
        assert result.rejects.equals(expected.rejects)


@given(
    st.integers(-20, 8),
    st.lists(st.one_of(st.none(), st.integers(-(10**16), 10**16)), min_size=1, max_size=30),
    st.integers(0, 3),
    st.sampled_from([pa.decimal128, pa.decimal64]),
)
def test_decimal_money_converts_to_exact_units_at_any_scale(scale, digits, offset, kind):
    """Decimal columns of any scale, negative ones (1E+20) too, and of either width (a ledger is built of
    decimal64), read as exact units or said too large, value by value; never an overflow."""
    from decimal import ROUND_HALF_UP

    from spmlang.engine.read.numbers import _decimal_to_units

    values = [None if v is None else Decimal(v).scaleb(-scale) for v in digits]
    try:
        array = pa.array([None] * offset + values, kind(38 if kind is pa.decimal128 else 18, scale)).slice(offset)
    except pa.ArrowInvalid:  # not a value of that type (Arrow's decimal64 takes no 0E+19)
        assume(False)
    converted = _decimal_to_units(array)
    exact = [0 if v is None else int((v * 1_000_000).to_integral_value(ROUND_HALF_UP)) for v in values]
    if converted is None:  # wider than 38 digits at six decimals: read another way (see convert_money)
        assert any(abs(u) >= 10**38 for u in exact)
        return
    units, too_big = converted
    assert too_big.tolist() == [abs(u) >= 2**62 for u in exact]  # what the engine cannot hold, value by value
    assert units.tolist() == [0 if abs(u) >= 2**62 else u for u in exact]


def _deals_table(rows: list[tuple]) -> pa.Table:
    ids, reps, days, products, amounts = zip(*rows, strict=True) if rows else ([], [], [], [], [])
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "rep": pa.array(reps, pa.string()).dictionary_encode(),
            "day": pa.array(days, pa.date32()),
            "product": pa.array(products, pa.string()),
            "amount": pa.array(amounts, pa.string()),
        }
    )


_ROW = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),  # keys repeat: duplicates across pieces
    st.one_of(st.none(), st.sampled_from(["ann", "bo", "cy"])),
    st.sampled_from([dt.date(2027, 2, 1), dt.date(2027, 8, 9), dt.date(2026, 5, 5)]),
    st.sampled_from(["GTX Pro", "MG Special", "GTXPro"]),
    st.one_of(st.none(), st.sampled_from(["100.00", "2500.5", "abc", "-40"])),
)


@given(st.lists(_ROW, max_size=24), st.integers(1, 7), st.integers(1, 9))
def test_a_parquet_file_read_in_pieces_gives_what_the_whole_table_gives(
    tmp_path_factory, rows, piece_rows, row_group_rows
):
    """Large parquet files are read and converted a piece at a time (memory); the ledger, the rejects and
    their messages (which quote values that could not be read) are those of the table read whole."""
    from spmlang.engine.read import loaded

    table = _deals_table(rows)
    path = tmp_path_factory.mktemp("pieces") / "deals.parquet"
    pq.write_table(table, path, row_group_size=row_group_rows)  # each row group has its own dictionary
    expected = plan().run(table)
    original = loaded.PIECE_ROWS
    loaded.PIECE_ROWS = piece_rows
    try:
        result = plan().run(path)
    finally:
        loaded.PIECE_ROWS = original
    assert result.accounting == expected.accounting
    assert result.rejects.equals(expected.rejects)
    assert result.ledger.drop(["run_id"]).equals(expected.ledger.drop(["run_id"]))


def test_a_parquet_file_with_no_rows_credits_nothing(tmp_path):
    path = tmp_path / "deals.parquet"
    pq.write_table(_deals_table([]), path)
    result = plan().run(path)
    assert result.ledger.num_rows == 0 and result.accounting["read"] == 0


def test_a_parquet_file_damaged_inside_is_an_input_error(tmp_path):
    path = tmp_path / "deals.parquet"
    rows = [(f"k{i}", "ann", dt.date(2027, 2, 1), "GTX Pro", f"{i}.00") for i in range(2000)]
    pq.write_table(_deals_table(rows), path, compression="zstd")
    data = bytearray(path.read_bytes())
    data[100:1100] = b"\xff" * 1000  # the pages, not the footer: the file opens, its rows cannot be read
    path.write_bytes(bytes(data))
    with pytest.raises(spmlang.InputError) as caught:
        plan().run(path)
    assert "cannot read this parquet file" in str(caught.value) and str(path) in str(caught.value)


def test_the_white_space_spm_looks_for_is_what_arrow_trims():
    from spmlang.engine.read.text import _WHITE

    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    by_arrow = pc.utf8_trim_whitespace(pa.array(["a" + c for c in every] + [c + "a" for c in every])).to_pylist()
    assert {
        c
        for c, after, before in zip(every, by_arrow[: len(every)], by_arrow[len(every) :], strict=True)
        if after == "a" or before == "a"
    } == set(_WHITE)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.none()
        | st.text(
            st.sampled_from(
                ["a", "é", "€", " ", "\t", "\n", "\u00a0", "\u2009", "\u3000", "\u00c2", "\u1680", "\u2028"]
            ),
            max_size=5,
        ),
        max_size=12,
    ),
    st.integers(0, 3),
    st.booleans(),
    st.booleans(),
)
def test_text_is_trimmed_as_arrow_trims_it_whatever_its_layout(values, start, large, encoded):
    from spmlang.engine.read.text import trimmed

    array = pa.array(values, pa.large_string() if large else pa.string())[start:]
    for part in [array, *(array.slice(i, 1) for i in range(len(array)))]:  # alone, a value decides the look
        result = trimmed(part.dictionary_encode() if encoded else part)
        if encoded:
            result = result.dictionary_decode()
        assert result.to_pylist() == pc.utf8_trim_whitespace(part).to_pylist()


def _convert(values, kind, fmt=None):
    from spmlang.diagnostics import Span
    from spmlang.engine.read.columns import convert_column
    from spmlang.ir.plan import ColumnSpec

    column = convert_column(pa.array(values, pa.string()), ColumnSpec("c", kind, fmt, Span("p.spm", 1, 1, 1, 1)), "f")
    return np.asarray(column.values), np.asarray(column.valid, bool), np.asarray(column.invalid, bool)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.none()
        | st.sampled_from(
            [
                "2027-01-05",
                "2027-02-28",
                "2027-02-30",
                "2027-13-01",
                "2027-1-5",
                " 2027-03-04 ",
                "5 March",
                "2027-12-31",
                "2028-02-29",
            ]
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([None, "%Y-%m-%d"]),
)
def test_a_long_column_of_dates_reads_as_its_values_one_at_a_time(pattern, fmt):
    from spmlang.engine.read import column_values
    from spmlang.ir.plan import Type

    values = (pattern * (column_values.DISTINCT_FIRST // len(pattern) + 2))[: column_values.DISTINCT_FIRST + 7]
    whole = _convert(values, Type.DATE, fmt)  # read a distinct text at a time
    alone = [_convert([v], Type.DATE, fmt) for v in pattern]  # each read by itself
    for got, single in zip(whole, zip(*alone, strict=True), strict=True):
        np.testing.assert_array_equal(got[: len(pattern)], np.concatenate(single))


def test_integers_written_as_digits_are_read_exactly_however_large():
    from spmlang.ir.plan import Type

    big = 2**53 + 1  # the first integer a float64 does not hold
    values, valid, invalid = _convert([str(big), "-12", None, " 7 "], Type.INTEGER)
    assert values.tolist()[:2] == [big, -12] and values[3] == 7 and valid.tolist() == [True, True, False, True]
    values, valid, invalid = _convert(
        [str(big), "+5", "1.0", "1e3", "2.5", "99999999999999999999", "x"], Type.INTEGER
    )  # some not plain digits: the slower way, as exact
    assert values.tolist()[:4] == [big, 5, 1, 1000]
    assert invalid.tolist() == [False, False, False, False, True, True, True]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False), min_size=1, max_size=20),
    st.booleans(),
)
def test_money_written_plainly_is_read_to_the_unit(amounts, with_a_dollar_sign):
    from spmlang.ir.plan import Type

    texts = [f"{'$' if with_a_dollar_sign and i == 0 else ''}{a}" for i, a in enumerate(amounts)]
    values, valid, invalid = _convert(texts, Type.MONEY)  # '$' sends the column the slower way
    assert values.tolist() == [int(a * 1_000_000) for a in amounts] and not invalid.any()


def test_a_long_column_of_many_distinct_dates_reads_each():
    import datetime as dt

    from spmlang.engine.read import column_values
    from spmlang.ir.plan import Type

    start = dt.date(2020, 1, 1)
    texts = [(start + dt.timedelta(days=i)).isoformat() for i in range(column_values.DISTINCT_FIRST * 2)]
    values, valid, invalid = _convert(texts + [None, "2027-02-30"], Type.DATE)
    assert values[:-2].tolist() == [(start - dt.date(1970, 1, 1)).days + i for i in range(len(texts))]
    assert valid.tolist()[-2:] == [False, False] and invalid.tolist()[-2:] == [False, True]
    values, valid, invalid = _convert([None] * (column_values.DISTINCT_FIRST + 1), Type.DATE)
    assert not valid.any() and not invalid.any()


def _money_rejects(amounts: pa.Array, **kwargs) -> tuple[list, list]:
    """The amounts credited (as the ledger holds them) and the rejects' messages, for one row per amount."""
    n = len(amounts)
    table = pa.table(
        {
            "id": [f"k{i}" for i in range(n)],
            "rep": ["ann"] * n,
            "day": ["2027-02-01"] * n,
            "product": ["GTX Pro"] * n,
            "amount": amounts,
        }
    )
    result = plan(**kwargs).run(table)
    return (
        [(line["txn"], str(line["credit"])) for line in result.ledger.to_pylist()],
        [(r["key"], r["reason"], r["message"]) for r in result.rejects.to_pylist()],
    )


TOO_LARGE = "is too large: amounts must be less than 4,611,686,018,427.387904 in magnitude"


@pytest.mark.parametrize(
    "amounts",
    [
        pa.array(["4611686018427.387903", "4611686018427.387904", "-4611686018427.387904", "9000000000000"]),
        pa.array(
            [
                Decimal("4611686018427.387903"),
                Decimal("4611686018427.387904"),
                Decimal("-4611686018427.387904"),
                Decimal("9000000000000"),
            ],
            pa.decimal128(19, 6),
        ),
        # more than six decimals: read through floats, whose steps there are ~0.001; decided exactly
        pa.array(["4611686018427.3879034", "4611686018427.3879035", "-4611686018427.38790351", "9e12"]),
    ],
)
def test_an_amount_too_large_to_hold_says_so_and_gives_the_limit(amounts):
    from spmlang.engine.kernels.money import LIMIT

    assert LIMIT == 2**62
    credited, rejects = _money_rejects(amounts)
    assert [key for key, _ in credited] == ["k0"]  # the largest amount below 2**62 millionths is held
    assert [(key, reason) for key, reason, _ in rejects] == [
        ("k1", "invalid_value"),
        ("k2", "invalid_value"),
        ("k3", "invalid_value"),
    ]
    assert all(message.endswith(f"' {TOO_LARGE}") for _, _, message in rejects), rejects


def test_a_whole_amount_too_large_to_hold_says_so():
    from spmlang.diagnostics import Span
    from spmlang.engine.read.columns import convert_column
    from spmlang.ir.plan import ColumnSpec, Type

    spec = ColumnSpec("amount", Type.MONEY, None, Span("p.spm", 1, 1, 1, 1))
    column = convert_column(pa.array([4_611_686_018_427, 4_611_686_018_428, -(2**63)], pa.int64()), spec, "f")
    assert column.invalid.tolist() == [False, True, True]  # the least int64 too, whose np.abs is itself
    assert column.notes.to_pylist() == [None, f"'4611686018428' {TOO_LARGE}", f"'{-(2**63)}' {TOO_LARGE}"]


def test_float32_amounts_are_read_as_written_or_rejected_where_float32_has_no_cents():
    credited, rejects = _money_rejects(pa.array([131071.99, 12345.67, 0.07, 1234567.89], pa.float32()))
    assert credited == [("k0", "131071.99"), ("k1", "12345.67"), ("k2", "0.07")]
    assert rejects == [
        (
            "k3",
            "invalid_value",
            "'1234567.9' cannot be held to the cent: the column is stored as "
            "float32, whose steps are wider than a cent from 131,072 up; store money as decimal (or "
            "float64)",
        )
    ]
    credited, rejects = _money_rejects(pa.array(np.array([15.99, 16.5], np.float16)))
    assert (
        credited == [("k0", "15.99")]
        and "stored as float16, whose steps are wider than a cent from 16 up" in rejects[0][2]
    )


@pytest.mark.parametrize("kind", ["number", "percent", "money"])
def test_float32_numbers_are_the_numbers_written(kind):
    from spmlang.diagnostics import Span
    from spmlang.engine.read.columns import convert_column
    from spmlang.ir.plan import ColumnSpec, Type

    spec = ColumnSpec("c", Type(kind), None, Span("p.spm", 1, 1, 1, 1))
    values = [0.085, 0.1, 1234.56, None]
    for narrow in (pa.array(values, pa.float32()), pa.array(np.array(values, np.float16)).cast(pa.float16())):
        column = convert_column(narrow, spec, "f")
        expected = [0.085, 0.1, 1234.56] if narrow.type == pa.float32() else [0.085, 0.1]  # float16: up to 16
        got = np.asarray(column.values)[: len(expected)]
        if kind == "money":
            assert got.tolist() == [round(v * 1_000_000) for v in expected]
        else:
            assert got.tolist() == expected  # 0.085, not float32's 0.08500000089406967
        assert not column.valid[3] and not column.invalid[3]


@pytest.mark.parametrize(
    "days, read_as, fix",
    [
        (["01-03-27", "15-03-27"], "'01-03-27' reads as 0001-03-27", 'declare `column day date "%d-%m-%y"`'),
        (
            ["01-03-27", "05-03-27"],
            "'01-03-27' reads as 0001-03-27",
            'declare `column day date "%d-%m-%y"` (day-month-year) or "%m-%d-%y" (month-day-year)',
        ),
        (["27-03-15", "27-12-01"], "'27-03-15' reads as 0027-03-15", 'declare `column day date "%y-%m-%d"`'),
        (
            ["0027-01-05"],
            "'0027-01-05' reads as 0027-01-05",
            'declare the format its dates are written in, such as `column day date "%d-%m-%Y"`',
        ),
    ],
)
def test_a_date_that_reads_centuries_from_the_plan_year_names_the_format_to_declare(tmp_path, days, read_as, fix):
    deals = tmp_path / "deals.csv"
    deals.write_text(
        "id,rep,day,product,amount\n" + "".join(f"A{i},ann,{day},GTX Pro,10\n" for i, day in enumerate(days))
    )
    result = plan().run(deals)
    rejects = result.rejects.to_pylist()
    assert [(r["reason"], r["column"]) for r in rejects] == [("invalid_value", "day")] * len(days)
    assert rejects[0]["message"] == (
        f'{read_as} in the format "%Y-%m-%d" (the default), a century or more from '
        f"the plan year: the column's format looks wrong; {fix}"
    )
    (warning,) = result.summary().warnings
    assert warning.endswith(f"The first: {rejects[0]['message']}")  # the hint, where a run that pays nothing shows it
    if "such as" not in fix:  # the format suggested reads them all
        assert plan(fix.split('"')[1]).run(deals).accounting["credited"] == len(days)


def test_dates_read_in_a_wrong_format_are_rejected_before_filters_and_within_a_century_are_dates():
    rows = [
        ("A1", "01-03-27"),
        ("A2", "1927-12-31"),
        ("A3", "1928-01-01"),
        ("A4", "2126-12-31"),
        ("A5", "2127-01-01"),
        ("A6", "2027-05-05"),
        ("A7", "0999-05-05"),
    ]
    table = pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": ["ann"] * len(rows),
            "day": [r[1] for r in rows],
            "product": ["GTX Pro"] * len(rows),
            "amount": ["10"] * len(rows),
        }
    )
    text = PLAN.replace("DATE_FORMAT", "").replace("MONEY_FORMAT", "")
    text = text.replace("  key id", "  where big: amount > 50\n  key id")
    result = spmlang.loads(text, "inputs.spm").run(table)  # every row fails the filter: those that cannot be read
    fates = {r["key"]: r["reason"] for r in result.rejects.to_pylist()}  # are rejected first
    assert fates == {"A1": "invalid_value", "A2": "invalid_value", "A5": "invalid_value", "A7": "invalid_value"}
    assert result.accounting["excluded"] == {"big": 3}
    long = pa.table(
        {name: pa.array(list(values) * 700) for name, values in zip(table.column_names, table.columns, strict=True)}
    )
    long = long.set_column(0, "id", pa.array([f"k{i}" for i in range(long.num_rows)]))  # read by distinct text
    assert plan().run(long).accounting["rejected"] == {"invalid_value": 4 * 700, "outside_year": 2 * 700}


def test_a_text_column_nothing_reads_is_found_in_the_file_and_not_read(tmp_path, monkeypatch):
    """Any text is text: a declared text column that no expression, key, date or payee names can reject no row,
    so it is not read (a memory and time cost of every row, for nothing); it must still be in the file."""
    from spmlang.engine.read import transactions

    with_notes = PLAN.replace("  column amount  money", "  column notes   text\n  column amount  money")
    with_notes = with_notes.replace("DATE_FORMAT", "").replace("MONEY_FORMAT", "")
    deals = pa.table(
        {
            "id": ["A1", "A2"],
            "rep": ["alice", "bob"],
            "day": [dt.date(2027, 1, 5), dt.date(2027, 2, 5)],
            "product": ["GTX Pro", "MG Special"],
            "notes": pa.array([[1, 2], None], pa.list_(pa.int64())),  # not even text: never read
            "amount": [1000.0, 2000.0],
        }
    )
    path = tmp_path / "deals.parquet"
    pq.write_table(deals, path)
    converted = []
    convert = transactions.convert_column
    monkeypatch.setattr(
        transactions,
        "convert_column",
        lambda array, spec, *rest: converted.append(spec.name) or convert(array, spec, *rest),
    )
    result = spmlang.loads(with_notes, "notes.spm").run(path)
    assert set(converted) == {"id", "rep", "day", "product", "amount"}
    assert result.accounting["credited"] == 2 and sum(result.ledger["amount"].to_pylist()) == Decimal("110.00")

    with pytest.raises(spmlang.InputError, match="the column 'notes' is missing"):
        spmlang.loads(with_notes, "notes.spm").run(deals.drop(["notes"]))
    # A CSV file read in pieces: the column is not even parsed.
    from spmlang.engine.read import csv_files

    parsed: list[list[str]] = []
    options = csv_files._CsvFile.options
    monkeypatch.setattr(
        csv_files._CsvFile,
        "options",
        lambda self, kind, block=None, columns=None: (
            parsed.append(columns or self.columns) or options(self, kind, block, columns)
        ),
    )
    csv_path = tmp_path / "deals.csv"
    csv_path.write_text('id,rep,day,product,notes,amount\nA1,alice,2027-01-05,GTX Pro,"a, b",1000\n')
    result = spmlang.loads(with_notes, "notes.spm").run(csv_path)
    assert parsed == [["id", "rep", "day", "product", "amount"]]
    assert sum(result.ledger["amount"].to_pylist()) == Decimal("50.00")
