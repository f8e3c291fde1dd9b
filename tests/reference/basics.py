"""What the reference evaluator and its pay cycle share: exact amounts, a ledger line, the plan's calendar,
and a checked expression evaluated for one row. Plain Python and decimal.Decimal; nothing of the engine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from spmlang.ir import expressions as ir
from spmlang.ir.plan import CheckedPlan

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal(0)


def q6(value: Decimal) -> Decimal:
    """Half away from zero to 10^-6 (Decimal's ROUND_HALF_UP rounds halves away from zero)."""
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    payee: str
    component: str
    period: int
    kind: str
    txn: str | None
    exact: Decimal
    amount: Decimal = ZERO  # cents, after cumulative rounding
    order: tuple = field(default=())  # (period, phase, date, key, place among the stream's rows, ...)
    unpaid: bool = False  # a row the component could not evaluate (a lookup key not in its table)
    role: str = "direct"  # of the credit the line is paid on: direct, or rollup (a manager's team's)
    rid: int | None = None  # the credit row a row line is on
    at_rate: Decimal | None = None  # a retroactive tier's row line: its credit at the rate reached (clawback at_rate)
    for_period: int | None = None  # the closed period an adjustment, release or hold corrects
    balance: Decimal | None = None  # owed after a draw or floor line
    paid: Decimal | None = None  # an fx line's payout, in the currency its payee is paid in
    # A component's line on a credit row (its earning, a recalculated clawback on a twin, a clawback of money on
    # the cancelled row): the measure before and after the row, on the stream that component is priced on.
    measure: tuple[Decimal, Decimal] | None = None


# ---------------------------------------------------------------------- the calendar


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1)


def period_of(plan: CheckedPlan, day: dt.date) -> int | None:
    start, count = plan.settings.year_start, plan.settings.periods
    step = 12 // count
    for p in range(count):
        if add_months(start, p * step) <= day < add_months(start, (p + 1) * step):
            return p
    return None


def period_end(plan: CheckedPlan, p: int) -> dt.date:
    step = 12 // plan.settings.periods
    return add_months(plan.settings.year_start, (p + 1) * step) - dt.timedelta(days=1)


# ---------------------------------------------------------------------- expressions, one row at a time


class LookupMiss(Exception):
    """A key not in its lookup table: the row cannot be evaluated."""


def evaluate(node, row: dict, builtins: dict | None = None, tables: dict | None = None):
    """The value of a checked expression for one row (None when unknown). ``tables``: name -> {key: {column:
    value}} for lookups; a key not there raises :class:`LookupMiss`."""
    builtins = builtins or {}
    if isinstance(node, ir.TableLookup):
        key = evaluate(node.key, row, builtins, tables)
        if key is None:
            return None
        found = (tables or {})[node.table].get(key)
        if found is None:
            raise LookupMiss(key)
        return found[node.column]
    if isinstance(node, ir.Const):
        return node.value
    if isinstance(node, ir.Column):
        return row.get(node.name)
    if isinstance(node, ir.Builtin):
        return builtins[node.name]
    if isinstance(node, ir.Arith):
        a, b = evaluate(node.left, row, builtins, tables), evaluate(node.right, row, builtins, tables)
        if a is None or b is None:
            return None
        result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[node.op]()
        if node.type is ir.Type.MONEY:
            return q6(result)
        # A rate computed by a division (target / quota) is held to 15 significant digits (docs/calculation.md).
        return Decimal(f"{result:.15g}") if node.op == "/" else result
    if isinstance(node, ir.Negate):
        value = evaluate(node.operand, row, builtins, tables)
        return None if value is None else -value
    if isinstance(node, ir.Comparison):
        a, b = evaluate(node.left, row, builtins, tables), evaluate(node.right, row, builtins, tables)
        if a is None or b is None:
            return None
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]
    if isinstance(node, ir.Logical):
        a, b = evaluate(node.left, row, builtins, tables), evaluate(node.right, row, builtins, tables)
        if node.op == "and":
            return False if a is False or b is False else (None if a is None or b is None else True)
        return True if a is True or b is True else (None if a is None or b is None else False)
    if isinstance(node, ir.Not):
        value = evaluate(node.operand, row, builtins, tables)
        return None if value is None else not value
    if isinstance(node, ir.Member):
        value = evaluate(node.operand, row, builtins, tables)
        if value is None:
            return None
        found = value in [c.value for c in node.values]
        return not found if node.negated else found
    if isinstance(node, ir.Missing):
        empty = evaluate(node.operand, row, builtins, tables) in (None, "")
        return not empty if node.negated else empty
    if isinstance(node, ir.Between):
        value = evaluate(node.operand, row, builtins, tables)
        low, high = evaluate(node.low, row, builtins, tables), evaluate(node.high, row, builtins, tables)
        return None if value is None else low <= value <= high
    # An expression the random plans never make: a test of one must teach the reference to read it first.
    raise TypeError(f"the reference evaluator does not read {type(node).__name__}")
