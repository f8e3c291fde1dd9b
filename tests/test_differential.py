"""The vectorized engine against the reference evaluator, on random plans and data (hypothesis).

Every input row must meet the same fate (credited, excluded by which filter,
rejected for which reason) and every ledger line the same amount, to the cent,
in the same order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pyarrow as pa
from conftest import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference.evaluator import Reference

import spmlang
from spmlang.engine import run as calculator
from spmlang.engine.kernels.money import LIMIT

PAYEES = ["ann", "bo", "cy"]
MANAGERS = ["mia", "zoe"]
ROSTER = {"ann": "mia", "bo": "mia", "mia": "zoe", "cy": "zoe"}  # zoe is above mia's team, and cy
KINDS = ["new", "renewal", "void"]


def percent(value: int) -> str:
    return f"{value}%"


@st.composite
def tier_table(draw, basis: str, value: str, scale: int = 1) -> str:
    count = draw(st.integers(1, 4))
    if basis == "attainment":
        steps = draw(st.lists(st.integers(10, 80), min_size=count - 1, max_size=count - 1))
        bounds, total = ["0%"], 0
        for step in steps:
            total += step
            bounds.append(percent(total))
    else:
        steps = draw(st.lists(st.integers(5, 120), min_size=count - 1, max_size=count - 1))
        bounds, total = [money(0)], 0
        for step in steps:
            total += step * 1000
            bounds.append(money(total, scale))
    rows = []
    for k in range(count):
        high = bounds[k + 1] if k + 1 < count else ""
        if value == "rate":
            shown = f"rate {draw(st.integers(0, 2000)) / 100:g}%"
        else:
            shown = f"{draw(st.sampled_from(['0.5', '1', '1.25', '1.5', '2']))}x"
        rows.append(f"    {bounds[k]} .. {high} {shown}")
    return "\n".join(rows)


def money(value: int, scale: int = 1) -> str:
    """An amount written in a plan: $1,000."""
    return f"${value * scale:,}"


@st.composite
def component(draw, index: int, scale: int = 1, rollup: bool = False) -> tuple[str, bool]:
    """A component's text, and whether it pays % of target. Amounts of money are ``scale`` times larger."""
    uses_target = False
    kind = "component"
    rule = draw(
        st.sampled_from(
            ["rate", "bcr", "accelerator", "tiers", "row_tiers", "curve", "row_curve", "pay", "once", "looked_up"]
        )
    )
    body = []
    if rule == "rate":
        body.append(f"  rate {draw(st.integers(1, 1500)) / 100:g}%")
    elif rule == "looked_up":  # a rate from the table `rates` (see plans): kinds it lacks are not paid
        body.append("  rate rates[kind].rate")
    elif rule == "bcr":  # the base commission rate: annual target incentive over annual quota, per row
        uses_target = True
        body.append("  rate target / quota")
        if draw(st.booleans()):
            body.append(f"  accelerator on attainment {{\n{draw(tier_table('attainment', 'multiplier'))}\n  }}")
    elif rule == "accelerator":
        basis = draw(st.sampled_from(["attainment", "credit"]))
        body.append(f"  rate {draw(st.integers(1, 1500)) / 100:g}%")
        body.append(f"  accelerator on {basis} {{\n{draw(tier_table(basis, 'multiplier', scale))}\n  }}")
    elif rule == "tiers":
        basis = draw(st.sampled_from(["attainment", "credit"]))
        mode = draw(st.sampled_from(["marginal", "retroactive"]))
        body.append(f"  tiers {mode} on {basis} {{\n{draw(tier_table(basis, 'rate', scale))}\n  }}")
    elif rule == "row_tiers":
        mode = draw(st.sampled_from(["marginal", "retroactive"]))
        body.append(f"  tiers {mode} on row credit {{\n{draw(tier_table('row', 'rate', scale))}\n  }}")
    elif rule == "curve":
        of_target = draw(st.booleans())
        uses_target = of_target
        xs = sorted(draw(st.lists(st.integers(1, 250), min_size=2, max_size=4, unique=True)))
        points = []
        for x in xs:
            y = draw(st.integers(0, 300))
            points.append(f"    {x}% -> " + (f"{y}% of target" if of_target else money(y * 100, scale)))
        extends = [f"    extend {w}" for w in ("below", "above") if draw(st.booleans())]
        body.append("  curve on attainment {\n" + "\n".join(points + extends) + "\n  }")
    elif rule == "row_curve":  # a payout per deal by its size
        xs = sorted(draw(st.lists(st.integers(0, 200), min_size=2, max_size=4, unique=True)))
        points = [f"    {money(x * 1000, scale)} -> {money(draw(st.integers(0, 300)) * 100, scale)}" for x in xs]
        extends = [f"    extend {w}" for w in ("below", "above") if draw(st.booleans())]
        body.append("  curve on row credit {\n" + "\n".join(points + extends) + "\n  }")
    elif rule == "pay":
        kind = "spif"
        if draw(st.booleans()):
            body.append(f"  pay {money(draw(st.integers(1, 2000)), scale)} per deal")
        else:
            uses_target = True
            body.append(f"  pay target * {draw(st.integers(1, 300)) / 100:g}% per deal")
    else:
        kind = "bonus"
        of_target = draw(st.booleans())
        uses_target = uses_target or of_target
        amount = f"{draw(st.integers(1, 50))}% of target" if of_target else money(draw(st.integers(100, 9000)), scale)
        by = f" by 2027-{draw(st.integers(3, 12)):02d}-{draw(st.integers(1, 28)):02d}" if draw(st.booleans()) else ""
        body.append(f"  pay {amount} once when attainment >= {draw(st.integers(10, 150))}%{by}")
    if rule != "once":
        if draw(st.booleans()):
            condition = draw(st.sampled_from(['kind == "new"', 'kind == "renewal"', "credit >= quota / 20"]))
            body.append(f"  where {condition}")
        if draw(st.integers(0, 3)) == 0:
            body.append(f'  where rates[kind].tag == "{draw(st.sampled_from(["A", "B"]))}"')
        if draw(st.booleans()):
            body.append(
                f"  multiplier {draw(st.sampled_from(['0.5', '1.5', '2']))}x when amount > "
                f"{money(draw(st.integers(1, 100)) * 1000, scale)}"
            )
    for scope in ("row", "period", "year"):
        if rule == "once" and scope == "row":
            continue
        if draw(st.integers(0, 3)) == 0:
            if draw(st.booleans()):
                uses_target = True
                body.append(f"  cap {draw(st.integers(10, 300))}% of target per {scope}")
            else:
                body.append(f"  cap {money(draw(st.integers(1, 60)) * 500, scale)} per {scope}")
    if draw(st.integers(0, 3)) == 0:
        body.append(f"  gate attainment >= {draw(st.integers(5, 120))}%")
    if rollup and draw(st.integers(0, 2)) == 0:  # a manager's override on their team's credit
        body.insert(0, "  on rollup credit")
    return f"{kind} c{index} {{\n" + "\n".join(body) + "\n}\n", uses_target


