"""Why a payee was paid what they were paid: the calculation trail of their ledger lines.

For each line: the plan clause that made it (``plan.spm:52`` and its text), the
credit, the measure before and after, the tier slices, multipliers, the cap or
gate that acted and by how much, and the rounding; then each period's total
and the year to date. Every figure comes from the run's own arrays, so it
reconciles with the ledger to the cent.

One module, though long: each kind of line (a tier's slices, a retroactive uplift, a clawback's or an
adjustment's original lines, a fallback) is traced here beside the others, as the trail shows them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from spmlang.diagnostics import UsageError, did_you_mean
from spmlang.engine.kernels.column_text import pretty
from spmlang.engine.kernels.money import UNIT
from spmlang.engine.pay.component import CompiledComponent
from spmlang.engine.pay.earnings import RowBasis
from spmlang.engine.pay.lines import KINDS
from spmlang.engine.pay.tiers import TierFunction
from spmlang.engine.payout import Payout
from spmlang.figures import CENT, UPLIFT, money, to_cents
from spmlang.ir.kinds import GUARANTEE_KINDS, LineKind
from spmlang.report.line_texts import converted_words
from spmlang.report.python_rows import python_rows

MICRO = Decimal("0.000001")


def units(value) -> Decimal:
    return Decimal(int(value)) / UNIT


def micro(value: Decimal) -> Decimal:
    """A figure the engine computes in millionths of the currency (1/6 of 2,000 is 333.333333), half away
    from zero."""
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


@dataclass
class Slice:
    """Part of a row's credit paid at one tier's rate."""

    tier: str
    credit: Decimal
    rate: str
    amount: Decimal


@dataclass
class TrailLine:
    kind: str
    component: str | None
    txn: str | None
    date: str | None
    clause: str
    source: str
    credit: Decimal | None
    measure_before: Decimal | None
    measure_after: Decimal | None
    attainment_before: Decimal | None
    attainment_after: Decimal | None
    tier: str | None
    rate: Decimal | None
    multiplier: Decimal | None
    slices: list[Slice]
    exact: Decimal  # the line before rounding
    amount: Decimal  # the ledger amount
    amount_cut: Decimal
    explanation: str
    own_measure: bool = False  # the rule measures this row's credit alone (`on row credit`): 0 -> credit
    for_period: str | None = None  # the closed period an adjustment corrects
    balance: Decimal | None = None  # owed after a draw or floor line
    # An adjustment's or a clawback's original lines: of the same transaction and component in other periods
    # of this ledger, and what the earlier ledgers paid for it ("2027-Q1 earning 1,600.00: ...").
    original: list[str] = field(default_factory=list)
    converted: str | None = None  # the credit's money converted: "EUR at 1.08531, the rate of 2027-03-01"
    fallback: str | None = None  # why the fallback payee was credited: "hana is not employed on 2027-02-01"
    # A plan with currencies (the ledger's columns of the same names): the currency the transaction's money was
    # in, the rate it converted at and the day that rate holds from; on an fx line, the period's payout in the
    # currency its payee is paid in.
    currency: str | None = None
    fx_rate: Decimal | None = None
    fx_date: str | None = None
    amount_paid: Decimal | None = None
    currency_paid: str | None = None

    @property
    def rounding(self) -> Decimal:
        return self.amount - self.exact


@dataclass
class TrailPeriod:
    period: str
    lines: list[TrailLine]
    total: Decimal
    by_component: dict[str, Decimal]
    year_to_date: Decimal
    credit: Decimal
    attainment: Decimal | None
    proration: str | None = None  # how a roster with dates prorated the quota and target: "46 of 90 days"


@dataclass
class Explanation:
    plan: str
    version: str
    plan_hash: str
    payee: str
    periods: list[TrailPeriod] = field(default_factory=list)
    closed: str | None = None  # of a period asked for that earlier ledgers paid: which, and where its changes go

    @property
    def lines(self) -> list[TrailLine]:
        return [line for period in self.periods for line in period.lines]

    def to_dict(self) -> dict:
        def plain(value):
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        data = plain(asdict(self))
        for period, source in zip(data["periods"], self.periods, strict=True):
            for line, trail in zip(period["lines"], source.lines, strict=True):
                line["rounding"] = str(trail.rounding)
        return data

    def __str__(self) -> str:  # print(): the text `spm` prints, not the dataclass's fields
        from spmlang.report.render.terminal import plain_text

        return plain_text(self, 120)

    def __rich__(self):
        from spmlang.report.render.terminal import explanation_renderable

        return explanation_renderable(self)


def explain(
    payout: Payout,
    ledger,
    payee: str,
    period: str | None = None,
    txn: str | None = None,
    lines_of: Callable[[int], np.ndarray] | None = None,
) -> Explanation:
    """The calculation trail of ``payee``'s lines (of ``period``, of transaction ``txn``). ``lines_of`` finds a
    payee's lines (by the payee's code) without looking through every line of the run, for callers explaining
    many payees (:class:`LinesByPayee`); ``ledger`` need only have those lines, taken by their index."""
    names = payout.run.payees.names
    if payee not in payout.run.payees.code:
        hint = did_you_mean(payee, names)
        raise UsageError(f"no payee '{payee}' in this run" + (f"; {hint}" if hint else ""))
    code = payout.run.payees.code[payee]
    labels = payout.run.calendar.labels
    if period is not None and period not in labels:
        raise UsageError(f"no period '{period}' in this plan; its periods are {', '.join(labels)}")
    indices = lines_of(code) if lines_of is not None else np.flatnonzero(payout.lines.payee == code)
    ledger_rows = python_rows(ledger.take(indices))
    if txn is not None and not any(r["txn"] == txn for r in ledger_rows):
        raise UsageError(f"{payee} has no ledger line for transaction '{txn}'")

    settings = payout.run.plan.settings
    result = Explanation(settings.name, settings.version, payout.run.plan.sha256, payee)
    earlier = payout.run.cycle.earlier  # what earlier ledgers paid is paid this year too
    paid_before = int(earlier.amount[earlier.payee == code].sum()) if earlier is not None else 0
    year_to_date = units(paid_before).quantize(CENT)
    for p, label in enumerate(labels):
        in_period = [(i, r) for i, r in zip(indices, ledger_rows, strict=True) if r["period"] == label]
        total = sum((r["amount"] for _, r in in_period), Decimal("0.00"))
        year_to_date += total
        if period is not None and label != period:
            continue
        shown = [(i, r) for i, r in in_period if txn is None or r["txn"] == txn]
        if not shown and (total == 0 or txn is not None):
            continue
        by_component: dict[str, Decimal] = {}
        for _, r in in_period:
            if r["kind"] == LineKind.FX:  # the payout again, in another currency: of no component
                continue
            name = component_shown(r["component"], r["kind"])
            by_component[name] = by_component.get(name, Decimal("0.00")) + r["amount"]
        credit, attainment = period_measures(payout, code, p)
        trail = [
            _trail_line(payout, i, r, slices) for (i, r), slices in zip(shown, _slices_of(payout, shown), strict=True)
        ]
        for line in trail:
            if line.kind in _CORRECTIONS and line.txn is not None:
                line.original = _originals(payout, code, line, ledger_rows)
        proration = payout.run.basis.proration
        note = proration.note(code, p) if proration is not None else None
        result.periods.append(TrailPeriod(label, trail, total, by_component, year_to_date, credit, attainment, note))
    cycle = payout.run.cycle
    if period is not None and labels.index(period) < cycle.first_open:
        closing = [f for f in cycle.files if f.through and labels.index(f.through) >= labels.index(period)]
        first = min(closing, key=lambda f: labels.index(f.through), default=None)  # the ledger that paid it
        by = f" by {first.path}" if first is not None else ""
        result.closed = (
            f"{period} is closed: it was paid{by}; this run writes nothing in it: what changed in it since is "
            f"adjusted in {labels[cycle.first_open]}"
            if cycle.first_open < len(labels)
            else f"{period} is closed: it was paid{by}"
        )
    return result


_CORRECTIONS = (LineKind.CLAWBACK, LineKind.ADJUSTMENT, LineKind.RELEASE, LineKind.HOLD)


def _originals(payout: Payout, code: int, line: TrailLine, rows: list[dict]) -> list[str]:
    """What a clawback or an adjustment corrects: the transaction's other lines of the component in this
    ledger, and its lines in the earlier ledgers (the period, kind and amount each paid)."""
    found = [
        f"{r['period']} {r['kind']} {r['amount']:,}: {pretty(r['explanation'])}"
        for r in rows
        if r["txn"] == line.txn and r["component"] == line.component and r["kind"] not in _CORRECTIONS
    ]
    earlier = payout.run.cycle.earlier
    if earlier is not None and line.component is not None:
        names = payout.run.component_names
        labels = payout.run.calendar.labels
        mine = np.flatnonzero(earlier.payee == code)  # the payee's earlier lines alone: their keys, not all
        keys = payout.run.transactions.keys(np.maximum(earlier.txn[mine], 0)).to_pylist() if mine.size else []
        for i, key in zip(mine.tolist(), keys, strict=True):
            component = int(earlier.component[i])
            if earlier.txn[i] < 0:
                key = earlier.gone[-2 - int(earlier.txn[i])] if earlier.txn[i] <= -2 else None
            if component >= 0 and names[component] == line.component and key == line.txn:
                amount = units(earlier.amount[i]).quantize(CENT)
                kind = KINDS[int(earlier.kind[i])]
                found.append(f"paid by an earlier ledger in {labels[int(earlier.period[i])]}: {kind} {money(amount)}")
    return found


def component_shown(component: str | None, kind: str) -> str:
    """A line's component as a payee's figures name it: draws and floors under one name."""
    return component or ("draws and floor" if kind in GUARANTEE_KINDS else "(none)")


class LinesByPayee:
    """The indices of each payee's lines among some lines (``payee``: each line's payee code; by default every
    line of the run), in ledger order, found with one sort."""

    def __init__(self, payout: Payout, payee: np.ndarray | None = None):
        payee = payee if payee is not None else payout.lines.payee
        self._order = np.argsort(payee, kind="stable")
        self._bounds = np.searchsorted(payee[self._order], np.arange(len(payout.run.payees) + 1))

    def __call__(self, code: int) -> np.ndarray:
        return self._order[self._bounds[code] : self._bounds[code + 1]]

    def payees_with_lines(self) -> np.ndarray:
        """The codes of the payees with a line, in order."""
        return np.flatnonzero(np.diff(self._bounds))


def direct_streams(payout: Payout) -> np.ndarray:
    """Each payee's stream of their own credit (by payee code; -1: none), for many look-ups."""
    streams = payout.streams.of_payee
    own = np.flatnonzero(streams.role == 0)[::-1]  # reversed: where a payee had two, the first is kept
    found = np.full(len(payout.run.payees), -1, np.int64)
    found[streams.payee[own]] = own
    return found


