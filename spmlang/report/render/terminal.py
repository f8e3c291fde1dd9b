"""What people read in a terminal: the run summary, the calculation trail, pay statements.

Tables are sheets (:class:`Sheet`): at any width every amount and name is shown whole (never "133,828…").
One module, though long: every view a terminal shows (summary, trail, statement) shares the sheets' layout.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group
from rich.table import Table
from rich.text import Text

from spmlang.figures import UPLIFT, cents_text, money, percent, reason_text, units_text
from spmlang.ir.kinds import LineKind
from spmlang.report.render.ruled import drawable, ruled_lines
from spmlang.visible import visible


# What the terminal reads of a run's summary (spmlang.report.summary): named here, not imported, because the
# summary prints itself through this module (print(result.summary())).
class SummaryRow(Protocol):
    payee: str
    period: str
    credit: int  # units
    attainment: float | None
    by_component: list[int]  # cents, one per component
    total: int  # cents


class Summary(Protocol):
    plan: str
    currency: str
    components: list[str]
    accounting: dict
    counted_credit: bool
    inputs: list[tuple[str, str, int]]  # name, where it came from, rows read
    cycle: list[str]  # where the run stands in the pay cycle, what is owed

    @property
    def rows(self) -> Sequence[SummaryRow]: ...

    @property
    def total(self) -> int: ...

    @property
    def warnings(self) -> list[str]: ...


MAX_SHOWN = 60  # payee-periods shown at a terminal


def _attainment(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def payout_table(summary: Summary, limit: int | None = MAX_SHOWN) -> Sheet:
    """The payout per payee and period; of more than ``limit`` rows, the ``limit`` largest."""
    components = [(name, sum(r.by_component[i] for r in summary.rows)) for i, name in enumerate(summary.components)]
    shown = summary.rows if limit is None or len(summary.rows) <= limit else _largest(summary, limit)
    rows = []
    for row in shown:
        credit = units_text(row.credit) if not summary.counted_credit else f"{row.credit / 1_000_000:g}"
        rows.append(
            [
                row.payee,
                row.period,
                credit,
                _attainment(row.attainment),
                *[cents_text(v) for v in row.by_component],
                cents_text(row.total),
            ]
        )
    caption = None
    if len(shown) < len(summary.rows):
        caption = (
            f"showing the {len(shown)} largest of {len(summary.rows):,} payee-periods; "
            "the totals cover all of them (write the ledger with --out)"
        )
    return Sheet(
        f"{summary.plan} — payout ({summary.currency})",
        [
            SheetColumn("payee", footer="total", heading=True),
            SheetColumn("period", heading=True),
            SheetColumn("credit", number=True),
            SheetColumn("attainment", number=True),
            *[SheetColumn(name, number=True, footer=cents_text(total)) for name, total in components],
            SheetColumn("total", number=True, footer=cents_text(summary.total), style="bold"),
        ],
        rows,
        caption=caption,
    )


@dataclass
class SheetColumn:
    name: str
    number: bool = False  # right-justified
    footer: str = ""
    heading: bool = False  # names the row (payee, period) where rows are shown as blocks
    fold: bool = False  # long text, wrapped to the width there is; other cells are never wrapped nor cut
    style: str = ""


FOLDED_WIDTH = 24  # the least a folded column (an explanation) is given before rows are shown as blocks


@dataclass
class Sheet:
    """A table whose cells are shown whole at any width. Columns are as wide as their widest cell (headers
    may wrap); where the console is narrower than that, each row is shown as a block of "column  value"
    lines instead (as psql's expanded display): an amount is never cut to "133,828…", a payee never to
    "ben.oka…"."""

    title: str
    columns: list[SheetColumn]
    rows: list[list[str]]
    caption: str | None = None

    def __post_init__(self) -> None:
        # Cells come from the data (payees, keys, explanations): control characters in them are shown as
        # escapes, before the columns' widths are taken.
        self.title = visible(self.title)
        self.caption = None if self.caption is None else visible(self.caption)
        self.columns = [
            replace(column, name=visible(column.name), footer=visible(column.footer)) for column in self.columns
        ]
        self.rows = [[visible(cell) for cell in row] for row in self.rows]

    def widths(self, headers: bool = False) -> list[int]:
        """Each column's width: that of its widest cell (a folded column's, up to :data:`FOLDED_WIDTH`), and
        with ``headers`` of its header too (else headers wrap)."""
        widths = []
        for i, column in enumerate(self.columns):
            widest = max([cell_len(row[i]) for row in self.rows] + [cell_len(column.footer), 1])
            if column.fold:
                widest = min(widest, FOLDED_WIDTH)
            widths.append(max(widest, cell_len(column.name)) if headers else widest)
        return widths

    def needed(self, widths: list[int], ruled: bool) -> int:
        """The console width a table of columns ``widths`` wide needs: between and around its columns a rule
        and a space either side (``ruled``), or two spaces between them."""
        columns = len(widths)
        return sum(widths) + (3 * columns + 1 if ruled else 2 * (columns - 1))

    def table(self, widths: list[int], ruled: bool = True) -> Table:
        """The table with columns ``widths`` wide; a folded column may be given more, where there is room."""
        footers = any(column.footer for column in self.columns)
        options: dict[str, Any] = (
            {} if ruled else {"box": box.SIMPLE, "show_edge": False, "pad_edge": False, "padding": (0, 1, 0, 0)}
        )
        # Text, not str: a payee named "[bold]x" is shown as it is, not read as markup.
        table = Table(
            title=Text(self.title),
            title_justify="left",
            show_footer=footers,
            caption=None if self.caption is None else Text(self.caption),
            **options,
        )
        for column, width in zip(self.columns, widths, strict=True):
            table.add_column(
                Text(_wrapped(column.name, width)),
                footer=Text(column.footer),
                style=column.style,
                justify="right" if column.number else "left",
                overflow="fold",
                min_width=width,
                max_width=None if column.fold else width,
            )
        for row in self.rows:
            table.add_row(*map(Text, row))
        return table

    def blocks(self) -> Group:
        """The rows as blocks: the heading cells on one line, then one line per other cell."""
        parts = [Text(self.title, style="italic")]
        labels = [column.name for column in self.columns if not column.heading]
        label_width = max(map(cell_len, labels), default=0)
        number_width = max(
            [width for column, width in zip(self.columns, self.widths(), strict=True) if column.number], default=0
        )

        def block(heading: str, cells: list[tuple[SheetColumn, str]]) -> None:
            parts.append(Text(f"\n{heading}", style="bold"))
            for column, value in cells:
                line = Text(f"  {column.name.ljust(label_width)}  ")
                line.append(value.rjust(number_width) if column.number else value, style=column.style)
                parts.append(line)

        for row in self.rows:
            named = [(column, value) for column, value in zip(self.columns, row, strict=True)]
            block(
                " · ".join(value for column, value in named if column.heading and value),
                [(column, value) for column, value in named if not column.heading],
            )
        if any(column.footer for column in self.columns if not column.heading):
            block(
                " ".join(column.footer for column in self.columns if column.heading and column.footer),
                [(column, column.footer) for column in self.columns if not column.heading and column.footer],
            )
        if self.caption:
            parts.append(Text(f"\n{self.caption}", style="dim"))
        return Group(*parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        for ruled in (True, False):  # the first of these layouts that fits
            for headers in (True, False):
                widths = self.widths(headers)
                if self.needed(widths, ruled) <= options.max_width:
                    if ruled and headers and not any(column.fold for column in self.columns):
                        yield from self._drawn(console, options, widths)
                    else:
                        yield self.table(widths, ruled)
                    return
        yield self.blocks()

    def _drawn(self, console: Console, options: ConsoleOptions, widths: list[int]):
        """The ruled table with headers of columns ``widths`` wide: its lines drawn at once where that is what
        rich would print (:mod:`spmlang.report.render.ruled`: no colour, cells of one line), else rich's."""
        header = [column.name for column in self.columns]
        footer = [column.footer for column in self.columns] if any(column.footer for column in self.columns) else None
        if not self.columns or not drawable(console, [header, *self.rows, footer or []]):
            yield self.table(widths)
            return
        around = options.update(width=self.needed(widths, True), highlight=False, height=None)
        if self.title:  # as rich: an empty title or caption is none
            yield from console.render(Text(self.title), around.update(justify="left"))
        yield from ruled_lines(console, options, widths, [c.number for c in self.columns], header, self.rows, footer)
        if self.caption:
            yield from console.render(Text(self.caption), around.update(justify="center"))


