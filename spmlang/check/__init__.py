"""Stage 2: syntax tree to checked plan (names resolved, types checked, structures validated)."""

from spmlang.check.checker import check_plan
from spmlang.ir.plan import CheckedPlan

__all__ = ["CheckedPlan", "check_plan"]
