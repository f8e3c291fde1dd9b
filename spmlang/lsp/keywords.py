"""What a word of the language means, in a line of docs/language.md (docs/review.md for tests); a test keeps
each line word for word in the manual, so that a hover never says other than it."""

from __future__ import annotations

KEYWORDS: dict[str, str] = {
    # the file
    "plan": "A plan file (`.spm`, UTF-8) holds one plan: a **plan** header, one **transactions** block, "
    "reference **tables**, and **components**.",
    "version": 'version  "2027.1"             # shown on every ledger line (default "1")',
    "currency": "currency USD                  # three-letter code (default USD)",
    "year": "year starts 2027-01-01        # first day of the plan year (required; day 1 to 28, years 1900 to 2999)",
    "starts": "year starts 2027-01-01        # first day of the plan year (required; day 1 to 28, years 1900 to 2999)",
    "payout": "payout quarterly              # monthly | quarterly | half_yearly | yearly",
    "measure": "`measure` decides how credit accumulates: year to date, or afresh each period.",
    "against": "attainment against annual quota   # optional: annual quota | period quota | quota_to_date",
    # the transactions block
    "transactions": 'file "deals.csv"                        # optional; --deals on the command line wins',
    "file": 'file "deals.csv"                        # optional; --deals on the command line wins',
    "column": "column deal_id    text                  # every column the plan uses, with its type",
    "key": "key    deal_id                          # unique id (text or integer)",
    "date": "date   close_date                       # the date that places a row in a period",
    "payee": "payee  owner                            # who is credited",
    "credit": "credit amount                           # how much (money, or a number to count)",
    "where": 'where won: stage == "Closed Won"        # named filters; excluded rows are counted by name',
    "rollup": "rollup to manager                       # managers above each payee get rollup credit",
    "share": "payee rep1 share share1        # share: a column, or an expression such as 60%",
    "on": "on missing_lookup error                 # what to do with bad rows (below)",
    # tables
    "quotas": "quotas {                  # payee x period -> quota",
    "targets": "targets {                 # target incentive per payee: per year (default) or per period",
    "roster": "roster {                  # payee -> manager, for rollups",
    "table": "table products {          # a lookup table",
    "per": "per period              # or: per year (spread evenly over the periods)",
    "period": "period quarter          # 2027-Q1, Q1, 2027-02 (a month) or any date inside the period",
    "amount": "amount quota",
    "manager": "manager manager",
    "value": "value series            # optional: the column `products[x]` returns",
    "fx": "fx {                       # rates to the plan currency: 1 EUR = 1.08531 USD in a USD plan",
    "start": "start       hired        # a row's first day (empty: before the plan year)",
    "end": "end         left         # its last day (empty: until the payee's next row starts, or on)",
    "eligibility": "eligibility fte          # optional: a share of quota and target, 0% to 100% (empty: 100%)",
    "prorate": "prorate by days          # by days (the default) | by months | none",
    "fallback": "fallback house                          # optional: credited in place of a payee not employed "
    "(see A roster with dates)",
    "default": 'default "other"         # optional: the value for a key not in the table',
    "rows": "In table rows (below) a bare word is text: `alice 2027-Q1 $100,000`.",
    # components
    "component": "component NAME { ... }     # kind `earning` lines",
    "spif": "spif NAME { ... }          # kind `spif` lines",
    "from": "`from DATE { ... }`: the component's earning rule (and multipliers) from that date on; rows dated "
    "before are paid as before.",
    "bonus": "bonus NAME { ... }         # for `pay ... once` bonuses",
    "rate": "`rate R`: credit x R. R is a percentage (or money per unit, for counted credit), and may be an "
    "expression (`rate rates[product]`, or `rate target / quota`: each payee's annual target incentive "
    "over their annual quota).",
    "accelerator": "`rate R` with `accelerator on attainment { LOW .. HIGH Mx ... }`: marginal tiers whose rates "
    "are R times each multiplier.",
    "tiers": "`tiers marginal on BASIS { LOW .. HIGH rate R ... }`: each slice of the measure is paid at its own "
    "tier's rate.",
    "curve": "`curve on BASIS { X -> Y ... }`: payout linear between points; Y is money or `P% of target`.",
    "pay": "`pay AMOUNT per WORD`: a fixed amount (an expression) for each row it pays.",
    "once": "`pay AMOUNT once when CONDITION [by DATE]`: once per payee, at the end of the first period whose "
    "condition holds (ending by DATE).",
    "multiplier": "`multiplier Mx when CONDITION`: multiplies the row's line (several multiply).",
    "cap": "`cap AMOUNT per row|period|year` (also `per quarter`/`per month`... when that is the plan's period): "
    "money, or `P% of target`.",
    "gate": "`gate CONDITION`: the component pays nothing for a period unless the condition holds at its end.",
    "clawback": "clawback as_paid               # as_paid (the default) | at_rate | recalculate",
    "payable": "payable when paid_date is not empty   # pay on cash collection: held until the condition holds",
    "cancelled": "cancelled cancel_date          # the day the transaction was cancelled or refunded "
    "(empty: it was not)",
    "refunded": "refunded  refunded             # optional: how much of its credit was refunded (empty: all of it)",
    "draw": "draw {                           # a pay guaranteed per period: earnings below it are topped up",
    "extend": "`extend below` / `extend above` extend the first or last slope instead.",
    "marginal": "`tiers marginal on BASIS { LOW .. HIGH rate R ... }`: each slice of the measure is paid at its "
    "own tier's rate.",
    "retroactive": "`tiers retroactive on BASIS { ... }`: the rate of the tier reached applies to all the measure; "
    "the row that lifts the payee into a higher tier carries the uplift on earlier credit.",
    "of": "AMOUNT is money or `P% of target` (of the annual target incentive).",
    # expressions
    "if": "| choice | `if term_months >= 24 then 1.2 else 1` |",
    "and": "| logic | `and`, `or`, `not` (an unknown value is neither true nor false) |",
    "or": "| logic | `and`, `or`, `not` (an unknown value is neither true nor false) |",
    "not": "| logic | `and`, `or`, `not` (an unknown value is neither true nor false) |",
    "in": "| ranges | `close_date in 2027-03-01 .. 2027-03-31` (both ends included) |",
    "is": "| empty values | `cancel_date is empty`, `is not empty` |",
    "empty": "| empty values | `cancel_date is empty`, `is not empty` |",
    # the values spm provides
    "attainment": "Attainment is the accumulated credit divided by the **quota basis**: the quota to date "
    "(default with `year_to_date`), the period's quota (default with `period_to_date`), or the "
    "annual quota.",
    "quota": "the payee's **annual** `quota` (the sum of their quotas over the plan year)",
    "target": "**annual** `target` (incentive), whatever the plan's quota basis",
    "count": "`count` (rows so far), and no columns.",
    # settings' words
    "year_to_date": "measure year_to_date          # year_to_date (default) | period_to_date",
    "period_to_date": "measure year_to_date          # year_to_date (default) | period_to_date",
    "monthly": "payout quarterly              # monthly | quarterly | half_yearly | yearly",
    "quarterly": "payout quarterly              # monthly | quarterly | half_yearly | yearly",
    "half_yearly": "payout quarterly              # monthly | quarterly | half_yearly | yearly",
    "yearly": "payout quarterly              # monthly | quarterly | half_yearly | yearly",
    "reject": "`reject` (the default: the row is left out, listed in the rejects with its reason, and counted)",
    "error": "`error` (the run stops)",
}

