"""Ledger lines while the engine works on them: parallel arrays, one element per line."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa

KINDS = ("earning", "spif", "bonus", "true_up", "cap", "gate", "draw", "draw_recovery", "clawback")
KIND = {name: code for code, name in enumerate(KINDS)}
# Where a line sits in its period: re-pricing first, then the rows, then period-end decisions.
START, ROW, END = 0, 1, 2


@dataclass
class Lines:
    payee: np.ndarray  # int32
    role: np.ndarray  # int8
    component: np.ndarray  # int16, -1 for a line of no component
    kind: np.ndarray  # int8, an index into KINDS
    period: np.ndarray  # int16
    phase: np.ndarray  # int8: START, ROW or END
    row: np.ndarray  # int64: ordered credit row, -1 for an adjustment
    amount: np.ndarray  # int64 units: what the line pays (whole cents once the earnings are rounded)
    exact: np.ndarray  # int64 units: what the rule earned before rounding (= amount for adjustments)
    cut: np.ndarray  # int64 units: what a cap or gate took off (0 elsewhere)
    rate: np.ndarray  # float64, NaN where none
    multiplier: np.ndarray  # float64
    tier: pa.Array  # string
    explanation: pa.Array  # string
    clause: np.ndarray  # int32: index into the run's clause list

    def __len__(self) -> int:
        return int(self.amount.size)

    def take(self, index: np.ndarray) -> "Lines":
        index = np.asarray(index, dtype=np.int64)
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            values[f.name] = value.take(pa.array(index)) if isinstance(value, (pa.Array, pa.ChunkedArray)) else value[index]
        return Lines(**values)

    @staticmethod
    def concat(parts: list["Lines"]) -> "Lines":
        parts = [p for p in parts if p is not None]
        if not parts:
            return empty_lines()
        values = {}
        for f in fields(Lines):
            items = [getattr(p, f.name) for p in parts]
            if isinstance(items[0], (pa.Array, pa.ChunkedArray)):
                values[f.name] = pa.concat_arrays([i.combine_chunks() if isinstance(i, pa.ChunkedArray) else i
                                                   for i in items])
            else:
                values[f.name] = np.concatenate(items)
        return Lines(**values)


def make_lines(n: int, *, payee, role, component: int, kind: str, period, phase: int, row=None, amount,
               cut=None, rate=None, multiplier=None, tier=None, explanation, clause: int, exact=None) -> Lines:
    """Lines of one kind from one component; scalars broadcast."""
    def column(value, dtype, default):
        if value is None:
            value = default
        return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

    return Lines(
        payee=column(payee, np.int32, 0), role=column(role, np.int8, 0), component=column(component, np.int16, -1),
        kind=column(KIND[kind], np.int8, 0), period=column(period, np.int16, 0), phase=column(phase, np.int8, ROW),
        row=column(row, np.int64, -1), amount=column(amount, np.int64, 0), cut=column(cut, np.int64, 0),
        exact=column(amount if exact is None else exact, np.int64, 0),
        rate=column(rate, np.float64, np.nan), multiplier=column(multiplier, np.float64, 1.0),
        tier=tier if tier is not None else pa.nulls(n, pa.string()), explanation=explanation,
        clause=column(clause, np.int32, -1),
    )


def empty_lines() -> Lines:
    return make_lines(0, payee=0, role=0, component=-1, kind="earning", period=0, phase=ROW, amount=0,
                      explanation=pa.array([], pa.string()), clause=-1)


def ledger_order(lines: Lines, date: np.ndarray, key_rank: np.ndarray) -> np.ndarray:
    """The order of lines in the ledger: payee, period, phase, then the row's date and key, role,
    component, kind. ``date`` and ``key_rank`` are per line (0 for adjustments)."""
    return np.lexsort((lines.kind, lines.component, lines.role, key_rank, date, lines.phase, lines.period,
                       lines.payee))
