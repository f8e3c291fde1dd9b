"""Vectorized evaluation of checked expressions over whole columns.

There is no Python loop over rows: each node of the expression is one numpy or Arrow compute call over the
column (see values.py for what a value is). Arithmetic is in arithmetic.py, the functions in functions.py;
here are the leaves, comparisons, logic, choices and lookups, and the walk over an expression.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import Diagnostic, PlanError
from spmlang.engine.expressions.arithmetic import arithmetic, negate
from spmlang.engine.expressions.functions import call
from spmlang.engine.expressions.values import (
    Frame,
    Issue,
    Vec,
    and_valid,
    as_float,
    const_value,
    decoded_operand,
    decoded_text,
    known_everywhere,
    materialize,
    on_text,
    text_operand,
)
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import decimal_to_units
from spmlang.ir import expressions as ir
from spmlang.ir import text_growth as texts
from spmlang.ir.expressions import Type


def evaluate(node: ir.IR, frame: Frame) -> Vec:
    handler = _HANDLERS[type(node)]
    return handler(node, frame)


def evaluate_rows(node: ir.IR, frame: Frame) -> Vec:
    """``node`` for each row of ``frame``. An expression of its source's columns alone (no builtin: not a
    credit row's credit, share or payee) is evaluated once per source row, where the columns lie, and its
    result gathered: no column is gathered into every row first, and a transaction split between payees is
    evaluated once. What the source could not evaluate is left on ``frame`` as issues of its rows, in the order
    the expression met them."""
    source, index = frame.source, frame.source_rows
    if source is None or index is None or ir.builtins_used(node):
        return evaluate(node, frame)
    vec = evaluate(node, source)
    for issue in source.issues:
        mask = issue.mask[index]
        if mask.any():
            message = issue.message if isinstance(issue.message, str) else issue.message.take(index)
            frame.issues.append(Issue(mask, issue.subject, message, issue.column))
    source.issues.clear()
    valid = vec.valid
    if known_everywhere(valid) or np.all(valid):  # as columns without empty values are: nothing to gather
        valid = True
    return Vec(_gathered(vec.values, index), _gathered(valid, index), vec.type)


def _gathered(values, index: np.ndarray):
    """A value per row of a source's value (a constant stays one)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(index)
    if np.ndim(values) == 0:
        return values
    return grouping.gather(np.asarray(values), index)


# ---------------------------------------------------------------------- leaves


def _const(node: ir.Const, frame: Frame) -> Vec:
    return Vec(const_value(node.value, node.type), True, node.type)


def _column(node: ir.Column, frame: Frame) -> Vec:
    return frame.column(node.name)


def _builtin(node: ir.Builtin, frame: Frame) -> Vec:
    return frame.builtin(node.name)


def _arith(node: ir.Arith, frame: Frame) -> Vec:
    return arithmetic(node, evaluate(node.left, frame), evaluate(node.right, frame), frame)


def _negate(node: ir.Negate, frame: Frame) -> Vec:
    return negate(evaluate(node.operand, frame))


# ---------------------------------------------------------------------- comparisons


def _compare_values(op: str, left: Vec, right: Vec) -> object:
    if left.type is Type.TEXT or right.type is Type.TEXT:
        function = {"==": pc.equal, "!=": pc.not_equal}[op]
        a, b = text_operand(left.values), text_operand(right.values)
        if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
            return bool(function(a, b).as_py())
        if isinstance(b, pa.Scalar):
            result = on_text(a, lambda d: function(d, b))
        elif isinstance(a, pa.Scalar):
            result = on_text(b, lambda d: function(a, d))
        else:
            result = function(decoded_text(a), decoded_text(b))
        return result.fill_null(False).to_numpy(zero_copy_only=False)
    if left.type is Type.MONEY and right.type is Type.MONEY or left.type == right.type:
        a, b = left.values, right.values
    else:  # money against a plain number, or number kinds mixed: compare as floats
        a, b = as_float(left), as_float(right)
    a, b = np.asarray(a), np.asarray(b)
    return {
        "==": np.equal,
        "!=": np.not_equal,
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
    }[op](a, b)


def _comparison(node: ir.Comparison, frame: Frame) -> Vec:
    left, right = evaluate(node.left, frame), evaluate(node.right, frame)
    return Vec(_compare_values(node.op, left, right), and_valid(left.valid, right.valid), Type.BOOL)


def _logical(node: ir.Logical, frame: Frame) -> Vec:
    left, right = evaluate(node.left, frame), evaluate(node.right, frame)
    a, b = np.asarray(left.values, bool), np.asarray(right.values, bool)
    if known_everywhere(left.valid) and known_everywhere(right.valid):  # no unknowns: two-valued logic
        return Vec(a & b if node.op == "and" else a | b, True, Type.BOOL)
    va, vb = np.asarray(left.valid, bool), np.asarray(right.valid, bool)
    a_true, a_false = a & va, ~a & va
    b_true, b_false = b & vb, ~b & vb
    if node.op == "and":  # Kleene logic: false and unknown is false
        return Vec(a_true & b_true, (a_true & b_true) | a_false | b_false, Type.BOOL)
    return Vec(a_true | b_true, a_true | b_true | (a_false & b_false), Type.BOOL)