# `on` in a component (`on rollup credit`), where it means other than in the transactions block.
ON_CREDIT = (
    "`on rollup credit`: pay on the rollup credit of the people under the payee (a manager's "
    "override) instead of on their own credit."
)

# Words inside a statement: they mean what their statement means (`per` of `cap ... per year`).
INNER_WORDS = frozenset({"per", "when", "by", "for", "to", "from", "starts", "at"})

# The words of tests, from docs/review.md.
TEST_KEYWORDS: dict[str, str] = {
    "test": "A test gives small tables (transactions, and the quotas, targets, roster and lookup tables the plan "
    "needs), typed by the plan's own column declarations",
    "columns": "`columns` says which columns the rows give, in order (others are empty)",
    "expect": "| `expect payout PAYEE [in PERIOD] [for COMPONENT] == $X` | the sum of the payee's lines |",
    "line": "| `expect line TXN [for COMPONENT] [of PAYEE] == $X` | the sum of a transaction's lines |",
    "paid": "| `expect paid PAYEE [in PERIOD] == X [CURRENCY]` | the payout in the currency the payee is paid in (a "
    "roster with currencies: their `fx` lines' amounts paid; else the payout), and that currency |",
    "excluded": "| `expect excluded TXN [FILTER]` | the row is excluded (by FILTER) |",
    "strict": '| `expect error CODE ["text"]` | the run fails with CODE (add `strict` to make rejects errors) |',
}

# A value spm provides, and where (docs/language.md, "What an expression can see").
BUILTINS: dict[str, str] = {
    "credit": "in a component (`where`, `rate`, `pay`, `multiplier`): also `credit` (the credit row's credit), "
    "`share`, `payee`",
    "share": "in a component (`where`, `rate`, `pay`, `multiplier`): also `credit` (the credit row's credit), "
    "`share`, `payee`",
    "payee": "in a component (`where`, `rate`, `pay`, `multiplier`): also `credit` (the credit row's credit), "
    "`share`, `payee`",
    "quota": KEYWORDS["quota"],
    "target": KEYWORDS["target"],
    "attainment": KEYWORDS["attainment"],
    "count": KEYWORDS["count"],
}

FUNCTIONS_LINE = (
    "| functions | `min`, `max`, `abs`, `coalesce`, `upper`, `lower`, `trim`, "
    '`replace(text, "find", "put")`, `year`, `month`, `days_between(a, b)` |'
)
