"""Fixed amounts a plan writes: a bonus, a curve point, a cap. Money ($5,000) or a share of the payee's target
incentive (150% of target)."""

from __future__ import annotations

from decimal import Decimal

from spmlang.check.context import CheckContext
from spmlang.check.expressions import Scope
from spmlang.ir.constants import constant_value, too_large, too_large_hint
from spmlang.ir.expressions import Type
from spmlang.syntax import ast


def constant_amount(c: CheckContext, scope: Scope, amount: ast.Amount, what: str) -> Decimal | None:
    """The value of ``amount`` (a fraction for % of target), or None after an error naming ``what`` it is."""
    value_ir = c.exprs.check(amount.expr, scope, None)
    if value_ir is None:
        return None
    value = constant_value(value_ir)
    if amount.of_target:
        if value is None or value_ir.type is not Type.PERCENT:
            c.error("E301", f"{what} in % of target is a fixed percentage, e.g. 150% of target", amount.expr.span)
            return None
        return value
    if value is None or value_ir.type is not Type.MONEY:
        c.error(
            "E301",
            f"{what} is a fixed amount of money, e.g. $5,000, or a percentage of target",
            amount.expr.span,
            "write `150% of target` for a share of the target incentive",
        )
        return None
    if too_large(value):
        c.error("E312", f"{what} of {value:,} is too large to hold", amount.expr.span, too_large_hint())
        return None
    return value
