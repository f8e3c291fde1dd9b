"""What a run writes is never what it reads: a ledger or rejects file over the data, the plan, an earlier
ledger or its manifest, or over the run's other output, is refused before anything is written (found by
trying hostile command lines: each of these destroyed a file, exit 0)."""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT

import spmlang
from spmlang.diagnostics import UsageError

SDR = ["--deals", "data/sdr_activities.csv", "--quotas", "data/sdr_quotas.csv"]


@pytest.fixture
def examples(tmp_path):
    """A copy of the examples this needs: the plans, the SDR data, the pay cycle."""
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples" / "plans", copy / "plans")
    shutil.copytree(ROOT / "examples" / "pay-cycle", copy / "pay-cycle")
    (copy / "data").mkdir()
    for data in (ROOT / "examples" / "data").glob("sdr_*.csv"):
        shutil.copy(data, copy / "data")
    return copy


@pytest.mark.parametrize(
    ("outputs", "said"),
    [
        (["--out", "data/sdr_activities.csv"], "--out data/sdr_activities.csv is read by --deals"),
        (["--rejects", "data/sdr_quotas.csv"], "--rejects data/sdr_quotas.csv is read by --quotas"),
        (["--out", "l.csv", "--rejects", "l.csv"], "--rejects l.csv is also --out l.csv"),
        (["--out", "l.csv", "--rejects", "l.manifest.json"], "is also the manifest of --out l.csv"),
    ],
)
def test_a_run_never_writes_over_what_it_reads_or_writes(spm, examples, outputs, said):
    before = {path: path.read_bytes() for path in (examples / "data").iterdir()}
    result = spm("run", "plans/sdr.spm", *SDR, *outputs, cwd=examples)
    assert result.returncode == 2 and said in result.stderr and "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in (examples / "data").iterdir()} == before
    assert not (examples / "l.csv").exists()


def test_the_rejects_never_replace_an_earlier_ledger(spm, examples):
    cycle = examples / "pay-cycle"
    first = spm("run", "plan.spm", "--deals", "deals-Q1.csv", "--through", "Q1", "--out", "q1.parquet", cwd=cycle)
    assert first.returncode == 0, first.stderr
    paid = (cycle / "q1.parquet").read_bytes()
    again = ["--deals", "deals-Q2.csv", "--paid", "q1.parquet", "--out", "q2.parquet"]
    for rejects in ("q1.parquet", "q1.manifest.json"):
        result = spm("run", "plan.spm", *again, "--rejects", rejects, cwd=cycle)
        assert result.returncode == 2 and f"--rejects {rejects} is the " in result.stderr
    assert (cycle / "q1.parquet").read_bytes() == paid


def test_result_write_refuses_the_files_the_run_read(examples):
    plan = spmlang.load(examples / "plans" / "sdr.spm")
    result = plan.run(examples / "data" / "sdr_activities.csv", quotas=examples / "data" / "sdr_quotas.csv")
    for ledger, rejects in (
        (examples / "data" / "sdr_quotas.csv", None),
        (examples / "l.parquet", examples / "data" / "sdr_activities.csv"),
        (examples / "l.parquet", examples / "l.manifest.json"),
    ):
        with pytest.raises(UsageError, match="spm never writes over a file it reads"):
            result.write(ledger, rejects=rejects)
    assert not (examples / "l.parquet").exists()


def test_the_junit_report_is_never_written_over_a_plan_or_its_tests(spm, examples):
    source = (examples / "plans" / "sdr.test.spm").read_text()
    for junit in ("plans/sdr.test.spm", "plans/sdr.spm"):
        result = spm("test", "plans/sdr.test.spm", "--junit", junit, cwd=examples)
        assert result.returncode == 2 and "is a plan or test file" in result.stderr
    assert (examples / "plans" / "sdr.test.spm").read_text() == source


