"""Totals by group sums (spmlang/engine/pay/sums.py) against the reference evaluator and against the lines.

A run asked only for its totals (`spm run` without `--out`, `Result.totals()`, `spm diff`) pays them by group sums
where the plan allows, and makes no line. Every total must be what the ledger's lines add up to, to the cent, cell
by cell: the same cells (those with any line, a zero one included), the same amounts, the same balances owed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference.evaluator import Reference
from strategies import ROSTER, as_tables, data, plans, roster_table
from test_differential import DrawnYear, engine_status, reference_lines
from test_differential_dated import DrawnDatedYear

import spmlang
from benchmarks.generate import generate
from spmlang.engine import payout as payout_module
from spmlang.engine.pay.sums import lines_needed, run_needs_lines

BENCH = ROOT / "benchmarks" / "plans" / "bench.spm"


def totals(result) -> dict[tuple, Decimal]:
    return {(r["payee"], r["period"], r["component"]): r["amount"] for r in result.totals().to_pylist()}


def reference_totals(reference: Reference, labels: list[str]) -> dict[tuple, Decimal]:
    cells: dict[tuple, Decimal] = defaultdict(Decimal)
    for payee, period, component, *_, amount, _for_period, _balance in reference_lines(reference):
        cells[(payee, labels[period], component or None)] += amount
    return dict(cells)


def by_sums(result) -> bool:
    """Whether the result's totals were paid by group sums (no line count kept)."""
    return result.payout.totals is not None and result.payout.totals.lines is None


@settings(
    max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_totals_by_group_sums_equal_the_reference_to_the_cent(drawn):
    cycle = drawn.draw(st.booleans(), label="pay cycle")
    summable = drawn.draw(st.sampled_from([True, True, False]), label="summable")  # most, or anything
    text = drawn.draw(plans(cycle=cycle, summable=summable), label="plan")
    year = DrawnYear.draw(drawn, text)
    plan, rows, labels = year.plan, year.rows, year.plan.periods
    result, actual = year.run(drawn, totals)
    reference = year.reference()
    why = lines_needed(result.payout.run.compiled)
    event(f"paid by group sums: {why is None}")
    checked = plan.checked
    modes = (
        sorted({checked.clawback(c).mode.value for c in checked.components}) if checked.transactions.cancelled else []
    )
    event(f"by group sums, clawbacks: {', '.join(modes) if why is None and modes else 'none'}")
    assert by_sums(result) == (why is None) or not result.accounting["credited"]
    expected = reference_totals(reference, labels)  # runs the reference, which then knows each row's fate
    assert engine_status(result, len(rows)) == reference.status
    assert actual == expected


@settings(
    max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_group_sums_and_lines_give_the_same_totals_and_balances(drawn):
    """The same run, its totals by group sums and from its lines (the ledger made first): equal, and so are the
    balances owed at the end (draws, floors) and the summary."""
    text = drawn.draw(plans(cycle=True, summable=True), label="plan")
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels)), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, labels)
    runs = [plan.run(deals, quotas=quota_table, targets=target_table, roster=roster_table()) for _ in range(2)]
    runs[1].ledger  # noqa: B018 - its lines made first: its totals are theirs
    assert totals(runs[0]) == totals(runs[1])
    event(f"paid by group sums: {by_sums(runs[0]) if runs[0].accounting['credited'] else 'no rows'}")
    assert runs[0].owed().to_pylist() == runs[1].owed().to_pylist()
    assert str(runs[0].summary()) == str(runs[1].summary())


