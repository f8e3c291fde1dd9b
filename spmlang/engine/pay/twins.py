"""Reversal rows (a cancelled transaction's twin, in ``clawback recalculate``): how they are priced and marked.

A twin is priced by its component's rule like any credit row (the year without the transaction); a rule paid
per row reverses the original row's own line instead. Its lines are clawbacks (see
:mod:`spmlang.engine.settle.clawbacks` for the clawbacks of money, and :mod:`spmlang.engine.credit.reversals`
for the twins themselves).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.credit.reversals import refunded_part
from spmlang.engine.credit.rows import CreditRows
from spmlang.engine.kernels import column_text as text
from spmlang.engine.pay.earnings import RowLines
from spmlang.engine.pay.lines import KIND, Lines, TextColumn
from spmlang.ir.kinds import LineKind


def shown_days(days: np.ndarray) -> pa.Array:
    """Days since 1970 as ISO dates."""
    return pc.cast(pa.array(np.asarray(days).astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())


def twin_origins(rows: CreditRows) -> tuple[np.ndarray, np.ndarray]:
    """Each reversal row among ``rows`` and the credit row it reverses (same transaction, payee, role, origin
    of a rollup and payee column)."""
    if not rows.reversal.any():
        empty = np.zeros(0, np.int64)
        return empty, empty
    order = np.lexsort((rows.reversal, rows.split, rows.rollup_from, rows.role, rows.payee, rows.txn))
    at = np.flatnonzero(rows.reversal[order])
    return order[at].astype(np.int64), order[at - 1].astype(np.int64)  # a twin sorts right after its original


def reprice_twins(per_row: bool, rows: CreditRows, row_lines: RowLines) -> RowLines:
    """A rule paid per row (not on a measure) reverses each cancelled row's own line on its twin: what the
    twin's own credit would earn means nothing there (a fixed amount per deal, tiers on a deal's size)."""
    if not per_row or not rows.reversal.any():
        return row_lines
    twins, origins = twin_origins(rows)
    position = np.full(len(rows), -1, np.int64)
    position[row_lines.rows] = np.arange(row_lines.rows.size)
    have = (position[twins] >= 0) & (position[origins] >= 0)
    twins, origins = twins[have], origins[have]
    if twins.size == 0:
        return row_lines
    amount = row_lines.amount.copy()
    paid = amount[position[origins]]
    amount[position[twins]] = -refunded_part(paid, -rows.credit[twins], rows.credit[origins])
    return RowLines(
        row_lines.rows,
        amount,
        row_lines.tier,
        row_lines.rate,
        row_lines.multiplier,
        row_lines.explanation,
        row_lines.beyond_curve,
    )


def mark_twins(lines: Lines, rows: CreditRows, clause: int) -> Lines:
    """A reversal row's lines are clawbacks, cite the plan's clawback, and say so."""
    on_twin = np.zeros(len(lines), bool)
    on_row = lines.row >= 0
    on_twin[on_row] = rows.reversal[lines.row[on_row]]
    if not on_twin.any():
        return lines
    twins = lines.take(np.flatnonzero(on_twin))
    twins.kind = np.full(len(twins), KIND[LineKind.CLAWBACK], np.int8)
    twins.clause = np.full(len(twins), clause, np.int32)
    plain = twins.explanation.resolve()
    twins.explanation = TextColumn(
        [text.join("cancelled on ", shown_days(rows.date[twins.row]), ", its credit leaves the measure: ", plain)]
    )
    return Lines.concat([lines.take(np.flatnonzero(~on_twin)), twins])
