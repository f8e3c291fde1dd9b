"""A component's values per credit row: evaluated once, before any measure is accumulated.

:func:`component_row_values` evaluates each component's row-level expressions (filters, multipliers, rates,
payments) over the credit rows. Rows a component cannot evaluate (a lookup that missed, an empty rate) are
rows it does not pay, unless the plan or ``--strict`` says to stop; the other components still pay them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.expressions.evaluate import evaluate_rows
from spmlang.engine.expressions.values import Frame, Issue, Vec, as_float, materialize, truth
from spmlang.engine.kernels import grouping
from spmlang.engine.kernels.money import UNIT
from spmlang.engine.read.transactions import Transactions
from spmlang.ir.expressions import Type
from spmlang.ir.plan import POLICY_SUBJECTS, CheckedPlan, ComponentSpec, PayPerRowRule, RateRule


@dataclass
class RowValues:
    selected: np.ndarray  # bool per ordered credit row
    multiplier: np.ndarray  # float: product of the multipliers that apply
    rate: np.ndarray | None  # float per row (a rate rule's rate)
    pay: np.ndarray | None  # int64 units per row (a pay-per-row rule's amount)
    # Rows of the component's role whose expressions it could not evaluate (a lookup that missed, an empty
    # rate): it does not pay them, and says why on a line of its own. int8 per row: 0, or 1 + the index of
    # the problem in REASONS (None: there are none).
    failed: np.ndarray | None = None
    failure: pa.Array | None = None  # why, per row (null where not failed)
    # The reversal rows (see credit.reversals) that move this component's measure: of a component that
    # re-prices the year without a cancelled transaction, within its window (None: there are none).
    reverses: np.ndarray | None = None
    payable: np.ndarray | None = None  # bool per row: its `payable when` holds (None: the component has none)
    # int8 per row: the version of the component in force on the row's date (None: it has no versions). A
    # reversal row (see credit.reversals) has its original row's: what was paid under a version is undone by it.
    version: np.ndarray | None = None

    def rates(self) -> np.ndarray:
        """Each row's rate (a rate rule's component has one)."""
        if self.rate is None:
            raise ValueError("the component's rule has no rate")
        return self.rate

    def payments(self) -> np.ndarray:
        """Each row's payment (a pay-per-row rule's component has one)."""
        if self.pay is None:
            raise ValueError("the component's rule pays no amount per row")
        return self.pay

    def take(self, index) -> RowValues:
        """The values of the given rows: an index array (a copy) or a slice (views)."""
        failure = None
        if self.failure is not None:
            if isinstance(index, slice):
                start, stop, _ = index.indices(len(self.failure))
                failure = self.failure.slice(start, stop - start)
            else:
                failure = self.failure.take(np.asarray(index))
        return RowValues(
            self.selected[index],
            grouping.gather(self.multiplier, index),
            None if self.rate is None else grouping.gather(self.rate, index),
            None if self.pay is None else grouping.gather(self.pay, index),
            None if self.failed is None else self.failed[index],
            failure,
            None if self.reverses is None else self.reverses[index],
            None if self.payable is None else self.payable[index],
            None if self.version is None else self.version[index],
        )

    def of_version(self, version: int) -> RowValues:
        """These values with only the rows paid under ``version`` selected (all of them without versions)."""
        if self.version is None:
            return self
        return replace(self, selected=self.selected & (self.version == version))


def evaluate_row_values(
    spec: ComponentSpec, rows: CreditRows, frame: Frame, version: np.ndarray | None = None
) -> RowValues:
    """Evaluate the component's row expressions. Rows it cannot evaluate leave issues on ``frame``: only the
    rows it still considers at that point, as its conditions are read in order (a row its first `where` left
    out is not a problem of its second), and only rows of its role. ``version``: the version in force on each
    row, for a component with versions: each row's multipliers and rate are its version's."""
    n = len(rows)
    role = spec.role.code
    selected = rows.role == role

    def evaluated(node, among: np.ndarray):
        mark = len(frame.issues)
        value = evaluate_rows(node, frame)
        for issue in frame.issues[mark:]:
            issue.mask = issue.mask & among  # a copy: `selected` changes in place below
        return value

    for row_filter in spec.filters:
        selected &= truth(evaluated(row_filter.expr, selected), n)

    def payable() -> np.ndarray | None:
        return None if spec.payable is None else np.array(truth(evaluated(spec.payable, selected), n), dtype=bool)

    if version is None:
        multiplier, rate, pay = _shaping(spec, selected, n, frame, evaluated)
        return RowValues(selected, multiplier, rate, pay, payable=payable())
    # Each version's multipliers and rate, on the rows of its dates; a row's values are its version's.
    multiplier, rate, pay = np.ones(n), None, None
    for v, version_spec in enumerate(spec.in_versions()):
        here = selected & (version == v)
        shaped = _shaping(version_spec, here, n, frame, evaluated)
        in_version = version == v
        multiplier = np.where(in_version, shaped[0], multiplier)
        if shaped[1] is not None:
            rate = np.where(in_version, shaped[1], np.nan if rate is None else rate)
        if shaped[2] is not None:
            pay = np.where(in_version, shaped[2], 0 if pay is None else pay)
    return RowValues(selected, multiplier, rate, pay, payable=payable(), version=version)


def _shaping(spec: ComponentSpec, selected: np.ndarray, n: int, frame: Frame, evaluated):
    """(multiplier, rate, pay) of ``spec``'s rule over the rows: those ``selected`` are the ones it pays."""
    multiplier = grouping.uniform(1.0, n)
    for m in spec.multipliers:
        applies = truth(evaluated(m.condition, selected), n)
        if not applies.any():
            continue
        if grouping.is_uniform(multiplier):  # no copy of the column made for the product
            multiplier = np.where(applies, multiplier[0] * float(m.factor), multiplier[0])
        else:
            np.multiply(multiplier, float(m.factor), out=multiplier, where=applies)
    rate = pay = None
    rule = spec.rule
    if isinstance(rule, RateRule):
        value, rows_of = _per_row(evaluated(rule.rate, selected), n)
        rate = as_float(value) if value.type is not Type.MONEY else np.asarray(value.values, np.float64) / UNIT
        rate = rows_of(np.where(value.valid, rate, np.nan))
        _require(selected, value.valid, frame, f"the rate of component '{spec.name}' is empty ({rule.rate_text})")
    elif isinstance(rule, PayPerRowRule):
        value, rows_of = _per_row(evaluated(rule.amount, selected), n)
        pay = rows_of(np.where(value.valid, np.asarray(value.values, np.int64), 0))
        _require(selected, value.valid, frame, f"the payment of component '{spec.name}' is empty ({rule.amount_text})")
    return multiplier, rate, pay


