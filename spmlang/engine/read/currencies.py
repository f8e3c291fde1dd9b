"""Currencies: the fx table, and the money of each transaction converted to the plan currency.

The fx table gives, for each currency, its rate to the plan currency (1 EUR = 1.08 USD in a USD plan: 1.08)
from a date on (a rate holds until the currency's next row), or one rate per currency where the plan converts
at fixed rates. With ``currency COLUMN`` in its transactions block, a plan's money columns are converted row by
row before its filters run: a row whose currency is empty, or has no rate where it needs one, is rejected
(``missing_value``, ``missing_fx_rate``), never taken 1:1. A converted amount is rounded once, half away from
zero, to the engine's unit (10^-6 of the plan currency); docs/calculation.md §1 says why there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError
from spmlang.engine.calendar import PlanCalendar, from_days
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import LIMIT, decimal_of, scaled
from spmlang.engine.read.accounting import RowAccounting
from spmlang.engine.read.columns import ColumnValues
from spmlang.engine.read.tables import TableData, required_values, texts
from spmlang.ir.constants import CURRENCY_CODE, CURRENCY_CODES, is_currency_code
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import Conversion
from spmlang.ir.plan import CheckedPlan

PLAN_CURRENCY = -1  # a row in the plan currency: converted at 1, no rate looked up


@dataclass
class Rates:
    """The fx table: rows by currency and date (no dates: one rate per currency)."""

    label: str
    plan_currency: str
    currencies: list[str]  # the currencies of the table, sorted; a row's currency is its index here
    currency: np.ndarray  # int64 per row
    day: np.ndarray | None  # int64 days per row: the first day its rate holds (None: fixed rates)
    rate: np.ndarray  # float64 per row
    decimals: list[Decimal]  # each row's rate as the decimal it stands for (see money.decimal_of)

    @property
    def fixed(self) -> bool:
        return self.day is None

    def codes(self, names: pa.Array) -> np.ndarray:
        """Each currency's index in the table (-1: not in it)."""
        index = pc.index_in(pc.cast(names, pa.string()), value_set=pa.array(self.currencies, pa.string()))
        return index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def find(self, currency: np.ndarray, days: np.ndarray | None) -> np.ndarray:
        """The row whose rate holds for each currency (a code) on each day; -1 where there is none."""
        currency = np.asarray(currency, dtype=np.int64)
        if self.currency.size == 0:
            return np.full(currency.size, -1, dtype=np.int64)
        if self.day is None or days is None:
            row = np.searchsorted(self.currency, currency)
            row = np.minimum(row, self.currency.size - 1)
            return np.where((currency >= 0) & (self.currency[row] == currency), row, -1)
        keys = (self.currency << 33) + (self.day + (1 << 32))
        at = np.searchsorted(keys, (currency << 33) + (np.asarray(days, dtype=np.int64) + (1 << 32)), "right") - 1
        row = np.maximum(at, 0)
        return np.where((at >= 0) & (currency >= 0) & (self.currency[row] == currency), row, -1)

    def date_text(self, row: int) -> str:
        return "" if self.day is None else from_days(int(self.day[row])).isoformat()


def read_rates(data: TableData, plan_currency: str) -> Rates:
    """The fx table of ``data``, checked: every rate above zero, one per currency and date, and the plan
    currency's (if given) 1."""
    roles = data.spec.roles
    names = [name.strip() for name in texts(required_values(data, roles["currency"]))]
    rates = np.asarray(required_values(data, roles["rate"]).values, dtype=np.float64)
    days = None
    if "date" in roles:
        days = np.asarray(required_values(data, roles["date"]).values, dtype=np.int64)
    where = data.label

    def fail(row: int, message: str, hint: str) -> InputError:
        if data.loaded is None and data.spec.row_spans:
            return InputError(message, file=str(data.spec.row_spans[row]), code="E504", hint=hint)
        return InputError(message, file=where, row=row + 1 + data.row_offset, code="E504", hint=hint)

    for row, name in enumerate(names):
        if not is_currency_code(name):
            raise fail(row, f"'{name}' is not a currency code", CURRENCY_CODES)
    bad = np.flatnonzero(~(rates > 0) | ~np.isfinite(rates))
    if bad.size:
        row = int(bad[0])
        raise fail(row, f"the {names[row]} rate {rates[row]:g} is not a rate", "a rate is above zero: 1 EUR = 1.08 USD")
    for row, (name, rate) in enumerate(zip(names, rates, strict=True)):
        if name == plan_currency and decimal_of(float(rate)) != 1:
            raise fail(
                row,
                f"the plan currency's rate is {rate:g}",
                f"a {plan_currency} amount is {plan_currency} 1:1; leave {plan_currency} out of the fx table",
            )
    currencies = sorted(set(names))
    code = {name: i for i, name in enumerate(currencies)}
    currency = np.array([code[name] for name in names], dtype=np.int64)
    order = np.lexsort((days, currency)) if days is not None else np.argsort(currency, kind="stable")
    currency, rates = currency[order], rates[order]
    days = days[order] if days is not None else None
    same = (currency[1:] == currency[:-1]) & ((days[1:] == days[:-1]) if days is not None else True)
    if np.any(same):
        row = int(order[int(np.flatnonzero(same)[0]) + 1])
        on = f" on {from_days(int(days[np.flatnonzero(same)[0]]))}" if days is not None else ""
        hint = "one rate per currency and date" if days is not None else "at fixed rates, one rate per currency"
        raise fail(row, f"two {names[row]} rates{on}", hint)
    return Rates(where, plan_currency, currencies, currency, days, rates, [decimal_of(float(r)) for r in rates])


