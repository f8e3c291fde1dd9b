"""spm explain and statements: every figure equals the ledger's, and the scenarios' worked figures."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow as pa
import pytest
from conftest import EXAMPLES
from helpers import DATA, HERE, d, run_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import spmlang


def test_explain_gives_the_figures_of_scenario_s2():
    result = run_scenario("s02a_marginal_ytd", "s02.csv")
    trail = result.explain("alice")
    q1, q2 = trail.periods[0], trail.periods[1]
    d2 = next(line for line in q1.lines if line.txn == "D2")
    assert [(s.credit, s.rate, s.tier, s.amount) for s in d2.slices] == [
        (d("20,000"), "4%", "0%–50%", d("800")),
        (d("20,000"), "8%", "50%–100%", d("1,600")),
    ]
    assert d2.amount == d("2,400.00") and d2.measure_before == d("30,000.00") and d2.measure_after == d("70,000.00")
    assert q1.total == d("9,600.00") and q1.year_to_date == d("9,600.00")
    true_up = next(line for line in q2.lines if line.kind == "true_up")
    assert true_up.amount == d("-3,200.00")
    assert q2.total == d("800.00") and q2.year_to_date == d("10,400.00")


def test_explain_builds_the_ledger_lines_of_the_payee_alone_as_the_ledger_has_them(monkeypatch):
    from spmlang.report import ledger

    result = run_scenario("s09_split_rollup", "s09.csv")
    assert len({line["payee"] for line in result.ledger.to_pylist()}) >= 3
    before = result.explain("alice").to_dict()
    built = []
    build = ledger.build_ledger

    def watched(payout, run, paid=None, sentences=False):
        table = build(payout, run, paid, sentences)
        built.append(table.column("payee").to_pylist() if paid is not None else None)
        return table

    monkeypatch.setattr(ledger, "build_ledger", watched)
    again = spmlang.load(result.payout.run.plan.path).run(DATA / "s09.csv").explain("alice")
    assert built and all(names is not None and set(names) == {"alice"} for names in built)
    assert again.to_dict() == before
    assert json.dumps(again.to_dict(), default=str) == json.dumps(before, default=str)


def test_explain_shows_the_uplift_of_retroactive_tiers_as_in_s3():
    trail = run_scenario("s03_retro_tiers", "s02.csv").explain("alice", txn="D3")
    (line,) = trail.lines
    assert [(s.credit, s.amount) for s in line.slices] == [(d("60,000"), d("7,200")), (d("70,000"), d("2,800"))]


def test_explain_slices_are_at_their_tier_rate_and_the_multiplier_applies_to_their_sum():
    # S3's retroactive tiers with a 1.5x kicker on D2: 40,000 at 8% = 3,200 own, 30,000 re-priced from 4% to 8%
    # = 1,200 uplift; (3,200 + 1,200) x 1.5 = 6,600. A rep must be able to redo each step by hand.
    source = (
        (HERE / "scenarios" / "s03_retro_tiers.spm")
        .read_text()
        .replace("    100% ..      rate 12%\n  }", '    100% ..      rate 12%\n  }\n  multiplier 1.5x when id == "D2"')
    )
    result = spmlang.loads(source).run(DATA / "s02.csv")
    (line,) = result.explain("alice", txn="D2").lines
    assert [(s.credit, s.amount) for s in line.slices] == [(d("40,000"), d("3,200")), (d("30,000"), d("1,200"))]
    assert (line.multiplier, line.exact, line.amount) == (d("1.5"), d("6,600"), d("6,600.00"))
    # The ledger says the same: the multiplier applies to the sum, and the uplift is the earlier credit's.
    (d2,) = [row for row in result.ledger.to_pylist() if row["txn"] == "D2"]
    assert d2["explanation"].endswith("= (3200.00 + uplift 1200.00 on earlier credit) × 1.5 = 6600.00")


def test_a_multiplied_row_of_retroactive_tiers_that_lifts_no_earlier_credit_has_no_uplift():
    # S3's D1 (30,000, in the first tier) with a 2x kicker: 30,000 at 4% x 2 = 2,400, nothing on earlier credit.
    source = (
        (HERE / "scenarios" / "s03_retro_tiers.spm")
        .read_text()
        .replace("    100% ..      rate 12%\n  }", '    100% ..      rate 12%\n  }\n  multiplier 2x when id == "D1"')
    )
    ledger = spmlang.loads(source).run(DATA / "s02.csv").ledger.to_pylist()
    (d1,) = [row for row in ledger if row["txn"] == "D1"]
    assert (d1["amount"], d1["explanation"]) == (d("2,400.00"), "30000.00 at 4% (0%–50%) × 2 = 2400.00")


def test_explain_of_every_tiered_line_reconciles_slices_multiplier_and_ledger():
    plan = spmlang.load(EXAMPLES / "plans" / "account_executive.spm")
    result = plan.run(
        EXAMPLES / "data" / "ae_deals.csv",
        quotas=EXAMPLES / "data" / "ae_quotas.csv",
        targets=EXAMPLES / "data" / "ae_targets.csv",
    )
    tiered = [
        line
        for payee in sorted(set(result.ledger.column("payee").to_pylist()))
        for line in result.explain(payee).lines
        if line.slices
    ]
    assert any(line.multiplier != 1 for line in tiered) and any(len(line.slices) > 1 for line in tiered)
    for line in tiered:
        assert sum(s.amount for s in line.slices) * line.multiplier == line.exact, line


def test_explain_slices_a_line_by_its_own_version_s_tiers_as_in_s18():
    trail = run_scenario("s18_rate_change", "s18.csv").explain("alice")
    d1 = next(line for period in trail.periods for line in period.lines if line.txn == "D1")
    d4 = next(line for period in trail.periods for line in period.lines if line.txn == "D4")
    assert [(s.credit, s.rate) for s in d1.slices] == [(d("50,000"), "8%"), (d("10,000"), "12%")]
    # From July 1: the version's rates, on the measure carried over (130,000 -> 180,000 of 150,000 to date).
    assert [(s.credit, s.rate, s.amount) for s in d4.slices] == [
        (d("20,000"), "9%", d("1,800")),
        (d("30,000"), "14%", d("4,200")),
    ]
    assert d4.clause == "s18_rate_change.spm:36" and "tiers marginal on attainment" in d4.source
    assert d4.explanation.endswith("(rates from 2027-07-01)")


def test_explain_shows_the_cap_and_how_much_it_cut_as_in_s8():
    trail = run_scenario("s08_period_cap", "s08.csv").explain("carl", txn="C3")
    assert [(line.kind, line.amount, line.amount_cut) for line in trail.lines] == [
        ("earning", d("1,500.00"), d("0.00")),
        ("cap", d("-1,000.00"), d("1,000.00")),
    ]
    assert "cap $5,000 per quarter" in trail.lines[1].source


def test_explain_shows_rounding_as_in_s1():
    trail = run_scenario("s01_flat_rate", "s01.csv").explain("alice")
    a3 = next(line for line in trail.lines if line.txn == "A3")
    assert (a3.exact, a3.amount, a3.rounding) == (Decimal("200.044"), d("200.04"), Decimal("-0.004"))


def test_explain_json_has_the_same_figures():
    result = run_scenario("s10_gate", "s10.csv")
    data = json.loads(json.dumps(result.explain("gina").to_dict()))
    assert [(p["period"], p["total"], p["year_to_date"]) for p in data["periods"]] == [
        ("2027-Q1", "0.00", "0.00"),
        ("2027-Q2", "13000.00", "13000.00"),
    ]
    gate_lines = [line for p in data["periods"] for line in p["lines"] if line["kind"] == "gate"]
    assert [line["amount"] for line in gate_lines] == ["-4000.00", "4000.00"]


def test_explain_of_unknown_payee_period_or_transaction_is_a_usage_error():
    result = run_scenario("s01_flat_rate", "s01.csv")
    with pytest.raises(spmlang.UsageError, match="did you mean 'alice'"):
        result.explain("alcie")
    with pytest.raises(spmlang.UsageError, match="its periods are 2027-Q1"):
        result.explain("alice", period="2027-Q5")
    with pytest.raises(spmlang.UsageError, match="no ledger line for transaction 'B1'"):
        result.explain("alice", txn="B1")


def test_statement_lines_add_up_and_adjustments_show_as_such(tmp_path):
    result = run_scenario("s02a_marginal_ytd", "s02.csv")
    q1, q2 = result.statements(["alice"])[:2]
    assert q1.payout == d("9,600.00") and q1.earned == d("9,600.00") and not q1.adjustments
    assert [(a.kind, a.amount) for a in q2.adjustments] == [("true-up", d("-3,200.00"))]
    assert q2.earned + q2.adjusted == q2.payout == d("800.00")
    assert q2.year_to_date == d("10,400.00") and q2.attainment == Decimal("0.9")
    html = q2.to_html()
    assert "Payout 2027-Q2" in html and "800.00" in html and "true-up" in html and "<script" not in html
    csv_text = q2.to_csv()
    assert csv_text.splitlines()[-1].startswith("payout,,,,,,800.00")


def test_statements_are_written_with_safe_names_and_escaped(tmp_path):
    plan = spmlang.loads("""plan "P" { year starts 2027-01-01 }
