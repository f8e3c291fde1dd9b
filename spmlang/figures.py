"""Money, rates and percentages as people read them: one place for every figure spm prints or writes.

The engine writes its explanations column-wise (:mod:`spmlang.engine.kernels.column_text`), with these same
rules for a single value; the summary, the calculation trail, statements, ``spm diff`` and ``spm test`` print
with these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATE_DECIMALS = 4  # a rate for people: 1/6 is 16.6667%, enough to redo a line's figure to the cent


def format_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def format_percent(value: Decimal) -> str:
    """A fixed rate for people, with at most :data:`RATE_DECIMALS` decimals, half away from zero:
    Decimal('0.125') -> '12.5%', 1/6 -> '16.6667%'."""
    shown = (value * 100).quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_HALF_UP).normalize()
    if shown == 0:
        shown = Decimal(0)  # not '-0%'
    return f"{shown:f}%"


def format_number(value: float) -> str:
    """One plain number for people, up to four decimals: 1.5 -> '1.5' (as :func:`number` writes a column)."""
    scaled = int(abs(value) * 10000 + 0.5)
    whole, fraction = divmod(scaled, 10000)
    shown = f"{whole}.{fraction:04d}".rstrip("0").rstrip(".")
    return ("-" if value < 0 and scaled else "") + shown


def percent_text(ratio, decimals: int = 2) -> str:
    if ratio is None or ratio != ratio:
        return ""
    step = 10**decimals
    scaled = int(abs(ratio) * 100 * step + 0.5)
    whole, fraction = divmod(scaled, step)
    shown = f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".")
    return ("-" if ratio < 0 and scaled else "") + shown + "%"


def to_cents(value: Decimal) -> Decimal:
    """An amount with its two decimals where it is whole cents (8000 -> 8000.00), else exact."""
    return value.quantize(CENT) if value == value.quantize(CENT) else value


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{to_cents(value):,}"


def percent(ratio: Decimal | None) -> str:
    if ratio is None:
        return ""
    shown = (ratio * 100).quantize(Decimal("0.01")).normalize()
    return f"{shown:f}%"


def cents_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def signed_money(value: Decimal) -> str:
    return ("+" if value > 0 else "") + money(value)


def units_text(units: int) -> str:
    """An amount in the engine's units (millionths) to the cent, half away from zero: 1234565000 -> 1,234.57."""
    cents = (abs(units) + 5_000) // 10_000
    return cents_text(-cents if units < 0 else cents)


def change_percent(ratio: Decimal) -> str:
    """A change as a share of what it changes, signed, two decimals: Decimal('0.18372') -> '+18.37%'."""
    return f"{ratio * 100:+.2f}%"


def ledger_amount(units: int) -> str:
    """An amount in units as the ledger's explanations write it: two decimals, no separators (1234.50)."""
    return f"{Decimal(units).scaleb(-6):.2f}"


def reason_text(reason: str) -> str:
    """A reject reason as people read it: ``outside_year`` -> ``outside year``."""
    return reason.replace("_", " ")


UPLIFT = "uplift on earlier credit"  # a slice of a retroactive tier line: what reaching the tier adds to earlier credit
