"""Pay statements: one per payee and period, that a rep can recompute by hand.

A statement shows the payout of the period and of the year to date, credit,
quota and attainment, each earning line with its plain-words explanation, and
the adjustments (true-ups, caps, gates, bonuses) as such. It is built from the
run's ledger lines, so its figures are the ledger's: a block of payees' lines at a
time, made into text column by column (statement_lines.py, line_texts.py).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import numpy as np

from spmlang.engine.batch import pay_batch
from spmlang.engine.credited import CreditedRun
from spmlang.engine.pay.lines import KIND
from spmlang.engine.pay.payments import Payments
from spmlang.engine.payout import PaidLines, Payout
from spmlang.engine.settle.cycle import opening
from spmlang.figures import CENT
from spmlang.ir.kinds import GUARANTEE_KINDS, LineKind
from spmlang.progress import Report, tracked
from spmlang.report.explain import LinesByPayee, component_shown, direct_streams, period_measures, units
from spmlang.report.line_texts import ADJUSTMENT_KINDS, KIND_WORDS
from spmlang.report.standing import Standing, standing
from spmlang.report.statement_lines import (
    LinesBlock,
    PeriodFigures,
    StatementLine,
    StatementLines,
    blocks_of,
)

__all__ = ["ADJUSTMENT_KINDS", "KIND_WORDS", "PaidIn", "Statement", "StatementLine", "build_statements"]


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
    earnings: StatementLines  # a sequence of StatementLine, also as rows of HTML and CSV (a list given: made one)
    adjustments: StatementLines
    # What the payee owes or has held after this period: ("draw to recover", 500.00), ... (none: nothing).
    owed: list[tuple[str, Decimal]] = field(default_factory=list)
    standing: Standing | None = None  # where the payee stands: the statement's charts (see report/standing.py)
    proration: str | None = None  # how a roster with dates prorated quota and target: "46 of 90 days"
    paid_in: PaidIn | None = None  # the payout in another currency, for a payee paid in one

    def __post_init__(self) -> None:
        # Lines given as records (a list, as dataclasses.replace may give them) become StatementLines.
        if not isinstance(self.earnings, StatementLines):
            self.earnings = StatementLines(records=self.earnings)
        if not isinstance(self.adjustments, StatementLines):
            self.adjustments = StatementLines(records=self.adjustments, adjustments=True)

    @property
    def earned(self) -> Decimal:
        return self.earnings.total.quantize(CENT)

    @property
    def adjusted(self) -> Decimal:
        return self.adjustments.total.quantize(CENT)

    def to_csv(self) -> str:
        """The statement as CSV; a text cell a spreadsheet would read as a formula starts with a quote
        (see :func:`spmlang.spreadsheet.spreadsheet_text`)."""
        head, foot = self._csv_around()
        return head + self.earnings.csv + self.adjustments.csv + foot  # the lines' rows: see statement_lines

    def csv_bytes(self) -> bytes:
        """:meth:`to_csv` as UTF-8 (its lines' rows as they were made: never decoded)."""
        head, foot = self._csv_around()
        return b"".join((head.encode(), self.earnings.csv_bytes(), self.adjustments.csv_bytes(), foot.encode()))

    def _csv_around(self) -> tuple[str, str]:
        """The CSV's rows before the lines' (the header) and after them."""
        from spmlang.spreadsheet import spreadsheet_text as text

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["section", "date", "txn", "component", "kind", "credit", "amount", "explanation", "clause"])
        head = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
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
        for words, amount in self.owed:  # as the page's "owed and held after this period"
            writer.writerow(["owed", "", "", "", "", "", str(amount), f"{words} after {self.period}", ""])
        return head, buffer.getvalue()

    def to_html(self, templates=None) -> str:
        """The statement as a page; ``templates``: a :class:`~spmlang.report.render.html.Templates` (default:
        spm's own)."""
        from spmlang.report.render.html import statement_html

        return statement_html(self, templates)

    def __str__(self) -> str:  # print(): the text `spm` prints, not the dataclass's fields
        from spmlang.report.render.terminal import plain_text

        return plain_text(self, 120)

    def __rich__(self):
        from spmlang.report.render.terminal import statement_renderable

        return statement_renderable(self)


