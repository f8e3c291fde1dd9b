"""spmlang: sales compensation plans as checked, tested, explainable code.

    import spmlang
    plan = spmlang.load("plan.spm")
    result = plan.run(deals="deals.parquet", quotas="quotas.csv")
    print(result.summary())
"""

from spmlang.api import Plan, Result, load, loads
from spmlang.diagnostics import AmountTooLarge, Diagnostic, InputError, OutputError, PlanError, SpmError, UsageError

__version__ = "0.1.0"

__all__ = ["AmountTooLarge", "Diagnostic", "InputError", "OutputError", "Plan", "PlanError", "Result", "SpmError", "UsageError", "load",
           "loads", "__version__"]
