"""Checking the transactions block: its columns, key, date, payees and shares, credit, filters, rollup and
what to do with rows that cannot be paid."""

from __future__ import annotations

from dataclasses import dataclass, field

from spmlang.check.columns import column_spec
from spmlang.check.context import CheckContext
from spmlang.check.cycle import cancelled_column
from spmlang.check.expressions import Scope
from spmlang.check.words import CONVERSION_WORDS
from spmlang.diagnostics import Span, did_you_mean
from spmlang.ir import expressions as ir
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import Conversion, PolicyAction, PolicySubject, TableKind
from spmlang.ir.plan import (
    POLICY_ACTIONS,
    POLICY_SUBJECTS,
    ColumnSpec,
    CurrencySpec,
    FilterSpec,
    PayeeSpec,
    SourceSpec,
    TableSpec,
)
from spmlang.syntax import ast

# The statements a transactions block has at most once, by the word that starts them.
_ONCE = {
    ast.KeyStmt: "key",
    ast.DateStmt: "date",
    ast.CreditStmt: "credit",
    ast.RollupStmt: "rollup",
    ast.FileStmt: "file",
    ast.CancelledStmt: "cancelled",
    ast.RefundedStmt: "refunded",
    ast.CurrencyStmt: "currency",
    ast.FallbackStmt: "fallback",
}


@dataclass
class _Statements:
    """A transactions block's statements, sorted by what they say."""

    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    key: ast.KeyStmt | None = None
    date: ast.DateStmt | None = None
    credit: ast.CreditStmt | None = None
    rollup: ast.RollupStmt | None = None
    file: ast.FileStmt | None = None
    cancelled: ast.CancelledStmt | None = None
    refunded: ast.RefundedStmt | None = None
    currency: ast.CurrencyStmt | None = None
    fallback: ast.FallbackStmt | None = None
    payees: list[ast.PayeeStmt] = field(default_factory=list)
    filters: list[ast.WhereStmt] = field(default_factory=list)
    policies: dict[PolicySubject, PolicyAction] = field(default_factory=lambda: dict(POLICY_SUBJECTS))


def check_transactions(
    c: CheckContext, block: ast.TransactionsBlock, tables: dict[str, TableSpec]
) -> SourceSpec | None:
    stmts = _sorted_statements(c, block)
    columns = stmts.columns
    lookups = {n: t for n, t in tables.items() if t.kind is TableKind.LOOKUP or _looked_up_roster(t)}
    key = _column_ref(
        c, stmts.key, "key", columns, block.span, (Type.TEXT, Type.INTEGER), "the unique id of each transaction"
    )
    date = _column_ref(
        c,
        stmts.date,
        "date",
        columns,
        block.span,
        (Type.DATE,),
        "the date that puts a transaction in a period",
    )
    payees = _payees(c, stmts.payees, columns, lookups, block.span)
    credit = _credit(c, stmts.credit, columns, lookups, block.span)
    filters = _filters(c, stmts.filters, columns, lookups)
    rollup_span = _rollup_span(c, stmts.rollup)
    cancelled, refunded = _cancellation(c, stmts, columns, lookups, credit)
    roster = tables.get(TableKind.ROSTER)
    if rollup_span is not None and roster is not None and "manager" not in roster.roles:
        c.error(
            "E403",
            "credit rolls up to managers, but the roster names no manager column",
            rollup_span,
            "add `manager COLUMN` to the roster block",
        )
    currency = _currency(c, stmts.currency, columns)
    fallback = _fallback(c, stmts.fallback, roster, stmts.policies)
    if key is None or date is None or not payees or credit is None or stmts.credit is None:
        return None
    return SourceSpec(
        str(stmts.file.path.value) if stmts.file is not None else None,
        columns,
        key,
        date,
        tuple(payees),
        credit,
        Type.MONEY if credit.type is Type.MONEY else Type.NUMBER,
        stmts.credit.span,
        tuple(filters),
        rollup_span,
        stmts.policies,
        block.span,
        cancelled,
        refunded,
        stmts.cancelled.span if stmts.cancelled is not None else None,
        currency,
        fallback,
    )


def _cancellation(
    c: CheckContext, stmts: _Statements, columns: dict[str, ColumnSpec], lookups: dict[str, TableSpec], credit
) -> tuple[str | None, ir.IR | None]:
    """The date column of a cancellation, and the refunded share of the credit: in the credit's unit."""
    cancelled = cancelled_column(c, stmts.cancelled, columns) if stmts.cancelled is not None else None
    if stmts.refunded is None:
        return cancelled, None
    if stmts.cancelled is None:
        c.error(
            "E403",
            "`refunded` says how much of a cancelled transaction was refunded, but nothing says when",
            stmts.refunded.span,
            "add `cancelled DATE_COLUMN`: the date of the refund",
        )
        return None, None
    refunded = c.exprs.check(
        stmts.refunded.expr, Scope("the refunded amount", columns, lookups), (Type.MONEY, Type.NUMBER, Type.INTEGER)
    )
    if refunded is not None and credit is not None and (refunded.type is Type.MONEY) != (credit.type is Type.MONEY):
        c.error(
            "E301",
            f"the refunded amount is {refunded.type}, but credit is {credit.type}",
            stmts.refunded.expr.span,
            "give the refund in the credit's unit: the share of the credit that was refunded",
        )
        return cancelled, None
    return cancelled, refunded