def period_measures(
    payout: Payout, payee: int, period: int, direct: np.ndarray | None = None
) -> tuple[Decimal, Decimal | None]:
    """A payee's credit in a period, and attainment (None without a quota), of their own credit. ``direct``:
    :func:`direct_streams`, for callers asking of many payees."""
    streams, basis = payout.streams.of_payee, payout.run.basis
    stream = int((direct if direct is not None else direct_streams(payout))[payee])
    if stream < 0:
        return Decimal("0.00"), None
    credit = units(streams.period_credit[stream, period]).quantize(CENT)
    quota = int(basis.quota[payee, period])
    measure = int(
        streams.period_credit[stream, : period + 1].sum() if streams.ytd else streams.period_credit[stream, period]
    )
    return credit, (Decimal(measure) / Decimal(quota) if quota > 0 else None)


@functools.lru_cache(maxsize=4)
def _source_lines(source: str) -> list[str]:
    return source.splitlines()


def _trail_line(payout: Payout, index: int, row: dict, slices: list[Slice]) -> TrailLine:
    lines = payout.lines
    clause_index = int(lines.clause[index])
    clauses = payout.run.clauses
    span = clauses[clause_index] if 0 <= clause_index < len(clauses) else None  # else: an earlier ledger's
    source = ""
    if span is not None:
        text_lines = _source_lines(payout.run.plan.source)
        source = text_lines[span.line - 1].strip() if 0 < span.line <= len(text_lines) else ""
    exact = units(lines.exact[index])
    measure = (row["measure_before"], row["measure_after"], row["attainment_before"], row["attainment_after"])
    component = int(lines.component[index])
    if component >= 0 and source:  # a rule's line reads alike in every version: say which one it is
        clauses_of = payout.run.compiled.rule_clauses(component)
        if clause_index in clauses_of[1:]:
            start = payout.run.plan.components[component].versions[clauses_of.index(clause_index) - 1].start
            source = f"{source}   (from {start.isoformat()})"
    own_measure = bool(component >= 0 and lines.row[index] >= 0 and _rule_of(payout, index).on_row_credit)
    if own_measure:  # tiers or a curve on row credit measure the row alone, not the payee's year to date
        measure = (Decimal("0.00"), row["credit"], None, None)
    return TrailLine(
        kind=row["kind"],
        component=row["component"],
        txn=row["txn"],
        date=row["date"].isoformat() if row["date"] else None,
        clause=row["clause"] or "",
        source=source,
        credit=row["credit"],
        measure_before=measure[0],
        measure_after=measure[1],
        attainment_before=measure[2],
        attainment_after=measure[3],
        tier=row["tier"],
        rate=row["rate"],
        multiplier=row["multiplier"],
        slices=slices,
        exact=exact,
        amount=row["amount"],
        amount_cut=row["amount_cut"],
        explanation=pretty(row["explanation"]),
        own_measure=own_measure,
        for_period=row.get("for_period"),
        balance=row.get("balance"),
        converted=converted_words(
            row.get("currency"), row.get("fx_rate"), row.get("fx_date"), payout.run.plan.settings.currency
        ),
        fallback=_fallback(payout, int(lines.row[index])),
        currency=row.get("currency"),
        fx_rate=Decimal(format(row["fx_rate"].normalize(), "f")) if row.get("fx_rate") is not None else None,
        fx_date=row["fx_date"].isoformat() if row.get("fx_date") else None,
        amount_paid=row.get("amount_paid"),
        currency_paid=row.get("currency_paid"),
    )


