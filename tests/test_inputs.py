"""Reading real-world files: formats, separators, encodings, and a reason for every bad row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
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


EUROPEAN = ("\ufeffid;rep;day;product;amount\n"
            "A1;alice;01-03-27;GTX Pro;1.234,50\n"
            "A2;alice;31-02-27;GTX Pro;100,00\n"
            "A3;;05-03-27;GTX Pro;100,00\n"
            "A4;bob;05-03-27;GTXPro;2.000,00\n"
            "A1;bob;06-03-27;MG Special;50,00\n"
            "A6;bob;07-03-27;MG Special;abc\n"
            "A7;bob;07-03-26;MG Special;10,00\n"
            "A8;bob;08-03-27;MG Special;\n")


def test_bom_semicolons_thousands_and_every_bad_row_with_its_reason(tmp_path):
    deals = tmp_path / "deals.csv"
    deals.write_text(EUROPEAN, encoding="utf-8")
    result = plan("%d-%m-%y", "1.234,56").run(deals)
    reasons = {row["key"] + "@" + str(row["row"]): (row["reason"], row["column"]) for row in result.rejects.to_pylist()}
    assert reasons == {
        "A2@3": ("invalid_value", "day"),  # 31 February does not exist (Arrow would have made it 3 March)
        "A3@4": ("missing_value", "rep"),
        "A4@5": ("missing_lookup", "product"),
        "A1@6": ("duplicate_key", "id"),
        "A6@7": ("invalid_value", "amount"),
        "A7@8": ("outside_year", "day"),
        "A8@9": ("missing_value", "amount"),
    }
    messages = {row["key"]: row["message"] for row in result.rejects.to_pylist()}
    assert messages["A4"] == "'GTXPro' is not in table rates (did you mean 'GTX Pro'?)"
    assert messages["A2"] == "cannot read '31-02-27' as a date in the format \"%d-%m-%y\""
    counts = result.accounting
    assert counts["read"] == 8 and counts["credited"] == 1
    assert counts["credited"] + sum(counts["excluded"].values()) + sum(counts["rejected"].values()) == 8
    (line,) = result.ledger.to_pylist()
    assert line["credit"] == Decimal("1234.50") and line["amount"] == Decimal("61.73")


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
    table = pa.table({
        "id": ["x1", "x2", "x3", "x4"],
        "rep": ["a", "a", "a", "a"],
        "day": pa.array([dt.date(2027, 2, 1)] * 4, pa.date32()),
        "product": ["GTX Pro"] * 4,
        "amount": pa.array([1000.10, float("nan"), float("inf"), None], pa.float64()),
    })
    path = tmp_path / "deals.parquet"
    pq.write_table(table, path)
    result = plan().run(path)
    assert [(r["key"], r["reason"]) for r in result.rejects.to_pylist()] == [
        ("x2", "invalid_value"), ("x3", "invalid_value"), ("x4", "missing_value")]
    assert result.ledger.column("amount").to_pylist() == [Decimal("50.01")]


def test_decimal_parquet_money_is_read_exactly(tmp_path):
    table = pa.table({
        "id": ["x1"], "rep": ["a"], "day": pa.array([dt.date(2027, 2, 1)], pa.date32()), "product": ["GTX Pro"],
        "amount": pa.array([Decimal("123456789.995")], pa.decimal128(20, 3)),
    })
    result = plan().run(table)
    (line,) = result.ledger.to_pylist()
    assert line["credit"] == Decimal("123456790.00")  # 123,456,789.995 shown to the cent
    assert line["amount"] == Decimal("6172839.50")  # 5% of the exact 123,456,789.995 = 6,172,839.49975


def test_pandas_and_polars_dataframes(tmp_path):
    pandas = pytest.importorskip("pandas")
    polars = pytest.importorskip("polars")
    rows = {"id": ["a", "b"], "rep": ["r", "r"], "day": ["2027-01-05", "2027-01-06"], "product": ["GTX Pro"] * 2,
            "amount": [100.0, 200.0]}
    for frame in (pandas.DataFrame(rows), polars.DataFrame(rows)):
        result = plan().run(frame)
        assert [str(v) for v in result.ledger.column("amount").to_pylist()] == ["5.00", "10.00"]


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("id,rep,day,product\n", "the column 'amount' is missing"),
])
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
    rows = {"id": ["a", "b", "c", "d"], "rep": ["ann", "bo", None, "ann"],
            "day": pa.array([dt.date(2027, 2, 1)] * 4, pa.date32()),
            "product": ["GTX Pro", "MG Special", "GTX Pro", "GTXPro"],
            "amount": pa.array([Decimal("100.00")] * 4, pa.decimal128(18, 2))}
    plain = pa.table(rows)
    encoded = pa.table({**rows, "rep": pa.array(rows["rep"]).dictionary_encode(),
                        "product": pa.array(rows["product"]).dictionary_encode()})
    path = tmp_path / "encoded.parquet"
    pq.write_table(encoded, path)
    assert pq.read_table(path).schema.field("rep").type == pa.dictionary(pa.int32(), pa.string())
    expected = plan().run(plain)
    for source in (encoded, path):
        result = plan().run(source)
        assert result.ledger.drop(["run_id"]).equals(expected.ledger.drop(["run_id"]))
        assert result.rejects.equals(expected.rejects)


@given(st.integers(0, 8), st.lists(st.one_of(st.none(), st.integers(-10 ** 16, 10 ** 16)), min_size=1, max_size=30),
       st.integers(0, 3))
def test_decimal_money_converts_to_exact_units_at_any_scale(scale, digits, offset):
    from decimal import ROUND_HALF_UP

    from spmlang.engine.columns import _decimal_to_units

    values = [None if v is None else Decimal(v).scaleb(-scale) for v in digits]
    array = pa.array([None] * offset + values, pa.decimal128(38, scale)).slice(offset)
    units = _decimal_to_units(array)
    exact = [None if v is None else int((v * 1_000_000).to_integral_value(ROUND_HALF_UP)) for v in values]
    if any(u is not None and abs(u) > 2 ** 62 for u in exact):
        assert units is None
    else:
        assert [u for u, v in zip(units.tolist(), values) if v is not None] == [u for u in exact if u is not None]


def _deals_table(rows: list[tuple]) -> pa.Table:
    ids, reps, days, products, amounts = zip(*rows) if rows else ([], [], [], [], [])
    return pa.table({"id": pa.array(ids, pa.string()), "rep": pa.array(reps, pa.string()).dictionary_encode(),
                     "day": pa.array(days, pa.date32()), "product": pa.array(products, pa.string()),
                     "amount": pa.array(amounts, pa.string())})


_ROW = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),  # keys repeat: duplicates across pieces
    st.one_of(st.none(), st.sampled_from(["ann", "bo", "cy"])),
    st.sampled_from([dt.date(2027, 2, 1), dt.date(2027, 8, 9), dt.date(2026, 5, 5)]),
    st.sampled_from(["GTX Pro", "MG Special", "GTXPro"]),
    st.one_of(st.none(), st.sampled_from(["100.00", "2500.5", "abc", "-40"])),
)


@given(st.lists(_ROW, max_size=24), st.integers(1, 7), st.integers(1, 9))
def test_a_parquet_file_read_in_pieces_gives_what_the_whole_table_gives(tmp_path_factory, rows, piece_rows,
                                                                         row_group_rows):
    """Large parquet files are read and converted a piece at a time (memory); the ledger, the rejects and
    their messages (which quote values that could not be read) are those of the table read whole."""
    from spmlang.engine import inputs

    table = _deals_table(rows)
    path = tmp_path_factory.mktemp("pieces") / "deals.parquet"
    pq.write_table(table, path, row_group_size=row_group_rows)  # each row group has its own dictionary
    expected = plan().run(table)
    original = inputs.PIECE_ROWS
    inputs.PIECE_ROWS = piece_rows
    try:
        result = plan().run(path)
    finally:
        inputs.PIECE_ROWS = original
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
    from spmlang.engine.columns import _WHITE

    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    by_arrow = pc.utf8_trim_whitespace(pa.array(["a" + c for c in every] + [c + "a" for c in every])).to_pylist()
    assert {c for c, after, before in zip(every, by_arrow[:len(every)], by_arrow[len(every):])
            if after == "a" or before == "a"} == set(_WHITE)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.text(st.sampled_from(["a", "é", "€", " ", "\t", "\n", "\u00a0", "\u2009", "\u3000",
                                                    "\u00c2", "\u1680", "\u2028"]), max_size=5), max_size=12),
       st.integers(0, 3), st.booleans(), st.booleans())
def test_text_is_trimmed_as_arrow_trims_it_whatever_its_layout(values, start, large, encoded):
    from spmlang.engine.columns import trimmed

    array = pa.array(values, pa.large_string() if large else pa.string())[start:]
    for part in [array, *(array.slice(i, 1) for i in range(len(array)))]:  # alone, a value decides the look
        result = trimmed(part.dictionary_encode() if encoded else part)
        if encoded:
            result = result.dictionary_decode()
        assert result.to_pylist() == pc.utf8_trim_whitespace(part).to_pylist()


def _convert(values, kind, fmt=None):
    from spmlang.check.model import ColumnSpec
    from spmlang.diagnostics import Span
    from spmlang.engine.columns import convert_column

    column = convert_column(pa.array(values, pa.string()), ColumnSpec("c", kind, fmt, Span("p.spm", 1, 1, 1, 1)), "f")
    return np.asarray(column.values), np.asarray(column.valid, bool), np.asarray(column.invalid, bool)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["2027-01-05", "2027-02-28", "2027-02-30", "2027-13-01", "2027-1-5",
                                             " 2027-03-04 ", "5 March", "2027-12-31", "2028-02-29"]),
                min_size=1, max_size=40), st.sampled_from([None, "%Y-%m-%d"]))
def test_a_long_column_of_dates_reads_as_its_values_one_at_a_time(pattern, fmt):
    from spmlang.check.model import Type
    from spmlang.engine import columns

    values = (pattern * (columns._DISTINCT_FIRST // len(pattern) + 2))[:columns._DISTINCT_FIRST + 7]
    whole = _convert(values, Type.DATE, fmt)  # read a distinct text at a time
    alone = [_convert([v], Type.DATE, fmt) for v in pattern]  # each read by itself
    for got, single in zip(whole, zip(*alone)):
        np.testing.assert_array_equal(got[:len(pattern)], np.concatenate(single))


def test_integers_written_as_digits_are_read_exactly_however_large():
    from spmlang.check.model import Type

    big = 2 ** 53 + 1  # the first integer a float64 does not hold
    values, valid, invalid = _convert([str(big), "-12", None, " 7 "], Type.INTEGER)
    assert values.tolist()[:2] == [big, -12] and values[3] == 7 and valid.tolist() == [True, True, False, True]
    values, valid, invalid = _convert([str(big), "+5", "1.0", "1e3", "2.5", "99999999999999999999", "x"],
                                      Type.INTEGER)  # some not plain digits: the slower way, as exact
    assert values.tolist()[:4] == [big, 5, 1, 1000]
    assert invalid.tolist() == [False, False, False, False, True, True, True]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.decimals(min_value=-10 ** 12, max_value=10 ** 12, places=2, allow_nan=False), min_size=1,
                max_size=20), st.booleans())
def test_money_written_plainly_is_read_to_the_unit(amounts, with_a_dollar_sign):
    from spmlang.check.model import Type

    texts = [f"{'$' if with_a_dollar_sign and i == 0 else ''}{a}" for i, a in enumerate(amounts)]
    values, valid, invalid = _convert(texts, Type.MONEY)  # '$' sends the column the slower way
    assert values.tolist() == [int(a * 1_000_000) for a in amounts] and not invalid.any()


def test_a_long_column_of_many_distinct_dates_reads_each():
    import datetime as dt

    from spmlang.check.model import Type
    from spmlang.engine import columns

    start = dt.date(2020, 1, 1)
    texts = [(start + dt.timedelta(days=i)).isoformat() for i in range(columns._DISTINCT_FIRST * 2)]
    values, valid, invalid = _convert(texts + [None, "2027-02-30"], Type.DATE)
    assert values[:-2].tolist() == [(start - dt.date(1970, 1, 1)).days + i for i in range(len(texts))]
    assert valid.tolist()[-2:] == [False, False] and invalid.tolist()[-2:] == [False, True]
    values, valid, invalid = _convert([None] * (columns._DISTINCT_FIRST + 1), Type.DATE)
    assert not valid.any() and not invalid.any()
