"""Checking column declarations (``column day date "%d-%m-%y"``) of the transactions block and of tables."""

from __future__ import annotations

import datetime as dt

from spmlang.check.context import CheckContext
from spmlang.check.words import NUMBER_FORMATS, TYPE_ALIASES
from spmlang.diagnostics import did_you_mean
from spmlang.ir.expressions import COLUMN_TYPES, Type
from spmlang.ir.plan import ColumnSpec
from spmlang.syntax import ast


def column_type(c: CheckContext, name: ast.Name) -> Type | None:
    word = TYPE_ALIASES.get(name.text, name.text)
    if word in COLUMN_TYPES:
        return COLUMN_TYPES[word]
    hint = did_you_mean(name.text, COLUMN_TYPES) or "types: " + ", ".join(COLUMN_TYPES)
    c.error("E206", f"unknown column type '{name.text}'", name.span, hint)
    return None


def column_spec(c: CheckContext, stmt: ast.ColumnStmt) -> ColumnSpec | None:
    """The column ``stmt`` declares; None after an error (and its later uses stay quiet)."""
    declared = column_type(c, stmt.type)
    if declared is None:
        c.broken_columns.add(stmt.name.text)
        return None
    if stmt.format is not None and not _format_fits(c, declared, stmt.format):
        if declared in _FORMATTED:
            c.broken_columns.add(stmt.name.text)
        return None
    fmt = str(stmt.format.value) if stmt.format is not None else None
    return ColumnSpec(stmt.name.text, declared, fmt, stmt.span)


_FORMATTED = (Type.DATE, Type.MONEY, Type.NUMBER, Type.INTEGER, Type.PERCENT)


def _format_fits(c: CheckContext, declared: Type, fmt_literal: ast.Literal) -> bool:
    """Whether a column of type ``declared`` can take the format written; reports why not."""
    fmt = str(fmt_literal.value)
    if declared is Type.DATE:
        if _valid_date_format(fmt):
            return True
        c.error(
            "E208",
            f"'{fmt}' is not a date format",
            fmt_literal.span,
            'use strftime codes, e.g. "%d-%m-%y" for 01-03-17 or "%Y-%m-%d" for 2017-03-01',
        )
        return False
    if declared in _FORMATTED:
        if fmt in NUMBER_FORMATS:
            return True
        c.error(
            "E208",
            f"'{fmt}' is not a number format",
            fmt_literal.span,
            "number formats show how 1234.56 is written: " + ", ".join(f'"{f}"' for f in NUMBER_FORMATS),
        )
        return False
    c.error("E208", f"a {declared} column takes no format", fmt_literal.span)
    return False


def _valid_date_format(fmt: str) -> bool:
    if "%" not in fmt:
        return False
    sample = dt.date(2027, 11, 23)
    try:
        text = sample.strftime(fmt)
        parsed = dt.datetime.strptime(text, fmt).date()
    except (ValueError, TypeError):
        return False
    return parsed == sample or "%y" in fmt or "%Y" in fmt
