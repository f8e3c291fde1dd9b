"""W103: a per-row minimum that would also be paid on refunds.

``pay max(credit * 4%, $25) per deal`` pays $25 on a refund row of negative credit, where the author almost
surely meant no payment (or a clawback). The checker warns when such a minimum meets rows whose credit can
be negative, that is unless a filter of the component or of the transactions block keeps the credit (or the
column it is) at zero or above.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from spmlang.diagnostics import Diagnostic
from spmlang.ir import expressions as ir
from spmlang.ir.plan import ComponentSpec, PayPerRowRule, SourceSpec


def minimums_paid_on_refunds(components: tuple[ComponentSpec, ...], source: SourceSpec, text) -> list[Diagnostic]:
    """A W103 warning for each per-row minimum that rows of negative credit would be paid. ``text(span)`` is the
    source text of a span."""
    if not _can_be_negative(source.credit):
        return []
    subjects = {("builtin", "credit")}
    if isinstance(source.credit, ir.Column):
        subjects.add(("column", source.credit.name))
    warnings = []
    for component in (version for c in components for version in c.in_versions()):
        if not isinstance(component.rule, PayPerRowRule):
            continue  # a rate times a negative credit is negative: no minimum is paid on a refund
        floors = list(_floors(component.rule.amount))
        if not floors:
            continue
        filters = [f.expr for f in (*source.filters, *component.filters)]
        if any(_keeps_non_negative(condition, subjects) for condition in filters):
            continue
        call, floor = floors[0]
        warnings.append(
            Diagnostic(
                "W103",
                f"component '{component.name}' pays at least {text(floor.span)} on each row, refunds and credit "
                "notes of negative credit included",
                call.span,
                f"to pay refunds nothing, add `where credit > 0` to component '{component.name}'",
                "warning",
            )
        )
    return warnings


def _floors(node: ir.IR) -> Iterator[tuple[ir.Function, ir.Const]]:
    """``max(..., positive constant)`` calls in ``node`` that depend on the row: (the call, the constant)."""
    for part in ir.walk(node):
        if isinstance(part, ir.Function) and part.name == "max":
            constants = [a for a in part.args if isinstance(a, ir.Const) and _at_least(a.value, 0, strictly=True)]
            if constants and any(not isinstance(a, ir.Const) for a in part.args):
                yield part, constants[0]


def _at_least(value: object, bound: int, strictly: bool = False) -> bool:
    """Whether a constant is a number of at least ``bound`` (more than it, ``strictly``)."""
    if not isinstance(value, Decimal):
        return False
    return value > bound if strictly else value >= bound


def _can_be_negative(credit: ir.IR) -> bool:
    if isinstance(credit, ir.Const):
        return not _at_least(credit.value, 0)
    return not (isinstance(credit, ir.Function) and credit.name == "abs")


def _keeps_non_negative(condition: ir.IR, subjects: set[tuple[str, str]]) -> bool:
    """Whether ``condition`` holds only where a subject (the credit, or the column it is) is zero or more."""
    if isinstance(condition, ir.Logical):
        if condition.op == "and":
            return _keeps_non_negative(condition.left, subjects) or _keeps_non_negative(condition.right, subjects)
        return _keeps_non_negative(condition.left, subjects) and _keeps_non_negative(condition.right, subjects)
    if isinstance(condition, ir.Comparison):
        op, left, right = condition.op, condition.left, condition.right
        if isinstance(left, ir.Const):  # 0 < credit is credit > 0
            op, left, right = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}[op], right, left
        return (
            op in (">", ">=", "==")
            and _subject(left) in subjects
            and isinstance(right, ir.Const)
            and _at_least(right.value, 0)
        )
    if isinstance(condition, ir.Between):
        return (
            _subject(condition.operand) in subjects
            and isinstance(condition.low, ir.Const)
            and _at_least(condition.low.value, 0)
        )
    return False


def _subject(node: ir.IR) -> tuple[str, str] | None:
    if isinstance(node, ir.Builtin):
        return ("builtin", node.name)
    if isinstance(node, ir.Column):
        return ("column", node.name)
    return None
