"""The words a plan may write for each setting, and what each means.

The checker reads a plan's words through these tables, and the language server offers them (completion and
hover), so that the two never disagree about the language.
"""

from __future__ import annotations

# plan { payout quarterly }: the frequency each word means.
FREQUENCY_WORDS = {
    "monthly": "monthly",
    "month": "monthly",
    "quarterly": "quarterly",
    "quarter": "quarterly",
    "half_yearly": "half_yearly",
    "half": "half_yearly",
    "semiannual": "half_yearly",
    "semiannually": "half_yearly",
    "yearly": "yearly",
    "year": "yearly",
    "annual": "yearly",
    "annually": "yearly",
}
# plan { measure year_to_date }
MEASURE_WORDS = {
    "year_to_date": "year_to_date",
    "ytd": "year_to_date",
    "period_to_date": "period_to_date",
    "ptd": "period_to_date",
}
# plan { attainment against annual quota }
BASIS_WORDS = {"to_date": "to_date", "quota_to_date": "to_date", "annual": "annual", "period": "period"}
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
ROLE_WORDS = {"direct": "direct", "rollup": "rollup", "team": "rollup"}
# tiers marginal on attainment { ... }
TIER_MODES = ("marginal", "retroactive")
# tiers ... on attainment, curve on row credit: the basis each sequence of words names.
BASIS = {("attainment",): "attainment", ("credit",): "credit", ("row", "credit"): "row"}
BASIS_TEXT = {"attainment": "attainment", "credit": "credit", "row": "row credit"}
# Words that mean "each row" in a basis (`on deal credit`): a hint may suggest `row credit` for them.
ROW_WORDS = ("row", "rows", "deal", "transaction")
# curve ... extend below, above
CURVE_EXTENDS = ("below", "above")

# quotas { per year }: whether a table holds an amount per period or per year, and its default.
PER_WORDS = {
    "period": "period",
    "year": "year",
    "annual": "year",
    "yearly": "year",
    "quarter": "period",
    "month": "period",
    "half": "period",
}
DEFAULT_PER = {"quotas": "period", "targets": "year"}
