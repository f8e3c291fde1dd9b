"""A credited run: everything known before paying, as a plain value.

Reading and crediting make it once (:func:`spmlang.engine.run.credit_run`); paying is a function of it and a
batch of its payees (:func:`spmlang.engine.batch.pay_batch`), in this process or a forked worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spmlang.diagnostics import Span
from spmlang.engine.calendar import PlanCalendar
from spmlang.engine.compile import CompiledPlan
from spmlang.engine.credit.basis import Basis
from spmlang.engine.credit.row_values import REASONS, RowValues
from spmlang.engine.credit.rows import CreditRows, Payees
from spmlang.engine.credit.terms import Terms
from spmlang.engine.pay.component import CompiledComponent
from spmlang.engine.read.accounting import RowAccounting
from spmlang.engine.read.transactions import InputRows
from spmlang.engine.settle.cycle import PayCycle
from spmlang.ir.plan import CheckedPlan


@dataclass(frozen=True)
class CreditedRun:
    """A run read and credited, not yet paid."""

    compiled: CompiledPlan
    payees: Payees
    credit_rows: CreditRows  # in crediting order: by payee, role, date, transaction key (see crediting_order)
    row_values: list[RowValues]  # each component's values per credit row, aligned with ``credit_rows``
    batches: list[slice]  # ranges of ``credit_rows``: whole payees
    basis: Basis
    transactions: InputRows
    key_rank: np.ndarray  # per input row
    sources: dict  # input name -> LoadedTable or TableData label info
    workers_wanted: int | None = None
    cycle: PayCycle = field(default_factory=lambda: PayCycle(0))  # which periods it pays (see engine.settle)
    terms: Terms | None = None  # a roster with dates or terms, and currencies (None: the plan has neither)
    unread: list = field(default_factory=list)  # tables given that the plan never read: (name, given as, why)

    @property
    def component_names(self) -> list[str]:
        """The names a line's component code stands for: the plan's, then those only earlier ledgers cite."""
        return [c.name for c in self.plan.components] + self.cycle.foreign_components

    @property
    def plan(self) -> CheckedPlan:
        return self.compiled.plan

    @property
    def calendar(self) -> PlanCalendar:
        return self.compiled.calendar

    @property
    def clauses(self) -> tuple[Span, ...]:
        return self.compiled.clauses

    @property
    def components(self) -> tuple[CompiledComponent, ...]:
        return self.compiled.components

    @property
    def accounting(self) -> RowAccounting:
        return self.transactions.accounting

    def unpaid(self) -> list[UnpaidRows]:
        """The credit rows each component could not pay (see RowValues.failed), by component and reason."""
        found = []
        for spec, values in zip(self.plan.components, self.row_values, strict=True):
            if values.failed is None or values.failure is None:  # the two come together
                continue
            for code in np.unique(values.failed[values.failed > 0]).tolist():
                rows = np.flatnonzero(values.failed == code)
                credit = int(self.credit_rows.credit[rows].astype(object).sum())  # Python's integers: no limit
                found.append(
                    UnpaidRows(spec.name, REASONS[code - 1], rows, credit, values.failure[int(rows[0])].as_py())
                )
        return found


@dataclass
class UnpaidRows:
    """Credit rows a component could not pay, for one reason: which (indices of the run's credit rows), their
    credit in all (units), and the first one's message."""

    component: str
    reason: str
    rows: np.ndarray
    credit: int
    message: str