def test_the_junit_report_follows_no_link_onto_a_plan_and_writes_into_a_pipe(spm, examples):
    """A link named report.xml to the plan was written through (the plan became XML); a named pipe (as
    /dev/null is a device) was replaced by a file of its name."""
    import os
    import threading

    source = (examples / "plans" / "sdr.spm").read_text()
    (examples / "report.xml").symlink_to(examples / "plans" / "sdr.spm")
    linked = spm("test", "plans/sdr.test.spm", "--junit", "report.xml", cwd=examples)
    assert linked.returncode == 2 and "is a plan or test file" in linked.stderr
    assert (examples / "plans" / "sdr.spm").read_text() == source
    pipe = examples / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    piped = spm("test", "plans/sdr.test.spm", "--junit", "pipe", cwd=examples)
    reader.join(timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert got and got[0].startswith(b"<?xml") and pipe.is_fifo()


def test_a_table_the_plan_has_not_is_refused_not_left_unread(spm, tmp_path):
    """A typo (series_rate for series_rates) left the data unread and paid the plan's own rows, silently."""
    crm = spmlang.load(ROOT / "examples" / "plans" / "crm_agents.spm")
    deals = ROOT / "examples" / "data" / "crm" / "sales_pipeline.csv"
    with pytest.raises(UsageError) as error:
        crm.run(deals, tables={"series_rate": tmp_path / "rates.csv"})
    assert str(error.value) == (
        "the plan has no table 'series_rate' (its tables: roster, products, series_rates, quotas); did you mean "
        "'series_rates'?"
    )
    with pytest.raises(UsageError, match="tables= maps the plan's table names to their data .*, not a list"):
        crm.run(deals, tables=[1, 2])
    products = str(ROOT / "examples" / "data" / "crm" / "products.csv")
    twice = spm(
        "run",
        ROOT / "examples/plans/crm_agents.spm",
        "--deals",
        deals,
        "--table",
        f"products={products}",
        "--table",
        "products=other.csv",
    )
    assert twice.returncode == 2 and "--table products is given twice" in twice.stderr


def test_a_table_the_plan_never_reads_is_a_warning(spm, examples):
    """--targets, --roster or an fx table given to a plan that uses none were dropped without a word."""
    targets = examples / "data" / "targets.csv"
    targets.write_text("payee,amount\nnina.sato,10000\n")
    result = spm(
        "run", "plans/sdr.spm", *SDR, "--targets", "data/targets.csv", "--table", "fx=data/fx.csv", cwd=examples
    )
    assert result.returncode == 0, result.stderr
    assert (
        "warning: the targets table given (data/targets.csv) was not read: the plan uses no target incentive; is it "
        "meant for another plan?" in result.stdout + result.stderr
    )
    assert "the fx table given (data/fx.csv) was not read: the plan has no fx table" in result.stdout + result.stderr
    plan = spmlang.load(examples / "plans" / "sdr.spm")
    data = examples / "data"
    quiet = plan.run(data / "sdr_activities.csv", quotas=data / "sdr_quotas.csv")
    assert not any("was not read" in warning for warning in quiet.summary().warnings)
    roster = {"payee": ["nina.sato"], "manager": ["ann"]}
    given = plan.run(data / "sdr_activities.csv", quotas=data / "sdr_quotas.csv", roster=roster)
    assert given.summary().warnings == [
        "the roster table given (a dict) was not read: the plan neither rolls up to managers, nor pays a draw or a "
        "payout floor, nor has a roster block; is it meant for another plan?"
    ]
    assert given.totals().equals(quiet.totals())


def test_spm_diff_gives_each_plan_the_tables_it_has(tmp_path):
    """A table the new plan adds is the new plan's data, not a typo the old plan refuses."""
    from spmlang.diff import diff_plans

    old = ROOT / "examples" / "plans" / "sdr.spm"
    new = tmp_path / "sdr_new.spm"
    text = old.read_text()
    new.write_text(text + "\ntable bonus_rates {\n  column kind text\n  column rate percent\n  key kind\n}\n")
    data = ROOT / "examples" / "data"
    rates = tmp_path / "rates.csv"
    rates.write_text("kind,rate\nmeeting,5%\n")
    report = diff_plans(
        str(old),
        str(new),
        deals=data / "sdr_activities.csv",
        quotas=data / "sdr_quotas.csv",
        tables={"bonus_rates": rates},
    )
    assert report.rows[0] == report.rows[1] > 0 and report.total.old == report.total.new  # the table read, unused
    with pytest.raises(UsageError, match="no table 'bonus_rate'"):
        diff_plans(
            str(old),
            str(new),
            deals=data / "sdr_activities.csv",
            quotas=data / "sdr_quotas.csv",
            tables={"bonus_rate": rates},
        )


@pytest.fixture(scope="module")
def sdr():
    data = ROOT / "examples" / "data"
    plan = spmlang.load(ROOT / "examples" / "plans" / "sdr.spm")
    return plan, plan.run(data / "sdr_activities.csv", quotas=data / "sdr_quotas.csv")


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda r: r.write(None), "write() takes the ledger's path (ledger.parquet), not NoneType"),
        (lambda r: r.write("."), "cannot write '.': the format follows the extension"),
        (lambda r: r.write("l.parquet", rejects="r.xlsx"), "cannot write 'r.xlsx'"),
        (lambda r: r.explain(None), "a payee is named by text, not NoneType (None)"),
        (lambda r: r.explain("ivy.chen", period="Q9"), "no period 'Q9' in this plan"),
        (lambda r: r.statements([None]), "a payee is named by text, not NoneType"),
        (lambda r: r.statements(5), "payees: a name or a list of names, not int"),
    ],
)
def test_results_wrong_arguments_are_usage_errors(sdr, call, said):
    with pytest.raises(UsageError, match=said.replace("(", r"\(").replace(")", r"\)")):
        call(sdr[1])


