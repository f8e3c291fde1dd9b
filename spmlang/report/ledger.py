"""Stage 4: the payout ledger, as an Arrow table.

One line per (payee, component, period, credit row), plus adjustment lines
(true-ups, caps, gates, bonuses). Money is decimal with 2 decimals; every
line carries a one-line explanation and the clause of the plan that made it.
The statement total of a payee and period is the sum of its lines.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from pathlib import PurePath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.credit.rows import ROLE_NAMES
from spmlang.engine.kernels import column_text as text
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import cents_to_decimal64_array, to_units, units_to_cents, units_to_scale
from spmlang.engine.pay.lines import KINDS, NO_BALANCE
from spmlang.engine.payout import PaidLines, Payout
from spmlang.ir.kinds import LineKind
from spmlang.ir.plan import CheckedPlan
from spmlang.report import currency_columns

MONEY = pa.decimal128(18, 2)
RATIO = pa.decimal128(18, 6)
# What a line's rule earned before rounding, in millionths: as parquet INT64 (fast to write, small), so below
# 10 ** 18 millionths; a line's larger exact amount is left out, and its explanation says it.
EXACT_BOUND = 10**18

# Columns every line has a value in. Parquet stores them as required: no definition levels to write or read
# (less work to write a ledger), and readers learn from the schema that they are never null.
ALWAYS = {
    "run_id",
    "plan",
    "plan_version",
    "plan_hash",
    "payee",
    "period",
    "kind",
    "role",
    "amount",
    "amount_cut",
    "explanation",
    "clause",
}

LEDGER_SCHEMA = pa.schema(
    [
        pa.field(name, kind, nullable=name not in ALWAYS)
        for name, kind in [
            ("run_id", pa.string()),
            ("plan", pa.string()),
            ("plan_version", pa.string()),
            ("plan_hash", pa.string()),
            ("payee", pa.string()),
            ("period", pa.string()),
            ("component", pa.string()),
            ("kind", pa.string()),
            ("role", pa.string()),
            ("rollup_from", pa.string()),
            ("txn", pa.string()),
            ("date", pa.date32()),
            ("share", RATIO),
            ("credit", MONEY),
            ("measure_before", MONEY),
            ("measure_after", MONEY),
            ("attainment_before", RATIO),
            ("attainment_after", RATIO),
            ("tier", pa.string()),
            ("rate", RATIO),
            ("multiplier", RATIO),
            ("amount", MONEY),
            ("amount_cut", MONEY),
            ("exact", RATIO),
            ("explanation", pa.string()),
            ("clause", pa.string()),
            ("for_period", pa.string()),
            ("balance", MONEY),
        ]
    ]
)

# Columns of a few distinct values (one, for the first four): built dictionary-encoded (text.labelled), and
# so carried between processes and written to parquet; :func:`public` gives them as plain strings. Money and
# ratios are built as decimal64 (int64 cents or millionths, not copied; parquet stores them as int64 either way).
LABEL_COLUMNS = (
    "run_id",
    "plan",
    "plan_version",
    "plan_hash",
    "payee",
    "period",
    "component",
    "kind",
    "role",
    "rollup_from",
    "tier",
    "clause",
    "for_period",
)
LABELS = pa.dictionary(pa.int32(), pa.string())


def _built(field: pa.Field) -> pa.Field:
    if field.name in LABEL_COLUMNS or field.name == "explanation":  # most explanations: one of a few templates
        return field.with_type(LABELS)
    if pa.types.is_decimal(field.type):
        return field.with_type(pa.decimal64(field.type.precision, field.type.scale))
    return field


BUILT_SCHEMA = pa.schema([_built(f) for f in LEDGER_SCHEMA])


def public(table: pa.Table) -> pa.Table:
    """A ledger table built with its sentences (``build_ledger(..., sentences=True)``) as users get it
    (:func:`ledger_schema`)."""
    public_types = {field.name: field for field in LEDGER_SCHEMA}
    public_types.update((name, pa.field(name, kind)) for name, kind, _ in currency_columns.FIELDS)
    return table.cast(pa.schema([public_types[name] for name in table.schema.names]))


# ---------------------------------------------------------------------- a plan's own columns
# A plan with currencies has the columns of report/currency_columns.py after these; a plan without has none
# of them, and its ledger is what it always was, byte for byte.


def _kinds(plan: CheckedPlan) -> list[str | None]:
    """The kinds a plan's lines can be, for the ``kind`` column's dictionary: a plan without currencies has no
    fx line, and not its kind (its ledger stays what it was, dictionary page and all)."""
    return [None if kind is LineKind.FX and not plan.converts_currencies else kind for kind in KINDS]


def ledger_schema(plan: CheckedPlan) -> pa.Schema:
    """The columns of ``plan``'s ledger, as users get them."""
    return pa.schema([*LEDGER_SCHEMA, *currency_columns.fields(plan, built=False)])


