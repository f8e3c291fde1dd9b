"""The pay cycle in the reference evaluator (docs/calculation.md §6), row by row in Decimal.

Once the rules have priced the year (evaluator.py), a run settles each payee's pay, in the model's order:

1. reading: a cancellation that cannot be right rejects its row (:func:`cancellation`);
2. `clawback recalculate`: each credit row of a cancelled transaction has a twin on the cancellation date
   whose negative credit leaves the measure of the components it applies to (:func:`twins`, :func:`measured`;
   priced by the evaluator like any row, a line of kind `clawback`);
3. holds of rows not yet payable (:func:`holds`), then clawbacks of money, as paid or at rate
   (:func:`clawbacks`), on the lines the rules, caps and gates left;
4. earlier ledgers: closed periods are replaced by adjustments, releases and holds in the first open period;
   `through` leaves later periods out; then draws and the payout floor, period by period (:func:`settle`).

It shares nothing with the engine: earlier ledgers come in as the dicts a ledger's rows are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from reference.basics import CENT, MICRO, ZERO, Line, add_months, cents, evaluate, period_end, period_of, q6
from reference.dated import days
from spmlang.ir.kinds import ClawbackMode
from spmlang.ir.plan import CurveRule, PayOnceRule, PayPerRowRule, RateRule, TierRule

# A line's phase in its period, after re-pricing (0), rows (1) and period ends (2): what the pay cycle settles
# on the period's pay, then the draw and the floor on what that left.
SETTLE, GUARANTEE = 3, 4

# Classes of lines an earlier ledger is compared by; draws and floors are decided once and carried as balances.
MONEY, HOLD, ONCE = "money", "hold", "once"
CLASS_OF = {"hold": HOLD, "release": HOLD}  # a clawback is money: an earlier adjustment of it reads as money
CLASS_OF.update({kind: ONCE for kind in ("draw", "draw_recovery", "floor", "floor_recovery")})


def portion(amount: Decimal, part: Decimal, whole: Decimal, quantum: Decimal) -> Decimal:
    """amount x part / whole, half away from zero to ``quantum``; all of it when part is the whole (or the
    whole is zero)."""
    if part == whole or whole == 0:
        return amount
    with localcontext() as context:
        context.prec = 60
        return (amount * part / whole).quantize(quantum, rounding=ROUND_HALF_UP)


def sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


@dataclass(frozen=True)
class Cancellation:
    day: dt.date
    refunded: Decimal  # of the transaction's credit
    credit: Decimal  # the transaction's credit


# ---------------------------------------------------------------------- reading


def cancellation(ref, row: dict, date: dt.date, credit: Decimal) -> tuple[str | None, Cancellation | None]:
    """(reason the row is rejected, or None; its cancellation, or None)."""
    source = ref.plan.transactions
    if source.cancelled is None:
        return None, None
    day = row.get(source.cancelled)
    refunded = None
    if source.refunded is not None:
        value = evaluate(source.refunded, row, tables=ref.tables)
        refunded = None if value is None else q6(Decimal(value))
    if day is not None and day < date:
        return "invalid_value", None
    if day is None:
        return ("missing_value" if refunded not in (None, ZERO) else None), None
    if refunded is None:
        refunded = credit
    elif sign(refunded) * sign(credit) < 0 or abs(refunded) > abs(credit):
        return "invalid_value", None
    return None, Cancellation(day, refunded, credit)


# ---------------------------------------------------------------------- recalculate: twins


def in_year_cancellation(ref, c: dict) -> Cancellation | None:
    """The cancellation of credit row c's transaction if the plan year claws it back (one after the year
    is the next year's)."""
    found = ref.cancellations.get(c["index"])
    return found if found is not None and period_of(ref.plan, found.day) is not None else None


def twins(ref, credited: list[dict]) -> list[dict]:
    """A twin of each credit row of a transaction cancelled in the plan year, dated the cancellation, with
    minus the refunded part of the row's credit; only in a plan where some component recalculates."""
    plan = ref.plan
    if plan.transactions.cancelled is None or not any(
        plan.clawback(c).mode == ClawbackMode.RECALCULATE for c in plan.components
    ):
        return []
    made = []
    for c in credited:
        found = in_year_cancellation(ref, c)
        if found is None:
            continue
        part = portion(c["credit"], found.refunded, found.credit, MICRO)
        made.append({**c, "date": found.day, "period": period_of(plan, found.day), "credit": -part, "twin": c})
    return made


