"""The vectorized engine against the reference evaluator on random plans with a roster with dates, proration,
dated quotas and targets, and currencies (hypothesis): see test_differential.py for the rest of the language.

Every input row must meet the same fate, and every ledger line the same amount (an fx line the same amount
paid) to the cent, in the same order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from unittest import mock

import pyarrow as pa
from conftest import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference.dated import RosterRow
from reference.evaluator import Reference
from strategies import KINDS, component, draw_block, money
from test_differential import PRICED, engine_status

import spmlang
from spmlang.engine import run as calculator

PAYEES = ["ann", "bo", "cy"]
MANAGERS = ["mia", "zoe"]
# Who each may report to: a rep to either manager, mia to zoe, zoe to no one (no cycle on any day).
BOSSES = {"ann": MANAGERS, "bo": MANAGERS, "cy": MANAGERS, "mia": ["zoe"], "zoe": [None]}
CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY"]  # CHF has a rate only from mid-year, JPY none
YEAR = dt.date(2027, 1, 1)


@st.composite
def dated_plans(draw) -> tuple[str, dict]:
    """A plan with a roster with dates (or terms), and what it declares (``shape``) for the data to follow."""
    shape = {
        "dated": draw(st.integers(0, 4)) > 0,
        "currency": draw(st.sampled_from([None, "", " at period end", " at fixed rate"])),
        "rollup": draw(st.booleans()),
        "split": draw(st.integers(0, 3)) == 0,
        "eligibility": draw(st.booleans()),
        "pay_in": draw(st.booleans()),
        "plans": draw(st.integers(0, 3)) == 0,
        "dated_quotas": draw(st.integers(0, 2)) == 0,
        "dated_targets": draw(st.integers(0, 2)) == 0,
    }
    shape["fallback"] = shape["dated"] and draw(st.booleans())
    prorate = draw(st.sampled_from(["", "  prorate by days\n", "  prorate by months\n", "  prorate none\n"]))
    if not shape["dated"] and not shape["eligibility"]:
        prorate = ""  # nothing to prorate by
    payout = draw(st.sampled_from(["quarterly", "monthly", "half_yearly"]))
    measure = draw(st.sampled_from(["year_to_date", "period_to_date"]))
    basis = draw(
        st.sampled_from(
            ["", "  attainment against annual quota\n"]
            + (["  attainment against period quota\n"] if measure == "year_to_date" else [])
        )
    )
    payees = "  payee rep share share1\n  payee rep2 share share2\n" if shape["split"] else "  payee rep\n"
    text = (
        f'plan "R" {{\n  year starts 2027-01-01\n  payout {payout}\n  measure {measure}\n{basis}}}\n'
        "transactions {\n  column id text\n  column rep text\n  column day date\n  column amount money\n"
        "  column cur text\n"
        + ("  column rep2 text\n  column share1 number\n  column share2 number\n" if shape["split"] else "")
        + f"  column kind text\n  key id\n  date day\n{payees}  credit amount\n"
        + ("  rollup to manager\n" if shape["rollup"] else "")
        + (f"  currency cur{shape['currency']}\n" if shape["currency"] is not None else "")
        + ("  fallback house\n" if shape["fallback"] else "")
    )
    if draw(st.booleans()):
        text += '  where not_void: kind != "void" and amount > $0\n'
    text += "}\n"
    roles = ["payee", "manager"] if shape["rollup"] or draw(st.booleans()) else ["payee"]
    roles += ["start", "end"] if shape["dated"] else []
    roles += ["plan"] if shape["plans"] else []
    roles += ["currency"] if shape["pay_in"] else []
    roles += ["eligibility"] if shape["eligibility"] else []
    shape["roles"] = roles
    text += "roster {\n" + "".join(f"  {role} {role}\n" for role in roles) + prorate + "}\n"
    text += "quotas {\n  per year\n  start start\n  end end\n}\n" if shape["dated_quotas"] else ""
    text += "targets {\n  per year\n  start start\n}\n" if shape["dated_targets"] else ""
    if shape["currency"] is not None or shape["pay_in"]:
        text += "fx {\n}\n"
    text += "table rates {\n  column kind text\n  column rate percent\n  column tag text\n  key kind\n"
    text += "  rows {\n    new 5% A\n  }\n}\n"
    for index in range(draw(st.integers(1, 3))):
        part, _ = draw(component(index, 1, shape["rollup"]))
        text += part
    if draw(st.integers(0, 3)) == 0:
        text += f"cap {money(draw(st.integers(1, 80)) * 1000)} per {draw(st.sampled_from(['period', 'year']))}\n"
    if draw(st.integers(0, 2)) == 0:  # a draw: prorated as quotas are, nothing outside employment
        text += draw(draw_block())
    return text, shape


def day_in(draw, first: dt.date, last: dt.date) -> dt.date:
    return draw(st.dates(first, last))


@st.composite
def roster_rows(draw, shape: dict) -> list[RosterRow]:
    """Each payee's rows: one to three, apart, with gaps now and then (leaves); a few payees not listed."""
    rows = []
    for payee in PAYEES + MANAGERS:
        if shape["dated"] and payee in PAYEES and draw(st.integers(0, 9)) == 0:
            continue  # not in the roster
        count = draw(st.integers(1, 3)) if shape["dated"] else 1
        cuts = sorted(
            draw(
                st.lists(
                    st.dates(dt.date(2026, 11, 1), dt.date(2028, 1, 31)),
                    min_size=2 * count,
                    max_size=2 * count,
                    unique=True,
                )
            )
        )
        for i in range(count):
            start, end = cuts[2 * i], cuts[2 * i + 1]
            if not shape["dated"]:
                start = end = None
            else:
                start = None if i == 0 and draw(st.integers(0, 2)) == 0 else start
                end = None if i == count - 1 and draw(st.integers(0, 2)) == 0 else end
            rows.append(
                RosterRow(
                    payee,
                    manager=draw(st.sampled_from(BOSSES[payee])) if "manager" in shape["roles"] else None,
                    start=start,
                    end=end,
                    plan=draw(st.sampled_from([None, "R", "R", "Other"])) if shape["plans"] else None,
                    currency=draw(st.sampled_from([None, "USD", "EUR", "GBP"])) if shape["pay_in"] else None,
                    eligibility=draw(st.sampled_from([None, Decimal("0.5"), Decimal("0.8"), Decimal(1)]))
                    if shape["eligibility"]
                    else None,
                )
            )
    return rows