transactions {
  column id text; column rep text; column day date; column amount money
  key id; date day; payee rep; credit amount
}
component c { rate 10% }
""")
    import pyarrow as pa

    deals = pa.table(
        {
            "id": ["1", "2"],
            "rep": ["../<b>eve</b>", "bob"],
            "day": ["2027-01-02", "2027-01-03"],
            "amount": ["100", "200"],
        }
    )
    from spmlang.report.statement_files import write_statements

    written = write_statements(plan.run(deals).statements(), tmp_path)
    assert all(tmp_path in path.parents for path in written)
    eve = next(path for path in written if "eve" in str(path) and path.suffix == ".html")
    assert "&lt;b&gt;eve&lt;/b&gt;" in eve.read_text() and "<b>eve" not in eve.read_text()
    assert (tmp_path / "index.html").exists()


def test_statements_stopped_midway_leave_whole_files_and_the_previous_index(tmp_path, monkeypatch):
    """Each statement appears whole or not at all; the index is written last, so until a run of statements
    finishes the folder's index is the previous run's, and no partial file is left behind."""
    from pathlib import Path

    from conftest import AE_ARGS, ROOT

    from spmlang.report import statement_files as module

    given = dict(zip(AE_ARGS[1::2], AE_ARGS[2::2], strict=True))
    result = spmlang.load(ROOT / AE_ARGS[0]).run(
        ROOT / given["--deals"], quotas=ROOT / given["--quotas"], targets=ROOT / given["--targets"]
    )
    statements = result.statements()
    module.write_statements(statements, tmp_path)
    index = (tmp_path / "index.html").read_text()
    before = {path: path.read_text() for path in tmp_path.rglob("*") if path.is_file()}
    calls = {"n": 0}
    write_bytes = Path.write_bytes

    def stopped_midway(self, content, *args, **kwargs):  # the third file: half written, then the run stops
        calls["n"] += 1
        if calls["n"] == 3:
            write_bytes(self, content[: len(content) // 2], *args, **kwargs)
            raise KeyboardInterrupt
        return write_bytes(self, content, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", stopped_midway)
    with pytest.raises(KeyboardInterrupt):
        module.write_statements(statements, tmp_path)
    monkeypatch.undo()
    assert (tmp_path / "index.html").read_text() == index
    assert {path: path.read_text() for path in tmp_path.rglob("*") if path.is_file()} == before  # whole, as was
    assert not [path for path in tmp_path.rglob("*") if path.name.endswith(".partial")]


def test_statement_components_cover_the_year_to_date():
    from conftest import ROOT

    result = spmlang.load(ROOT / "examples/plans/account_executive.spm").run(
        ROOT / "examples/data/ae_deals.csv",
        quotas=ROOT / "examples/data/ae_quotas.csv",
        targets=ROOT / "examples/data/ae_targets.csv",
    )
    for statement in result.statements(["ben.okafor"]):
        assert sum(ytd for _, _, ytd in statement.components) == statement.year_to_date
        assert sum(now for _, now, _ in statement.components) == statement.payout


def test_tiered_explanations_read_the_same_whichever_way_they_are_made(tmp_path, monkeypatch):
    """A row's ' at RATE (TIER) × MULTIPLIER = ' is taken whole from its few combinations; made from its parts
    (as for per-row rates) it reads the same, on a plan with accelerators, a kicker multiplier and caps."""
    from conftest import ROOT

    from benchmarks.generate import generate
    from spmlang.engine.pay import descriptions

    data = generate(5_000, 20, tmp_path)
    plan = spmlang.load(ROOT / "benchmarks" / "plans" / "bench.spm")
    whole = plan.run(data["deals"], quotas=data["quotas"], targets=data["targets"]).ledger
    assert any(" × 2 = " in line for line in whole.column("explanation").to_pylist())  # the kicker shows
    monkeypatch.setattr(descriptions, "_at_tier_times", lambda *args: None)
    parts = plan.run(data["deals"], quotas=data["quotas"], targets=data["targets"]).ledger
    assert parts.drop(["run_id"]).equals(whole.drop(["run_id"]))


def test_every_tiered_explanation_is_of_its_own_line(tmp_path):
    """Rows that cross a tier (or carry no credit) get their text made apart from the others and put back in
    place: each line's text still starts with its own credit (split into its slices where it crosses) and
    ends with what it earned."""
    import re

    from conftest import ROOT

    from benchmarks.generate import generate

    data = generate(5_000, 20, tmp_path)
    plan = spmlang.load(ROOT / "benchmarks" / "plans" / "bench.spm")
    ledger = plan.run(data["deals"], quotas=data["quotas"], targets=data["targets"]).ledger.to_pylist()
    lines = [line for line in ledger if line["component"] == "commission" and line["kind"] == "earning"]
    crossing = [line for line in lines if " + " in line["explanation"]]
    assert len(crossing) > 20
    for line in lines:
        text = line["explanation"]
        if line["credit"] == 0:
            assert text.startswith("no change"), line
            continue
        slices = [Decimal(figure) for figure in re.findall(r"(-?[\d.]+) at ", text)]
        assert sum(slices) == line["credit"], line
        assert abs(Decimal(text.rsplit(" = ", 1)[1]) - line["amount"]) < Decimal("0.01"), line


def test_statements_written_from_a_run_are_made_one_payee_at_a_time_and_match_those_listed(tmp_path, monkeypatch):
    from spmlang.report import statement_files
    from spmlang.report import statements as module

    result = spmlang.load(EXAMPLES / "plans" / "account_executive.spm").run(
        EXAMPLES / "data" / "ae_deals.csv",
        quotas=EXAMPLES / "data" / "ae_quotas.csv",
        targets=EXAMPLES / "data" / "ae_targets.csv",
    )
    listed = result.statements()
    on_disk_when_made = []
    made = module.StatementMaker.statements

    def watched(*args, **kwargs):  # as each statement is made, how many statement files are on disk
        for statement in made(*args, **kwargs):
            on_disk_when_made.append(len(list(tmp_path.rglob("*.html"))))
            yield statement

    monkeypatch.setattr(module.StatementMaker, "statements", watched)
    written = result.write_statements(tmp_path / "statements")
    assert on_disk_when_made == list(range(len(listed)))  # each written before the next is made
    assert len(written) == 2 * len(listed) + 1
    for statement in listed:
        page = tmp_path / "statements" / statement_files.slug(statement.payee) / f"{statement.period}.html"
        assert page.read_text() == statement.to_html()
    with pytest.raises(spmlang.UsageError, match="no payee 'ben.okafr' in this run; did you mean 'ben.okafor'"):
        result.write_statements(tmp_path / "other", payees=["ben.okafr"])


FIGURES = """plan "P" { year starts 2027-01-01 }
transactions {
  column id text; column rep text; column day date; column amount money
  key id; date day; payee rep; credit amount
}
component flat { rate 50% / 3 }
component tiered {
  tiers marginal on credit {
    $0     .. $1,000 rate 1%
    $1,000 ..        rate 100% / 6
  }
}
"""


def _deals(*rows):
    import datetime as dt

    import pyarrow as pa

    return pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": [r[1] for r in rows],
            "day": pa.array([dt.date.fromisoformat(r[2]) for r in rows], pa.date32()),
            "amount": pa.array([Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
        }
    )


def test_explain_writes_rates_to_four_decimals_and_amounts_with_thousands_separators():
    from spmlang.report.render.terminal import explanation_renderable, plain_text

    result = spmlang.loads(FIGURES, "p.spm").run(_deals(("A", "ann", "2027-01-02", "3000")))
    trail = result.explain("ann")
    flat = next(line for line in trail.lines if line.component == "flat")
    assert flat.explanation == "3,000.00 × 16.6667% = 500.00"
    tiered = next(line for line in trail.lines if line.component == "tiered")
    assert [(s.credit, s.rate, s.amount) for s in tiered.slices] == [
        (d("1,000"), "1%", d("10")),
        (d("2,000"), "16.6667%", Decimal("333.333333")),
    ]
    assert sum(s.amount for s in tiered.slices) == tiered.exact
    assert tiered.explanation == "1,000.00 at 1% ($0–$1,000) + 2,000.00 at 16.6667% ($1,000+) = 343.333333"
    shown = plain_text(explanation_renderable(trail), 120)
    assert "3,000.00 × 16.6667% = 500.00" in shown and "2,000.00 at 16.6667% in tier $1,000+ = 333.333333" in shown
    data = json.loads(json.dumps(trail.to_dict()))
    (line,) = [line for p in data["periods"] for line in p["lines"] if line["component"] == "tiered"]
    assert line["explanation"] == tiered.explanation
    assert [(s["credit"], s["rate"]) for s in line["slices"]] == [("1000.00", "1%"), ("2000.00", "16.6667%")]


def test_compile_explain_writes_rates_to_four_decimals():
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    plan = spmlang.loads(
        FIGURES + "component kicker {\n  rate 1%\n  multiplier 4 / 3 when amount > $10\n}\n", "p.spm"
    ).checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan)
    assert "$1,000+: 16.6667%" in steps and "multiply by 1.3333x when amount > $10" in steps
    assert "16.66666" not in steps and "1.33333" not in steps


def test_compile_explain_says_each_version_with_its_dates_and_clause():
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    plan = spmlang.load(HERE / "scenarios" / "s18_rate_change.spm").checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan)
    first = steps.index("version from the start of the plan year to 2027-06-30 (rows dated then)")
    second = steps.index("version from 2027-07-01 (rows dated then)  [")
    assert steps[second:].split("\n")[0].endswith("s18_rate_change.spm:36]")
    assert first < steps.index("0%–100%: 8%") < steps.index("100%+: 12%") < second < steps.index("100%+: 14%")
    assert "re-price earlier credit on the new quota to date (each version its own rows)" in steps


def test_explain_measures_tiers_on_row_credit_on_the_row_alone():
    # S4: E2's 25,000 is sliced from 0 (10,000 at 2% + 15,000 at 4%), not from the 8,000 of E1 before it.
    from spmlang.report.render.terminal import explanation_renderable, plain_text

    result = run_scenario("s04_deal_size_tiers", "s04.csv")
    trail = result.explain("erin", txn="E2")
    (line,) = trail.lines
    assert (line.measure_before, line.measure_after, line.attainment_after) == (d("0.00"), d("25,000.00"), None)
    assert line.own_measure and sum(s.credit for s in line.slices) == line.measure_after
    shown = plain_text(explanation_renderable(trail), 120)
    assert "credit 25,000.00   measure (this row alone) 0.00 → 25,000.00" in shown
    # A rule on the accumulated measure still shows the payee's year to date.
    (d2,) = run_scenario("s02a_marginal_ytd", "s02.csv").explain("alice", txn="D2").lines
    assert (d2.measure_before, d2.measure_after, d2.own_measure) == (d("30,000.00"), d("70,000.00"), False)


def test_explain_of_a_curve_on_row_credit_shows_the_row_alone_and_the_flat_top():
    source = (
        FIGURES.split("component flat")[0]
        + """component deal_bonus {
  curve on row credit {
    $10,000 -> $500
    $50,000 -> $4,500
  }
}
"""
    )
    result = spmlang.loads(source, "p.spm").run(
        _deals(("A", "ann", "2027-01-02", "30000"), ("B", "ann", "2027-01-03", "80000"))
    )
    trail = result.explain("ann", txn="B")
    assert [(line.kind, line.amount, line.explanation) for line in trail.lines] == [
        ("earning", d("7,500.00"), "row credit 80,000.00: curve pays 7,500.00 = 7,500.00"),
        ("cap", d("-3,000.00"), "the payout curve is flat above 50,000.00: 3,000.00 cut"),
    ]
    assert [(line.measure_before, line.measure_after) for line in trail.lines] == [(d("0.00"), d("80,000.00"))] * 2


decimals = st.one_of(
    st.none(), st.decimals(min_value=-(10**11), max_value=10**11, allow_nan=False, allow_infinity=False, places=6)
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(decimals, decimals, st.none() | st.dates()), max_size=30),
    st.sampled_from([0, 2, 6]),
    st.sampled_from([(0, 0), (0, 10**9), (10**9, 10**9)]),  # each way of making them: (FEW, MANY)
)
def test_ledger_lines_made_python_records_column_by_column_are_pyarrow_s_own(rows, scale, sizes):
    from unittest import mock

    from spmlang.report import python_rows as module

    ratio, money, day = zip(*rows, strict=True) if rows else ((), (), ())
    table = pa.table(
        {
            "ratio": pa.array(ratio, pa.decimal128(18, 6)),
            "money": pa.array([None if m is None else round(m, scale) for m in money], pa.decimal128(18, scale)),
            "day": pa.array(day, pa.date32()),
            "text": pa.array([str(m) for m in money]).dictionary_encode(),
        }
    )
    expected = table.to_pylist()
    with mock.patch.multiple(module, FEW=sizes[0], MANY=sizes[1]):
        made = module.python_rows(table)
    assert made == expected
    assert [{k: repr(v) for k, v in r.items()} for r in made] == [{k: repr(v) for k, v in r.items()} for r in expected]


def test_a_ledger_is_made_python_records_in_a_fraction_of_pyarrow_s_time():
    import time

    from spmlang.report.python_rows import python_rows

    ledger = (
        spmlang.load(EXAMPLES / "plans" / "account_executive.spm")
        .run(
            EXAMPLES / "data" / "ae_deals.csv",
            quotas=EXAMPLES / "data" / "ae_quotas.csv",
            targets=EXAMPLES / "data" / "ae_targets.csv",
        )
        .ledger
    )
    ledger = pa.concat_tables([ledger] * 100)  # ~25,000 lines

    def cpu(make) -> float:
        times = []
        for _ in range(3):
            started = time.process_time()
            make(ledger)
            times.append(time.process_time() - started)
        return min(times)

    assert python_rows(ledger) == ledger.to_pylist()
    assert cpu(python_rows) < 0.75 * cpu(pa.Table.to_pylist)


def test_compile_explain_says_which_columns_are_read():
    """The benchmark's `product` is text that nothing names: in the file, not read (docs/language.md)."""
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    plan = spmlang.load(HERE.parent / "benchmarks" / "plans" / "bench.spm").checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan).split("\n")
    (columns,) = [line.strip() for line in steps if line.strip().startswith("columns:")]
    assert "deal_type (text)" in columns and "product" not in columns
    assert "in the file, not read (text that nothing names): product" in [line.strip() for line in steps]


