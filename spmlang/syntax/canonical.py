"""The canonical text of the syntax tree's nodes, as spm fmt prints them: a literal (``$1,000``, ``12.5%``), an
expression with the parentheses its precedence needs and no others, and each one-line statement as cells that
a file's layout aligns in columns (format.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from spmlang.syntax import ast

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


# ---------------------------------------------------------------------- expressions


def literal(node: ast.Literal) -> str:
    kind, value = node.kind, node.value
    if kind == "string":
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "money" and isinstance(value, Decimal):
        symbol = node.text.lstrip("-")[0]
        sign = "-" if value < 0 else ""
        magnitude = abs(value)
        decimals = max(-int(magnitude.as_tuple().exponent), 0)
        return f"{sign}{symbol}{magnitude:,.{decimals}f}"
    if kind == "percent" and isinstance(value, Decimal):
        shown = (value * 100).normalize()
        return f"{shown:f}%"
    if kind == "multiplier" and isinstance(value, Decimal):
        return f"{value.normalize():f}x"
    if kind == "number":
        return node.text
    if kind == "bool":
        return "true" if value else "false"
    return node.text  # date, period, word, empty


def _precedence(node) -> int:
    if isinstance(node, ast.IfExpr):
        return 0
    if isinstance(node, ast.Binary):
        return _PRECEDENCE[node.op]
    if isinstance(node, ast.Unary):
        return _PRECEDENCE["not" if node.op == "not" else "neg"]
    if isinstance(node, (ast.Compare, ast.InList, ast.InRange, ast.IsEmpty)):
        return _PRECEDENCE["compare"]
    return 9


def expression(node, parent: int = 0, right: bool = False) -> str:
    text = _TEXT[type(node)](node)  # a table, not a chain of isinstance: one frame fewer per level of nesting
    own = _precedence(node)
    if own < parent or (right and own == parent and own < 9):
        return f"({text})"
    return text


def _call(node: ast.Call) -> str:
    args = []
    for arg in node.args:  # a loop, not a generator: one frame fewer per level of nesting
        args.append(expression(arg))
    return f"{node.function.text}({', '.join(args)})"


def _unary(node: ast.Unary) -> str:
    if node.op == "not":
        return f"not {expression(node.operand, _PRECEDENCE['not'])}"
    return f"-{expression(node.operand, _PRECEDENCE['neg'])}"


def _binary(node: ast.Binary) -> str:
    own = _PRECEDENCE[node.op]
    return f"{expression(node.left, own)} {node.op} {expression(node.right, own, right=True)}"


_COMPARED = _PRECEDENCE["compare"] + 1  # what a comparison's operands bind tighter than


def _compare(node: ast.Compare) -> str:
    return f"{expression(node.left, _COMPARED)} {node.op} {expression(node.right, _COMPARED)}"


def _in_list(node: ast.InList) -> str:
    values = ", ".join(literal(v) for v in node.values)
    return f"{expression(node.operand, _COMPARED)} {'not in' if node.negated else 'in'} [{values}]"


def _in_range(node: ast.InRange) -> str:
    return (
        f"{expression(node.operand, _COMPARED)} in {expression(node.low, _COMPARED)} .. "
        f"{expression(node.high, _COMPARED)}"
    )


def _is_empty(node: ast.IsEmpty) -> str:
    return f"{expression(node.operand, _COMPARED)} is {'not empty' if node.negated else 'empty'}"


def _if(node: ast.IfExpr) -> str:
    return f"if {expression(node.condition)} then {expression(node.then)} else {expression(node.otherwise)}"


def _lookup(node: ast.Lookup) -> str:
    column = f".{node.column.text}" if node.column else ""
    return f"{node.table.text}[{expression(node.key)}]{column}"


def _ref(node: ast.Ref) -> str:
    return node.name


# The text of each kind of expression node, its operands in parentheses where they bind looser than it.
_TEXT: dict[type, Callable[[Any], str]] = {
    ast.Literal: literal,
    ast.Ref: _ref,
    ast.Lookup: _lookup,
    ast.Call: _call,
    ast.Unary: _unary,
    ast.Binary: _binary,
    ast.Compare: _compare,
    ast.InList: _in_list,
    ast.InRange: _in_range,
    ast.IsEmpty: _is_empty,
    ast.IfExpr: _if,
}


def amount(node: ast.Amount) -> str:
    return expression(node.expr) + (" of target" if node.of_target else "")


def bound(node: ast.Bound) -> str:
    kind = {"number": "number", "money": "money", "percent": "percent"}[node.kind]
    return literal(ast.Literal(kind, node.text, node.value, node.span))


# ---------------------------------------------------------------------- statements


@dataclass
class TableRow:
    """A row of a table's rows block, aligned with the others."""

    values: tuple
    span: object