@st.composite
def fx_rows(draw, shape: dict) -> list[dict]:
    """EUR and GBP have a rate from before the year (paying in them always works), then changes; CHF only from
    mid-year; JPY none. At fixed rates, one rate per currency."""
    rates = ["0.8", "1.0853", "1.25", "1.2741", "0.9132"]
    if shape["currency"] == " at fixed rate":
        return [{"currency": c, "rate": Decimal(draw(st.sampled_from(rates)))} for c in ("EUR", "GBP", "CHF")]
    rows = []
    for currency, first in (("EUR", dt.date(2026, 12, 1)), ("GBP", dt.date(2026, 12, 1)), ("CHF", dt.date(2027, 7, 1))):
        changes = sorted(set(draw(st.lists(st.dates(first, dt.date(2027, 12, 31)), max_size=3))) | {first})
        rows += [{"date": day, "currency": currency, "rate": Decimal(draw(st.sampled_from(rates)))} for day in changes]
    return rows


@st.composite
def dated_data(draw, periods: int, shape: dict):
    rows = []
    for i in range(draw(st.integers(0, 25))):
        outside = draw(st.integers(0, 19)) == 0
        day = draw(
            st.dates(dt.date(2026, 12, 20), dt.date(2028, 1, 10)) if outside else st.dates(YEAR, dt.date(2027, 12, 31))
        )
        negative = draw(st.integers(0, 9)) == 0
        cents = draw(st.integers(1, 500_000) if negative else st.integers(0, 20_000_000))
        rep = draw(st.sampled_from(PAYEES))
        share1, rep2, share2 = draw(
            st.sampled_from([(Decimal("0.6"), "other", Decimal("0.4")), (Decimal(1), None, None)])
        )
        rows.append(
            {
                "id": f"T{i}",
                "rep": rep,
                "day": day,
                "amount": Decimal(-cents if negative else cents) / 100,
                "cur": draw(st.sampled_from(CURRENCIES * 3 + [None])),
                "kind": draw(st.sampled_from(KINDS[:2] * 4 + KINDS[2:])),
                "rep2": {"other": draw(st.sampled_from([p for p in PAYEES if p != rep]))}.get(rep2),
                "share1": share1,
                "share2": share2,
            }
        )
    everyone = PAYEES + MANAGERS + ["house"]
    quotas, targets, dated_quotas, dated_targets = {}, {}, {}, {}
    for payee in everyone:
        if draw(st.integers(0, 9)) == 0:
            continue
        if shape["dated_quotas"]:
            change = draw(st.dates(dt.date(2027, 2, 1), dt.date(2027, 11, 30)))
            amounts = [Decimal(draw(st.sampled_from([100, 300, 600]))) * 1000 for _ in range(2)]
            dated_quotas[payee] = [(None, change - dt.timedelta(days=1), amounts[0]), (change, None, amounts[1])]
        else:
            for p in range(periods):
                quotas[(payee, p)] = Decimal(draw(st.sampled_from([20, 50, 100, 150]))) * 1000
        if shape["dated_targets"]:
            change = draw(st.dates(dt.date(2027, 2, 1), dt.date(2027, 11, 30)))
            dated_targets[payee] = [(None, None, Decimal(20_000)), (change, None, Decimal(30_000))]
        else:
            for p in range(periods):
                targets[(payee, p)] = Decimal(draw(st.integers(1, 40))) * 500
    return rows, quotas, targets, dated_quotas, dated_targets


