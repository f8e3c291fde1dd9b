"""What a deal would pay, before it is closed: ``spm whatif`` and :meth:`spmlang.Result.whatif`.

A what-if is the run again, with the same engine, over the same data and the hypothetical deals after its rows:
so it is exact, a rerun with the deals added to the file would give the same ledger to the cent. The data is not
read again: the transactions as read (kept by the run, or read once more and checked to be the same file) and
the reference tables the run read are converted again with the deals as rows of their own.

It says what each deal pays, line by line and explained as ``spm explain`` explains; whether the plan credits
it at all (a filter may leave it out); and what it changes in every cell of payee, period and component: later
periods (true-ups on a year-to-date measure, caps, gates) and other payees (splits, rollups to managers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.payout import Payout
from spmlang.engine.read.accounting import EXCLUDED, REJECTED
from spmlang.engine.read.formats import LoadedTable
from spmlang.engine.read.transactions import plan_text
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import columns_used
from spmlang.ir.plan import CheckedPlan
from spmlang.report.explain import Explanation, TrailLine, explain
from spmlang.report.ledger import build_ledger, public
from spmlang.report.statements import OWED_WORDS
from spmlang.whatif.deals import KEY_PREFIX, as_text, deal_values, read_again, rerun_inputs, shown

__all__ = [
    "KEY_PREFIX",
    "Change",
    "Deal",
    "DealLine",
    "RunResult",
    "WhatIf",
    "compared",
    "deal_values",
    "read_again",
    "rerun_inputs",
    "shown",
]


class RunResult(Protocol):
    """What a what-if reads of a run (:class:`spmlang.Result`: the API's class, which asks for what-ifs)."""

    payout: Payout

    @property
    def rejects(self) -> pa.Table: ...

    def owed(self) -> pa.Table: ...


ZERO = Decimal("0.00")


@dataclass
class Deal:
    """A hypothetical deal: its values as given (the key and payee filled in), and what the run made of it."""

    key: str
    payee: str  # of the plan's first payee column
    values: dict[str, str]  # column -> value as text, in the plan's column order; only those given or filled in
    row: int  # its row number in the what-if's transactions (after the data's rows)
    columns: tuple[str, str] = field(default=("", ""), repr=False)  # the key's and the payee's columns
    fate: str = "credited"  # credited | excluded | rejected
    why: str | None = None  # the filter that left it out (with its condition), or why it was rejected
    hint: str | None = None
    paid: Decimal = ZERO  # what its own lines pay, in all


@dataclass
class DealLine:
    """One ledger line of a hypothetical deal: whose, in which period, and its calculation trail."""

    payee: str
    period: str
    trail: TrailLine

    @property
    def amount(self) -> Decimal:
        return self.trail.amount

    @property
    def component(self) -> str | None:
        return self.trail.component


@dataclass
class Change:
    """What the deals change in one cell of payee, period and component (``component`` None: lines of no
    component, as a cap on the whole plan)."""

    payee: str
    period: str
    component: str | None
    before: Decimal
    after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.after - self.before


@dataclass
class OwedChange:
    """What the deals change in what a payee owes or has held at the end of the run: ``what`` is 'draw to
    recover', 'payout floor to recover' or 'held, not yet payable' (as a statement says them)."""

    payee: str
    what: str
    before: Decimal
    after: Decimal


@dataclass
class WhatIf:
    """The outcome of a what-if: the deals, their lines explained, and every cell of payout they change."""

    plan: str
    version: str
    currency: str
    deals: list[Deal]
    explanations: list[Explanation]  # per payee a deal reaches (and deal): the deal's lines, as spm explain has them
    changes: list[Change]  # only the cells that change
    before: RunResult = field(repr=False)  # the run asked (a spmlang.Result)
    after: RunResult = field(repr=False)  # the run with the deals added (a spmlang.Result): its ledger, totals ...
    owed: list[OwedChange] = field(default_factory=list)  # what payees owe or have held at the end, if changed

    @property
    def lines(self) -> list[DealLine]:
        """Every ledger line of the deals themselves, in ledger order per payee."""
        return [
            DealLine(explanation.payee, period.period, line)
            for explanation in self.explanations
            for period in explanation.periods
            for line in period.lines
        ]

    @property
    def difference(self) -> Decimal:
        """What the deals change the plan's payout by, over the year and every payee: what their own lines pay,
        and what they move on other lines (later deals priced in another tier, true-ups, caps, gates)."""
        return sum((change.difference for change in self.changes), ZERO)

    def to_dict(self) -> dict:
        lines = []
        for explanation in self.explanations:
            data = explanation.to_dict()
            for period in data["periods"]:
                lines += [{"payee": explanation.payee, "period": period["period"], **line} for line in period["lines"]]
        return {
            "plan": self.plan,
            "version": self.version,
            "currency": self.currency,
            "deals": [
                {
                    "key": deal.key,
                    "values": deal.values,
                    "fate": deal.fate,
                    "why": deal.why,
                    "hint": deal.hint,
                    "paid": str(deal.paid),
                }
                for deal in self.deals
            ],
            "lines": lines,
            "changes": [
                {
                    "payee": c.payee,
                    "period": c.period,
                    "component": c.component,
                    "before": str(c.before),
                    "after": str(c.after),
                    "difference": str(c.difference),
                }
                for c in self.changes
            ],
            "difference": str(self.difference),
            "owed": [
                {"payee": o.payee, "what": o.what, "before": str(o.before), "after": str(o.after)} for o in self.owed
            ],
        }

    def __str__(self) -> str:  # print(): the text `spm` prints, not the dataclass's fields
        from spmlang.report.render.terminal import plain_text

        return plain_text(self, 120)

    def __rich__(self):
        from spmlang.report.render.whatif import whatif_renderable

        return whatif_renderable(self)


def compared(before: RunResult, after: RunResult, deals: list[dict[str, object]], read: LoadedTable) -> WhatIf:
    """What ``after`` (``before``'s run with ``deals`` after its rows, ``read``) made of the deals, and every
    cell of payout it changes."""
    plan = before.payout.run.plan
    key, payee = plan.transactions.key, plan.transactions.payees[0].column
    first_row = read.rows + 1 + read.row_offset
    made = [
        Deal(values[key], values[payee], values, first_row + index, (key, payee))
        for index, values in enumerate(shown(deals))
    ]
    _fates(plan, after, made, read.rows)
    explanations = _explanations(after, made, read.rows)
    for deal in made:
        lines = [line for e in explanations for period in e.periods for line in period.lines]
        deal.paid = sum((line.amount for line in lines if line.txn == deal.key), ZERO)
    settings = plan.settings
    return WhatIf(
        settings.name,
        settings.version,
        settings.currency,
        made,
        explanations,
        _changes(before, after),
        before,
        after,
        _owed_changes(before, after),
    )


# ---------------------------------------------------------------------- what the run made of the deals
def _fates(plan: CheckedPlan, after: RunResult, deals: list[Deal], first: int) -> None:
    """Whether each deal (``first``: the first one's index among the input rows) was credited, and if not, why:
    the filter that left it out (with the columns it reads that the deal leaves empty), or why it was
    rejected."""
    accounting = after.payout.run.accounting
    for index, deal in enumerate(deals, start=first):
        state = int(accounting.state[index])
        if state == EXCLUDED:
            row_filter = plan.transactions.filters[int(accounting.excluded_by[index])]
            deal.fate = "excluded"
            deal.why = f"the plan's filter {row_filter.name} ({plan_text(plan, row_filter.expr.span)})"
            read = columns_used(row_filter.expr)
            empty = [c for c in plan.transactions.columns if c in read and c not in deal.values]
            if empty:
                example = _example(row_filter.expr, empty[0])
                deal.hint = f"the deal gives no {' or '.join(empty)}: give it, e.g. {example}"
        elif state == REJECTED:
            rejects = after.rejects
            (message,) = rejects.filter(pc.equal(rejects["row"], pa.scalar(deal.row, pa.int64())))[
                "message"
            ].to_pylist()
            deal.fate, deal.why = "rejected", message


def _example(condition: ir.IR, column: str) -> str:
    """``column=VALUE`` as a deal would give it to meet ``condition``, where the condition says the value
    (``stage == "Closed Won"``, ``stage in ("Won", "Booked")``, a column of true or false); else VALUE."""
    value: object = "VALUE"
    if isinstance(condition, ir.Comparison) and condition.op == "==":
        sides = (condition.left, condition.right)
        named = [s for s in sides if isinstance(s, ir.Column) and s.name == column]
        constants = [s for s in sides if isinstance(s, ir.Const)]
        if named and constants:
            value = constants[0].value
    elif isinstance(condition, ir.Member) and not condition.negated and condition.values:
        if isinstance(condition.operand, ir.Column) and condition.operand.name == column:
            value = condition.values[0].value
    elif isinstance(condition, ir.Column) and condition.name == column and condition.type is ir.Type.BOOL:
        value = True
    text = as_text(value)
    return f'{column}="{text}"' if " " in text or "," in text else f"{column}={text}"


def _explanations(after: RunResult, deals: list[Deal], first: int) -> list[Explanation]:
    """The lines of each deal (``first``: the first deal's index among the input rows), per payee they reach:
    the deal's own payee first, then those of split credit and the managers it rolls up to. Only these payees'
    lines are made ledger lines: a large run's whole ledger is not needed."""
    payout = after.payout
    whole = payout.whole()
    lines = whole.lines
    on_row = lines.row >= 0
    txn = np.where(on_row, whole.rows.txn[np.where(on_row, lines.row, 0)], -1)
    names = payout.run.payees.names
    pairs = []
    for index, deal in enumerate(deals):
        if deal.fate == "credited":
            reached = sorted({names[code] for code in np.unique(lines.payee[txn == first + index]).tolist()})
            pairs += [(payee, deal.key) for payee in sorted(reached, key=lambda name: name != deal.payee)]
    if not pairs:
        return []
    codes = [payout.run.payees.code[payee] for payee, _ in pairs]
    theirs = np.flatnonzero(np.isin(lines.payee, codes))
    ledger = _SomeLines(public(build_ledger(payout, "what-if", whole.take(theirs), sentences=True)), theirs, len(lines))

    def lines_of(code: int) -> np.ndarray:
        return theirs[lines.payee[theirs] == code]

    return [explain(payout, ledger, payee, txn=key, lines_of=lines_of) for payee, key in pairs]


class _SomeLines:
    """Some lines of a run's ledger (``table``: the lines ``indices`` of the run's ``count``), taken by their
    index among all the run's lines, as :func:`~spmlang.report.explain.explain` takes them from a ledger."""

    def __init__(self, table: pa.Table, indices: np.ndarray, count: int):
        self.table = table
        self.position = np.full(count, -1, dtype=np.int64)
        self.position[indices] = np.arange(indices.size)

    def take(self, indices: np.ndarray) -> pa.Table:
        return self.table.take(self.position[indices])


def _changes(before: RunResult, after: RunResult) -> list[Change]:
    """Every cell of payee, period and component whose payout the deals change."""
    run = before.payout.run
    old, new = _cells(before), _cells(after)
    periods = {label: index for index, label in enumerate(run.calendar.labels)}
    components = {c.name: index for index, c in enumerate(run.plan.components)}
    last = len(components)  # lines of no component after the components'

    def order(cell: tuple[str, str, str | None]) -> tuple:
        return cell[0], periods[cell[1]], components[cell[2]] if cell[2] is not None else last

    changed = []
    for cell in sorted(set(old) | set(new), key=order):
        was, now = old.get(cell, 0), new.get(cell, 0)
        if was != now:
            changed.append(Change(cell[0], cell[1], cell[2], _money(was), _money(now)))
    return changed


def _owed_changes(before: RunResult, after: RunResult) -> list[OwedChange]:
    """What payees owe or have held at the end of the run (draws, the floor, held amounts), where the deals
    change it."""
    was, now = (
        {(row["payee"], what): row[column] for row in result.owed().to_pylist() for column, what in OWED_WORDS.items()}
        for result in (before, after)
    )
    return [
        OwedChange(payee, what, was.get((payee, what), ZERO), now.get((payee, what), ZERO))
        for payee, what in sorted(set(was) | set(now))
        if was.get((payee, what), ZERO) != now.get((payee, what), ZERO)
    ]


def _cells(result: RunResult) -> dict[tuple[str, str, str | None], int]:
    """The payout of each cell (payee, period label, component name), in cents."""
    run = result.payout.run
    payee, period, component, cents = result.payout.cells()
    names = [c.name for c in run.plan.components]
    labels = run.calendar.labels
    return {
        (run.payees.names[p], labels[q], names[c] if c >= 0 else None): int(amount)
        for p, q, c, amount in zip(
            payee.tolist(), period.tolist(), component.tolist(), np.asarray(cents).tolist(), strict=True
        )
    }


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)