@pytest.mark.parametrize(
    ("plan", "args"),
    [
        ("examples/plans/account_executive.spm", ["examples/data/ae_deals.csv"]),
        ("examples/plans/sdr.spm", ["examples/data/sdr_activities.csv"]),
        ("examples/pay-cycle/plan.spm", ["examples/pay-cycle/deals-Q2.csv"]),
    ],
)
def test_the_examples_total_the_same_by_group_sums_as_by_lines(plan, args):
    loaded = spmlang.load(ROOT / plan)
    tables = {
        "account_executive": {"quotas": "examples/data/ae_quotas.csv", "targets": "examples/data/ae_targets.csv"},
        "sdr": {"quotas": "examples/data/sdr_quotas.csv"},
    }.get(Path(plan).stem, {})
    kwargs = {name: ROOT / path for name, path in tables.items()}
    summed, lined = (loaded.run(ROOT / args[0], **kwargs) for _ in range(2))
    lined.ledger  # noqa: B018
    assert totals(summed) == totals(lined)
    assert by_sums(summed) == (lines_needed(loaded.compiled) is None)


@pytest.mark.parametrize("tight", [False, True])
def test_the_benchmark_plan_totals_by_group_sums_making_no_line(tmp_path, tight):
    """The benchmark plan (tiers with true-ups, a kicker, caps, clawbacks as paid, a draw) pays its totals by group
    sums, no batch line by line, and they are its lines' to the cent; with targets a tenth as large every yearly
    cap binds, before and after cancellations."""
    data = generate(20_000, 60, tmp_path)
    tables = {"quotas": data["quotas"], "targets": data["targets"]}
    if tight:
        targets = pq.read_table(data["targets"])
        tight_amounts = pa.array([round(a / 10) for a in targets["amount"].to_pylist()], pa.float64())
        pq.write_table(targets.set_column(1, "amount", tight_amounts), tmp_path / "tight.parquet")
        tables["targets"] = tmp_path / "tight.parquet"
    plan = spmlang.load(BENCH)
    assert lines_needed(plan.compiled) is None
    with mock.patch.object(payout_module, "pay_batch", side_effect=AssertionError("a batch paid line by line")):
        summed = plan.run(data["deals"], workers=1, **tables)
        assert summed.totals().num_rows > 0
    assert by_sums(summed) and run_needs_lines(summed.payout.run) is None
    lined = plan.run(data["deals"], workers=1, **tables)
    lined.ledger  # noqa: B018
    kinds = set(lined.ledger.column("kind").to_pylist())
    assert {"clawback", "cap", "draw", "true_up"} <= kinds if tight else {"clawback", "draw", "true_up"} <= kinds
    assert totals(summed) == totals(lined)
    assert summed.owed().to_pylist() == lined.owed().to_pylist()


def test_a_plan_cap_needs_the_lines_and_says_so():
    """A plan cap cuts a payee's lines in ledger order across components: which component's line it cuts decides
    the component's total, so the totals are added up from the lines."""
    text = (ROOT / "examples/pay-cycle/plan.spm").read_text() + "\ncap $1,000 per year\n"
    plan = spmlang.loads(text, "plan.spm")
    assert lines_needed(plan.compiled) == "a plan cap cuts a payee's lines in ledger order, across components"


def test_compile_explain_says_which_way_each_component_pays_its_totals():
    from spmlang.engine.steps import plan_steps, render_steps

    bench = spmlang.load(BENCH)
    steps = render_steps(plan_steps(bench.compiled), bench.checked)
    assert "E at each row's running measure (a payee's rows in date order), summed per period" in steps
    assert "each row's amount (in any order), summed per period" in steps
    assert "totals alone (spm run without --out, spm diff, Result.totals()): by group sums, no line made" in steps
    sdr = spmlang.load(ROOT / "examples/plans/sdr.spm")
    steps = render_steps(plan_steps(sdr.compiled), sdr.checked)
    assert "added up from the lines: a plan cap cuts a payee's lines in ledger order, across components" in steps


