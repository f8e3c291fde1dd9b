"""spm plot draws what the engine pays: every plotted point of every rule of the example plans (and of tiers,
curves, caps, gates and bonuses the examples lack) is run through the engine as a payee of its own, with one deal
of the point's credit (or as many deals as the point's rows), and paid to the cent what the chart shows."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from conftest import EXAMPLES

import spmlang
from spmlang.engine.kernels.money import UNIT
from spmlang.report.curves import REFERENCE, ROWS, Pay, Scale, component_curve, plan_curves

PLANS = EXAMPLES / "plans"
CRM = EXAMPLES / "data" / "crm"
MONEY = pa.decimal128(24, 6)


def money(units) -> Decimal:
    return Decimal(int(units)) / UNIT


def paid(result, component: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for line in result.ledger.select(["payee", "component", "amount"]).to_pylist():
        if line["component"] == component:
            totals[line["payee"]] += line["amount"]
    return totals


def assert_engine_pays(series, payees: list[str], totals: dict[str, Decimal], where: str) -> None:
    wrong = [
        (float(x), Decimal(int(cents)) / 100, totals.get(payee, Decimal(0)))
        for x, cents, payee in zip(series.x, series.cents, payees, strict=True)
        if Decimal(int(cents)) / 100 != totals.get(payee, Decimal(0))
    ]
    assert not wrong, f"{where}, {series.label}: (x, plotted, engine) differ at {wrong[:5]} ({len(wrong)} points)"


# ---------------------------------------------------------------------- the example plans


def test_account_executive_points_are_what_the_engine_pays():
    plan = spmlang.load(PLANS / "account_executive.spm")
    scale = Scale(quota=1_000_000 * UNIT, target=80_000 * UNIT)
    commission, spif = plan_curves(plan.compiled, scale)
    assert len(commission.series) == 2 and commission.levels, "the kicker's line and the cap are drawn"
    for series, term in zip(commission.series, (12, 24), strict=True):
        payees = [f"p{i:04d}" for i in range(series.measure.size)]
        deals = {
            "deal_id": payees,
            "owner": payees,
            "close_date": ["2027-11-15"] * len(payees),  # Q4: quota to date is the year's
            "stage": ["Closed Won"] * len(payees),
            "deal_type": ["expansion"] * len(payees),
            "amount": pa.array([money(m) for m in series.measure], MONEY),
            "term_months": [term] * len(payees),
        }
        result = plan.run(
            pa.table(deals), quotas=_quarters(payees, "owner", "quarter", "quota", 250_000), targets=_ae_targets(payees)
        )
        assert_engine_pays(series, payees, paid(result, "commission"), "commission")
    (series,) = spif.series
    payees, ids = [], []
    for i, count in enumerate(series.measure.tolist()):
        payees.append(f"p{i:04d}")
        ids += [(f"p{i:04d}-{k}", f"p{i:04d}") for k in range(count)]
    deals = {
        "deal_id": [key for key, _ in ids],
        "owner": [owner for _, owner in ids],
        "close_date": ["2027-02-10"] * len(ids),
        "stage": ["Closed Won"] * len(ids),
        "deal_type": ["new_logo"] * len(ids),
        "amount": pa.array([Decimal("1000")] * len(ids), MONEY),
        "term_months": [12] * len(ids),
    }
    result = plan.run(
        pa.table(deals), quotas=_quarters(payees, "owner", "quarter", "quota", 250_000), targets=_ae_targets(payees)
    )
    assert_engine_pays(series, payees, paid(result, "new_logo_q1"), "new_logo_q1")


def test_a_dated_version_is_drawn_on_its_own_and_its_points_are_what_the_engine_pays():
    plan = spmlang.load(PLANS / "account_executive_july.spm")
    scale = Scale(quota=1_000_000 * UNIT, target=80_000 * UNIT)
    before, after, _ = plan_curves(plan.compiled, scale)
    assert before.title == "component commission: rate 8%"
    assert after.title == "component commission from 2027-07-01: rate 9%"
    series = after.series[0]
    payees = [f"p{i:04d}" for i in range(series.measure.size)]
    deals = {
        "deal_id": payees,
        "owner": payees,
        "close_date": ["2027-11-15"] * len(payees),  # under the July version; quota to date is the year's
        "stage": ["Closed Won"] * len(payees),
        "deal_type": ["expansion"] * len(payees),
        "amount": pa.array([money(m) for m in series.measure], MONEY),
        "term_months": [12] * len(payees),
    }
    result = plan.run(
        pa.table(deals), quotas=_quarters(payees, "owner", "quarter", "quota", 250_000), targets=_ae_targets(payees)
    )
    assert_engine_pays(series, payees, paid(result, "commission"), "commission")
    # spm diff --plot: the change from July 1 is drawn against the old plan's rule then.
    from spmlang.report.curves import changed_curves

    [(old, new)] = changed_curves(spmlang.load(PLANS / "account_executive.spm").compiled, plan.compiled, scale)
    assert old is not None and new is not None and new.title == after.title


def test_sdr_points_are_what_the_engine_pays():
    plan = spmlang.load(PLANS / "sdr.spm")
    meetings, opportunities = plan_curves(plan.compiled, Scale(quota=20 * UNIT))
    assert meetings.closed and meetings.levels, "the gate and the plan's cap are drawn"
    for curve, activity, pipelines in ((meetings, "meeting", (None,)), (opportunities, "opportunity", (1000, 60_000))):
        for series, pipeline in zip(curve.series, pipelines, strict=True):
            payees, rows = [], []
            for i, count in enumerate(series.measure.tolist()):
                payees.append(f"p{i:04d}")
                rows += [(f"p{i:04d}-{k}", f"p{i:04d}") for k in range(count)]
            activities = {
                "activity_id": [key for key, _ in rows],
                "sdr": [sdr for _, sdr in rows],
                "activity_date": ["2027-01-20"] * len(rows),
                "activity": [activity] * len(rows),
                "qualified": [True] * len(rows),
                "pipeline": pa.array([None if pipeline is None else Decimal(pipeline)] * len(rows), MONEY),
            }
            quotas = pa.table({"sdr": payees, "month": ["2027-01"] * len(payees), "meetings": [20] * len(payees)})
            result = plan.run(pa.table(activities), quotas=quotas)
            assert_engine_pays(series, payees, paid(result, curve.name), curve.name)


@pytest.mark.parametrize(("product", "rate", "multiplied"), [("GTK 500", "0.08", False), ("MG Special", "0.04", True)])
def test_crm_commission_points_at_a_rows_rate_are_what_the_engine_pays(product, rate, multiplied):
    """A rate looked up per row draws in units of that rate; told the rate, the chart pays what the engine does.
    GTK 500 sells for 26,768 (no deal on the chart reaches it: no kicker); MG Special for 55 (every deal from 55
    up has the kicker)."""
    plan = spmlang.load(PLANS / "crm_agents.spm")
    scale = Scale(quota=10_000 * UNIT)
    curve = component_curve(Pay(plan.compiled, 0, scale, row_rate=Decimal(rate)))
    series = curve.series[1 if multiplied else 0]
    keep = series.measure >= 55 * UNIT if multiplied else np.ones(series.measure.size, dtype=bool)
    measures = series.measure[keep]
    payees = [f"p{i:04d}" for i in range(measures.size)]
    deals = _crm_deals(payees, measures, product)
    roster = pa.table({"sales_agent": payees, "manager": [f"m{p}" for p in payees]})
    result = plan.run(
        deals,
        quotas=_quarters(payees, "sales_agent", "quarter", "quota", 2_500, year=2017),
        roster=roster,
        tables={"products": CRM / "products.csv"},
    )
    totals = paid(result, "commission")
    for payee, cents, x in zip(payees, series.cents[keep], series.x[keep], strict=True):
        assert totals.get(payee, Decimal(0)) == Decimal(int(cents)) / 100, f"commission at {x}% attainment"
    assert component_curve(Pay(plan.compiled, 0, scale)).y_label.endswith("per unit of the row's rate")


def test_crm_manager_override_points_are_what_the_engine_pays():
    plan = spmlang.load(PLANS / "crm_agents.spm")
    override = plan_curves(plan.compiled, names=["manager_override"])[0]
    (series,) = override.series
    reps = [f"p{i:04d}" for i in range(series.measure.size)]
    roster = pa.table({"sales_agent": reps, "manager": [f"m{rep}" for rep in reps]})
    result = plan.run(
        _crm_deals(reps, series.measure, "GTX Basic"),
        quotas=_quarters(reps, "sales_agent", "quarter", "quota", 2_500, year=2017),
        roster=roster,
        tables={"products": CRM / "products.csv"},
    )
    assert_engine_pays(series, [f"m{rep}" for rep in reps], paid(result, "manager_override"), "manager_override")


def _crm_deals(payees: list[str], measures, product: str) -> pa.Table:
    return pa.table(
        {
            "opportunity_id": payees,
            "sales_agent": payees,
            "product": [product] * len(payees),
            "deal_stage": ["Won"] * len(payees),
            "close_date": ["15-11-17"] * len(payees),
            "close_value": pa.array([money(m) for m in measures], MONEY),
        }
    )


def _quarters(payees, payee: str, period: str, amount: str, each: int, year: int = 2027) -> pa.Table:
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    return pa.table(
        {
            payee: [p for p in payees for _ in quarters],
            period: quarters * len(payees),
            amount: [float(each)] * (4 * len(payees)),
        }
    )


def _ae_targets(payees) -> pa.Table:
    return pa.table({"owner": payees, "target_incentive": [80_000.0] * len(payees)})


# ---------------------------------------------------------------------- rules the examples lack

PLAN = """
plan "Charts" {{
  year starts 2027-01-01
  payout quarterly
  measure {measure}
}}

