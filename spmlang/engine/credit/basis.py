"""The quota and target basis of a run, and the credit rows it cannot pay for want of one.

Attainment divides a payee's measure by their quota basis (to date, annual, or the period's); a cap or
payment in % of target needs their target incentive. Both are tables of payee x period, made once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.credit.proration import Proration
from spmlang.engine.credit.rows import DIRECT, ROLLUP, CreditRows, Payees
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import LIMIT, TooLarge
from spmlang.engine.read.accounting import RowAccounting
from spmlang.ir.kinds import AttainmentBasis, Role
from spmlang.ir.plan import CheckedPlan, component_needs_targets, components_need_quota_basis, components_need_quotas


@dataclass
class Basis:
    """Quotas and target incentives per payee (rows) and period (columns), in units."""

    quota: np.ndarray  # what attainment divides by, per the plan's basis
    quota_period: np.ndarray  # each period's own quota
    quota_known: np.ndarray  # per payee: has a quota row
    target: np.ndarray  # target incentive on the same basis as the quota
    target_period: np.ndarray
    target_annual: np.ndarray  # per payee
    target_known: np.ndarray
    varies: bool  # the basis grows period by period (quota to date): earlier credit is re-priced
    proration: Proration | None = None  # how a roster with dates prorated quotas and targets, in words

    def __post_init__(self):
        # Flat per-(payee, period) cells, made once: earning functions cache their breakpoints by them.
        self.quota_cells = np.ascontiguousarray(self.quota).reshape(-1)
        self.target_cells = np.ascontiguousarray(self.target).reshape(-1)

    def attainment(self, measure: np.ndarray, payee: np.ndarray, period: np.ndarray) -> np.ndarray:
        """measure / quota basis as float; 0 where the quota is 0 (checked before any row is paid)."""
        quota = self.quota[payee, period].astype(np.float64)
        return np.divide(measure.astype(np.float64), quota, out=np.zeros(measure.shape, np.float64), where=quota != 0)


def make_basis(
    quota_period: np.ndarray,
    quota_known: np.ndarray,
    target_period: np.ndarray,
    target_known: np.ndarray,
    attainment_basis: str,
    proration: Proration | None = None,
) -> Basis:
    """Raises :class:`TooLarge` (``table``: quotas or targets, ``position``: the payee) where a payee's
    amounts over the year add up to more than the engine holds."""
    for table, matrix in (("quotas", quota_period), ("targets", target_period)):
        total = np.abs(matrix).sum(axis=1, dtype=np.float64)
        near = np.flatnonzero(total >= float(LIMIT) * (1 - 1e-9))  # a float cannot tell: added up exactly
        for payee in near.tolist():
            if sum(abs(amount) for amount in matrix[payee].tolist()) >= LIMIT:
                raise TooLarge(payee, float(total[payee]), table=table)

    def on_basis(matrix: np.ndarray) -> np.ndarray:
        if attainment_basis is AttainmentBasis.TO_DATE:
            return np.cumsum(matrix, axis=1)
        if attainment_basis is AttainmentBasis.ANNUAL:
            return np.repeat(matrix.sum(axis=1, keepdims=True), matrix.shape[1], axis=1)
        return matrix

    return Basis(
        quota=on_basis(quota_period),
        quota_period=quota_period,
        quota_known=quota_known,
        target=on_basis(target_period),
        target_period=target_period,
        target_annual=target_period.sum(axis=1),
        target_known=target_known,
        varies=attainment_basis is AttainmentBasis.TO_DATE and quota_period.shape[1] > 1,
        proration=proration,
    )


def check_basis(
    plan: CheckedPlan, calendar: PlanCalendar, rows: CreditRows, basis: Basis, payees: Payees, accounting: RowAccounting
) -> CreditRows:
    """Attainment needs a quota for each credited payee and period; % of target needs a target."""
    rejections = accounting.rejections
    for role in (DIRECT, ROLLUP):
        components = [c for c in plan.components if c.role.code == role]
        if grouping.is_uniform(rows.role):  # rows of one role (no rollups): all of them, or none
            if len(rows) == 0 or rows.role[0] != role:
                continue
            in_role = True
        else:
            in_role = rows.role == role
        # Found on the (payee, period) cells first: only where some cell lacks a quota or a target are the
        # rows looked at, by a lookup in a table of cells (bools: 10,000 payees fit in a cache).
        # Attainment needs the quota basis of the row's period; a row that only reads its payee's `quota`
        # needs their annual quota.
        on_basis = components_need_quota_basis(components)
        no_quota = None
        if on_basis:
            no_quota = basis.quota <= 0
        elif components_need_quotas(components):
            no_quota = np.broadcast_to((basis.quota_period.sum(axis=1) <= 0)[:, None], basis.quota.shape)
        if no_quota is not None and no_quota.any():
            bad = in_role & no_quota[rows.payee, rows.period]
            if np.any(bad):
                known = basis.quota_known[rows.payee]
                message = text.join(
                    text.when(~known, text.join("no quota for ", text.pick(rows.payee, payees.names))),
                    text.when(
                        known,
                        text.join(
                            "the quota basis of " if on_basis else "the annual quota of ",
                            text.pick(rows.payee, payees.names),
                            " is zero",
                        ),
                    ),
                    " in ",
                    text.pick(rows.period, calendar.labels),
                    _prorated(basis, rows, bad & known, calendar.count),
                )
                _reject_rows(rows, bad, "missing_quota", message, accounting)
        # A plan cap in % of target limits the lines it covers by their payee's target: without one it would
        # cap them at nothing, so a manager whose overrides it covers needs a target as a rep does.
        covered = Role.DIRECT if role == DIRECT else Role.ROLLUP
        needs_targets = any(component_needs_targets(c) for c in components) or any(
            cap.of_target and cap.covers_role(covered, plan.components) for cap in plan.plan_caps
        )
        if needs_targets and not basis.target_known.all():
            bad = in_role & ~basis.target_known[rows.payee]
            if np.any(bad):
                message = text.join("no target incentive for ", text.pick(rows.payee, payees.names))
                _reject_rows(rows, bad, "missing_quota", message, accounting)
    if accounting.rejections == rejections:
        return rows
    return rows.take(np.flatnonzero(accounting.pending()[rows.txn]))


def _prorated(basis: Basis, rows: CreditRows, rows_said: np.ndarray, periods: int) -> pa.Array | str:
    """Of each row of ``rows_said`` whose payee's quota a roster prorated in its period, how: `` (prorated: 0 of
    3 whole months)`` (a hire late in the period, a manager who starts after it); "" for the others."""
    if basis.proration is None or not rows_said.any():
        return ""
    at = np.flatnonzero(rows_said)
    distinct, inverse = np.unique(rows.payee[at].astype(np.int64) * periods + rows.period[at], return_inverse=True)
    notes = [basis.proration.note(int(key) // periods, int(key) % periods) for key in distinct.tolist()]
    words = pa.array(["", *(f" (prorated: {note})" if note else "" for note in notes)], pa.string())
    index = np.zeros(len(rows), np.int32)
    index[at] = inverse.reshape(-1) + 1
    return words.take(index)


def _reject_rows(
    rows: CreditRows, bad: np.ndarray, reason: str, message, accounting: RowAccounting, column: str | None = None
) -> None:
    """Reject the transactions of the credit rows in ``bad`` (a row's message is its first bad credit row's)."""
    picked = np.flatnonzero(bad)
    txn, first = np.unique(rows.txn[picked], return_index=True)
    mask = np.zeros(accounting.rows, dtype=bool)
    mask[txn] = True
    if isinstance(message, str):
        per_txn = message
    else:
        slots = np.full(accounting.rows, -1, dtype=np.int64)
        slots[txn] = picked[first]
        per_txn = message.take(np.maximum(slots, 0))
    accounting.reject(mask, reason, per_txn, column)