def _not(node: ir.Not, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    return Vec(~np.asarray(operand.values, bool), operand.valid, Type.BOOL)


def _member(node: ir.Member, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    values: np.ndarray | bool
    if operand.type is Type.TEXT:
        value_set = pa.array([str(c.value) for c in node.values], type=pa.string())
        operand_values = text_operand(operand.values)
        if isinstance(operand_values, pa.Scalar):
            values = bool(pc.is_in(operand_values, value_set=value_set).as_py())
        else:
            result = on_text(operand_values, lambda d: pc.is_in(d, value_set=value_set))
            values = result.fill_null(False).to_numpy(zero_copy_only=False)
    else:
        if operand.type is Type.MONEY:
            units = [decimal_to_units(_decimal(c.value)) for c in node.values]
            values = np.isin(operand.values, np.array(units, dtype=np.int64))
        else:
            wanted = [const_value(c.value, c.type) for c in node.values]
            values = np.isin(
                as_float(operand) if operand.type.is_numeric else operand.values,
                np.array(wanted, dtype=np.float64 if operand.type.is_numeric else None),
            )
    if node.negated:
        values = ~np.asarray(values, bool)
    return Vec(values, operand.valid, Type.BOOL)


def _decimal(value: object) -> Decimal:
    """A money constant's value (the checker's constants of money are Decimals)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"a money constant is a Decimal, not {value!r}")
    return value


def _between(node: ir.Between, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    low, high = evaluate(node.low, frame), evaluate(node.high, frame)
    inside = np.asarray(_compare_values(">=", operand, low)) & np.asarray(_compare_values("<=", operand, high))
    valid = and_valid(and_valid(operand.valid, low.valid), high.valid)
    return Vec(inside, valid, Type.BOOL)


def _missing(node: ir.Missing, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    valid = np.asarray(operand.valid, bool)
    if operand.type is Type.TEXT and isinstance(operand.values, (pa.Array, pa.ChunkedArray)):
        nothing = pa.scalar("", pa.string())
        blank = on_text(operand.values, lambda d: pc.equal(pc.utf8_trim_whitespace(d), nothing)).fill_null(False)
        valid = valid & ~blank.to_numpy(zero_copy_only=False)
    missing = ~valid
    return Vec(~missing if node.negated else missing, True, Type.BOOL)


def _choose(node: ir.Choose, frame: Frame) -> Vec:
    condition = materialize(evaluate(node.condition, frame), frame.n)
    picked = np.asarray(condition.values, bool) & condition.valid
    then, otherwise = evaluate(node.then, frame), evaluate(node.otherwise, frame)
    valid = condition.valid & np.where(picked, then.valid, otherwise.valid)
    if node.type is Type.TEXT:
        values = pc.if_else(pa.array(picked), decoded_operand(then.values), decoded_operand(otherwise.values))
        return Vec(values, valid, node.type)
    if then.type != otherwise.type:
        return Vec(np.where(picked, as_float(then), as_float(otherwise)), valid, node.type)
    return Vec(np.where(picked, then.values, otherwise.values), valid, node.type)


def _lookup(node: ir.TableLookup, frame: Frame) -> Vec:
    key = evaluate(node.key, frame)
    misses = len(frame.issues)
    result = frame.tables[node.table].lookup(materialize(key, frame.n), node.column, frame)
    if len(frame.issues) > misses and isinstance(node.key, ir.Column):
        frame.issues[-1].column = node.key.name  # name the column whose value was not found
    return result


def _function(node: ir.Function, frame: Frame) -> Vec:
    refused = texts.problem(node)
    if refused is not None:  # the checker refuses these; never allocate for one that got past it
        raise PlanError([Diagnostic(refused[0], refused[1], node.span)])
    args = []
    for arg in node.args:  # a loop, not a comprehension: one frame fewer per level of nesting
        args.append(evaluate(arg, frame))
    return call(node, args, frame)


# How each kind of node is evaluated (the node, of that kind, and the frame).
_HANDLERS: dict[type, Callable[[Any, Frame], Vec]] = {
    ir.Const: _const,
    ir.Column: _column,
    ir.Builtin: _builtin,
    ir.Arith: _arith,
    ir.Negate: _negate,
    ir.Comparison: _comparison,
    ir.Logical: _logical,
    ir.Not: _not,
    ir.Member: _member,
    ir.Between: _between,
    ir.Missing: _missing,
    ir.Choose: _choose,
    ir.TableLookup: _lookup,
    ir.Function: _function,
}