def _wrapped(name: str, width: int) -> str:
    """A column name in lines of at most ``width``, broken after underscores where it can be
    (``spring_new_`` / ``logos``); a part longer than that is folded by the table."""
    lines = [""]
    for part in re.findall(r"[^_]*_|[^_]+", name):
        if lines[-1] and cell_len(lines[-1] + part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def _largest(summary: Summary, limit: int):
    ranked = sorted(summary.rows, key=lambda r: -abs(r.total))[:limit]
    keep = {id(r) for r in ranked}
    return [r for r in summary.rows if id(r) in keep]


def accounting_text(summary: Summary) -> str:
    counts = summary.accounting
    excluded = sum(counts["excluded"].values())
    rejected = sum(counts["rejected"].values())
    lines = []
    for name, label, rows in summary.inputs:
        label = visible(label)  # a file's name
        if name == "transactions":
            lines.append(
                f"transactions ({label}): rows read {counts['read']:,}: credited {counts['credited']:,}, "
                f"excluded {excluded:,}, rejected {rejected:,}"
            )
            for filter_name, count in counts["excluded"].items():
                lines.append(f"  excluded by filter {filter_name}: {count:,}")
            for reason, count in counts["rejected"].items():
                lines.append(f"  rejected, {reason_text(reason)}: {count:,}")
        elif not name.startswith("paid "):  # earlier ledgers: said with the pay cycle's notes
            lines.append(f"{name} ({label}): rows read {rows:,}, none rejected")  # a bad one is an error
    return "\n".join(lines)


def summary_renderable(summary: Summary, limit: int | None = MAX_SHOWN):
    """The summary as people read it; ``limit``: at most so many payee-periods (None: all)."""
    counts = summary.accounting
    style = "yellow" if sum(counts["rejected"].values()) else "dim"
    warnings = [Text(f"warning: {warning}", style="bold yellow") for warning in summary.warnings]
    cycle = [Text(visible(note), style="cyan") for note in summary.cycle]  # they name files and payees
    return Group(payout_table(summary, limit), Text(accounting_text(summary), style=style), *cycle, *warnings)


def render_text(summary: Summary, width: int = 160) -> str:
    return plain_text(summary_renderable(summary), width)


def plain_text(renderable, width: int) -> str:
    """What ``renderable`` shows on a console ``width`` columns wide, as plain text (no colour, no styles)."""
    console = Console(width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def explanation_renderable(explanation):
    """The calculation trail of a payee, as a person reads it."""

    parts = [
        Text(
            f"{visible(explanation.payee)} — {visible(explanation.plan)} (version "
            f"{visible(explanation.version)}, plan sha256 {explanation.plan_hash[:12]})",
            style="bold",
        )
    ]
    for period in explanation.periods:
        head = f"\n{period.period}   credit {money(period.credit)}"
        if period.attainment is not None:
            head += f"   attainment {percent(period.attainment)}"
        if period.proration is not None:
            head += f"   quota and target prorated: {period.proration}"
        parts.append(Text(head, style="bold"))
        for line in period.lines:
            parts.append(_trail_line(line))
        components = ", ".join(f"{name} {money(amount)}" for name, amount in period.by_component.items())
        parts.append(
            Text(
                f"  period total {money(period.total)} ({components})   year to date {money(period.year_to_date)}",
                style="bold",
            )
        )
    if explanation.closed is not None:
        parts.append(Text(visible(explanation.closed)))
    elif not explanation.periods:
        parts.append(Text("no ledger lines"))
    return Group(*parts)


def _trail_line(line) -> Text:

    what = "  ".join(
        visible(x) for x in (line.txn or "—", line.date or "", line.component or "(no component)", line.kind) if x
    )
    text = Text(f"  {what}".ljust(70) + f"{money(line.amount):>14}\n", style="")
    text.append(f"      {visible(line.clause)}  {visible(line.source)}\n", style="dim")
    if line.credit is not None:
        alone = " (this row alone)" if line.own_measure else ""
        measure = (
            f"credit {money(line.credit)}   measure{alone} {money(line.measure_before)} → {money(line.measure_after)}"
        )
        if line.attainment_after is not None:
            measure += f"   attainment {percent(line.attainment_before)} → {percent(line.attainment_after)}"
        text.append(f"      {measure}\n")
        if line.converted is not None:
            text.append(f"      credit converted from {visible(line.converted)}\n")
    if line.fallback is not None and line.slices:  # else the explanation below says it
        text.append(f"      credited to the fallback payee: {visible(line.fallback)}\n")
    for piece in line.slices:
        if piece.tier == UPLIFT:
            text.append(f"      {UPLIFT} {money(piece.credit)} ({piece.rate}) = {money(piece.amount)}\n")
        else:
            text.append(f"      {money(piece.credit)} at {piece.rate} in tier {piece.tier} = {money(piece.amount)}\n")
    if not line.slices:
        text.append(f"      {visible(line.explanation)}\n")
    elif line.multiplier not in (None, Decimal(1)):
        text.append(f"      × multiplier {line.multiplier.normalize()}x = {money(line.exact)}\n")
    if line.amount_cut and line.kind in (LineKind.CAP, LineKind.GATE):
        text.append(f"      cut {money(line.amount_cut)}\n")
    _cycle_of(line, text)
    if line.rounding:
        text.append(
            f"      exact {line.exact.normalize():f}, {money(line.amount)} after cumulative rounding\n", style="dim"
        )
    text.rstrip()
    return text


def _cycle_of(line, text: Text) -> None:
    """What the pay cycle adds to a line: the closed period it corrects, the lines it corrects, a balance."""
    if line.for_period:
        text.append(f"      corrects {visible(line.for_period)}, a closed period\n")
    for original in line.original:
        text.append(f"      original: {visible(original)}\n", style="dim")
    if line.balance is not None:
        text.append(f"      owed after this line {money(line.balance)}\n")


def statement_renderable(statement):
    """One pay statement in the terminal."""

    s = statement
    head = Text(f"{visible(s.payee)} — {s.period} ({s.period_start} to {s.period_end})\n", style="bold")
    head.append(f"{visible(s.plan)}, version {visible(s.version)}\n", style="dim")
    figures = [
        f"payout {money(s.payout)} {s.currency}",
        f"year to date {money(s.year_to_date)}",
        f"credit {money(s.credit)}",
    ]
    if s.quota is not None:
        figures.append(f"quota {s.basis} {money(s.quota)}")
    if s.attainment is not None:
        figures.append(f"attainment {percent(s.attainment)}")
    if s.proration is not None:
        figures.append(f"quota and target prorated: {s.proration}")
    head.append("   ".join(figures))
    parts: list[Text | Sheet] = [head]
    for title, lines, total in (("Earnings", s.earnings, s.earned), ("Adjustments", s.adjustments, s.adjusted)):
        if not lines:
            continue
        rows = [
            [
                line.date,
                line.txn or "—",
                line.component + ("" if line.kind == LineKind.EARNING else f" ({line.kind})"),
                line.words,
                money(line.amount),
            ]
            for line in lines
        ]
        parts.append(
            Sheet(
                title,
                [
                    SheetColumn("date", footer=title.lower(), heading=True),
                    SheetColumn("deal", heading=True),
                    SheetColumn("component", heading=True),
                    SheetColumn("how", fold=True),
                    SheetColumn("amount", number=True, footer=money(total)),
                ],
                rows,
            )
        )
    parts.append(
        Text(
            f"payout {s.period}: earnings {money(s.earned)} + adjustments {money(s.adjusted)} = {money(s.payout)}",
            style="bold",
        )
    )
    if s.owed:
        owed = "; ".join(f"{label} {money(amount)}" for label, amount in s.owed)
        parts.append(Text(f"after {s.period}: {owed}"))
    if s.paid_in is not None:
        parts.append(Text(f"{visible(s.paid_in.words)}   {visible(s.paid_in.clause)}", style="bold"))
    return Group(*parts)