def test_payees_and_periods_are_one_name_or_several_in_any_form(sdr):
    """A name alone is one payee (not its letters), a generator is read once, a period as --through takes it."""
    _, result = sdr
    everyone = result.statements()
    one = everyone[0].payee
    assert len(result.statements(one)) == len(result.statements(iter([one]))) == len(result.statements([one]))
    assert [s.period for s in result.statements([one], "02")] == ["2027-02"]
    assert result.explain(one, period="02").periods[0].period == "2027-02"


@pytest.mark.parametrize("workers", [0, -1, 2.5, "2", True])
def test_workers_is_a_whole_number_from_one(sdr, workers):
    plan, _ = sdr
    data = ROOT / "examples" / "data"
    with pytest.raises(UsageError, match="workers= is how many processes pay the run, a whole number from 1"):
        plan.run(data / "sdr_activities.csv", quotas=data / "sdr_quotas.csv", workers=workers)


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: spmlang.load(None), "load() takes a path ('plan.spm'), not NoneType"),
        (lambda: spmlang.loads(b"plan"), "loads() takes a plan's text (str), not bytes; a file: spmlang.load(path)"),
        (lambda: spmlang.read_ledger(3), "read_ledger() takes a path ('ledger.parquet'), not int"),
        (lambda: spmlang.read_ledger("l.parquet", columns="payee"), "columns= is a list of the ledger's column"),
    ],
)
def test_loading_with_the_wrong_kind_of_argument_says_what_it_takes(call, said):
    with pytest.raises(UsageError) as error:
        call()
    assert str(error.value).startswith(said)


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda p, r, d: p.run(d, quotas={"a": 1}), "cannot read the quotas from this dict"),
        (lambda p, r, d: p.run(d, progress="x"), "progress= is called as progress(step, done, total), not str"),
        (lambda p, r, d: r.whatif("abc"), "whatif() takes a deal as a dict of the plan's transaction columns"),
        (lambda p, r, d: r.whatif({"meetings": "1"}, payee=5), "payee= names a payee by text, not int"),
    ],
)
def test_running_with_the_wrong_kind_of_argument_says_what_it_takes(sdr, call, said):
    plan, result = sdr
    with pytest.raises(spmlang.SpmError) as error:
        call(plan, result, ROOT / "examples" / "data" / "sdr_activities.csv")
    assert said in str(error.value)