def build_statements(
    payout: Payout,
    run_id: str,
    payees: list[str] | None = None,
    periods: list[str] | None = None,
    progress: Report | None = None,
) -> list[Statement]:
    """Statements for the given payees (default: every payee with a ledger line) and periods; ``progress``
    hears of each payee's (see :mod:`spmlang.progress`)."""
    return list(iter_statements(payout, run_id, payees, periods, progress))


def iter_statements(
    payout: Payout,
    run_id: str,
    payees: list[str] | None = None,
    periods: list[str] | None = None,
    progress: Report | None = None,
    step: str = "making statements",
    charts: bool = True,
) -> Iterator[Statement]:
    """:func:`build_statements` one payee at a time, as they are asked for: a run's statements need not all
    be held at once. Their lines are made into text a block of payees at a time (see
    :mod:`spmlang.report.statement_lines`). Without ``charts`` they have no standing, and their pages no charts."""
    maker = StatementMaker(payout, run_id, charts)
    return maker.statements(maker.payees(payees), periods, progress, step)


class StatementMaker:
    """What every statement of a run needs, found once (each payee's lines, their own credit's streams, what
    earlier ledgers paid and left owed); :meth:`statements` makes those of some payees, their ledger lines
    built a block of payees at a time (never the whole ledger at once: see :class:`LinesBlock`), and
    :meth:`of_batch` those of a batch of the run's payees, paying it (no line of the run kept)."""

    def __init__(self, payout: Payout, run_id: str, charts: bool = True) -> None:
        self.payout, self.run_id, self.charts = payout, run_id, charts
        run = payout.run
        self.direct = direct_streams(payout)
        # What earlier ledgers paid (paid this year too) and left owed or held, of every payee at once: per
        # payee, each would be a pass over the earlier ledgers' lines.
        everyone = np.arange(len(run.payees), dtype=np.int64)
        self.paid_before = np.zeros(everyone.size, np.int64)
        if run.cycle.earlier is not None:
            np.add.at(self.paid_before, run.cycle.earlier.payee.astype(np.int64), run.cycle.earlier.amount)
        self.paid_before_by_component = _paid_by_component(run)
        self.draw_owed, self.floor_owed, self.held = opening(run.cycle, everyone)

    def payees(self, asked: list[str] | None = None) -> list[str]:
        """The payees ``asked`` for, each once (a payee named twice: their statements once); by default every
        payee with a ledger line, in order."""
        if asked is not None:
            return list(dict.fromkeys(asked))
        names = self.payout.run.payees.names  # in order: payee codes are given by sorted name
        return [names[code] for code in self.lines_of.payees_with_lines().tolist()]

    @cached_property
    def lines_of(self) -> LinesByPayee:
        """Each payee's lines among the run's, every line of which is paid and kept once asked for."""
        return LinesByPayee(self.payout)

    def statements(
        self,
        payees: list[str],
        periods: list[str] | None = None,
        progress: Report | None = None,
        step: str = "making statements",
    ) -> Iterator[Statement]:
        """The statements of ``payees`` (each once: see :meth:`payees`), payee after payee, each payee's periods in
        order (only ``periods``, if given); ``progress`` hears of each payee's."""
        run = self.payout.run
        codes = [run.payees.code[payee] for payee in payees]

        def made() -> Iterator:
            for paid, lines_of, group in self._paid(codes):
                for code, figures in self._made(paid, group, lines_of):
                    yield code, figures, paid.payments

        for payee, (code, figures, payments) in tracked(zip(payees, made(), strict=True), len(payees), step, progress):
            yield from self._of_payee(payee, code, figures, periods, payments)

    def _paid(self, codes: list[int]) -> Iterator[tuple[PaidLines, LinesByPayee, list[int]]]:
        """The lines of the payees ``codes`` (in that order, a run of them at a time), each run's lines with its
        :class:`LinesByPayee`: of the batches that pay them, each paid once, where those are not every batch of
        the run (a few payees' statements of a large run: one batch paid, not the whole run); else the run's."""
        payout, run = self.payout, self.payout.run
        batch_of = settling_batches(run, codes) if payout.kept is None and run.batches else None
        if batch_of is None or len(set(batch_of)) >= len(run.batches):
            yield payout.whole(), self.lines_of, codes
            return
        paid: dict[int, tuple[PaidLines, LinesByPayee]] = {}
        last = {batch: at for at, batch in enumerate(batch_of)}  # after its last payee, a batch's lines are let go
        at = 0
        for batch, group in itertools.groupby(zip(batch_of, codes, strict=True), key=lambda pair: pair[0]):
            if batch not in paid:
                lines = payout.batch(batch)
                paid[batch] = (lines, LinesByPayee(payout, lines.lines.payee))
            named = [code for _, code in group]
            at += len(named)
            yield *(paid[batch] if last[batch] >= at else paid.pop(batch)), named

    def of_batch(self, batch: slice, periods: list[str] | None = None) -> Iterator[Statement]:
        """The statements of every payee with a line among those a batch of the run's credit rows pays (whole
        payees, and those with no credit row between them: see :func:`~spmlang.engine.run.payee_batches`), in
        order; the batch is paid for them, and its lines dropped after."""
        paid = pay_batch(self.payout.run, batch)
        lines_of = LinesByPayee(self.payout, paid.lines.payee)
        codes = lines_of.payees_with_lines().tolist()
        names = self.payout.run.payees.names
        for code, payee_periods in self._made(paid, codes, lines_of):
            yield from self._of_payee(names[code], code, payee_periods, periods, paid.payments)

    def _made(self, paid: PaidLines, codes: list[int], lines_of: LinesByPayee) -> Iterator:
        """(code, each period's figures) of each payee ``codes`` names, their lines among ``paid`` made into
        text a block of payees at a time."""
        for block in blocks_of(codes, lines_of):
            made = LinesBlock(self.payout, paid, self.run_id, block, lines_of).periods_of()
            yield from zip(block, made, strict=True)

    def _of_payee(
        self,
        payee: str,
        code: int,
        payee_periods: list[PeriodFigures],
        periods: list[str] | None,
        payments: Payments | None,
    ) -> Iterator[Statement]:
        payout, run = self.payout, self.payout.run
        settings, calendar = run.plan.settings, run.calendar
        year_to_date = units(self.paid_before[code]).quantize(CENT)
        ytd_by_component = dict(self.paid_before_by_component.get(code, {}))
        owed = _Owed(self.draw_owed[code], self.floor_owed[code], self.held[code])
        for period in payee_periods:
            total = period.total.quantize(CENT)
            year_to_date += total
            for name, amount in period.by_component.items():
                ytd_by_component[name] = ytd_by_component.get(name, Decimal("0.00")) + amount
            owed.add(period)
            label = calendar.labels[period.period]
            if periods is not None and label not in periods:
                continue
            index = period.period
            credit, attainment = period_measures(payout, code, index, self.direct)
            quota = int(run.basis.quota[code, index])
            target_known = bool(run.basis.target_known[code])
            proration = run.basis.proration
            yield Statement(
                plan=settings.name,
                version=settings.version,
                currency=settings.currency,
                run_id=self.run_id,
                plan_hash=run.plan.sha256,
                payee=payee,
                period=label,
                period_start=calendar.starts[index].isoformat(),
                period_end=calendar.end(index).isoformat(),
                payout=total,
                year_to_date=year_to_date,
                credit=credit,
                quota=units(quota).quantize(CENT) if quota > 0 else None,
                attainment=attainment,
                target=units(run.basis.target[code, index]).quantize(CENT) if target_known else None,
                basis={"to_date": "to date", "annual": "annual", "period": "this period"}[settings.attainment_basis],
                components=[
                    (name, period.by_component.get(name, Decimal("0.00")).quantize(CENT), ytd.quantize(CENT))
                    for name, ytd in ytd_by_component.items()
                ],
                earnings=period.earnings,
                adjustments=period.adjustments,
                owed=owed.now(),
                standing=standing(payout, code, index) if self.charts else None,
                proration=proration.note(code, index) if proration is not None else None,
                paid_in=(
                    _paid_in(payout, payments, code, index, period.paid_in) if period.paid_in is not None else None
                ),
            )