def tables(rows, quotas, targets, dated_quotas, dated_targets, roster, fx, labels, shape):
    deals = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.string()),
            "rep": pa.array([r["rep"] for r in rows], pa.string()),
            "day": pa.array([r["day"] for r in rows], pa.date32()),
            "amount": pa.array([r["amount"] for r in rows], pa.decimal128(24, 2)),
            "cur": pa.array([r["cur"] for r in rows], pa.string()),
            "kind": pa.array([r["kind"] for r in rows], pa.string()),
            "rep2": pa.array([r["rep2"] for r in rows], pa.string()),
            "share1": pa.array([r["share1"] for r in rows], pa.decimal128(9, 4)),
            "share2": pa.array([r["share2"] for r in rows], pa.decimal128(9, 4)),
        }
    )

    def per_period(values):
        keys = sorted(values)
        return pa.table(
            {
                "payee": [k[0] for k in keys],
                "period": [labels[k[1]] for k in keys],
                "amount": pa.array([values[k] for k in keys], pa.decimal128(24, 2)),
            }
        )

    def dated(values):
        flat = [(payee, *row) for payee, rows in sorted(values.items()) for row in rows]
        return pa.table(
            {
                "payee": [r[0] for r in flat],
                "start": pa.array([r[1] for r in flat], pa.date32()),
                "end": pa.array([r[2] for r in flat], pa.date32()),
                "amount": pa.array([r[3] for r in flat], pa.decimal128(24, 2)),
            }
        )

    roster_table = pa.table(
        {
            "payee": [r.payee for r in roster],
            "manager": pa.array([r.manager for r in roster], pa.string()),
            "start": pa.array([r.start for r in roster], pa.date32()),
            "end": pa.array([r.end for r in roster], pa.date32()),
            "plan": pa.array([r.plan for r in roster], pa.string()),
            "currency": pa.array([r.currency for r in roster], pa.string()),
            "eligibility": pa.array([r.eligibility for r in roster], pa.decimal128(9, 4)),
        }
    )
    fx_table = pa.table(
        {
            **({"date": pa.array([r["date"] for r in fx], pa.date32())} if fx and "date" in fx[0] else {}),
            "currency": [r["currency"] for r in fx],
            "rate": pa.array([float(r["rate"]) for r in fx], pa.float64()),
        }
    )
    return (
        deals,
        dated(dated_quotas) if shape["dated_quotas"] else per_period(quotas),
        dated(dated_targets) if shape["dated_targets"] else per_period(targets),
        roster_table,
        fx_table,
    )


