"""The commands that run a plan over data: ``spm run`` (the summary, the ledger), ``spm explain`` (a payee's
calculation trail), ``spm statement`` (pay statements) and ``spm whatif`` (what a deal would pay)."""

import re
from pathlib import Path
from typing import Annotated

import typer

from spmlang.cli.console import err, out, print_json, progress_bar
from spmlang.cli.data_options import (
    Cluster,
    ClusterDeals,
    DataOptions,
    Deals,
    OutsidePaths,
    Paid,
    PlanFile,
    Quotas,
    Roster,
    Strict,
    Tables,
    Targets,
    Through,
    run_on_cluster,
    run_plan,
)
from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError
from spmlang.files import check_new_ledger, check_writable

_EVERY_CORE = "(default: every core; 1: one)"
Workers = Annotated[
    int | None, typer.Option("--workers", metavar="N", min=1, help=f"Processes that pay a large run {_EVERY_CORE}.")
]
StatementWorkers = Annotated[
    int | None,
    typer.Option(
        "--workers", metavar="N", min=1, help=f"Processes that pay a large run and write its statements {_EVERY_CORE}."
    ),
]


def run_command(
    plan: PlanFile,
    deals: ClusterDeals = None,
    quotas: Quotas = None,
    targets: Targets = None,
    roster: Roster = None,
    table: Tables = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Write the ledger (.parquet, .csv, .json, .jsonl) and its manifest beside it.",
        ),
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", metavar="PATH", help="Write rejected input rows with reasons.")
    ] = None,
    paid: Paid = None,
    through: Through = None,
    strict: Strict = False,
    allow_outside_paths: OutsidePaths = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    workers: Workers = None,
    cluster: Cluster = None,
) -> None:
    """Run a plan over transactions: print payout per payee and period, write the ledger."""
    data = DataOptions(deals, quotas, targets, roster, table, strict, allow_outside_paths, paid, through)
    with errors_to_exit_codes():
        if cluster is not None:
            if workers is not None:
                raise UsageError("--workers is for a run on one machine; a cluster's workers are its own")
            _run_on_cluster(plan, data, cluster, output, rejects, quiet)
            return
        _check_outputs(plan, data, output, rejects)
        with progress_bar(quiet) as progress:
            result = run_plan(plan, data, progress, workers)
            written = result.write(output, rejects=rejects, progress=progress) if output is not None else None
            summary = result.summary(progress) if not quiet else None
        if summary is not None:
            out.print(summary)
        if written is not None:
            from spmlang.hashing import manifest_path

            if not quiet:
                out.print(f"wrote {written} ({result.line_count:,} lines) and {manifest_path(written)}", markup=False)
        if rejects is not None:
            from spmlang.report.files import write_table

            if output is None:
                write_table(result.rejects, rejects)
            if not quiet:
                count = result.rejects.num_rows
                out.print(f"wrote {rejects} ({count:,} rejected row{'' if count == 1 else 's'})", markup=False)


def _check_outputs(plan: Path, data: DataOptions, output: Path | None, rejects: Path | None) -> None:
    """Refuse, before the run, a ledger or rejects file spm would not write (a wrong extension, a folder it
    cannot write to, an earlier ledger's place or its manifest's, a file the run reads, the other output)."""
    from spmlang.files import check_not_read, ledger_outputs
    from spmlang.report.files import writable

    for path in (output, rejects):
        if path is not None:
            writable(path)
    if output is not None:
        check_new_ledger(output, data.paid or [], f"--out {output}")
    outputs = ledger_outputs(output, f"--out {output}", rejects, f"--rejects {rejects}")
    check_not_read(outputs, data.files_read(plan))