def convert_transactions(
    plan: CheckedPlan,
    columns: dict[str, ColumnValues],
    accounting: RowAccounting,
    rates: Rates,
    calendar: PlanCalendar,
) -> np.ndarray:
    """Convert the money columns of the pending rows to the plan currency, in place, and return each input row's
    fx table row (:data:`PLAN_CURRENCY` for a row in the plan currency, and for a row not converted: rejected).

    A row whose currency is empty is rejected (``missing_value``); converting at a date needs one in the plan
    year (empty: ``missing_value``, outside: ``outside_year``, as they would be after the filters); a row with no
    rate is rejected (``missing_fx_rate``), and one whose amount converted is too large (``invalid_value``)."""
    source = plan.transactions
    spec = source.currency
    if spec is None:
        raise ValueError("only a plan with a currency column converts its transactions")
    n = accounting.rows
    currency_column = columns[spec.column]
    accounting.reject(
        ~np.asarray(currency_column.valid, bool),
        "missing_value",
        f"the currency ({spec.column}) is empty",
        spec.column,
    )
    not_code = _not_codes(currency_column.values)
    if not_code is not None:
        said = text.join(
            "'", pc.cast(currency_column.values, pa.string()), f"' is not a currency code: {CURRENCY_CODES}"
        )
        accounting.reject(not_code, "invalid_value", said, spec.column)
    codes, in_plan_currency = _currency_codes(currency_column.values, rates)
    foreign = accounting.pending() & ~in_plan_currency
    days = None
    if spec.conversion is not Conversion.FIXED:
        days = _rate_days(plan, columns, accounting, calendar, foreign, spec.conversion)
        foreign &= accounting.pending()
    rows = np.full(n, PLAN_CURRENCY, dtype=np.int32)  # an fx table has fewer rows than 2**31
    missing = np.zeros(n, dtype=bool)
    for part in _parts(np.flatnonzero(foreign)):
        found = rates.find(codes[part], None if days is None else days[part])
        missing[part[found < 0]] = True
        rows[part] = found  # -1 where there is none: those rows are rejected
    del codes
    if missing.any():
        names = pc.cast(currency_column.values, pa.string())
        message = _missing_messages(names, days, rates, spec.conversion)
        accounting.reject(missing, "missing_fx_rate", message, spec.column)
    _convert_money(plan, columns, accounting, rates, rows)
    return rows


# The rows in other currencies are looked up and converted this many at a time: the lookup's and the product's
# temporaries (a few int64 and float64 arrays of the rows) stay small however many rows there are.
PART_ROWS = 1 << 20


def _parts(index: np.ndarray) -> list[np.ndarray]:
    """``index`` in parts of at most :data:`PART_ROWS` (views)."""
    return [index[start : start + PART_ROWS] for start in range(0, index.size, PART_ROWS)]


