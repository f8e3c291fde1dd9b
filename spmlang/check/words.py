"""The words a plan may write for each setting, and what each means.

The checker reads a plan's words through these tables, and the language server offers them (completion and
hover), so that the two never disagree about the language.
"""

from __future__ import annotations

from spmlang.ir.kinds import (
    AttainmentBasis,
    ClawbackMode,
    Conversion,
    Frequency,
    Measure,
    MeasureBasis,
    Per,
    Prorate,
    Role,
    TableKind,
    TierMode,
)

# plan { payout quarterly }: the frequency each word means.
FREQUENCY_WORDS = {
    "monthly": Frequency.MONTHLY,
    "month": Frequency.MONTHLY,
    "quarterly": Frequency.QUARTERLY,
    "quarter": Frequency.QUARTERLY,
    "half_yearly": Frequency.HALF_YEARLY,
    "half": Frequency.HALF_YEARLY,
    "semiannual": Frequency.HALF_YEARLY,
    "semiannually": Frequency.HALF_YEARLY,
    "yearly": Frequency.YEARLY,
    "year": Frequency.YEARLY,
    "annual": Frequency.YEARLY,
    "annually": Frequency.YEARLY,
}
# plan { measure year_to_date }
MEASURE_WORDS = {
    "year_to_date": Measure.YEAR_TO_DATE,
    "ytd": Measure.YEAR_TO_DATE,
    "period_to_date": Measure.PERIOD_TO_DATE,
    "ptd": Measure.PERIOD_TO_DATE,
}
# plan { attainment against annual quota }
BASIS_WORDS = {
    "to_date": AttainmentBasis.TO_DATE,
    "quota_to_date": AttainmentBasis.TO_DATE,
    "annual": AttainmentBasis.ANNUAL,
    "period": AttainmentBasis.PERIOD,
}
# column NAME TYPE: other names people give the types.
TYPE_ALIASES = {
    "string": "text",
    "int": "integer",
    "decimal": "number",
    "float": "number",
    "boolean": "bool",
    "currency": "money",
}
# How a number column may write 1234.56 (column amount money "1.234,56").
NUMBER_FORMATS = ("1234.56", "1,234.56", "1234,56", "1.234,56", "1 234,56", "1 234.56", "1'234.56")

# component { on rollup credit }, cap ... for rollup credit
ROLE_WORDS = {"direct": Role.DIRECT, "rollup": Role.ROLLUP, "team": Role.ROLLUP}
# tiers marginal on attainment { ... }
TIER_MODES = tuple(TierMode)
# tiers ... on attainment, curve on row credit: the basis each sequence of words names.
BASIS = {
    ("attainment",): MeasureBasis.ATTAINMENT,
    ("credit",): MeasureBasis.CREDIT,
    ("row", "credit"): MeasureBasis.ROW,
}
BASIS_TEXT = {MeasureBasis.ATTAINMENT: "attainment", MeasureBasis.CREDIT: "credit", MeasureBasis.ROW: "row credit"}
# Words that mean "each row" in a basis (`on deal credit`): a hint may suggest `row credit` for them.
ROW_WORDS = ("row", "rows", "deal", "transaction")
# curve ... extend below, above
CURVE_EXTENDS = ("below", "above")

# quotas { per year }: whether a table holds an amount per period or per year, and its default.
PER_WORDS = {
    "period": Per.PERIOD,
    "year": Per.YEAR,
    "annual": Per.YEAR,
    "yearly": Per.YEAR,
    "quarter": Per.PERIOD,
    "month": Per.PERIOD,
    "half": Per.PERIOD,
}
DEFAULT_PER = {TableKind.QUOTAS: Per.PERIOD, TableKind.TARGETS: Per.YEAR}
# clawback as_paid: how a cancelled transaction is clawed back.
CLAWBACK_WORDS = {
    "as_paid": ClawbackMode.AS_PAID,
    "at_rate": ClawbackMode.AT_RATE,
    "recalculate": ClawbackMode.RECALCULATE,
}
# draw { recoverable }: whether what a draw tops up is taken back from later pay.
DRAW_KIND_WORDS = {"recoverable": True, "non_recoverable": False}
# draw { amount $2,000 per month }: the units a draw's amount may be given per, in months.
DRAW_PER_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}

# roster { prorate by days }: how a dated roster prorates quotas and targets.
PRORATE_WORDS = {
    "days": Prorate.DAYS,
    "day": Prorate.DAYS,
    "months": Prorate.MONTHS,
    "month": Prorate.MONTHS,
    "none": Prorate.NONE,
}
# transactions { currency cur at period end }: the words after `at`, and the rate each means.
CONVERSION_WORDS: dict[tuple[str, ...], Conversion] = {
    ("transaction", "date"): Conversion.TRANSACTION_DATE,
    ("period", "end"): Conversion.PERIOD_END,
    ("fixed", "rate"): Conversion.FIXED,
    ("fixed", "rates"): Conversion.FIXED,
}