@st.composite
def plans(draw, scale: int = 1) -> str:
    payout = draw(st.sampled_from(["quarterly", "monthly", "half_yearly"]))
    measure = draw(st.sampled_from(["year_to_date", "period_to_date"]))
    basis = draw(
        st.sampled_from(
            ["", "  attainment against annual quota\n"]
            + (["  attainment against period quota\n"] if measure == "year_to_date" else [])
        )
    )
    credit = draw(st.sampled_from(["amount", "amount * 1.5"]))
    split, rollup = draw(st.integers(0, 2)) == 0, draw(st.integers(0, 2)) == 0
    payees = "  payee rep share share1\n  payee rep2 share share2\n" if split else "  payee rep\n"
    text = (
        f'plan "R" {{\n  year starts 2027-01-01\n  payout {payout}\n  measure {measure}\n{basis}}}\n'
        "transactions {\n  column id text\n  column rep text\n  column day date\n  column amount money\n"
        + ("  column rep2 text\n  column share1 number\n  column share2 number\n" if split else "")
        + f"  column kind text\n  key id\n  date day\n{payees}  credit {credit}\n"
        + ("  rollup to manager\n" if rollup else "")
    )
    if draw(st.booleans()):
        text += '  where not_void: kind != "void"\n'
    text += "}\n"
    # A lookup table for the components that use one: kinds it lacks (renewal, sometimes void) make those
    # components not pay a row, and only those.
    kinds = ["new", "void"] if draw(st.booleans()) else ["new"]
    rows = "\n".join(
        f"    {kind} {draw(st.integers(0, 1500)) / 100:g}% {draw(st.sampled_from(['A', 'B']))}" for kind in kinds
    )
    text += (
        "table rates {\n  column kind text\n  column rate percent\n  column tag text\n  key kind\n"
        f"  rows {{\n{rows}\n  }}\n}}\n"
    )
    count = draw(st.integers(1, 3))
    for index in range(count):
        part, _ = draw(component(index, scale, rollup))
        text += part
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        covers = draw(st.sampled_from(["", "direct credit", "components"] + (["rollup credit"] if rollup else [])))
        if covers == "components":
            names = draw(st.lists(st.sampled_from([f"c{i}" for i in range(count)]), min_size=1, unique=True))
            covers = ", ".join(names)
        text += (
            f"cap {money(draw(st.integers(1, 80)) * 1000, scale)} per "
            f"{draw(st.sampled_from(['period', 'year']))}" + (f" for {covers}" if covers else "") + "\n"
        )
    return text


