"""The Python API.

import spmlang
plan = spmlang.load("plan.spm")            # raises spmlang.PlanError with .diagnostics
result = plan.run(deals="q3.parquet", quotas="quotas.csv")
result.ledger                              # pyarrow.Table, one row per ledger line
result.totals()                            # payout per payee, period and component
print(result.summary())                    # what `spm run` prints
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from spmlang.check import CheckedPlan, check_plan
from spmlang.diagnostics import Diagnostic, UsageError, did_you_mean
from spmlang.files import check_path_given
from spmlang.result import Result
from spmlang.syntax import parse
from spmlang.syntax.source import read_source

if TYPE_CHECKING:
    import pyarrow as pa


class Plan:
    """A checked plan, ready to run over transactions."""

    def __init__(self, checked: CheckedPlan):
        self.checked = checked

    @property
    def name(self) -> str:
        return self.checked.settings.name

    @property
    def version(self) -> str:
        return self.checked.settings.version

    @property
    def path(self) -> str:
        return self.checked.path

    @property
    def components(self) -> list[str]:
        return [c.name for c in self.checked.components]

    @property
    def warnings(self) -> list[Diagnostic]:
        return list(self.checked.warnings)

    @property
    def periods(self) -> list[str]:
        return list(self.compiled.calendar.labels)

    @cached_property
    def compiled(self):
        """The plan compiled (:class:`spmlang.engine.compile.CompiledPlan`): made once, read by every run."""
        from spmlang.engine.compile import compile_plan

        return compile_plan(self.checked)

    def run(
        self,
        deals=None,
        *,
        quotas=None,
        targets=None,
        roster=None,
        tables: dict | None = None,
        strict: bool = False,
        allow_outside_paths: bool = False,
        progress=None,
        workers: int | None = None,
        paid=None,
        through: str | None = None,
        keep_transactions: bool = False,
        cluster=None,
        out: str | Path | None = None,
        rejects: str | Path | None = None,
    ) -> Result:
        """Pay the plan's payees from ``deals``.

        Every input may be a path (parquet, CSV, Arrow, JSON lines), a pyarrow
        Table, or a pandas or polars DataFrame. ``tables`` maps the names of
        lookup tables to their data. With ``strict``, any rejected row is an
        error instead. ``progress``, if given, is called as ``progress(step, done, total)`` as the run
        goes (see :mod:`spmlang.progress`). ``workers`` is how many processes pay a large run when its ledger is
        written or totalled (default: every core, on Linux; 1: this process alone); it never changes a figure.
        ``keep_transactions`` keeps the transactions as read, for what-ifs (:meth:`Result.whatif`), which then
        never read their file again; it never changes a figure either.

        ``cluster`` runs it on a Dask cluster (``pip install 'spmlang[dask]'``; docs/scale.md): a
        ``distributed.Client``, ``"local:N"`` (N worker processes, for the run) or a scheduler's address
        (``"tcp://host:8786"``). ``deals`` may then also be a glob, a folder of parquet files, an fsspec URL
        (``s3://...``) or a dask DataFrame. The ledger is written as it is paid, as a folder of parquet parts
        ``out`` (its manifest beside it), the rejects to ``rejects``; it gives a
        :class:`spmlang.cluster.result.ClusterResult`, whose lines are those a run on one machine gives.
        Raises :class:`spmlang.InputError` for unusable inputs.
        """
        from spmlang.engine.payout import Payout
        from spmlang.engine.run import RunInputs, credit_run

        if progress is not None and not callable(progress):
            raise UsageError(f"progress= is called as progress(step, done, total), not {type(progress).__name__}")

        inputs = RunInputs(
            deals=deals,
            quotas=quotas,
            targets=targets,
            roster=roster,
            tables=self._tables_named(tables),
            strict=strict,
            allow_outside_paths=allow_outside_paths,
            workers=_processes(workers),
            paid=_earlier_ledgers(paid),
            through=_period_named(through),
            keep_transactions=keep_transactions,
        )
        options: dict = {"strict": strict, "allow_outside_paths": allow_outside_paths}
        if through is not None:  # recorded as the period's label: the next run reads it off the manifest
            options["through"] = self.compiled.calendar.label_of(through)
        if cluster is not None:
            from spmlang.cluster.result import run_on

            # A ClusterResult: the summary, accounting, rejects and ledger of a Result, paid elsewhere.
            return run_on(self, inputs, cluster, out, rejects, options, progress)  # type: ignore[return-value]
        if out is not None or rejects is not None:
            raise UsageError("out= and rejects= are for a run on a cluster; else: Result.write(path, rejects)")
        payout = Payout(credit_run(self.compiled, inputs, progress))
        return Result(payout, options)

    def _tables_named(self, tables) -> dict:
        """``tables=``, checked to name the plan's tables: a name it has not (a typo: `series_rate`) would
        otherwise be left unread, and the plan's own rows or file used in its place."""
        from collections.abc import Mapping

        if tables is None:
            return {}
        if not isinstance(tables, Mapping):
            kind = type(tables).__name__
            raise UsageError(f"tables= maps the plan's table names to their data (a dict), not {_a(kind)} {kind}")
        known = [str(name) for name in self.checked.tables] + ["quotas", "targets", "roster", "fx"]  # data of any plan
        for name in tables:
            if str(name) not in known:
                hint = did_you_mean(str(name), known)
                have = ", ".join(str(n) for n in self.checked.tables) or "none"
                raise UsageError(f"the plan has no table '{name}' (its tables: {have})" + (f"; {hint}" if hint else ""))
        return dict(tables)

    def __repr__(self) -> str:
        return f"<spmlang.Plan {self.name!r} version {self.version!r}: {', '.join(self.components)}>"

    def _repr_html_(self) -> str:
        """The plan in a notebook: its year and periods, each component's rule in one sentence with its tier
        table, and what narrows it (static HTML)."""
        from spmlang.report.render.notebook import plan_html

        return plan_html(self.checked, self.compiled.calendar.describe(), self.periods)


def read_ledger(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """A parquet ledger spm wrote (a file, or the folder of parts a run on a cluster writes), as
    :attr:`Result.ledger` gives it: one row per line, the explanations as sentences (the file keeps most of
    them as templates, '{credit} at 8% (0%–50%) = {exact}', the numbers in the line's columns). Raises
    :class:`spmlang.InputError` if it cannot be read."""
    from spmlang.report.dataset import read_ledger as read

    check_path_given(path, "read_ledger()", "a path ('ledger.parquet')")
    if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
        raise UsageError(f"columns= is a list of the ledger's column names (['payee', 'amount']), not {columns!r}")
    return read(path, None if columns is None else list(columns))


def loads(text: str, path: str = "<plan>") -> Plan:
    """Parse and check plan text. Raises :class:`spmlang.PlanError` listing every error."""
    if not isinstance(text, str):
        raise UsageError(f"loads() takes a plan's text (str), not {type(text).__name__}; a file: spmlang.load(path)")
    return Plan(check_plan(parse(text, str(path))))


def load(path: str | Path) -> Plan:
    """Read, parse and check a plan file. Raises :class:`spmlang.PlanError` or :class:`spmlang.InputError`."""
    check_path_given(path, "load()", "a path ('plan.spm')")
    path = Path(path)
    return loads(read_source(path), str(path))


def _earlier_ledgers(paid) -> list:
    """``paid=``: the path of an earlier ledger, or a list of them. A ledger in memory (a Table, a Result) is
    refused: the manifest beside a ledger's file is what chains the runs (and what ``spm verify`` walks)."""
    if paid is None:
        return []
    # A list, a set, a generator (Path.glob): each a path. A Table or a DataFrame iterates too, but is one thing.
    several = list(paid) if isinstance(paid, (list, tuple, set, frozenset, Iterator)) else [paid]
    for one in several:
        if not isinstance(one, (str, os.PathLike)):
            kind = type(one).__name__
            raise UsageError(
                f"paid= takes the paths of earlier ledgers (one, or a list of them), not {_a(kind)} {kind}: write "
                "the earlier run's ledger first (result.write('2027-Q1.parquet')) and pass its path; the manifest "
                "written beside it chains the runs"
            )
    return several


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _period_named(through) -> str | None:
    """``through=``: a period's label, as ``--through`` takes it ("2027-Q2", "Q2", "2027-06")."""
    if through is None or isinstance(through, str):
        return through
    kind = type(through).__name__
    raise UsageError(f"through= takes a period's label, such as '2027-Q2' or 'Q2', not {_a(kind)} {kind}")


def _processes(workers) -> int | None:
    """``workers=``: how many processes pay a large run (None: every core), a whole number from 1."""
    if workers is None or (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1):
        return workers
    raise UsageError(
        f"workers= is how many processes pay the run, a whole number from 1 (1: this one), not {workers!r}"
    )
