"""spm diff: the cost of a plan change."""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import numpy as np
from conftest import ROOT

import spmlang
from spmlang.diff import diff_plans

GOLDEN = Path(__file__).parent / "golden" / "diff"
PLAN = ROOT / "examples/plans/account_executive.spm"
DATA = dict(
    deals=ROOT / "examples/data/ae_deals.csv",
    quotas=ROOT / "examples/data/ae_quotas.csv",
    targets=ROOT / "examples/data/ae_targets.csv",
)
DATA_ARGS = [
    "--deals",
    "examples/data/ae_deals.csv",
    "--quotas",
    "examples/data/ae_quotas.csv",
    "--targets",
    "examples/data/ae_targets.csv",
]


def changed_plan(tmp_path: Path) -> Path:
    text = PLAN.read_text().replace("cap 250% of target per year", "cap 200% of target per year")
    text = text.replace("pay $1,000 per deal", "pay $1,500 per deal")
    text += "\nspif big_deal {\n  pay $2,000 per deal\n  where amount >= $150,000\n}\n"
    path = tmp_path / "account_executive.spm"
    path.write_text(text)
    return path


def test_a_plan_against_itself_costs_nothing():
    report = diff_plans(str(PLAN), str(PLAN), **DATA)
    assert all(c.change == 0 for c in report.components) and report.total.change == 0
    assert not report.gainers and not report.losers and not report.clauses


def test_diff_totals_equal_the_difference_of_the_two_runs(tmp_path):
    new = changed_plan(tmp_path)
    report = diff_plans(str(PLAN), str(new), **DATA)
    before = sum(r["amount"] for r in spmlang.load(PLAN).run(**DATA).totals().to_pylist())
    after = sum(r["amount"] for r in spmlang.load(new).run(**DATA).totals().to_pylist())
    assert report.total.old == before and report.total.new == after
    assert report.total.change == after - before
    assert sum(p.change for p in report.payees) == report.total.change
    assert {c.what: c.change for c in report.clauses} == {
        "component commission": "changed",
        "spif new_logo_q1": "changed",
        "spif big_deal": "added",
    }
    assert next(c for c in report.components if c.name == "big_deal").old == Decimal("0.00")


def test_diff_against_earlier_ledgers_costs_the_open_periods(spm, tmp_path):
    """With --paid, each plan pays the open periods, and changes to the closed ones as adjustments: the diff is
    what each would pay now, and says so."""
    new = changed_plan(tmp_path)
    spmlang.load(PLAN).run(**DATA, through="2027-Q2").write(tmp_path / "h1.parquet")
    against = {**DATA, "paid": [tmp_path / "h1.parquet"]}
    report = diff_plans(str(PLAN), str(new), **against)
    after = sum(r["amount"] for r in spmlang.load(new).run(**against).totals().to_pylist())
    assert report.total.new == after
    assert report.periods.startswith("periods: closed 2027-Q1–2027-Q2; paid now 2027-Q3–2027-Q4")
    result = spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--paid", tmp_path / "h1.parquet")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == report.periods
    assert diff_plans(str(PLAN), str(new), **DATA).periods == ""  # nothing closed, nothing held back
    halfway = diff_plans(str(PLAN), str(new), **DATA, through="2027-Q2").periods
    assert halfway.startswith("periods: none closed; paid now 2027-Q1–2027-Q2; later 2027-Q3–2027-Q4")


def test_diff_text_and_markdown_golden(spm, tmp_path):
    new = changed_plan(tmp_path)
    for output_format, suffix in (("text", "txt"), ("markdown", "md")):
        result = spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--format", output_format)
        assert result.returncode == 0, result.stderr
        actual = result.stdout.replace(str(new), "NEW/account_executive.spm")
        golden = GOLDEN / f"ae_change.{suffix}"
        if os.environ.get("SPM_UPDATE_GOLDEN"):
            golden.write_text(actual)
        assert actual == golden.read_text()


def test_diff_json_and_fail_over(spm, tmp_path):
    new = changed_plan(tmp_path)
    result = spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--format", "json")
    data = json.loads(result.stdout)
    change = Decimal(data["total"]["change"])
    assert change > 0
    assert (
        spm(
            "diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--fail-over", f"${change + 1:,}"
        ).returncode
        == 0
    )
    over = spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--fail-over", f"{change - 1}")
    assert over.returncode == 1 and "more than --fail-over" in over.stderr
    assert spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--fail-over", "lots").returncode == 2
    for meaningless in ("nan", "-inf", "1e400"):  # NaN was an internal error; inf a threshold never crossed
        refused = spm("diff", "examples/plans/account_executive.spm", new, *DATA_ARGS, "--fail-over", meaningless)
        assert refused.returncode == 2 and f"not '{meaningless}'" in refused.stderr


