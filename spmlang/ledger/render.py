"""The run summary for people: a rich table in a terminal, plain text elsewhere."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from spmlang.ledger.summary import MAX_SHOWN, Summary, cents_text, units_text


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
        table.caption = (f"showing the {len(shown)} largest of {len(summary.rows)} payee-periods; "
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
    lines = [f"rows read {counts['read']:,}: credited {counts['credited']:,}, excluded {excluded:,}, "
             f"rejected {rejected:,}"]
    for name, count in counts["excluded"].items():
        lines.append(f"  excluded by filter {name}: {count:,}")
    for reason, count in counts["rejected"].items():
        lines.append(f"  rejected, {reason.replace('_', ' ')}: {count:,}")
    return "\n".join(lines)


def summary_renderable(summary: Summary):
    counts = summary.accounting
    style = "yellow" if sum(counts["rejected"].values()) else "dim"
    return Group(payout_table(summary), Text(accounting_text(summary), style=style))


def render_text(summary: Summary, width: int = 160) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=False, file=_Null())
    console.print(summary_renderable(summary))
    return console.export_text()


class _Null:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