def outside_window(ref, component, c: dict, day: dt.date) -> bool:
    days = ref.plan.clawback(component).within_days
    return days is not None and (day - c["date"]).days > days


def applies(ref, component, twin: dict) -> bool:
    """Whether a twin moves the component's measure: it recalculates, and the cancellation is in its window."""
    origin = twin["twin"]
    return ref.plan.clawback(component).mode == ClawbackMode.RECALCULATE and not outside_window(
        ref, component, origin, twin["date"]
    )


def measured(ref, stream: list[dict], component) -> list[dict]:
    """The rows of a payee's stream the component is priced on (its twins only where they apply to it), each
    with the measure before and after it."""
    rows = [c for c in stream if "twin" not in c or applies(ref, component, c)]
    measure, previous = ZERO, None
    for c in rows:
        if ref.plan.settings.measure == "period_to_date" and c["period"] != previous:
            measure = ZERO
        c["before"], measure = measure, measure + c["credit"]
        c["after"], previous = measure, c["period"]
    return rows


def per_row(rule) -> bool:
    """A rule paid from the row alone, not on a measure: its twin reverses the row's own line."""
    return (
        isinstance(rule, PayPerRowRule)
        or isinstance(rule, RateRule)
        and rule.accelerator is None
        or isinstance(rule, (TierRule, CurveRule))
        and (rule.table.basis if isinstance(rule, TierRule) else rule.curve.basis) == "row"
    )


# ---------------------------------------------------------------------- holds and clawbacks of money


def holds(ref, payee: str, lines: list, rows: list[dict]) -> list:
    """A `hold` of what each row not payable earned from a component with `payable when` (its lines on the
    row: earning, caps), in the row's period."""
    made = []
    for component in ref.plan.components:
        if component.payable is None:
            continue
        for c in rows:
            if evaluate(component.payable, c["row"], ref._row_builtins(c), ref.tables) is True:
                continue
            earned = sum((x.amount for x in lines if x.rid == c["rid"] and x.component == component.name), ZERO)
            if earned:
                made.append(
                    Line(
                        payee,
                        component.name,
                        c["period"],
                        "hold",
                        c["key"],
                        -earned,
                        -earned,
                        order=(c["period"], SETTLE, c["date"], c["key"], c["pos"], 0),
                        role=c["role"],
                        rid=c["rid"],
                    )
                )
    return made


def clawbacks(ref, payee: str, lines: list, rows: list[dict]) -> list:
    """One `clawback` line per (cancelled credit row, component with a line on it) in the period of the
    cancellation: as paid, at rate, or zero outside the window; a component that recalculates has its twin's
    line instead (a zero line here only outside its window)."""
    made = []
    for c in rows:
        found = in_year_cancellation(ref, c)
        if found is None:
            continue
        for component in ref.plan.components:
            mine = [x for x in lines if x.rid == c["rid"] and x.component == component.name]
            if not mine:
                continue
            mode = ref.plan.clawback(component).mode
            outside = outside_window(ref, component, c, found.day)
            p = period_of(ref.plan, found.day)
            held = -sum((x.amount for x in mine if x.kind == "hold"), ZERO)
            if held and not outside:  # never paid: not clawed back, and no longer held
                lift = portion(held, found.refunded, found.credit, CENT)
                order = (p, SETTLE, c["date"], c["key"], c["pos"], 0)
                made.append(
                    Line(
                        payee,
                        component.name,
                        p,
                        "hold",
                        c["key"],
                        lift,
                        lift,
                        order=order,
                        role=c["role"],
                        rid=c["rid"],
                    )
                )
            if mode == ClawbackMode.RECALCULATE and not outside:
                continue
            if outside:
                amount = ZERO
            elif held:  # whatever the mode, all the held row earned goes
                full = sum((x.amount for x in mine if x.kind != "hold"), ZERO)
                amount = -portion(full, found.refunded, found.credit, CENT)
            else:
                version = ref.version_of(component, c)  # at rate: as the row's version priced it
                full = sum((_clawed(version, mode, x) for x in mine if x.kind != "hold"), ZERO)
                amount = -portion(full, found.refunded, found.credit, CENT)
            made.append(
                Line(
                    payee,
                    component.name,
                    p,
                    "clawback",
                    c["key"],
                    amount,
                    amount,
                    order=(p, SETTLE, c["date"], c["key"], c["pos"], 0),
                    role=c["role"],
                    rid=c["rid"],
                    measure=next((x.measure for x in mine if x.measure is not None), None),  # the row's
                )
            )
    return made


