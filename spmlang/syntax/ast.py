"""The syntax tree of a plan file.

Plain frozen dataclasses; every node carries the :class:`Span` it was parsed
from, so that the checker, the engine and the ledger can cite ``plan.spm:14``.
The tree says what was written, not what it means: names are unresolved and
enumerated words (``quarterly``, ``money``) are kept as :class:`Name`.

One module on purpose, though long: a small class per construct of the grammar and nothing else, read by
every stage as ``ast.Name``, ``ast.TierRow`` ...; split, a reader would look for a node in several files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from spmlang.diagnostics import Span


class Node(Protocol):
    """A node of the tree, of whichever kind: it knows where it was written."""

    @property
    def span(self) -> Span: ...


@dataclass(frozen=True, slots=True)
class Name:
    text: str
    span: Span


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal value. ``kind`` is one of: string, number, money, percent, date,
    period, multiplier, bool, word (a bare word in a table row), empty (no value, in a row)."""

    kind: str
    text: str
    value: str | Decimal | dt.date | bool | None  # by kind; None: empty
    span: Span


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Lookup:
    table: Name
    key: Expr
    column: Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    function: Name
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # + - * / and or
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class InList:
    operand: Expr
    values: tuple[Literal, ...]
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class InRange:
    operand: Expr
    low: Expr
    high: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class IsEmpty:
    operand: Expr
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class IfExpr:
    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span


Expr = Literal | Ref | Lookup | Call | Unary | Binary | Compare | InList | InRange | IsEmpty | IfExpr


# ------------------------------------------------------------------ statements