@st.composite
def data(draw, periods: int, scale: int = 1):
    """Rows mostly inside the plan year and mostly paid; now and then a duplicate key, a credit note, a date
    outside the year, a zero quota, a payee without quota or target."""
    rows = []
    for i in range(draw(st.integers(0, 30))):
        outside = draw(st.integers(0, 19)) == 0
        day = draw(
            st.dates(dt.date(2026, 12, 20), dt.date(2028, 1, 10))
            if outside
            else st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31))
        )
        negative = draw(st.integers(0, 9)) == 0
        cents = draw(st.integers(1, 500_000) if negative else st.integers(0, 20_000_000))
        # A split: mostly 60/40 or whole, now and then over 100%, a payee without a share, a share without one.
        share1, rep2, share2 = draw(
            st.sampled_from(
                [
                    (Decimal("0.6"), "other", Decimal("0.4")),
                    (Decimal("0.75"), "other", Decimal("0.25")),
                    (Decimal(1), None, None),
                    (Decimal(1), None, Decimal(0)),
                    (Decimal("0.5"), "same", Decimal("0.5")),
                    (Decimal("0.7"), "other", Decimal("0.5")),
                    (Decimal("0.5"), "other", None),
                    (Decimal(1), None, Decimal("0.2")),
                ]
            )
        )
        rep = draw(st.sampled_from(PAYEES))
        rows.append(
            {
                "id": f"T{draw(st.integers(0, 40)) if draw(st.integers(0, 14)) == 0 else i}",
                "rep": rep,
                "day": day,
                "amount": Decimal(-cents if negative else cents) * scale / 100,
                "kind": draw(st.sampled_from(KINDS[:2] * 4 + KINDS[2:])),
                "rep2": {"other": draw(st.sampled_from([p for p in PAYEES if p != rep])), "same": rep}.get(rep2),
                "share1": share1,
                "share2": share2,
            }
        )
    quotas, targets = {}, {}
    for payee in PAYEES + MANAGERS:
        if draw(st.integers(0, 9)) == 0:
            continue  # no quota at all
        for p in range(periods):
            zero = draw(st.integers(0, 15)) == 0
            quotas[(payee, p)] = Decimal(0 if zero else draw(st.sampled_from([20, 50, 100, 150, 300]))) * 1000 * scale
        if draw(st.integers(0, 9)):
            for p in range(periods):
                targets[(payee, p)] = Decimal(draw(st.integers(1, 40))) * 500 * scale
    return rows, quotas, targets


def as_tables(rows, quotas, targets, labels):
    deals = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.string()),
            "rep": pa.array([r["rep"] for r in rows], pa.string()),
            "day": pa.array([r["day"] for r in rows], pa.date32()),
            "amount": pa.array([r["amount"] for r in rows], pa.decimal128(24, 2)),
            "kind": pa.array([r["kind"] for r in rows], pa.string()),
            "rep2": pa.array([r.get("rep2") for r in rows], pa.string()),
            "share1": pa.array([r.get("share1") for r in rows], pa.decimal128(9, 4)),
            "share2": pa.array([r.get("share2") for r in rows], pa.decimal128(9, 4)),
        }
    )

    def amounts(values):
        keys = sorted(values)
        return pa.table(
            {
                "payee": [k[0] for k in keys],
                "period": [labels[k[1]] for k in keys],
                "amount": pa.array([values[k] for k in keys], pa.decimal128(24, 2)),
            }
        )

    return deals, amounts(quotas), amounts(targets)