def _run_on_cluster(
    plan: Path, data: DataOptions, cluster: str, output: Path | None, rejects: Path | None, quiet: bool
) -> None:
    """``spm run --cluster``: Dask's progress bar while the groups are paid, then what ``spm run`` prints."""
    from spmlang.cli.process import allow_pandas

    allow_pandas()
    result = run_on_cluster(plan, data, cluster, output, rejects, bar=not quiet and out.is_terminal)
    if quiet:
        return
    if out.is_terminal:
        out.print()  # after Dask's progress bar
    out.print(result.summary())
    if output is not None:
        from spmlang.hashing import manifest_path

        parts = len(result.run.parts or [])
        out.print(
            f"wrote {output} ({result.line_count:,} lines in {parts} parts) and {manifest_path(output)}", markup=False
        )
    if rejects is not None:
        count = result.rejects.num_rows
        out.print(f"wrote {rejects} ({count:,} rejected row{'' if count == 1 else 's'})", markup=False)


def explain_command(
    plan: PlanFile,
    payee: Annotated[str, typer.Option("--payee", metavar="PAYEE", help="Whose pay to explain.")],
    period: Annotated[
        str | None, typer.Option("--period", metavar="PERIOD", help="Only this period, e.g. 2027-Q1.")
    ] = None,
    txn: Annotated[str | None, typer.Option("--txn", metavar="KEY", help="Only the lines of this transaction.")] = None,
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")] = "text",
    deals: Deals = None,
    quotas: Quotas = None,
    targets: Targets = None,
    roster: Roster = None,
    table: Tables = None,
    paid: Paid = None,
    through: Through = None,
    strict: Strict = False,
    allow_outside_paths: OutsidePaths = False,
) -> None:
    """Explain a payee's pay: each line's clause, credit, measure, tier slices, caps, gates and rounding."""
    data = DataOptions(deals, quotas, targets, roster, table, strict, allow_outside_paths, paid, through)
    with errors_to_exit_codes():
        if output_format not in ("text", "json"):
            raise UsageError(f"--format is text or json, not '{output_format}'")
        trail = run_plan(plan, data).explain(payee, period=period, txn=txn)
        if output_format == "json":
            print_json(trail.to_dict())
        else:
            out.print(trail)


def statement_command(
    plan: PlanFile,
    payee: Annotated[
        list[str] | None, typer.Option("--payee", metavar="PAYEE", help="Only these payees (repeatable).")
    ] = None,
    period: Annotated[
        list[str] | None, typer.Option("--period", metavar="PERIOD", help="Only these periods (repeatable).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FOLDER",
            help="A folder: one HTML and one CSV statement per payee and period, and an index.html.",
        ),
    ] = None,
    deals: Deals = None,
    quotas: Quotas = None,
    targets: Targets = None,
    roster: Roster = None,
    table: Tables = None,
    paid: Paid = None,
    through: Through = None,
    strict: Strict = False,
    allow_outside_paths: OutsidePaths = False,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            metavar="DIR",
            help="A folder of templates (statement.html, index.html, style.css), each in place of spm's.",
        ),
    ] = None,
    no_charts: Annotated[
        bool, typer.Option("--no-charts", help="HTML statements without charts (drawing them takes most of the time).")
    ] = False,
    workers: StatementWorkers = None,
) -> None:
    """Pay statements: write them as HTML and CSV (--out), or show them in the terminal (--payee)."""
    data = DataOptions(deals, quotas, targets, roster, table, strict, allow_outside_paths, paid, through)
    payees, periods = payee or None, period or None  # none named: every one
    with errors_to_exit_codes():
        if output is None and not payees:
            raise UsageError("say where to write the statements (--out FOLDER) or whose to show (--payee NAME)")
        if output is not None:  # a folder spm cannot write to is said before the run, not after it
            check_writable(output / "index.html")
        if template is not None:
            if output is None:
                raise UsageError("--template makes HTML statements: say where to write them (--out FOLDER)")
            from spmlang.report.render.html import Templates

            Templates(template)  # a template that does not read is said before the run
        with progress_bar(quiet=False) as progress:
            result = run_plan(plan, data, progress, workers)
            if output is not None:
                written = result.write_statements(output, payees, periods, progress, template, not no_charts)
            else:
                statements = result.statements(payees, periods, progress)
        if output is not None:
            from spmlang.report.render.charts import MISSING, MISSING_HINT, charts_available

            if not charts_available() and not no_charts:
                err.print(f"note: the statements have no charts: {MISSING}; {MISSING_HINT}", markup=False)
            count = (len(written) - 1) // 2  # an HTML and a CSV file each, and the index
            out.print(
                f"wrote {count} statement(s) to {output} ({len(written)} files; open {output / 'index.html'})",
                markup=False,
            )
            if count == 0 and periods:
                _why_no_statement(result, periods)
        else:
            for one in statements:
                out.print(one)
                out.print()
            if not statements:
                _why_no_statement(result, periods)


