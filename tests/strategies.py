"""Random plans and data for the tests against the reference evaluator (hypothesis strategies).

Plans draw every rule, modifier and cap the reference knows, and (``cycle=True``) the pay cycle: a cancellation
column with partial refunds, clawback modes with and without a window, `payable when`, a draw and a payout
floor. Data draws rows mostly in the plan year and mostly paid, with the odd bad row of every kind.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
from hypothesis import strategies as st

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
def clawback(draw, modes: tuple[str, ...] = ("as_paid", "at_rate", "recalculate")) -> str:
    """How cancellations are clawed back (one of ``modes``), with a window now and then."""
    mode = draw(st.sampled_from(modes))
    return f"clawback {mode}" + (f" within {draw(st.integers(1, 120))} days" if draw(st.booleans()) else "")


RULES = ["rate", "bcr", "accelerator", "tiers", "row_tiers", "curve", "row_curve", "pay", "once", "looked_up"]


@st.composite
def earning_rule(
    draw, scale: int = 1, rules: tuple[str, ...] | list[str] = tuple(RULES)
) -> tuple[str, list[str], bool, str]:
    """(which rule, its lines, whether it pays % of target, the component's kind) of one of ``rules``."""
    uses_target = False
    kind = "component"
    rule = draw(st.sampled_from(rules))
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
        extends = [f"    extend {w}" for w in ("below", "above") if draw(st.booleans())]
        if "    extend below" in extends:  # a cumulative curve pays nothing at zero (E407): it starts there
            xs = [0, *xs]
        points = []
        for x in xs:
            y = draw(st.integers(0, 300)) if x else 0
            points.append(f"    {x}% -> " + (f"{y}% of target" if of_target else money(y * 100, scale)))
        body.append("  curve on attainment {\n" + "\n".join(points + extends) + "\n  }")
    elif rule == "row_curve":  # a payout per deal by its size
        xs = sorted(draw(st.lists(st.integers(0, 200), min_size=2, max_size=4, unique=True)))
        points = [f"    {money(x * 1000, scale)} -> {money(draw(st.integers(0, 300)) * 100, scale)}" for x in xs]
        extends = [f"    extend {w}" for w in ("below", "above") if draw(st.booleans())]
        body.append("  curve on row credit {\n" + "\n".join(points + extends) + "\n  }")
    elif rule == "pay":
        kind = "spif"
        form = draw(st.integers(0, 2))
        if form == 0:
            body.append(f"  pay {money(draw(st.integers(1, 2000)), scale)} per deal")
        elif form == 1:  # arithmetic of constants alone (it was an internal error)
            body.append(f"  pay {money(draw(st.integers(1, 2000)), scale)} * {draw(st.integers(1, 12)) / 4:g} per deal")
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
    return rule, body, uses_target, kind


@st.composite
def component(
    draw,
    index: int,
    scale: int = 1,
    rollup: bool = False,
    cycle: bool = False,
    cancelled: bool = False,
    plan_clawback: str = "",
    period_measure: bool = False,
) -> tuple[str, bool]:
    """A component's text, and whether it pays % of target. Amounts of money are ``scale`` times larger. With
    ``cycle``, now and then `payable when`, and (if the plan has ``cancelled`` transactions) its own clawback.
    A component that recalculates (its own way, else the plan's ``plan_clawback``) is capped per year alone, and
    on a ``period_measure`` prices rows on the row alone (E404)."""
    rule, body, uses_target, kind = draw(earning_rule(scale))
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
    # Dated versions: another rule from a day of the year on.
    if rule != "once" and draw(st.integers(0, 3)) == 0:
        days = sorted(draw(st.sets(st.dates(dt.date(2027, 1, 2), dt.date(2027, 12, 31)), min_size=1, max_size=2)))
        for day in days:
            _, version, version_target, _ = draw(earning_rule(scale, [r for r in RULES if r != "once"]))
            uses_target = uses_target or version_target
            if draw(st.integers(0, 2)) == 0:
                version.append(f'  multiplier {draw(st.sampled_from(["0.5", "1.5", "3"]))}x when kind == "new"')
            body.append(
                f"  from {day} {{\n" + "\n".join("  " + line for line in "\n".join(version).split("\n")) + "\n  }"
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
    versioned = any(line.startswith("  from ") for line in body)
    # Nor does one on a measure that starts afresh each period (E404).
    measured = period_measure and any(
        "accelerator on" in line or " on attainment {" in line or " on credit {" in line for line in body
    )
    own = ""
    if cancelled and (versioned or (measured and "recalculate" in plan_clawback) or draw(st.integers(0, 3)) == 0):
        # A component with versions does not recalculate (E412): its own way, whatever the plan's.
        modes = ("as_paid", "at_rate") if versioned or measured else ("as_paid", "at_rate", "recalculate")
        own = draw(clawback(modes))
        body.append(f"  {own}")
    if cancelled and rule != "once" and "recalculate" in (own or plan_clawback):  # capped per year alone (E404)
        body = [line for line in body if not (line.startswith("  cap ") and not line.endswith(" per year"))]
    # Held until the row says it is payable.
    if cycle and rule != "once" and draw(st.integers(0, 3)) == 0:
        condition = draw(st.sampled_from(["paid is not empty", 'kind == "new"']))
        body.append(f"  payable when {condition}")
    if rollup and draw(st.integers(0, 2)) == 0:  # a manager's override on their team's credit
        body.insert(0, "  on rollup credit")
    return f"{kind} c{index} {{\n" + "\n".join(body) + "\n}\n", uses_target


@st.composite
def draw_block(draw, scale: int = 1, most: int = 10_000, recoverable: bool | None = None) -> str:
    """A draw of up to ``most`` dollars: per period, month or year; recoverable (with its limits now and then)
    or not; ending or not."""
    per = draw(st.sampled_from(["period", "month", "year"]))
    dollars = draw(st.integers(1, most // 50)) * (12 if per == "year" else 1) * 50
    lines = [f"  amount {money(dollars, scale)} per {per}"]
    recoverable = draw(st.booleans()) if recoverable is None else recoverable
    lines.append("  recoverable" if recoverable else "  non_recoverable")
    if recoverable and draw(st.booleans()):
        lines.append(f"  recover at most {draw(st.integers(1, 100))}%")
    if recoverable and draw(st.integers(0, 2)) == 0:
        lines.append(f"  recover from {draw(st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31)))}")
    if draw(st.integers(0, 2)) == 0:
        lines.append(f"  until {draw(st.dates(dt.date(2027, 1, 1), dt.date(2027, 12, 31)))}")
    return "draw {\n" + "\n".join(lines) + "\n}\n"


@st.composite
def plans(draw, scale: int = 1, cycle: bool = False, summable: bool = False) -> str:
    """A plan's text. With ``cycle``, the pay cycle: a cancellation column (a refunded amount now and then),
    clawback modes in the plan and its components, `payable when`, a draw, a payout floor. ``summable``: no plan
    cap, the one thing totals by group sums do not take (spmlang/engine/pay/sums.py)."""
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
    settled = ""  # the plan's own way of clawing back, and its payout floor
    cancelled = cycle and draw(st.integers(0, 4)) > 0
    if cancelled and draw(st.booleans()):
        settled += f"  {draw(clawback())}\n"
    if cycle and draw(st.integers(0, 3)) == 0:
        settled += f"  payout floor {money(draw(st.sampled_from([0, 0, 100, 2500])), scale)}\n"
    text = (
        f'plan "R" {{\n  year starts 2027-01-01\n  payout {payout}\n  measure {measure}\n{basis}{settled}}}\n'
        "transactions {\n  column id text\n  column rep text\n  column day date\n  column amount money\n"
        + ("  column rep2 text\n  column share1 number\n  column share2 number\n" if split else "")
        + ("  column cancel date\n  column refund money\n  column paid date\n" if cycle else "")
        + f"  column kind text\n  key id\n  date day\n{payees}  credit {credit}\n"
        + ("  rollup to manager\n" if rollup else "")
    )
    if cancelled:
        text += "  cancelled cancel\n" + ("  refunded refund\n" if draw(st.booleans()) else "")
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
    recalculates = False
    for index in range(count):
        part, _ = draw(component(index, scale, rollup, cycle, cancelled, settled, measure == "period_to_date"))
        text += part
        # A component that recalculates is capped per year alone (E404), by the plan's caps too.
        recalculates = recalculates or (
            cancelled and "clawback recalculate" in (part if "clawback" in part else settled)
        )
    for _ in range(0 if summable else draw(st.sampled_from([0, 0, 0, 1, 2]))):
        covers = draw(st.sampled_from(["", "direct credit", "components"] + (["rollup credit"] if rollup else [])))
        if covers == "components":
            names = draw(st.lists(st.sampled_from([f"c{i}" for i in range(count)]), min_size=1, unique=True))
            covers = ", ".join(names)
        text += (
            f"cap {money(draw(st.integers(1, 80)) * 1000, scale)} per "
            f"{draw(st.sampled_from(['year'] if recalculates else ['period', 'year']))}"
            + (f" for {covers}" if covers else "")
            + "\n"
        )
    if cycle and draw(st.integers(0, 2)) == 0:
        text += draw(draw_block(scale))
    return text


@st.composite
def data(draw, periods: int, scale: int = 1):
    """Rows mostly inside the plan year and mostly paid; now and then a duplicate key, a credit note, a date
    outside the year, a zero quota, a payee without quota or target. A row in four is cancelled (on its day or
    later, after the year now and then, before its day rarely), a third of those in part (a refund in the
    credit's unit, now and then more than the credit or below zero, or given without a date); two in three
    have a `paid` date."""
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
        cancel = refund = None
        if draw(st.integers(0, 3)) == 0:
            later = draw(st.integers(-30, 400) if draw(st.integers(0, 19)) == 0 else st.integers(0, 400))
            cancel = day + dt.timedelta(days=later)
            if draw(st.integers(0, 2)) == 0:
                share = draw(st.sampled_from(["0.25", "0.5", "0.333", "1", "1.2", "-0.1", "0"]))
                refund = (Decimal(-cents if negative else cents) * scale / 100 * Decimal(share)).quantize(
                    Decimal("0.01")
                )
        elif draw(st.integers(0, 39)) == 0:
            refund = Decimal(cents // 2) * scale / 100  # a refund without a date
        paid = day + dt.timedelta(days=draw(st.integers(0, 60))) if draw(st.integers(0, 2)) else None
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
                "cancel": cancel,
                "refund": refund,
                "paid": paid,
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
            "cancel": pa.array([r.get("cancel") for r in rows], pa.date32()),
            "refund": pa.array([r.get("refund") for r in rows], pa.decimal128(24, 2)),
            "paid": pa.array([r.get("paid") for r in rows], pa.date32()),
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
