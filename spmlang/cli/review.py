"""The commands a plan change and a ledger are reviewed with: ``spm test`` (the tests written in the language),
``spm fmt`` (the canonical layout), ``spm diff`` (the cost of a change) and ``spm verify`` (a ledger reproduced
from its manifest). See docs/review.md."""

from pathlib import Path
from typing import Annotated

import typer

from spmlang.cli.console import err, out
from spmlang.cli.data_options import (
    DataOptions,
    Deals,
    OutsidePaths,
    Paid,
    Quotas,
    Roster,
    Tables,
    Targets,
    Through,
)
from spmlang.cli.errors import errors_to_exit_codes
from spmlang.diagnostics import UsageError
from spmlang.figures import money
from spmlang.files import check_writable, write_text
from spmlang.visible import visible, visible_json


def tests_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATHS", help="Test files, plan files or folders (default: the current folder).", show_default=False
        ),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="PATH", help="Also write the results as JUnit XML.")
    ] = None,
) -> None:
    """Run the tests written in the language (plan.test.spm files and test blocks in plans)."""
    import time

    from spmlang.testing import junit_xml, report, run_tests

    with errors_to_exit_codes():
        if junit is not None:
            check_writable(junit)
            target = junit.resolve()  # a link to the plan is the plan
            if target.suffix.lower() == ".spm" or any(target == Path(p).resolve() for p in paths or []):
                raise UsageError(f"--junit {junit} is a plan or test file: the JUnit report is written elsewhere")
        started = time.perf_counter()
        outcomes = run_tests(list(paths or []))
        seconds = time.perf_counter() - started
        out.print(report(outcomes, seconds), markup=False, highlight=False)
        if junit is not None:
            write_text(junit, junit_xml(outcomes, seconds))
        if not outcomes:
            raise typer.Exit(1)
        worst = max(outcome.exit_code for outcome in outcomes)
        if worst:
            raise typer.Exit(worst)


def fmt_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATHS", help="Plan and test files, or folders (default: the current folder).", show_default=False
        ),
    ] = None,
    check_only: Annotated[
        bool, typer.Option("--check", help="Change nothing: print a diff and exit 1 if a file is not formatted.")
    ] = False,
) -> None:
    """Rewrite plan files in the canonical layout, keeping every comment."""
    from spmlang.formatting import format_files
    from spmlang.testing.cases import discover

    worst = 0
    with errors_to_exit_codes():
        files = discover(list(paths or [Path(".")]))
        if not files:
            raise UsageError(f"no plan files (.spm) in {', '.join(str(p) for p in paths or [Path('.')])}")
    changed = failed = 0
    for outcome in format_files(files, check_only):
        if outcome.error is not None:
            failed += 1
            try:
                with errors_to_exit_codes():  # says what it was, as any command does
                    raise outcome.error
            except typer.Exit as stop:
                worst = max(worst, stop.exit_code)
            continue
        if not outcome.changed:
            continue
        changed += 1
        if check_only:
            out.print(outcome.diff, markup=False, highlight=False, end="")
            worst = max(worst, 1)
        else:
            out.print(f"formatted {outcome.path}", markup=False)
    if check_only:
        read = len(files) - failed  # a file that cannot be read is said above, and is no formatted one
        out.print(
            f"{changed} of {read} file(s) would be reformatted" if changed else f"{read} file(s) already formatted",
            markup=False,
        )
    if worst:
        raise typer.Exit(worst)


