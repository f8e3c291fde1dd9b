"""Every input row accounted for: credited, excluded by a filter, or rejected.

Each transaction row ends in exactly one of three states. The first decision
about a row wins: a row rejected for an unreadable date is not also counted as
excluded by a filter. A reject is an error instead when the plan's policy for
that kind of problem says `error`, or when the run is strict.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.diagnostics import InputError, Span
from spmlang.ir.kinds import PolicyAction, PolicySubject

PENDING, EXCLUDED, REJECTED = 0, 1, 2

# A run on a cluster credits each payee group apart: there a row that stops the run is recorded here (with where
# it was met, and every row like it), not raised, and the client says the one a whole run stops at
# (spmlang.cluster.stops).
STOPS_RECORDED: ContextVar[list | None] = ContextVar("stops_recorded", default=None)


@dataclass
class RecordedStop:
    """A stop met but not raised (see ``STOPS_RECORDED``): the error and the input rows it was met for."""

    error: InputError
    rows: np.ndarray  # input row indices (one per credit row, for a row a component cannot pay)
    site: tuple  # where in spm it was met: the lines of the calls that led to it


REASON_HINTS = {
    "invalid_value": "fix the value in the file, or declare the column with the right type or format",
    "missing_value": "fill in the value, or exclude such rows with a `where` filter",
    "missing_lookup": "add the key to the lookup table, give the table a `default`, or correct the data",
    "outside_year": "run this plan only over its plan year, or exclude other dates with a `where` filter",
    "missing_quota": "add a quota for this payee and period",
    "duplicate_key": "each transaction needs its own key; remove or renumber the duplicate",
    "bad_split": "shares of one transaction add up to at most 100%, and each share needs a payee",
    "outside_employment": "correct the date or the payee, add the employment to the roster, or name a `fallback` payee",
    "missing_fx_rate": "add the rate to the fx table: a rate holds from its date until the currency's next one",
}


@dataclass
class _Rejection:
    rows: np.ndarray  # input row indices
    reason: str
    message: str | pa.Array  # one for every row, or one per row
    column: str | None


def _site(frame: FrameType | None) -> list:
    """Where in spm a stop was met: each call's function and line, with the plan clauses (a component, a
    filter) it was at; the same in every group that meets it."""
    site = []
    while frame is not None and frame.f_globals.get("__name__", "").startswith("spmlang.engine"):
        clauses = sorted(
            str(value.span)
            for value in frame.f_locals.values()
            if type(value).__module__.startswith("spmlang.ir") and isinstance(getattr(value, "span", None), Span)
        )
        site.append((frame.f_code.co_qualname, frame.f_lineno, *clauses))
        frame = frame.f_back
    return site


class RowAccounting:
    """The fate of each input row of the transactions table."""

    def __init__(
        self,
        rows: int,
        label: str,
        row_offset: int,
        policies: dict[PolicySubject, PolicyAction],
        strict: bool,
        filter_names: list[str],
        row_numbers: np.ndarray | None = None,
    ):
        self.rows = rows
        self.row_numbers = row_numbers  # each row's number where not row + 1 + row_offset (see LoadedTable)
        self.label = label
        self.row_offset = row_offset
        self.policies = policies
        self.strict = strict
        self.state = np.zeros(rows, dtype=np.int8)
        self.filter_names = list(filter_names)
        self.excluded_by = np.full(rows, -1, dtype=np.int16)
        self._rejections: list[_Rejection] = []

    def numbers(self, rows: np.ndarray) -> np.ndarray:
        """The numbers people know the input ``rows`` (indices) by: their line in the file."""
        if self.row_numbers is not None:
            return self.row_numbers[rows]
        return np.asarray(rows, dtype=np.int64) + 1 + self.row_offset

    def pending(self) -> np.ndarray:
        return self.state == PENDING

    @property
    def rejections(self) -> int:
        """How many rejections so far (each of one or more rows): a step that left it unchanged rejected
        nothing, and the rows it kept need no filtering."""
        return len(self._rejections)

    def reject(self, mask: np.ndarray, reason: str, message, column: str | None = None) -> None:
        """Reject the still-pending rows of ``mask`` for ``reason`` (a policy subject)."""
        mask = np.asarray(mask, dtype=bool) & (self.state == PENDING)
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        if isinstance(message, (pa.Array, pa.ChunkedArray)):
            message = message.take(rows)
        if self.stops(reason):
            self.stop(rows, reason, message, column)
        self.state[rows] = REJECTED
        self._rejections.append(_Rejection(rows, reason, message, column))

    def stops(self, reason: str) -> bool:
        """Whether a problem of this kind stops the run (``--strict``, or the plan's `on REASON error`)."""
        return self.strict or self.policies.get(PolicySubject(reason)) is PolicyAction.ERROR

    def stop(
        self, rows: np.ndarray, reason: str, message, column: str | None = None, what: str = "rejected row"
    ) -> None:
        """Stop the run for a problem of the input ``rows`` (their first ``message`` is said); ``what`` they
        would otherwise have been."""
        first = message if isinstance(message, str) else message[0].as_py()
        why = f"--strict makes every {what} an error" if self.strict else f"the plan says `on {reason} error`"
        error = InputError(
            f"{first} ({rows.size} row(s) like this)",
            file=self.label,
            column=column,
            row=int(self.numbers(rows[:1])[0]),
            code="E510",
            hint=f"{REASON_HINTS.get(reason, '')}; {why}",
        )
        recorded = STOPS_RECORDED.get()
        if recorded is None:
            raise error
        recorded.append(RecordedStop(error, np.asarray(rows), (reason, column, what, *_site(sys._getframe(1)))))

    def exclude(self, mask: np.ndarray, filter_index: int) -> None:
        rows = np.flatnonzero(np.asarray(mask, dtype=bool) & (self.state == PENDING))  # an index: numpy writes
        self.state[rows] = EXCLUDED  # by it faster than by a mask
        self.excluded_by[rows] = filter_index  # of every row

    # ------------------------------------------------------------------ results

    def counts(self, among: np.ndarray | None = None) -> dict:
        """Rows read, credited, excluded by each filter, rejected by each reason. They add up. ``among``: only
        the rows it marks (bool per row) are counted."""
        state, excluded_by = self.state, self.excluded_by
        if among is not None:
            state, excluded_by = np.where(among, state, -1), np.where(among, excluded_by, -1)
        excluded = {name: int(np.count_nonzero(excluded_by == i)) for i, name in enumerate(self.filter_names)}
        rejected: dict[str, int] = {}
        for rejection in self._rejections:
            counted = rejection.rows.size if among is None else np.count_nonzero(among[rejection.rows])
            if counted:
                rejected[rejection.reason] = rejected.get(rejection.reason, 0) + int(counted)
        return {
            "read": self.rows if among is None else int(np.count_nonzero(among)),
            "credited": int(np.count_nonzero(state == PENDING)),
            "excluded": excluded,
            "rejected": rejected,
        }

    def first_messages(self) -> dict[str, str]:
        """For each reason rows were rejected for, the message of the first such row in the file."""
        first: dict[str, tuple[int, str]] = {}
        for rejection in self._rejections:
            row = int(rejection.rows[0])
            if rejection.reason not in first or row < first[rejection.reason][0]:
                message = rejection.message if isinstance(rejection.message, str) else rejection.message[0].as_py()
                first[rejection.reason] = (row, message)
        return {reason: message for reason, (row, message) in first.items()}

    def excluded(self, keys: pa.Array) -> pa.Table:
        """One row per excluded input row: its number in the file, key, and the filter that excluded it."""
        rows = np.flatnonzero(self.state == EXCLUDED)
        names = pa.array(self.filter_names, pa.string())
        return pa.table(
            {
                "row": pa.array(self.numbers(rows), pa.int64()),
                "key": pc.cast(keys, pa.string()).take(rows),
                "filter": names.take(self.excluded_by[rows].astype(np.int64))
                if rows.size
                else pa.array([], pa.string()),
            }
        )

    def rejects(self, keys: pa.Array | None) -> pa.Table:
        """One row per rejected input row: its number in the file, key, reason, column and message."""
        if not self._rejections:
            return pa.table(
                {
                    "row": pa.array([], pa.int64()),
                    "key": pa.array([], pa.string()),
                    "reason": pa.array([], pa.string()),
                    "column": pa.array([], pa.string()),
                    "message": pa.array([], pa.string()),
                }
            )
        rows = np.concatenate([r.rows for r in self._rejections])
        reasons: list[pa.Array] = []
        columns: list[pa.Array] = []
        messages: list[pa.Array] = []
        for r in self._rejections:
            reasons.append(pa.array([r.reason] * r.rows.size, pa.string()))
            columns.append(pa.array([r.column] * r.rows.size, pa.string()))
            if isinstance(r.message, str):
                messages.append(pa.array([r.message] * r.rows.size, pa.string()))
            else:
                messages.append(pc.cast(r.message, pa.string()))
        order = np.argsort(rows, kind="stable")
        key_values = pc.cast(keys, pa.string()).take(rows) if keys is not None else pa.nulls(rows.size, pa.string())
        table = pa.table(
            {
                "row": pa.array(self.numbers(rows), pa.int64()),
                "key": key_values,
                "reason": pa.concat_arrays(reasons),
                "column": pa.concat_arrays(columns),
                "message": pa.concat_arrays(messages),
            }
        )
        return table.take(order)
