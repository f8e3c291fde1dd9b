"""Small helpers to read results in tests: amounts as exact Decimals."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import spmlang

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
DATA = SCENARIOS / "data"


DEALS_COLUMNS = """transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  key    id
  date   day
  payee  rep
  credit amount
}
"""


def quarterly_plan(name: str, blocks: str, settings: str = "") -> str:
    """A plan's text: ``name``, a quarterly year from 2027-01-01 (and ``settings``, lines of the plan block),
    deals of an id, a rep, a day and an amount (:data:`DEALS_COLUMNS`), then ``blocks`` (components, a roster
    ...): the skeleton most tests' plans share."""
    head = f'plan "{name}" {{\n{settings}  year starts 2027-01-01\n  payout quarterly\n}}\n'
    return head + DEALS_COLUMNS + blocks


def run_scenario(plan: str, deals: str, **tables):
    """Run tests/scenarios/<plan>.spm over tests/scenarios/data/<deals>."""
    loaded = spmlang.load(SCENARIOS / f"{plan}.spm")
    return loaded.run(DATA / deals, **{k: DATA / v for k, v in tables.items()})


def lines(result, **where) -> list[dict]:
    """Ledger lines as dicts, filtered by column values."""
    rows = result.ledger.to_pylist()
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def by_txn(result, kind: str | None = None) -> dict[str, Decimal]:
    """Sum of line amounts per transaction (optionally of one kind)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in lines(result):
        if row["txn"] is not None and (kind is None or row["kind"] == kind):
            totals[row["txn"]] += row["amount"]
    return dict(totals)


def payout(result, payee: str, period: str | None = None, component: str | None = None) -> Decimal:
    total = Decimal("0.00")
    for row in lines(result, payee=payee):
        if (period is None or row["period"] == period) and (component is None or row["component"] == component):
            total += row["amount"]
    return total


def d(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))
