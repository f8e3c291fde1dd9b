"""Vectorized evaluation of checked expressions over whole columns.

A value is a :class:`Vec`: an array (or a scalar, for constants) with a
validity mask and its type. Money is int64 units, numbers float64, dates int64
days, text an Arrow array. There is no Python loop over rows: each node of the
expression is one numpy or Arrow compute call over the column.

Problems that belong to particular rows (a lookup key not in its table, a
division by zero) do not raise: they are recorded as :class:`Issue` values on
the frame, and the run rejects those rows with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import Diagnostic, PlanError
from spmlang.engine.calendar import to_days
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import LIMIT, UNIT, decimal_of, decimal_to_units, in_decimals, limit_text, to_units
from spmlang.ir import expressions as ir
from spmlang.ir import text_growth as texts
from spmlang.ir.expressions import Type


@dataclass
class Vec:
    values: object
    valid: object  # numpy bool array, or a bool for a scalar
    type: Type


@dataclass
class Issue:
    """Rows an expression could not evaluate, and why."""

    mask: np.ndarray
    subject: str  # a policy subject: missing_lookup, invalid_value ...
    message: object  # str, or an Arrow string array with one message per row
    column: str | None = None


@dataclass
class Frame:
    """What expressions are evaluated over: ``n`` rows of columns, builtins and lookup tables."""

    n: int
    columns: dict = field(default_factory=dict)  # name -> Vec, or a callable returning one (lazy)
    builtins: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)  # name -> LookupTable
    issues: list = field(default_factory=list)
    source: Frame | None = None  # the rows these rows come from (credit rows: transactions); see evaluate_rows
    source_rows: np.ndarray | None = None  # each row's row in ``source``

    def column(self, name: str) -> Vec:
        value = self.columns[name]
        if callable(value):
            value = value()
            self.columns[name] = value
        return value

    def builtin(self, name: str) -> Vec:
        value = self.builtins[name]
        if callable(value):
            value = value()
            self.builtins[name] = value
        return value


def const_value(value: object, type_: Type) -> object:
    """A literal's engine representation."""
    if type_ is Type.MONEY:
        return decimal_to_units(value)
    if type_ is Type.INTEGER:
        return int(value)
    if type_ in (Type.NUMBER, Type.PERCENT):
        return float(value)
    if type_ is Type.DATE:
        return to_days(value) if isinstance(value, dt.date) else value
    return value


def on_text(values, function):
    """Apply an elementwise function of strings; on a dictionary-encoded array, to its few distinct values only
    (a payee or product column of millions of rows has thousands of distinct names, or ten)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):
        result = function(values.dictionary)
        if pa.types.is_string(result.type) or pa.types.is_large_string(result.type):
            return pa.DictionaryArray.from_arrays(values.indices, result)
        return pc.take(result, values.indices)
    return function(values)


def plain_text(values):
    """A text array without dictionary encoding (for the rare operations between two text columns)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pc.cast(values, pa.string()) if isinstance(values, pa.DictionaryArray) else values


def materialize(vec: Vec, n: int) -> Vec:
    """The same value with arrays of length ``n`` (constants broadcast)."""
    values, valid = vec.values, vec.valid
    if vec.type is Type.TEXT:
        if not isinstance(values, (pa.Array, pa.ChunkedArray)):
            values = pa.array([values] * n, type=pa.string()) if values is not None else pa.nulls(n, pa.string())
    elif np.ndim(values) == 0:
        values = np.full(n, values)
    if np.ndim(valid) == 0:
        valid = np.full(n, bool(valid))
    return Vec(values, valid, vec.type)


def truth(vec: Vec, n: int) -> np.ndarray:
    """A condition as a mask: True where it holds; an unknown (null) condition does not hold."""
    vec = materialize(vec, n)
    return np.asarray(vec.values, dtype=bool) & vec.valid


def evaluate(node: ir.IR, frame: Frame) -> Vec:
    handler = _HANDLERS[type(node)]
    return handler(node, frame)


