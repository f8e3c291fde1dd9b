"""The vectorized engine against the reference evaluator, on random plans and data (hypothesis).

Every input row must meet the same fate (credited, excluded by which filter,
rejected for which reason) and every ledger line the same amount, to the cent,
line by line: the same lines (payee, period, component, kind, role,
transaction, amount, the period an adjustment corrects, the balance owed after a
draw or floor), and the lines the rules price (earnings, true-ups, bonuses,
caps, gates) in the same order; each component's line on a credit row shows
the same measure before and after it. The order among what the pay cycle settles in
a period (clawbacks of money, holds, adjustments, draws and floors) is left
out: it is the engine's tie-breaking, not part of the model.

The pay cycle is drawn in half the plans (a cancellation column with partial
refunds, clawback modes with and without a window, `payable when`, a draw, a
payout floor); a second test runs the year against an earlier ledger.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
from conftest import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference.basics import Line, cents, period_end
from reference.evaluator import Reference
from strategies import ROSTER, as_tables, data, plans, roster_table

import spmlang
from spmlang.engine import run as calculator
from spmlang.engine.kernels.money import LIMIT

PRICED = ("earning", "spif", "bonus", "true_up", "cap", "gate")  # the kinds the rules price, in ledger order
GUARANTEES = ("draw", "draw_recovery", "floor", "floor_recovery")
FORMATS = ("parquet", "csv", "json", "jsonl")  # an earlier ledger as spm writes it


def engine_lines(result, labels) -> list[tuple]:
    return ledger_lines(result.ledger.to_pylist(), labels)


def ledger_lines(rows: list[dict], labels) -> list[tuple]:
    return [
        (
            r["payee"],
            labels.index(r["period"]),
            r["component"] or "",
            r["kind"],
            r["role"],
            r["txn"],
            r["amount"],
            None if r["for_period"] is None else labels.index(r["for_period"]),
            r["balance"],
        )
        for r in rows
    ]


# The kinds of a component's lines on a credit row: its earnings, and clawbacks (of money, on the cancelled row;
# recalculated, on its twin). Each shows the measure before and after the row that component is priced on.
ON_ROWS = ("earning", "spif", "clawback")


def engine_measures(rows: list[dict], labels) -> Counter:
    return Counter(
        (
            r["payee"],
            labels.index(r["period"]),
            r["component"],
            r["kind"],
            r["role"],
            r["txn"],
            r["measure_before"],
            r["measure_after"],
        )
        for r in rows
        if r["component"] and r["kind"] in ON_ROWS and r["measure_before"] is not None
    )


def reference_measures(lines: list[Line]) -> Counter:
    return Counter(
        (x.payee, x.period, x.component, x.kind, x.role, x.txn, cents(x.measure[0]), cents(x.measure[1]))
        for x in lines
        if x.kind in ON_ROWS and x.measure is not None
    )


def reference_lines(reference: Reference, lines: list[Line] | None = None) -> list[tuple]:
    """The reference's lines (``lines``, if it was run already) as :func:`ledger_lines` has the engine's."""
    return [
        (x.payee, x.period, x.component, x.kind, x.role, x.txn, x.amount, x.for_period, x.balance)
        for x in (reference.run() if lines is None else lines)
    ]


def engine_status(result, count: int) -> dict[int, str]:
    status = {i: "credited" for i in range(count)}
    for r in result.excluded.to_pylist():
        status[r["row"] - 1] = f"excluded:{r['filter']}"
    for r in result.rejects.to_pylist():
        status[r["row"] - 1] = f"rejected:{r['reason']}"
    return status


def assert_same_lines(actual: list[tuple], expected: list[tuple]) -> None:
    """The same amount per payee, period and component; the same lines; the priced ones in the same order."""
    totals: Counter = Counter()
    for line in expected:
        totals[line[:3]] += line[6]
    engine_totals: Counter = Counter()
    for line in actual:
        engine_totals[line[:3]] += line[6]
    assert {k: v for k, v in engine_totals.items() if v} == {k: v for k, v in totals.items() if v}
    only_engine, only_reference = Counter(actual) - Counter(expected), Counter(expected) - Counter(actual)
    assert not only_engine and not only_reference, f"engine only: {only_engine}; reference only: {only_reference}"
    assert [x for x in actual if x[3] in PRICED] == [x for x in expected if x[3] in PRICED]
    # Each payee's lines together, payees in order (those with no credit row too), by period, a period's draw and
    # floor last.
    payees = [payee for i, (payee, *_) in enumerate(actual) if i == 0 or actual[i - 1][0] != payee]
    assert payees == sorted(set(payees))
    for a, b in zip(actual, actual[1:], strict=False):
        assert a[0] != b[0] or a[1] < b[1] or a[1] == b[1] and (a[3] not in GUARANTEES or b[3] in GUARANTEES)


def describe(text: str, expected: list[tuple]) -> None:
    kinds = sorted({line[3] for line in expected})
    event(f"line kinds: {', '.join(kinds) or 'none'}")
    cycle = [w for w in ("cancelled", "refunded", "payable when", "draw {", "payout floor", "recalculate") if w in text]
    event(f"pay cycle: {', '.join(cycle) or 'none'}")
    event(f"dated versions: {len(re.findall(r'^  from 2027', text, re.M))}")


@dataclass
class DrawnYear:
    """A random plan's year: its data, as the reference reads it (rows, quotas, targets) and as spm does (the
    tables), and the last period the run pays (None: the year)."""

    plan: spmlang.Plan
    rows: list[dict]
    quotas: dict
    targets: dict
    tables: dict
    through: str | None

    @staticmethod
    def draw(drawn, text: str) -> DrawnYear:
        plan = spmlang.loads(text, "random.spm")
        labels = plan.periods
        rows, quotas, targets = drawn.draw(data(len(labels)), label="data")
        deals, quota_table, target_table = as_tables(rows, quotas, targets, labels)
        tables = {"deals": deals, "quotas": quota_table, "targets": target_table, "roster": roster_table()}
        through = drawn.draw(st.sampled_from([None, None, None, *labels]), label="through")
        return DrawnYear(plan, rows, quotas, targets, tables, through)

    def run(self, drawn, read):
        """The run (``read`` of it: what is read while paid) in batches of a drawn size: some of a single payee
        must not change a line, for the reference has no batches."""
        batch_rows = drawn.draw(st.sampled_from([1, 3, 10, None]), label="batch rows")
        with mock.patch.object(calculator, "BATCH_ROWS", batch_rows or calculator.BATCH_ROWS):
            result = self.plan.run(**self.tables, through=self.through)
            return result, read(result)

    def reference(self) -> Reference:
        return Reference(
            self.plan.checked,
            self.rows,
            self.quotas,
            self.targets,
            ROSTER,
            labels=self.plan.periods,
            through=self.through,
        )


@settings(
    max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_engine_equals_the_reference_to_the_cent(drawn):
    text = drawn.draw(plans(cycle=drawn.draw(st.booleans(), label="pay cycle")), label="plan")
    year = DrawnYear.draw(drawn, text)
    plan, rows, labels = year.plan, year.rows, year.plan.periods
    result, (actual, measures) = year.run(
        drawn, lambda result: (engine_lines(result, labels), engine_measures(result.ledger.to_pylist(), labels))
    )
    reference = year.reference()
    ran = reference.run()
    expected = reference_lines(reference, ran)
    describe(text, expected)
    event(f"credited rows: {'none' if not result.accounting['credited'] else 'some'}")
    event(
        f"split: {len(plan.checked.transactions.payees) > 1}; rollup lines: {any(x[4] == 'rollup' for x in expected)}"
    )
    assert engine_status(result, len(rows)) == reference.status
    assert_same_lines(actual, expected)
    # Every line a component made on a credit row shows the measure that priced it (a plan that recalculates:
    # with the twins of cancelled transactions for the components that re-price, without them for the others).
    assert measures == reference_measures(ran)


def known_then(rows: list[dict], closed: dt.date, drawn) -> list[dict]:
    """The rows as an earlier run knew them, when the period ending on ``closed`` was paid: none dated later,
    no cancellation dated later; and now and then what the later run learns about a closed period: a row that
    came late, an amount that changed, a cancellation or a payment recorded late."""
    then = []
    for row in rows:
        if row["day"] > closed:
            continue
        row = dict(row)
        if row["cancel"] is not None and row["cancel"] > closed:
            row["cancel"] = row["refund"] = None
        changes = ["none"] * 6 + ["late", "changed", "cancelled late", "paid late"]
        change = drawn.draw(st.sampled_from(changes), label="change")
        if change == "late":
            continue
        if change == "changed":
            by = drawn.draw(st.sampled_from([Decimal("0.5"), Decimal(2)]), label="by")
            row["amount"] = (row["amount"] * by).quantize(Decimal("0.01"))
        if change == "cancelled late":
            row["cancel"] = row["refund"] = None
        if change == "paid late":  # held then (`payable when paid is not empty`), released now
            row["paid"] = None
        then.append(row)
    return then


@settings(
    max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_runs_against_earlier_ledgers_equal_the_reference(drawn):
    """Pay the year through period k as known then and close it (now and then a second close, through a later
    period, against the first ledger: its adjustments are lines an earlier ledger holds), then pay the year with
    today's data against those ledgers (--paid): every run is the reference's, line by line, adjustments
    included."""
    text = drawn.draw(plans(cycle=True), label="plan")
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels)), label="data")
    closes = sorted(drawn.draw(st.sets(st.integers(0, len(labels) - 2), min_size=1, max_size=2), label="closes"))
    tables = {"roster": roster_table()}
    paid: list[dict] = []
    through_then: list[int] = []  # the last period each earlier ledger closed

    def closed(through: list[int]) -> str | None:
        return labels[max(through)] if max(through) >= 0 else None

    with tempfile.TemporaryDirectory() as folder:
        ledgers: list[Path] = []
        for i, k in enumerate(closes):
            then = known_then(rows, period_end(plan.checked, k), drawn)
            deals, tables["quotas"], tables["targets"] = as_tables(then, quotas, targets, labels)
            result = plan.run(deals, **tables, paid=list(ledgers), through=labels[k])
            earlier = {"paid": list(paid), "closed": closed(through_then)} if i else {}
            reference = Reference(
                plan.checked, then, quotas, targets, ROSTER, labels=labels, through=labels[k], **earlier
            )
            assert_same_lines(engine_lines(result, labels), reference_lines(reference))
            # Written as parquet, CSV or JSON lines; now and then without its manifest (then it closed its last
            # period with a line, not the one it was paid through).
            ledgers.append(Path(folder) / f"{labels[k]}.{drawn.draw(st.sampled_from(FORMATS), label='format')}")
            result.write(ledgers[-1])
            result.write(Path(folder) / "read.parquet")
            lines = pq.read_table(Path(folder) / "read.parquet").to_pylist()
            paid += lines
            through_then.append(k)
            if drawn.draw(st.integers(0, 3), label="no manifest") == 0:
                ledgers[-1].with_name(ledgers[-1].stem + ".manifest.json").unlink()
                through_then[-1] = max((labels.index(line["period"]) for line in lines), default=-1)
        # Now and then a row the earlier runs paid is no longer in today's data.
        ids = sorted({row["id"] for row in rows})
        gone = drawn.draw(st.sets(st.sampled_from(ids), max_size=2) if ids else st.just(set()), label="gone")
        now = [row for row in rows if row["id"] not in gone]
        through = drawn.draw(st.sampled_from([None, *labels[closes[-1] + 1 :]]), label="through")
        if drawn.draw(st.integers(0, 4), label="plan changed") == 0:  # a component renamed: the earlier lines
            text = re.sub(r"\bc0\b", "c0_new", text)  # of c0 keep their name, and are taken back
            plan = spmlang.loads(text, "random.spm")
        deals, _, _ = as_tables(now, quotas, targets, labels)
        result = plan.run(deals, **tables, paid=ledgers, through=through)
        actual = engine_lines(result, labels)
    reference = Reference(
        plan.checked,
        now,
        quotas,
        targets,
        ROSTER,
        labels=labels,
        paid=paid,
        closed=closed(through_then),
        through=through,
    )
    expected = reference_lines(reference)
    describe(text, expected)
    event(f"closes: {len(closes)}; adjustments: {'some' if any(x[3] == 'adjustment' for x in expected) else 'none'}")
    assert engine_status(result, len(now)) == reference.status
    assert all(x[1] > max(through_then) for x in actual), "a line in a closed period"
    assert_same_lines(actual, expected)


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
    reference = Reference(plan.checked, rows, quotas, targets, ROSTER, labels=labels)
    expected = reference_lines(reference)
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
    assert_same_lines(actual, expected)
