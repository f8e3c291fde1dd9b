"""Totals per payee and period, and the summary ``spm run`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from spmlang.engine.credit.rows import DIRECT
from spmlang.engine.kernels.money import cents_to_decimal_array, units_to_decimal_array
from spmlang.engine.pay.lines import NO_BALANCE
from spmlang.engine.payout import Payout
from spmlang.engine.settle.cycle import opening
from spmlang.figures import reason_text, units_text
from spmlang.ir.expressions import Type


def totals_table(payout: Payout) -> pa.Table:
    """Payout per payee, period and component (long form), in cents as exact decimals."""
    payee, period, component, cents = payout.cells()
    names = [c.name for c in payout.run.plan.components]
    return pa.table(
        {
            "payee": pa.array([payout.run.payees.names[p] for p in payee], pa.string()),
            "period": pa.array([payout.run.calendar.labels[p] for p in period], pa.string()),
            "component": pa.array([names[c] if c >= 0 else None for c in component], pa.string()),
            "amount": cents_to_decimal_array(cents),
        }
    )


def unpaid_table(payout: Payout) -> pa.Table:
    """The credit rows a component could not pay (see :attr:`spmlang.Result.unpaid`), by input row."""
    parts = []
    names = [c.name for c in payout.run.plan.components]
    for unpaid in payout.run.unpaid():
        txn = payout.run.credit_rows.txn[unpaid.rows]
        failure = payout.run.row_values[names.index(unpaid.component)].failure
        if failure is None:
            raise ValueError("a component's unpaid rows come with their messages (see CreditedRun.unpaid)")
        parts.append(
            pa.table(
                {
                    "row": pa.array(payout.run.accounting.numbers(txn.astype(np.int64)), pa.int64()),
                    "key": payout.run.transactions.keys(txn),
                    "payee": payout.run.payees.array.take(payout.run.credit_rows.payee[unpaid.rows]),
                    "component": pa.array([unpaid.component] * unpaid.rows.size, pa.string()),
                    "reason": pa.array([unpaid.reason] * unpaid.rows.size, pa.string()),
                    "message": failure.take(unpaid.rows),
                }
            )
        )
    if not parts:
        return pa.table(
            {
                "row": pa.array([], pa.int64()),
                **{name: pa.array([], pa.string()) for name in ("key", "payee", "component", "reason", "message")},
            }
        )
    return pa.concat_tables(parts).sort_by("row")  # stable: by row, then the components in plan order


@dataclass
class SummaryRow:
    payee: str
    period: str
    credit: int  # units
    attainment: float | None
    by_component: list[int]  # cents, one per component
    total: int  # cents


@dataclass
class Summary:
    """What ``spm run`` shows: payout per payee and period, and how the input rows were accounted for."""

    plan: str
    currency: str
    components: list[str]
    rows: list[SummaryRow]
    accounting: dict
    counted_credit: bool
    inputs: list[tuple[str, str, int]]  # name, where it came from, rows read
    first_rejects: dict[str, str] = field(default_factory=dict)  # reason -> the message of its first row
    unpaid: list = field(default_factory=list)  # (component, reason, credit rows, credit in units, first message)
    cycle: list[str] = field(default_factory=list)  # which periods are closed, paid now, later; what is owed
    unchecked: list[str] = field(default_factory=list)  # earlier ledgers with no manifest to check them against
    other_plans: list[tuple[str, str]] = field(default_factory=list)  # earlier ledgers of another plan: (path, name)
    unread: list[tuple[str, str, str]] = field(default_factory=list)  # tables given, never read: (name, given as, why)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)

    @property
    def warnings(self) -> list[str]:
        """What looks like a mistake in the inputs although the run went through: nothing credited."""
        counts = self.accounting
        unchecked = [
            f"the earlier ledger {path} has no manifest beside it that spm can read: spm cannot tell whether it was "
            "edited since it was written, and takes its lines as they are (keep each ledger's .manifest.json beside it)"
            for path in self.unchecked
        ]
        unchecked += [
            f'the earlier ledger {path} was written by the plan "{name}", not "{self.plan}": its lines are '
            "settled under their own components and clauses (pass this plan's earlier ledgers, unless the plan "
            "was renamed)"
            for path, name in self.other_plans
        ]
        unchecked += [
            f"the {name} table given ({given}) was not read: {why}; is it meant for another plan?"
            for name, given, why in self.unread
        ]
        if counts["read"] == 0:
            return ["the transactions table has no rows: nothing was paid", *unchecked]
        unpaid = [self._unpaid_text(*entry) for entry in self.unpaid] + unchecked
        if counts["credited"]:
            return unpaid
        fates: list[tuple[int, str, str | None]] = [
            (count, f"excluded by the filter {name}", None) for name, count in counts["excluded"].items()
        ]
        fates += [
            (count, f"rejected ({reason_text(reason)})", self.first_rejects.get(reason))
            for reason, count in counts["rejected"].items()
        ]
        count, fate, first = max(fates, key=lambda fate: fate[:2])
        first = f" The first: {first}" if first else ""  # it may say what is wrong (a date format)
        return [
            f"no transaction was credited: of {counts['read']:,} rows, {count:,} {_were(count)} {fate}; is "
            f"this the right file for this plan (and its plan year)?{first}",
            *unpaid,
        ]

    def _unpaid_text(self, component: str, reason: str, rows: int, credit: int, message: str) -> str:
        credit_text = f"{credit / 1_000_000:,g}" if self.counted_credit else units_text(credit)
        return (
            f"component {component} did not pay {rows:,} credit row{'' if rows == 1 else 's'} "
            f"({reason_text(reason)}; credit {credit_text} at stake): {message}. The other components paid "
            "them; each shows in the ledger as a line 'not paid by this component' (--strict stops instead)"
        )

    def table(self) -> pa.Table:
        data: dict[str, pa.Array | list[str]] = {
            "payee": [r.payee for r in self.rows],
            "period": [r.period for r in self.rows],
            "credit": units_to_decimal_array(np.array([r.credit for r in self.rows], np.int64)),
            "attainment": pa.array([r.attainment for r in self.rows], pa.float64()),
        }
        for i, name in enumerate(self.components):
            data[name] = cents_to_decimal_array(np.array([r.by_component[i] for r in self.rows], np.int64))
        data["total"] = cents_to_decimal_array(np.array([r.total for r in self.rows], np.int64))
        return pa.table(data)

    def __rich_console__(self, console, options):
        from spmlang.report.render.terminal import MAX_SHOWN, summary_renderable

        # A person at a terminal (or a notebook) reads the largest payee-periods; a pipe or a file gets every one.
        yield summary_renderable(self, MAX_SHOWN if console.is_terminal or console.is_jupyter else None)

    def __str__(self) -> str:
        from spmlang.report.render.terminal import render_text

        return render_text(self)


def summarize(payout: Payout) -> Summary:
    payee, period, component, cents = payout.cells()
    names = payout.run.component_names
    components = len(names)
    periods = payout.run.calendar.count
    paid = np.zeros((len(payout.run.payees), periods, components + 1), dtype=np.int64)
    if payee.size:
        paid[payee, period, component] = cents  # component -1 lands in the last slot (always zero)
    basis = payout.run.basis
    stream_payee, stream_role, period_credit, measure_at_end = payout.measures()
    credit = np.zeros((len(payout.run.payees), periods), dtype=np.int64)
    measure = np.zeros((len(payout.run.payees), periods), dtype=np.int64)
    direct = stream_role == DIRECT
    credit[stream_payee[direct]] = period_credit[direct]
    measure[stream_payee[direct]] = measure_at_end[direct]
    has_quota = basis.quota > 0
    active = (credit != 0) | np.any(paid != 0, axis=2)
    cycle = payout.run.cycle
    active[:, : cycle.first_open] = False  # closed: their changes are adjustments in the first open period
    active[:, cycle.last + 1 :] = False  # later: not paid by this run
    settled = bool(np.any(paid[:, :, components])) or cycle.guarantees is not None and cycle.guarantees.any
    rows = []
    for p, q in zip(*np.nonzero(active), strict=True):
        attainment = float(measure[p, q] / basis.quota[p, q]) if has_quota[p, q] else None
        by_component = [int(v) for v in paid[p, q, : components + (1 if settled else 0)]]
        rows.append(
            SummaryRow(
                payout.run.payees.names[p],
                payout.run.calendar.labels[q],
                int(credit[p, q]),
                attainment,
                by_component,
                int(paid[p, q].sum()),
            )
        )
    inputs = []
    for name, source in sorted(payout.run.sources.items(), key=lambda item: item[0] != "transactions"):
        inputs.append((name, source.label, source.rows))
    return Summary(
        payout.run.plan.settings.name,
        payout.run.plan.settings.currency,
        names + (["draws and floor"] if settled else []),
        rows,
        payout.run.accounting.counts(),
        payout.run.plan.transactions.credit_type is not Type.MONEY,
        inputs,
        payout.run.accounting.first_messages(),
        [(u.component, u.reason, int(u.rows.size), u.credit, u.message) for u in payout.run.unpaid()],
        _cycle_notes(payout),
        [file.path for file in payout.run.cycle.files if not file.checked],
        [
            (file.path, file.plan)
            for file in payout.run.cycle.files
            if file.plan is not None and file.plan != payout.run.plan.settings.name
        ],
        payout.run.unread,
    )


def _cycle_notes(payout: Payout) -> list[str]:
    """Where the run stands in the pay cycle, and what payees owe or have held at its end."""
    payee, draw, floor, held = _owed(payout)
    names = payout.run.payees.names
    return period_notes(payout) + owed_notes([names[p] for p in payee.tolist()], draw, floor, held)


def period_notes(payout: Payout) -> list[str]:
    """Which periods are closed, paid now and later, and the earlier ledgers that closed them."""
    cycle, labels = payout.run.cycle, payout.run.calendar.labels
    notes = []
    if cycle.first_open or cycle.through is not None:
        closed = f"closed {_span(labels, 0, cycle.first_open - 1)}" if cycle.first_open else "none closed"
        later = f"; later {_span(labels, cycle.last + 1, len(labels) - 1)}" if cycle.last + 1 < len(labels) else ""
        notes.append(f"periods: {closed}; paid now {_span(labels, cycle.first_open, cycle.last)}{later}")
        for file in cycle.files:
            notes.append(
                f"already paid: {file.path} ({file.rows:,} lines, through {file.through}, sha256 {file.digest[:12]})"
            )
    return notes


def owed_notes(names: list[str], draw: np.ndarray, floor: np.ndarray, held: np.ndarray) -> list[str]:
    """What the payees ``names`` (in payee order) owe or have held (units, one per payee), the first ten of each."""
    notes = []
    for label, amounts in (
        ("draw still to recover", draw),
        ("payout floor still to recover", floor),
        ("held, not yet payable", held),
    ):
        owing = [(who, int(a)) for who, a in zip(names, amounts.tolist(), strict=True) if a]
        if owing:
            shown = ", ".join(f"{who} {units_text(a)}" for who, a in owing[:10])
            more = f" and {len(owing) - 10} more" if len(owing) > 10 else ""
            notes.append(f"{label}: {shown}{more}")
    return notes


def owed(payout: Payout) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(payee names, draw owed, floor owed, held) at the end of the run, in payee order (see :func:`_owed`)."""
    payee, draw, floor, held = _owed(payout)
    names = payout.run.payees.names
    return [names[p] for p in payee.tolist()], draw, floor, held


