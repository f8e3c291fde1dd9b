"""A deliberately simple evaluator of the calculation model, to check the vectorized engine against.

Row by row, in plain Python and decimal.Decimal, in the order of
../shared/design/calculation-model.md. It shares the parser and checker with
spmlang (it reads a CheckedPlan) and nothing of the engine. It follows the
numeric model of docs/calculation.md §5: amounts are exact decimals quantized
to 10^-6 of the currency at the same points as the engine; each component's
earnings are rounded to cents cumulatively over the year, and caps, gates and
plan caps act on those cents.

It covers what the differential tests generate: split credit (several payee
columns with shares), rollups to every manager above a payee (a roster, or a
roster with dates: the manager in force on the transaction's date; employment,
a fallback payee, proration of quotas and targets by days or months, and
eligibility: see dated.py), currencies (money converted at the rate of the
transaction's date, its period's end or a fixed rate; a payee paid in another
currency, with an fx line a period), dated quota and target tables,
components on direct or rollup credit, dated versions of a component (each row priced and
trued up under the version in force on its date), lookups (a row a component cannot read
is not paid by it), rates (fixed, per row from a lookup, or from the payee's
annual quota and target), marginal and
retroactive tiers (attainment, credit, row credit), accelerators, curves
(attainment, row credit), multipliers, pay per row, pay once, gates, caps at
every scope in money or % of target, plan caps, year- or period-to-date
measures and every quota basis; and the pay cycle (cycle.py): cancellations
clawed back in every mode, holds, earlier ledgers, `through`, draws and the
payout floor.

One file though long: it is the model's steps in order, each a method of one
run; what a run settles after pricing is cycle.py, what both read is basics.py.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from reference import cycle
from reference.basics import CENT, MICRO, ZERO, Line, LookupMiss, add_months, cents, evaluate, period_end, period_of, q6
from spmlang.ir import expressions as ir
from spmlang.ir.constants import constant_value
from spmlang.ir.kinds import LineKind
from spmlang.ir.plan import CheckedPlan, CurveRule, PayOnceRule, PayPerRowRule, RateRule, TierRule

from .dated import Rates, Roster, RosterRow, period_amount, spread

# ---------------------------------------------------------------------- earning functions


def tier_breakpoints(table, quota: Decimal) -> list[Decimal]:
    if table.basis == "attainment":
        return [q6(t.low * quota) for t in table.tiers]
    return [t.low for t in table.tiers]


def tier_index(lows: list[Decimal], m: Decimal) -> int:
    """The tier holding m: a value on a boundary belongs to the higher tier."""
    return max(sum(1 for low in lows if m >= low) - 1, 0)


def tiers_value(table, rates: list[Decimal], m: Decimal, quota: Decimal) -> Decimal:
    lows = tier_breakpoints(table, quota)
    if table.mode == "retroactive":
        return q6(rates[tier_index(lows, m)] * m)
    total = min(m - lows[0], ZERO) * rates[0]  # below 0, the first tier's rate
    for k, low in enumerate(lows):
        high = lows[k + 1] if k + 1 < len(lows) else None
        filled = max(m - low, ZERO) if high is None else min(max(m - low, ZERO), high - low)
        total += rates[k] * filled
    return q6(total)


def curve_value(curve, m: Decimal, quota: Decimal, target: Decimal, extend_above: bool | None = None) -> Decimal:
    x = (m / quota if quota else ZERO) if curve.basis == "attainment" else m
    xs, ys = list(curve.xs), list(curve.ys)
    above = curve.extend_above if extend_above is None else extend_above

    def slope(i):
        return (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])

    if x < xs[0]:
        y = ys[0] + (x - xs[0]) * slope(0) if curve.extend_below else ZERO
    elif x > xs[-1]:
        y = ys[-1] + (x - xs[-1]) * slope(len(xs) - 2) if above else ys[-1]
    else:
        i = max(j for j in range(len(xs)) if xs[j] <= x)
        y = ys[i] if i == len(xs) - 1 else ys[i] + (x - xs[i]) * slope(i)
    return q6(y * target if curve.of_target else y)


# ---------------------------------------------------------------------- the run


ROLES = ("direct", "rollup")
KIND_ORDER = {str(kind): code for code, kind in enumerate(LineKind)}  # a period's lines of one row, in this order


class Reference:
    def __init__(
        self,
        plan: CheckedPlan,
        rows: list[dict],
        quotas: dict,
        targets: dict,
        roster: dict | None = None,
        *,
        labels: list[str] | None = None,
        paid: list[dict] | None = None,
        closed: str | None = None,
        through: str | None = None,
        roster_rows: list[RosterRow] | None = None,
        fx: list[dict] | None = None,
        dated_quotas: dict | None = None,
        dated_targets: dict | None = None,
    ):
        """rows: dicts of column values (Decimal money, date, str); quotas/targets: {(payee, period): Decimal};
        roster: {payee: manager}, for rollups. A roster with dates or terms (``roster_rows``) stands for the
        roster; ``fx``: rows {date, currency, rate}; a dated quotas or targets table: {payee: [(start, end,
        annual amount)]} in place of quotas or targets. The pay cycle: ``labels``, the plan's periods as a ledger
        names them; ``paid``, the lines of earlier ledgers (dicts of a ledger's columns), which closed every
        period up to ``closed`` (their manifest's `through`; else their last period with a line); ``through``,
        the last period this run pays."""
        self.plan = plan
        self.roster = roster or {}
        self.rows = rows
        self.periods = plan.settings.periods
        self.quota_period = quotas
        self.target_period = targets
        self.labels = labels or []
        self.paid, self.closed, self.through = paid, closed, through
        spec = plan.tables.get("roster")
        self.dated = None
        if roster_rows is not None and spec is not None:
            prorate = spec.prorate.value if spec.prorate is not None else None
            self.dated = Roster(roster_rows, plan.settings.name, prorate, spec.employment)
        self.rates = None
        if fx is not None:
            currency = plan.transactions.currency
            self.rates = Rates(fx, fixed=currency is not None and currency.conversion == "fixed")
        if self.dated is not None or dated_quotas is not None or dated_targets is not None:
            self.quota_period = self._by_day(quotas, dated_quotas)
            self.target_period = self._by_day(targets, dated_targets)
        self.status: dict[int, str] = {}  # input row -> credited | excluded:NAME | rejected:REASON
        self.cancellations: dict[int, cycle.Cancellation] = {}  # input row -> its cancellation
        self.credited: list[dict] = []  # the credit rows (no twins)
        self.payees: set[str] = set()  # every payee of the run: draws and floors settle each
        self.tables = {
            name: {
                row[list(table.columns).index(table.key)]: dict(zip(table.columns, row, strict=False))
                for row in table.rows
            }
            for name, table in plan.tables.items()
            if table.kind == "lookup" and table.rows
        }

    def _by_day(self, amounts: dict, dated: dict | None) -> dict:
        """Period amounts that hold day by day: a dated table's, or any prorated by a roster with dates."""
        start, count = self.plan.settings.year_start, self.periods
        step = 12 // count
        months = [(add_months(start, m), add_months(start, m + 1)) for m in range(12)]
        payees = set(dated) if dated is not None else {payee for payee, _ in amounts}
        if dated is not None:  # a row without an end holds until the day before the payee's next row starts
            dated = {
                payee: [
                    (start, end or (rows[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(rows) else None), annual)
                    for i, (start, end, annual) in enumerate(rows)
                ]
                for payee, rows in (
                    (payee, sorted(rows, key=lambda r: r[0] or dt.date.min)) for payee, rows in dated.items()
                )
            }
        result = {}
        for payee in payees:
            for p in range(count):
                first, end = add_months(start, p * step), add_months(start, (p + 1) * step)

                def amount_on(day, p=p, payee=payee):
                    if dated is None:
                        return amounts.get((payee, p), ZERO)
                    for row_start, row_end, annual in dated[payee]:
                        if (row_start or dt.date.min) <= day <= (row_end or dt.date.max):
                            return spread(annual, count)[p]
                    return None

                result[(payee, p)] = period_amount(
                    amount_on, payee, first, end, months[p * step : (p + 1) * step], self.dated
                )
        return result

    def quota(self, payee: str, p: int) -> Decimal:
        per = [self.quota_period.get((payee, i), ZERO) for i in range(self.periods)]
        basis = self.plan.settings.attainment_basis
        return sum(per[: p + 1], ZERO) if basis == "to_date" else (sum(per, ZERO) if basis == "annual" else per[p])

    def target(self, payee: str, p: int) -> Decimal:
        per = [self.target_period.get((payee, i), ZERO) for i in range(self.periods)]
        basis = self.plan.settings.attainment_basis
        return sum(per[: p + 1], ZERO) if basis == "to_date" else (sum(per, ZERO) if basis == "annual" else per[p])

    def run(self) -> list[Line]:
        plan, source = self.plan, self.plan.transactions
        seen_keys, credited = set(), []
        for index, row in enumerate(self.rows):
            key = row[source.key]
            if key in seen_keys:
                self.status[index] = "rejected:duplicate_key"
                continue
            seen_keys.add(key)
            if source.currency is not None:  # money converts to the plan currency before any filter
                row, fate = self._converted(row)
                if fate is not None:
                    self.status[index] = f"rejected:{fate}"
                    continue
            failed = next((f.name for f in source.filters if evaluate(f.expr, row) is not True), None)
            if failed is not None:
                self.status[index] = f"excluded:{failed}"
                continue
            if row.get(source.payees[0].column) in (None, ""):
                self.status[index] = "rejected:missing_value"
                continue
            p = period_of(plan, row[source.date])
            if p is None:
                self.status[index] = "rejected:outside_year"
                continue
            credit = evaluate(source.credit, row)
            credit = q6(credit) if credit is not None else None
            if credit is None:
                self.status[index] = "rejected:missing_value"
                continue
            problem, cancelled = cycle.cancellation(self, row, row[source.date], credit)
            if problem is not None:
                self.status[index] = f"rejected:{problem}"
                continue
            if cancelled is not None:
                self.cancellations[index] = cancelled
            splits = self._splits(row)
            if splits is None:
                self.status[index] = "rejected:bad_split"
                continue
            splits, instead = self._employed(splits, row[source.date])
            if splits is None:
                self.status[index] = "rejected:outside_employment"
                continue
            for split, payee, share in splits:
                credited.append(
                    {
                        "index": index,
                        "row": row,
                        "key": key,
                        "payee": payee,
                        "role": "direct",
                        "split": split,
                        "level": 0,
                        "share": share,
                        "from": None,
                        "date": row[source.date],
                        "period": p,
                        "credit": credit if share == 1 else q6(credit * share),
                        "fallback": instead.get(split),
                    }
                )
        if source.rollup and any(c.role == "rollup" for c in plan.components):
            for c in [c for c in credited]:  # every manager above the payee gets a rollup row
                manager, level = self._manager(c["payee"], c["date"]), 1
                while manager:
                    credited.append({**c, "payee": manager, "role": "rollup", "level": level, "from": c["payee"]})
                    manager, level = self._manager(manager, c["date"]), level + 1
        # Every payee of the run: of a transaction read, everyone the roster names (where the plan reads it: to
        # roll up, or to pay a draw or a floor to the people on it), in the quotas or targets, paid by an earlier
        # ledger, or named by a roster with dates.
        self.payees = {c["payee"] for c in credited} | {d["payee"] for d in self.paid or []}
        for kind, amounts in (("quotas", self.quota_period), ("targets", self.target_period)):
            self.payees |= {payee for payee, _ in amounts} if kind in plan.tables else set()  # if the plan reads it
        guarantees = plan.draw is not None or plan.settings.payout_floor is not None
        if source.rollup or (guarantees and "roster" in plan.tables):
            self.payees |= set(self.roster) | set(self.roster.values())
        if self.dated is not None:  # a roster with dates or terms: everyone it names, and the fallback payee
            self.payees |= set(self.dated.rows)
            self.payees |= {plan.transactions.fallback} if plan.transactions.fallback else set()
        credited = self._check_basis(credited)
        for c in credited:
            self.status[c["index"]] = "credited"
        self.credited = credited
        twins = cycle.twins(self, credited)
        for rid, c in enumerate(credited + twins):
            c["rid"] = rid
        # Within a payee and role: by date, key, then (one transaction, several rows) level and payee column; a
        # transaction cancelled on its own day has its twins after all its rows (its credit comes in whole, then
        # leaves), in the same order.
        streams: dict[tuple[str, str], list[dict]] = {}
        for c in sorted(
            credited + twins,
            key=lambda c: (c["payee"], c["role"], c["date"], c["key"], "twin" in c, c["level"], c["split"]),
        ):
            streams.setdefault((c["payee"], c["role"]), []).append(c)
        lines: list[Line] = []
        for payee in sorted({payee for payee, _ in streams}):
            payee_lines = []
            own = []  # the payee's credit rows (not twins), in stream order
            for role in ROLES:
                stream = streams.get((payee, role), [])
                for position, c in enumerate(stream):
                    c["pos"] = position
                own += [c for c in stream if "twin" not in c]
                for index, component in enumerate(plan.components):
                    if component.role == role and stream:
                        payee_lines += self._component(payee, cycle.measured(self, stream, component), component, index)
            capped = self._plan_caps(payee, payee_lines)
            capped += cycle.holds(self, payee, capped, own)
            lines += capped + cycle.clawbacks(self, payee, capped, own)
            paid = {line.rid for line in payee_lines if line.rid is not None}
            for c in own:  # a credited row no component paid still gets a zero line
                if c["rid"] not in paid:
                    lines.append(
                        Line(
                            payee,
                            "",
                            c["period"],
                            "earning",
                            c["key"],
                            ZERO,
                            role=c["role"],
                            rid=c["rid"],
                            order=(c["period"], 1, c["date"], c["key"], c["pos"], 0),
                        )
                    )
        lines = cycle.settle(self, lines)
        return self._round(lines + self._fx_lines(lines))

    # ------------------------------------------------------------------ a roster with dates, currencies
    def _converted(self, row: dict) -> tuple[dict, str | None]:
        """The row with its money in the plan currency, or why it cannot be (a reason it is rejected for)."""
        plan, source = self.plan, self.plan.transactions
        currency = row.get(source.currency.column)
        if currency in (None, ""):
            return row, "missing_value"
        if currency == plan.settings.currency:
            return row, None
        fixed = source.currency.conversion == "fixed"
        day = None
        if not fixed:
            date = row.get(source.date)
            if date is None:
                return row, "missing_value"
            p = period_of(plan, date)
            if p is None:
                return row, "outside_year"
            day = date if source.currency.conversion == "transaction_date" else period_end(plan, p)
        found = self.rates.rate(currency, day) if self.rates is not None else None
        if found is None:
            return row, "missing_fx_rate"
        rate = found[0]
        converted = dict(row)
        for name, column in source.columns.items():
            if column.type is ir.Type.MONEY and row.get(name) is not None:
                converted[name] = q6(row[name] * rate)
        return converted, None

    def _employed(self, splits: list, day: dt.date) -> tuple[list | None, dict]:
        """The splits with each payee outside employment replaced by the fallback payee (and why, by split);
        None if one is outside and there is no fallback."""
        if self.dated is None or not self.dated.employment:
            return splits, {}
        fallback, kept, why = self.plan.transactions.fallback, [], {}
        for split, payee, share in splits:
            if not self.dated.employed(payee, day):
                if fallback is None:
                    return None, {}
                why[split] = self.dated.why_not(payee, day)
                payee = fallback
            kept.append((split, payee, share))
        return kept, why

    def _manager(self, payee: str, day: dt.date) -> str | None:
        if self.dated is not None:
            return self.dated.manager(payee, day)
        return self.roster.get(payee)

    def _fx_lines(self, lines: list[Line]) -> list[Line]:
        """An fx line for each payee and period with lines whose payee is paid in another currency: the
        period's payout over the rate of its last day (or the fixed rate), to the cent."""
        if self.dated is None or self.rates is None:
            return []
        currency = self.plan.settings.currency
        totals: dict[tuple[str, int], Decimal] = {}
        for line in lines:
            totals[(line.payee, line.period)] = totals.get((line.payee, line.period), ZERO) + line.amount
        extra = []
        for (payee, p), total in totals.items():
            last_day = period_end(self.plan, p)
            pay_in = self.dated.currency(payee, last_day)
            if pay_in is None or pay_in == currency:
                continue
            found = self.rates.rate(pay_in, None if self.rates.fixed else last_day)
            if found is None:
                raise AssertionError(f"no {pay_in} rate for {last_day}: the engine stops, the test gives rates")
            line = Line(payee, "", p, "fx", None, ZERO, order=(p, 3, dt.date.max, "", 0, 0))
            line.paid = (total / found[0]).quantize(CENT, rounding=ROUND_HALF_UP)
            extra.append(line)
        return extra

    def _splits(self, row: dict) -> list[tuple[int, str, Decimal]] | None:
        """(payee column, payee, share) of each payee column with a payee; None if the split is bad (a payee
        without a share, a share without a payee, a negative share, shares over 100%)."""
        payees = self.plan.transactions.payees
        splits, total = [], ZERO
        for split, spec in enumerate(payees):
            payee = row.get(spec.column)
            has = payee not in (None, "")
            share = Decimal(1) if spec.share is None else evaluate(spec.share, row, tables=self.tables)
            if spec.share is not None:
                if has and share is None or not has and share not in (None, 0) or has and share < 0:
                    return None
            if has:
                splits.append((split, payee, share))
                total += share
        if len(payees) > 1 and total > 1 + Decimal("1e-9"):
            return None
        return splits

    def _check_basis(self, credited: list[dict]) -> list[dict]:
        """A credit row whose payee lacks the quota or target its role's components need rejects its
        transaction, every row of it."""
        from spmlang.ir.plan import component_needs_targets, components_need_quota_basis, components_need_quotas

        rejected = set()
        for c in credited:
            components = [x for x in self.plan.components if x.role == c["role"]]
            # attainment needs the quota basis of the row's period; a row reading `quota`, the annual quota
            if (
                components_need_quota_basis(components)
                and self.quota(c["payee"], c["period"]) <= 0
                or components_need_quotas(components)
                and not components_need_quota_basis(components)
                and self._row_builtins(c)["quota"] <= 0
            ):
                rejected.add(c["index"])
            elif (
                any(component_needs_targets(x) for x in components)
                or c["role"] == "direct"
                and any(
                    cap.of_target and cap.covers_role("direct", self.plan.components) for cap in self.plan.plan_caps
                )
            ) and not any((c["payee"], p) in self.target_period for p in range(self.periods)):
                rejected.add(c["index"])
        for index in rejected:
            self.status[index] = "rejected:missing_quota"
        return [c for c in credited if c["index"] not in rejected]

    # ------------------------------------------------------------------ one component
    def _component(self, payee: str, rows: list[dict], component, index: int) -> list[Line]:
        rule, name = component.rule, component.name
        kind = component.line_kind
        chosen, failed = [], []
        for c in rows if not isinstance(rule, PayOnceRule) else []:
            origin = c.get("twin")
            if origin is not None:  # a twin: paid as its original is, on its multipliers and rate
                if any(x is origin for x in chosen):
                    c.setdefault("own", {})[name] = origin["own"][name]
                    c.setdefault("mult", {})[name] = origin["mult"][name]
                    chosen.append(c)
                continue
            # Conditions in order (the first that is not true decides), then the multipliers and the rate or
            # payment of a row it pays. A key not in its table: the component does not pay the row (a zero line).
            builtins = self._row_builtins(c)
            version = self.version_of(component, c)  # its multipliers and rule are the row's version's
            try:
                if not all(evaluate(f.expr, c["row"], builtins, self.tables) is True for f in component.filters):
                    continue
                mult = Decimal(1)
                for m in version.multipliers:
                    if evaluate(m.condition, c["row"], builtins, self.tables) is True:
                        mult *= m.factor
                own = None
                if isinstance(version.rule, (RateRule, PayPerRowRule)):
                    own = evaluate(
                        version.rule.rate if isinstance(version.rule, RateRule) else version.rule.amount,
                        c["row"],
                        builtins,
                        self.tables,
                    )
            except LookupMiss:
                failed.append(c)
                continue
            if own is None and isinstance(version.rule, (RateRule, PayPerRowRule)):
                failed.append(c)  # an empty rate or payment
                continue
            c.setdefault("own", {})[name] = own
            c.setdefault("mult", {})[name] = mult
            chosen.append(c)
        raw: list[Line] = []
        earned = {}
        for c in failed:
            raw.append(
                Line(
                    payee,
                    name,
                    c["period"],
                    kind,
                    c["key"],
                    ZERO,
                    order=(c["period"], 1, c["date"], c["key"], c["pos"], 0),
                    unpaid=True,
                    role=c["role"],
                    rid=c["rid"],
                    measure=(c["before"], c["after"]),
                )
            )
        for c in chosen:
            earned[c["rid"]] = self._line_under(component, c, c["period"])
            raw.append(
                Line(
                    payee,
                    name,
                    c["period"],
                    "clawback" if "twin" in c else kind,  # a twin's line is its transaction's clawback
                    c["key"],
                    earned[c["rid"]],
                    order=(c["period"], 1, c["date"], c["key"], c["pos"], 0),
                    role=c["role"],
                    rid=c["rid"],
                    at_rate=None if "twin" in c else self._at_rate(component, c),
                    measure=(c["before"], c["after"]),  # this component's (cycle.measured), set just before
                )
            )
        # Each version re-prices its own rows: one true-up per period and version.
        for v, version in enumerate(component.in_versions()):
            if not self._reprices(version.rule):
                continue
            mine = [c for c in chosen if self.version_index(component, c) == v]
            rids = {c["rid"] for c in mine}
            ups: list[Line] = []
            so_far = ZERO
            for p in range(1, self.periods):
                so_far += sum((line.exact for line in raw if line.period == p - 1 and line.rid in rids), ZERO)
                so_far += sum((line.exact for line in ups if line.period == p - 1), ZERO)
                earlier = [c for c in mine if c["period"] < p]
                if not earlier:
                    continue
                repriced = sum((self._line_under(component, c, p) for c in earlier), ZERO)
                # true_up(p) = earlier rows on p's basis - what they and earlier true-ups earned
                if repriced - so_far:
                    ups.append(
                        Line(
                            payee,
                            name,
                            p,
                            "true_up",
                            None,
                            repriced - so_far,
                            order=(p, 0, dt.date.min, "", 0, 0),
                            role=component.role,
                        )
                    )
            raw += ups
        if isinstance(rule, PayOnceRule) and rows:
            for p in range(self.periods):
                end_rows = (
                    [c for c in rows if c["period"] <= p]
                    if self.plan.settings.measure == "year_to_date"
                    else [c for c in rows if c["period"] == p]
                )
                m = sum((c["credit"] for c in end_rows), ZERO)
                quota = self.quota(payee, p)
                builtins = {
                    "attainment": m / quota if quota else ZERO,
                    "credit": m,
                    "quota": quota,
                    "target": self.target(payee, p),
                    "count": sum(-1 if "twin" in c else 1 for c in end_rows),  # a twin, one fewer
                }
                if evaluate(rule.condition, {}, builtins) is True and (
                    rule.by is None or period_end(self.plan, p) <= rule.by
                ):
                    annual = sum((self.target_period.get((payee, i), ZERO) for i in range(self.periods)), ZERO)
                    amount = q6(annual * rule.amount) if rule.of_target else rule.amount
                    raw.append(
                        Line(
                            payee,
                            name,
                            p,
                            "bonus",
                            None,
                            amount,
                            order=(p, 2, dt.date.max, "", 0, 0),
                            role=component.role,
                        )
                    )
                    break
        raw.sort(key=lambda line: line.order)
        running = ZERO  # what the rule earned, rounded cumulatively over the year; caps and gates act on cents
        for line in raw:
            before, running = running, running + line.exact
            line.amount = cents(running) - cents(before)
        return self._caps_and_gate(payee, rows, component, index, raw)

    def _reprices(self, rule) -> bool:
        settings = self.plan.settings
        if settings.measure != "year_to_date" or settings.attainment_basis != "to_date" or self.periods == 1:
            return False
        if isinstance(rule, TierRule):
            return rule.table.basis == "attainment"
        if isinstance(rule, RateRule) and rule.accelerator is not None:
            return rule.accelerator.basis == "attainment"
        if isinstance(rule, CurveRule):
            return rule.curve.basis == "attainment" or rule.curve.of_target
        return False

    def version_index(self, component, c: dict) -> int:
        """Which version of the component is in force on row c's date (a twin: its original's); 0 without."""
        day = (c.get("twin") or c)["date"]
        return sum(1 for version in component.versions if version.start <= day)

    def version_of(self, component, c: dict):
        """The component as its version in force on row c's date says it (its rule and multipliers)."""
        return component.in_versions()[self.version_index(component, c)] if component.versions else component

    def _row_builtins(self, c: dict) -> dict:
        """What a component's row expressions see besides the columns: the row's credit, and its payee's annual
        quota and target incentive."""
        payee = c["payee"]
        annual = [
            sum((table.get((payee, i), ZERO) for i in range(self.periods)), ZERO)
            for table in (self.quota_period, self.target_period)
        ]
        return {"credit": c["credit"], "quota": annual[0], "target": annual[1]}

    def _line_under(self, component, c: dict, p: int) -> Decimal:
        """What row c earns from ``component`` under the basis of period p."""
        component = self.version_of(component, c)
        rule, name = component.rule, component.name
        origin = c.get("twin")
        if origin is not None and cycle.per_row(rule):  # a twin reverses its original's own line, in part
            line = self._line_under(component, origin, origin["period"])
            return -cycle.portion(line, -c["credit"], origin["credit"], MICRO)
        mult = c["mult"][name]
        payee = c["payee"]
        quota, target = self.quota(payee, p), self.target(payee, p)

        def times(delta: Decimal) -> Decimal:
            return delta if mult == 1 else q6(delta * mult)

        if isinstance(rule, PayPerRowRule):
            return times(c["own"][name])
        if isinstance(rule, RateRule) and rule.accelerator is None:
            return q6(c["credit"] * c["own"][name] * mult)
        if isinstance(rule, RateRule):
            fixed = constant_value(rule.rate)
            if fixed is None:  # a rate per row multiplies the row's line, as its multipliers do
                mult *= c["own"][name]
            rates = [t.rate * (fixed if fixed is not None else 1) for t in rule.accelerator.tiers]
            value = lambda m: tiers_value(rule.accelerator, rates, m, quota)  # noqa: E731
        elif isinstance(rule, TierRule):
            rates = [t.rate for t in rule.table.tiers]
            if rule.table.basis == "row":
                return times(tiers_value(rule.table, rates, c["credit"], quota))
            value = lambda m: tiers_value(rule.table, rates, m, quota)  # noqa: E731
        elif isinstance(rule, CurveRule):
            if rule.curve.basis == "row":  # the curve's value at the row's own credit
                return times(curve_value(rule.curve, c["credit"], quota, target))
            value = lambda m: curve_value(rule.curve, m, quota, target)  # noqa: E731
        else:
            raise AssertionError(rule)
        return times(value(c["after"]) - value(c["before"]))

    def _at_rate(self, component, c: dict) -> Decimal | None:
        """A retroactive tier's row: its own credit at the rate of the tier it reached, times its multipliers
        (what `clawback at_rate` takes back; the uplift on earlier credit is kept)."""
        rule = self.version_of(component, c).rule
        if not isinstance(rule, TierRule) or rule.table.mode != "retroactive":
            return None
        lows = tier_breakpoints(rule.table, self.quota(c["payee"], c["period"]))
        reached = tier_index(lows, c["credit"] if rule.table.basis == "row" else c["after"])
        return q6(c["credit"] * rule.table.tiers[reached].rate * c["mult"][component.name])

    def _caps_and_gate(self, payee: str, rows: list[dict], component, index: int, raw: list[Line]) -> list[Line]:
        paid = [line.amount for line in raw]
        cuts: list[Line] = []
        for cap in sorted(component.caps, key=lambda c: ("row", "period", "year").index(c.scope)):
            kept = []
            running: dict = {}
            for line, amount in zip(raw, paid, strict=False):
                limit = cents(self._limit(cap, payee, line.period))
                if cap.scope == "row":
                    keep = min(amount, limit) if line.kind not in ("true_up", "bonus") else amount
                else:
                    group = line.period if cap.scope == "period" else 0
                    before = running.get(group, ZERO)
                    running[group] = before + amount
                    keep = min(running[group], limit) - min(before, limit)
                kept.append(keep)
            for line, amount, keep in zip(raw, paid, kept, strict=False):
                if amount != keep:
                    cuts.append(
                        Line(
                            payee,
                            line.component,
                            line.period,
                            "cap",
                            line.txn,
                            keep - amount,
                            keep - amount,
                            order=line.order,
                            role=line.role,
                            rid=line.rid,
                        )
                    )
            paid = kept
        lines = raw + cuts
        if component.gate is not None:
            earned = [
                sum((a for line, a in zip(raw, paid, strict=False) if line.period == p), ZERO)
                for p in range(self.periods)
            ]
            payable = ZERO
            for p in range(self.periods):
                end_rows = (
                    [c for c in rows if c["period"] <= p]
                    if self.plan.settings.measure == "year_to_date"
                    else [c for c in rows if c["period"] == p]
                )
                m = sum((c["credit"] for c in end_rows), ZERO)
                quota = self.quota(payee, p)
                builtins = {
                    "attainment": m / quota if quota else ZERO,
                    "credit": m,
                    "quota": quota,
                    "target": self.target(payee, p),
                    "count": sum(-1 if "twin" in c else 1 for c in end_rows),  # a twin, one fewer
                }
                is_open = evaluate(component.gate, {}, builtins) is True
                if self.plan.settings.measure == "year_to_date":
                    new_payable = sum(earned[: p + 1], ZERO) if is_open else payable
                    payout, payable = new_payable - payable, new_payable
                else:
                    payout = earned[p] if is_open else ZERO
                if payout != earned[p] and any(line.period <= p for line in raw):
                    lines.append(
                        Line(
                            payee,
                            component.name,
                            p,
                            "gate",
                            None,
                            payout - earned[p],
                            payout - earned[p],
                            order=(p, 2, dt.date.max, "", 0, 1),
                            role=component.role,
                        )
                    )
        # A curve is flat above its last point: the row line shows what the last slope extended would pay, and a
        # cap line the cut (the two add up to what was paid). Each row by the curve of its version.
        for line in raw:
            if line.txn is None or line.kind != component.line_kind or line.unpaid:
                continue
            c = next(r for r in rows if r["rid"] == line.rid)
            rule = self.version_of(component, c).rule
            if isinstance(rule, CurveRule) and not rule.curve.extend_above:
                quota, target = self.quota(payee, c["period"]), self.target(payee, c["period"])
                if rule.curve.basis == "row":
                    extended = curve_value(rule.curve, c["credit"], quota, target, True)
                else:
                    extended = curve_value(rule.curve, c["after"], quota, target, True) - curve_value(
                        rule.curve, c["before"], quota, target, True
                    )
                mult = c["mult"][component.name]
                extended = extended if mult == 1 else q6(extended * mult)
                cut = cents(extended - line.exact)
                if cut:
                    lines.append(
                        Line(
                            payee,
                            line.component,
                            line.period,
                            "cap",
                            line.txn,
                            -cut,
                            -cut,
                            order=line.order,
                            role=line.role,
                            rid=line.rid,
                        )
                    )
                    line.amount += cut
        return lines

    def _limit(self, cap, payee: str, p: int) -> Decimal:
        if not cap.of_target:
            return cap.amount
        if cap.scope == "year":
            annual = sum((self.target_period.get((payee, i), ZERO) for i in range(self.periods)), ZERO)
            return q6(annual * cap.amount)
        return q6(self.target_period.get((payee, p), ZERO) * cap.amount)

    def _plan_caps(self, payee: str, lines: list[Line]) -> list[Line]:
        index_of = {c.name: i for i, c in enumerate(self.plan.components)}
        lines = sorted(
            lines,
            key=lambda line: (
                line.order[0],
                line.order[1],
                line.order[2],
                line.order[3],
                ROLES.index(line.role),
                index_of.get(line.component, 99),
                KIND_ORDER[line.kind],
            ),
        )
        amounts = [line.amount for line in lines]
        extra = []
        for cap in sorted(self.plan.plan_caps, key=lambda c: ("row", "period", "year").index(c.scope)):
            running: dict = {}
            kept = []
            for line, amount in zip(lines, amounts, strict=False):
                if not (cap.covers_all or line.component in cap.components or line.role in cap.roles):
                    kept.append(amount)
                    continue
                group = line.period if cap.scope == "period" else 0
                before = running.get(group, ZERO)
                running[group] = before + amount
                limit = cents(self._limit(cap, payee, line.period))
                kept.append(min(running[group], limit) - min(before, limit))
            for line, amount, keep in zip(lines, amounts, kept, strict=False):
                if amount != keep:
                    extra.append(
                        Line(
                            payee,
                            line.component,
                            line.period,
                            "cap",
                            line.txn,
                            keep - amount,
                            keep - amount,
                            order=line.order,
                            role=line.role,
                            rid=line.rid,
                        )
                    )
            amounts = kept
        return lines + extra

    def _round(self, lines: list[Line]) -> list[Line]:
        """The lines in ledger order (their amounts are cents already)."""
        index_of = {c.name: i for i, c in enumerate(self.plan.components)}
        ordered = sorted(
            enumerate(lines),
            key=lambda item: (
                item[1].payee,
                item[1].order[0],
                item[1].order[1],
                item[1].order[2],
                item[1].order[3],
                ROLES.index(item[1].role),
                index_of.get(item[1].component, -1),
                KIND_ORDER[item[1].kind],
                item[0],
            ),
        )
        return [line for _, line in ordered]
