"""From the transaction table to credit rows, with every row accounted for.

The steps, in order (the first decision about a row wins): unreadable values
are rejected; duplicate keys are rejected; money in other currencies is
converted to the plan's (currencies.py: rows without a rate are rejected);
the plan's filters exclude rows,
each counted by name; rows without a key, date, payee or credit are rejected,
as are dates outside the plan year; then the credit and shares are computed
and bad splits rejected.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.expressions.evaluate import evaluate
from spmlang.engine.expressions.values import Frame, Vec, as_float, materialize, truth
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import LIMIT, UNIT, limit_text, to_units
from spmlang.engine.read.accounting import RowAccounting
from spmlang.engine.read.cancellations import Cancellations, read_cancellations
from spmlang.engine.read.columns import ColumnValues, JoinedColumn, convert_column
from spmlang.engine.read.currencies import Rates, convert_transactions
from spmlang.engine.read.dates import plausible as plausible_dates
from spmlang.engine.read.dates import wrong_format_notes
from spmlang.engine.read.formats import LoadedTable
from spmlang.engine.read.keys import in_key_order, key_ranks, key_rows, key_text, reject_duplicates
from spmlang.engine.runtime import parallel
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type
from spmlang.ir.plan import CheckedPlan, ColumnSpec

_SHARE_TOLERANCE = 1e-9


@dataclass
class Transactions:
    """The transaction table after validation: typed columns, and what is known of each row."""

    loaded: LoadedTable
    columns: dict[str, ColumnValues]
    frame: Frame
    accounting: RowAccounting
    key_values: Any  # the key column in its own type: int64 numpy, or an Arrow string array
    key_valid: np.ndarray
    key_order: np.ndarray  # the input rows in key order (empty keys last)
    key_rank: np.ndarray  # each row's position in key order (numbers by value, text by text)
    dates: np.ndarray | None  # int64 days (None once the credit rows are made: see release_credit)
    calendar: PlanCalendar
    credit: np.ndarray | None  # int64 units per transaction (likewise)
    payee_names: list[pa.Array]  # one per payee column
    shares: list[np.ndarray]  # float per payee column
    cancellations: Cancellations = field(default_factory=Cancellations.none)
    fx_rows: np.ndarray | None = None  # per row: the fx table row its money was converted at (-1: plan currency)

    def release_columns(self, keep: set[str]) -> None:
        """Let go of the columns (and payee names) once the payees are encoded, but those in ``keep`` (what
        the components read), which on a large table are much of what is held. The key stays in
        :attr:`key_values`."""
        self.payee_names = []
        for name in [name for name in self.columns if name not in keep]:
            del self.columns[name]
            self.frame.columns.pop(name, None)

    @property
    def periods(self) -> np.ndarray:
        """Each row's period (int16, -1 outside the plan year), made when asked for: credit rows made in
        crediting order read theirs off their dates (see :func:`direct_rows_in_order`)."""
        return self.calendar.period_of(self.credited_dates())

    def credited_dates(self) -> np.ndarray:
        if self.dates is None:
            raise ValueError("the transactions' dates were let go once credited")
        return self.dates

    def credited_amounts(self) -> np.ndarray:
        if self.credit is None:
            raise ValueError("the transactions' credit was let go once credited")
        return self.credit

    def release_credit(self) -> None:
        """Let go of each row's date, credit and shares, once the credit rows are made of them."""
        self.dates = self.credit = None
        self.shares = []

    def credited(self) -> InputRows:
        """What a run keeps of its transactions once they are credited: each row's key and fate. The typed
        columns are then let go (no longer held while the run is paid)."""
        return InputRows(self.accounting, self.key_values, self.key_valid, self.loaded.rows, self.cancellations)


@dataclass
class InputRows:
    """The rows of a credited run's transaction table: how many, each one's key, and what became of it."""

    accounting: RowAccounting
    key_values: Any
    key_valid: np.ndarray
    rows: int
    cancellations: Cancellations = field(default_factory=Cancellations.none)

    def keys(self, index: np.ndarray | None = None, present: np.ndarray | None = None) -> pa.Array:
        """The keys of the given input rows (all rows by default) as text, for messages and the ledger; null
        where ``present`` (if given) is false."""
        return key_text(self.key_values, self.key_valid, index, present)

    def rows_of(self, keys: pa.Array) -> np.ndarray:
        """The input row of each of ``keys`` (text); -1 where none has it (see keys.key_rows)."""
        return key_rows(self.key_values, self.key_valid, keys)


def reject_issues(frame: Frame, accounting: RowAccounting) -> None:
    """Turn the issues an evaluation left on ``frame`` into rejected rows."""
    for issue in frame.issues:
        accounting.reject(issue.mask, issue.subject, issue.message, issue.column)
    frame.issues.clear()