transactions {{
  column id     text
  column rep    text
  column day    date
  column amount money
  column size   text
  key    id
  date   day
  payee  rep
  credit amount
}}

{kind} c {{
{body}
}}
{plan_cap}
"""

RULES = {
    "retroactive tiers on attainment, a cap per year": (
        "tiers retroactive on attainment {\n 0% .. 50% rate 2%\n 50% .. 100% rate 5%\n 100% .. rate 9%\n}\n"
        "cap $120,000 per year"
    ),
    "marginal tiers on credit, a multiplier": (
        "tiers marginal on credit {\n $0 .. $100,000 rate 3%\n $100,000 .. rate 6%\n}\n"
        'multiplier 1.5x when size == "large"'
    ),
    "a curve in % of target": (
        "curve on attainment {\n 50% -> 25% of target\n 100% -> 100% of target\n 150% -> 200% of target\n}"
    ),
    "a curve in money, extended both ways": (
        "curve on attainment {\n 50% -> $20,000\n 100% -> $40,000\n extend below\n extend above\n}"
    ),
    "retroactive tiers on row credit, a cap per row": (
        "tiers retroactive on row credit {\n $0 .. $10,000 rate 2%\n $10,000 .. rate 4%\n}\ncap $600 per row"
    ),
    "a curve on row credit": "curve on row credit {\n $10,000 -> $500\n $50,000 -> $4,500\n}",
    "a gate": "rate 5%\ngate attainment >= 60%",
    "a bonus": "pay $5,000 once when attainment >= 100%",
    "a plan cap": "rate 10%",
    "pay per row, capped per row and per year": (
        'pay $100 per deal\nmultiplier 1.5x when size == "large"\ncap $120 per row\ncap $1,000 per year'
    ),
    "an accelerator capped in % of target": (
        "rate 10%\naccelerator on attainment {\n 0% .. 100% 1x\n 100% .. 2x\n}\ncap 150% of target per year"
    ),
    "period to date: a cap per period": "rate 8%\ncap $10,000 per period",
    "period to date: marginal tiers and a gate": (
        "tiers marginal on attainment {\n 0% .. 100% rate 5%\n 100% .. rate 10%\n}\ngate attainment >= 40%"
    ),
}
QUOTA, TARGET = 1_000_000, 100_000


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_plotted_is_what_the_engine_pays(rule):
    per_period = rule.startswith("period to date")
    text = PLAN.format(
        measure="period_to_date" if per_period else "year_to_date",
        kind="bonus" if rule == "a bonus" else "component",
        body=RULES[rule],
        plan_cap="cap $20,000 per year" if rule == "a plan cap" else "",
    )
    plan = spmlang.loads(text, "charts.spm")
    # The chart's payee: its quota and target on the plan's basis (the year's at its end, or the period's).
    curve = component_curve(Pay(plan.compiled, 0, Scale(quota=QUOTA * UNIT, target=TARGET * UNIT)))
    assert curve.series and not curve.notes, curve.notes
    day, each = ("2027-02-15", QUOTA) if per_period else ("2027-11-15", QUOTA // 4)
    for series, size in zip(curve.series, ("small", "large", "large"), strict=False):
        payees, rows = [], []
        for i, measure in enumerate(series.measure.tolist()):
            payees.append(f"p{i:04d}")
            if curve.axis == ROWS:
                rows += [(f"p{i:04d}-{k}", f"p{i:04d}", Decimal(1000)) for k in range(measure)]
            else:
                rows.append((f"p{i:04d}", f"p{i:04d}", money(measure)))
        deals = pa.table(
            {
                "id": [r[0] for r in rows],
                "rep": [r[1] for r in rows],
                "day": [day] * len(rows),
                "amount": pa.array([r[2] for r in rows], MONEY),
                "size": [size] * len(rows),
            }
        )
        targets = _quarters(payees, "payee", "period", "amount", TARGET if per_period else TARGET // 4)
        result = plan.run(deals, quotas=_quarters(payees, "payee", "period", "amount", each), targets=targets)
        assert_engine_pays(series, payees, paid(result, "c"), rule)


def test_retroactive_tiers_jump_where_a_tier_starts_and_a_marginal_rate_is_each_tiers():
    plan = spmlang.loads(
        PLAN.format(
            measure="year_to_date",
            kind="component",
            body=RULES["retroactive tiers on attainment, a cap per year"],
            plan_cap="",
        ),
        "charts.spm",
    )
    curve = component_curve(Pay(plan.compiled, 0))
    assert curve.jumps == [50.0, 100.0]
    assert [mark.label for mark in curve.marks] == ["2%", "5%", "9%"]
    rates = curve.rate[~np.isnan(curve.rate)]
    assert sorted({round(float(r), 6) for r in rates}) == [2.0, 5.0, 9.0]
    assert curve.notes == ["cap $120,000 per year: not drawn (give a quota to draw it)"]


def test_without_a_quota_a_chart_reads_in_percent_of_it():
    plan = spmlang.load(PLANS / "account_executive.spm")
    relative = component_curve(Pay(plan.compiled, 0))
    given = component_curve(Pay(plan.compiled, 0, Scale(quota=REFERENCE)), span=int(relative.paid.measure[-1]))
    assert relative.y_label == "paid (% of quota)" and given.y_label == "paid (USD)"
    np.testing.assert_array_equal(relative.paid.cents, given.paid.cents)
    np.testing.assert_allclose(relative.paid.y * float(REFERENCE) / UNIT / 100, given.paid.y)
    assert relative.paid.x[-1] == 200.0 and [m.x for m in relative.marks] == [0.0, 50.0, 100.0, 150.0]


# ---------------------------------------------------------------------- the chart and the command


def test_the_chart_draws_the_points_it_was_given():
    """The lines on each component's axes are its series' points (the engine's, as the tests above show)."""
    from spmlang.report.render.charts import plan_figure

    plan = spmlang.load(PLANS / "account_executive.spm")
    curves = plan_curves(plan.compiled, Scale(quota=1_000_000 * UNIT, target=80_000 * UNIT))
    figure = plan_figure("AE", curves)
    earnings = [axes for axes in figure.axes if axes.get_title(loc="left")]
    assert [axes.get_title(loc="left") for axes in earnings] == [curve.title for curve in curves]
    for axes, curve in zip(earnings, curves, strict=True):
        lines = [line for line in axes.get_lines() if line.get_label() in [s.label for s in curve.series]]
        assert len(lines) == len(curve.series)
        for line, series in zip(lines, curve.series, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), series.x)
            np.testing.assert_array_equal(line.get_ydata(), series.y)


