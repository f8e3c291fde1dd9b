"""Runs on a Dask cluster (a LocalCluster of two worker processes) pay the lines a run on one machine pays, to
the cent: the examples, the scenarios, random plans of the property tests, several transaction files, a dask
DataFrame, keys seen in two files, earlier ledgers; and account for every row as it does."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import test_measures as worked
from conftest import ROOT, examples
from helpers import DATA, SCENARIOS
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from strategies import as_tables, data, plans, roster_table

import spmlang
from spmlang.diagnostics import InputError, UsageError

distributed = pytest.importorskip("distributed", reason="the cluster tests need dask[distributed]")
pytest.importorskip("dask.dataframe", reason="the cluster tests need dask[dataframe]")

EXAMPLES = ROOT / "examples"
AE = (
    EXAMPLES / "plans/account_executive.spm",
    EXAMPLES / "data/ae_deals.csv",
    {"quotas": EXAMPLES / "data/ae_quotas.csv", "targets": EXAMPLES / "data/ae_targets.csv"},
)
SDR = (EXAMPLES / "plans/sdr.spm", EXAMPLES / "data/sdr_activities.csv", {"quotas": EXAMPLES / "data/sdr_quotas.csv"})
CRM = (
    EXAMPLES / "plans/crm_agents.spm",
    EXAMPLES / "data/crm/sales_pipeline.csv",
    {
        "quotas": EXAMPLES / "data/crm/quotas.csv",
        "roster": EXAMPLES / "data/crm/sales_teams.csv",
        "tables": {"products": EXAMPLES / "data/crm/products.csv"},
    },
)


def scenario_runs() -> list[tuple]:
    """Every scenario run of test_scenarios.py: its plan, its transactions and its tables."""
    text = (Path(__file__).parent / "test_scenarios.py").read_text()
    runs = {}
    for plan, deals, tables in re.findall(r'run_scenario\("(\w+)", "([\w.]+)"((?:, \w+="[\w.]+")*)\)', text):
        named = {name: DATA / value for name, value in re.findall(r'(\w+)="([\w.]+)"', tables)}
        runs[plan] = (SCENARIOS / f"{plan}.spm", DATA / deals, named)
    return list(runs.values())


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as made,
    ):
        yield made


def ledger_of(result) -> pa.Table:
    """A run's ledger payee by payee, each payee's lines in ledger order (as one machine writes it; a cluster's
    parts are groups of payees)."""
    from spmlang.report.dataset import by_payee

    return by_payee(result.ledger)


def assert_same_run(single, clustered) -> None:
    """The same lines, in ledger order, every column; the same accounting, rejects and summary."""
    expected, actual = ledger_of(single), ledger_of(clustered)
    assert actual.num_rows == expected.num_rows == clustered.line_count
    assert actual.cast(expected.schema).equals(expected)
    assert clustered.accounting == single.accounting
    assert clustered.rejects.equals(single.rejects)
    assert str(clustered.summary()) == str(single.summary())


def both(client, tmp_path: Path, plan_path, deals, tables: dict, **options):
    plan = spmlang.load(plan_path) if not isinstance(plan_path, spmlang.Plan) else plan_path
    single = plan.run(deals, **tables, **options)
    clustered = plan.run(deals, **tables, **options, cluster=client, out=tmp_path / "ledger")
    return single, clustered


@pytest.mark.parametrize("example", [AE, SDR, CRM], ids=["ae", "sdr", "crm"])
def test_the_examples_pay_the_same_lines(client, tmp_path, example, monkeypatch):
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "5")  # more groups than workers: most payees' rows cross groups
    assert_same_run(*both(client, tmp_path, *example))


@pytest.mark.parametrize("run", scenario_runs(), ids=lambda run: run[0].stem)
def test_the_scenarios_pay_the_same_lines(client, tmp_path, run, monkeypatch):
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "3")
    assert_same_run(*both(client, tmp_path, *run))


def test_each_line_shows_the_measure_that_priced_it(client, tmp_path, monkeypatch):
    """A plan that recalculates, with components that claw back money (tests/test_measures.py, worked by hand):
    the groups' lines show each component's own measure, as one machine's do."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "3")
    pacsv.write_csv(worked.deals("ann", "bo", "cy"), tmp_path / "deals.csv")
    single, clustered = both(client, tmp_path, worked.mixed(), tmp_path / "deals.csv", {})
    assert_same_run(single, clustered)
    rows = ledger_of(clustered).to_pylist()
    for payee in ("ann", "bo", "cy"):
        assert worked.measured(rows, payee) == worked.expected(payee)