def versions_of(spec: ComponentSpec, dates: np.ndarray) -> np.ndarray | None:
    """The version of ``spec`` in force on each date (days since 1970); None for a component without versions."""
    if not spec.versions:
        return None
    starts = np.array([(v.start - dt.date(1970, 1, 1)).days for v in spec.versions], dtype=np.int64)
    return np.searchsorted(starts, np.asarray(dates, np.int64), side="right").astype(np.int8)


def _per_row(vec, n: int):
    """``vec`` as arrays, and how to make what is computed from them a column of ``n`` rows: a constant (a
    fixed rate, a fixed payment) is computed once, for one row, and stays one value (see grouping.uniform)."""
    if np.ndim(vec.values) == 0 and np.ndim(vec.valid) == 0 and vec.type is not Type.TEXT:
        return materialize(vec, 1), lambda column: grouping.uniform(column[0], n)
    return materialize(vec, n), lambda column: column


def _require(selected: np.ndarray, valid: np.ndarray, frame: Frame, message: str) -> None:
    """Rows the component pays need a value; an empty one is a reason to reject the row, not to skip it."""
    empty = selected & ~np.asarray(valid, bool)
    if np.any(empty):
        frame.issues.append(Issue(empty, "missing_value", message))


REASONS = tuple(POLICY_SUBJECTS)  # what keeps a component from paying a row (see RowValues.failed)