def _clawed(component, mode: ClawbackMode, line) -> Decimal:
    """What one of a component's lines on a cancelled row claws back in full."""
    if mode == ClawbackMode.AS_PAID:
        return line.amount  # its earning, and any cap on the row
    if line.kind != component.line_kind or isinstance(component.rule, (PayPerRowRule, PayOnceRule)):
        return ZERO  # at rate: caps are not undone, and a fixed amount is kept
    return cents(line.at_rate) if line.at_rate is not None else line.amount


# ---------------------------------------------------------------------- earlier ledgers, through, draws, floor


def settle(ref, lines: list) -> list:
    """The run's lines once earlier ledgers closed their periods, `through` cut the later ones, and draws and
    the floor topped up (and recovered) each open period's pay."""
    labels = ref.labels
    first_open = 0
    if ref.paid is not None:
        closed = (
            labels.index(ref.closed) if ref.closed else max((labels.index(d["period"]) for d in ref.paid), default=-1)
        )
        first_open = closed + 1
        lines = [x for x in lines if x.period >= first_open] + adjustments(ref, lines, first_open)
    last = None if ref.through is None else labels.index(ref.through)
    if last is not None:
        lines = [x for x in lines if x.period <= last]
    if last is None:  # the last period with a transaction or a cancellation, or the first open one
        credited = [c["period"] for c in ref.credited]
        cancelled = [
            period_of(ref.plan, found.day)
            for c in ref.credited
            if (found := ref.cancellations.get(c["index"])) is not None and period_of(ref.plan, found.day) is not None
        ]
        last = max(max(credited + cancelled, default=-1), first_open if ref.paid is not None else -1)
    return lines + guarantees(ref, lines, range(first_open, last + 1))


def adjustments(ref, lines: list, first_open: int) -> list:
    """For each (payee, component, closed period, transaction, money or hold): what is due now less what was paid,
    as one line in the first open period where they differ."""
    labels = ref.labels
    groups: dict[tuple, dict] = {}

    def group(payee, component, period, txn, kind) -> dict:
        key = (payee, component or "", period, txn, CLASS_OF.get(kind, MONEY))
        return groups.setdefault(key, {"due": ZERO, "paid": ZERO, "now": None, "then": None})

    for x in lines:
        if x.period < first_open and CLASS_OF.get(x.kind) != ONCE:
            g = group(x.payee, x.component, x.period, x.txn, x.kind)
            g["due"] += x.amount
            g["now"] = g["now"] or x
    for d in ref.paid:
        period = labels.index(d["for_period"] or d["period"])
        if period < first_open and CLASS_OF.get(d["kind"]) != ONCE:
            g = group(d["payee"], d["component"], period, d["txn"], d["kind"])
            g["paid"] += Decimal(d["amount"])
            g["then"] = g["then"] or d
    made = []
    for (payee, component, period, txn, cls), g in sorted(groups.items(), key=lambda item: str(item[0])):
        difference = g["due"] - g["paid"]
        if not difference:
            continue
        now = g["now"]
        kind = ("release" if difference > 0 else "hold") if cls == HOLD else "adjustment"
        on_row = now is not None and now.rid is not None
        made.append(
            Line(
                payee,
                component,
                first_open,
                kind,
                txn,
                difference,
                difference,
                order=(first_open, SETTLE, now.order[2] if on_row else dt.date.min, txn if on_row else "", 0, 0),
                role=now.role if now is not None else g["then"]["role"],
                for_period=period,
            )
        )
    return made


