"""Earlier ledgers read a column at a time (engine/read/earlier_columns.py): labels as distinct values and
each line's position, money as units, keys found among the run's rows; the same lines, whatever the file's
encoding, as the values one by one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmlang.diagnostics import InputError
from spmlang.engine.kernels.money import UNIT
from spmlang.engine.read.earlier_columns import Labels, LedgerFile, money_units
from spmlang.engine.read.keys import key_rows

texts = st.lists(st.one_of(st.none(), st.sampled_from(["ann", "bob", "cy", "", " x"])), max_size=40)


def _as_read(labels: Labels) -> list[str | None]:
    return [labels[i] for i in range(len(labels))]


@settings(max_examples=200, deadline=None)
@given(texts, texts)
def test_labels_are_the_lines_values_in_the_order_first_met(first, second):
    """As plain text, dictionary-encoded, or a dictionary with values no line has (as a parquet dictionary may
    hold), in one chunk or two: the same values a line, each distinct one once, in the order lines meet them."""
    expected = first + second
    met = list(dict.fromkeys(v for v in expected if v is not None))
    unused = pa.array(["zz", "ann", "bob", "cy", "", " x", "yy"])  # in another order, with values unused
    other = pa.array([" x", "", "cy", "bob", "ann"])  # a second row group's own dictionary

    def dictionary(values, words=unused):
        codes = [None if v is None else words.to_pylist().index(v) for v in values]
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), words)

    for column in (
        pa.chunked_array([pa.array(first, pa.string()), pa.array(second, pa.string())]),
        pa.chunked_array([dictionary(first), dictionary(second)]),
        pa.chunked_array([dictionary(first), dictionary(second, other)]),
        pa.array(expected, pa.string()).dictionary_encode(),
    ):
        labels = Labels.of(column, len(expected))
        assert _as_read(labels) == expected
        assert labels.values == met
        assert labels.index.dtype == np.int32


def test_labels_of_several_files_and_of_a_column_a_file_has_not():
    one = Labels.of(pa.array(["b", "a", None]), 3)
    none = Labels.of(None, 2)
    two = Labels.of(pa.array(["a", "c"]).dictionary_encode(), 2)
    both = Labels.concat([one, none, two])
    assert [both[i] for i in range(7)] == ["b", "a", None, None, None, "a", "c"]
    assert both.values == ["b", "a", "c"]
    assert both.codes({"a": 10, "b": 20, "c": 30}.__getitem__, -1).tolist() == [20, 10, -1, -1, -1, 10, 30]
    assert both.where(lambda v: v != "a").tolist() == [True, False, False, False, False, False, True]


def test_a_null_among_a_dictionarys_values_is_a_line_without_one():
    column = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1], pa.int32()), pa.array(["a", None, "b"]))
    labels = Labels.of(column, 4)
    assert [labels[i] for i in range(4)] == ["a", None, "b", None]
    assert labels.values == ["a", "b"]


amounts = st.lists(st.one_of(st.none(), st.integers(-(4 * 10**14), 4 * 10**14)), max_size=30)  # below the limit


@settings(max_examples=200, deadline=None)
@given(amounts)
def test_money_as_decimals_or_text_reads_as_the_cents_written(cents):
    """Decimals as a parquet ledger holds them, text as a CSV or JSON one: exact units, ``missing`` where
    empty."""
    expected = [-1 if c is None else c * (UNIT // 100) for c in cents]
    text = pa.array([None if c is None else _text(c) for c in cents], pa.string())
    where = [LedgerFile("q1.parquet", len(cents))]
    for column in (text.cast(pa.decimal128(18, 2)), text):
        assert money_units([pa.chunked_array([column])], -1, "credit", where).tolist() == expected


def test_a_money_column_without_a_value_is_what_a_line_without_one_is():
    """A JSON ledger of a plan without draws has a balance column of nulls alone (null-typed): each line has
    none, read at once."""
    where = [LedgerFile("q1.jsonl", 3)]
    for column in (pa.nulls(3), pa.nulls(3, pa.string()), pa.nulls(3, pa.decimal128(18, 2))):
        assert money_units([pa.chunked_array([column])], -7, "balance", where).tolist() == [-7, -7, -7]
    with pytest.raises(InputError, match="a ledger line with no amount"):
        money_units([pa.chunked_array([pa.nulls(3)])], None, "amount", where)


def _text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@pytest.mark.parametrize(
    ("values", "message", "row"),
    [
        (["1.00", "2.005", "3"], "'2.005' is not an amount spm writes", 2),
        (["1.00", None], "a ledger line with no amount", 2),
        (["1.00", " "], "a ledger line with no amount", 2),
        (["1.1234567", "1"], "'1.1234567' is not an amount spm writes", 1),
        (["4611686018427.39"], "'4611686018427.39' is not an amount spm writes", 1),
        (["1" * 40], f"'{'1' * 40}' is not an amount spm writes", 1),
    ],
)
def test_money_spm_does_not_write_names_its_file_and_row(values, message, row):
    where = [LedgerFile("q1.csv", 2), LedgerFile("q2.csv", len(values))]
    columns = [pa.chunked_array([pa.array(["5.00", "6.00"])]), pa.chunked_array([pa.array(values, pa.string())])]
    with pytest.raises(InputError, match=message) as raised:
        money_units(columns, None, "amount", where)
    assert (raised.value.file, raised.value.row, raised.value.column) == ("q2.csv", row, "amount")


def test_a_ledgers_keys_are_found_among_the_runs_rows():
    ints = np.array([5, 7, 12, 0, 99], np.int64)
    valid = np.array([True, True, True, False, False])  # rows 3 and 4 have no key (read as 0 and 99)
    numbers = pa.array(["12", "007", "7", None, "99", "5", "0", "-0"])  # every one read as an integer
    assert key_rows(ints, valid, numbers).tolist() == [2, -1, 1, -1, -1, 0, -1, -1]
    others = pa.array(["12", "+12", "x", " 5", "5"])  # some not integers: compared as text
    assert key_rows(ints, valid, others).tolist() == [2, -1, -1, -1, 0]
    text = pa.array(["5", "007", "12", None])
    assert key_rows(text, np.array([True, True, True, False]), numbers).tolist() == [2, 1, -1, -1, -1, 0, -1, -1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-5, 40), st.booleans()), max_size=30),
    st.lists(
        st.one_of(st.none(), st.integers(-6, 45).map(str), st.sampled_from(["007", "-0", "+3", "1e1"])), max_size=20
    ),
    st.sampled_from([0, 10**12]),
)
def test_integer_keys_are_found_at_the_first_row_that_has_them(rows, wanted, shift):
    """By slot (keys spanning few numbers) or in the sorted keys (shifted apart: many numbers), with keys twice
    and rows without one: the first row, in file order, that has the key, as a text search finds it."""
    values = np.array([v + (shift if i % 2 else 0) for i, (v, _) in enumerate(rows)], np.int64)
    valid = np.array([ok for _, ok in rows], bool)
    texts = [None if t is None else t for t in wanted]
    expected = []
    for t in texts:
        hits = [i for i in range(values.size) if valid[i] and t is not None and str(values[i]) == t]
        expected.append(hits[0] if hits else -1)
    assert key_rows(values, valid, pa.array(texts, pa.string())).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.booleans()), max_size=25),
    st.lists(st.tuples(st.integers(-3, 7), st.integers(0, 4), st.booleans()), max_size=15),
)
def test_an_adjustment_without_a_line_now_is_put_on_its_transactions_row(credit_rows, adjustments):
    """The payee's credit row of the transaction, not a reversal's; of a transaction credited twice to one
    payee, the last; -1 where there is none or the adjustment names no transaction (txn < 0)."""
    from spmlang.engine.credit.rows import CreditRows
    from spmlang.engine.settle.earlier import _rows_of_transactions

    n = len(credit_rows)
    rows = CreditRows(
        txn=np.array([t for t, _, _ in credit_rows], np.int32),
        payee=np.array([p for _, p, _ in credit_rows], np.int32),
        role=np.zeros(n, np.int8),
        rollup_from=np.full(n, -1, np.int32),
        share=np.ones(n),
        credit=np.zeros(n, np.int64),
        date=np.zeros(n, np.int32),
        period=np.zeros(n, np.int16),
        split=np.zeros(n, np.int8),
        reversal=np.array([r for _, _, r in credit_rows], bool),
    )
    row = np.array([5 if has else -1 for _, _, has in adjustments], np.int64)  # 5: a line now, kept
    txn = np.array([t for t, _, _ in adjustments], np.int64)
    payee = np.array([p for _, p, _ in adjustments], np.int32)
    expected = []
    for t, p, has in adjustments:
        found = [i for i, (rt, rp, rev) in enumerate(credit_rows) if (rt, rp) == (t, p) and not rev]
        expected.append(5 if has else (found[-1] if found and t >= 0 else -1))
    assert _rows_of_transactions(row, txn, payee, rows).tolist() == expected