def cells(stmt) -> tuple[str, list[str]]:
    """A one-line statement as (alignment group, cells). Cells of one group are aligned in columns."""
    return _CELLS[type(stmt)](stmt)


def _setting(stmt: ast.Setting) -> tuple[str, list[str]]:
    words = {"year": "year starts", "attainment": "attainment against"}.get(stmt.key, stmt.key)
    values = [literal(v) if isinstance(v, ast.Literal) else v.text for v in stmt.values]
    return "setting", [words, " ".join(values)]


def _column(stmt: ast.ColumnStmt) -> tuple[str, list[str]]:
    row = ["column", stmt.name.text, stmt.type.text]
    return "column", row + ([literal(stmt.format)] if stmt.format else [])


def _payee(stmt: ast.PayeeStmt) -> tuple[str, list[str]]:
    share = f" share {expression(stmt.share)}" if stmt.share is not None else ""
    return "role", ["payee", stmt.column.text + share]


def _where(stmt: ast.WhereStmt) -> tuple[str, list[str]]:
    name = f"{stmt.name.text}: " if stmt.name else ""
    return "where", [f"where {name}{expression(stmt.expr)}"]


def _rollup(stmt: ast.RollupStmt) -> tuple[str, list[str]]:
    source = f" from {stmt.table.text}" if stmt.table else ""
    return "rollup", [f"rollup to {stmt.column.text}{source}"]


def _pay_once(stmt: ast.PayOnceStmt) -> tuple[str, list[str]]:
    by = f" by {stmt.by.text}" if stmt.by else ""
    return "pay", [f"pay {amount(stmt.amount)} once when {expression(stmt.condition)}{by}"]


def _cap(stmt: ast.CapStmt) -> tuple[str, list[str]]:
    covers = ", ".join(c.name.text + (" credit" if c.credit else "") for c in stmt.covers)
    return "cap", [f"cap {amount(stmt.amount)} per {stmt.per.text}" + (f" for {covers}" if covers else "")]


def _clawback(stmt: ast.ClawbackStmt) -> tuple[str, list[str]]:
    within = f" within {literal(stmt.within)} {stmt.unit.text}" if stmt.within is not None and stmt.unit else ""
    return "setting", ["clawback", stmt.mode.text + within]


def _tier(stmt: ast.TierRow) -> tuple[str, list[str]]:
    if stmt.rate is not None:
        value = f"rate {expression(stmt.rate)}"
    else:
        value = literal(stmt.multiplier) if stmt.multiplier is not None else ""  # a tier has one or the other
    return "tier", [bound(stmt.low), "..", bound(stmt.high) if stmt.high else "", value]


def _currency(stmt: ast.CurrencyStmt) -> tuple[str, list[str]]:
    at = " at " + " ".join(word.text for word in stmt.at) if stmt.at else ""
    return "role", ["currency", stmt.column.text + at]


def _fallback(stmt: ast.FallbackStmt) -> tuple[str, list[str]]:
    payee = literal(stmt.payee) if isinstance(stmt.payee, ast.Literal) else stmt.payee.text
    return "role", ["fallback", payee]


def _prorate(stmt: ast.ProrateStmt) -> tuple[str, list[str]]:
    rule = stmt.rule.text
    return "prorate", ["prorate none" if rule == "none" else f"prorate by {rule}"]


