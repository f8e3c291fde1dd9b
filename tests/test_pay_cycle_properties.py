"""Paying the year period by period pays what paying it in one go pays (docs/calculation.md §6), on random plans
and data (hypothesis): clawbacks in every mode, holds, draws and floors included.

Each period is paid as a comp team pays it: with the data known when it closes (no row dated later, no
cancellation dated later), against every earlier ledger (``paid=``), through that period, and the ledger written
and kept. Where no transaction changes after its period closed, that pays every payee the same lines as one run
of the year with all the data, to the cent: no adjustment, no line in a closed period, a draw's balance carried
from ledger to ledger as one run carries it, and a clawback that lands after a close lands where one run puts
it. The earlier ledgers are read, never written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

from conftest import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference.basics import period_end
from strategies import PAYEES, as_tables, data, draw_block, plans, roster_table

import spmlang


def anchors() -> list[dict]:
    """A row for every payee on the first day of the year. A draw guarantees every payee of the run from the
    first period on; a payee first seen in a later period's data is guaranteed from then on only, so the two
    ways of paying the year agree where every payee is known from the start (as on a roster)."""
    return [
        {
            "id": f"A-{payee}",
            "rep": payee,
            "day": dt.date(2027, 1, 1),
            "amount": Decimal("1.00"),
            "kind": "new",
            "rep2": None,
            "share1": Decimal(1),
            "share2": None,
            "cancel": None,
            "refund": None,
            "paid": dt.date(2027, 1, 1),
        }
        for payee in PAYEES
    ]


def settled(rows: list[dict]) -> list[dict]:
    """The rows without what would change a closed period's transaction when it comes to light: a second row
    with the key of a paid one (the paid one becomes a duplicate), a refund that cannot be right (it rejects
    its row once its date is known)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        refund, amount = row["refund"], row["amount"]
        wrong = refund is not None and (refund * amount < 0 or abs(refund) > abs(amount))
        if row["id"] not in seen and not wrong:
            kept.append(row)
        seen.add(row["id"])
    return kept


def known_by(rows: list[dict], day: dt.date) -> list[dict]:
    """The rows as known on ``day``: none dated later, and no cancellation (or refund) dated later."""
    known = []
    for row in rows:
        if row["day"] > day:
            continue
        if row["cancel"] is not None and row["cancel"] > day:
            row = {**row, "cancel": None, "refund": None}
        known.append(row)
    return known


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ledger_lines(result) -> list[tuple]:
    return [
        (r["payee"], r["period"], r["component"], r["kind"], r["role"], r["txn"], r["amount"], r["balance"])
        for r in result.ledger.to_pylist()
    ]


@settings(
    max_examples=examples(20), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_paying_period_by_period_pays_what_the_year_in_one_go_pays(drawn):
    text = drawn.draw(plans(cycle=True), label="plan")
    if "draw {" not in text and drawn.draw(st.booleans(), label="a draw"):  # most plans here have one: a small
        text += drawn.draw(draw_block(most=1000, recoverable=True), label="draw")  # one, recovered from later pay
    plan = spmlang.loads(text, "random.spm")
    labels = plan.periods
    rows, quotas, targets = drawn.draw(data(len(labels)), label="data")
    rows = anchors() + settled(rows)
    tables = {"roster": roster_table()}

    def run(known: list[dict], **cycle):
        deals, tables["quotas"], tables["targets"] = as_tables(known, quotas, targets, labels)
        return plan.run(deals, **tables, **cycle)

    in_one_go = ledger_lines(run(rows, through=labels[-1]))
    by_period: list[tuple] = []
    with tempfile.TemporaryDirectory() as folder:
        ledgers: list[Path] = []
        written: dict[Path, str] = {}
        for k, label in enumerate(labels):
            result = run(known_by(rows, period_end(plan.checked, k)), paid=list(ledgers), through=label)
            lines = ledger_lines(result)
            assert {line[1] for line in lines} <= {label}, f"paying {label} wrote a line of another period"
            by_period += lines
            ledger = Path(folder) / f"{label}.parquet"
            result.write(ledger)
            written[ledger] = sha256(ledger)
            ledgers.append(ledger)
        assert {path: sha256(path) for path in ledgers} == written, "an earlier ledger was written to"
    kinds = sorted({line[3] for line in in_one_go})
    event(f"line kinds: {', '.join(kinds) or 'none'}")
    event(f"draw: {'draw {' in text}; floor: {'payout floor' in text}; clawbacks: {'clawback' in kinds}")
    totals_one_go: Counter = Counter()
    totals_by_period: Counter = Counter()
    for line in in_one_go:
        totals_one_go[line[0]] += line[6]
    for line in by_period:
        totals_by_period[line[0]] += line[6]
    assert totals_by_period == totals_one_go
    assert not [line for line in by_period if line[3] in ("adjustment", "release")]
    assert Counter(by_period) == Counter(in_one_go)
