"""Pay statements: one per payee and period, that a rep can recompute by hand.

A statement shows the payout of the period and of the year to date, credit,
quota and attainment, each earning line with its plain-words explanation, and
the adjustments (true-ups, caps, gates, bonuses) as such. It is built from the
explanation of the run, so its figures are the ledger's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from spmlang.engine.kernels.column_text import pretty
from spmlang.engine.run import Payout
from spmlang.engine.settle.cycle import opening
from spmlang.figures import CENT
from spmlang.files import make_folder, write_text
from spmlang.ir.kinds import DRAW_KINDS, FLOOR_KINDS, HOLD_KINDS
from spmlang.progress import Report, tracked
from spmlang.report.explain import LinesByPayee, TrailLine, explain, units
from spmlang.report.standing import Standing, standing

ADJUSTMENT_KINDS = (
    "true_up",
    "cap",
    "gate",
    "bonus",
    "draw",
    "draw_recovery",
    "clawback",
    "adjustment",
    "hold",
    "release",
    "floor",
    "floor_recovery",
)
KIND_WORDS = {
    "earning": "earning",
    "spif": "SPIF",
    "bonus": "bonus",
    "true_up": "true-up",
    "cap": "cap",
    "gate": "gate",
    "draw": "draw",
    "draw_recovery": "draw recovery",
    "clawback": "clawback",
    "adjustment": "adjustment of a closed period",
    "hold": "held",
    "release": "released",
    "floor": "payout floor",
    "floor_recovery": "floor recovery",
    "fx": "paid in",
}


@dataclass
class StatementLine:
    date: str
    txn: str
    component: str
    kind: str
    credit: Decimal | None
    amount: Decimal
    words: str
    clause: str


@dataclass
class PaidIn:
    """A period's payout in the currency its payee is paid in (their ledger's fx line)."""

    amount: Decimal
    currency: str
    words: str
    clause: str


@dataclass
class Statement:
    plan: str
    version: str
    currency: str
    run_id: str
    plan_hash: str
    payee: str
    period: str
    period_start: str
    period_end: str
    payout: Decimal
    year_to_date: Decimal
    credit: Decimal
    quota: Decimal | None
    attainment: Decimal | None
    target: Decimal | None
    basis: str  # what quota and target are measured over: "to date", "annual", "this period"
    components: list[tuple[str, Decimal, Decimal]]  # name, this period, year to date
    earnings: list[StatementLine]
    adjustments: list[StatementLine]
    # What the payee owes or has held after this period: ("draw to recover", 500.00), ... (none: nothing).
    owed: list[tuple[str, Decimal]] = field(default_factory=list)
    standing: Standing | None = None  # where the payee stands: the statement's charts (see report/standing.py)
    proration: str | None = None  # how a roster with dates prorated quota and target: "46 of 90 days"
    paid_in: PaidIn | None = None  # the payout in another currency, for a payee paid in one

    @property
    def earned(self) -> Decimal:
        return sum((line.amount for line in self.earnings), Decimal("0.00"))

    @property
    def adjusted(self) -> Decimal:
        return sum((line.amount for line in self.adjustments), Decimal("0.00"))

    def to_csv(self) -> str:
        """The statement as CSV; a text cell a spreadsheet would read as a formula starts with a quote
        (see :func:`spmlang.spreadsheet.spreadsheet_text`)."""
        from spmlang.spreadsheet import spreadsheet_text as text

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["section", "date", "txn", "component", "kind", "credit", "amount", "explanation", "clause"])
        for section, lines in (("earning", self.earnings), ("adjustment", self.adjustments)):
            for line in lines:
                writer.writerow(
                    [
                        section,
                        line.date,
                        text(line.txn),
                        text(line.component),
                        line.kind,
                        "" if line.credit is None else str(line.credit),
                        str(line.amount),
                        text(line.words),
                        text(line.clause),
                    ]
                )
        writer.writerow(
            [
                "payout",
                "",
                "",
                "",
                "",
                "",
                str(self.payout),
                f"{self.period} payout; year to date {self.year_to_date}",
                "",
            ]
        )
        if self.proration is not None:
            writer.writerow(["prorated", "", "", "", "", "", "", f"quota and target prorated: {self.proration}", ""])
        if self.paid_in is not None:  # the payout again, in the payee's currency
            paid = self.paid_in
            writer.writerow(["paid", "", "", "", "fx", "", str(paid.amount), text(paid.words), text(paid.clause)])
        return buffer.getvalue()

    def to_html(self, templates=None) -> str:
        """The statement as a page; ``templates``: a :class:`~spmlang.report.render.html.Templates` (default:
        spm's own)."""
        from spmlang.report.render.html import statement_html

        return statement_html(self, templates)

    def __rich__(self):
        from spmlang.report.render.terminal import statement_renderable

        return statement_renderable(self)


def build_statements(
    payout: Payout,
    ledger,
    run_id: str,
    payees: list[str] | None = None,
    periods: list[str] | None = None,
    progress: Report | None = None,
) -> list[Statement]:
    """Statements for the given payees (default: every payee with a ledger line) and periods; ``progress``
    hears of each payee's (see :mod:`spmlang.progress`)."""
    return list(iter_statements(payout, ledger, run_id, payees, periods, progress))


def iter_statements(
    payout: Payout,
    ledger,
    run_id: str,
    payees: list[str] | None = None,
    periods: list[str] | None = None,
    progress: Report | None = None,
    step: str = "making statements",
    charts: bool = True,
) -> Iterator[Statement]:
    """:func:`build_statements` one payee at a time, as they are asked for: a run's statements need not all
    be held at once (a line of the ledger is a few Python objects in a statement). Without ``charts`` they
    have no standing, and their pages no charts."""
    if payees is None:
        payees = sorted(set(ledger.column("payee").to_pylist()))
    settings = payout.run.plan.settings
    calendar = payout.run.calendar
    lines_of = LinesByPayee(payout)
    for payee in tracked(payees, len(payees), step, progress):
        trail = explain(payout, ledger, payee, lines_of=lines_of)
        code = payout.run.payees.code[payee]
        ytd_by_component: dict[str, Decimal] = {}
        owed = _Owed(*opening(payout.run.cycle, np.array([code], np.int64)))
        for period in trail.periods:
            for name, amount in period.by_component.items():
                ytd_by_component[name] = ytd_by_component.get(name, Decimal("0.00")) + amount
            owed.add(period.lines)
            if periods is not None and period.period not in periods:
                continue
            index = calendar.labels.index(period.period)
            quota = int(payout.run.basis.quota[code, index])
            fx_lines = [t for t in period.lines if t.kind == "fx"]
            target_known = bool(payout.run.basis.target_known[code])
            yield Statement(
                plan=settings.name,
                version=settings.version,
                currency=settings.currency,
                run_id=run_id,
                plan_hash=payout.run.plan.sha256,
                payee=payee,
                period=period.period,
                period_start=calendar.starts[index].isoformat(),
                period_end=calendar.end(index).isoformat(),
                payout=period.total,
                year_to_date=period.year_to_date,
                credit=period.credit,
                quota=units(quota).quantize(CENT) if quota > 0 else None,
                attainment=period.attainment,
                target=units(payout.run.basis.target[code, index]).quantize(CENT) if target_known else None,
                basis={"to_date": "to date", "annual": "annual", "period": "this period"}[settings.attainment_basis],
                components=[
                    (name, period.by_component.get(name, Decimal("0.00")), ytd)
                    for name, ytd in ytd_by_component.items()
                ],
                earnings=[_line(t) for t in period.lines if t.kind not in (*ADJUSTMENT_KINDS, "fx")],
                adjustments=[_line(t) for t in period.lines if t.kind in ADJUSTMENT_KINDS],
                owed=owed.now(),
                standing=standing(payout, code, index) if charts else None,
                proration=period.proration,
                paid_in=_paid_in(payout, code, index, fx_lines[0]) if fx_lines else None,
            )


class _Owed:
    """A payee's balances as their periods go by: draw and floor owed (the last such line's balance), and
    what is held (holds less releases)."""

    def __init__(self, draw: np.ndarray, floor: np.ndarray, held: np.ndarray) -> None:
        """Each starts from what the earlier ledgers left (one payee's: arrays of one)."""
        self.draw, self.floor, self.held = (units(int(a[0])).quantize(CENT) for a in (draw, floor, held))

    def add(self, lines: list[TrailLine]) -> None:
        for line in lines:
            if line.kind in DRAW_KINDS and line.balance is not None:
                self.draw = line.balance
            elif line.kind in FLOOR_KINDS and line.balance is not None:
                self.floor = line.balance
            elif line.kind in HOLD_KINDS:
                self.held -= line.amount

    def now(self) -> list[tuple[str, Decimal]]:
        shown = (
            ("draw to recover", self.draw),
            ("payout floor to recover", self.floor),
            ("held, not yet payable", self.held),
        )
        return [(label, amount) for label, amount in shown if amount]


def _paid_in(payout: Payout, payee: int, period: int, trail: TrailLine) -> PaidIn | None:
    """The payout of a payee's period in the currency they are paid in, from the run's payments."""
    terms = payout.run.terms
    payments = payout.whole().payments
    if terms is None or terms.rates is None or payments is None:
        return None
    at = int(payments.of_lines(np.array([payee]), np.array([period]), payout.run.calendar.count)[0])
    if at < 0:
        return None
    rates = terms.rates
    currency = rates.currencies[int(rates.currency[int(payments.fx_row[at])])]
    return PaidIn(Decimal(int(payments.paid[at])) / 100, currency, pretty(trail.explanation), trail.clause)


def _line(trail: TrailLine) -> StatementLine:
    return StatementLine(
        trail.date or "",
        trail.txn or "",
        trail.component or "",
        KIND_WORDS.get(trail.kind, trail.kind),
        trail.credit,
        trail.amount,
        pretty(trail.explanation) + (f" (credit converted from {trail.converted})" if trail.converted else ""),
        trail.clause,
    )


def slug(name: str) -> str:
    """A payee or period name as a safe file name: letters, digits, '.', '-', '_' only, never a path."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "payee"
    return cleaned[:80]


def write_statements(
    statements: Iterable[Statement], folder: Path, progress: Report | None = None, templates=None
) -> list[Path]:
    """statements/<payee>/<period>.html and .csv, and statements/index.html linking them all. Each statement
    is written as it comes (an iterator of them is not held whole); ``progress`` hears of each of a list.
    ``templates``: the pages' templates (:class:`~spmlang.report.render.html.Templates`; default: spm's)."""
    make_folder(folder)
    written, index = [], []
    taken: dict[str, str] = {}
    if progress is not None and isinstance(statements, Sized):
        statements = tracked(statements, len(statements), "writing statements", progress)
    for statement in statements:
        name = slug(statement.payee)
        if taken.setdefault(name, statement.payee) != statement.payee:  # two payees, one slug: keep them apart
            name = f"{name}-{hashlib.sha256(statement.payee.encode()).hexdigest()[:8]}"
        target = folder / name
        make_folder(target)
        for suffix, content in ((".html", statement.to_html(templates)), (".csv", statement.to_csv())):
            path = target / f"{slug(statement.period)}{suffix}"
            write_text(path, content)  # whole or not at all
            written.append(path)
        entry = replace(statement, earnings=[], adjustments=[], standing=None)  # the index needs its figures alone
        index.append((entry, f"{name}/{slug(statement.period)}.html"))
    from spmlang.report.render.html import index_html

    index_path = folder / "index.html"
    write_text(index_path, index_html(index, templates))  # last: until then, the index of the statements before
    written.append(index_path)
    return written