def diff_command(
    old: Annotated[
        str,
        typer.Argument(
            metavar="OLD",
            help="The plan before: a file, or REV:path from git (HEAD~1:plans/ae.spm).",
            show_default=False,
        ),
    ],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The plan after: a file, or REV:path.", show_default=False)],
    deals: Deals = None,
    quotas: Quotas = None,
    targets: Targets = None,
    roster: Roster = None,
    table: Tables = None,
    paid: Paid = None,
    through: Through = None,
    output_format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="text, markdown (a PR comment) or json.")
    ] = "text",
    fail_over: Annotated[
        str | None,
        typer.Option(
            "--fail-over",
            metavar="AMOUNT",
            help="Exit 1 if the total payout grows by more than this amount, e.g. 10000 or $10,000.",
        ),
    ] = None,
    allow_outside_paths: OutsidePaths = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            metavar="PATH",
            help="Also draw each component whose pay changed, before (dashed) and after (solid): .svg or .png.",
        ),
    ] = None,
    plot_quota: Annotated[
        str | None,
        typer.Option("--plot-quota", metavar="AMOUNT", help="Draw for a payee with this quota (as spm plot --quota)."),
    ] = None,
    plot_target: Annotated[
        str | None,
        typer.Option(
            "--plot-target", metavar="AMOUNT", help="Draw for a payee with this target (as spm plot --target)."
        ),
    ] = None,
) -> None:
    """The cost of a plan change: payout before and after, per component and payee, and the clauses changed."""
    from decimal import Decimal, InvalidOperation

    from spmlang.diff import diff_plans

    data = DataOptions(
        deals, quotas, targets, roster, table, allow_outside_paths=allow_outside_paths, paid=paid, through=through
    )
    with errors_to_exit_codes():
        if output_format not in ("text", "markdown", "json"):
            raise UsageError(f"--format is text, markdown or json, not '{output_format}'")
        if plot is not None:  # a chart that cannot be written is said before the runs, not after them
            from spmlang.cli.plot import amount_option, chart_format
            from spmlang.report.render.charts import require_matplotlib

            chart_format(plot)
            check_writable(plot)
            amount_option(plot_quota, "--plot-quota")
            amount_option(plot_target, "--plot-target")
            require_matplotlib()
        limit = None
        if fail_over is not None:
            try:
                limit = Decimal(fail_over.replace("$", "").replace(",", "").strip())
            except InvalidOperation:
                limit = None
            if limit is None or not limit.is_finite() or abs(limit) >= 10**15:  # NaN, inf: no threshold at all
                raise UsageError(f"--fail-over takes an amount such as 10000 or $10,000, not '{fail_over}'")
        report = diff_plans(old, new, **data.run_arguments())
        rendered = {"text": report.to_text, "markdown": report.to_markdown, "json": report.to_json}[output_format]()
        print(visible_json(rendered) if output_format == "json" else visible(rendered, lines=True), end="")
        if plot is not None:
            _plot_change(report, plot, plot_quota, plot_target)
        if limit is not None and report.total.change > limit:
            err.print(
                f"the total payout grows by {money(report.total.change)}, more than --fail-over {money(limit)}",
                markup=False,
            )
            raise typer.Exit(1)


def _plot_change(report, path: Path, quota: str | None, target: str | None) -> None:
    """Draw the components whose pay changed, before and after, and say so on stderr (stdout is the report)."""
    from spmlang.cli.plot import chart_format, chart_scale, scale_words
    from spmlang.files import write_bytes
    from spmlang.report.curves import changed_curves
    from spmlang.report.render.charts import change_figure, figure_bytes

    old, new = report.plans
    scale = chart_scale(new.compiled, quota, target)
    pairs = changed_curves(old.compiled, new.compiled, scale)
    title = f"{report.old} → {report.new}\n{scale_words(new.compiled, scale)}: before dashed, after solid"
    write_bytes(path, figure_bytes(change_figure(title, pairs), chart_format(path)))
    names = [next(curve.name for curve in pair if curve is not None) for pair in pairs]
    drawn = (
        f"{len(names)} component(s) whose pay changed: {', '.join(names)}" if names else "no component's pay changed"
    )
    err.print(visible(f"wrote {path} ({drawn})"), markup=False)


def verify_command(
    ledgers: Annotated[
        list[Path],
        typer.Argument(metavar="LEDGERS", help="Ledger files written by spm run --out.", show_default=False),
    ],
    roots: Annotated[
        list[Path] | None,
        typer.Option(
            "--root",
            metavar="DIR",
            help="A folder the manifests' plans and inputs may "
            "be under, besides the ledger's folder and the current one (repeatable).",
        ),
    ] = None,
    allow_outside_paths: Annotated[
        bool,
        typer.Option(
            "--allow-outside-paths",
            help="Let a manifest name files anywhere (and its plan, files outside the plan's folder).",
        ),
    ] = False,
) -> None:
    """Re-run ledgers from their manifests: exit 0 if each is reproduced byte for byte, 1 if not (and why)."""
    from spmlang.verify import verify

    worst = 0
    for ledger in ledgers:  # each ledger on its own: one that cannot be read stops no other
        try:
            with errors_to_exit_codes():
                outcome = verify(ledger, roots or [], allow_outside_paths)
                out.print(outcome.report(), markup=False)
                worst = max(worst, 0 if outcome.identical else 1)
        except typer.Exit as stop:
            worst = max(worst, stop.exit_code)
    if worst:
        raise typer.Exit(worst)
