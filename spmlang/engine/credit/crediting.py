"""Crediting: the credit rows of a run's transactions, in crediting order where that comes for free.

A transaction is credited to each of its payees (split by share), and rolled up to every manager above them
in the roster when a component pays on rollup credit (see :mod:`spmlang.engine.credit.rows`).
"""

from __future__ import annotations

import numpy as np

from spmlang.engine.credit.employment import Employment
from spmlang.engine.credit.rows import CreditRows, Payees, direct_rows_in_order, rollup_rows, split_rows
from spmlang.engine.kernels import grouping
from spmlang.engine.read.transactions import Transactions
from spmlang.ir.kinds import Role
from spmlang.ir.plan import CheckedPlan


def make_credit_rows(
    plan: CheckedPlan,
    txns: Transactions,
    payees: Payees,
    managers_by_name: dict[str, str],
    alive: np.ndarray,
    read: set[str],
    employment: Employment | None = None,
) -> tuple[CreditRows, bool]:
    """The credit rows of the ``alive`` transactions, and whether they are in crediting order already (else
    they are in key order). The transactions' columns but those in ``read`` are let go on the way. With a
    roster with dates (``employment``), a transaction outside its payee's employment is rejected or credited to
    the fallback payee, and credit rolls up to the managers in force on its date."""
    codes = [payees.encode(values) for values in txns.payee_names]
    if employment is not None:
        alive = employment.credited(codes, txns.credited_dates(), alive)
    txns.release_columns(keep=read)
    rollup = plan.transactions.rollup and any(c.role is Role.ROLLUP for c in plan.components)
    credit, dates = txns.credited_amounts(), txns.credited_dates()
    rows = None
    if len(codes) == 1 and not rollup:  # the common case: rows made in crediting order
        rows = direct_rows_in_order(
            codes[0], txns.shares[0], credit, dates, txns.calendar, alive, txns.key_order, txns.key_rank
        )
    in_order = rows is not None
    if rows is None:
        rows = split_rows(codes, txns.shares, credit, dates, txns.periods, alive, txns.key_order)
    if rollup and employment is not None:
        rows = CreditRows.concat([rows, employment.rollup_rows(rows)])
    elif rollup:
        managers = np.full(len(payees), -1, dtype=np.int32)
        for payee, manager in managers_by_name.items():
            if payee in payees.code:
                managers[payees.code[payee]] = payees.code[manager]
        rows = CreditRows.concat([rows, rollup_rows(rows, managers)])
    if not in_order and (len(codes) > 1 or rows.role.any()):  # back in key order (crediting_order
        rows = rows.take(grouping.stable_order(txns.key_rank[rows.txn]))  # relies on it)
    txns.release_credit()
    return rows, in_order