def evaluate_rows(node: ir.IR, frame: Frame) -> Vec:
    """``node`` for each row of ``frame``. An expression of its source's columns alone (no builtin: not a
    credit row's credit, share or payee) is evaluated once per source row, where the columns lie, and its
    result gathered: no column is gathered into every row first, and a transaction split between payees is
    evaluated once. What the source could not evaluate is left on ``frame`` as issues of its rows, in the order
    the expression met them."""
    source = frame.source
    if source is None or ir.builtins_used(node):
        return evaluate(node, frame)
    vec = evaluate(node, source)
    index = frame.source_rows
    for issue in source.issues:
        mask = issue.mask[index]
        if mask.any():
            message = issue.message if isinstance(issue.message, str) else issue.message.take(pa.array(index))
            frame.issues.append(Issue(mask, issue.subject, message, issue.column))
    source.issues.clear()
    valid = vec.valid
    if known_everywhere(valid) or np.all(valid):  # as columns without empty values are: nothing to gather
        valid = True
    return Vec(_gathered(vec.values, index), _gathered(valid, index), vec.type)


def _gathered(values, index: np.ndarray):
    """A value per row of a source's value (a constant stays one)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.take(pa.array(index))
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


# ---------------------------------------------------------------------- arithmetic


def as_float(vec: Vec) -> object:
    """Numbers as float64; money in currency units."""
    values = vec.values
    if vec.type is Type.MONEY:
        return np.asarray(values, dtype=np.float64) / UNIT
    return np.asarray(values, dtype=np.float64)


def known_everywhere(valid) -> bool:
    """Whether a validity is True for every row: a scalar True, or True stored once (a column without empty
    values), without a pass over the rows."""
    if np.ndim(valid) == 0:
        return bool(valid)
    return grouping.is_uniform(valid) and (valid.size == 0 or bool(valid[0]))


def _and_valid(a, b):
    """Known where both are; a side known everywhere leaves the other as it is (no pass, no new array)."""
    if known_everywhere(a):
        return b
    if known_everywhere(b):
        return a
    return np.logical_and(a, b)


def _arith(node: ir.Arith, frame: Frame) -> Vec:
    left, right = evaluate(node.left, frame), evaluate(node.right, frame)
    valid = _and_valid(left.valid, right.valid)
    op, lt, rt = node.op, left.type, right.type
    if op in ("+", "-"):
        if node.type in (Type.MONEY, Type.INTEGER, Type.DATE) and lt is not Type.NUMBER and rt is not Type.NUMBER:
            a, b = np.asarray(left.values, np.int64), np.asarray(right.values, np.int64)
            # Whole numbers added in float64 too, only to find sums past the limit (int64 would wrap them).
            rough = a.astype(np.float64) + b if op == "+" else a.astype(np.float64) - b
            return _checked_integers(a + b if op == "+" else a - b, rough, valid, node, frame)
        a, b = as_float(left), as_float(right)
        return _checked_float(a + b if op == "+" else a - b, valid, node, frame)
    if op == "*":
        if node.type is Type.MONEY:
            money, factor = (left, right) if lt is Type.MONEY else (right, left)
            factors = as_float(factor)
            product = np.asarray(money.values, np.float64) * factors
            return _checked_units(
                product,
                valid,
                node,
                frame,
                lambda i: Decimal(int(_at(money.values, i))) * decimal_of(float(_at(factors, i))),
            )
        if node.type is Type.INTEGER:
            a, b = np.asarray(left.values, np.int64), np.asarray(right.values, np.int64)
            return _checked_integers(a * b, a.astype(np.float64) * b, valid, node, frame)
        return _checked_float(as_float(left) * as_float(right), valid, node, frame)
    # division
    divisor = as_float(right)
    zero = np.asarray(divisor == 0) & np.asarray(valid)
    if np.any(zero):
        frame.issues.append(
            Issue(np.broadcast_to(zero, (frame.n,)).copy(), "invalid_value", f"division by zero at {_span_text(node)}")
        )
        valid = valid & ~zero
    safe = np.where(divisor == 0, 1.0, divisor)
    if node.type is Type.MONEY:
        return _checked_units(
            np.asarray(left.values, np.float64) / safe,
            valid,
            node,
            frame,
            lambda i: Decimal(int(_at(left.values, i))) / decimal_of(float(_at(safe, i))),
        )
    return _checked_float(as_float(left) / safe, valid, node, frame)


def _span_text(node) -> str:
    return node.span.clause


def _checked_float(values, valid, node, frame: Frame) -> Vec:
    bad = ~np.isfinite(values)
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the result at {_span_text(node)} is not a finite number",
            )
        )
        valid = valid & ~bad
        values = np.where(bad, 0.0, values)
    return Vec(values, valid, node.type)


def _checked_units(values, valid, node, frame: Frame, exact=None) -> Vec:
    """Money computed in float64 (units), snapped to units; ``exact(i)`` gives element i in decimal, for those
    past what float64 holds to the unit. Rows where it is past the limit are issues of those rows."""
    bad = ~(np.abs(values) < float(LIMIT))  # not a number included
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the amount at {_span_text(node)} is too large to hold (more than {limit_text()})",
            )
        )
    if np.any(bad):
        valid = valid & ~bad
        values = np.where(bad, 0.0, values)
    return Vec(
        to_units(
            values, None if exact is None else lambda index: [in_decimals(partial(exact, i)) for i in index.tolist()]
        ),
        valid,
        Type.MONEY,
    )


def _checked_integers(values, rough, valid, node, frame: Frame) -> Vec:
    """Whole numbers (money in units, integers, days) computed in int64, where ``rough`` (the same in float64)
    says which are past the limit, and would have wrapped: issues of their rows."""
    bad = ~(np.abs(rough) < float(LIMIT))
    if np.any(bad & valid):
        frame.issues.append(
            Issue(
                np.broadcast_to(bad & valid, (frame.n,)).copy(),
                "invalid_value",
                f"the value at {_span_text(node)} is too large to hold",
            )
        )
    if np.any(bad):
        valid = valid & ~bad
        values = np.where(bad, 0, values)
    return Vec(values, valid, node.type)


def _at(values, i: int):
    """Element ``i`` of a value's array, or the constant itself."""
    return values[i] if np.ndim(values) else values


