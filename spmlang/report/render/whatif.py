"""A what-if as a rep reads it in a terminal: the deal, what it pays and why (its lines explained as ``spm
explain`` explains them), and every payout it changes, in later periods and for other payees too."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Group
from rich.text import Text

from spmlang.figures import money, signed_money
from spmlang.report.render.terminal import Sheet, SheetColumn, explanation_renderable
from spmlang.visible import visible


def whatif_renderable(whatif):
    """``whatif`` (a :class:`spmlang.whatif.WhatIf`) for a person at a terminal."""
    plan = f"{visible(whatif.plan)} (version {visible(whatif.version)})"
    parts: list = [Text(f"What if — {plan}, amounts in {whatif.currency}", style="bold")]
    for deal in whatif.deals:
        parts.append(_deal(deal))
    for explanation in whatif.explanations:
        parts += [Text(""), explanation_renderable(explanation)]
    parts.append(Text(""))
    if whatif.changes:
        parts += [_changes(whatif), _in_all(whatif)]
    else:
        parts.append(Text("No payout changes: every payee is paid as before.", style="bold"))
    if whatif.owed:
        owed = Text("\nAt the end of the run:", style="bold")
        for o in whatif.owed:
            owed.append(f"\n  {visible(o.payee)}: {o.what} {money(o.before)} -> {money(o.after)}")
        parts.append(owed)
    return Group(*parts)


def _deal(deal) -> Text:
    values = "   ".join(
        f"{visible(name)} {visible(value)}" for name, value in deal.values.items() if name not in deal.columns
    )
    text = Text(f"\n{visible(deal.payee)} closes {visible(deal.key)}: ", style="bold")
    text.append(values)
    if deal.fate == "credited":
        text.append(f"\n  its own lines pay {money(deal.paid)}", style="bold")
        return text
    text.append("\n  pays nothing: ", style="bold yellow")
    if deal.fate == "excluded":
        text.append(f"{visible(deal.why)} leaves it out", style="yellow")
    else:
        text.append(f"it would be rejected: {visible(deal.why)}", style="yellow")
    if deal.hint:
        text.append(f"\n  = hint: {visible(deal.hint)}")
    return text


def _changes(whatif) -> Sheet:
    rows = [
        [c.payee, c.period, c.component or "(plan)", money(c.before), money(c.after), signed_money(c.difference)]
        for c in whatif.changes
    ]
    return Sheet(
        "What it changes (payout before and after the deal)",
        [
            SheetColumn("payee", heading=True, footer="total"),
            SheetColumn("period", heading=True),
            SheetColumn("component", heading=True),
            SheetColumn("before", number=True),
            SheetColumn("after", number=True),
            SheetColumn("change", number=True, footer=signed_money(whatif.difference), style="bold"),
        ],
        rows,
    )


def _in_all(whatif) -> Text:
    """One line a rep reads first: the change over the year, per payee it reaches."""
    by_payee: dict[str, Decimal] = {}
    for change in whatif.changes:
        by_payee[change.payee] = by_payee.get(change.payee, Decimal("0.00")) + change.difference
    each = ", ".join(f"{visible(payee)} {signed_money(amount)}" for payee, amount in by_payee.items())
    text = Text(f"Over the year: {signed_money(whatif.difference)} ({each})", style="bold")
    own = sum((deal.paid for deal in whatif.deals), Decimal("0.00"))
    moved = whatif.difference - own
    if moved:
        text.append(
            f"\n  the deal's own lines {signed_money(own)}; other lines it moves {signed_money(moved)} (deals after it"
            " priced in another tier, true-ups of later periods, caps and gates)"
        )
    return text