@settings(
    max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_totals_near_the_money_limit_are_exact_or_an_error(drawn):
    """Plans and data scaled toward the largest amount spm holds: every total by group sums is the reference's to
    the cent, or the run stops with E511 (the lines then say which amount of which clause). Never a wrapped
    number."""
    scale = drawn.draw(st.sampled_from([10**5, 10**6, 10**7]), label="scale")
    text = drawn.draw(plans(scale, summable=True), label="plan")
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels), scale), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, labels)
    reference = Reference(plan.checked, rows, quotas, targets, ROSTER, labels=labels)
    try:
        actual = totals(plan.run(deals, quotas=quota_table, targets=target_table, roster=roster_table()))
    except spmlang.AmountTooLarge as error:
        event("stopped: too large")
        assert error.code == "E511" and "too large to hold" in str(error)
        return
    event("paid")
    assert actual == reference_totals(reference, labels)


@settings(
    max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_a_dated_roster_and_currencies_total_the_same_by_group_sums(drawn):
    """A roster with dates (employment, proration, a fallback payee), dated quotas and targets, money in other
    currencies and payees paid in theirs (an fx line a period, nothing in the plan's currency): the totals by
    group sums are the lines'."""
    year = DrawnDatedYear.draw(drawn)
    summed, lined = (year.plan.run(**year.inputs) for _ in range(2))
    lined.ledger  # noqa: B018
    assert totals(summed) == totals(lined)
    assert summed.owed().to_pylist() == lined.owed().to_pylist()
    event(f"paid by group sums: {by_sums(summed) if summed.accounting['credited'] else 'no rows'}")
    event(f"payees paid in other currencies: {year.shape['pay_in']}")


def test_compile_explain_says_what_each_component_sums_and_names_earlier_ledgers():
    """A bonus has no line on a row, so nothing of it is clawed back, and a component without a cap is not
    capped: the explanation says neither of them. The run's own reason to add up lines, earlier ledgers that
    closed periods, is said beside `by group sums`."""
    from spmlang.engine.steps import plan_steps, render_steps

    text = BENCH.read_text() + "\nbonus kicker {\n  pay $1,000 once when attainment >= 50%\n}\n"
    plan = spmlang.loads(text, "bench.spm")
    assert lines_needed(plan.compiled) is None
    steps = render_steps(plan_steps(plan.compiled), plan.checked)
    bonus = steps[steps.index("bonus kicker") :]
    bonus = bonus[: bonus.index("\n", bonus.index("totals alone"))]
    assert "its condition on the measures at each period end" in bonus
    assert "cancelled or held row" not in bonus and "capped" not in bonus  # nor has it a cap
    commission = steps[steps.index("component commission") :]
    commission = commission[: commission.index("\n", commission.index("totals alone"))]
    assert "rounded and capped on running totals at period ends; a cancelled or held row's own line" in commission
    assert "by group sums, no line made (from the lines where earlier ledgers, --paid, closed periods)" in steps


def test_a_credit_note_clawed_back_at_rate_by_a_retroactive_tier(tmp_path):
    """Clawed back at rate, a row of a retroactive tier gives back its own credit at the tier's rate, rounded on its
    own: here -0.03 for a credit note whose line, rounded cumulatively after 4.40484, paid -0.02. A negative amount
    must not be taken for "no fixed amount" (found by the test above)."""
    plan = spmlang.loads(
        'plan "P" {\n  year starts 2027-01-01\n  payout quarterly\n  clawback at_rate\n}\n'
        "transactions {\n  column id text\n  column rep text\n  column day date\n  column amount money\n"
        "  column cancel date\n  key id\n  date day\n  payee rep\n  credit amount\n  cancelled cancel\n}\n"
        "component c {\n  tiers retroactive on row credit {\n"
        "    $0 .. $87,000 rate 0.44%\n    $87,000 .. rate 1%\n  }\n}\n",
        "plan.spm",
    )
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount,cancel\nA,ann,2027-02-01,1001.10,\nB,ann,2027-05-01,-6.39,2027-10-09\n")
    summed, lined = (plan.run(deals) for _ in range(2))
    lines = [(r["period"], r["kind"], r["amount"]) for r in lined.ledger.to_pylist()]
    assert ("2027-Q2", "earning", Decimal("-0.02")) in lines and ("2027-Q4", "clawback", Decimal("0.03")) in lines
    assert totals(summed) == totals(lined)
