"""Group and order primitives of the engine (property-based): they decide which row crosses a tier or a cap."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from conftest import AE_ARGS, CRM_ARGS
from hypothesis import given
from hypothesis import strategies as st

from spmlang.engine.kernels import grouping

columns = st.integers(1, 4).flatmap(
    lambda count: st.lists(st.lists(st.integers(0, 2**20), min_size=count, max_size=count), min_size=0, max_size=200)
)


@given(columns)
def test_order_by_is_a_stable_sort_by_its_keys_most_significant_first(table):
    keys = (
        [np.array(column, dtype=np.int64) for column in zip(*table, strict=True)] if table else [np.zeros(0, np.int64)]
    )
    expected = np.lexsort(tuple(reversed(keys))) if table else np.zeros(0, np.int64)
    assert np.array_equal(grouping.order_by(*keys), expected)


@given(st.lists(st.integers(0, 2**62 - 1), max_size=200), st.booleans())
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


@given(st.integers(0, 50), st.floats(-10, 10), st.data())
def test_a_uniform_column_gathers_like_a_full_one_and_stays_one_value(n, value, data):
    full = np.full(n, value)
    column = grouping.uniform(value, n)
    kind = data.draw(st.sampled_from(["index", "mask", "slice"]))
    if kind == "index":
        index = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=60)) if n else [], dtype=np.int64)
    elif kind == "mask":
        index = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    else:
        index = slice(data.draw(st.integers(0, n)), data.draw(st.integers(0, n)))
    gathered = grouping.gather(column, index)
    assert np.array_equal(gathered, full[index]) and gathered.dtype == full.dtype
    assert gathered.size <= 1 or gathered.strides == (0,)  # still stored once
    assert np.array_equal(grouping.gather(full, index), full[index])


@given(st.lists(st.integers(0, 2**31 - 1), max_size=200))
def test_stable_order_of_narrow_keys_does_not_overflow(values):
    keys = np.array(values, dtype=np.int32)  # as key ranks are, in runs of fewer than 2**31 rows
    assert np.array_equal(grouping.stable_order(keys), np.argsort(keys, kind="stable"))


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300), st.integers(1, 5), st.integers(2, 64))
def test_a_sort_on_several_cores_is_numpy_s_sort(values, cores, threshold):
    # Small arrays stand for large ones: parts sorted on threads, then merged (kernels/grouping.py).
    array = np.array(values, dtype=np.int64)
    expected = np.sort(array)
    with (
        mock.patch.object(grouping, "THREADED_SORT", threshold),
        mock.patch.object(grouping, "cores", lambda: cores),
        mock.patch.object(grouping, "_sorted_on_threads", wraps=grouping._sorted_on_threads) as threaded,
    ):
        grouping.sort_in_place(array)
    assert np.array_equal(array, expected)
    assert threaded.called == (cores > 1 and array.size >= threshold)


def test_values_fall_rarely_in_long_sorted_runs_and_often_at_random():
    rng = np.random.default_rng(7)
    three_runs = np.concatenate([np.sort(rng.integers(0, 1000, 200)) for _ in range(3)])  # 2 falls in 600
    assert grouping.in_sorted_runs(three_runs)
    assert not grouping.in_sorted_runs(rng.integers(0, 1000, 600))
    assert not grouping.in_sorted_runs(np.arange(2 * grouping.RUN_LENGTH - 1))  # too few to say
    assert grouping.in_sorted_runs(np.zeros(2 * grouping.RUN_LENGTH, np.int64))  # equal values never fall
    # A fall once in RUN_LENGTH values is the most there may be: 4 in 4 x RUN_LENGTH values, not 5.
    values = np.ones(4 * grouping.RUN_LENGTH, np.int64)
    values[[grouping.RUN_LENGTH, 2 * grouping.RUN_LENGTH, 3 * grouping.RUN_LENGTH]] = 0  # a fall before each
    values[1] = 2  # and after it
    assert np.count_nonzero(np.diff(values) < 0) == 4 and grouping.in_sorted_runs(values)
    values[5] = 2
    assert not grouping.in_sorted_runs(values)


@given(st.lists(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200), min_size=1, max_size=6), st.integers(1, 3))
def test_values_in_a_few_sorted_runs_are_merged_on_every_core(runs, cores):
    # Lines of one component after another's, each in crediting order: merged by the stable sort, in parts on
    # threads where there are many.
    array = np.concatenate([np.sort(np.array(run, dtype=np.int64)) for run in runs])
    expected = np.sort(array)
    in_runs = array.size >= 8 and np.count_nonzero(array[1:] < array[:-1]) * 4 <= array.size
    with (
        mock.patch.object(grouping, "RUN_LENGTH", 4),  # runs as long as the small arrays allow
        mock.patch.object(grouping, "THREADED_SORT", 16),
        mock.patch.object(grouping, "cores", lambda: cores),
        mock.patch.object(grouping, "_sorted_on_threads", wraps=grouping._sorted_on_threads) as threaded,
    ):
        grouping.sort_in_place(array)
    assert np.array_equal(array, expected)
    if threaded.called:
        assert threaded.call_args.args[2] == ("stable" if in_runs else "quicksort")


@pytest.mark.parametrize("args", [AE_ARGS, CRM_ARGS], ids=["ae", "crm"])
def test_a_run_whose_sorts_are_made_on_threads_pays_the_same_ledger(args, tmp_path):
    # The crediting sort, and every other large one, as a run of millions of rows makes them.
    from test_batches import run_example

    run_example(args, workers=1).write(tmp_path / "one.parquet")
    with (
        mock.patch.object(grouping, "THREADED_SORT", 16),
        mock.patch.object(grouping, "cores", lambda: 3),
        mock.patch.object(grouping, "_sorted_on_threads", wraps=grouping._sorted_on_threads) as threaded,
    ):
        run_example(args, workers=1).write(tmp_path / "threads.parquet")
    assert threaded.call_count > 1
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "threads.parquet").read_bytes()