def _not_codes(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Where a row's currency is there but no currency code (``usd``, ``EURO``); None where every one is.
    Text read from a file is dictionary-encoded: each distinct value is looked at once."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        matched = pc.match_substring_regex(pc.cast(values.dictionary, pa.string()), CURRENCY_CODE).fill_null(True)
        fine = np.asarray(matched.to_numpy(zero_copy_only=False), bool)  # a null value: empty, said elsewhere
        if fine.all():
            return None
        index = values.indices.fill_null(len(fine)).to_numpy(zero_copy_only=False)
        return ~np.append(fine, True)[index]
    matched = pc.match_substring_regex(pc.cast(values, pa.string()), CURRENCY_CODE).fill_null(True)
    wrong = np.logical_not(matched.to_numpy(zero_copy_only=False))
    return wrong if wrong.any() else None


def _currency_codes(values: pa.Array, rates: Rates) -> tuple[np.ndarray, np.ndarray]:
    """Each row's currency as its index in the fx table (-1: not in it), and whether it is the plan currency
    (an empty one counts as it: such rows are rejected already). Text read from a file is dictionary-encoded:
    each distinct currency is looked up once."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    plan = pa.scalar(rates.plan_currency, pa.string())
    if isinstance(values, pa.DictionaryArray):
        dictionary = pc.cast(values.dictionary, pa.string())
        codes = np.append(rates.codes(dictionary), -1).astype(np.int32)  # the last slot: an empty value's
        is_plan = np.append(pc.equal(dictionary, plan).to_numpy(zero_copy_only=False), True)
        index = values.indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False)
        return codes[index], is_plan[index]
    same = pc.equal(pc.cast(values, pa.string()), plan)
    return rates.codes(values), np.asarray(same.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)


def _rate_days(
    plan: CheckedPlan,
    columns: dict[str, ColumnValues],
    accounting: RowAccounting,
    calendar: PlanCalendar,
    foreign: np.ndarray,
    conversion: Conversion,
) -> np.ndarray:
    """The day each row's rate is read on: its date, or its period's last day. A row in another currency with an
    empty date, or one outside the plan year, is rejected here, with the reason it would have after the filters."""
    source = plan.transactions
    date = columns[source.date]
    accounting.reject(
        foreign & ~np.asarray(date.valid, bool), "missing_value", f"the date ({source.date}) is empty", source.date
    )
    dates = np.asarray(date.values, dtype=np.int64)
    outside = foreign & ~calendar.in_year(dates)
    if outside.any():
        shown = pc.cast(pa.array(dates.astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())
        message = text.join("the date ", shown, f" is outside the plan year ({calendar.describe()})")
        accounting.reject(outside, "outside_year", message, source.date)
    if conversion is Conversion.TRANSACTION_DATE:
        return dates
    period = calendar.period_of(dates)
    return np.where(period >= 0, calendar.bounds[np.maximum(period, 0) + 1] - 1, dates)


def _missing_messages(names: pa.Array, days: np.ndarray | None, rates: Rates, conversion: Conversion):
    """Why each row has no rate: ``no EUR rate on or before 2027-03-14 in the fx table`` and the like."""
    if conversion is Conversion.FIXED or days is None:
        return text.join("no ", names, f" rate in {rates.label}")
    shown = pc.cast(pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32()), pa.string())
    when = " on or before " if conversion is Conversion.TRANSACTION_DATE else " on or before its period's end, "
    return text.join("no ", names, " rate", when, shown, f" in {rates.label}")


def _convert_money(
    plan: CheckedPlan, columns: dict[str, ColumnValues], accounting: RowAccounting, rates: Rates, rows: np.ndarray
) -> None:
    """Every money column of the rows with a rate, times the rate, snapped to units half away from zero."""
    converted = np.flatnonzero((rows >= 0) & accounting.pending())
    if converted.size == 0:
        return
    for name, spec in plan.transactions.columns.items():
        if spec.type is not Type.MONEY:
            continue
        column = columns[name]
        values = np.array(column.values, dtype=np.int64)  # a copy: the column may be a view of the file's
        present = converted[np.asarray(column.valid, bool)[converted]]
        if present.size == 0:
            continue
        too_large = np.zeros(accounting.rows, dtype=bool)
        for part in _parts(present):
            rate = rates.rate[rows[part]]
            with np.errstate(over="ignore"):  # a rate of 1e300: inf, past the limit (no warning to the user)
                over = np.abs(values[part].astype(np.float64) * rate) >= float(LIMIT) * (1 - 1e-9)
            too_large[part[over]] = True
            kept = ~over
            values[part[kept]] = scaled(values[part[kept]], rate[kept])
        if too_large.any():
            accounting.reject(too_large, "invalid_value", f"the amount of {name} converted is too large to hold", name)
        column.values = values
