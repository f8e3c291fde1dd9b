"""The benchmark stays honest: its data is reproducible, every contender pays what spm pays, to the cent, and
the floor does the least work it claims to.

(Speed itself is measured by ``python -m benchmarks.run``, never by a test.)
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT

import spmlang
from benchmarks.contender import CONTENDERS, arrow_totals, contender
from benchmarks.generate import generate

PAYING = [name for name in CONTENDERS if name not in ("spm", "floor")]  # spm's ledger is the reference


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(20_000, 60, tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module", params=["targets", "tight targets"])
def case(request, data, tmp_path_factory):
    """The benchmark's data, and the same with targets a tenth as large: there every payee's yearly cap binds
    and credit notes come after it, so the caps are verified too."""
    if request.param == "targets":
        return {**data, "tight": False}
    targets = pq.read_table(data["targets"])
    tight = tmp_path_factory.mktemp("tight") / "targets.parquet"
    pq.write_table(
        targets.set_column(1, "amount", pa.array([round(a / 10) for a in targets["amount"].to_pylist()], pa.float64())),
        tight,
    )
    return {**data, "targets": tight, "tight": True}


@pytest.fixture(scope="module")
def spm_ledger(case):
    plan = spmlang.load(ROOT / "benchmarks" / "plans" / "bench.spm")
    result = plan.run(case["deals"], quotas=case["quotas"], targets=case["targets"], strict=True)
    return result.ledger.select(["payee", "period", "component", "kind", "amount", "balance", "explanation"])


@pytest.fixture(scope="module")
def spm_totals(spm_ledger):
    totals = arrow_totals(spm_ledger.select(["payee", "period", "component", "amount"]))
    return {key: value for key, value in totals.items() if value}


def test_the_same_arguments_give_the_same_files(data, tmp_path):
    again = generate(20_000, 60, tmp_path)
    for name, path in data.items():
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(again[name].read_bytes()).digest()


def test_the_data_has_what_the_plan_exercises(case, spm_ledger, spm_totals):
    deals = pq.read_table(case["deals"]).to_pydict()
    assert any(amount < 0 for amount in deals["amount"])  # credit notes
    assert {"new_logo", "expansion", "renewal"} == set(deals["deal_type"])
    assert {key[2] for key in spm_totals} == {"commission", "spring_new_logos", "draw"}
    # what the year paid before clawbacks: up to the caps
    yearly: dict = {}
    for line in spm_ledger.select(["payee", "component", "kind", "amount"]).to_pylist():
        if line["component"] is not None and line["kind"] != "clawback":
            key = line["payee"], line["component"]
            yearly[key] = yearly.get(key, 0) + round(line["amount"] * 100)
    assert any(cents == 500_000 for (_, component), cents in yearly.items() if component == "spring_new_logos")
    caps = dict(zip(*pq.read_table(case["targets"]).to_pydict().values(), strict=False))
    at_cap = [
        payee
        for (payee, component), cents in yearly.items()
        if component == "commission" and cents == round(caps[payee] * 250)
    ]
    assert len(at_cap) > 40 if case["tight"] else not at_cap


def test_the_data_has_cancellations_and_the_plan_claws_them_back_and_draws(case, spm_ledger):
    deals = pq.read_table(case["deals"], columns=["close_date", "cancelled"]).to_pydict()
    waited = [(c - d).days for d, c in zip(deals["close_date"], deals["cancelled"], strict=True) if c is not None]
    assert 0.01 < len(waited) / len(deals["cancelled"]) < 0.02
    assert min(waited) >= 10 and max(waited) <= 200
    assert any(w > 180 for w in waited)  # outside the plan's window
    assert any(c >= dt.date(2028, 1, 1) for c in deals["cancelled"] if c is not None)  # next year's to claw back
    lines = spm_ledger.to_pylist()
    clawbacks = [line for line in lines if line["kind"] == "clawback"]
    assert {line["component"] for line in clawbacks if line["amount"] < 0} == {"commission", "spring_new_logos"}
    assert any("outside the 180-day window" in line["explanation"] for line in clawbacks)
    # a draw topped up, and recovered later from pay above it
    drawn = {(line["payee"], line["period"]) for line in lines if line["kind"] == "draw" and line["amount"] > 0}
    recovered = [(line["payee"], line["period"]) for line in lines if line["kind"] == "draw_recovery"]
    assert recovered and all(line["amount"] < 0 for line in lines if line["kind"] == "draw_recovery")
    assert any(
        (payee, earlier) in drawn
        for payee, period in recovered
        for earlier in ("2027-Q1", "2027-Q2")
        if earlier < period
    )


@pytest.mark.parametrize("name", PAYING)
def test_each_contender_pays_what_spm_pays_to_the_cent(case, spm_totals, name):
    if name.startswith("duckdb"):
        pytest.importorskip("duckdb", reason="duckdb comes with the bench extra")
    totals = contender(name)(case["deals"], case["quotas"], case["targets"])
    assert {key: value for key, value in totals.items() if value} == spm_totals


def test_the_floor_puts_the_credited_rows_in_crediting_order_and_no_more(data):
    from benchmarks.floor import NEEDED, floor

    rows = floor(data["deals"])
    table = pq.read_table(data["deals"], columns=NEEDED).to_pylist()
    credited = sorted(
        (r for r in table if r["deal_type"] != "renewal"), key=lambda r: (r["payee"], r["close_date"], r["deal_id"])
    )
    assert rows.columns[: len(NEEDED)] == NEEDED
    got = rows.select(NEEDED).to_dicts()
    # payees in the order of their codes, each payee's rows by date and deal id
    order = list(dict.fromkeys(r["payee"] for r in got))
    assert sorted(got, key=lambda r: (order.index(r["payee"]), r["close_date"], r["deal_id"])) == got
    assert sorted(got, key=lambda r: (r["payee"], r["close_date"], r["deal_id"])) == credited


def test_the_report_shows_growth_against_the_size_above_for_spm_and_the_floor():
    from benchmarks.run import render

    report = {
        "rows": 1_000,
        "payees": 10,
        "columns_mb": 1.0,
        "machine": {"cpus": 2},
        "results": [{"name": "spm", "seconds": 2.0, "peak_mb": 100.0}],
        "scaling": [
            {"rows": 1_000, "seconds": 2.0, "peak_mb": 100.0, "floor": {"seconds": 1.0}},
            {"rows": 5_000, "seconds": 11.0, "peak_mb": 400.0, "floor": {"seconds": 4.0}},
            {"rows": 10_000, "seconds": 20.0, "peak_mb": 700.0, "floor": {"error": "exit status 1"}},
        ],
    }
    lines = render(report).splitlines()
    five, ten = (next(line.split() for line in lines if line.lstrip().startswith(rows)) for rows in ("5,000", "10,000"))
    assert five == ["5,000", "5.00", "11.00", "5.50", "455", "400", "4.00", "4.00", "2.75x"]
    assert ten[:4] == ["10,000", "2.00", "20.00", "1.82"] and ten[-3:] == ["exit", "status", "1"]


def test_rounds_are_summed_up_as_medians_and_each_round_compared_with_spm_and_the_floor():
    from benchmarks.run import compare, render, summary

    spm = summary(
        "spm",
        [
            {"seconds": 12.0, "cpu_seconds": 20.0, "peak_mb": 900.0, "totals": {"k": 1}},
            {"seconds": 15.0, "cpu_seconds": 22.0, "peak_mb": 1000.0},
            {"seconds": 11.0, "cpu_seconds": 19.0, "peak_mb": 950.0},
        ],
    )
    assert spm == {
        "name": "spm",
        "seconds": 12.0,
        "cpu_seconds": 20.0,
        "peak_mb": 1000.0,
        "runs": [12.0, 15.0, 11.0],
        "totals": {"k": 1},
    }
    floor = summary(
        "floor", [{"seconds": 4.0, "peak_mb": 1.0}, {"seconds": 6.0, "peak_mb": 1.0}, {"seconds": 5.0, "peak_mb": 1.0}]
    )
    assert floor["seconds"] == 5.0 and "cpu_seconds" not in floor  # not measured: not made up
    assert summary("duckdb-lines", [{"seconds": 4.0, "peak_mb": 1.0}, {"name": "x", "error": "exit status 1"}]) == {
        "name": "duckdb-lines",
        "error": "exit status 1",
    }
    spm.pop("totals")
    polars = {
        "name": "polars-lines",
        "seconds": 6.0,
        "cpu_seconds": 9.0,
        "peak_mb": 300.0,
        "runs": [6.0, 9.0, 5.5],
        "verified": True,
    }
    results = compare([floor, spm, polars, {"name": "duckdb-totals", "error": "duckdb is not installed"}])
    # each round's time against spm's and the floor's of the same round, then the median of those
    assert polars["rounds_vs_spm"] == [0.5, 0.6, 0.5] and polars["vs_spm"] == 0.5
    assert polars["rounds_vs_floor"] == [1.5, 1.5, 1.1] and polars["vs_floor"] == 1.5
    assert spm["vs_floor"] == 2.5 and floor["vs_spm"] == 0.4  # 4/12, 6/15, 5/11
    report = {
        "rows": 1_200_000,
        "payees": 10,
        "columns_mb": 1.0,
        "machine": {"cpus": 2, "load": 0.5},
        "scaling": [],
        "results": results,
    }
    lines = render(report).splitlines()
    assert lines[0].endswith("2 CPUs, load 0.5 when it ended")
    assert "the median of 3 rounds" in lines[2]
    header = next(i for i, line in enumerate(lines) if line.startswith("contender"))
    table = lines[header + 1 : lines.index("", header)]
    row = {line.split()[0]: line.split() for line in table}
    assert row["spm"][1:] == ["12.00", "20.0", "100,000", "1000", "1.00x", "2.50x", "11.00-15.00"]
    assert row["polars-lines"][1:] == [
        "6.00",
        "9.0",
        "200,000",
        "300",
        "0.50x",
        "1.50x",
        "to",
        "the",
        "cent",
        "5.50-9.00",
    ]
    assert row["floor"][2] == "-"
    assert row["duckdb-totals"][1:] == ["duckdb", "is", "not", "installed"]
    # the legend says what each contender is
    assert any(line.startswith("polars-lines") and "every credited row" in line for line in lines)


def test_a_contender_whose_library_is_missing_is_reported_not_run(monkeypatch):
    import importlib.util

    from benchmarks.run import missing_library

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "duckdb" else found(name))
    assert missing_library("duckdb-lines") == "duckdb is not installed (pip install -e '.[bench]')"
    assert missing_library("polars-lines") is None and missing_library("spm") is None