def roster_table() -> pa.Table:
    return pa.table({"payee": list(ROSTER), "manager": list(ROSTER.values())})


def engine_lines(result, labels) -> list[tuple]:
    return [
        (r["payee"], labels.index(r["period"]), r["component"] or "", r["kind"], r["role"], r["txn"], r["amount"])
        for r in result.ledger.to_pylist()
    ]


def engine_status(result, count: int) -> dict[int, str]:
    status = {i: "credited" for i in range(count)}
    for r in result.excluded.to_pylist():
        status[r["row"] - 1] = f"excluded:{r['filter']}"
    for r in result.rejects.to_pylist():
        status[r["row"] - 1] = f"rejected:{r['reason']}"
    return status


@settings(
    max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_engine_equals_the_reference_to_the_cent(drawn):
    text = drawn.draw(plans(), label="plan")
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels)), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, labels)
    # Paying payees in batches (some of a single payee) must not change a line: the reference has no batches.
    batch_rows = drawn.draw(st.sampled_from([1, 3, 10, None]), label="batch rows")
    with mock.patch.object(calculator, "BATCH_ROWS", batch_rows or calculator.BATCH_ROWS):
        result = plan.run(deals, quotas=quota_table, targets=target_table, roster=roster_table())
        actual = engine_lines(result, labels)  # paid in those batches

    reference = Reference(plan.checked, rows, quotas, targets, ROSTER)
    expected = [
        (line.payee, line.period, line.component, line.kind, line.role, line.txn, line.amount)
        for line in reference.run()
    ]
    kinds = sorted({line[3] for line in expected})
    event(f"line kinds: {', '.join(kinds) or 'none'}")
    event(f"credited rows: {'none' if not result.accounting['credited'] else 'some'}")
    event(
        f"split: {len(plan.checked.transactions.payees) > 1}; rollup lines: {any(x[4] == 'rollup' for x in expected)}"
    )
    assert engine_status(result, len(rows)) == reference.status
    totals = {}
    for payee, period, component, _, _, _, amount in expected:
        totals[(payee, period, component)] = totals.get((payee, period, component), Decimal(0)) + amount
    engine_totals = {}
    for payee, period, component, _, _, _, amount in actual:
        engine_totals[(payee, period, component)] = engine_totals.get((payee, period, component), Decimal(0)) + amount
    assert {k: v for k, v in engine_totals.items() if v} == {k: v for k, v in totals.items() if v}
    assert actual == expected


@settings(
    max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_amounts_near_the_limit_are_exact_or_an_error(drawn):
    """Plans and data scaled toward the largest amount spm holds (IDR-sized figures): every ledger line is the
    reference's to the cent, or the run stops with E511. Never a wrapped or rounded-off number."""
    scale = drawn.draw(st.sampled_from([10**4, 10**5, 10**6, 10**7]), label="scale")
    text = drawn.draw(plans(scale), label="plan")
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels), scale), label="data")
    deals, quota_table, target_table = as_tables(rows, quotas, targets, labels)
    reference = Reference(plan.checked, rows, quotas, targets, ROSTER)
    expected = [
        (line.payee, line.period, line.component, line.kind, line.role, line.txn, line.amount)
        for line in reference.run()
    ]
    try:
        result = plan.run(deals, quotas=quota_table, targets=target_table, roster=roster_table())
        actual = engine_lines(result, labels)
    except spmlang.AmountTooLarge as error:
        event("stopped: too large")
        assert error.code == "E511" and "too large to hold" in str(error)
        # It stopped where amounts do come near the limit: some credit, quota, target or line is that large.
        sizes = (
            [abs(r["amount"]) for r in rows]
            + [abs(v) for v in quotas.values()]
            + [abs(v) for v in targets.values()]
            + [abs(line[6]) for line in expected]
        )
        assert sum(sizes) > Decimal(LIMIT) / 10**6 / 100
        return
    event("paid")
    assert engine_status(result, len(rows)) == reference.status
    assert actual == expected
