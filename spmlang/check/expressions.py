"""Checking expressions: resolve names, infer types, explain mistakes.

An expression is checked in a :class:`Scope` that says what it may see:
transaction columns and lookup tables for a filter or a credit; the credit row
(``credit``, ``share``, ``payee``) in a component; period-end measures
(``attainment``, ``quota`` ...) in a gate or a bonus condition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from spmlang.check.types import (
    FUNCTIONS,
    arith_hint,
    arithmetic_type,
    common_type,
    comparable,
    function_type,
    hint_for_expected,
    literal_to_const,
)
from spmlang.check.units import comparison_mismatch
from spmlang.diagnostics import Diagnostic, did_you_mean
from spmlang.ir import expressions as ir
from spmlang.ir import text_growth as texts
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.plan import ColumnSpec, TableSpec
from spmlang.syntax import ast
from spmlang.syntax.parser import MAX_EXPRESSION_DEPTH


@dataclass
class Scope:
    """What an expression may refer to, and how to name where it is."""

    where: str  # "a filter", "a gate" ... for messages
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    builtins: dict[str, Type] = field(default_factory=dict)
    columns_allowed: bool = True


class ExpressionChecker:
    def __init__(self, diagnostics: list[Diagnostic], broken_columns: set[str]):
        self.diagnostics = diagnostics
        self._broken_columns = broken_columns  # columns whose declaration was already reported as wrong

    def error(self, code: str, message: str, span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint))

    # ------------------------------------------------------------ entry points
    def check(
        self, node: ast.Expr, scope: Scope, expect: tuple[Type, ...] | None = None, what: str = "this expression"
    ) -> ir.IR | None:
        result = self._check(node, scope, 0)
        if result is not None and expect is not None and result.type not in expect:
            if expect == (Type.BOOL,):
                self.error(
                    "E302",
                    f"{what} must be a condition (true or false), but it is {result.type}",
                    node.span,
                    hint_for_expected(expect, result.type),
                )
                return None
            names = " or ".join(str(t) for t in expect)
            self.error(
                "E301",
                f"{what} must be {names}, but it is {result.type}",
                node.span,
                hint_for_expected(expect, result.type),
            )
            return None
        return result

    # ------------------------------------------------------------ dispatch
    def _check(self, node: ast.Expr, scope: Scope, depth: int) -> ir.IR | None:
        if depth > MAX_EXPRESSION_DEPTH:
            # The parser refuses such expressions first (spmlang.syntax.parser); this guards the recursion below.
            self.error(
                "E309",
                f"expression nested more than {MAX_EXPRESSION_DEPTH} levels deep",
                node.span,
                "split it into simpler parts",
            )
            return None
        check = _CHECKS.get(type(node))
        if check is None:
            raise AssertionError(f"unknown expression node {type(node).__name__}")
        checked = check(self, node, scope, depth + 1)
        if isinstance(checked, (ir.Arith, ir.Negate)) and checked.type is Type.MONEY:
            # An amount of literals alone (`$1 * 5000000000000`): its value is known now, and past the limit
            # the engine could never compute it (nor a sum it is part of), so it is refused here, not on every row.
            value = constant_value(checked)
            if value is not None and too_large(value):
                self.error("E312", f"this amount is {value:,}: too large to hold", node.span, too_large_hint())
                return None
        return checked

    def _literal(self, node: ast.Literal, scope: Scope, depth: int) -> ir.IR | None:
        const = literal_to_const(node)
        amount = const.type in (Type.MONEY, Type.PERCENT) or node.kind == "multiplier"
        if isinstance(const.value, Decimal) and (
            (amount and too_large(const.value)) or (const.type is Type.INTEGER and abs(const.value) >= 2**63)
        ):  # an amount past the money limit; a whole number past 64 bits (a count compared may be large)
            self.error("E312", f"{node.text} is too large to hold", node.span, too_large_hint())
            return None
        return const

    # ------------------------------------------------------------ names
    def _ref(self, node: ast.Ref, scope: Scope, depth: int) -> ir.IR | None:
        if node.name in scope.builtins:
            return ir.Builtin(node.name, scope.builtins[node.name], node.span)
        if node.name in scope.columns and scope.columns_allowed:
            column = scope.columns[node.name]
            return ir.Column(column.name, column.type, node.span)
        if node.name in scope.columns and not scope.columns_allowed:
            allowed = ", ".join(sorted(scope.builtins))
            self.error(
                "E204",
                f"{scope.where} is decided at the end of a period and cannot use the column '{node.name}'",
                node.span,
                f"it can use: {allowed}",
            )
            return None
        if node.name in ("true", "false"):
            return ir.Const(node.name == "true", Type.BOOL, node.span)
        if node.name in self._broken_columns:
            return None
        candidates = list(scope.builtins) + (list(scope.columns) if scope.columns_allowed else [])
        hint = did_you_mean(node.name, candidates)
        if hint is None and scope.columns_allowed:
            hint = (
                f'to compare with the text {node.name}, write "{node.name}"; '
                f"to use a column, declare it: `column {node.name} TYPE` in the transactions block"
            )
        if node.name in _ELSEWHERE and node.name not in scope.builtins:
            hint = _ELSEWHERE[node.name]
        self.error("E201", f"unknown name '{node.name}' in {scope.where}", node.span, hint)
        return None

    def _lookup(self, node: ast.Lookup, scope: Scope, depth: int) -> ir.IR | None:
        table = scope.tables.get(node.table.text)
        if table is None:
            hint = did_you_mean(node.table.text, scope.tables) or "declare it with `table NAME { ... }`"
            if node.table.text == "roster":  # declared, maybe, but with dates or plans: several rows a payee
                hint = "a roster is looked up by payee where it has one row a payee: not with dates or plans"
            self.error("E202", f"unknown table '{node.table.text}'", node.table.span, hint)
            return None
        key = self._check(node.key, scope, depth)
        if key is None:
            return None
        key_column = table.columns.get(table.key)
        if key_column is not None and not comparable(key.type, key_column.type):
            self.error(
                "E301",
                f"table '{table.name}' is keyed by {key_column.type}, but the key given is {key.type}",
                node.key.span,
            )
            return None
        column_name = node.column.text if node.column else table.value
        if column_name is None:
            others = [c for c in table.columns if c != table.key]
            self.error(
                "E203",
                f"table '{table.name}' has several columns: say which one",
                node.span,
                f"write {table.name}[...].{others[0] if others else 'column'}, or add `value COLUMN` to the table",
            )
            return None
        column = table.columns.get(column_name)
        if column is None:
            span = node.column.span if node.column else node.span
            self.error(
                "E201",
                f"table '{table.name}' has no column '{column_name}'",
                span,
                did_you_mean(column_name, table.columns),
            )
            return None
        return ir.TableLookup(table.name, key, column.name, column.type, node.span)

    def _call(self, node: ast.Call, scope: Scope, depth: int) -> ir.IR | None:
        name = node.function.text
        if name not in FUNCTIONS:
            hint = did_you_mean(name, FUNCTIONS) or "functions: " + ", ".join(sorted(FUNCTIONS))
            self.error("E205", f"unknown function '{name}'", node.function.span, hint)
            return None
        args: list[ir.IR] = []
        ok = True
        for arg in node.args:  # a loop, not a comprehension: one frame fewer per level of nesting
            checked = self._check(arg, scope, depth)
            ok = ok and checked is not None
            if checked is not None:
                args.append(checked)
        if not ok:
            return None
        types = [a.type for a in args]
        if name == "replace" and len(args) == 3 and not all(isinstance(a, ir.Const) for a in args[1:]):
            self.error(
                "E303",
                "replace(): what to find and what to put instead must be fixed texts",
                node.span,
                'e.g. replace(product, "GTXPro", "GTX Pro")',
            )
            return None
        result = function_type(name, types)
        if not isinstance(result, Type):
            self.error("E303", f"{name}(): {result}", node.span, f"{name} takes {FUNCTIONS[name]}")
            return None
        function = ir.Function(name, tuple(args), result, node.span)
        refused = texts.problem(function)
        if refused is not None:
            code, message = refused
            if code == "E303":  # an empty text to find
                self.error(
                    code,
                    message,
                    node.args[1].span,
                    "an empty text is found between every two characters: "
                    'say what to replace, e.g. replace(product, "GTXPro", "GTX Pro")',
                )
            else:
                self.error(
                    code,
                    message,
                    node.span,
                    "growths multiply when nested: a replace() by the length of "
                    "what it puts over what it finds, upper() and lower() by 3; find longer texts, or map "
                    "whole values with a lookup table",
                )
            return None
        return function

    def _missing(self, node: ast.IsEmpty, scope: Scope, depth: int) -> ir.IR | None:
        operand = self._check(node.operand, scope, depth)
        return None if operand is None else ir.Missing(operand, node.negated, node.span)

    # ------------------------------------------------------------ operators
    def _unary(self, node: ast.Unary, scope: Scope, depth: int) -> ir.IR | None:
        operand = self._check(node.operand, scope, depth)
        if operand is None:
            return None
        if node.op == "not":
            if operand.type is not Type.BOOL:
                self.error("E302", f"'not' needs a condition, but this is {operand.type}", node.operand.span)
                return None
            return ir.Not(operand, node.span)
        if not operand.type.is_quantity:
            self.error("E301", f"cannot negate {operand.type}", node.span)
            return None
        return ir.Negate(operand, operand.type, node.span)

    def _binary(self, node: ast.Binary, scope: Scope, depth: int) -> ir.IR | None:
        left = self._check(node.left, scope, depth)
        right = self._check(node.right, scope, depth)
        if left is None or right is None:
            return None
        if node.op in ("and", "or"):
            for side, operand in ((node.left, left), (node.right, right)):
                if operand.type is not Type.BOOL:
                    self.error("E302", f"'{node.op}' joins conditions, but this is {operand.type}", side.span)
                    return None
            return ir.Logical(node.op, left, right, node.span)
        result = arithmetic_type(node.op, left.type, right.type)
        if not isinstance(result, Type):
            self.error("E301", result, node.span, arith_hint(node.op, left.type, right.type))
            return None
        return ir.Arith(node.op, left, right, result, node.span)

    def _compare(self, node: ast.Compare, scope: Scope, depth: int) -> ir.IR | None:
        left = self._check(node.left, scope, depth)
        right = self._check(node.right, scope, depth)
        if left is None or right is None:
            return None
        if not comparable(left.type, right.type):
            hint = None
            if Type.TEXT in (left.type, right.type):
                hint = 'text is compared with text in quotes, e.g. stage == "won"'
            self.error("E301", f"cannot compare {left.type} with {right.type}", node.span, hint)
            return None
        if node.op not in ("==", "!=") and left.type in (Type.TEXT, Type.BOOL):
            self.error("E301", f"'{node.op}' does not apply to {left.type}; use == or !=", node.span)
            return None
        mismatch = comparison_mismatch(left, right, node.span)
        if mismatch is not None:
            self.error("E301", *mismatch)
            return None
        return ir.Comparison(node.op, left, right, node.span)

    def _in_list(self, node: ast.InList, scope: Scope, depth: int) -> ir.IR | None:
        operand = self._check(node.operand, scope, depth)
        if operand is None:
            return None
        values = []
        for literal in node.values:
            const = literal_to_const(literal)
            if not comparable(operand.type, const.type):
                self.error(
                    "E301",
                    f"list value {literal.text} is {const.type}, but the value tested is {operand.type}",
                    literal.span,
                    'write text in quotes: ["a", "b"]' if operand.type is Type.TEXT else None,
                )
                return None
            values.append(const)
        return ir.Member(operand, tuple(values), node.negated, node.span)

    def _in_range(self, node: ast.InRange, scope: Scope, depth: int) -> ir.IR | None:
        operand = self._check(node.operand, scope, depth)
        low = self._check(node.low, scope, depth)
        high = self._check(node.high, scope, depth)
        if operand is None or low is None or high is None:
            return None
        for bound in (low, high):
            if not comparable(operand.type, bound.type) or operand.type in (Type.TEXT, Type.BOOL):
                self.error("E301", f"a range of {bound.type} cannot hold {operand.type}", bound.span)
                return None
        if isinstance(low, ir.Const) and isinstance(high, ir.Const) and _after(low.value, high.value):
            self.error(
                "E304",
                "the range is empty: its start is after its end",
                node.span,
                "write the earlier value first: LOW .. HIGH",
            )
            return None
        return ir.Between(operand, low, high, node.span)

    def _if(self, node: ast.IfExpr, scope: Scope, depth: int) -> ir.IR | None:
        condition = self._check(node.condition, scope, depth)
        then = self._check(node.then, scope, depth)
        otherwise = self._check(node.otherwise, scope, depth)
        if condition is None or then is None or otherwise is None:
            return None
        if condition.type is not Type.BOOL:
            self.error("E302", f"'if' needs a condition, but this is {condition.type}", node.condition.span)
            return None
        result = common_type(then.type, otherwise.type)
        if result is None:
            self.error(
                "E301", f"the two branches differ: {then.type} after 'then', {otherwise.type} after 'else'", node.span
            )
            return None
        return ir.Choose(condition, then, otherwise, result, node.span)


# How each kind of expression node is checked: (checker, node, scope, depth) -> the node's IR, or None after an
# error. A table, not a chain of isinstance: one frame per level of nesting all the same.
_CHECKS: dict[type, Callable[[ExpressionChecker, Any, Scope, int], ir.IR | None]] = {
    ast.Literal: ExpressionChecker._literal,
    ast.Ref: ExpressionChecker._ref,
    ast.Lookup: ExpressionChecker._lookup,
    ast.Call: ExpressionChecker._call,
    ast.Unary: ExpressionChecker._unary,
    ast.Binary: ExpressionChecker._binary,
    ast.Compare: ExpressionChecker._compare,
    ast.InList: ExpressionChecker._in_list,
    ast.InRange: ExpressionChecker._in_range,
    ast.IsEmpty: ExpressionChecker._missing,
    ast.IfExpr: ExpressionChecker._if,
}


def _after(a: object, b: object) -> bool:
    """Whether constant ``a`` comes after ``b`` (numbers with numbers, dates with dates)."""
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a > b
    if isinstance(a, dt.date) and isinstance(b, dt.date):
        return a > b
    return False


# Where the values spm provides can be used, for a scope that has not got them: each hint names a use that works.
_ELSEWHERE = {
    "attainment": "'attainment' is known only at the end of a period: use it in a gate or a bonus condition, or "
    "pay on it: `tiers marginal on attainment { ... }`, `curve on attainment { ... }`",
    "count": "'count' (the rows so far) is known only at the end of a period: use it in a gate or a bonus condition",
    "quota": "the payee's quota is known in a component's where, rate, pay and multiplier (the annual quota: "
    "`rate target / quota`) and in gates and bonus conditions",
    "target": "the payee's target incentive is known in a component's where, rate, pay and multiplier (the annual "
    "target: `rate target / quota`) and in gates and bonus conditions",
}
