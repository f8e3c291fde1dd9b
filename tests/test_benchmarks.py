"""The benchmark stays honest: its data is reproducible and every baseline pays what spm pays, to the cent.

(Speed itself is measured by ``python -m benchmarks.run``, never by a test.)
"""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest
from conftest import ROOT

import spmlang
from benchmarks import baselines
from benchmarks.contender import NEEDED, _spm_totals
from benchmarks.generate import generate


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(20_000, 60, tmp_path_factory.mktemp("bench"))


@pytest.fixture(scope="module")
def spm_totals(data):
    plan = spmlang.load(ROOT / "benchmarks" / "plans" / "bench.spm")
    result = plan.run(data["deals"], quotas=data["quotas"], targets=data["targets"], strict=True)
    totals = _spm_totals(result.ledger.select(["payee", "period", "component", "amount"]))
    return {key: value for key, value in totals.items() if value}


def test_the_same_arguments_give_the_same_files(data, tmp_path):
    again = generate(20_000, 60, tmp_path)
    for name, path in data.items():
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(again[name].read_bytes()).digest()


def test_the_data_has_what_the_plan_exercises(data, spm_totals):
    deals = pq.read_table(data["deals"]).to_pydict()
    assert any(amount < 0 for amount in deals["amount"])  # credit notes
    assert {"new_logo", "expansion", "renewal"} == set(deals["deal_type"])
    assert {key[2] for key in spm_totals} == {"commission", "spring_new_logos"}


@pytest.mark.parametrize("name", ["python_loop", "pandas_frames", "polars_frames", "duckdb_sql"])
def test_each_baseline_pays_what_spm_pays_to_the_cent(data, spm_totals, name):
    if name == "duckdb_sql":
        pytest.importorskip("duckdb", reason="duckdb comes with the bench extra")
    function = getattr(baselines, name)
    totals = function(
        pq.read_table(data["deals"], columns=NEEDED), pq.read_table(data["quotas"]), pq.read_table(data["targets"])
    )
    assert {key: value for key, value in totals.items() if value} == spm_totals


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


def test_repeated_timings_are_summed_up_as_their_median_and_range():
    from benchmarks.run import render, summary

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
    assert summary("duckdb", [{"seconds": 4.0, "peak_mb": 1.0}, {"name": "duckdb", "error": "exit status 1"}]) == {
        "name": "duckdb",
        "error": "exit status 1",
    }
    spm.pop("totals")
    report = {
        "rows": 1_200_000,
        "payees": 10,
        "columns_mb": 1.0,
        "machine": {"cpus": 2},
        "scaling": [],
        "results": [
            floor,
            spm,
            {
                "name": "polars",
                "seconds": 13.2,
                "cpu_seconds": 25.0,
                "peak_mb": 3000.0,
                "runs": [13.2, 13.0, 14.0],
                "verified": True,
            },
        ],
    }
    lines = render(report).splitlines()
    assert "the median of 3 runs" in lines[2]
    spm_line = next(line for line in lines if line.startswith("spm "))
    assert spm_line.split() == ["spm", "12.00", "20.0", "100,000", "1000", "1.00x", "11.00-15.00"]
    assert lines[-3].split() == [
        "polars",
        "13.20",
        "25.0",
        "90,909",
        "3000",
        "1.10x",
        "to",
        "the",
        "cent",
        "13.00-14.00",
    ]
    assert next(line for line in lines if line.startswith("floor ")).split()[2] == "-"
    # each round's spm against the same round's floor: 12/4, 15/6, 11/5
    assert lines[-1] == "spm against the floor, round by round: 3.00x, 2.50x, 2.20x (median 2.50x)"