def _fallback(payout: Payout, credit_row: int) -> str | None:
    """Why a credit row went to the fallback payee, if it did."""
    terms = payout.run.terms
    if terms is None or credit_row < 0:
        return None
    reasons = terms.fallback_reasons(payout.rows.take(np.array([credit_row])))
    return None if reasons is None else reasons[0].as_py()


def _retroactive_slices(
    payout: Payout, function: TierFunction, index: int, basis: RowBasis, factor: Decimal
) -> list[Slice]:
    """A retroactive line (line ``index``) before its multipliers: the row's own credit at the rate of the tier
    reached, and the uplift on earlier credit."""
    credit_row = int(payout.lines.row[index])
    streams = payout.streams.of(int(payout.lines.component[index]))
    before, after = streams.m_before[credit_row], streams.m_after[credit_row]
    was, now = (int(function.locate(np.array([m]), basis)[0]) for m in (before, after))
    credit = units(payout.rows.credit[credit_row])
    own = micro(credit * function.decimal_rates[now] * factor)
    pieces = [Slice(function.labels[now], to_cents(credit), function.rate_labels[now], own)]
    earned = function.value(np.array([after]), basis)[0] - function.value(np.array([before]), basis)[0]
    uplift = micro(units(earned) * factor) - own
    if uplift:
        rates = f"{function.rate_labels[was]} → {function.rate_labels[now]}"
        pieces.append(Slice(UPLIFT, to_cents(units(before)), rates, uplift))
    return pieces