def guarantees(ref, lines: list, periods: range) -> list:
    """Draw and floor lines of every payee of the run over ``periods``, starting from the balances the earlier
    ledgers left (their last draw or floor line with a balance, per payee)."""
    plan, draw, floor = ref.plan, ref.plan.draw, ref.plan.settings.payout_floor
    if (draw is None and floor is None) or not periods:
        return []
    owed_then: dict[tuple[str, str], Decimal] = {}
    labels = ref.labels
    for d in sorted(ref.paid or [], key=lambda d: labels.index(d["period"])):  # stable: file order within one
        if d["balance"] is not None and d["kind"] in ("draw", "draw_recovery", "floor", "floor_recovery"):
            owed_then[(d["payee"], d["kind"].split("_")[0])] = Decimal(d["balance"])
    made = []
    step = 12 // plan.settings.periods
    for payee in sorted(ref.payees):
        draw_owed = owed_then.get((payee, "draw"), ZERO)
        floor_owed = owed_then.get((payee, "floor"), ZERO)

        def line(p, kind, amount, balance, payee=payee):
            return Line(
                payee,
                "",
                p,
                kind,
                None,
                amount,
                amount,
                order=(p, GUARANTEE, dt.date.min, "", 0, 0),
                balance=balance,
            )

        for p in periods:
            pay = sum((x.amount for x in lines if x.payee == payee and x.period == p), ZERO)
            if draw is not None:
                running = draw.until is None or add_months(plan.settings.year_start, p * step) <= draw.until
                drawn = draw_level(ref, payee, p)
                level = drawn if running else ZERO
                if running and drawn:
                    top = max(drawn - pay, ZERO)
                    draw_owed += top if draw.recoverable else ZERO
                    if top:
                        made.append(line(p, "draw", top, draw_owed if draw.recoverable else None))
                    pay += top
                if draw.recoverable and (draw.recover_from is None or period_end(plan, p) >= draw.recover_from):
                    excess = max(pay - level, ZERO)
                    if draw.recover_limit is not None:
                        excess = (excess * draw.recover_limit).quantize(CENT, rounding=ROUND_FLOOR)
                    taken = min(draw_owed, excess)
                    draw_owed -= taken
                    if taken:
                        made.append(line(p, "draw_recovery", -taken, draw_owed))
                    pay -= taken
            if floor is not None:
                top = max(floor - pay, ZERO)
                floor_owed += top
                if top:
                    made.append(line(p, "floor", top, floor_owed))
                pay += top
                taken = min(floor_owed, max(pay - floor, ZERO))
                floor_owed -= taken
                if taken:
                    made.append(line(p, "floor_recovery", -taken, floor_owed))
    return made


def draw_level(ref, payee: str, p: int) -> Decimal:
    """The draw of ``payee`` in period ``p``: for a payee a roster with dates does not list, nothing if it says
    who is employed, else the plan's; for one it lists,
    nothing in a period without a day on this plan, and otherwise prorated as the roster prorates quotas (by
    days: each day's eligibility over the period's days; by months: each month employed every day, at its days'
    eligibility, over the period's months), rounded once, half up, to the cent."""
    amount, roster = ref.plan.draw.amount, ref.dated
    if roster is None:
        return amount
    if payee not in roster.rows:  # not employed, where the roster says who is
        return ZERO if roster.employment else amount
    step = 12 // ref.periods
    start = ref.plan.settings.year_start
    first, end = add_months(start, p * step), add_months(start, (p + 1) * step)
    if not any(roster.employed(payee, day) for day in days(first, end)):
        return ZERO
    if roster.prorate in (None, "none"):
        return amount
    if roster.prorate == "days":
        share = sum((roster.weight(payee, day) for day in days(first, end)), Fraction(0)) / (end - first).days
    else:
        share = Fraction(0)
        for m in range(step):
            month_first, month_end = add_months(first, m), add_months(first, m + 1)
            month = list(days(month_first, month_end))
            if all(roster.employed(payee, day) for day in month):
                share += sum((roster.weight(payee, day) for day in month), Fraction(0)) / len(month)
        share /= step
    exact = Fraction(amount) * share
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)
