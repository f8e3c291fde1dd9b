"""The closed sets of words a checked plan uses: payout frequency, measure, roles, tier modes, line kinds ...

Each is a :class:`~enum.StrEnum`: a member is its word (``Role.ROLLUP == "rollup"``, and it prints as
``rollup``), so the ledger, the manifest and every message read as before, while code compares against a
name the type checker knows instead of a bare string.
"""

from __future__ import annotations

from enum import StrEnum


class Frequency(StrEnum):
    """How often a plan pays: its periods in a year."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def periods(self) -> int:
        return PERIODS_PER_YEAR[self]


PERIODS_PER_YEAR = {Frequency.MONTHLY: 12, Frequency.QUARTERLY: 4, Frequency.HALF_YEARLY: 2, Frequency.YEARLY: 1}


class Measure(StrEnum):
    """What a payee's credit accumulates over: the year so far, or each period alone."""

    YEAR_TO_DATE = "year_to_date"
    PERIOD_TO_DATE = "period_to_date"


class AttainmentBasis(StrEnum):
    """What attainment divides by: the quota to date, the annual quota, or the period's quota."""

    TO_DATE = "to_date"
    ANNUAL = "annual"
    PERIOD = "period"


class TierMode(StrEnum):
    MARGINAL = "marginal"  # each slice of the measure at its own tier's rate
    RETROACTIVE = "retroactive"  # the rate of the tier reached applies to the whole measure


class MeasureBasis(StrEnum):
    """What tiers or a curve are read on."""

    ATTAINMENT = "attainment"  # the measure over the quota basis
    CREDIT = "credit"  # the accumulated credit
    ROW = "row"  # each row's own credit


class RateKind(StrEnum):
    """What a tier's value is."""

    RATE = "rate"  # a share of credit (8%)
    MONEY = "money"  # an amount per unit of counted credit
    MULTIPLIER = "multiplier"  # a multiple of the component's rate (an accelerator)


class Role(StrEnum):
    """Whose credit a credit row is: the payee's own, or a team member's rolled up to a manager."""

    DIRECT = "direct"
    ROLLUP = "rollup"

    @property
    def code(self) -> int:
        """The role's number in the engine's int8 columns (see spmlang.engine.credit.rows)."""
        return 0 if self is Role.DIRECT else 1


class ComponentKind(StrEnum):
    COMPONENT = "component"
    SPIF = "spif"
    BONUS = "bonus"


class LineKind(StrEnum):
    """The kind of a ledger line. The order is the engine's code for each (an int8 column)."""

    EARNING = "earning"
    SPIF = "spif"
    BONUS = "bonus"
    TRUE_UP = "true_up"
    CAP = "cap"
    GATE = "gate"
    DRAW = "draw"
    DRAW_RECOVERY = "draw_recovery"
    CLAWBACK = "clawback"
    ADJUSTMENT = "adjustment"  # a closed period's pay corrected in the first open one (runs with --paid)
    HOLD = "hold"  # earned, not yet payable (`payable when`)
    RELEASE = "release"  # a held amount, now payable
    FLOOR = "floor"  # a period's pay topped up to the payout floor
    FLOOR_RECOVERY = "floor_recovery"  # what a floor topped up, taken back from later pay

    FX = "fx"  # a period's payout converted to the currency the payee is paid in (amount 0; amount_paid)


# The lines of a recoverable draw and of the payout floor carry the balance owed after them; holds and releases
# move what is held. Draws and floors are decided once, when their period is paid (never re-priced later).
DRAW_KINDS = (LineKind.DRAW, LineKind.DRAW_RECOVERY)
FLOOR_KINDS = (LineKind.FLOOR, LineKind.FLOOR_RECOVERY)
GUARANTEE_KINDS = DRAW_KINDS + FLOOR_KINDS
HOLD_KINDS = (LineKind.HOLD, LineKind.RELEASE)


class ClawbackMode(StrEnum):
    """How a cancelled or refunded transaction is clawed back (`clawback as_paid`)."""

    AS_PAID = "as_paid"  # reverse what its lines paid
    AT_RATE = "at_rate"  # its credit at the rate it earned; fixed amounts are kept
    RECALCULATE = "recalculate"  # its credit leaves the measure on the cancellation date; the year re-priced


class CapScope(StrEnum):
    """What a cap limits: each row, each period, or the year."""

    ROW = "row"
    PERIOD = "period"
    YEAR = "year"


class TableKind(StrEnum):
    QUOTAS = "quotas"
    TARGETS = "targets"
    ROSTER = "roster"
    LOOKUP = "lookup"
    FX = "fx"


class Per(StrEnum):
    """Whether a quotas or targets table holds an amount per period or per year."""

    PERIOD = "period"
    YEAR = "year"


class PolicySubject(StrEnum):
    """What can be wrong with an input row (``on REASON reject|error`` in a plan)."""

    INVALID_VALUE = "invalid_value"  # a value that cannot be read as its column's type
    MISSING_VALUE = "missing_value"  # an empty key, payee, date or credit
    MISSING_LOOKUP = "missing_lookup"  # a lookup key not in its table (and no default)
    OUTSIDE_YEAR = "outside_year"  # a date outside the plan year
    MISSING_QUOTA = "missing_quota"  # attainment needed but no (or a zero) quota
    DUPLICATE_KEY = "duplicate_key"  # a transaction key seen before
    BAD_SPLIT = "bad_split"  # shares over 100%, or a share without a payee
    OUTSIDE_EMPLOYMENT = "outside_employment"  # dated before, after or between its payee's rows in the roster
    MISSING_FX_RATE = "missing_fx_rate"  # no rate to convert the row's currency at


class PolicyAction(StrEnum):
    """What to do with such a row: "reject" keeps the run going and lists the row in the rejects with its
    reason; "error" stops the run."""

    REJECT = "reject"
    ERROR = "error"


# ---------------------------------------------------------------------- a dated roster, currencies


class Prorate(StrEnum):
    """How a dated roster prorates a period's quota and target incentive (`prorate by days` ...)."""

    DAYS = "days"  # x days employed (times eligibility) / days in the period
    MONTHS = "months"  # x whole months employed / months in the period
    NONE = "none"  # the whole amount, whatever the dates


class Conversion(StrEnum):
    """At which rate a transaction's money converts to the plan currency (`currency cur at period end` ...)."""

    TRANSACTION_DATE = "transaction_date"  # the rate in force on the transaction's date
    PERIOD_END = "period_end"  # the rate in force on the last day of its period
    FIXED = "fixed"  # the fx table's one rate per currency


def as_kind(kind: type[StrEnum], value):
    """``value`` as a member of ``kind`` (None stays None): the checked plan holds members, whoever made it."""
    return None if value is None else kind(value)
