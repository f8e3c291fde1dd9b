"""The shape of the quotas, targets, roster and fx tables: their roles (payee, period, amount, manager; a roster's
start, end, plan, currency, eligibility; an fx table's date, currency, rate), the column each role has when a
plan does not name it, and the table a plan gets when it does not declare one."""

from __future__ import annotations

from spmlang.diagnostics import Span
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import TableKind
from spmlang.ir.plan import ColumnSpec, TableSpec

ROLES: dict[TableKind, dict[str, str]] = {
    TableKind.QUOTAS: {"payee": "payee", "period": "period", "amount": "amount"},
    TableKind.TARGETS: {"payee": "payee", "period": "period", "amount": "amount"},
    TableKind.ROSTER: {"payee": "payee", "manager": "manager"},
    TableKind.LOOKUP: {},
    TableKind.FX: {"date": "date", "currency": "currency", "rate": "rate"},
}
# Which literal kinds may fill a column of each type, in a table's rows written in a plan or a test.
LITERAL_KINDS: dict[Type, set[str]] = {
    Type.TEXT: {"string", "word", "period"},
    Type.INTEGER: {"number"},
    Type.NUMBER: {"number", "percent", "multiplier"},
    Type.PERCENT: {"percent", "number"},
    Type.MONEY: {"money", "number"},
    Type.DATE: {"date"},
    Type.BOOL: {"bool"},
}
# Roles a table has only where the plan names their column: a roster's dates and terms, a dated quota's days.
# With them, inline rows give these columns after those of ROLES, in this order.
OPTIONAL_ROLES: dict[TableKind, tuple[str, ...]] = {
    TableKind.QUOTAS: ("start", "end"),
    TableKind.TARGETS: ("start", "end"),
    TableKind.ROSTER: ("start", "end", "plan", "currency", "eligibility"),
    TableKind.LOOKUP: (),
    TableKind.FX: (),
}


def role_types(kind: TableKind, quota_type: Type) -> dict[str, Type]:
    amount = quota_type if kind is TableKind.QUOTAS else Type.MONEY
    return {
        "payee": Type.TEXT,
        "period": Type.TEXT,
        "amount": amount,
        "manager": Type.TEXT,
        "start": Type.DATE,
        "end": Type.DATE,
        "plan": Type.TEXT,
        "currency": Type.TEXT,
        "eligibility": Type.PERCENT,
        "date": Type.DATE,
        "rate": Type.NUMBER,
    }


def implicit_table(kind: TableKind, quota_type: Type, span: Span) -> TableSpec:
    """The shape a quotas, targets or roster table has when the plan does not declare it.

    Quotas and targets get ``per`` None: per period if their data has a ``period``
    column, per year if not (decided when the data is read).
    """
    roles = dict(ROLES[kind])
    per = None
    types = role_types(kind, quota_type)
    columns = {column: ColumnSpec(column, types[role], None, span) for role, column in roles.items()}
    key = "currency" if kind is TableKind.FX else "payee"
    return TableSpec(kind, kind.value, None, columns, roles, key, None, per, None, None, (), span)
