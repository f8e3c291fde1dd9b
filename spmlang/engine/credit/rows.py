"""Transactions to credit rows: who is credited, with what share and how much.

A credit row is (transaction, payee, share, credit). One payee column gives
one row per transaction; several payee columns with shares split it; a roster
adds a rollup row for each manager above each credited payee. Rows are then
put in the order that decides which row crosses a tier or a cap: by payee and
role, then date, then transaction key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.kernels.grouping import gather, sort_in_place, uniform
from spmlang.engine.kernels.money import scaled
from spmlang.ir.kinds import Role

DIRECT, ROLLUP = Role.DIRECT.code, Role.ROLLUP.code  # the int8 codes of the roles
ROLE_NAMES = tuple(Role)  # a role's code is its index here
_DAYS = np.iinfo(np.int32)  # credit rows' dates (days since 1970) are int32


@dataclass
class CreditRows:
    txn: np.ndarray  # input row of the transaction: int32 (int64 for tables of 2**31 rows or more)
    payee: np.ndarray  # int32: payee code
    role: np.ndarray  # int8: DIRECT or ROLLUP
    rollup_from: np.ndarray  # int32: the credited payee a rollup row comes from (-1 for direct rows)
    share: np.ndarray  # float64
    credit: np.ndarray  # int64 units
    date: np.ndarray  # int32 days
    period: np.ndarray  # int16
    split: np.ndarray  # int8: which payee column (0 for the first)
    reversal: np.ndarray  # bool: the credit of a cancelled transaction leaving the measure (see credit.reversals)

    def __len__(self) -> int:
        return int(self.txn.size)

    def take(self, index) -> CreditRows:
        """Some rows: an index array or a mask (copies), or a slice (views, no copy)."""
        return CreditRows(**{f.name: gather(getattr(self, f.name), index) for f in fields(self)})

    @staticmethod
    def concat(parts: list[CreditRows]) -> CreditRows:
        return CreditRows(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(CreditRows)})


class Payees:
    """The payees of a run, sorted by name; a payee's code is its position."""

    def __init__(self, names: list[str]):
        self.names = sorted(set(names))
        self.array = pa.array(self.names, type=pa.string())
        self.code = {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, values: pa.Array) -> np.ndarray:
        """Codes of an Arrow array of names (-1 for nulls and unknown names). Names dictionary-encoded (as
        parquet's are) are looked up once each, and the rows' codes read from a table of them by numpy."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not isinstance(values, pa.DictionaryArray):
            return self._codes(values)
        table = np.append(self._codes(values.dictionary), np.int32(-1))  # the last slot: a null's
        indices = values.indices
        if indices.null_count:
            indices = indices.fill_null(len(values.dictionary))
        return table[indices.to_numpy(zero_copy_only=False)]

    def _codes(self, names: pa.Array) -> np.ndarray:
        codes = pc.index_in(pc.cast(names, pa.string()), value_set=self.array)
        return codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)


def distinct_names(values: pa.Array, mask: np.ndarray) -> list[str]:
    if isinstance(values, pa.DictionaryArray):
        used = pc.unique(values.indices.filter(pa.array(mask))).drop_null()
        return [v for v in values.dictionary.take(used).to_pylist() if v is not None]
    picked = pc.filter(pc.cast(values, pa.string()), pa.array(mask))
    return [v for v in pc.unique(picked).to_pylist() if v is not None]


def split_rows(
    payee_codes: list[np.ndarray],
    shares: list[np.ndarray],
    credit: np.ndarray,
    dates: np.ndarray,
    periods: np.ndarray,
    alive: np.ndarray,
    key_order: np.ndarray,
) -> CreditRows:
    """Direct credit rows of the ``alive`` transactions, one per (transaction, payee column with a payee),
    in key order (and payee column order within a transaction): see :func:`crediting_order`."""
    parts = []
    for split, (codes, share) in enumerate(zip(payee_codes, shares, strict=True)):
        txn = key_order[(alive & (codes >= 0))[key_order]]
        share_taken = gather(share, txn)
        credit_taken = credit[txn]
        if not np.all(share_taken == 1.0):  # a whole share keeps the credit exact, with no float on the way
            credit_taken = np.where(share_taken == 1.0, credit_taken, scaled(credit_taken, share_taken))
        parts.append(
            CreditRows(
                txn=txn,
                payee=codes[txn].astype(np.int32, copy=False),
                role=uniform(DIRECT, txn.size, np.int8),
                rollup_from=uniform(-1, txn.size, np.int32),
                share=share_taken.astype(np.float64, copy=False),
                credit=credit_taken,
                date=dates[txn].astype(np.int32),
                period=periods[txn].astype(np.int16, copy=False),
                split=uniform(split, txn.size, np.int8),
                reversal=uniform(False, txn.size, np.bool_),
            )
        )
    return parts[0] if len(parts) == 1 else CreditRows.concat(parts)


def direct_rows_in_order(
    payee_codes: np.ndarray,
    share: np.ndarray,
    credit: np.ndarray,
    dates: np.ndarray,
    calendar: PlanCalendar,
    alive: np.ndarray,
    key_order: np.ndarray,
    key_rank: np.ndarray,
) -> CreditRows | None:
    """The direct credit rows of a single payee column, made in crediting order (what :func:`split_rows`
    then :func:`crediting_order` give, then taken in that order), or None when (payee, date, key) do not fit
    in 63 bits. Every ``alive`` row's date lies in the ``calendar``'s year.

    The (payee, date, key rank) of each transaction are packed into one integer, the integers of the credited
    ones kept and sorted: payee and date are read back from the sorted integers, the period from the date,
    and the transaction from its key rank, so only the credit is gathered (made in key order and then
    ordered, every column was gathered twice)."""
    credited = alive & (payee_codes >= 0)
    count = int(np.count_nonzero(credited))
    if count == 0:
        return split_rows([payee_codes], [share], credit, dates, calendar.period_of(dates), alive, key_order)
    everyone = count == credited.size
    rank_bits = max(int(key_rank.size) - 1, 0).bit_length()
    payee_bits = int(payee_codes.max()).bit_length()
    first_day, last_day = int(dates.min()), int(dates.max())  # of every row: no pass to pick the credited
    if (
        payee_bits + (last_day - first_day).bit_length() + rank_bits > 63
        or not _DAYS.min <= first_day <= last_day <= _DAYS.max
    ):  # an odd date among the rows not credited
        first_day = int(np.minimum.reduce(dates, where=credited, initial=np.iinfo(dates.dtype).max))
        last_day = int(np.maximum.reduce(dates, where=credited, initial=np.iinfo(dates.dtype).min))
    date_bits = (last_day - first_day).bit_length()
    if payee_bits + date_bits + rank_bits > 63:
        return None
    # Packed for every transaction, in place, then the credited ones kept: one pass that picks rows instead
    # of one per part (each array as long as the transactions). What the other rows pack is never read. Added, not
    # or-ed: the date is less than 2 ** date_bits days past the first, so the sums are the same bits.
    packed = payee_codes.astype(np.int64)
    packed <<= date_bits
    packed += dates
    packed -= first_day
    packed <<= rank_bits
    packed |= key_rank
    if not everyone:  # the others sorted before the credited ones (packed keys are never negative) and cut off:
        np.copyto(packed, -1, where=~credited)  # no copy of the credited
    del credited
    sort_in_place(packed)
    packed = packed[packed.size - count :]
    txn = key_order[packed & ((1 << rank_bits) - 1)]
    packed >>= rank_bits
    date = (packed & ((1 << date_bits) - 1)).astype(np.int32)
    date += np.int32(first_day)
    packed >>= date_bits
    payee = packed.astype(np.int32)
    del packed
    share_taken = gather(share, txn)
    credit_taken = credit[txn]
    if not np.all(share_taken == 1.0):  # as in split_rows
        credit_taken = np.where(share_taken == 1.0, credit_taken, scaled(credit_taken, share_taken))
    return CreditRows(
        txn=txn,
        payee=payee,
        role=uniform(DIRECT, txn.size, np.int8),
        rollup_from=uniform(-1, txn.size, np.int32),
        share=share_taken.astype(np.float64, copy=False),
        credit=credit_taken,
        date=date,
        period=calendar.period_in_year(date),
        split=uniform(0, txn.size, np.int8),
        reversal=uniform(False, txn.size, np.bool_),
    )


def rollup_rows(direct: CreditRows, managers: np.ndarray) -> CreditRows:
    """A rollup row for every manager above each direct row's payee (the roster is acyclic)."""
    return rollups(direct, lambda level: managers[level.payee], len(managers))