def _looked_up_roster(table: TableSpec) -> bool:
    """Whether expressions may look the roster up (`roster[payee].manager`): one row per payee, no dates."""
    return table.kind is TableKind.ROSTER and not table.employment


def _currency(c: CheckContext, stmt: ast.CurrencyStmt | None, columns: dict[str, ColumnSpec]) -> CurrencySpec | None:
    """``currency COLUMN [at period end | at fixed rate]``: a text column, and at which rate its rows convert."""
    if stmt is None:
        return None
    name = stmt.column
    column = columns.get(name.text)
    if column is None:
        if name.text not in c.broken_columns:
            hint = did_you_mean(name.text, columns) or f"declare it: `column {name.text} text`"
            c.error("E201", f"unknown column '{name.text}'", name.span, hint)
        return None
    if column.type is not Type.TEXT:
        c.error(
            "E301",
            f"the currency column must be text (EUR, GBP ...), but '{name.text}' is declared as {column.type}",
            name.span,
            notes=((column.span, "declared here"),),
        )
        return None
    conversion = Conversion.TRANSACTION_DATE
    if stmt.at:
        words = tuple(word.text for word in stmt.at)
        found = CONVERSION_WORDS.get(words)
        if found is None:
            c.error(
                "E206",
                f"unknown rate 'at {' '.join(words)}'",
                Span(
                    stmt.span.path,
                    stmt.at[0].span.line,
                    stmt.at[0].span.column,
                    stmt.at[-1].span.end_line,
                    stmt.at[-1].span.end_column,
                ),
                "write `at transaction date` (the default), `at period end` or `at fixed rate`",
            )
            return None
        conversion = found
    return CurrencySpec(name.text, conversion, stmt.span)


def _fallback(
    c: CheckContext,
    stmt: ast.FallbackStmt | None,
    roster: TableSpec | None,
    policies: dict[PolicySubject, PolicyAction],
) -> str | None:
    """``fallback PAYEE``: who is credited with a transaction outside its payee's employment, which only a
    roster with dates (or plans) says."""
    if stmt is None:
        return None
    if roster is None or not roster.employment:
        has = "the plan has no roster" if roster is None else "the roster has no dates"
        c.error(
            "E404",
            f"a fallback payee takes the transactions dated outside their payee's employment, but {has}",
            stmt.span,
            "give the plan a roster with `start COLUMN` and `end COLUMN` (docs/language.md, A roster with dates)",
        )
        return None
    if policies[PolicySubject.OUTSIDE_EMPLOYMENT] is PolicyAction.ERROR:
        c.error(
            "E404",
            "the plan both credits a fallback payee and stops at rows outside employment",
            stmt.span,
            "keep `fallback` or `on outside_employment error`, not both",
        )
        return None
    written = stmt.payee
    payee = str(written.value) if isinstance(written, ast.Literal) else written.text
    if not payee.strip():
        c.error("E403", "the fallback payee has no name", stmt.span, 'write `fallback "House Account"`')
        return None
    return payee.strip()


def _sorted_statements(c: CheckContext, block: ast.TransactionsBlock) -> _Statements:
    stmts = _Statements()
    for stmt in block.statements:
        if isinstance(stmt, ast.ColumnStmt):
            _declare_column(c, stmt, stmts.columns)
        elif type(stmt) in _ONCE:
            word = _ONCE[type(stmt)]
            first = getattr(stmts, word)
            if first is not None:
                c.error("E401", f"'{word}' is given twice", stmt.span, notes=((first.span, "first given here"),))
                continue
            setattr(stmts, word, stmt)
        elif isinstance(stmt, ast.PayeeStmt):
            stmts.payees.append(stmt)
        elif isinstance(stmt, ast.WhereStmt):
            stmts.filters.append(stmt)
        elif isinstance(stmt, ast.PolicyStmt):
            _policy(c, stmt, stmts.policies)
    return stmts


def _declare_column(c: CheckContext, stmt: ast.ColumnStmt, columns: dict[str, ColumnSpec]) -> None:
    if stmt.name.text in columns:
        c.error(
            "E207",
            f"column '{stmt.name.text}' is declared twice",
            stmt.name.span,
            notes=((columns[stmt.name.text].span, "first declared here"),),
        )
        return
    spec = column_spec(c, stmt)
    if spec is not None:
        columns[spec.name] = spec


