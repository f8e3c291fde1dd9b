"""Closed periods: what a run pays now against what earlier ledgers paid (`--paid`).

A run recomputes the whole year. In a closed period (one an earlier ledger paid) it writes nothing; instead,
for each (payee, component, period it belongs to, transaction, money or hold) whose amount differs from what was paid,
one line in the first open period: an ``adjustment`` (the money of a late, changed or cancelled transaction, a
new quota, a changed plan), a ``release`` (an amount held then, payable now) or a ``hold``. Each names the
transaction and the period it corrects, and says why: what was paid, what is due now, and the cause.

Draws and floors are not recomputed for closed periods: their balances carry over (see settle.draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.credit.rows import ROLE_NAMES, CreditRows
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT, units_to_scale
from spmlang.engine.pay.lines import KIND, KINDS, SETTLE, Lines, make_lines
from spmlang.engine.read.earlier import SETTLED_ONCE, EarlierLedgers
from spmlang.ir.kinds import HOLD_KINDS, LineKind

MONEY, HOLD, CLAWBACK, ONCE = 0, 1, 2, -1  # classes of lines (money and clawbacks are compared together)
_CLASS_OF_KIND = np.array(
    [
        HOLD
        if kind in HOLD_KINDS
        else CLAWBACK
        if kind is LineKind.CLAWBACK
        else ONCE
        if kind in SETTLED_ONCE
        else MONEY
        for kind in KINDS
    ],
    np.int8,
)


@dataclass
class EarlierLines:
    """The lines of earlier ledgers, encoded against a run: codes of its payees, components and clauses, and
    of its transactions (the input row; -2 - j for the j-th key no longer among them)."""

    payee: np.ndarray  # int32
    role: np.ndarray  # int8
    component: np.ndarray  # int16: this plan's, then the earlier ledgers' own (see foreign); -1: none
    kind: np.ndarray  # int8 index into KINDS
    period: np.ndarray  # int16
    for_period: np.ndarray  # int16
    txn: np.ndarray  # int64
    credit: np.ndarray  # int64 units
    amount: np.ndarray  # int64 units
    balance: np.ndarray  # int64 units or NO_BALANCE
    clause: np.ndarray  # int32: the run's clause numbering, then the earlier ledgers' own (see foreign)
    gone: list[str]  # keys of transactions not in this run (txn -2 - j)

    def take(self, index) -> EarlierLines:
        return EarlierLines(
            self.payee[index],
            self.role[index],
            self.component[index],
            self.kind[index],
            self.period[index],
            self.for_period[index],
            self.txn[index],
            self.credit[index],
            self.amount[index],
            self.balance[index],
            self.clause[index],
            self.gone,
        )


def encode_earlier(
    earlier: EarlierLedgers,
    payee_code: dict[str, int],
    components: list[str],
    rule_clause: tuple[int, ...],
    clause_count: int,
    rows_of: Callable[[pa.Array], np.ndarray],
) -> tuple[EarlierLines, list[str], list[str]]:
    """The earlier ledgers' lines in a run's codes; the components and clauses (file:line) they cite that
    this plan does not have, numbered after the plan's own."""
    component_index = {name: i for i, name in enumerate(components)}
    foreign_components = [name for name in earlier.component.values if name not in component_index]
    component_index.update((name, len(components) + j) for j, name in enumerate(foreign_components))
    codes = earlier.component.codes(component_index.__getitem__, -1)
    own = (codes >= 0) & (codes < len(components))
    clauses = np.zeros(codes.size, np.int64)
    clauses[own] = np.asarray(rule_clause, np.int64)[codes[own]]
    foreign_clauses = _cited(earlier.clause.index, ~own, earlier.clause.values, clause_count, clauses)
    keys = earlier.txn
    txn = rows_of(keys)  # the input row each line names
    gone: list[str] = []
    missing = np.flatnonzero((txn < 0) & pc.is_valid(keys).to_numpy(zero_copy_only=False))
    if missing.size:
        names = [str(key) for key in keys.take(missing).to_pylist()]  # valid: text
        distinct = sorted(set(names))
        number = {key: j for j, key in enumerate(distinct)}
        txn[missing] = [-2 - number[key] for key in names]
        gone = distinct
    kind_code = {str(kind): code for code, kind in enumerate(KINDS)}
    adjustment = KIND[LineKind.ADJUSTMENT]
    roles = {str(role): code for code, role in enumerate(ROLE_NAMES)}
    return (
        EarlierLines(
            earlier.payee.codes(payee_code.__getitem__, -1).astype(np.int32),
            earlier.role.codes(lambda role: roles.get(role, 0), 0).astype(np.int8),
            codes.astype(np.int16),
            earlier.kind.codes(lambda kind: kind_code.get(kind, adjustment), adjustment).astype(np.int8),
            earlier.period,
            earlier.for_period,
            txn,
            earlier.credit,
            earlier.amount,
            earlier.balance,
            clauses.astype(np.int32),
            gone,
        ),
        foreign_components,
        foreign_clauses,
    )


