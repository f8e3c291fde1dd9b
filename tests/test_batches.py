"""Payees are paid in batches: how a run is cut into batches changes nothing in its ledger or totals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import AE_ARGS, CRM_ARGS, ROOT, SDR_ARGS
from hypothesis import given, settings
from hypothesis import strategies as st

import spmlang
from spmlang.engine import run as calculator


def run_example(args: list[str], **options):
    """Run an example plan over its data, as its ``spm run`` arguments say (``options`` go to Plan.run)."""
    plan = spmlang.load(ROOT / args[0])
    given = dict(zip(args[1::2], args[2::2], strict=True))
    tables = dict(
        item.split("=") for item in [v for k, v in zip(args[1::2], args[2::2], strict=True) if k == "--table"]
    )
    return plan.run(
        ROOT / given["--deals"],
        quotas=ROOT / given["--quotas"],
        targets=ROOT / given["--targets"] if "--targets" in given else None,
        roster=ROOT / given["--roster"] if "--roster" in given else None,
        tables={name: ROOT / path for name, path in tables.items()},
        **options,
    )


@pytest.mark.parametrize("args", [AE_ARGS, SDR_ARGS, CRM_ARGS], ids=["ae", "sdr", "crm"])
def test_small_batches_give_the_same_ledger_and_totals(args, monkeypatch, tmp_path):
    whole = run_example(args)
    assert len(whole.payout.run.batches) == 1
    monkeypatch.setattr(calculator, "BATCH_ROWS", 25)
    batched = run_example(args)
    batches = batched.payout.run.batches
    assert len(batches) > 3
    # Every payee lies in exactly one batch, and the batches cover the credit rows in order.
    assert batches[0].start == 0 and batches[-1].stop == len(batched.payout.run.credit_rows)
    assert [b.start for b in batches[1:]] == [b.stop for b in batches[:-1]]
    output = batched.payout
    payees = [set(output.run.credit_rows.payee[b].tolist()) for b in batches]
    assert all(not (a & b) for i, a in enumerate(payees) for b in payees[i + 1 :])

    # Written as it is paid (nothing kept), then read back: the same lines as the whole run's ledger.
    batched.write(tmp_path / "ledger.parquet")
    assert output.kept is None
    assert spmlang.read_ledger(tmp_path / "ledger.parquet").equals(whole.ledger)
    assert str(batched.summary()) == str(whole.summary())
    assert batched.totals().equals(whole.totals())
    assert batched.ledger.equals(whole.ledger)


def test_labels_keep_only_the_names_used():
    from spmlang.engine.kernels import column_text as text

    names = [f"rep{i:03d}" for i in range(max(100, text.FEW_LABELS + 1))]  # many labels, as payees are
    column = text.labelled(np.array([30, 30, -1, 10, 30]), names)
    assert column.dictionary.to_pylist() == ["rep010", "rep030"]  # in the order of the labels given
    assert column.to_pylist() == ["rep030", "rep030", None, "rep010", "rep030"]
    few = text.labelled(np.array([3, 3, -1, 1]), ["a", "b", "c", "d", "e"])  # a few (kinds): kept whole
    assert few.dictionary.to_pylist() == ["a", "b", "c", "d", "e"] and few.to_pylist() == ["d", "d", None, "b"]
    with_null = text.labelled(np.array([1, 2, 1, -1]), pa.array(["x", "y", None]))  # a line with no tier
    assert with_null.dictionary.to_pylist() == ["x", "y"]  # parquet writes no null label: it is left out
    assert with_null.to_pylist() == ["y", None, "y", None]
    nowhere = text.labelled(np.full(3, -1), names)  # no rollups: nulls, and an empty dictionary
    assert nowhere.to_pylist() == [None] * 3 and len(nowhere.dictionary) == 0
    assert text.labelled(np.zeros(0, np.int64), ["x"]).to_pylist() == []


def test_a_row_group_of_the_ledger_names_only_its_own_payees_and_encodes_each_column_for_its_values(
    monkeypatch, tmp_path
):
    from spmlang.report.ledger import LEDGER_SCHEMA

    monkeypatch.setattr(calculator, "BATCH_ROWS", 25)
    result = run_example(CRM_ARGS, workers=1)
    path = result.write(tmp_path / "ledger.parquet")
    assert pq.read_schema(path).equals(LEDGER_SCHEMA)  # plain strings and decimals, as built for users
    groups = pq.ParquetFile(path, read_dictionary=["payee"])
    assert groups.num_row_groups > 3
    for i in range(groups.num_row_groups):
        payee = groups.read_row_group(i, columns=["payee"])["payee"].combine_chunks()
        assert sorted(payee.dictionary.to_pylist()) == sorted(set(payee.to_pylist()))
    columns = groups.metadata.row_group(0)
    encodings = {columns.column(i).path_in_schema: columns.column(i).encodings for i in range(columns.num_columns)}
    assert "DELTA_BINARY_PACKED" in encodings["amount"] and "DELTA_BINARY_PACKED" in encodings["date"]
    assert "DELTA_BINARY_PACKED" not in encodings["rate"]  # a few values: zstd finds them as they are
    codecs = {columns.column(i).path_in_schema: columns.column(i).compression for i in range(columns.num_columns)}
    assert codecs["amount"] == codecs["measure_after"] == "UNCOMPRESSED"  # running amounts: zstd finds nothing
    assert codecs["rate"] == codecs["date"] == codecs["explanation"] == "ZSTD"
    stored = {column.name: column.physical_type for column in groups.schema}  # built as decimal64: int64 cents
    assert stored["amount"] == stored["credit"] == stored["rate"] == "INT64"


def test_a_parquet_ledger_stores_the_columns_every_line_has_as_required(tmp_path):
    """Lines without a transaction (true-ups, caps) leave credit, txn and date empty; every line has a payee,
    an amount, an explanation and a clause, and the file says so (no definition levels for them)."""
    from spmlang.report.ledger import ALWAYS

    result = run_example(CRM_ARGS, workers=1)
    path = result.write(tmp_path / "ledger.parquet")
    stored = pq.ParquetFile(path).schema
    required = {column.name for column in stored if column.max_definition_level == 0}
    assert (
        required
        == ALWAYS
        == {
            "run_id",
            "plan",
            "plan_version",
            "plan_hash",
            "payee",
            "period",
            "kind",
            "role",
            "amount",
            "amount_cut",
            "explanation",
            "clause",
        }
    )
    ledger = pq.read_table(path)
    assert all(not ledger.schema.field(name).nullable and ledger[name].null_count == 0 for name in ALWAYS)
    assert all(ledger.schema.field(name).nullable for name in ledger.schema.names if name not in ALWAYS)
    assert ledger["txn"].null_count > 0 and ledger["credit"].null_count > 0  # the lines of no transaction


def test_a_ledger_line_without_a_value_every_line_has_is_a_defect_said_as_such():
    from spmlang.report.ledger import build_ledger

    result = run_example(CRM_ARGS, workers=1)
    output = result.payout
    paid = output.whole().take(slice(0, 5))
    paid.lines.clause = np.array([0, 0, 0, 0, -1], dtype=np.int32)  # no clause: no line is made so
    with pytest.raises(AssertionError, match="without clause"):
        build_ledger(output, "run", paid)


def test_json_ledgers_are_written_a_chunk_at_a_time_laid_out_as_json_dump(tmp_path):
    import datetime as dt
    import json
    from decimal import Decimal

    from spmlang.report.files import write_chunks

    schema = pa.schema(
        [("n", pa.int64()), ("amount", pa.decimal128(18, 2)), ("day", pa.date32()), ("text", pa.string())]
    )
    made = [
        {
            "n": i,
            "amount": Decimal(f"{i // 100}.{i % 100:02d}"),
            "day": dt.date(2027, 1, 1 + i % 28),
            "text": None if i % 7 == 0 else f'line {i}\n"é"',
        }
        for i in range(15_000)
    ]
    for suffix in (".json", ".jsonl"):
        path = tmp_path / f"ledger{suffix}"
        sizes = []

        def chunks(path, sizes):
            for start in range(0, len(made), 5_000):  # each chunk asked for once the one before is written
                partial = next(tmp_path.glob(f".{path.name}.*.partial"), None)
                sizes.append(partial.stat().st_size if partial else None)  # None: not being written yet
                yield pa.Table.from_pylist(made[start : start + 5_000], schema)

        write_chunks(chunks(path, sizes), path, schema)
        assert sizes[0] == 0 and 0 < sizes[1] < sizes[2]
        records = [{**r, "amount": str(r["amount"]), "day": r["day"].isoformat()} for r in made]
        if suffix == ".json":
            assert path.read_text() == json.dumps(records, ensure_ascii=False, indent=1) + "\n"
        else:
            assert path.read_text() == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        write_chunks(iter([]), path, schema)
        assert path.read_text() == ("[]\n" if suffix == ".json" else "")


@pytest.mark.parametrize("args", [AE_ARGS, SDR_ARGS, CRM_ARGS], ids=["ae", "sdr", "crm"])
def test_totals_are_paid_without_writing_the_lines_text_and_are_the_ledger_s(args, monkeypatch):
    from spmlang.engine.kernels import column_text as text

    written = []
    join = text.join_element_wise
    monkeypatch.setattr(text, "join_element_wise", lambda *parts: written.append(1) or join(*parts))
    totalled = run_example(args, workers=1)
    written.clear()  # what reading the data wrote (why a row was rejected)
    totals = totalled.totals()
    assert totalled.payout.kept is None and not written  # paid for the totals alone: no line's text made
    summary = str(totalled.summary())
    whole = run_example(args, workers=1)
    ledger = whole.ledger  # every line kept, and explained
    assert written and ledger.column("explanation").null_count == 0
    assert totals.equals(whole.totals()) and summary == str(whole.summary())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(-1, 4), st.integers(-(10**15), 10**15)),
        max_size=80,
    ),
    st.booleans(),
)
def test_cell_sums_are_each_cell_s_exact_sum_in_cell_order(lines, in_ledger_order):
    # Lines in ledger order (each payee's periods in turn) are summed without a sort; any other order is sorted.
    from spmlang.engine.batch import cell_sums

    if in_ledger_order:
        lines = sorted(lines, key=lambda line: line[:2])
    expected: dict[tuple[int, int, int], int] = {}
    for payee, period, component, cents in lines:
        expected[(payee, period, component)] = expected.get((payee, period, component), 0) + cents
    columns = [np.array([line[i] for line in lines], dtype) for i, dtype in enumerate([np.int32, np.int8, np.int16])]
    cents = np.array([line[3] for line in lines], np.int64)
    payee, period, component, total = cell_sums(*columns, cents)
    assert list(zip(payee.tolist(), period.tolist(), component.tolist(), total.tolist(), strict=True)) == [
        (*key, value) for key, value in sorted(expected.items())
    ]
    assert component.dtype == np.int16 or not lines