def _negate(node: ir.Negate, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    return Vec(-np.asarray(operand.values) if np.ndim(operand.values) else -operand.values, operand.valid, operand.type)


# ---------------------------------------------------------------------- comparisons


def _compare_values(op: str, left: Vec, right: Vec) -> object:
    if left.type is Type.TEXT or right.type is Type.TEXT:
        function = {"==": pc.equal, "!=": pc.not_equal}[op]
        a, b = _text_operand(left.values), _text_operand(right.values)
        if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
            return bool(function(a, b).as_py())
        if isinstance(b, pa.Scalar):
            result = on_text(a, lambda d: function(d, b))
        elif isinstance(a, pa.Scalar):
            result = on_text(b, lambda d: function(a, d))
        else:
            result = function(plain_text(a), plain_text(b))
        return pc.fill_null(result, False).to_numpy(zero_copy_only=False)
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


def _plain_operand(values):
    operand = _text_operand(values)
    return operand if isinstance(operand, pa.Scalar) else plain_text(operand)


def _text_operand(values):
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.scalar(values, type=pa.string())


def _comparison(node: ir.Comparison, frame: Frame) -> Vec:
    left, right = evaluate(node.left, frame), evaluate(node.right, frame)
    return Vec(_compare_values(node.op, left, right), _and_valid(left.valid, right.valid), Type.BOOL)


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
    if operand.type is Type.TEXT:
        value_set = pa.array([str(c.value) for c in node.values], type=pa.string())
        operand_values = _text_operand(operand.values)
        if isinstance(operand_values, pa.Scalar):
            values = bool(pc.is_in(operand_values, value_set=value_set).as_py())
        else:
            result = on_text(operand_values, lambda d: pc.is_in(d, value_set=value_set))
            values = pc.fill_null(result, False).to_numpy(zero_copy_only=False)
    else:
        if operand.type is Type.MONEY:
            wanted = [decimal_to_units(Decimal(c.value)) for c in node.values]
            values = np.isin(operand.values, np.array(wanted, dtype=np.int64))
        else:
            wanted = [const_value(c.value, c.type) for c in node.values]
            values = np.isin(
                as_float(operand) if operand.type.is_numeric else operand.values,
                np.array(wanted, dtype=np.float64 if operand.type.is_numeric else None),
            )
    if node.negated:
        values = ~np.asarray(values, bool)
    return Vec(values, operand.valid, Type.BOOL)


def _between(node: ir.Between, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    low, high = evaluate(node.low, frame), evaluate(node.high, frame)
    inside = np.asarray(_compare_values(">=", operand, low)) & np.asarray(_compare_values("<=", operand, high))
    valid = _and_valid(_and_valid(operand.valid, low.valid), high.valid)
    return Vec(inside, valid, Type.BOOL)


def _missing(node: ir.Missing, frame: Frame) -> Vec:
    operand = evaluate(node.operand, frame)
    valid = np.asarray(operand.valid, bool)
    if operand.type is Type.TEXT and isinstance(operand.values, (pa.Array, pa.ChunkedArray)):
        blank = pc.fill_null(on_text(operand.values, lambda d: pc.equal(pc.utf8_trim_whitespace(d), "")), False)
        valid = valid & ~blank.to_numpy(zero_copy_only=False)
    missing = ~valid
    return Vec(~missing if node.negated else missing, True, Type.BOOL)


def _choose(node: ir.Choose, frame: Frame) -> Vec:
    condition = materialize(evaluate(node.condition, frame), frame.n)
    picked = np.asarray(condition.values, bool) & condition.valid
    then, otherwise = evaluate(node.then, frame), evaluate(node.otherwise, frame)
    valid = condition.valid & np.where(picked, then.valid, otherwise.valid)
    if node.type is Type.TEXT:
        values = pc.if_else(pa.array(picked), _plain_operand(then.values), _plain_operand(otherwise.values))
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


# ---------------------------------------------------------------------- functions


def _function(node: ir.Function, frame: Frame) -> Vec:
    refused = texts.problem(node)
    if refused is not None:  # the checker refuses these; never allocate for one that got past it
        raise PlanError([Diagnostic(refused[0], refused[1], node.span)])
    args = []
    for arg in node.args:  # a loop, not a comprehension: one frame fewer per level of nesting
        args.append(evaluate(arg, frame))
    name = node.name
    if name in ("min", "max"):
        pick = np.minimum if name == "min" else np.maximum
        same = all(a.type == args[0].type for a in args)
        values = args[0].values if same else as_float(args[0])
        valid = args[0].valid
        for arg in args[1:]:
            values = pick(values, arg.values if same else as_float(arg))
            valid = _and_valid(valid, arg.valid)
        return Vec(values, valid, node.type)
    if name == "abs":
        return Vec(np.abs(args[0].values), args[0].valid, node.type)
    if name == "coalesce":
        result = materialize(args[-1], frame.n)
        for arg in reversed(args[:-1]):
            arg = materialize(arg, frame.n)
            if node.type is Type.TEXT:
                values = pc.if_else(pa.array(arg.valid), plain_text(arg.values), plain_text(result.values))
            elif arg.type == result.type:
                values = np.where(arg.valid, arg.values, result.values)
            else:
                values = np.where(arg.valid, as_float(arg), as_float(result))
            result = Vec(values, arg.valid | result.valid, node.type)
        return result
    if name in ("upper", "lower", "trim"):
        function = {"upper": pc.utf8_upper, "lower": pc.utf8_lower, "trim": pc.utf8_trim_whitespace}[name]
        operand = _text_operand(args[0].values)
        return Vec(
            function(operand) if isinstance(operand, pa.Scalar) else on_text(operand, function),
            args[0].valid,
            Type.TEXT,
        )
    if name == "replace":
        value, old, new = args  # the checker allows only fixed texts for old and new
        operand = _text_operand(value.values)

        def replaced(text):
            return pc.replace_substring(text, old.values, new.values)

        return Vec(
            replaced(operand) if isinstance(operand, pa.Scalar) else on_text(operand, replaced), value.valid, Type.TEXT
        )
    if name in ("year", "month"):
        days = np.asarray(args[0].values, dtype="int64").astype("datetime64[D]")
        years = days.astype("datetime64[Y]")
        if name == "year":
            return Vec(years.astype(np.int64) + 1970, args[0].valid, Type.INTEGER)
        months = (days.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(np.int64) + 1
        return Vec(months, args[0].valid, Type.INTEGER)
    if name == "days_between":
        return Vec(
            np.asarray(args[1].values, np.int64) - np.asarray(args[0].values, np.int64),
            _and_valid(args[0].valid, args[1].valid),
            Type.INTEGER,
        )
    raise AssertionError(name)


_HANDLERS = {
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