def _cited(index: np.ndarray, lines: np.ndarray, texts: list[str], count: int, clauses: np.ndarray) -> list[str]:
    """The clauses (file:line, as the ledgers cite them) of ``lines``, which cite none of this plan's
    components, numbered from ``count`` in the order first cited, into ``clauses``; the texts so numbered."""
    rows = np.flatnonzero(lines)
    if not rows.size:
        return []
    cited = index[rows]
    distinct, first_at = np.unique(cited, return_index=True)
    numbers: dict[str, int] = {}
    for at in distinct[np.argsort(first_at)].tolist():
        numbers.setdefault(texts[at] if at >= 0 else "", count + len(numbers))  # none cited: ""
    table = np.array([numbers[texts[at] if at >= 0 else ""] for at in distinct.tolist()], np.int64)
    clauses[rows] = table[np.searchsorted(distinct, cited)]
    return list(numbers)


def adjust_closed(
    lines: Lines, rows: CreditRows, paid: EarlierLines, first_open: int, labels: list[str], key_of: Callable
) -> Lines:
    """``lines`` (a batch's, the whole year recomputed) without those of closed periods, and the adjustments,
    releases and holds that make each closed period's pay what it is due now, in the first open period."""
    if first_open <= 0:
        return lines
    closed = lines.period < first_open
    now = lines.take(np.flatnonzero(closed))
    on_row = now.row >= 0
    txn_now = np.where(on_row, rows.txn[np.maximum(now.row, 0)].astype(np.int64) if len(rows) else -1, -1)
    cls_now = _CLASS_OF_KIND[now.kind]
    keep_now = cls_now != ONCE
    cls_paid = _CLASS_OF_KIND[paid.kind]
    keep_paid = (cls_paid != ONCE) & (paid.for_period < first_open)
    n_now, n_paid = int(np.count_nonzero(keep_now)), int(np.count_nonzero(keep_paid))
    if n_now + n_paid == 0:
        return lines.take(np.flatnonzero(~closed))
    now_i, paid_i = np.flatnonzero(keep_now), np.flatnonzero(keep_paid)
    payee = np.concatenate([now.payee[now_i], paid.payee[paid_i]]).astype(np.int64)
    component = np.concatenate([now.component[now_i], paid.component[paid_i]]).astype(np.int64)
    for_period = np.concatenate([now.period[now_i], paid.for_period[paid_i]]).astype(np.int64)
    txn = np.concatenate([txn_now[now_i], paid.txn[paid_i]])
    cls = np.concatenate([cls_now[now_i], cls_paid[paid_i]]).astype(np.int64)
    # Holds apart from money; a clawback is money: an earlier ledger's adjustment of it reads as money.
    compared = np.where(cls == HOLD, HOLD, MONEY)
    is_now = np.concatenate([np.ones(n_now, bool), np.zeros(n_paid, bool)])
    amount = np.concatenate([now.amount[now_i], paid.amount[paid_i]])
    order = grouping.order_by(payee, component + 1, for_period, txn, compared, ~is_now, cls)
    starts = grouping.starts_from_keys(payee[order], component[order], for_period[order], txn[order], compared[order])
    signed = np.where(is_now, amount, -amount)[order]
    difference = grouping.sums(signed, starts)
    due = grouping.sums(np.where(is_now[order], amount[order], 0), starts)
    clawed = (cls[order] == CLAWBACK) & (amount[order] != 0)  # a zero line: cancelled outside the window
    sorted_now = is_now[order]
    clawed_now = grouping.sums((clawed & sorted_now).astype(np.int64), starts) > 0
    clawed_then = grouping.sums((clawed & ~sorted_now).astype(np.int64), starts) > 0
    # Cancelled after the period closed: a clawback now that no earlier clawback line answers.
    cancelled = clawed_now & ~clawed_then
    # Clawed back then, and no line of it now: its cancellation withdrawn, or moved to another period.
    uncancelled = clawed_then & (grouping.sums(sorted_now.astype(np.int64), starts) == 0)
    # Clawed back then and now, for other amounts: the refund, the cancellation or what it reverses changed.
    reclawed = clawed_then & clawed_now
    first = np.flatnonzero(starts)
    group = grouping.ids(starts)
    # Per group: a line of the run now (the first: the transaction's own row and credit, not a reversal's; and
    # the last, a clawback where there is one, whose clause a cancellation cites) and a line of the earlier
    # ledger (its credit), if any.
    now_at, claw_at, paid_at = (np.full(first.size, -1, np.int64) for _ in range(3))
    position = np.arange(order.size)
    for side, at, index, offset, take_first in (
        (sorted_now, now_at, now_i, 0, True),
        (sorted_now, claw_at, now_i, 0, False),
        (~sorted_now, paid_at, paid_i, n_now, False),
    ):
        mine = position[side]
        if mine.size:
            change = group[mine][1:] != group[mine][:-1]
            ends = mine[np.append(True, change)] if take_first else mine[np.append(change, True)]
            at[group[ends]] = index[order[ends] - offset]
    hit = np.flatnonzero(difference != 0)
    if hit.size == 0:
        return lines.take(np.flatnonzero(~closed))
    head = order[first[hit]]
    g_now, g_paid = now_at[hit], paid_at[hit]
    has_now, has_paid = g_now >= 0, g_paid >= 0
    row = _pick(has_now, now.row, g_now, -1)
    row = _rows_of_transactions(row, txn[head], payee[head], rows)
    cls_hit = np.where(cancelled[hit], CLAWBACK, compared[head])
    diff = difference[hit]
    kind = np.where(
        cls_hit == HOLD,
        np.where(diff > 0, KIND[LineKind.RELEASE], KIND[LineKind.HOLD]),
        KIND[LineKind.ADJUSTMENT],
    ).astype(np.int8)
    role = np.where(has_now, _pick(has_now, now.role, g_now, 0), _pick(has_paid, paid.role, g_paid, 0))
    clause = np.where(has_now, _pick(has_now, now.clause, g_now, 0), _pick(has_paid, paid.clause, g_paid, 0))
    clause = np.where(cancelled[hit], _pick(cancelled[hit], now.clause, claw_at[hit], 0), clause)
    credit_now = np.where(row >= 0, rows.credit[np.maximum(row, 0)] if len(rows) else 0, 0)
    credit_now = units_to_scale(credit_now, 2) * (UNIT // 100)  # to the cent, as the earlier ledger holds it
    credit_then = _pick(has_paid, paid.credit, g_paid, 0)
    txn_hit = txn[head]
    explanation = _why(
        labels,
        for_period[head],
        txn_hit,
        key_of,
        paid.gone,
        cls_hit,
        has_now,
        has_paid,
        credit_now,
        credit_then,
        due[hit],
        due[hit] - diff,
        diff,
        uncancelled[hit] & (row >= 0),  # the transaction still credited: not removed
        reclawed[hit],
    )
    adjustments = make_lines(
        hit.size,
        payee=payee[head],
        role=role,
        component=component[head],
        kind=LineKind.ADJUSTMENT,
        period=first_open,
        phase=SETTLE,
        row=row,
        amount=diff,
        explanation=explanation,
        clause=clause,
        for_period=for_period[head],
        txn=np.where(row >= 0, -1, txn_hit),  # a transaction no longer paid is named, not on a row
    )
    adjustments.kind = kind
    return Lines.concat([lines.take(np.flatnonzero(~closed)), adjustments])


def _pick(has: np.ndarray, values: np.ndarray, at: np.ndarray, missing: int) -> np.ndarray:
    """values[at] where ``has`` (a group with a line on that side), else ``missing``: a side may have no line."""
    if values.size == 0:
        return np.full(at.size, missing, dtype=values.dtype)
    return np.where(has, values[np.maximum(at, 0)], missing)


def _rows_of_transactions(row: np.ndarray, txn: np.ndarray, payee: np.ndarray, rows: CreditRows) -> np.ndarray:
    """Each adjustment's credit row: its line's now, else the payee's credit row of the transaction (a release
    has no line now, the hold is gone): its txn and date show on the ledger line. -1: none (removed)."""
    wanted = np.flatnonzero((row < 0) & (txn >= 0))
    if wanted.size == 0 or not len(rows):
        return row
    row = row.copy()
    original = np.flatnonzero(~rows.reversal)
    if original.size == 0:
        row[wanted] = -1
        return row
    # (transaction, payee) packed in one int64 (input rows and payees are fewer than 2**31), searched in order:
    # of a transaction credited twice to one payee (a split naming them twice), the last row, as ever.
    packed = (rows.txn[original].astype(np.int64) << 32) | rows.payee[original].astype(np.int64)
    order = np.argsort(packed, kind="stable")
    in_order = packed[order]
    sought = (txn[wanted].astype(np.int64) << 32) | payee[wanted].astype(np.int64)
    at = np.maximum(np.searchsorted(in_order, sought, side="right") - 1, 0)
    row[wanted] = np.where(in_order[at] == sought, original[order[at]], -1)
    return row


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index] where index >= 0, and 0 elsewhere: a batch may have no lines now in the closed periods (a
    payee whose transactions are gone), or none in the earlier ledgers (a payee new to the run)."""
    if values.size == 0:
        return np.zeros(index.size, values.dtype)
    return values[np.maximum(index, 0)]


def _why(
    labels,
    for_period,
    txn,
    key_of,
    gone,
    cls,
    has_now,
    has_paid,
    credit_now,
    credit_then,
    due,
    paid,
    diff,
    uncancelled,
    reclawed,
):
    """What an adjustment corrects and why, as a rep reads it: 'for 2027-Q1, D-17: credit 40000.00 -> 35000.00:
    paid 1600.00, due now 1400.00'."""
    n = txn.size
    present = txn >= 0
    key = key_of(np.where(present, txn, 0)) if present.any() else pa.nulls(n, pa.string())
    key = pc.if_else(pa.array(present), pc.cast(key, pa.string()), pa.scalar(None, pa.string()))
    gone_key = pa.array([*gone, None], pa.string()).take(np.where(txn <= -2, -2 - txn, len(gone)))
    key = pc.coalesce(key, gone_key, pa.scalar("the period's own lines", pa.string()))
    changed = has_now & has_paid & (credit_now != credit_then) & (txn >= 0)
    cause = np.select(
        [cls == HOLD, cls == CLAWBACK, ~has_paid & (txn >= 0), uncancelled, ~has_now & (txn != -1), changed, reclawed],
        [0, 1, 2, 6, 3, 4, 7],
        5,
    )
    causes = [
        "held until payable",
        "cancelled after the period closed",
        "not in the earlier ledger (late, or newly credited)",
        "no longer paid (removed, excluded or rejected now)",
        "its credit changed",
        "re-priced (the plan, a quota or an earlier row changed)",
        "no longer cancelled in this period (its cancellation withdrawn or moved)",
        "its clawback changed (the refund, the cancellation, or what it reverses)",
    ]
    credit_text = pc.if_else(
        pa.array(cause == 4),  # its credit changed (not where a cancellation is the cause)
        text.join(" ", text.amount(credit_then), " -> ", text.amount(credit_now)),
        pa.scalar("", pa.string()),
    )
    money = text.join(": paid ", text.amount(paid), ", due now ", text.amount(due), ", ", text.amount(diff))
    held = text.join(": held ", text.amount(-paid), ", now held ", text.amount(-due))
    figures = pc.if_else(pa.array(cls == HOLD), held, money)
    cause_text = text.pick(cause, causes)
    return text.join("for ", text.pick(for_period, list(labels)), ", ", key, ": ", cause_text, credit_text, figures)