def columns_read(plan: CheckedPlan) -> list[str]:
    """The declared transaction columns a run reads, in declaration order: all but text that nothing of the plan
    names (no expression, nor the key, date, payees, cancellation or currency). Any text is text, so such a
    column can reject no row: it is checked to be in the file, and not read."""
    source = plan.transactions
    named = {source.key, source.date, *(p.column for p in source.payees)}
    named |= {name for name in (source.cancelled, source.currency and source.currency.column) if name}
    for expr in (source.credit, source.refunded, *(f.expr for f in source.filters), *(p.share for p in source.payees)):
        named |= ir.columns_used(expr)
    named = named.union(*(component.columns_read() for component in plan.components))
    return [name for name, spec in source.columns.items() if spec.type is not Type.TEXT or name in named]


def read_transactions(
    plan: CheckedPlan,
    loaded: LoadedTable,
    tables: dict,
    calendar: PlanCalendar,
    strict: bool,
    rates: Rates | None = None,
) -> Transactions:
    source = plan.transactions
    specs = {name: source.columns[name] for name in columns_read(plan)}
    columns = _converted(loaded, specs, plausible_dates(calendar))
    n = loaded.rows  # known once read (a CSV file's rows are counted as its pieces come)
    accounting = RowAccounting(
        n,
        loaded.label,
        loaded.row_offset,
        source.policies,
        strict,
        [f.name for f in source.filters],
        loaded.row_numbers,
    )
    for name, column in columns.items():
        if column.any_invalid:
            accounting.reject(
                column.invalid, "invalid_value", _unreadable(column, source.columns[name], calendar), name
            )
        column.raw = None  # read as it was only to say what could not be read

    key_column = columns[source.key]
    key_values = key_column.values
    rank_type = np.int32 if n < 2**31 else np.int64  # half the memory for the two largest arrays of a run
    key_order, distinct = in_key_order(key_values, key_column.valid)
    key_order = key_order.astype(rank_type, copy=False)
    key_rank = key_ranks(key_values, key_column.valid, key_order, distinct)
    if not distinct:
        reject_duplicates(key_values, key_column.valid, key_order, accounting, source.key)
    # Money in other currencies is converted before any filter compares it with the plan's amounts.
    fx_rows = None
    if rates is not None and source.currency is not None:
        fx_rows = convert_transactions(plan, columns, accounting, rates, calendar)
    frame = Frame(n, {name: Vec(c.values, c.valid, c.type) for name, c in columns.items()}, tables=tables)

    for index, row_filter in enumerate(source.filters):
        passed = truth(evaluate(row_filter.expr, frame), n)
        reject_issues(frame, accounting)
        accounting.exclude(~passed, index)

    accounting.reject(~key_column.valid, "missing_value", f"the key ({source.key}) is empty", source.key)
    date_column = columns[source.date]
    accounting.reject(~date_column.valid, "missing_value", f"the date ({source.date}) is empty", source.date)
    first_payee = columns[source.payees[0].column]
    accounting.reject(
        ~first_payee.valid, "missing_value", f"the payee ({source.payees[0].column}) is empty", source.payees[0].column
    )

    dates = np.asarray(date_column.values, dtype=np.int64)
    outside = ~calendar.in_year(dates)
    if outside.any():
        shown = pc.cast(pa.array(dates.astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())
        message = text.join("the date ", shown, f" is outside the plan year ({calendar.describe()})")
        accounting.reject(outside, "outside_year", message, source.date)
    del outside

    credit_value = materialize(evaluate(source.credit, frame), n)
    reject_issues(frame, accounting)
    accounting.reject(
        ~np.asarray(credit_value.valid, bool),
        "missing_value",
        f"the credit (`{plan_text(plan, source.credit.span)}`) is empty",
        source.credit.name if isinstance(source.credit, ir.Column) else None,
    )
    if credit_value.type is Type.MONEY:
        credit = np.asarray(credit_value.values, dtype=np.int64)
    else:  # a count or a number: past the money limit in units, a row's issue, never a wrapped amount
        scaled = as_float(credit_value) * UNIT
        fits = np.abs(scaled) < float(LIMIT)  # False for not a number too
        too_large = ~fits & np.asarray(credit_value.valid, bool)
        if too_large.any():
            accounting.reject(
                too_large,
                "invalid_value",
                f"the credit (`{plan_text(plan, source.credit.span)}`) is too large to hold (more than {limit_text()})",
                source.credit.name if isinstance(source.credit, ir.Column) else None,
            )
        credit = to_units(np.where(fits, scaled, 0.0))

    cancellations = read_cancellations(source, frame, dates, credit, accounting)
    payee_names, shares = _payees_and_shares(plan, columns, frame, accounting)
    return Transactions(
        loaded,
        columns,
        frame,
        accounting,
        key_values,
        np.asarray(key_column.valid),
        key_order,
        key_rank,
        dates,
        calendar,
        credit,
        payee_names,
        shares,
        cancellations,
        fx_rows,
    )


def _converted(loaded: LoadedTable, specs: dict, plausible: tuple[int, int]) -> dict[str, ColumnValues]:
    """Every declared column converted to its type, piece by piece (see LoadedTable.pieces), on every core:
    Arrow's kernels and numpy let go of the GIL, and the next piece is read while one is converted. A column
    that cannot be read raises, the first in declaration order. A date outside the ``plausible`` days was read
    in a wrong format (see dates.plausible).

    At most two pieces are held as read, the one being converted and the next (a table given in memory is one
    piece: the table), and a piece's converted columns are joined into the whole as they come (see
    JoinedColumn): the columns read and the columns converted are never all held at once."""
    joined = {name: JoinedColumn(loaded.rows) for name in specs}

    def convert(array, name: str) -> None:
        column = convert_column(array, specs[name], loaded.label, plausible)
        if not column.any_invalid:
            column.raw = None
        joined[name].add(column)

    with ThreadPoolExecutor(max_workers=max(1, min(len(specs), parallel.cores()))) as pool:
        converting: list = []
        for piece in loaded.pieces():
            arrays = {name: piece.column(name) for name in specs}
            del piece
            for future in converting:  # the previous piece, converted while this one was read; in declaration
                future.result()  # order: the first column that cannot be read raises
            converting = [pool.submit(convert, arrays.pop(name), name) for name in specs]
        for future in converting:
            future.result()
    return {name: joined.pop(name).result() for name in specs}


def plan_text(plan: CheckedPlan, span) -> str:
    """The plan's source text of a span (on one line)."""
    lines = plan.source.splitlines()
    if not 0 < span.line <= len(lines):
        return ""
    if span.end_line == span.line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    return lines[span.line - 1][span.column - 1 :].strip()


def _unreadable(column: ColumnValues, spec, calendar: PlanCalendar) -> pa.Array:
    """Why each value of ``column`` that cannot be read cannot be: its note if it has one (too large, a date
    that reads centuries from the plan year), else that it cannot be read as its type."""
    if column.raw is None:
        raise ValueError("a column keeps the values it could not read, to quote them")
    raw = pc.cast(column.raw, pa.string()) if not pa.types.is_string(column.raw.type) else column.raw
    notes = column.notes
    if spec.type is Type.DATE:
        notes = wrong_format_notes(raw, column.invalid, spec.name, spec.format, calendar)
    unreadable = text.join("cannot read '", raw.fill_null(""), f"' as {value_words(spec)}")
    return unreadable if notes is None else pc.coalesce(notes, unreadable)


def value_words(spec: ColumnSpec) -> str:
    """What a column's values must be, as a message says it: 'a date in the format "%d-%m-%y"'."""
    what = {
        Type.MONEY: "an amount of money",
        Type.NUMBER: "a number",
        Type.INTEGER: "a whole number",
        Type.PERCENT: "a percentage",
        Type.DATE: "a date",
        Type.BOOL: "true or false",
        Type.TEXT: "text",
    }[spec.type]
    if spec.format:
        what += f' in the format "{spec.format}"'
    if spec.type is Type.MONEY or spec.type is Type.NUMBER:
        if not spec.format:
            what += ' (write 1234.56, or declare a format such as "1,234.56")'
    return what


def _payees_and_shares(
    plan: CheckedPlan, columns: dict[str, ColumnValues], frame: Frame, accounting: RowAccounting
) -> tuple[list[pa.Array], list[np.ndarray]]:
    n = frame.n
    names, shares = [], []
    split = len(plan.transactions.payees) > 1  # shares only add up where there are several (a row each)
    total = np.zeros(n if split else 0, dtype=np.float64)
    for spec in plan.transactions.payees:
        payee = columns[spec.column]
        if payee.type is Type.TEXT:
            values = payee.values  # text is never unreadable: its nulls are its empty values
        else:
            values = pa.array(np.asarray(payee.values).astype(str))
            values = pc.if_else(pa.array(payee.valid), values, pa.scalar(None, pa.string()))
        names.append(values)
        if spec.share is None:
            share = grouping.uniform(1.0, n) if np.all(payee.valid) else np.where(payee.valid, 1.0, 0.0)
        else:
            value = materialize(evaluate(spec.share, frame), n)
            reject_issues(frame, accounting)
            share = np.where(value.valid, as_float(value), np.nan)
            has_payee = payee.valid
            accounting.reject(has_payee & np.isnan(share), "bad_split", f"{spec.column} has no share", spec.column)
            stray = ~has_payee & ~np.isnan(share) & (np.nan_to_num(share) != 0)
            accounting.reject(stray, "bad_split", f"a share is given but {spec.column} is empty", spec.column)
            accounting.reject(
                has_payee & (np.nan_to_num(share) < 0),
                "bad_split",
                f"the share of {spec.column} is negative",
                spec.column,
            )
            share = np.where(has_payee, np.nan_to_num(share), 0.0)
        shares.append(share)
        if split:
            total += share
    if split:
        over = total > 1.0 + _SHARE_TOLERANCE
        written = [plan_text(plan, spec.share.span) for spec in plan.transactions.payees if spec.share is not None]
        message = text.join("shares add up to ", text.percent(total), f" ({' + '.join(written)}), more than 100%")
        used = [sorted(ir.columns_used(spec.share)) for spec in plan.transactions.payees if spec.share is not None]
        accounting.reject(over, "bad_split", message, next((names[0] for names in used if names), None))
    return names, shares