def _tiered(payout: Payout, index: int, row: dict) -> tuple[CompiledComponent, TierFunction] | None:
    """The component run and tier function of a line that has tier slices (a tiered earning on a credit row);
    else None."""
    lines = payout.lines
    component, credit_row = int(lines.component[index]), int(lines.row[index])
    if component < 0 or credit_row < 0 or row["kind"] not in (LineKind.EARNING, LineKind.SPIF):
        return None
    run = _rule_of(payout, index)
    return (run, run.function) if isinstance(run.function, TierFunction) else None


def _rule_of(payout: Payout, index: int) -> CompiledComponent:
    """The compiled rule a line of a component was priced by: its version's, which the line's clause names."""
    component = int(payout.lines.component[index])
    run = payout.run.components[component]
    if len(run.versions) == 1:
        return run
    clauses = payout.run.compiled.rule_clauses(component)
    clause = int(payout.lines.clause[index])
    return run.versions[clauses.index(clause)] if clause in clauses else run


def _retroactive(run) -> bool:
    """Whether a tiered component pays its whole measure at the tier reached (its slices include an uplift on
    earlier credit); tiers per row are sliced as marginal ones are."""
    return run.function.retroactive and not run.per_row_tiers


def _filled(payout: Payout, run: CompiledComponent, index: np.ndarray) -> np.ndarray:
    """(lines, tiers): the credit each line of ``index`` (lines of one component's rule ``run``, tiers marginal
    or per row) puts in each tier of its component, all at once, on the measure the component is priced on."""
    lines = payout.lines
    credit_row = lines.row[index]
    periods = payout.run.basis.quota.shape[1]
    basis = RowBasis(
        lines.payee[index] * periods + lines.period[index], payout.run.basis.quota_cells, payout.run.basis.target_cells
    )
    if run.per_row_tiers:
        before, after = np.zeros(index.size, dtype=np.int64), payout.rows.credit[credit_row]
    else:
        streams = payout.streams.of(int(lines.component[index[0]]))
        before, after = streams.m_before[credit_row], streams.m_after[credit_row]
    if not isinstance(run.function, TierFunction):
        raise ValueError("only a tiered component's lines have tier slices")
    return run.function.slices(before, after, basis.quota)


