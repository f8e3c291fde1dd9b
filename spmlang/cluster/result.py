"""The outcome of a run on a cluster, as the Python API and ``spm run --cluster`` give it: the summary, the row
accounting, the rejects and the ledger folder with its manifest."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from spmlang.cluster.run import ClusterRun
from spmlang.diagnostics import UsageError
from spmlang.engine.read.inputs import RunInputs
from spmlang.files import check_not_read, files_given, ledger_outputs

FILE_FORMATS = (".csv", ".json", ".jsonl")  # a cluster writes parquet parts, never one file of these


class ClusterResult:
    """A run paid on a cluster (see :meth:`spmlang.Plan.run`'s ``cluster``)."""

    def __init__(self, run: ClusterRun, plan):
        self.run = run
        self.plan = plan  # the spmlang.Plan

    @property
    def line_count(self) -> int | None:
        """The lines of the written ledger; None where the run wrote none (without a ledger the lines are not
        made: the totals are group sums, see docs/calculation.md)."""
        return self.run.line_count

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def path(self) -> Path | None:
        """The ledger folder, if the run wrote one."""
        return self.run.path

    @property
    def accounting(self) -> dict:
        """Rows read, credited, excluded (by filter) and rejected (by reason), over every group; they add up."""
        return self.run.accounting

    @property
    def rejects(self) -> pa.Table:
        """The input rows that were rejected, each with its reason, in row order."""
        return self.run.rejects

    def summary(self, progress=None):
        """What ``spm run`` prints: payout per payee and period by component, and the row accounting."""
        return self.run.summary

    @property
    def ledger(self) -> pa.Table:
        """Every line of the written ledger, payee by payee, each payee's in ledger order (read from its parts)."""
        if self.run.path is None:
            raise UsageError("this run on a cluster wrote no ledger: pass out=FOLDER to Plan.run")
        from spmlang.report.dataset import read_ledger_folder

        return read_ledger_folder(self.run.path)

    def to_pandas(self):
        """The ledger as a pandas DataFrame, money exact (see :meth:`spmlang.result.Result.to_pandas`)."""
        from spmlang.result import pandas_frame

        return pandas_frame(self.ledger)

    def to_polars(self):
        """The ledger as a polars DataFrame, money exact (see :meth:`spmlang.result.Result.to_polars`)."""
        from spmlang.result import polars_frame

        return polars_frame(self.ledger)

    def _repr_html_(self) -> str:
        """The run in a notebook, as one machine's result shows it: the summary as static HTML."""
        from spmlang.report.render.notebook import summary_html

        return summary_html(self.summary())

    def __repr__(self) -> str:
        if self.run.path is None:
            return f"<spmlang.ClusterResult no ledger written, {self.run.groups} payee groups>"
        lines = f"{self.run.line_count:,} lines in {self.run.path}"
        return f"<spmlang.ClusterResult {lines}, {self.run.groups} payee groups>"


def run_on(plan, inputs: RunInputs, cluster, out, rejects, options: dict, progress) -> ClusterResult:
    """Run ``plan`` on ``cluster`` (a Client, ``local:N`` or an address); the ledger folder ``out`` and the
    rejects file ``rejects``, if given, written with the manifest beside the folder."""
    from spmlang.cluster.connect import connected, need_dask
    from spmlang.cluster.run import refuse_what_is_not_yet_distributed, run_on_cluster

    out = Path(out) if out is not None else None
    check_outputs(out, rejects, inputs.paid)
    check_not_read(ledger_outputs(out, f"--out {out}", rejects, f"--rejects {rejects}"), _files_given(plan, inputs))
    refuse_what_is_not_yet_distributed(plan.checked, inputs)
    need_dask()
    with connected(cluster) as client:
        run = run_on_cluster(plan.compiled, inputs, client, out, options, progress=bool(progress))
    result = ClusterResult(run, plan)
    written_rejects = None
    if rejects is not None:
        from spmlang.report.files import write_table

        written_rejects = write_table(run.rejects, rejects)
    if out is not None:
        from spmlang.files import write_text
        from spmlang.hashing import manifest_path
        from spmlang.report.dataset import folder_manifest

        manifest = folder_manifest(plan, run, written_rejects)
        write_text(manifest_path(out), manifest.to_json())
    return result


def _files_given(plan, inputs: RunInputs) -> list[tuple[str, Path]]:
    """The plan and the data files a cluster run is given (a glob or a URL is no file: never written over)."""
    given = [("deals", inputs.deals), ("quotas", inputs.quotas), ("targets", inputs.targets), ("roster", inputs.roster)]
    named = [(f"the {name} the run reads", source) for name, source in [*given, *inputs.tables.items()]]
    return files_given(plan.path, named, inputs.paid)


def check_outputs(out: Path | None, rejects, paid: list) -> None:
    """Refuse, before any work, a ledger folder or rejects file that cannot be written."""
    from spmlang.files import check_new_ledger, check_writable
    from spmlang.report.files import writable

    if rejects is not None:
        writable(rejects)
    if out is None:
        return
    if out.suffix.lower() in FILE_FORMATS:
        raise UsageError(
            f"a run on a cluster writes its ledger as a folder of parquet parts, not one {out.suffix} file: "
            f"give a folder (--out {out.with_suffix('')}/)"
        )
    check_writable(out / "part-00000.parquet")
    check_new_ledger(out, paid, f"--out {out}")