def _paid_by_component(run: CreditedRun) -> dict[int, dict[str, Decimal]]:
    """What the earlier ledgers paid each payee (by code) per component, named as a statement names them
    (draws and floors under one name), in the order the names first appear. Summed by numpy: an earlier ledger
    may hold millions of lines; only each (payee, name) is made in Python."""
    paid: dict[int, dict[str, Decimal]] = {}
    earlier = run.cycle.earlier
    if earlier is None:
        return paid
    names = run.component_names
    guarantees = np.isin(earlier.kind, [KIND[kind] for kind in GUARANTEE_KINDS])
    # Each line's name: a component's code, else -1 "(none)" or -2 "draws and floor"; fx lines (the payout
    # again, in another currency) belong to none and are left out.
    shown = np.flatnonzero(earlier.kind != KIND[LineKind.FX])
    name = np.where(earlier.component >= 0, earlier.component, np.where(guarantees, -2, -1)).astype(np.int64)[shown]
    key = earlier.payee[shown].astype(np.int64) * (len(names) + 2) + name + 2
    distinct, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    sums = np.zeros(distinct.size, np.int64)
    np.add.at(sums, inverse, earlier.amount[shown])
    none, guarantee = component_shown(None, LineKind.EARNING), component_shown(None, next(iter(GUARANTEE_KINDS)))
    labels = {-1: none, -2: guarantee, **dict(enumerate(names))}
    for group in np.argsort(first, kind="stable").tolist():  # in the order each name first appears
        payee, code = divmod(int(distinct[group]), len(names) + 2)
        paid.setdefault(payee, {})[labels[code - 2]] = units(int(sums[group]))
    return paid