def _why_no_statement(result, periods: list[str] | None) -> None:
    """Why the periods asked for have no statement: closed by an earlier ledger, after --through, or no line."""
    cycle, labels = result.payout.run.cycle, result.periods
    for period in periods or []:
        index = labels.index(result.payout.run.calendar.label_of(period))
        if index < cycle.first_open:
            files = ", ".join(str(file.path) for file in cycle.files)
            why = f"it is closed: {files} paid it, and its statements are that run's"
        elif index > cycle.last:
            why = f"it is after {labels[cycle.last]}, the last period this run pays (--through)"
        else:
            why = "no line of it is the payee's"
        err.print(f"note: no statement for {labels[index]}: {why}", markup=False)


def whatif_command(
    plan: PlanFile,
    deal: Annotated[
        list[str],
        typer.Option(
            "--deal",
            metavar="COLUMN=VALUE,...",
            help="A hypothetical deal: the plan's transaction columns and their values, as the data writes them "
            '(amount=50000,close_date=2027-09-15,stage="Closed Won"); repeatable. Columns not given are empty; a '
            "deal without a key gets one (whatif-1 ...).",
        ),
    ],
    payee: Annotated[
        str | None,
        typer.Option("--payee", metavar="PAYEE", help="Whose deal it is (unless the deal names its payee column)."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text or json.")] = "text",
    deals: Deals = None,
    quotas: Quotas = None,
    targets: Targets = None,
    roster: Roster = None,
    table: Tables = None,
    paid: Paid = None,
    through: Through = None,
    strict: Strict = False,
    allow_outside_paths: OutsidePaths = False,
) -> None:
    """What a deal would pay, line by line and explained, and what it changes in later periods and for others."""
    data = DataOptions(deals, quotas, targets, roster, table, strict, allow_outside_paths, paid, through)
    with errors_to_exit_codes():
        if output_format not in ("text", "json"):
            raise UsageError(f"--format is text or json, not '{output_format}'")
        hypothetical = [deal_option(text) for text in deal]
        from spmlang.api import load

        with progress_bar(quiet=output_format == "json") as progress:
            result = load(plan).run(**data.run_arguments(), progress=progress, keep_transactions=True)
            whatif = result.whatif(hypothetical, payee=payee)
        if output_format == "json":
            print_json(whatif.to_dict())
        else:
            out.print(whatif)


# A pair's name starts a new pair only where a comma is followed by NAME=: a value may hold commas (50,000).
_NEXT_PAIR = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")


def deal_option(text: str) -> dict[str, str]:
    """``--deal amount=50,000,close_date=2027-09-15`` as the deal's values by column. A value in double quotes
    is taken as it is inside them."""
    values: dict[str, str] = {}
    for pair in _NEXT_PAIR.split(text):
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(
                f"--deal takes COLUMN=VALUE pairs separated by commas, not '{pair.strip()}' "
                "(e.g. --deal amount=50000,close_date=2027-09-15)"
            )
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if name in values:
            raise UsageError(f"--deal gives {name} twice: '{text}'")
        values[name] = value
    return values
