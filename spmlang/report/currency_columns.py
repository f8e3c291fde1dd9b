"""The ledger's currency columns, in the ledger of a plan with an fx table (and in no other: a plan without
currencies writes the ledger it always did, byte for byte).

- ``currency``: a row line's transaction's currency (with ``currency COLUMN`` in the transactions block);
- ``fx_rate``: the rate its money converted at (1 in the plan currency), or an fx line's payout's;
- ``fx_date``: the day that rate holds from (empty in the plan currency, and at fixed rates);
- ``amount_paid``, ``currency_paid``: an fx line's payout in the currency its payee is paid in.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from spmlang.engine.batch import PaidLines
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels.money import cents_to_decimal64_array
from spmlang.engine.pay.lines import KIND
from spmlang.engine.read.currencies import PLAN_CURRENCY, Rates
from spmlang.ir.kinds import LineKind
from spmlang.ir.plan import CheckedPlan

FX_RATE = pa.decimal128(38, 18)
_SCALE = Decimal(1).scaleb(-18)

# (name, type as users get it, type as built); every one may be empty.
FIELDS = [
    ("currency", pa.string(), pa.dictionary(pa.int32(), pa.string())),
    ("fx_rate", FX_RATE, FX_RATE),
    ("fx_date", pa.date32(), pa.date32()),
    ("amount_paid", pa.decimal128(18, 2), pa.decimal64(18, 2)),
    ("currency_paid", pa.string(), pa.dictionary(pa.int32(), pa.string())),
]


def fields(plan: CheckedPlan, built: bool) -> list[pa.Field]:
    """The currency columns of ``plan``'s ledger (none without an fx table)."""
    if not plan.converts_currencies:
        return []
    return [pa.field(name, kind_built if built else kind) for name, kind, kind_built in FIELDS]


def currency_columns(paid: PaidLines, rates: Rates, fx_rows: np.ndarray | None, periods: int) -> dict[str, pa.Array]:
    """The currency columns of ``paid``'s lines (``fx_rows``: each input row's fx table row, if the plan converts
    its transactions)."""
    lines, rows = paid.lines, paid.rows
    n = len(lines)
    names = [*rates.currencies, rates.plan_currency]
    plan_currency = len(rates.currencies)
    # Each line's rate (an fx table row; -1: none) and currency (an index into names; -1: none).
    if fx_rows is not None and len(rows):
        on_row = np.flatnonzero(lines.row >= 0)
        fx_row = np.full(n, -1, dtype=np.int64)
        fx_row[on_row] = fx_rows[rows.txn[lines.row[on_row]]]
        currency = np.full(n, -1, dtype=np.int64)
        currency[on_row] = plan_currency
        foreign = on_row[fx_row[on_row] >= 0]
        currency[foreign] = rates.currency[fx_row[foreign]]
        in_plan_currency = on_row[fx_row[on_row] == PLAN_CURRENCY]
    else:
        fx_row = np.full(n, -1, dtype=np.int64)
        currency = fx_row.copy()
        in_plan_currency = np.zeros(0, dtype=np.int64)
    amount_paid = np.zeros(n, dtype=np.int64)
    currency_paid = np.full(n, -1, dtype=np.int64)
    fx_lines = np.flatnonzero(lines.kind == KIND[LineKind.FX])
    if paid.payments is not None and fx_lines.size:  # looked up for the fx lines alone: a few per payee
        payment = paid.payments.of_lines(lines.payee[fx_lines], lines.period[fx_lines], periods)
        at, payment = fx_lines[payment >= 0], payment[payment >= 0]
        fx_row[at] = paid.payments.fx_row[payment]
        amount_paid[at] = paid.payments.paid[payment]
        currency_paid[at] = rates.currency[fx_row[at]]
    has_rate = fx_row >= 0
    rate_values = pa.array([value.quantize(_SCALE) for value in rates.decimals] + [Decimal(1)], FX_RATE)
    days = np.zeros(n, dtype=np.int32) if rates.day is None else rates.day[np.maximum(fx_row, 0)].astype(np.int32)
    dated = has_rate & (rates.day is not None)
    # From here fx_row is each line's index into rate_values (-1: none), where the plan currency's rate of 1 is
    # the last: changed in place, not copied (an array as long as the lines).
    fx_row[in_plan_currency] = len(rates.decimals)
    return {
        "currency": text.labelled(currency, names),
        "fx_rate": rate_values.take(pa.array(np.maximum(fx_row, 0), pa.int64(), mask=fx_row < 0)),
        "fx_date": pa.array(days, pa.int32(), mask=~dated).cast(pa.date32()),
        "amount_paid": cents_to_decimal64_array(amount_paid, currency_paid >= 0),
        "currency_paid": text.labelled(currency_paid, names),
    }