# What a payee owes or has held, as a statement (and a what-if) says it: by the column of Result.owed().
OWED_WORDS = {"draw": "draw to recover", "floor": "payout floor to recover", "held": "held, not yet payable"}


class _Owed:
    """A payee's balances as their periods go by: draw and floor owed (the last such line's balance), and
    what is held (holds less releases)."""

    def __init__(self, draw: int, floor: int, held: int) -> None:
        """Each starts from what the earlier ledgers left (units)."""
        self.draw, self.floor, self.held = (units(int(a)).quantize(CENT) for a in (draw, floor, held))

    def add(self, period: PeriodFigures) -> None:
        if period.draw is not None:
            self.draw = period.draw
        if period.floor is not None:
            self.floor = period.floor
        self.held = (self.held + period.held).quantize(CENT)

    def now(self) -> list[tuple[str, Decimal]]:
        shown = ((OWED_WORDS["draw"], self.draw), (OWED_WORDS["floor"], self.floor), (OWED_WORDS["held"], self.held))
        return [(label, amount) for label, amount in shown if amount]


def settling_batches(run, codes: list[int]) -> list[int]:
    """The batch of the run (an index into ``run.batches``) whose lines each payee's (by code) are among: the one
    holding their credit rows, or, for a payee with none, the one that settles them (see
    :func:`~spmlang.engine.batch.unrowed_in`: the batch of the last row of a payee before them)."""
    payee = run.credit_rows.payee  # in crediting order: by payee
    starts = np.array([batch.start for batch in run.batches], dtype=np.int64)
    last = np.maximum(np.searchsorted(payee, np.asarray(codes, dtype=np.int64), side="right") - 1, 0)
    return (np.maximum(np.searchsorted(starts, last, side="right") - 1, 0)).tolist()


def _paid_in(
    payout: Payout, payments: Payments | None, payee: int, period: int, line: tuple[str, str]
) -> PaidIn | None:
    """The payout of a payee's period in the currency they are paid in, from the payments of the lines it is
    among (``line``: the explanation and clause of the period's fx line)."""
    terms = payout.run.terms
    if terms is None or terms.rates is None or payments is None:
        return None
    at = int(payments.of_lines(np.array([payee]), np.array([period]), payout.run.calendar.count)[0])
    if at < 0:
        return None
    rates = terms.rates
    currency = rates.currencies[int(rates.currency[int(payments.fx_row[at])])]
    return PaidIn(Decimal(int(payments.paid[at])).scaleb(-2), currency, line[0], line[1])  # 440.00, not 440