def test_compile_explain_says_the_pay_cycle_steps_with_their_clauses():
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    path = HERE.parent / "examples" / "pay-cycle" / "plan.spm"
    source = path.read_text()
    plan = spmlang.loads(source, "plan.spm").checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan).split("\n")

    def step(start: str) -> str:
        (found,) = [line for line in steps if start in line]
        return found

    assert step("cancellations: a date in column cancelled cancels the row").endswith("[plan.spm:23]")
    clawbacks = [line for line in steps if "clawback as_paid, in the period of the cancellation" in line]
    assert len(clawbacks) == 2  # the commission's and the spif's: the plan's clawback, with its window
    assert all("more than 180 days after the row's date is not clawed back  [plan.spm:7]" in c for c in clawbacks)
    assert step("hold a row's lines until paid_date is not empty (hold lines)")
    assert step("draw: top each period's pay up to it (amount $6,000 per quarter; draw lines)").endswith(
        "[plan.spm:49]"
    )
    assert step("recoverable: owed back from later pay above the draw, at most 50% of it (draw_recovery lines)")
    assert step("no draw in periods that start after 2027-06-30")
    assert step("payout floor 0.00 USD: a period's pay below it topped up (floor lines)").endswith("[plan.spm:8]")
    order = [steps.index(step(s)) for s in ("round each", "earlier ledgers (--paid)", "draw:", "payout floor")]
    assert order == sorted(order) and steps[order[-1] + 1].endswith(". pay")
    assert not any("twinned" in line for line in steps)

    # A component that recalculates: its cancelled rows get reversed twins, and it says so.
    recalculating = source.replace(
        "  tiers marginal on attainment {", "  clawback recalculate\n  tiers marginal on attainment {"
    )
    plan = spmlang.loads(recalculating, "plan.spm").checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan).split("\n")
    assert step("a cancelled row's credit rows twinned on the cancellation date, their credit reversed")
    assert step("clawback recalculate, in the period of the cancellation: its reversal priced as a row").endswith(
        "[plan.spm:36]"
    )