def rollups(
    direct: CreditRows,
    manager_of: Callable[[CreditRows], np.ndarray],
    depth: int,
    too_deep: Callable[[CreditRows], None] | None = None,
) -> CreditRows:
    """A rollup row for every manager above each direct row's payee, level after level: ``manager_of(rows)``
    is each row's payee's manager (-1: none). Past ``depth`` levels the managers go round in a cycle:
    ``too_deep(rows)`` says so (a roster checked acyclic never gets there)."""
    parts = []
    level = direct
    origin = direct.payee
    for _ in range(depth + 1):
        above = manager_of(level)
        keep = above >= 0
        if not np.any(keep):
            break
        level = level.take(keep)
        origin = origin[keep]
        level = CreditRows(
            txn=level.txn,
            payee=above[keep].astype(np.int32),
            role=np.full(len(level), ROLLUP, np.int8),
            rollup_from=origin.astype(np.int32),
            share=level.share,
            credit=level.credit,
            date=level.date,
            period=level.period,
            split=level.split,
            reversal=level.reversal,
        )
        parts.append(level)
    else:
        if too_deep is not None:
            too_deep(level)
    if not parts:
        return direct.take(np.zeros(0, dtype=np.int64))
    return CreditRows.concat(parts)


def crediting_order(rows: CreditRows, key_rank: np.ndarray | None = None) -> np.ndarray:
    """The order of credit rows: by payee and role (all the rows of a payee are consecutive, so the run can
    pay payees in batches), then date. Rows must come in key order, and in payee column order within a
    transaction: the stable sort keeps that order between rows of one date, and it decides which of them
    crosses a tier or a cap first. Reversal rows (added after the others, see credit.reversals) take their
    place among the rows of their date by key (``key_rank``, per input row), after the row they reverse."""
    from spmlang.engine.kernels.grouping import order_by

    if key_rank is not None and rows.reversal.any():
        order = order_by(rows.payee, rows.role, rows.date, key_rank[rows.txn], rows.reversal)
    else:
        order = order_by(rows.payee, rows.role, rows.date)
    return order.astype(rows.txn.dtype, copy=False)  # as narrow as the rows