def _payees(
    c: CheckContext,
    stmts: list[ast.PayeeStmt],
    columns: dict[str, ColumnSpec],
    lookups: dict[str, TableSpec],
    block_span: Span,
) -> list[PayeeSpec]:
    if not stmts:
        c.error(
            "E403",
            "the transactions block has no `payee`",
            block_span,
            "add `payee COLUMN` naming who is credited (several `payee ... share ...` lines split credit)",
        )
    payees = []
    for stmt in stmts:
        column = _column_ref(c, stmt, "payee", columns, block_span, (Type.TEXT, Type.INTEGER), "")
        share = None
        if stmt.share is not None:
            share = c.exprs.check(
                stmt.share, Scope("a share", columns, lookups), (Type.PERCENT, Type.NUMBER, Type.INTEGER), "a share"
            )
        if len(stmts) > 1 and stmt.share is None:
            c.error(
                "E403",
                "with several payees, each needs a share",
                stmt.span,
                f"write `payee {stmt.column.text} share 50%` or `share COLUMN`",
            )
        if column is not None:
            payees.append(PayeeSpec(column, share, stmt.span))
    return payees


def _credit(
    c: CheckContext,
    stmt: ast.CreditStmt | None,
    columns: dict[str, ColumnSpec],
    lookups: dict[str, TableSpec],
    block_span: Span,
) -> ir.IR | None:
    if stmt is None:
        c.error(
            "E403",
            "the transactions block has no `credit`",
            block_span,
            "add `credit COLUMN` or an expression such as `credit amount * 1.2`; `credit 1` counts rows",
        )
        return None
    credit = c.exprs.check(
        stmt.expr, Scope("the credit", columns, lookups), (Type.MONEY, Type.NUMBER, Type.INTEGER), "the credit"
    )
    value = constant_value(credit) if credit is not None else None
    if value is not None and too_large(value):  # a count credited as amounts: every row's credit past the limit
        c.error("E312", f"a credit of {value:,} is too large to hold", stmt.expr.span, too_large_hint())
        return None
    return credit


def _filters(
    c: CheckContext, stmts: list[ast.WhereStmt], columns: dict[str, ColumnSpec], lookups: dict[str, TableSpec]
) -> list[FilterSpec]:
    filters = []
    names: dict[str, ast.WhereStmt] = {}
    for stmt in stmts:
        name = stmt.name.text if stmt.name else c.text(stmt.expr.span)
        if name in names:
            c.error("E207", f"two filters are named '{name}'", stmt.span, notes=((names[name].span, "the other one"),))
            continue
        names[name] = stmt
        expr = c.exprs.check(stmt.expr, Scope("a filter", columns, lookups), (Type.BOOL,), "a filter")
        if expr is not None:
            filters.append(FilterSpec(name, expr, stmt.span))
    return filters


def _rollup_span(c: CheckContext, rollup: ast.RollupStmt | None) -> Span | None:
    """Where the block says credit rolls up to managers; None if it does not (or says it wrongly)."""
    if rollup is None:
        return None
    if rollup.column.text != "manager":
        c.error(
            "E206",
            f"credit rolls up to 'manager', not '{rollup.column.text}'",
            rollup.column.span,
            "write `rollup to manager` (managers come from the roster)",
        )
        return None
    if rollup.table is not None and rollup.table.text != "roster":
        c.error(
            "E202",
            f"rollups follow the roster, not '{rollup.table.text}'",
            rollup.table.span,
            "write `rollup to manager` or `rollup to manager from roster`",
        )
        return None
    return rollup.span


def _column_ref(
    c: CheckContext,
    stmt: ast.KeyStmt | ast.DateStmt | ast.PayeeStmt | None,
    what: str,
    columns: dict[str, ColumnSpec],
    block_span: Span,
    types: tuple[Type, ...],
    purpose: str,
) -> str | None:
    """The column the block's ``what`` (key, date, payee) names, if it is declared with one of ``types``."""
    if stmt is None:
        c.error("E403", f"the transactions block has no `{what}`", block_span, f"add `{what} COLUMN`: {purpose}")
        return None
    name = stmt.column
    if name.text in c.broken_columns:
        return None
    if name.text not in columns:
        hint = did_you_mean(name.text, columns) or f"declare it: `column {name.text} {types[0]}`"
        c.error("E201", f"unknown column '{name.text}'", name.span, hint)
        return None
    column = columns[name.text]
    if column.type not in types:
        c.error(
            "E301",
            f"the {what} column must be {' or '.join(map(str, types))}, but '{name.text}' is declared as {column.type}",
            name.span,
            notes=((column.span, "declared here"),),
        )
        return None
    return name.text


def _policy(c: CheckContext, stmt: ast.PolicyStmt, policies: dict[PolicySubject, PolicyAction]) -> None:
    subject, action = stmt.subject.text, stmt.action.text
    if subject not in POLICY_SUBJECTS:
        hint = did_you_mean(subject, POLICY_SUBJECTS) or "one of: " + ", ".join(POLICY_SUBJECTS)
        c.error("E206", f"unknown data problem '{subject}'", stmt.subject.span, hint)
        return
    if action not in POLICY_ACTIONS:
        c.error("E206", f"unknown action '{action}'", stmt.action.span, "write `reject` or `error`")
        return
    policies[PolicySubject(subject)] = PolicyAction(action)
