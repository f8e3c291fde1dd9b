"""Group and order primitives of the engine (property-based): they decide which row crosses a tier or a cap."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spmlang.engine import grouping

columns = st.integers(1, 4).flatmap(lambda count: st.lists(
    st.lists(st.integers(0, 2 ** 20), min_size=count, max_size=count), min_size=0, max_size=200))


@given(columns)
def test_order_by_is_a_stable_sort_by_its_keys_most_significant_first(table):
    keys = [np.array(column, dtype=np.int64) for column in zip(*table)] if table else [np.zeros(0, np.int64)]
    expected = np.lexsort(tuple(reversed(keys))) if table else np.zeros(0, np.int64)
    assert np.array_equal(grouping.order_by(*keys), expected)


@given(st.lists(st.integers(0, 2 ** 62 - 1), max_size=200), st.booleans())
def test_stable_order_equals_a_stable_argsort_with_or_without_room_for_positions(values, small):
    packed = np.array(values, dtype=np.int64)
    if small:
        packed >>= 40  # leaves room for the positions in the low bits: the value-sort path
    assert np.array_equal(grouping.stable_order(packed), np.argsort(packed, kind="stable"))


def test_order_by_takes_keys_of_any_integer_width():
    payee = np.array([3, 1, 3, 1], dtype=np.int32)
    period = np.array([0, 2, 0, 1], dtype=np.int16)
    kind = np.array([1, 0, 0, 0], dtype=np.int8)
    assert grouping.order_by(payee, period, kind).tolist() == [3, 1, 2, 0]
    wide = np.array([127, -128, 0], dtype=np.int8)  # a range of 255 does not fit in an int8
    assert grouping.order_by(wide).tolist() == [1, 2, 0]
