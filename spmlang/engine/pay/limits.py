"""Caps and gates: what limits pay after the earning rules have spoken.

A cap is applied cumulatively in line order: E_capped = min(E, cap) over its
scope (a row, a period, the plan year), so the line that crosses the cap is
paid in part and later lines nothing. Each cut is a ledger line of kind
``cap`` on the line it cut. A gate decides at each period end whether a
component's earnings are paid; with year-to-date measures, earnings withheld
while it was closed are released when it opens.
"""

from __future__ import annotations

import numpy as np

from spmlang.engine.credit.basis import Basis
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import CENT, decimal_to_units, ensure_sums_fit, scaled, units_to_cents
from spmlang.engine.pay.lines import END, ROW, Lines, make_lines
from spmlang.engine.pay.streams import Streams
from spmlang.ir.expressions import Type
from spmlang.ir.kinds import CapScope, LineKind
from spmlang.ir.plan import CapSpec

# A component's caps apply narrowest first: each row, then each period, then the year.
CAP_ORDER = {scope: order for order, scope in enumerate(CapScope)}


def plan_caps_in_order(caps: tuple[CapSpec, ...]) -> list[int]:
    """The order plan caps apply in (indices of ``caps``): per period (or row) before per year, else as written."""
    return sorted(range(len(caps)), key=lambda i: caps[i].scope is CapScope.YEAR)


def cap_limit(cap: CapSpec, payee: np.ndarray, period: np.ndarray, basis: Basis) -> np.ndarray:
    """The cap for each line's payee and period, in units of whole cents (caps act on rounded amounts)."""
    if not cap.of_target:
        return np.full(payee.size, units_to_cents(np.array([decimal_to_units(cap.amount)]))[0] * CENT, dtype=np.int64)
    # One limit per payee (and period), not per line: a payee has many lines and few targets.
    if cap.scope is CapScope.YEAR:
        return (units_to_cents(scaled(basis.target_annual, float(cap.amount))) * CENT)[payee]
    return (units_to_cents(scaled(basis.target_period, float(cap.amount))) * CENT)[payee, period]