def _slices_of(payout: Payout, shown: list[tuple[int, dict]]) -> list[list[Slice]]:
    """The tier slices of each line (see :func:`_slices`); those of each component's marginal tiers computed
    together (one line at a time, the tier function's small arrays would cost more than the work)."""
    groups: dict[int, tuple[CompiledComponent, list[int]]] = {}
    for index, row in shown:
        tiered = _tiered(payout, index, row)
        if tiered is not None and not _retroactive(tiered[0]):
            groups.setdefault(id(tiered[0]), (tiered[0], []))[1].append(index)
    filled: dict[int, np.ndarray] = {}
    for run, indices in groups.values():
        filled.update(zip(indices, _filled(payout, run, np.array(indices, dtype=np.int64)), strict=True))
    return [_slices(payout, index, row, filled.get(index)) for index, row in shown]


def _slices(payout: Payout, index: int, row: dict, filled: np.ndarray | None) -> list[Slice]:
    """The tier slices of a tiered row line, recomputed exactly from the run's own tier function (``filled``:
    the line's credit per tier where its tiers are not retroactive, see :func:`_slices_of`).

    Slices are at their tier's rate (times the row's own rate, where the rate is per row); the line's
    multipliers apply to their sum, as the ledger's explanation says: (a + b) × 1.2.
    """
    tiered = _tiered(payout, index, row)
    if tiered is None:
        return []
    run, function = tiered
    lines = payout.lines
    component, credit_row = int(lines.component[index]), int(lines.row[index])
    prepared = payout.run.row_values[component]
    factor = Decimal(1)
    if prepared.rate is not None and run.fixed_rate is None:
        factor = Decimal(repr(float(prepared.rate[credit_row])))
    if _retroactive(run):
        periods = payout.run.basis.quota.shape[1]
        basis = RowBasis(
            np.array([int(lines.payee[index]) * periods + int(lines.period[index])]),
            payout.run.basis.quota_cells,
            payout.run.basis.target_cells,
        )
        return _retroactive_slices(payout, function, index, basis, factor)
    if filled is None:
        raise ValueError("a line of marginal tiers comes with the credit it puts in each tier")
    result = []
    for k, amount in enumerate(filled):
        if amount == 0:
            continue
        credit = units(amount)
        rate = function.decimal_rates[k]
        result.append(
            Slice(function.labels[k], to_cents(credit), function.rate_labels[k], micro(credit * rate * factor))
        )
    return result