def test_spm_plot_writes_svg_and_png(spm, tmp_path):
    svg, png = tmp_path / "ae.svg", tmp_path / "sdr.png"
    done = spm("plot", PLANS / "account_executive.spm", "--out", svg, "--quota", "$1,000,000", "--target", "80000")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {svg} (2 charts)"
    text = svg.read_text()
    assert "<svg" in text and "commission" in text and "cap 250% of target per year" in text
    assert "a quota of 1,000,000.00 and a target incentive of 80,000.00" in text
    again = tmp_path / "again.svg"
    spm("plot", PLANS / "account_executive.spm", "--out", again, "--quota", "1000000", "--target", "80000")
    assert again.read_bytes() == svg.read_bytes(), "the same chart, the same bytes"
    done = spm("plot", PLANS / "sdr.spm", "--out", png, "--component", "meetings")
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "chart.pdf"], "error: chart.pdf: a chart is written as .svg or .png, not '.pdf'"),
        (["--out", "c.svg", "--component", "comission"], "error: no component 'comission' in "),
        (
            ["--out", "c.svg", "--quota", "lots"],
            "error: --quota takes an amount such as 400000 or $400,000, not 'lots'",
        ),
        (["--out", "c.svg", "--target", "-5"], "error: --target takes an amount above zero, not '-5'"),
    ],
)
def test_spm_plot_usage_errors(spm, tmp_path, args, message):
    done = spm("plot", PLANS / "account_executive.spm", *args, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith(message), done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


def test_spm_plot_without_matplotlib_says_how_to_install_it(spm, tmp_path):
    blocked = tmp_path / "blocked" / "matplotlib"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    import os

    path = os.pathsep.join([str(blocked.parent), os.environ.get("PYTHONPATH", "")])
    done = spm("plot", PLANS / "sdr.spm", "--out", tmp_path / "c.svg", env={"PYTHONPATH": path})
    assert done.returncode == 2
    assert done.stderr.strip() == "error: charts need matplotlib; install it with: pip install 'spmlang[plot]'"


def test_the_command_starts_without_matplotlib_or_jinja():
    import subprocess
    import sys

    code = "import sys, spmlang.cli; print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