def _unpayable(spec: ComponentSpec, values: RowValues, rows: CreditRows, issues: list, txns: Transactions) -> RowValues:
    """The component's rows it could not evaluate (``issues``: a lookup key not in its table, an empty rate, a
    division by zero) are rows it does not pay; the transaction is still credited, and the other components
    pay it. Unless the run is strict, or the plan says `on REASON error`: then the run stops."""
    role = spec.role.code
    in_role = rows.role == role
    failed = np.zeros(len(rows), dtype=np.int8)
    failure = pa.nulls(len(rows), pa.string())
    accounting = txns.accounting
    for issue in issues:
        mask = np.asarray(issue.mask, dtype=bool) & in_role & (failed == 0)
        if not mask.any():
            continue
        message = issue.message if isinstance(issue.message, str) else issue.message.cast(pa.string())
        if accounting.stops(issue.subject):
            picked = np.flatnonzero(mask)
            said = message if isinstance(message, str) else message.take(picked)
            accounting.stop(rows.txn[picked], issue.subject, said, issue.column, "row a component cannot pay")
        failed[mask] = 1 + REASONS.index(issue.subject)
        failure = pc.if_else(pa.array(mask), message, failure)
    if not failed.any():
        return values
    return replace(values, selected=values.selected & (failed == 0), failed=failed, failure=failure)


def component_row_values(
    plan: CheckedPlan, rows: CreditRows, txns: Transactions, payees: Payees, lookups: dict, basis: Basis
) -> list[RowValues]:
    """Evaluate every component's row expressions over the credit rows; reject rows they cannot read. A row's
    ``quota`` and ``target`` are its payee's annual quota and target incentive (rows whose payee has none
    were rejected by :func:`spmlang.engine.credit.basis.check_basis` where a component reads them)."""
    n = len(rows)
    index = pa.array(rows.txn)

    def gathered(name: str):
        def load() -> Vec:
            column = txns.frame.column(name)
            valid = np.asarray(column.valid)[rows.txn] if np.ndim(column.valid) else column.valid
            values = (
                column.values.take(index)
                if isinstance(column.values, pa.Array)
                else np.asarray(column.values)[rows.txn]
            )
            return Vec(values, valid, column.type)

        return load

    credit_type = plan.transactions.credit_type
    credit = rows.credit if credit_type is Type.MONEY else rows.credit / UNIT
    annual_quota = basis.quota_period.sum(axis=1)
    if credit_type is not Type.MONEY:
        annual_quota = annual_quota / UNIT
    # Expressions of the transaction's columns alone are evaluated per transaction (see evaluate_rows),
    # unless filters left so few rows that evaluating every transaction would cost more than gathering.
    transactions = Frame(txns.frame.n, txns.frame.columns, tables=lookups) if 2 * n >= txns.frame.n else None
    values = []
    for spec in plan.components:
        # A frame per component: the columns it gathers per credit row for
        # expressions of a row's credit, share or payee are let go before the next component's.
        frame = Frame(
            n,
            {name: gathered(name) for name in txns.columns},
            tables=lookups,
            builtins={
                "credit": Vec(credit, True, credit_type),
                "share": Vec(rows.share, True, Type.NUMBER),
                "payee": lambda: Vec(payees.array.take(rows.payee), True, Type.TEXT),
                "quota": lambda: Vec(annual_quota[rows.payee], True, credit_type),
                "target": lambda: Vec(basis.target_annual[rows.payee], True, Type.MONEY),
            },
            source=transactions,
            source_rows=rows.txn,
        )
        version = versions_of(spec, rows.date)
        one = evaluate_row_values(spec, rows, frame, version)
        if frame.issues:
            one = _unpayable(spec, one, rows, frame.issues, txns)
        frame.issues.clear()
        values.append(one)
    return values
