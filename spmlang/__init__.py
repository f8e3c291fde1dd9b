"""spmlang: sales compensation plans as checked, tested, explainable code.

import spmlang
plan = spmlang.load("plan.spm")
result = plan.run(deals="deals.parquet", quotas="quotas.csv")
print(result.summary())
"""

from spmlang.api import Plan, Result, load, loads, read_ledger
from spmlang.diagnostics import AmountTooLarge, Diagnostic, InputError, OutputError, PlanError, SpmError, UsageError
from spmlang.version import __version__

__all__ = [
    "AmountTooLarge",
    "Diagnostic",
    "InputError",
    "OutputError",
    "Plan",
    "PlanError",
    "Result",
    "SpmError",
    "UsageError",
    "load",
    "loads",
    "read_ledger",
    "__version__",
]