def _cumulative_cap(values: np.ndarray, starts: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Lines paid under min(running total, limit) within each group."""
    ensure_sums_fit(values, starts)
    running = grouping.cumsum(values, starts)
    return grouping.diff(np.minimum(running, limit), starts)


def apply_caps(
    lines: Lines, group_key: np.ndarray, caps: list[CapSpec], clauses: list[int], basis: Basis
) -> tuple[np.ndarray, Lines | None]:
    """Apply caps to ``lines`` (ordered by group, period, phase, row). Returns what each line keeps
    and the ``cap`` lines that record every cut."""
    paid = lines.amount.copy()
    cut_lines = []
    for cap, clause in sorted(zip(caps, clauses, strict=True), key=lambda pair: CAP_ORDER[pair[0].scope]):
        limit = cap_limit(cap, lines.payee, lines.period, basis)
        if cap.scope is CapScope.ROW:
            on_row = lines.phase == ROW
            kept = np.where(on_row, np.minimum(paid, limit), paid)
        else:
            keys = (group_key, lines.period) if cap.scope is CapScope.PERIOD else (group_key,)
            kept = _cumulative_cap(paid, grouping.starts_from_keys(*keys), limit)
        cut = paid - kept
        paid = kept
        hit = np.flatnonzero(cut != 0)
        if hit.size:
            cut_lines.append(_cut_lines(lines.take(hit), cut[hit], limit[hit], cap, clause))
    return paid, (Lines.concat(cut_lines) if cut_lines else None)


def _cut_lines(cut_from: Lines, cut: np.ndarray, limit: np.ndarray, cap: CapSpec, clause: int) -> Lines:
    n = cut.size
    scope = {"row": "this row", "period": "the period", "year": "the plan year"}[cap.scope]
    reduced = (cut < 0).astype(np.int8)  # a cut is never 0: a line reached the cap, or a reduction was absorbed
    explanation = text.join(
        f"`{cap.text}`: limit ",
        text.amount(limit),
        f" for {scope}",
        text.pick(reduced, [" reached, ", "; a reduction of "]),
        text.exact(np.abs(cut)),
        text.pick(reduced, [" cut", " is absorbed while earnings are above it"]),
    )
    return make_lines(
        n,
        payee=cut_from.payee,
        role=cut_from.role,
        component=cut_from.component,
        kind=LineKind.CAP,
        period=cut_from.period,
        phase=cut_from.phase,
        row=cut_from.row,
        amount=-cut,
        cut=cut,
        tier=None,
        explanation=explanation,
        clause=clause,
    )


def gate_adjustments(earned: np.ndarray, is_open: np.ndarray, ytd: bool, has_lines: np.ndarray) -> np.ndarray:
    """What a gate adds to each (stream, period)'s ``earned`` (capped, whole cents): minus what it withholds at a
    period end it is closed, plus (year to date) what it releases when it opens; nothing for a stream without
    lines of the component."""
    periods = is_open.shape[1]
    payout = np.zeros_like(earned)
    if ytd:
        running = np.cumsum(earned, axis=1)
        payable = np.zeros(earned.shape[0], dtype=np.int64)
        for p in range(periods):
            new_payable = np.where(is_open[:, p], running[:, p], payable)
            payout[:, p] = new_payable - payable
            payable = new_payable
    else:
        payout = np.where(is_open, earned, 0)
    adjustment = payout - earned
    adjustment[~has_lines] = 0
    return adjustment


# The period-end figures a gate's condition can read, in the order its lines say them.
GATE_FIGURES = ("credit", "quota", "attainment", "target", "count")


def _figures_read(figures: dict[str, tuple[np.ndarray, Type]], stream: np.ndarray, period: np.ndarray) -> list:
    """' (credit 4000.00, attainment 40%)': each figure at a line's stream and period end (nothing if none)."""
    parts: list = []
    for name, (matrix, kind) in figures.items():
        value = matrix[stream, period]
        if kind is Type.PERCENT:
            shown = text.percent(value)
        elif kind is Type.MONEY:
            shown = text.amount(value)
        else:  # a count, or credit counted (deals, units)
            shown = text.number(np.asarray(value, dtype=np.float64))
        parts += [", " if parts else " (", f"{name} ", shown]
    return [*parts, ")"] if parts else []


def gate_lines(
    lines: Lines,
    paid: np.ndarray,
    stream_of_line: np.ndarray,
    streams: Streams,
    is_open: np.ndarray,
    figures: dict[str, tuple[np.ndarray, Type]],
    component: int,
    condition: str,
    labels: list[str],
    clause: int,
) -> Lines | None:
    """The ``gate`` lines of one component: what is withheld while its gate is closed at a period end,
    and (year to date) released when it opens; each says the ``figures`` its condition read there (by name: a
    streams x periods matrix, and its type)."""
    periods = is_open.shape[1]
    earned = np.zeros((streams.count, periods), dtype=np.int64)
    if len(lines):
        cells = grouping.starts_from_keys(stream_of_line, lines.period)
        first = np.flatnonzero(cells)
        ensure_sums_fit(paid, grouping.starts_from_keys(stream_of_line))  # the year's, so each period's too
        earned[stream_of_line[first], lines.period[first]] = grouping.sums(paid, cells)
    has_lines = np.zeros(streams.count, dtype=bool)
    has_lines[np.unique(stream_of_line)] = True
    adjustment = gate_adjustments(earned, is_open, streams.ytd, has_lines)
    stream, period = np.nonzero(adjustment)
    if stream.size == 0:
        return None
    amount = adjustment[stream, period]
    # Said by whether the gate holds, not by the sign: a closed gate also keeps a period's earnings below zero
    # (a clawback, a credit note) from being taken, and one that opens takes back what fell while it was closed.
    met = is_open[stream, period]
    what = np.where(met, np.where(amount > 0, 0, 1), np.where(amount < 0, 2, 3)).astype(np.int8)
    explanation = text.join(
        text.pick(what, ["released ", "taken back ", "withheld ", "not taken back "]),
        text.exact(np.abs(amount)),
        text.pick(
            what,
            [
                f": gate `{condition}` met",
                f" (what the earnings fell by while it was closed): gate `{condition}` met",
                f": gate `{condition}` not met",
                f" (the period's earnings below zero): gate `{condition}` not met",
            ],
        ),
        " at the end of ",
        text.pick(period, labels),
        *_figures_read(figures, stream, period),
    )
    return make_lines(
        stream.size,
        payee=streams.payee[stream],
        role=streams.role[stream],
        component=component,
        kind=LineKind.GATE,
        period=period,
        phase=END,
        amount=amount,
        cut=np.maximum(-amount, 0),
        explanation=explanation,
        clause=clause,
    )
