"""The functions a plan may call, column-wise: min, max, abs, coalesce; upper, lower, trim, replace on text
(on a dictionary-encoded column, on its distinct values only); year, month, days_between on dates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.expressions.values import (
    Frame,
    Vec,
    and_valid,
    as_float,
    decoded_text,
    materialize,
    on_text,
    text_operand,
)
from spmlang.ir import expressions as ir
from spmlang.ir.expressions import Type


def call(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    """``node``'s function of ``args``, its arguments evaluated."""
    return _FUNCTIONS[node.name](node, args, frame)


# ---------------------------------------------------------------------- quantities


def _extremum(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    pick = np.minimum if node.name == "min" else np.maximum
    same = all(a.type == args[0].type for a in args)
    values = args[0].values if same else as_float(args[0])
    valid = args[0].valid
    for arg in args[1:]:
        values = pick(values, arg.values if same else as_float(arg))
        valid = and_valid(valid, arg.valid)
    return Vec(values, valid, node.type)


def _abs(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    return Vec(np.abs(args[0].values), args[0].valid, node.type)


def _coalesce(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    result = materialize(args[-1], frame.n)
    for arg in reversed(args[:-1]):
        arg = materialize(arg, frame.n)
        if node.type is Type.TEXT:
            values = pc.if_else(pa.array(np.asarray(arg.valid)), decoded_text(arg.values), decoded_text(result.values))
        elif arg.type == result.type:
            values = np.where(arg.valid, arg.values, result.values)
        else:
            values = np.where(arg.valid, as_float(arg), as_float(result))
        result = Vec(values, arg.valid | result.valid, node.type)
    return result


# ---------------------------------------------------------------------- text

_CASE_AND_TRIM: dict[str, Callable[[Any], Any]] = {
    "upper": pc.utf8_upper,
    "lower": pc.utf8_lower,
    "trim": pc.utf8_trim_whitespace,
}


def _case_or_trim(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    function = _CASE_AND_TRIM[node.name]
    operand = text_operand(args[0].values)
    return Vec(
        function(operand) if isinstance(operand, pa.Scalar) else on_text(operand, function),
        args[0].valid,
        Type.TEXT,
    )


def _replace(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    value, old, new = args  # the checker allows only fixed texts for old and new
    operand = text_operand(value.values)

    def replaced(text):
        return pc.replace_substring(text, old.values, new.values)

    return Vec(
        replaced(operand) if isinstance(operand, pa.Scalar) else on_text(operand, replaced), value.valid, Type.TEXT
    )


# ---------------------------------------------------------------------- dates


def _year_or_month(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    days = np.asarray(args[0].values, dtype="int64").astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    if node.name == "year":
        return Vec(years.astype(np.int64) + 1970, args[0].valid, Type.INTEGER)
    months = (days.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(np.int64) + 1
    return Vec(months, args[0].valid, Type.INTEGER)


def _days_between(node: ir.Function, args: list[Vec], frame: Frame) -> Vec:
    return Vec(
        np.asarray(args[1].values, np.int64) - np.asarray(args[0].values, np.int64),
        and_valid(args[0].valid, args[1].valid),
        Type.INTEGER,
    )


_FUNCTIONS: dict[str, Callable[[ir.Function, list[Vec], Frame], Vec]] = {
    "min": _extremum,
    "max": _extremum,
    "abs": _abs,
    "coalesce": _coalesce,
    "upper": _case_or_trim,
    "lower": _case_or_trim,
    "trim": _case_or_trim,
    "replace": _replace,
    "year": _year_or_month,
    "month": _year_or_month,
    "days_between": _days_between,
}
