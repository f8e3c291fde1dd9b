"""A run's outcome in Python: :class:`Result`, what :meth:`spmlang.Plan.run` gives (the ledger, totals, summary,
explanations, statements, what-ifs, the files written)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class Result:
    """The outcome of a run: the ledger, totals, the summary, the rejected rows."""

    def __init__(self, payout, options: dict):
        self.payout = payout  # a spmlang.engine.payout.Payout: the credited run, and what paying it gave so far
        self.options = options

    @cached_property
    def _inputs(self) -> list:
        """The inputs' records (absolute paths), each file hashed once for the run id and the manifest."""
        from spmlang.report.manifest import input_records

        return input_records(self.payout.run.sources, None)

    @cached_property
    def run_id(self) -> str:
        """A hash of the plan, the content of every input and the options: the same run, the same id."""
        from spmlang.report.ledger import run_id

        inputs = {r.name: {"kind": r.kind, "rows": r.rows, "sha256": r.sha256} for r in self._inputs}
        return run_id(self.payout, inputs, self.options)

    @property
    def line_count(self) -> int:
        """How many lines the ledger has (known without building it once the ledger is written)."""
        return self.payout.line_count

    @cached_property
    def ledger(self) -> pa.Table:
        """Every ledger line, in order: payee, period, then the line's place in the period."""
        from spmlang.report.ledger import build_ledger, public

        return public(build_ledger(self.payout, self.run_id, sentences=True))

    def to_pandas(self):
        """The ledger (:attr:`ledger`) as a pandas DataFrame, one row per line. Money (``credit``, the
        measures, ``amount``, ``amount_cut``, ``exact``) and ratios (``share``, the attainments, ``rate``,
        ``multiplier``) are exact :class:`decimal.Decimal` values (object columns), never floats; ``date`` is
        :class:`datetime.date`. Needs pandas (``pip install pandas``): an ImportError says so."""
        return pandas_frame(self.ledger)

    def to_polars(self):
        """The ledger (:attr:`ledger`) as a polars DataFrame, one row per line. Money and ratios are exact
        ``pl.Decimal`` columns (2 and 6 decimals), never floats; ``date`` is ``pl.Date``. Needs polars
        (``pip install polars``): an ImportError says so."""
        return polars_frame(self.ledger)

    def _repr_html_(self) -> str:
        """The run in a notebook: what ``spm run`` prints (payout per payee and period by component, the row
        accounting, warnings) as static HTML. Pays the run for its totals, as :meth:`summary` does."""
        from spmlang.report.render.notebook import summary_html

        return summary_html(self.summary())

    def totals(self) -> pa.Table:
        """Payout per payee, period and component."""
        from spmlang.report.summary import totals_table

        return totals_table(self.payout)

    def owed(self) -> pa.Table:
        """What each payee still owes of draws and of the payout floor, and has held (earned, not yet payable),
        at the end of the run (earlier ledgers' balances included): payee, draw, floor, held."""
        from spmlang.report.summary import owed_table

        return owed_table(self.payout)

    def summary(self, progress=None):
        """What the CLI prints: payout per payee and period by component, and the row accounting.

        Unless the ledger was written (or built) already, this pays the run for its totals; ``progress``, if
        given, hears of it as in :meth:`Plan.run`."""
        from spmlang.report.summary import summarize

        self.payout.totalled(progress)
        return summarize(self.payout)

    def explain(self, payee: str, period: str | None = None, txn: str | None = None):
        """The calculation trail of a payee's lines (optionally one period, one transaction).

        Print it, or call ``.to_dict()`` for the same as data.
        """
        from spmlang.report.explain import explain
        from spmlang.report.ledger import LedgerLines

        [payee] = self._check_payees([payee]) or [payee]
        if period is not None:
            [period] = self._check_periods([period]) or [period]
        # Only the payee's lines are built, as the ledger has them: not every line of a large run.
        return explain(self.payout, LedgerLines(self.payout, self.run_id), payee, period, txn)

    def statements(self, payees: list[str] | None = None, periods: list[str] | None = None, progress=None) -> list:
        """Pay statements, one per payee and period (default: every payee with a ledger line).

        Each prints in a terminal, and has ``to_html()`` and ``to_csv()``. ``progress`` is called as in
        :meth:`Plan.run`, once per payee.
        """
        from spmlang.report.statements import build_statements

        periods, payees = self._check_periods(periods), self._check_payees(payees)
        return build_statements(self.payout, self.run_id, payees, periods, progress)

    def write_statements(
        self,
        folder: str | Path,
        payees: list[str] | None = None,
        periods: list[str] | None = None,
        progress=None,
        templates: str | Path | None = None,
        charts: bool = True,
    ) -> list[Path]:
        """Write the statements (as :meth:`statements` makes them) into ``folder``: ``<payee>/<period>.html``
        and ``.csv``, and an ``index.html`` linking them all, each file written whole. Each statement is made
        and written in turn, never all held at once. ``templates``: a folder of the pages' templates, each in
        place of spm's of its name (docs/cli.md); ``charts=False``: pages without charts (drawing them takes
        most of the time). Returns the files written."""
        from spmlang.report.render.html import Templates
        from spmlang.report.statement_files import write_run_statements
        from spmlang.report.statements import StatementMaker

        pages = Templates(templates) if templates is not None else None

        periods, payees = self._check_periods(periods), self._check_payees(payees)
        maker = StatementMaker(self.payout, self.run_id, charts)
        return write_run_statements(maker, Path(folder), payees, periods, pages, progress)

    def whatif(self, deal: Mapping[str, object] | Sequence[Mapping[str, object]], payee: str | None = None):
        """What a deal (or several) would pay, and change: this run again with the deals after the data's rows,
        by the same engine, so it is exact to the cent (a :class:`spmlang.whatif.WhatIf`; print it).

        A deal maps the plan's transaction columns to values: text as a CSV file has it (``"50000"``,
        ``"2027-09-15"``, in the column's format if it has one), or Python values (``Decimal``,
        ``datetime.date``). Columns it does not give are empty; a deal without a key gets one (``whatif-1``
        ...); ``payee`` fills in the plan's first payee column unless the deal gives it. ``.lines`` are the
        deal's own ledger lines, explained; ``.changes`` every cell of payee, period and component whose
        payout it changes (later periods, and other payees through splits and rollups); ``.after`` the run
        with the deal. Raises :class:`spmlang.InputError` (E513) for a column the plan does not read, a value
        that does not read as its column's type, or a key a transaction has already.

        The transactions are not read again if the run kept them (``Plan.run(..., keep_transactions=True)``,
        or given as a table); else the first what-if reads their file once more, checked to be the file the
        run read, and later ones reuse it."""
        from spmlang.engine.payout import Payout
        from spmlang.engine.run import credit_run
        from spmlang.whatif import compared, deal_values, rerun_inputs, shown

        run = self.payout.run
        given = [deal] if isinstance(deal, Mapping) else list(deal) if isinstance(deal, (list, tuple)) else None
        if given is None or not all(isinstance(one, Mapping) for one in given):
            from spmlang.diagnostics import UsageError

            raise UsageError(
                "whatif() takes a deal as a dict of the plan's transaction columns ({'amount': '50000', ...}), or "
                f"a list of them, not {type(deal).__name__}"
            )
        if payee is not None and not isinstance(payee, str):
            from spmlang.diagnostics import UsageError

            raise UsageError(f"payee= names a payee by text, not {type(payee).__name__}")
        deals = deal_values(run, given, payee)
        read = self._transactions_as_read
        after = Result(
            Payout(credit_run(run.compiled, rerun_inputs(run, read, deals, self.options))),
            {**self.options, "whatif": shown(deals)},
        )
        return compared(self, after, deals, read)

    @cached_property
    def _transactions_as_read(self):
        """The run's transactions as read, for what-ifs: kept by the run, else read again once."""
        from spmlang.whatif import read_again

        run = self.payout.run
        return read_again(run.sources["transactions"], list(run.plan.transactions.columns))

    @property
    def periods(self) -> list[str]:
        """The payout periods of the plan year, in order: ``2027-Q1`` ... ``2027-Q4``."""
        return list(self.payout.run.calendar.labels)

    def _check_periods(self, periods) -> list[str] | None:
        """Periods asked for (one, or several), as their labels (``Q3`` is ``2027-Q3``, as ``--through`` reads
        it); a period the plan has not is an error."""
        from spmlang.diagnostics import UsageError

        calendar = self.payout.run.calendar
        labels = []
        for period in _several(periods, "periods"):
            label = calendar.label_of(period) if isinstance(period, str) else period
            if label not in calendar.labels:
                raise UsageError(f"no period '{period}' in this plan; its periods are {', '.join(self.periods)}")
            labels.append(label)
        return labels if periods is not None else None

    def _check_payees(self, payees) -> list[str] | None:
        """Payees asked for (one, or several), each one of the run's."""
        from spmlang.diagnostics import UsageError, did_you_mean

        known = set(self.payout.run.payees.names)
        several = _several(payees, "payees")
        for payee in several:
            if not isinstance(payee, str):
                raise UsageError(f"a payee is named by text, not {type(payee).__name__} ({payee!r})")
            if payee not in known:
                hint = did_you_mean(payee, known)
                raise UsageError(f"no payee '{payee}' in this run" + (f"; {hint}" if hint else ""))
        return several if payees is not None else None

    @property
    def rejects(self) -> pa.Table:
        """The input rows that were rejected, each with its reason."""
        return self.payout.run.accounting.rejects(self.payout.run.transactions.keys())

    @property
    def unpaid(self) -> pa.Table:
        """Credit rows a component could not pay (a lookup key not in its table, an empty rate): the input row,
        its key, the payee, the component, the reason and the message. The transaction is credited and the other
        components pay it; the ledger has a zero line for each saying why."""
        from spmlang.report.summary import unpaid_table

        return unpaid_table(self.payout)

    @property
    def excluded(self) -> pa.Table:
        """The input rows the plan's filters excluded, each with the filter's name."""
        return self.payout.run.accounting.excluded(self.payout.run.transactions.keys())

    @property
    def accounting(self) -> dict:
        """Rows read, credited, excluded (by filter) and rejected (by reason); they add up."""
        return self.payout.run.accounting.counts()

    def _files_read(self) -> list[tuple[str, Path]]:
        """The files this run read (the plan, its data, the earlier ledgers and their manifests), each with what
        it is, as a message says it."""
        from spmlang.files import earlier_ledgers

        run = self.payout.run
        found = [("the plan", Path(run.plan.path))] if run.plan.path and not run.plan.path.startswith("<") else []
        for name, source in run.sources.items():
            loaded = getattr(source, "loaded", source)  # a reference table wraps the table it was read from
            path = getattr(loaded, "path", None)
            if path is not None and not name.startswith("paid "):
                found.append((f"the {name} this run read", Path(path)))
        return found + earlier_ledgers(file.path for file in run.cycle.files)

    def write(self, path: str | Path, rejects: str | Path | None = None, progress=None) -> Path:
        """Write the ledger (the format follows the extension: .parquet, .csv, .json, .jsonl), the rejected
        rows if ``rejects`` is given, and the run manifest ``<ledger>.manifest.json`` beside the ledger.
        ``progress`` is called as in :meth:`Plan.run`, once per batch of payees paid and written."""
        from spmlang.files import check_new_ledger, check_not_read, check_path_given, ledger_outputs, write_text
        from spmlang.hashing import manifest_path
        from spmlang.report.files import writable, write_chunks, write_table
        from spmlang.report.ledger import ledger_chunks, ledger_schema
        from spmlang.report.manifest import FileRecord, relative

        check_path_given(path, "write()", "the ledger's path (ledger.parquet)")
        for output in (path, rejects):  # by its extension, where it is: before any line is paid
            if output is not None:
                writable(output)
        check_new_ledger(Path(path), [file.path for file in self.payout.run.cycle.files], str(path))
        check_not_read(ledger_outputs(Path(path), str(path), rejects, f"the rejects {rejects}"), self._files_read())
        # A batch of payees at a time, paid as it is written: bounded memory, the same bytes for the same run.
        ledger = write_chunks(
            ledger_chunks(self.payout, self.run_id, progress), path, ledger_schema(self.payout.run.plan)
        )
        base = ledger.path.resolve().parent
        manifest = self.manifest(base)

        def record(written) -> FileRecord:  # hashed as it was written
            return FileRecord(
                path=relative(written.path, base),
                format=written.path.suffix.lstrip("."),
                sha256=written.sha256,
                rows=written.rows,
            )

        manifest.ledger = record(ledger)
        if rejects is not None:
            manifest.rejects = record(write_table(self.rejects, rejects))
        write_text(manifest_path(ledger.path), manifest.to_json())
        return ledger.path

    def manifest(self, base: str | Path | None = None):
        """The run manifest (paths relative to ``base``): plan, inputs, options, run id, row accounting."""
        from spmlang.report.manifest import PlanRecord, RunManifest, relative
        from spmlang.version import __version__

        plan = self.payout.run.plan
        folder = Path(base) if base is not None else None
        return RunManifest(
            engine=f"spmlang {__version__}",
            run_id=self.run_id,
            plan=PlanRecord.of(plan, folder),
            inputs=[
                record.model_copy(update={"path": relative(Path(record.path), folder)})
                if record.kind == "file" and folder is not None and record.path is not None
                else record
                for record in self._inputs
            ],
            options=dict(self.options),
            accounting=self.accounting,
            currency=plan.settings.currency,
            through=self.options.get("through"),
        )


def pandas_frame(ledger: pa.Table):
    """A ledger as a pandas DataFrame (see :meth:`Result.to_pandas`)."""
    _needs("pandas", "to_pandas")
    return ledger.to_pandas()


def polars_frame(ledger: pa.Table):
    """A ledger as a polars DataFrame (see :meth:`Result.to_polars`)."""
    _needs("polars", "to_polars")
    import polars as pl

    frame = pl.from_arrow(ledger)
    assert isinstance(frame, pl.DataFrame)  # a table gives a frame (a column would give a series)
    return frame


def _needs(module: str, method: str) -> None:
    """An ImportError that says what to install, where ``module`` is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"Result.{method}() needs {module}, which is not installed: pip install {module}")


def _several(given, what: str) -> list:
    """One name (text) or several (a list, a set, a generator: each read once) as a list."""
    if given is None:
        return []
    if isinstance(given, str):
        return [given]
    try:
        return list(given)
    except TypeError:
        from spmlang.diagnostics import UsageError

        raise UsageError(f"{what}: a name or a list of names, not {type(given).__name__}") from None