# Each one-line statement as its alignment group and cells.
_CELLS: dict[type, Callable[[Any], tuple[str, list[str]]]] = {
    ast.Setting: _setting,
    ast.ColumnStmt: _column,
    ast.KeyStmt: lambda stmt: ("role", ["key", stmt.column.text]),
    ast.DateStmt: lambda stmt: ("role", ["date", stmt.column.text]),
    ast.PayeeStmt: _payee,
    ast.CreditStmt: lambda stmt: ("role", ["credit", expression(stmt.expr)]),
    ast.RoleStmt: lambda stmt: ("role", [stmt.role, stmt.column.text]),
    ast.FileStmt: lambda stmt: ("file", ["file", literal(stmt.path)]),
    ast.WhereStmt: _where,
    ast.RollupStmt: _rollup,
    ast.PolicyStmt: lambda stmt: ("policy", ["on", stmt.subject.text, stmt.action.text]),
    ast.PerStmt: lambda stmt: ("per", [f"per {stmt.unit.text}"]),
    ast.CurrencyStmt: _currency,
    ast.FallbackStmt: _fallback,
    ast.ProrateStmt: _prorate,
    ast.DefaultStmt: lambda stmt: ("default", [f"default {literal(stmt.value)}"]),
    ast.ColumnsStmt: lambda stmt: ("columns", ["columns " + " ".join(n.text for n in stmt.names)]),
    ast.OnCreditStmt: lambda stmt: ("on", [f"on {stmt.role.text} credit"]),
    ast.RateStmt: lambda stmt: ("rate", [f"rate {expression(stmt.expr)}"]),
    ast.PayRowStmt: lambda stmt: ("pay", [f"pay {expression(stmt.amount)} per {stmt.unit.text}"]),
    ast.PayOnceStmt: _pay_once,
    ast.MultiplierStmt: lambda stmt: (
        "multiplier",
        [f"multiplier {expression(stmt.factor)} when {expression(stmt.condition)}"],
    ),
    ast.CapStmt: _cap,
    ast.GateStmt: lambda stmt: ("gate", [f"gate {expression(stmt.condition)}"]),
    ast.TierRow: _tier,
    ast.ClawbackStmt: _clawback,
    ast.PayoutFloorStmt: lambda stmt: ("setting", ["payout floor", expression(stmt.amount)]),
    ast.PayableStmt: lambda stmt: ("payable", [f"payable when {expression(stmt.condition)}"]),
    ast.CancelledStmt: lambda stmt: ("role", ["cancelled", stmt.column.text]),
    ast.RefundedStmt: lambda stmt: ("role", ["refunded", expression(stmt.expr)]),
    ast.DrawAmountStmt: lambda stmt: ("draw", [f"amount {expression(stmt.amount)} per {stmt.per.text}"]),
    ast.DrawKindStmt: lambda stmt: ("draw", [stmt.kind.text]),
    ast.RecoverLimitStmt: lambda stmt: ("draw", [f"recover at most {expression(stmt.share)}"]),
    ast.RecoverFromStmt: lambda stmt: ("draw", [f"recover from {literal(stmt.date)}"]),
    ast.DrawUntilStmt: lambda stmt: ("draw", [f"until {literal(stmt.date)}"]),
    ast.CurvePoint: lambda stmt: ("point", [bound(stmt.x), "->", amount(stmt.y)]),
    ast.Name: lambda stmt: ("extend", [f"extend {stmt.text}"]),  # extend above / below in a curve
    ast.StrictStmt: lambda stmt: ("strict", ["strict"]),
    ast.Expect: lambda stmt: ("expect", [expect(stmt)]),
    TableRow: lambda stmt: ("row", [literal(v) for v in stmt.values]),
}


def expect(stmt: ast.Expect) -> str:
    subject, value = stmt.subject, stmt.value
    if stmt.what == "error":
        return f"expect error {subject.text}" + (f" {literal(value)}" if value else "")
    if stmt.what in ("reject", "excluded"):
        return f"expect {stmt.what} {literal(subject)}" + (f" {stmt.reason.text}" if stmt.reason else "")
    if value is None:
        raise AssertionError("the parser gives an expected figure its value")
    parts = [f"expect {stmt.what} {literal(subject)}"]
    if stmt.period is not None:
        parts.append(f"in {literal(stmt.period)}")
    if stmt.component is not None:
        parts.append(f"for {stmt.component.text}")
    if stmt.payee is not None:
        parts.append(f"of {literal(stmt.payee)}")
    currency = f" {stmt.reason.text}" if stmt.what == "paid" and stmt.reason is not None else ""
    return " ".join(parts) + f" == {literal(value)}{currency}"
