"""Statements as self-contained HTML: no scripts, no external files; printable and readable on a phone."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from spmlang.figures import money, percent
from spmlang.ir.kinds import LineKind

STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; padding: 16px;
       color: #1b1b1b; background: #fff; line-height: 1.4; }
main { max-width: 860px; margin: 0 auto; }
h1 { font-size: 1.35rem; margin: 0 0 2px; }
h2 { font-size: 1.05rem; margin: 24px 0 8px; }
.sub { color: #555; margin: 0 0 16px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; }
.figure { border: 1px solid #d8d8d8; border-radius: 8px; padding: 10px 12px; }
.figure .label { font-size: .78rem; color: #555; text-transform: uppercase; letter-spacing: .03em; }
.figure .value { font-size: 1.2rem; font-weight: 600; font-variant-numeric: tabular-nums; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
th, td { text-align: left; padding: 6px 4px; vertical-align: top; }
th { font-size: .78rem; color: #555; border-bottom: 1px solid #ccc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key { white-space: nowrap; }
tr.main td { border-top: 1px solid #eee; }
tr.why td { color: #444; font-size: .84rem; padding-top: 0; overflow-wrap: anywhere; }
tr.total td { border-top: 2px solid #999; font-weight: 600; }
.clause { color: #888; font-size: .78rem; }
footer { color: #666; font-size: .8rem; margin-top: 28px; border-top: 1px solid #eee; padding-top: 8px; }
@media (max-width: 560px) { body { padding: 10px; } }
@media print { body { padding: 0; } .figure { border-color: #999; } a { color: inherit; text-decoration: none; } }
"""


def _figure(label: str, value: str) -> str:
    return f'<div class="figure"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div></div>'


def _lines_table(lines, total_label: str, total: Decimal) -> str:
    rows = [
        '<table><thead><tr><th>Date</th><th>Deal</th><th class="num">Credit</th><th class="num">Amount</th>'
        "</tr></thead><tbody>"
    ]
    for line in lines:
        credit = money(line.credit) if line.credit is not None else ""
        what = escape(line.component) + (f" ({escape(line.kind)})" if line.kind != LineKind.EARNING else "")
        rows.append(
            f'<tr class="main"><td class="key">{escape(line.date)}</td><td class="key">'
            f'{escape(line.txn) or "—"}</td><td class="num">{escape(credit)}</td>'
            f'<td class="num">{escape(money(line.amount))}</td></tr>'
        )
        rows.append(
            f'<tr class="why"><td colspan="4"><b>{what}</b>: {escape(line.words)} '
            f'<span class="clause">{escape(line.clause)}</span></td></tr>'
        )
    rows.append(
        f'<tr class="total"><td colspan="3">{escape(total_label)}</td>'
        f'<td class="num">{escape(money(total))}</td></tr></tbody></table>'
    )
    return "".join(rows)


def _paid_in(paid) -> str:
    """The payout in the currency the payee is paid in, and how it was converted."""
    if paid is None:
        return ""
    return (
        f"<p><b>Paid in {escape(paid.currency)}: {escape(money(paid.amount))}</b> — {escape(paid.words)} "
        f'<span class="clause">{escape(paid.clause)}</span></p>'
    )


def statement_html(statement) -> str:
    s = statement
    title = f"{s.payee} — {s.period} — {s.plan}"
    figures = [
        _figure(f"Payout {s.period}", f"{money(s.payout)} {s.currency}"),
        _figure("Paid year to date", f"{money(s.year_to_date)} {s.currency}"),
        _figure(f"Credit {s.period}", money(s.credit)),
    ]
    if s.quota is not None:
        figures.append(_figure(f"Quota {s.basis}", money(s.quota)))
    if s.attainment is not None:
        figures.append(_figure("Attainment", percent(s.attainment)))
    if s.target is not None:
        figures.append(_figure(f"Target incentive {s.basis}", money(s.target)))
    if s.proration is not None:
        figures.append(_figure("Quota and target prorated", s.proration))
    if s.paid_in is not None:
        figures.append(_figure(f"Paid in {s.paid_in.currency}", f"{money(s.paid_in.amount)} {s.paid_in.currency}"))
    components = "".join(
        f'<tr class="main"><td>{escape(name)}</td><td class="num">{escape(money(amount))}</td>'
        f'<td class="num">{escape(money(ytd))}</td></tr>'
        for name, amount, ytd in s.components
    )
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{escape(s.payee)}</h1>",
        f'<p class="sub">{escape(s.plan)} (version {escape(s.version)}) · {escape(s.period)}: '
        f"{escape(s.period_start)} to {escape(s.period_end)}</p>",
        f'<section class="figures">{"".join(figures)}</section>',
        '<h2>By component</h2><table><thead><tr><th>Component</th><th class="num">This period</th>'
        f'<th class="num">Year to date</th></tr></thead><tbody>{components}</tbody></table>',
        "<h2>Earnings</h2>",
        _lines_table(s.earnings, "Earnings", s.earned) if s.earnings else "<p>No earnings this period.</p>",
    ]
    if s.adjustments:
        parts += ["<h2>Adjustments</h2>", _lines_table(s.adjustments, "Adjustments", s.adjusted)]
    parts += [
        f'<h2>Payout</h2><table><tbody><tr class="main"><td>Earnings</td><td class="num">{escape(money(s.earned))}'
        f'</td></tr><tr class="main"><td>Adjustments</td><td class="num">{escape(money(s.adjusted))}</td></tr>'
        f'<tr class="total"><td>Payout {escape(s.period)}</td><td class="num">{escape(money(s.payout))}</td></tr>'
        "</tbody></table>",
        _paid_in(s.paid_in),
        f"<footer>Every figure is a line of ledger run {escape(s.run_id)} of plan {escape(s.plan_hash[:12])}. "
        "Each line shows how it was computed and the plan clause that made it; the lines add up to the payout."
        "</footer></main></body></html>\n",
    ]
    return "".join(parts)


def index_html(entries) -> str:
    rows = "".join(
        f'<tr class="main"><td>{escape(s.payee)}</td><td><a href="{escape(href)}">{escape(s.period)}</a></td>'
        f'<td class="num">{escape(money(s.payout))}</td></tr>'
        for s, href in entries
    )
    plan = escape(entries[0][0].plan) if entries else "Statements"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{plan} — statements</title><style>{STYLE}</style></head><body><main>"
        f'<h1>{plan}</h1><p class="sub">Pay statements</p><table><thead><tr><th>Payee</th><th>Period</th>'
        f'<th class="num">Payout</th></tr></thead><tbody>{rows}</tbody></table></main></body></html>\n'
    )