def test_compile_explain_says_how_a_payee_paid_in_another_currency_is_paid():
    from spmlang.engine.compile import compile_plan
    from spmlang.engine.steps import plan_steps, render_steps

    plan = spmlang.load(HERE.parent / "examples" / "plans" / "emea.spm").checked
    steps = render_steps(plan_steps(compile_plan(plan)), plan)
    assert "pay each payee in the currency of their roster row (paid_in): each period's pay in USD converted" in steps
    assert "cancellations" not in steps and "draw:" not in steps and "payout floor" not in steps


def test_explaining_a_closed_period_says_which_ledger_paid_it(tmp_path):
    from test_pay_cycle import deals, plan

    cycle = plan()
    data = deals(("X1", "ann", "2027-02-01", "renewal", 10000), ("X2", "ann", "2027-05-01", "renewal", 10000))
    cycle.run(data, through="2027-Q1").write(tmp_path / "q1.parquet")
    trail = cycle.run(data, paid=[tmp_path / "q1.parquet"]).explain("ann", period="2027-Q1")
    assert trail.periods == []
    assert trail.closed == (
        f"2027-Q1 is closed: it was paid by {tmp_path / 'q1.parquet'}; this run writes nothing in it: what changed "
        "in it since is adjusted in 2027-Q2"
    )
    assert cycle.run(data, paid=[tmp_path / "q1.parquet"]).explain("ann", period="2027-Q2").closed is None


