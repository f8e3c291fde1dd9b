"""Cancelled and refunded transactions: when, and how much of their credit.

The plan names the date column of a cancellation (`cancelled cancel_date`) and, for partial refunds, the
refunded amount in the credit's unit (`refunded refund_amount`; empty: all of it). A transaction is then
clawed back (see :mod:`spmlang.engine.settle.clawbacks` and, to re-price the year without it,
:mod:`spmlang.engine.credit.reversals`). Only the cancelled rows are kept: most transactions are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import Frame, as_float, materialize
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import UNIT, to_units
from spmlang.engine.read.accounting import RowAccounting
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type
from spmlang.ir.plan import SourceSpec


@dataclass
class Cancellations:
    """The cancelled transactions of a run, by input row (sorted)."""

    txn: np.ndarray  # int64 input rows, ascending
    day: np.ndarray  # int32 days since 1970: the date of the cancellation
    refunded: np.ndarray  # int64 units of credit refunded
    credit: np.ndarray  # int64 units: the transaction's credit (refunded == credit: all of it)
    _cancelled: np.ndarray | None = field(default=None, repr=False, compare=False)  # by input row, made by of()

    @staticmethod
    def none() -> Cancellations:
        empty = np.zeros(0, np.int64)
        return Cancellations(empty, np.zeros(0, np.int32), empty, empty)

    def __len__(self) -> int:
        return int(self.txn.size)

    def of(self, txn: np.ndarray) -> np.ndarray:
        """For each input row of ``txn``: its index among the cancellations, or -1 if it was not cancelled."""
        at = np.full(np.shape(txn), -1, np.int64)
        if len(self):
            hit, found = self.found(txn)
            at[hit] = found
        return at

    def found(self, txn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where in ``txn`` (input rows) a cancelled row is, and its index among the cancellations."""
        if not len(self):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # Most rows were not cancelled: a mask over the input rows finds the few that were, which alone are
        # searched for (a search for every row, in no order, took ~15x as long). The mask ends with a row not
        # cancelled, which every row past it is clipped to: one gather, no bounds to check.
        if self._cancelled is None:
            self._cancelled = np.zeros(int(self.txn[-1]) + 2, dtype=bool)
            self._cancelled[self.txn] = True
        txn = np.asarray(txn)
        is_cancelled = np.take(self._cancelled, txn, mode="clip")
        if txn.size and int(txn.min()) < 0:  # no input row: clipped to row 0, it would read as that row
            is_cancelled &= txn >= 0
        hit = np.flatnonzero(is_cancelled)
        return hit, np.searchsorted(self.txn, txn[hit])

    def take(self, keep: np.ndarray) -> Cancellations:
        return Cancellations(self.txn[keep], self.day[keep], self.refunded[keep], self.credit[keep])


def read_cancellations(
    source: SourceSpec, frame: Frame, dates: np.ndarray, credit: np.ndarray, accounting: RowAccounting
) -> Cancellations:
    """The cancelled rows among those still pending; rows whose cancellation cannot be right are rejected: a
    cancellation before the transaction's date, a refund below zero or above the credit, or a refund with no
    date."""
    if source.cancelled is None:
        return Cancellations.none()
    n = frame.n
    column = frame.column(source.cancelled)
    name = source.cancelled
    # Most rows are not cancelled: what is checked is checked on the rows with a date (or a refund) alone, and
    # a message is made over every row only when some row needs it.
    has_date = np.asarray(column.valid, bool) & accounting.pending()
    cancelled = np.flatnonzero(has_date)
    day = np.asarray(column.values, np.int64)[cancelled]
    early = day < dates[cancelled]
    if early.any():
        every_day = np.where(has_date, np.asarray(column.values, np.int64), 0)
        message = text.join(
            f"cancelled ({name}) on ", _shown(every_day), ", before the transaction's date ", _shown(dates)
        )
        accounting.reject(_mask(cancelled[early], n), "invalid_value", message, name)
    refunded = credit[cancelled]
    if source.refunded is not None:
        value = materialize(evaluate(source.refunded, frame), n)
        frame.issues.clear()  # an unreadable refund is an empty one: the row was read as a row already
        given = np.asarray(value.valid, bool)
        amounts = np.asarray(value.values, np.int64) if value.type is Type.MONEY else to_units(as_float(value) * UNIT)
        no_date = given & ~has_date & accounting.pending() & (amounts != 0)
        accounting.reject(
            no_date, "missing_value", f"a refund is given but the cancellation date ({name}) is empty", name
        )
        given_here = given[cancelled] if np.ndim(given) else np.full(cancelled.size, bool(given))
        refunded = np.where(given_here, amounts[cancelled] if np.ndim(amounts) else amounts, refunded)
        whole = credit[cancelled]
        wrong = given_here & ~((np.sign(refunded) * np.sign(whole) >= 0) & (np.abs(refunded) <= np.abs(whole)))
        if wrong.any():
            every = np.where(given, amounts, credit)
            message = text.join(
                "the refund of ", text.amount(every), " is not between zero and the credit ", text.amount(credit)
            )
            refund_column = source.refunded.name if isinstance(source.refunded, ir.Column) else name
            accounting.reject(_mask(cancelled[wrong], n), "invalid_value", message, refund_column)
    keep = accounting.pending()[cancelled]
    return Cancellations(
        cancelled[keep].astype(np.int64), day[keep].astype(np.int32), refunded[keep], credit[cancelled][keep]
    )


def _mask(rows: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[rows] = True
    return mask


def _shown(days: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())