def engine_lines(result, labels) -> list[tuple]:
    return [
        (
            r["payee"],
            labels.index(r["period"]),
            r["component"] or "",
            r["kind"],
            r["role"],
            r["txn"],
            r["amount"],
            r.get("amount_paid"),
        )
        for r in result.ledger.to_pylist()
    ]


@dataclass
class DrawnDatedYear:
    """A random plan with a roster with dates (``shape``: what it declares), its roster, fx rates and data as the
    reference reads them, and the run's inputs as spm does."""

    plan: spmlang.Plan
    shape: dict
    roster: list[RosterRow]
    fx: list[dict]
    rows: list[dict]
    quotas: dict
    targets: dict
    dated_quotas: dict
    dated_targets: dict
    inputs: dict

    @staticmethod
    def draw(drawn) -> DrawnDatedYear:
        text, shape = drawn.draw(dated_plans(), label="plan")
        plan = spmlang.loads(text, "random.spm")
        labels = plan.periods
        roster = drawn.draw(roster_rows(shape), label="roster")
        fx = drawn.draw(fx_rows(shape), label="fx")
        rows, quotas, targets, dated_quotas, dated_targets = drawn.draw(dated_data(len(labels), shape), label="data")
        deals, quota_table, target_table, roster_table, fx_table = tables(
            rows, quotas, targets, dated_quotas, dated_targets, roster, fx, labels, shape
        )
        inputs = {
            "deals": deals,
            "quotas": quota_table,
            "targets": target_table,
            "roster": roster_table,
            "tables": {"fx": fx_table},
        }
        return DrawnDatedYear(plan, shape, roster, fx, rows, quotas, targets, dated_quotas, dated_targets, inputs)


@settings(
    max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_a_dated_roster_and_currencies_pay_what_the_reference_pays(drawn):
    year = DrawnDatedYear.draw(drawn)
    plan, shape, labels = year.plan, year.shape, year.plan.periods
    roster, fx, rows, quotas, targets = year.roster, year.fx, year.rows, year.quotas, year.targets
    dated_quotas, dated_targets = year.dated_quotas, year.dated_targets
    batch_rows = drawn.draw(st.sampled_from([1, 3, None]), label="batch rows")
    with mock.patch.object(calculator, "BATCH_ROWS", batch_rows or calculator.BATCH_ROWS):
        result = plan.run(**year.inputs)
        actual = engine_lines(result, labels)
    reference = Reference(
        plan.checked,
        rows,
        quotas,
        targets,
        roster_rows=roster,
        fx=fx if plan.checked.converts_currencies else None,
        dated_quotas=dated_quotas if shape["dated_quotas"] else None,
        dated_targets=dated_targets if shape["dated_targets"] else None,
    )
    expected = [
        (line.payee, line.period, line.component, line.kind, line.role, line.txn, line.amount, line.paid)
        for line in reference.run()
    ]
    event(f"rejected: {', '.join(sorted(result.accounting['rejected'])) or 'none'}")
    event(f"fx lines: {any(line[3] == 'fx' for line in expected)}")
    event(f"fallback lines: {any(line[0] == 'house' for line in expected)}")
    assert engine_status(result, len(rows)) == reference.status
    # The same lines; the priced ones in the same order. (A period's fx line follows its draw in the engine's
    # ledger: it converts the period's pay, the draw included.)
    assert Counter(actual) == Counter(expected)
    assert [x for x in actual if x[3] in PRICED] == [x for x in expected if x[3] in PRICED]