@dataclass(frozen=True, slots=True)
class Setting:
    """A plan header line: ``payout quarterly``, ``year starts 2027-02-01`` ..."""

    key: str
    values: tuple[Name | Literal, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FileStmt:
    path: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class ColumnStmt:
    name: Name
    type: Name
    format: Literal | None
    span: Span


@dataclass(frozen=True, slots=True)
class KeyStmt:
    column: Name
    span: Span


@dataclass(frozen=True, slots=True)
class DateStmt:
    column: Name
    span: Span


@dataclass(frozen=True, slots=True)
class PayeeStmt:
    column: Name
    share: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class CreditStmt:
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class WhereStmt:
    name: Name | None
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class RollupStmt:
    column: Name
    table: Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class PolicyStmt:
    subject: Name
    action: Name
    span: Span


@dataclass(frozen=True, slots=True)
class CurrencyStmt:
    """``currency COLUMN [at period end | at fixed rate | at transaction date]`` in the transactions block."""

    column: Name
    at: tuple[Name, ...]  # the words after `at` (none: at the transaction's date)
    span: Span


@dataclass(frozen=True, slots=True)
class FallbackStmt:
    """``fallback PAYEE``: who is credited with a transaction dated outside its payee's employment."""

    payee: Name | Literal
    span: Span


@dataclass(frozen=True, slots=True)
class ProrateStmt:
    """``prorate by days|months``, ``prorate none`` in a roster block."""

    rule: Name
    span: Span


@dataclass(frozen=True, slots=True)
class RoleStmt:
    role: str  # payee, period, amount, manager, value; start, end, plan, currency, eligibility; date, rate
    column: Name
    span: Span


@dataclass(frozen=True, slots=True)
class PerStmt:
    unit: Name
    span: Span


@dataclass(frozen=True, slots=True)
class DefaultStmt:
    value: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class RowsBlock:
    rows: tuple[tuple[Literal, ...], ...]
    row_spans: tuple[Span, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class OnCreditStmt:
    role: Name
    span: Span


@dataclass(frozen=True, slots=True)
class RateStmt:
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Amount:
    """A money expression, or a percentage ``of target`` incentive."""

    expr: Expr
    of_target: bool
    span: Span


@dataclass(frozen=True, slots=True)
class PayRowStmt:
    amount: Expr
    unit: Name
    span: Span


@dataclass(frozen=True, slots=True)
class PayOnceStmt:
    amount: Amount
    condition: Expr
    by: Literal | None
    span: Span


@dataclass(frozen=True, slots=True)
class Bound:
    value: Decimal
    kind: str  # number, money, percent
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class TierRow:
    low: Bound
    high: Bound | None
    rate: Expr | None  # "rate 8%"
    multiplier: Literal | None  # "1.5x"
    span: Span


@dataclass(frozen=True, slots=True)
class TiersBlock:
    mode: Name  # marginal | retroactive
    basis: tuple[Name, ...]  # attainment | credit | row credit
    rows: tuple[TierRow, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class AcceleratorBlock:
    basis: tuple[Name, ...]
    rows: tuple[TierRow, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class CurvePoint:
    x: Bound
    y: Amount
    span: Span


@dataclass(frozen=True, slots=True)
class CurveBlock:
    basis: tuple[Name, ...]
    points: tuple[CurvePoint, ...]
    extends: tuple[Name, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class MultiplierStmt:
    factor: Expr
    condition: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CapCover:
    """One thing a plan cap covers: a component (``commission``) or a role's credit (``rollup credit``)."""

    name: Name
    credit: bool  # written `NAME credit`: a role
    span: Span


@dataclass(frozen=True, slots=True)
class CapStmt:
    amount: Amount
    per: Name
    span: Span
    covers: tuple[CapCover, ...] = ()  # `for commission, new_logo`; none: every line


@dataclass(frozen=True, slots=True)
class GateStmt:
    condition: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class ClawbackStmt:
    """``clawback as_paid|at_rate|recalculate [within 90 days]``, in the plan block or a component."""

    mode: Name
    within: Literal | None  # a number
    unit: Name | None  # days
    span: Span


@dataclass(frozen=True, slots=True)
class PayoutFloorStmt:
    """``payout floor $0``: a period's pay never goes below it; what it tops up is recovered later."""

    amount: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class PayableStmt:
    """``payable when CONDITION``: a row's lines are held until the condition holds for it."""

    condition: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CancelledStmt:
    """``cancelled COLUMN``: the date a transaction was cancelled or refunded (empty: it was not)."""

    column: Name
    span: Span


@dataclass(frozen=True, slots=True)
class RefundedStmt:
    """``refunded EXPR``: how much of a cancelled transaction's credit was refunded (empty: all of it)."""

    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class DrawAmountStmt:
    amount: Expr
    per: Name
    span: Span


@dataclass(frozen=True, slots=True)
class DrawKindStmt:
    kind: Name  # recoverable | non_recoverable
    span: Span


@dataclass(frozen=True, slots=True)
class RecoverLimitStmt:
    share: Expr  # at most this share of a period's pay above the draw
    span: Span


@dataclass(frozen=True, slots=True)
class RecoverFromStmt:
    date: Literal
    span: Span


@dataclass(frozen=True, slots=True)
class DrawUntilStmt:
    date: Literal
    span: Span


# ------------------------------------------------------------------ blocks


@dataclass(frozen=True, slots=True)
class PlanBlock:
    name: Literal
    settings: tuple[Setting | ClawbackStmt | PayoutFloorStmt, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class DrawBlock:
    statements: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class TransactionsBlock:
    statements: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class TableBlock:
    kind: Name  # quotas | targets | roster | table | fx
    name: Name | None
    statements: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FromBlock:
    """``from 2027-07-01 { ... }``: a component's version from that date on (its earning rule, multipliers)."""

    date: Literal
    statements: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class ComponentBlock:
    kind: Name  # component | spif | bonus
    name: Name
    statements: tuple[Node, ...]
    span: Span


# ------------------------------------------------------------------ tests


@dataclass(frozen=True, slots=True)
class ColumnsStmt:
    """The columns of a test table's rows, in order: ``columns id rep day amount``."""

    names: tuple[Name, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class TestData:
    """A test's transactions: ``transactions { columns ...  rows { ... } }``."""

    statements: tuple[Node, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class StrictStmt:
    span: Span


@dataclass(frozen=True, slots=True)
class Expect:
    """``expect payout|attainment|line SUBJECT [in PERIOD] [for COMPONENT] [of PAYEE] == VALUE``,
    ``expect paid PAYEE [in PERIOD] == VALUE [CURRENCY]``, ``expect reject TXN REASON``,
    ``expect error CODE ["message"]``."""

    what: str  # payout | attainment | line | paid | reject | excluded | error
    subject: Literal  # the payee, the transaction, or the error's code
    period: Literal | None
    component: Name | None
    payee: Literal | None
    op: str | None
    value: Literal | None
    reason: Name | None  # of reject and excluded; of paid, the currency
    span: Span


@dataclass(frozen=True, slots=True)
class TestBlock:
    name: Literal
    statements: tuple[Node, ...]
    span: Span


Item = PlanBlock | TransactionsBlock | TableBlock | ComponentBlock | CapStmt | DrawBlock | TestBlock


@dataclass(frozen=True, slots=True)
class PlanFile:
    path: str
    source: str
    items: tuple[Item, ...]
