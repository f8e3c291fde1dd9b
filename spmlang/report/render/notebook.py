"""A plan and a run as a notebook shows them (``Plan._repr_html_``, ``Result._repr_html_``): static HTML, no
scripts, every text from the plan or the data escaped.

A plan: its name, version, year and periods, and each component with its rule in one sentence, its tier table
or curve, and what narrows it (report/rules.py's words, as the editor's hover says them). A run: the summary
``spm run`` prints (payout per payee and period by component, the row accounting, warnings).
"""

from __future__ import annotations

from html import escape

from spmlang.report.render.terminal import MAX_SHOWN, Sheet, Summary, accounting_text, payout_table
from spmlang.report.rules import modifiers, pays_what, rule_sentence, rule_table
from spmlang.visible import visible


def _text(value: object) -> str:
    """Text from a plan or the data, escaped for HTML (control characters shown as escapes first)."""
    return escape(visible(str(value)))


def plan_html(plan, year: str, periods: list[str]) -> str:
    """``plan`` (a checked plan) with its plan ``year`` ("2027-01-01 to 2027-12-31") and payout ``periods``."""
    settings = plan.settings
    parts = [
        '<div class="spm-plan">',
        f"<h3>{_text(settings.name)} <small>version {_text(settings.version)}</small></h3>",
        f"<p>Plan year {_text(year)}, paid {_text(settings.frequency)} in {_text(settings.currency)}: "
        f"{len(periods)} periods, {_text(', '.join(periods))}; measured {_text(settings.measure.replace('_', ' '))}"
        ".</p>",
    ]
    for spec in plan.components:
        parts.append(f"<h4>{_text(spec.kind)} {_text(spec.name)}</h4>")
        parts.append(f"<p><em>{_text(pays_what(spec))}</em>. {_text(rule_sentence(spec.rule, plan))}</p>")
        parts += _rule_table(spec.rule)
        for version, dated in zip(spec.in_versions()[1:], spec.versions, strict=True):  # its dated versions
            since = f"From {dated.start.isoformat()}"
            parts.append(
                f"<p><strong>{since}</strong> (rows dated then): {_text(rule_sentence(version.rule, plan))}</p>"
            )
            parts += _rule_table(version.rule)
            if dated.multipliers is not None:
                items = "".join(f"<li><code>{_text(m.text)}</code></li>" for m in dated.multipliers)
                parts.append(f"<ul>{items}</ul>")
        found = modifiers(spec, plan)
        if found:
            items = "".join(
                f"<li>{_text(before)}<code>{_text(code)}</code>{_text(after)}</li>" for before, code, after in found
            )
            parts.append(f"<ul>{items}</ul>")
    if plan.plan_caps:
        caps = "".join(f"<li><code>{_text(cap.text)}</code></li>" for cap in plan.plan_caps)
        parts.append(f"<h4>plan caps</h4><ul>{caps}</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def _rule_table(rule) -> list[str]:
    """A rule's tier table or curve points as an HTML table (none for a flat rule)."""
    table = rule_table(rule)
    if table is None:
        return []
    head = "".join(f"<th>{_text(cell)}</th>" for cell in table.header)
    rows = "".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in table.rows)
    return [f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"]


def summary_html(summary: Summary, limit: int | None = MAX_SHOWN) -> str:
    """The summary of a run: payout per payee and period (of more than ``limit``, the largest), the row
    accounting and the warnings."""
    accounting = escape(visible(accounting_text(summary), lines=True))  # its lines, as spm run prints them
    warnings = "".join(f"<p><strong>warning:</strong> {_text(warning)}</p>" for warning in summary.warnings)
    table = sheet_html(payout_table(summary, limit))
    return f'<div class="spm-result">\n{table}\n<pre>{accounting}</pre>{warnings}\n</div>'


def sheet_html(sheet: Sheet) -> str:
    """A sheet (see render/terminal.py) as an HTML table: its title as the caption, amounts right-aligned."""

    def cell(tag: str, value: str, number: bool) -> str:
        align = ' style="text-align: right"' if number else ""
        return f"<{tag}{align}>{escape(value)}</{tag}>"  # a sheet's cells are made visible already

    head = "".join(cell("th", column.name, column.number) for column in sheet.columns)
    body = "".join(
        "<tr>"
        + "".join(cell("td", value, column.number) for column, value in zip(sheet.columns, row, strict=True))
        + "</tr>"
        for row in sheet.rows
    )
    foot = ""
    if any(column.footer for column in sheet.columns):
        foot = "<tfoot><tr>" + "".join(cell("th", c.footer, c.number) for c in sheet.columns) + "</tr></tfoot>"
    caption = f"<caption>{escape(sheet.title)}</caption>"
    note = f"<p><em>{escape(sheet.caption)}</em></p>" if sheet.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>{note}"