def built_schema(plan: CheckedPlan) -> pa.Schema:
    """The columns of ``plan``'s ledger, as built (see :data:`BUILT_SCHEMA`)."""
    return pa.schema([*BUILT_SCHEMA, *currency_columns.fields(plan, built=True)])


def run_id(payout: Payout, input_hashes: dict[str, dict], options: dict) -> str:
    """A run's id: a hash of the plan, the inputs and the options (the same inputs give the same id)."""
    material = json.dumps({"plan": payout.run.plan.sha256, "inputs": input_hashes, "options": options}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _ratio(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """A ratio (attainment, rate, share) as an exact decimal with 6 places; null where not valid."""
    values = np.asarray(values, dtype=np.float64)
    if grouping.is_uniform(values) and values.size:  # one value (a share of 100%): converted once
        units = np.where(valid, _millionths(values[:1], True)[0], 0)
        return cents_to_decimal64_array(units, valid, scale=6)
    return cents_to_decimal64_array(_millionths(values, valid), valid, scale=6)


def _millionths(values: np.ndarray, valid) -> np.ndarray:
    """Ratios as int64 millionths, half away from zero: 0 where not valid or NaN, infinities held to +-4e12."""
    scaled = np.where(valid & ~np.isnan(values), values, 0.0)
    np.clip(scaled, -4e12, 4e12, out=scaled)  # within the limit of what is held (money.LIMIT)
    scaled *= 1_000_000
    return to_units(scaled)


def _money(units: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return cents_to_decimal64_array(units_to_scale(units, 2), valid)


def _distinct(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """Each label once, and where each of ``labels`` went among them."""
    first: dict[str, int] = {}
    where = np.array([first.setdefault(label, len(first)) for label in labels], dtype=np.int64)
    return list(first), where


class LedgerLines:
    """A run's ledger as :attr:`spmlang.Result.ledger` has it, built only for the lines taken (``take``, by their
    index among the run's): a payee's, to explain them, without building every line of a large run."""

    def __init__(self, payout: Payout, run: str) -> None:
        self.payout, self.run = payout, run

    def take(self, index: np.ndarray) -> pa.Table:
        return public(build_ledger(self.payout, self.run, self.payout.whole().take(index), sentences=True))


NO_EXACT = np.iinfo(np.int64).min  # the exact amount of a line whose own is left out: no template's
CHUNK = 1 << 16  # ledger lines built and written at a time, at most


def ledger_chunks(payout: Payout, run: str, progress=None, size: int = CHUNK):
    """The ledger a chunk of lines at a time, in order, paying a batch of payees at a time: memory stays
    bounded however long the ledger is. A chunk never spans two batches, so chunks (parquet row groups)
    depend only on the data. Large runs are paid on every core (see :mod:`spmlang.engine.parallel`). An
    empty ledger is still one (empty) chunk, so that every writer gets the columns."""
    empty = True
    for chunk in payout.in_batches(
        lambda paid: _chunked(payout, run, paid, size), progress, "paying and writing the ledger"
    ):
        empty = False
        yield chunk
    if empty:
        yield build_ledger(payout, run)


def _chunked(payout: Payout, run: str, paid: PaidLines, size: int) -> Iterator[pa.Table]:
    """The ledger of one batch's lines, in chunks of at most ``size`` lines, each built when it is asked for."""
    count = len(paid.lines)
    for start in range(0, count, size):
        yield build_ledger(payout, run, paid.take(slice(start, min(start + size, count))))  # views


def _named(txn: pa.Array, named: np.ndarray, payout: Payout) -> pa.Array:
    """``txn`` where a line is on a credit row, else the transaction ``named`` (Lines.txn): an input row's
    key, or a key gone from the data."""
    present = named >= 0
    keys = payout.run.transactions.keys(np.maximum(named, 0), present) if payout.run.transactions.rows else txn
    earlier = payout.run.cycle.earlier
    gone = earlier.gone if earlier is not None else []
    gone_keys = pa.array([*gone, None], pa.string()).take(np.where(named <= -2, -2 - named, len(gone)))
    return pc.coalesce(txn, pc.cast(keys, pa.string()), gone_keys)


def build_ledger(
    payout: Payout, run: str, paid: PaidLines | None = None, sentences: bool = False, only: list[str] | None = None
) -> pa.Table:
    """The ledger lines of ``paid`` (by default every line of the run) as an Arrow table of
    :data:`BUILT_SCHEMA`: most explanations as templates, as a ledger file stores them (dictionary-encoded where
    the plan explains most lines so), or, with ``sentences``, every one as its sentence, as the engine joins
    them (a ledger read in memory: see :func:`public`). ``only``: just these columns, in the ledger's order (a
    statement's: the others are not made)."""
    paid = paid if paid is not None else payout.whole()
    lines, cents_all = paid.lines, paid.cents
    rows, streams, basis = paid.rows, paid.streams, payout.run.basis
    n = len(lines)
    on_row = lines.row >= 0
    row = np.where(on_row, lines.row, 0)
    plan = payout.run.plan
    settings = plan.settings

    def txn() -> pa.Array:
        txn_index = rows.txn[row] if len(rows) else np.zeros(n, np.int64)
        keys = (
            payout.run.transactions.keys(txn_index, on_row)
            if n and payout.run.transactions.rows
            else pa.nulls(n, pa.string())
        )
        if np.any(lines.txn != -1):  # adjustments of transactions no longer paid: named as the earlier ledger did
            keys = _named(keys, lines.txn, payout)
        return keys

    def dates() -> pa.Array:
        days = pa.array(np.where(on_row, rows.date[row] if len(rows) else 0, 0).astype(np.int32), pa.int32())
        if not n:
            return pa.array([], pa.date32())
        return pc.if_else(pa.array(on_row), days.cast(pa.date32()), pa.scalar(None, pa.date32()))

    credit = rows.credit[row] if len(rows) else np.zeros(n, np.int64)

    @functools.cache
    def measures() -> tuple[np.ndarray, np.ndarray]:
        # Each line's measure is the one that priced it: its component's (see StreamsByComponent).
        return streams.around(row, lines.component) if len(rows) else (np.zeros(n, np.int64),) * 2

    @functools.cache
    def quota() -> tuple[np.ndarray, np.ndarray]:
        of_line = basis.quota[lines.payee, lines.period] if n else np.zeros(0, np.int64)
        return on_row & (of_line > 0), np.where(of_line > 0, of_line, 1).astype(np.float64)

    payee, period = lines.payee, lines.period
    rollup_from = rows.rollup_from[row] if len(rows) else np.full(n, -1)
    # A ledger cites its plan by file name (plan.spm:14), not by the path it was run with: the same plan and
    # inputs give the same ledger wherever they were run from.
    clause_text = [f"{PurePath(span.path).name}:{span.line}" for span in payout.run.clauses]
    clause_text += payout.run.cycle.foreign_clauses  # cited by earlier ledgers, as they cited them
    clause_text, clause_of = _distinct(clause_text)  # a dictionary with a label twice is written unpredictably
    payees = payout.run.payees.array
    labels = list(payout.run.calendar.labels)
    has_balance = lines.balance != NO_BALANCE
    exact_held = (lines.exact > -EXACT_BOUND) & (lines.exact < EXACT_BOUND)
    encoded = not sentences and payout.run.compiled.explained_by_templates  # explanations: a dictionary
    exact = lines.exact if exact_held.all() else np.where(exact_held, lines.exact, 0)
    first = np.zeros(n, dtype=np.int32)  # the indices of the four one-value columns, made once

    def constant(value: str) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(first, pa.array([value], pa.string()))

    def explanation() -> pa.Array:
        # A template where the line's `credit`, `exact` and `rollup_from` say what it names
        # (spmlang.report.explanations); a sentence where they do not.
        if sentences:
            return lines.explanation.resolve()
        return lines.explanation.for_ledger(
            np.where(on_row, credit, 0),
            np.where(exact_held, exact, NO_EXACT),
            np.where(on_row, rollup_from, -1),
            encoded=encoded,
        )

    made = {
        "run_id": lambda: constant(run),
        "plan": lambda: constant(settings.name),
        "plan_version": lambda: constant(settings.version),
        "plan_hash": lambda: constant(plan.sha256),
        "payee": lambda: text.labelled(payee, payees),
        "period": lambda: text.labelled(period, labels),
        "component": lambda: text.labelled(lines.component, payout.run.component_names),
        "kind": lambda: text.labelled(lines.kind, _kinds(plan)),
        "role": lambda: text.labelled(lines.role, list(ROLE_NAMES)),
        "rollup_from": lambda: text.labelled(np.where(on_row, rollup_from, -1), payees),
        "txn": txn,
        "date": dates,
        "share": lambda: _ratio(grouping.gather(rows.share, row) if len(rows) else np.zeros(n), on_row),
        "credit": lambda: _money(credit, on_row),
        "measure_before": lambda: _money(measures()[0], on_row),
        "measure_after": lambda: _money(measures()[1], on_row),
        "attainment_before": lambda: _ratio(measures()[0] / quota()[1], quota()[0]),
        "attainment_after": lambda: _ratio(measures()[1] / quota()[1], quota()[0]),
        "tier": lambda: lines.tier.labelled(),
        "rate": lambda: _ratio(lines.rate, ~np.isnan(lines.rate)),
        "multiplier": lambda: _ratio(lines.multiplier, on_row),
        "amount": lambda: cents_to_decimal64_array(cents_all),
        "amount_cut": lambda: cents_to_decimal64_array(units_to_cents(lines.cut)),
        "exact": lambda: cents_to_decimal64_array(exact, exact_held, scale=6),
        "explanation": explanation,
        "clause": lambda: text.labelled(np.where(lines.clause >= 0, clause_of[lines.clause], -1), clause_text),
        # The period an adjustment corrects (empty where it is the line's own period).
        "for_period": lambda: text.labelled(np.where(lines.for_period != period, lines.for_period, -1), labels),
        "balance": lambda: _money(np.where(has_balance, lines.balance, 0), has_balance),
    }
    columns = {name: make() for name, make in made.items() if only is None or name in only}
    empty = [name for name, column in columns.items() if name in ALWAYS and column.null_count]
    if empty:  # a defect of spm's, not of the data: said here, not as a parquet error or a silent null
        raise AssertionError(f"ledger lines without {', '.join(empty)}, which every line has")
    return _table(payout, paid, columns, not encoded, only)


def _table(payout: Payout, paid: PaidLines, columns: dict, as_text: bool, only: list[str] | None) -> pa.Table:
    """The built columns as a table, with a plan's currency columns after them (``as_text``: its explanations
    are text, not dictionary-encoded; ``only``: just these columns)."""
    plan, terms = payout.run.plan, payout.run.terms
    if plan.converts_currencies and terms is not None and terms.rates is not None:
        periods = payout.run.calendar.count
        columns.update(currency_columns.currency_columns(paid, terms.rates, terms.fx_rows, periods))
        schema = _said(built_schema(plan), as_text)
    else:
        schema = _said(BUILT_SCHEMA, as_text)
    if only is not None:
        schema = pa.schema([field for field in schema if field.name in only])
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def _said(schema: pa.Schema, as_text: bool) -> pa.Schema:
    """``schema``, its explanations as text (not dictionary-encoded) where they are."""
    if not as_text:
        return schema
    index = schema.get_field_index("explanation")
    return schema.set(index, schema.field(index).with_type(pa.string()))