def test_diff_reads_the_old_plan_from_git(spm, tmp_path):
    repo = tmp_path / "repo"
    (repo / "plans").mkdir(parents=True)
    (repo / "plans" / "ae.spm").write_text(PLAN.read_text())

    def git(*args):
        subprocess.run(
            ["git", *args],
            cwd=repo,
            check=True,
            capture_output=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
            },
        )

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "plan")
    (repo / "plans" / "ae.spm").write_text(PLAN.read_text().replace("rate 8%", "rate 9%"))
    args = [a if not a.startswith("examples/") else str(ROOT / a) for a in DATA_ARGS]
    result = spm("diff", "HEAD:plans/ae.spm", "plans/ae.spm", *args, cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "changed component commission" in result.stdout and "+ rate 9%" in result.stdout
    missing = spm("diff", "HEAD:plans/nope.spm", "plans/ae.spm", *args, cwd=repo)
    assert missing.returncode == 2 and "cannot read HEAD:plans/nope.spm from git" in missing.stderr


def test_a_git_reference_cannot_pass_options_to_git(spm, tmp_path):
    """`spm diff -- '--output=pwned:x' new.spm` once had `git show` write the file 'pwned'."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ae.spm").write_text(PLAN.read_text())
    for command in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "p"]):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    args = [a if not a.startswith("examples/") else str(ROOT / a) for a in DATA_ARGS]
    for reference in ("--output=pwned:x", "-o:pwned", "--output=pwned:"):
        result = spm("diff", *args, "--", reference, "ae.spm", cwd=repo)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            f"error: cannot read '{reference}': it is not a file, and a git revision cannot "
            "start with '-' (a plan is a file, or REV:PATH from git)\n"
        )
        assert sorted(p.name for p in repo.iterdir()) == [".git", "ae.spm"]
    empty = spm("diff", *args, ":ae.spm", "ae.spm", cwd=repo)
    assert empty.returncode == 2 and empty.stderr == (
        "error: cannot read ':ae.spm': a plan is a file, or REV:PATH from git (HEAD~1:plans/ae.spm)\n"
    )


def test_diff_plot_draws_each_changed_component_before_and_after(spm, tmp_path):
    from spmlang.engine.kernels.money import UNIT
    from spmlang.report.curves import Scale, changed_curves, plan_curves
    from spmlang.report.render.charts import change_figure

    new = changed_plan(tmp_path)
    old_plan, new_plan = spmlang.load(PLAN), spmlang.load(new)
    scale = Scale(quota=1_000_000 * UNIT, target=80_000 * UNIT)
    assert changed_curves(old_plan.compiled, old_plan.compiled, scale) == []
    pairs = changed_curves(old_plan.compiled, new_plan.compiled, scale)
    assert [(before and before.name, after.name) for before, after in pairs] == [
        ("commission", "commission"),
        ("new_logo_q1", "new_logo_q1"),
        (None, "big_deal"),
    ]
    (before, after) = pairs[0]
    assert before.paid.measure[-1] == after.paid.measure[-1]  # one stretch for both
    assert before.levels[0].y == 200_000 and after.levels[0].y == 160_000  # 250% and 200% of 80,000
    # Before and after are each plan's own curve over that stretch.
    span = int(after.paid.measure[-1])
    np.testing.assert_array_equal(
        before.paid.cents, plan_curves(old_plan.compiled, scale, ["commission"], {"commission": span})[0].paid.cents
    )
    figure = change_figure("change", pairs)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert lines["before"].get_linestyle() == "--" and lines["after"].get_linestyle() == "-"
    np.testing.assert_array_equal(lines["before"].get_ydata(), before.paid.y)
    np.testing.assert_array_equal(lines["after"].get_ydata(), after.paid.y)

    chart = tmp_path / "change.svg"
    args = ["diff", "examples/plans/account_executive.spm", new, *DATA_ARGS]
    plotted = spm(*args, "--plot", chart, "--plot-quota", "1,000,000", "--plot-target", "80000")
    assert plotted.returncode == 0, plotted.stderr
    assert plotted.stdout == spm(*args).stdout, "the report is the same, with or without the chart"
    assert plotted.stderr.strip() == (
        f"wrote {chart} (3 component(s) whose pay changed: commission, new_logo_q1, big_deal)"
    )
    assert "before: cap 250% of target per year" in chart.read_text()


def test_diff_plot_is_refused_before_the_runs(spm, tmp_path):
    args = ["diff", "examples/plans/account_executive.spm", "examples/plans/account_executive.spm", *DATA_ARGS]
    refused = spm(*args, "--plot", tmp_path / "change.gif")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == f"error: {tmp_path / 'change.gif'}: a chart is written as .svg or .png, not '.gif'"
    same = spm(*args, "--plot", tmp_path / "same.png")
    assert same.returncode == 0 and same.stderr.strip() == f"wrote {tmp_path / 'same.png'} (no component's pay changed)"


def test_the_cost_of_a_rate_change_on_july_1_per_payee():
    """A dated version added to a plan: `spm diff` prices it per payee, and only from July 1 on."""
    july = ROOT / "examples/plans/account_executive_july.spm"
    report = diff_plans(str(PLAN), str(july), **DATA)
    old, new = spmlang.load(PLAN).run(**DATA), spmlang.load(july).run(**DATA)

    def by_payee(result, periods=None) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for row in result.ledger.to_pylist():
            if periods is None or row["period"] in periods:
                totals[row["payee"]] = totals.get(row["payee"], Decimal("0.00")) + row["amount"]
        return totals

    before, after = by_payee(old), by_payee(new)
    assert {p.name: p.change for p in report.payees} == {name: after[name] - before[name] for name in before}
    assert report.gainers and not report.losers  # a higher rate from July: every payee with deals after it gains
    assert report.total.change == sum(p.change for p in report.payees) == Decimal("68960.13")
    # Deals before July 1 keep the old rates: the first half of the year pays what it paid.
    assert by_payee(old, {"2027-Q1", "2027-Q2"}) == by_payee(new, {"2027-Q1", "2027-Q2"})
    [commission] = [c for c in report.clauses if c.what == "component commission"]
    assert commission.change == "changed" and any("from 2027-07-01" in line for line in commission.lines)