def owed_table(payout: Payout) -> pa.Table:
    """What payees owe or have held at the end of the run (see :func:`_owed`), those with anything."""
    payee, draw, floor, held = _owed(payout)
    keep = (draw != 0) | (floor != 0) | (held != 0)
    names = payout.run.payees.names
    return pa.table(
        {
            "payee": pa.array([names[p] for p in payee[keep].tolist()], pa.string()),
            "draw": units_to_decimal_array(draw[keep]),
            "floor": units_to_decimal_array(floor[keep]),
            "held": units_to_decimal_array(held[keep]),
        }
    )


def _owed(payout: Payout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(payee, draw owed, floor owed, held) at the end of the run: this run's balances where it has any, else
    the earlier ledgers'; held amounts of both."""
    cycle = payout.run.cycle
    payee, draw, floor, held = payout.owed()
    earlier = cycle.earlier.payee.astype(np.int64) if cycle.earlier is not None else np.zeros(0, np.int64)
    everyone = np.unique(np.concatenate([payee, earlier]))
    draw_now, floor_now, held_now = opening(cycle, everyone)
    at = np.searchsorted(everyone, payee)
    draw_now[at] = np.where(draw != NO_BALANCE, draw, draw_now[at])  # this run's last balance, if it has one
    floor_now[at] = np.where(floor != NO_BALANCE, floor, floor_now[at])
    held_now[at] += held
    return everyone, draw_now, floor_now, held_now


def _span(labels: list[str], first: int, last: int) -> str:
    return labels[first] if first == last else f"{labels[first]}–{labels[last]}"


def _were(count: int) -> str:
    return "was" if count == 1 else "were"