def test_the_ledger_folder_has_parts_and_one_manifest(client, tmp_path):
    plan, deals, tables = AE
    single, clustered = both(client, tmp_path, plan, deals, tables)
    folder = tmp_path / "ledger"
    parts = sorted(p.name for p in folder.iterdir())
    assert parts == [f"part-{g:05d}.parquet" for g in range(clustered.run.groups)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger", "ledger.manifest.json"]  # nothing left over
    from spmlang.report.manifest import RunManifest

    manifest = RunManifest.read(tmp_path / "ledger.manifest.json")
    assert manifest.run_id == single.run_id  # the same inputs and options: the same run
    assert manifest.accounting == single.accounting
    assert manifest.ledger is not None and manifest.ledger.rows == single.line_count
    assert sum(p.rows for p in manifest.parts or []) == single.line_count


def write_files(table: pa.Table, folder: Path, cuts: list[int]) -> None:
    """``table`` as parquet files of a folder, cut at ``cuts`` (file names in row order)."""
    folder.mkdir()
    bounds = [0, *cuts, table.num_rows]
    for i, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        pq.write_table(table.slice(start, stop - start), folder / f"deals-{i:03d}.parquet")


@settings(
    max_examples=examples(6),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking runs the cluster hundreds of times
)
@given(st.data())
def test_random_plans_pay_the_same_lines_from_several_files(client, tmp_path_factory, drawn):
    """Random plans of the property tests (splits, rollups, caps, gates, the pay cycle), their transactions
    in several files: the lines, accounting and rejects of one machine over the same rows as one table."""
    text = drawn.draw(plans(cycle=drawn.draw(st.booleans(), label="pay cycle")), label="plan")
    plan = spmlang.loads(text, "random.spm")
    rows, quotas, targets = drawn.draw(data(len(plan.periods)), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, plan.periods)
    folder = tmp_path_factory.mktemp("random") / "deals"
    cuts = sorted(set(drawn.draw(st.lists(st.integers(0, deals.num_rows), max_size=3), label="cuts")))
    write_files(deals, folder, cuts)
    tables = {"quotas": quota_table, "targets": target_table, "roster": roster_table()}
    single = plan.run(deals, **tables)
    groups = drawn.draw(st.sampled_from(["1", "3", "7"]), label="payee groups")
    with mock.patch.dict(os.environ, {"SPM_CLUSTER_GROUPS": groups}):
        clustered = plan.run(str(folder), **tables, cluster=client, out=folder.parent / "ledger")
    expected, actual = ledger_of(single), ledger_of(clustered)
    assert actual.num_rows == expected.num_rows
    # The run ids differ (files here, a table there): every other column is the same.
    assert (
        actual.drop_columns(["run_id"])
        .cast(expected.drop_columns(["run_id"]).schema)
        .equals(expected.drop_columns(["run_id"]))
    )
    assert clustered.accounting == single.accounting
    assert clustered.rejects.equals(single.rejects)


@settings(
    max_examples=examples(6),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(st.data())
def test_random_plans_with_strict_stop_as_on_one_machine(client, tmp_path_factory, drawn):
    """Random plans and data (duplicate keys, dates outside the year, payees without a quota, splits, rollups)
    with --strict, in several files and groups: the run stops where one machine stops, said the same way, or
    pays as it pays."""
    text = drawn.draw(plans(cycle=drawn.draw(st.booleans(), label="pay cycle")), label="plan")
    plan = spmlang.loads(text, "random.spm")
    rows, quotas, targets = drawn.draw(data(len(plan.periods)), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, plan.periods)
    folder = tmp_path_factory.mktemp("strict") / "deals"
    cuts = sorted(set(drawn.draw(st.lists(st.integers(0, deals.num_rows), max_size=3), label="cuts")))
    write_files(deals, folder, cuts)
    tables = {"quotas": quota_table, "targets": target_table, "roster": roster_table()}
    groups = drawn.draw(st.sampled_from(["1", "3", "7"]), label="payee groups")

    def outcome(run):
        try:
            return run().accounting
        except InputError as error:
            # The file is named as given: a table in memory here, a folder there.
            return error.code, error.row, error.column, error.message, error.hint

    alone = outcome(lambda: plan.run(deals, **tables, strict=True))
    with mock.patch.dict(os.environ, {"SPM_CLUSTER_GROUPS": groups}):
        clustered = outcome(lambda: plan.run(str(folder), **tables, strict=True, cluster=client))
    assert clustered == alone


def test_a_key_in_two_files_is_rejected_as_on_one_machine(client, tmp_path, monkeypatch):
    """The second row of a key is a duplicate however far from the first, even credited to another payee."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "7")
    plan, deals, tables = AE
    table = pacsv.read_csv(deals, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    table = pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names})
    copy = table.slice(10, 1).to_pylist()[0]
    owners = table.column("owner").to_pylist()
    copy["owner"] = next(o for o in owners if o != copy["owner"])  # another payee, most likely another group
    doubled = pa.concat_tables([table, pa.Table.from_pylist([copy], schema=table.schema)])
    write_files(doubled, tmp_path / "deals", [150])
    loaded = spmlang.load(plan)
    single = loaded.run(doubled, **tables)
    clustered = loaded.run(str(tmp_path / "deals"), **tables, cluster=client, out=tmp_path / "ledger")
    assert single.accounting["rejected"].get("duplicate_key") == 1
    assert clustered.accounting == single.accounting
    assert clustered.rejects.equals(single.rejects)  # "duplicate key ... (first seen at row 11)"
    expected, actual = ledger_of(single).drop_columns(["run_id"]), ledger_of(clustered).drop_columns(["run_id"])
    assert actual.cast(expected.schema).equals(expected)


def test_a_dask_dataframe_pays_the_same_lines(client, tmp_path):
    import dask.dataframe as dd
    import pandas as pd

    plan, deals, tables = AE
    frame = pd.read_csv(deals, dtype=str, keep_default_na=False)
    loaded = spmlang.load(plan)
    single = loaded.run(frame, **tables)
    clustered = loaded.run(dd.from_pandas(frame, npartitions=3), **tables, cluster=client)
    assert clustered.accounting == single.accounting
    assert str(clustered.summary()).split("transactions")[0] == str(single.summary()).split("transactions")[0]
    assert clustered.path is None  # no out=: no ledger written, and no line made to count
    assert clustered.line_count is None and "no ledger written" in repr(clustered)


def test_an_earlier_ledger_of_either_kind_pays_the_same_lines(client, tmp_path):
    """--paid: a ledger file of one machine, or a ledger folder of a cluster; the later run, on one machine or
    on the cluster, pays the same lines."""
    plan_path, deals, tables = CRM
    plan = spmlang.load(plan_path)
    half = plan.periods[len(plan.periods) // 2 - 1]
    plan.run(deals, **tables, through=half).write(tmp_path / "file" / "first.parquet")
    plan.run(deals, **tables, through=half, cluster=client, out=tmp_path / "folder" / "first")
    for earlier in (tmp_path / "file" / "first.parquet", tmp_path / "folder" / "first"):
        single = plan.run(deals, **tables, paid=earlier)
        clustered = plan.run(deals, **tables, paid=earlier, cluster=client, out=tmp_path / "second")
        assert_same_run(single, clustered)
        assert "already paid" in str(single.summary())


def test_the_pay_cycle_example_against_its_q1_ledger_pays_the_same_lines(client, tmp_path, monkeypatch):
    """Draws, a floor, holds and clawbacks against an earlier ledger, in more groups than payees: a group that
    settles no payee starts from no balance (it once failed on finding none)."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "5")
    cycle = EXAMPLES / "pay-cycle"
    plan = spmlang.load(cycle / "plan.spm")
    plan.run(cycle / "deals-Q1.csv", through="2027-Q1").write(tmp_path / "q1.parquet")
    single, clustered = both(
        client, tmp_path, plan, cycle / "deals-Q2.csv", {}, paid=tmp_path / "q1.parquet", through="2027-Q2"
    )
    assert_same_run(single, clustered)
    assert {"draw", "adjustment", "hold"} <= set(single.ledger.column("kind").to_pylist())


def test_a_file_url_names_the_files_its_path_names(tmp_path):
    from spmlang.cluster.pieces import pieces_of

    (tmp_path / "deals 2027").mkdir()
    for name in ("b.parquet", "a.parquet"):
        pq.write_table(pa.table({"id": ["x"]}), tmp_path / "deals 2027" / name)
    folder = tmp_path / "deals 2027"
    by_path = [piece.source for piece in pieces_of(str(folder))]
    assert len(by_path) == 2 and by_path == sorted(by_path)
    assert [piece.source for piece in pieces_of(folder.as_uri())] == by_path  # file:///.../deals%202027
    assert [piece.source for piece in pieces_of((folder / "a.parquet").as_uri())] == by_path[:1]


def test_a_cluster_result_shows_in_a_notebook_and_as_frames_as_one_machine_s(client, tmp_path):
    single, clustered = both(client, tmp_path, *AE)
    assert clustered._repr_html_() == single._repr_html_()
    expected = ledger_of(single).drop_columns(["run_id"])
    assert pa.Table.from_pandas(clustered.to_pandas(), preserve_index=False).drop_columns(["run_id"]).num_rows == (
        expected.num_rows
    )
    frame = clustered.to_polars()
    assert sorted(map(str, frame["amount"].to_list())) == sorted(map(str, expected.column("amount").to_pylist()))


def test_a_run_that_fails_leaves_no_ledger(client, tmp_path):
    plan, deals, tables = AE
    folder = tmp_path / "deals"
    table = pacsv.read_csv(deals)
    write_files(table, folder, [100])
    pq.write_table(table.drop_columns(["amount"]).slice(0, 5), folder / "deals-999.parquet")  # a file short a column
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "part-00000.parquet").write_bytes(b"the ledger before")
    with pytest.raises(InputError) as raised:
        spmlang.load(plan).run(str(folder), **tables, cluster=client, out=tmp_path / "ledger")
    assert raised.value.code == "E501" and "deals-999.parquet" in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals", "ledger"]  # no partial folder, no manifest
    assert (tmp_path / "ledger" / "part-00000.parquet").read_bytes() == b"the ledger before"


INPUT_ERRORS = ROOT / "tests/golden/input_errors"


def error_of(run) -> tuple:
    """What a user is told of a run that fails: the error's type, code, text (file, row, column, hint) and
    exit code."""
    with pytest.raises(InputError) as raised:
        run()
    error = raised.value
    return type(error), error.code, str(error), error.exit_code


@pytest.mark.parametrize(
    ("case", "tables"),
    [
        ("E500-csv-not-utf8", {}),  # a CSV row that cannot be read
        ("E500-ragged-csv-row", {}),
        ("E500-unknown-file-type", {}),
        ("E500-file-not-found", {}),
        ("E501-column-missing", {}),
        ("E502-column-of-the-wrong-type", {}),
        ("E507-a-column-appears-twice", {}),
        ("E503-no-data-for-a-table", {}),
        ("E504-negative-quota", {"quotas": "quotas.csv"}),
        ("E504-negative-quota", {"quotas": "no-such-quotas.csv"}),  # a missing quota file
    ],
)
def test_an_input_error_is_said_as_on_one_machine(client, tmp_path, monkeypatch, case, tables):
    """The error a worker meets (or the client, before sending work) reaches the user as the same error, code,
    file, row, column, hint and exit code, as a run on one machine: not an E514, nor a traceback."""
    folder = INPUT_ERRORS / case
    monkeypatch.chdir(folder)
    deals = (folder / "args").read_text().split("--deals")[1].split()[0]
    plan = spmlang.load("plan.spm")
    alone = error_of(lambda: plan.run(deals, **tables))
    clustered = error_of(lambda: plan.run(deals, **tables, cluster=client, out=tmp_path / "ledger"))
    assert clustered == alone
    assert not (tmp_path / "ledger").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("strict", [False, True])
def test_a_row_a_component_cannot_pay_stops_the_run_as_on_one_machine(client, tmp_path, monkeypatch, strict):
    """A component's lookup that finds no product, where the plan says `on missing_lookup error` (or --strict):
    one machine names the first credit row of the step in its order (key order), not the first in the file."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "7")
    plan_path, deals, tables = CRM
    text = plan_path.read_text().replace(
        "  key    opportunity_id\n", "  key    opportunity_id\n  on missing_lookup error\n"
    )
    plan = spmlang.loads(text, str(plan_path))
    products = pacsv.read_csv(tables["tables"]["products"])
    pacsv.write_csv(products.filter(pa.compute.not_equal(products.column("product"), "MG Special")), tmp_path / "p.csv")
    tables = {**tables, "tables": {"products": tmp_path / "p.csv"}}
    alone = error_of(lambda: plan.run(deals, **tables, strict=strict))
    clustered = error_of(lambda: plan.run(deals, **tables, strict=strict, cluster=client, out=tmp_path / "ledger"))
    assert alone[1] == "E510" and "row(s) like this" in alone[2]
    assert clustered == alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


TWO_FILTERS = '  where in_t1: t1[owner].ok == "y"\n  where in_t2: t2[owner].ok == "y"\n'
ONE_FILTER = "  where in_both: t1[owner].ok == t2[owner].ok\n"


@pytest.mark.parametrize("filters", [TWO_FILTERS, ONE_FILTER], ids=["two filters", "one filter"])
def test_two_lookups_that_stop_the_run_are_told_apart_or_e515(client, tmp_path, monkeypatch, filters):
    """The owner looked up in two tables, each lacking another payee, where the plan says `on missing_lookup
    error`. One machine stops at the first table's. Two filters are two steps told apart (each its own clause):
    the same error. One filter meets both at one place in spm, and the groups' counts of the two cannot be
    told apart: E515, never a wrong count."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "5")
    plan_path, deals, tables = AE
    owners = sorted(set(pacsv.read_csv(deals).column("owner").to_pylist()))

    def table(name: str, without: str) -> str:
        rows = "\n".join(f'    "{owner}" y' for owner in owners if owner != without)
        return f"table {name} {{\n  column owner text\n  column ok text\n  key owner\n  rows {{\n{rows}\n  }}\n}}\n"

    text = plan_path.read_text().replace(
        "  key    deal_id\n", f"  key    deal_id\n  on missing_lookup error\n{filters}"
    )
    plan = spmlang.loads(table("t1", owners[0]) + table("t2", owners[1]) + text, str(plan_path))
    alone = error_of(lambda: plan.run(deals, **tables))
    clustered = error_of(lambda: plan.run(deals, **tables, cluster=client, out=tmp_path / "ledger"))
    assert alone[1] == "E510" and f"'{owners[0]}' is not in table t1" in alone[2]
    if filters == TWO_FILTERS:
        assert clustered == alone
    else:
        assert clustered[1] == "E515" and clustered[3] == 2
        assert "saying which rejected row stops this run" in clustered[2]
    assert list(tmp_path.iterdir()) == []


def test_a_rejected_row_names_the_tables_as_one_machine_does(client, tmp_path, monkeypatch):
    """A row with no fx rate: its message names the fx table as it was given, in the rejects and the summary
    (the workers are sent the tables the client read; they read no file of their own)."""
    monkeypatch.chdir(INPUT_ERRORS / "E510-missing-fx-rate-with-strict")
    plan = spmlang.load("plan.spm")
    single = plan.run("deals.csv", tables={"fx": "fx.csv"})
    clustered = plan.run("deals.csv", tables={"fx": "fx.csv"}, cluster=client, out=tmp_path / "ledger")
    assert single.rejects.column("message").to_pylist() == ["no EUR rate on or before 2027-01-05 in fx.csv"]
    assert clustered.rejects.equals(single.rejects)
    assert str(clustered.summary()) == str(single.summary())


def test_a_bad_file_among_several_is_named_as_the_glob_names_it(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("deals").mkdir()
    header_and_first_row = (INPUT_ERRORS / "E500-ragged-csv-row/deals.csv").read_text().splitlines()[:2]
    Path("deals/a.csv").write_text("\n".join(header_and_first_row) + "\n")
    shutil.copy(INPUT_ERRORS / "E500-ragged-csv-row/deals.csv", "deals/b.csv")
    plan = spmlang.load(INPUT_ERRORS / "E500-ragged-csv-row/plan.spm")
    with pytest.raises(InputError) as raised:
        plan.run("deals/*.csv", cluster=client, out="ledger")
    assert raised.value.code == "E500" and raised.value.file == "deals/b.csv" and raised.value.row == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals"]


def ae_with_bad_rows(bad: set[str]) -> pa.Table:
    """The AE deals as text, with rows that are rejected (``bad``: which), each of another payee (another group,
    most likely), several in places: a stop must be found over all the groups."""
    table = pacsv.read_csv(AE[1], convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    rows = pa.table({name: table.column(name).cast(pa.string()) for name in table.column_names}).to_pylist()
    if "invalid" in bad:  # read first: an amount that is no number
        rows[230]["amount"] = "12,3x4"
        rows[90]["amount"] = "about 5000"
    if "duplicate" in bad:  # then keys seen twice
        rows[150] = {**rows[12], "owner": next(r["owner"] for r in rows if r["owner"] != rows[12]["owner"])}
    if "outside" in bad:  # then dates outside the plan year
        rows[201]["close_date"] = "2029-03-01"
        rows[40]["close_date"] = "2026-12-31"
        rows[260]["close_date"] = "2031-06-30"
    if "unknown" in bad:  # crediting: a payee with no quota
        for at in (280, 77):
            rows[at] = {**rows[at], "owner": "zoe.unknown", "stage": "Closed Won"}
    return pa.Table.from_pylist(rows, schema=pa.schema([(n, pa.string()) for n in rows[0]]))


@pytest.mark.parametrize(
    ("bad", "policy"),
    [
        ({"invalid", "duplicate", "outside", "unknown"}, None),
        ({"duplicate", "outside", "unknown"}, None),
        ({"outside", "unknown"}, None),
        ({"unknown"}, None),
        ({"invalid", "outside", "unknown"}, "outside_year"),
        ({"invalid", "duplicate", "unknown"}, "missing_quota"),
    ],
)
def test_a_row_that_stops_the_run_is_said_as_on_one_machine(client, tmp_path, monkeypatch, bad, policy):
    """--strict, or a plan's `on SUBJECT error`: every group runs, then the client names the row one machine
    names (the first of the first step that meets such rows), with the same count, and writes no ledger."""
    monkeypatch.setenv("SPM_CLUSTER_GROUPS", "5")
    plan_path, _, tables = AE
    text = plan_path.read_text()
    if policy is not None:
        text = text.replace("  key    deal_id\n", f"  key    deal_id\n  on {policy} error\n")
    plan = spmlang.loads(text, str(plan_path))
    deals = ae_with_bad_rows(bad)
    write_files(deals, tmp_path / "deals", [70, 180])
    strict = policy is None
    alone = error_of(lambda: plan.run(deals, **tables, strict=strict))
    clustered = error_of(
        lambda: plan.run(str(tmp_path / "deals"), **tables, strict=strict, cluster=client, out=tmp_path / "ledger")
    )
    assert alone[1] == "E510"
    assert clustered[:2] == alone[:2]
    # The same words, row, count and hint; the file named as given (a table here, a folder there).
    assert clustered[2].split(": ", 1)[1].split(", row")[1] == alone[2].split(": ", 1)[1].split(", row")[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deals"]  # no ledger, no hidden folder of parts


def test_a_csv_ledger_is_refused_before_any_work(client, tmp_path):
    plan, deals, tables = AE
    with pytest.raises(UsageError, match="folder of parquet parts"):
        spmlang.load(plan).run(deals, **tables, cluster=client, out=tmp_path / "ledger.csv")


def ae_ledger_folder(client, tmp_path, monkeypatch) -> None:
    """The AE example paid on the cluster into the folder `ledger`, in a copy of the examples made the current
    folder (a manifest's paths are relative)."""
    copied = tmp_path / "work"
    shutil.copytree(EXAMPLES, copied)
    monkeypatch.chdir(copied)
    spmlang.load("plans/account_executive.spm").run(
        "data/ae_deals.csv",
        quotas="data/ae_quotas.csv",
        targets="data/ae_targets.csv",
        cluster=client,
        out="ledger",
    )


def test_verify_reruns_a_ledger_folder(client, tmp_path, monkeypatch):
    from spmlang.verify import verify

    ae_ledger_folder(client, tmp_path, monkeypatch)
    checked = verify("ledger")
    assert checked.identical, checked.report()
    assert "the same lines" in checked.report()
    part = next(iter(sorted(Path("ledger").glob("part-*.parquet"))))
    table = pq.read_table(part)
    if table.num_rows == 0:
        part = sorted(Path("ledger").glob("part-*.parquet"))[1]
        table = pq.read_table(part)
    pq.write_table(table.slice(1), part)  # a line taken out
    checked = verify("ledger")
    assert not checked.identical
    assert "changed after spm wrote it" in checked.report()


def test_verify_of_a_folder_an_earlier_spm_wrote_says_the_engine_differs(client, tmp_path, monkeypatch):
    """A folder written before ledgers had an `exact` column (its explanations sentences), unchanged since: the
    engine writes it differently now, and every total is as recorded; not 'cannot be read as a ledger'."""
    import json

    from spmlang.hashing import sha256_file
    from spmlang.verify import verify

    ae_ledger_folder(client, tmp_path, monkeypatch)
    for part in sorted(Path("ledger").glob("part-*.parquet")):  # as the spm before templates wrote it
        pq.write_table(spmlang.read_ledger(part).drop_columns(["exact"]), part)
    manifest = json.loads(Path("ledger.manifest.json").read_text())
    manifest["ledger"]["sha256"] = sha256_file(Path("ledger"))
    manifest["engine"] = "spmlang 0.0.9"  # the spm before templates
    Path("ledger.manifest.json").write_text(json.dumps(manifest))
    checked = verify("ledger")
    assert not checked.identical
    report = checked.report()
    assert "the engine computes or writes the ledger differently (recorded spmlang 0.0.9" in report
    assert "every payee's total per period is as recorded" in report
    assert "cannot be read" not in report


def test_without_dask_the_error_says_what_to_install(monkeypatch):
    import builtins

    from spmlang.cluster.connect import need_dask

    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(InputError) as raised:
        need_dask()
    assert raised.value.code == "E514" and "pip install 'spmlang[dask]'" in str(raised.value)


def test_spm_run_on_a_local_cluster_prints_what_one_machine_prints(spm, tmp_path):
    """The command: the same summary and rejects as without --cluster; the folder is an earlier ledger
    `spm statement --paid` reads as it reads the file."""
    from conftest import AE_ARGS

    half = [*AE_ARGS, "--through", "2027-Q2"]
    alone = spm("run", *half, "--out", tmp_path / "one" / "ledger.parquet", "--rejects", tmp_path / "one.csv")
    clustered = spm("run", *half, "--cluster", "local:1", "--out", tmp_path / "ledger", "--rejects", tmp_path / "r.csv")
    assert clustered.returncode == 0, clustered.stderr
    assert "Traceback" not in clustered.stderr
    assert clustered.stdout.split("\nwrote ")[0] == alone.stdout.split("\nwrote ")[0]
    assert re.search(rf"wrote {tmp_path / 'ledger'} \(\d+ lines in 2 parts\)", clustered.stdout)
    assert (tmp_path / "r.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    statements = [
        spm("statement", *AE_ARGS, "--paid", paid, "--payee", "ben.okafor")
        for paid in (tmp_path / "one" / "ledger.parquet", tmp_path / "ledger")
    ]
    assert statements[0].returncode == statements[1].returncode == 0, statements[1].stderr
    assert "2027-Q3" in statements[1].stdout
    assert statements[1].stdout == statements[0].stdout


@pytest.fixture(scope="module")
def killing(tmp_path_factory):
    """A LocalCluster of two worker processes whose tasks end their process when a flag file says so (see
    spmlang.cluster.work.TEST_KILL): its path, and a client of the cluster."""
    flag = tmp_path_factory.mktemp("kill") / "flag"
    with (
        mock.patch.dict(os.environ, {"SPM_CLUSTER_TEST_KILL": str(flag)}),
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as made,
    ):
        yield flag, made


@pytest.mark.parametrize("step", ["route", "credit", "pay"])
def test_a_worker_lost_once_is_retried_and_the_lines_are_the_same(killing, tmp_path, step):
    flag, client = killing
    flag.write_text(f"{step} once")
    try:
        single, clustered = both(client, tmp_path, *AE)
    finally:
        flag.unlink(missing_ok=True)
    assert Path(f"{flag}.claimed").exists()  # a worker process did end, in that step
    Path(f"{flag}.claimed").unlink()
    assert_same_run(single, clustered)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger", "ledger.manifest.json"]


def test_a_task_that_always_ends_its_worker_is_e514_and_leaves_the_ledger_as_it_was(killing, tmp_path):
    flag, client = killing
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "part-00000.parquet").write_bytes(b"the ledger before")
    flag.write_text("pay always")  # the parts are being written when it fails
    try:
        with pytest.raises(InputError) as raised:
            spmlang.load(AE[0]).run(AE[1], **AE[2], cluster=client, out=tmp_path / "ledger")
    finally:
        flag.unlink()
    assert raised.value.code == "E514"
    # Dask counts a lost worker against every task it had been given, queued ones too: the crediting of a
    # partition queued behind the paying that ends the worker may reach the limit first, on a busy machine.
    assert re.match(
        r"error\[E514\]: the run could not finish on the cluster: a worker process ended each of the 4 times it "
        r"was (paying|crediting) payee groups \(or running another task beside it\)\n"
        r"  = hint: Dask retries a task whose worker was lost",
        str(raised.value),
    )
    assert raised.value.exit_code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger"]  # no hidden folder of parts, no manifest
    assert [p.name for p in (tmp_path / "ledger").iterdir()] == ["part-00000.parquet"]
    assert (tmp_path / "ledger" / "part-00000.parquet").read_bytes() == b"the ledger before"


def test_spm_run_that_cannot_finish_says_e514_alone_and_exits_2(spm, tmp_path):
    """`--cluster local:2`, a task that ends its worker each time: one clean error on stderr (the workers' own
    logs of a lost worker are not the user's), exit 2, no ledger folder nor any hidden one."""
    from conftest import AE_ARGS

    flag = tmp_path / "flag"
    flag.write_text("credit always")
    out = tmp_path / "out"
    out.mkdir()
    done = spm(
        "run", *AE_ARGS, "--cluster", "local:2", "--out", out / "ledger", env={"SPM_CLUSTER_TEST_KILL": str(flag)}
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error[E514]: the run could not finish on the cluster: a worker process ended ")
    assert len(done.stderr.splitlines()) == 2, done.stderr  # the error and its hint
    assert list(out.iterdir()) == []


def _pay_batches_refused(refuse: bool) -> None:
    """On a worker: paying a batch line by line raises (``refuse``), or works again."""
    from spmlang.engine import batch, payout

    def refused(*args, **kwargs):
        raise AssertionError("a batch paid line by line")

    payout.pay_batch = refused if refuse else batch.pay_batch  # type: ignore[assignment]


def test_without_a_ledger_the_groups_are_paid_by_group_sums(client):
    """No out=: nothing reads the lines, so no worker makes one (the plans need none: no plan cap, no earlier
    ledger); the summary is a run's on one machine, clawbacks and draws included."""
    runs = [AE, (EXAMPLES / "pay-cycle/plan.spm", EXAMPLES / "pay-cycle/deals-Q2.csv", {})]
    for plan_path, deals, tables in runs:
        plan = spmlang.load(plan_path)
        single = plan.run(deals, **tables)
        client.run(_pay_batches_refused, True)
        try:
            clustered = plan.run(deals, **tables, cluster=client)
        finally:
            client.run(_pay_batches_refused, False)
        assert clustered.line_count is None
        assert str(clustered.summary()) == str(single.summary())
        assert clustered.accounting == single.accounting


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("local:0", "--cluster local:N needs at least one worker"),
        ("bogus", "--cluster is local:N or a scheduler's address (tcp://host:8786), not 'bogus'"),
        # Before: a million worker processes started, one after the other, until the machine gave out.
        ("local:999999", "--cluster local:999999 starts 999,999 worker processes on this machine, which has 2 cores"),
        ("local:9", "give at most 8 (or a scheduler's address for a larger cluster)"),
    ],
)
def test_a_cluster_spm_cannot_or_should_not_start_is_a_usage_error_before_any_worker(spec, said, monkeypatch):
    from spmlang.cluster import connect

    monkeypatch.setattr(connect, "cores", lambda: 2)
    with pytest.raises(UsageError, match=re.escape(said)), connect.connected(spec):
        pytest.fail(f"a cluster was started for {spec}")