def test_a_release_shows_what_the_earlier_ledger_paid_and_held_each_by_kind(tmp_path):
    from test_pay_cycle import deals, plan

    cycle = plan(spif="  payable when paid is not empty\n")
    cycle.run(deals(("H1", "ann", "2027-02-10", "new", 10000)), through="2027-Q1").write(tmp_path / "q1.parquet")
    collected = deals(("H1", "ann", "2027-02-10", "new", 10000, None, None, "2027-04-03"))
    trail = cycle.run(collected, paid=[tmp_path / "q1.parquet"], through="2027-Q2").explain("ann", period="2027-Q2")
    [release] = [line for line in trail.lines if line.kind == "release"]
    assert release.original == [
        "paid by an earlier ledger in 2027-Q1: spif 500.00",
        "paid by an earlier ledger in 2027-Q1: hold -500.00",
    ]


def test_print_shows_what_spm_prints_not_the_fields():
    """README: print(whatif) prints what `spm whatif` prints; likewise a trail and a statement."""
    from test_pay_cycle import deals, plan

    result = plan().run(deals(("P1", "ann", "2027-02-01", "renewal", 10000)), keep_transactions=True)
    for shown in (result.explain("ann"), result.statements(["ann"])[0], result.whatif({"amount": "5000"}, "ann")):
        text = str(shown)
        assert "ann" in text and type(shown).__name__ + "(" not in text and "\x1b[" not in text
