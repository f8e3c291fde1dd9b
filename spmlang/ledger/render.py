"""The run summary for people: a rich table in a terminal, plain text elsewhere."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from spmlang.ledger.summary import MAX_SHOWN, Summary, cents_text, reason_text, units_text


def _attainment(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def payout_table(summary: Summary) -> Table:
    table = Table(title=f"{summary.plan} — payout ({summary.currency})", title_justify="left", show_footer=True)
    table.add_column("payee", footer="total")
    table.add_column("period")
    table.add_column("credit", justify="right")
    table.add_column("attainment", justify="right")
    for i, name in enumerate(summary.components):
        total = sum(r.by_component[i] for r in summary.rows)
        table.add_column(name, justify="right", footer=cents_text(total))
    table.add_column("total", justify="right", footer=cents_text(summary.total), style="bold")
    shown = summary.rows if len(summary.rows) <= MAX_SHOWN else _largest(summary)
    for row in shown:
        credit = units_text(row.credit) if not summary.counted_credit else f"{row.credit / 1_000_000:g}"
        table.add_row(row.payee, row.period, credit, _attainment(row.attainment),
                      *[cents_text(v) for v in row.by_component], cents_text(row.total))
    if len(shown) < len(summary.rows):
        table.caption = (f"showing the {len(shown)} largest of {len(summary.rows):,} payee-periods; "
                         "the totals cover all of them (write the ledger with --out)")
    return table


def _largest(summary: Summary):
    ranked = sorted(summary.rows, key=lambda r: -abs(r.total))[:MAX_SHOWN]
    keep = {id(r) for r in ranked}
    return [r for r in summary.rows if id(r) in keep]


def accounting_text(summary: Summary) -> str:
    counts = summary.accounting
    excluded = sum(counts["excluded"].values())
    rejected = sum(counts["rejected"].values())
    lines = []
    for name, label, rows in summary.inputs:
        if name == "transactions":
            lines.append(f"transactions ({label}): rows read {counts['read']:,}: credited {counts['credited']:,}, "
                         f"excluded {excluded:,}, rejected {rejected:,}")
            for filter_name, count in counts["excluded"].items():
                lines.append(f"  excluded by filter {filter_name}: {count:,}")
            for reason, count in counts["rejected"].items():
                lines.append(f"  rejected, {reason_text(reason)}: {count:,}")
        else:
            lines.append(f"{name} ({label}): rows read {rows:,}, all used")
    return "\n".join(lines)


def summary_renderable(summary: Summary):
    counts = summary.accounting
    style = "yellow" if sum(counts["rejected"].values()) else "dim"
    warnings = [Text(f"warning: {warning}", style="bold yellow") for warning in summary.warnings]
    return Group(payout_table(summary), Text(accounting_text(summary), style=style), *warnings)


def render_text(summary: Summary, width: int = 160) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False, file=_Null())
    console.print(summary_renderable(summary))
    return console.export_text()


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def explanation_renderable(explanation):
    """The calculation trail of a payee, as a person reads it."""
    from spmlang.ledger.explain import money, percent

    parts = [Text(f"{explanation.payee} — {explanation.plan} (version {explanation.version}, "
                  f"plan sha256 {explanation.plan_hash[:12]})", style="bold")]
    for period in explanation.periods:
        head = f"\n{period.period}   credit {money(period.credit)}"
        if period.attainment is not None:
            head += f"   attainment {percent(period.attainment)}"
        parts.append(Text(head, style="bold"))
        for line in period.lines:
            parts.append(_trail_line(line))
        components = ", ".join(f"{name} {money(amount)}" for name, amount in period.by_component.items())
        parts.append(Text(f"  period total {money(period.total)} ({components})   year to date "
                          f"{money(period.year_to_date)}", style="bold"))
    if not explanation.periods:
        parts.append(Text("no ledger lines"))
    return Group(*parts)


def _trail_line(line) -> Text:
    from spmlang.engine.text import pretty
    from spmlang.ledger.explain import UPLIFT, money, percent

    what = "  ".join(x for x in (line.txn or "—", line.date or "", line.component or "(no component)", line.kind) if x)
    text = Text(f"  {what}".ljust(70) + f"{money(line.amount):>14}\n", style="")
    text.append(f"      {line.clause}  {line.source}\n", style="dim")
    if line.credit is not None:
        measure = f"credit {money(line.credit)}   measure {money(line.measure_before)} → {money(line.measure_after)}"
        if line.attainment_after is not None:
            measure += f"   attainment {percent(line.attainment_before)} → {percent(line.attainment_after)}"
        text.append(f"      {measure}\n")
    for piece in line.slices:
        if piece.tier == UPLIFT:
            text.append(f"      {UPLIFT} {money(piece.credit)} ({piece.rate}) = {money(piece.amount)}\n")
        else:
            text.append(f"      {money(piece.credit)} at {piece.rate} in tier {piece.tier} = {money(piece.amount)}\n")
    if not line.slices:
        text.append(f"      {pretty(line.explanation)}\n")
    elif line.multiplier not in (None, Decimal(1)):
        text.append(f"      × multiplier {line.multiplier.normalize()}x = {money(line.exact)}\n")
    if line.amount_cut and line.kind in ("cap", "gate"):
        text.append(f"      cut {money(line.amount_cut)}\n")
    if line.rounding:
        text.append(f"      exact {line.exact.normalize():f}, {money(line.amount)} after cumulative rounding\n",
                    style="dim")
    text.rstrip()
    return text


def statement_renderable(statement):
    """One pay statement in the terminal."""
    from spmlang.ledger.explain import money, percent

    s = statement
    head = Text(f"{s.payee} — {s.period} ({s.period_start} to {s.period_end})\n", style="bold")
    head.append(f"{s.plan}, version {s.version}\n", style="dim")
    figures = [f"payout {money(s.payout)} {s.currency}", f"year to date {money(s.year_to_date)}",
               f"credit {money(s.credit)}"]
    if s.quota is not None:
        figures.append(f"quota {s.basis} {money(s.quota)}")
    if s.attainment is not None:
        figures.append(f"attainment {percent(s.attainment)}")
    head.append("   ".join(figures))
    parts = [head]
    for title, lines, total in (("Earnings", s.earnings, s.earned), ("Adjustments", s.adjustments, s.adjusted)):
        if not lines:
            continue
        table = Table(title=title, title_justify="left", show_footer=True, expand=False)
        table.add_column("date", footer=title.lower())
        table.add_column("deal")
        table.add_column("component")
        table.add_column("how", overflow="fold")
        table.add_column("amount", justify="right", footer=money(total))
        for line in lines:
            component = line.component + ("" if line.kind == "earning" else f" ({line.kind})")
            table.add_row(line.date, line.txn or "—", component, line.words, money(line.amount))
        parts.append(table)
    parts.append(Text(f"payout {s.period}: earnings {money(s.earned)} + adjustments {money(s.adjusted)} = "
                      f"{money(s.payout)}", style="bold"))
    return Group(*parts)
