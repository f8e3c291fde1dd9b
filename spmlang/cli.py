"""The ``spm`` command.

Exit codes: 0 success; 1 the plan has errors (or, for commands that judge,
the judgement failed); 2 a usage or input error (a missing file, a missing
column, a bad option); 3 an internal error in spm itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from spmlang.diagnostics import PlanError, SpmError, UsageError
from spmlang.files import check_writable, write_text
from spmlang.visible import visible, visible_json

EXIT_CODES = """Exit codes: 0 success; 1 plan errors; 2 usage or input errors; 3 an internal error in spm."""

app = typer.Typer(
    name="spm",
    help="Sales compensation plans as code: check them, run them over transactions, read the ledger.\n\n" + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class _Console(Console):
    """A console that prints text from data and files as it is: control characters in it are shown as escapes
    (see :mod:`spmlang.visible`), ``:smile:`` stays as written. Tables and messages make their values visible
    as they are made (so that columns line up); this makes sure of whatever else is printed."""

    def print(self, *objects, **options) -> None:
        super().print(*(visible(o, lines=True) if isinstance(o, str) else o for o in objects), **options)

    def render(self, renderable, options=None):
        for segment in super().render(renderable, options):
            yield segment if segment.control else Segment(visible(segment.text, lines=True), segment.style)


# In a pipe or a CI log there is no terminal width to respect: keep tables whole.
out = _Console(highlight=False, soft_wrap=True, emoji=False)
if not out.is_terminal:
    out = _Console(highlight=False, soft_wrap=True, emoji=False, width=200)
err = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _color(console: Console) -> bool:
    return console.is_terminal and "NO_COLOR" not in os.environ


def _print_rendered(text: str) -> None:
    """Diagnostics as :func:`spmlang.diagnostics.render_diagnostics` made them: coloured by their own escape
    sequences where colour is wanted (their values were made visible as they were rendered)."""
    err.print(Text.from_ansi(text) if _color(err) else text, markup=False, highlight=False)


_debug = False  # spm --debug: an internal error shows its traceback


@app.callback()
def _options(
    debug: bool = typer.Option(
        False, "--debug", help="On an internal error (a bug in spm), show its traceback too (as SPM_DEBUG=1 does)."
    ),
) -> None:
    global _debug
    _debug = debug


def _debugging() -> bool:
    return _debug or os.environ.get("SPM_DEBUG", "") not in ("", "0")


def _internal_error(error: BaseException) -> None:
    """Say that spm has a bug, in one line, and how to report it; the traceback only when asked for."""
    import traceback

    from spmlang.version import __version__

    if _debugging():
        err.print("".join(traceback.format_exception(error)).rstrip(), markup=False, highlight=False)
    command = next((word for word in sys.argv[1:] if not word.startswith("-")), "COMMAND")
    named = visible(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    err.print(f"internal error in spm: {named}", markup=False, highlight=False)
    how = (
        "please report it with the command you ran, this message and the traceback above"
        if _debugging()
        else f"please report it with the command you ran, this message and the traceback that `spm --debug "
        f"{command} ...` (or SPM_DEBUG=1) prints"
    )
    err.print(
        f"  = this is a bug in spm (spmlang {__version__}), not in your plan or data: {how}; if you can, "
        "add the plan and a few rows of data that show it",
        markup=False,
        highlight=False,
    )


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turn spm's errors into messages and exit codes; never show a traceback for a user's mistake."""
    try:
        yield
    except PlanError as error:
        _print_rendered(error.render(color=_color(err)))
        errors = sum(1 for d in error.diagnostics if d.is_error)
        err.print(f"\n{errors} error(s)", markup=False)
        raise typer.Exit(1) from None
    except SpmError as error:
        err.print(_plain_error(error), markup=False)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except Exception as error:  # a bug in spm: say so plainly
        _internal_error(error)
        raise typer.Exit(3) from None


def _plain_error(error: SpmError) -> str:
    text = str(error)
    return text if text.startswith("error") else f"error: {text}"


def _table_options(tables: list[str]) -> dict[str, Path]:
    result = {}
    for item in tables:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--table takes NAME=PATH, not '{item}'")
        result[name.strip()] = Path(path.strip())
    return result


# ---------------------------------------------------------------------- check


CHECK_FORMATS = ("text", "json", "github")


@app.command()
def check(
    plans: list[Path] = typer.Argument(
        ..., metavar="PLANS", help="Plan files (.spm) and test files (.test.spm) to check.", show_default=False
    ),
    output_format: str = typer.Option(
        "text",
        "--format",
        metavar="FORMAT",
        help="text; json (one object per file); github (GitHub Actions annotations).",
    ),
) -> None:
    """Check plan files: names, types, tiers, curves, caps. Prints every error with its position."""
    with handled():
        if output_format not in CHECK_FORMATS:
            raise UsageError(f"--format is one of {', '.join(CHECK_FORMATS)}, not '{output_format}'")
        worst = 0
        reports = []
        for path in plans:
            report = _check_one(path)
            reports.append(report)
            worst = max(worst, report["exit_code"])
            if output_format == "text":
                _print_check_text(report)
            elif output_format == "github":
                for line in _github_annotations(report):
                    print(line)
        if output_format == "json":
            _print_json(
                [{k: v for k, v in r.items() if k not in ("rendered", "exit_code")} for r in reports], ensure_ascii=True
            )
        if worst:
            raise typer.Exit(worst)


def _print_json(data, ensure_ascii: bool = False) -> None:
    """``data`` as JSON on stdout; text from data or files stays valid JSON, with nothing raw on a terminal."""
    import json

    print(visible_json(json.dumps(data, indent=2, ensure_ascii=ensure_ascii)))


def _check_one(path: Path) -> dict:
    """Check one file; the outcome as data (diagnostics, what was found) and as rendered text."""
    from spmlang.api import load
    from spmlang.diagnostics import InputError, PlanError, render_diagnostics

    report = {"file": str(path), "ok": True, "diagnostics": [], "summary": "", "rendered": "", "exit_code": 0}
    try:
        if path.name.endswith(".test.spm"):
            from spmlang.testing.cases import TestFileError, read_cases

            try:
                cases = read_cases(path)
            except TestFileError as error:
                raise error.error from None
            broken = [case for case in cases if case.error]
            if broken:
                report.update(ok=False, exit_code=1, rendered="\n\n".join(case.error for case in broken))
                report["diagnostics"] = [
                    {
                        "severity": "error",
                        "message": f"test '{case.name}' is not valid",
                        "file": str(path),
                        "line": case.span.line,
                        "column": case.span.column,
                    }
                    for case in broken
                ]
            report["summary"] = f"{len(cases)} test(s)"
            return report
        plan = load(path)
        report["diagnostics"] = [d.to_dict() for d in plan.warnings]
        report["rendered"] = (
            render_diagnostics(plan.warnings, {plan.path: plan.checked.source}, color=_color(err))
            if plan.warnings
            else ""
        )
        report["summary"] = f"{len(plan.components)} component(s), {len(plan.warnings)} warning(s)"
    except PlanError as error:
        report.update(
            ok=False,
            exit_code=1,
            diagnostics=[d.to_dict() for d in error.diagnostics],
            rendered=error.render(color=_color(err)),
        )
    except InputError as error:
        report.update(
            ok=False,
            exit_code=2,
            rendered=_plain_error(error),
            diagnostics=[
                {
                    "severity": "error",
                    "code": error.code,
                    "message": error.message,
                    "hint": error.hint,
                    "file": error.file or str(path),
                }
            ],
        )
    return report


def _print_check_text(report: dict) -> None:
    if report["rendered"]:
        _print_rendered(report["rendered"])
    if report["ok"]:
        out.print(f"{report['file']}: ok ({report['summary']})", markup=False)
    else:
        errors = sum(1 for d in report["diagnostics"] if d.get("severity") == "error")
        err.print(f"{report['file']}: {errors} error(s)\n", markup=False)


def _github_annotations(report: dict) -> list[str]:
    """GitHub Actions workflow commands: ::error file=...,line=...,col=...::message"""

    def escape(text: str, property_value: bool = False) -> str:
        text = visible(text, lines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if property_value else text

    lines = []
    for diagnostic in report["diagnostics"]:
        level = "warning" if diagnostic.get("severity") == "warning" else "error"
        where = [f"file={escape(diagnostic.get('file') or report['file'], True)}"]
        for key, name in (("line", "line"), ("column", "col"), ("end_line", "endLine"), ("end_column", "endColumn")):
            if diagnostic.get(key) is not None:
                where.append(f"{name}={diagnostic[key]}")
        if diagnostic.get("code"):
            where.append(f"title={escape(diagnostic['code'], True)}")
        message = diagnostic["message"] + (f" (hint: {diagnostic['hint']})" if diagnostic.get("hint") else "")
        lines.append(f"::{level} {','.join(where)}::{escape(message)}")
    return lines


# ---------------------------------------------------------------------- run

# The data options, shared by every command that runs a plan.
PLAN_ARGUMENT = typer.Argument(..., metavar="PLAN", help="The plan file.", show_default=False)
DEALS = typer.Option(
    None, "--deals", "--transactions", metavar="PATH", help="Transactions: parquet, CSV, Arrow or JSON lines."
)
QUOTAS = typer.Option(None, "--quotas", metavar="PATH", help="Quotas (payee, period, amount).")
TARGETS = typer.Option(None, "--targets", metavar="PATH", help="Target incentives (payee, [period,] amount).")
ROSTER = typer.Option(None, "--roster", metavar="PATH", help="Roster (payee, manager) for rollups.")
TABLE = typer.Option([], "--table", metavar="NAME=PATH", help="A lookup table: NAME=PATH (repeatable).")
STRICT = typer.Option(False, "--strict", help="Any rejected row is an error (exit 2).")
OUTSIDE = typer.Option(False, "--allow-outside-paths", help="Let the plan name files outside its own folder.")


def _run_plan(
    plan: Path, deals, quotas, targets, roster, table, strict, allow_outside_paths, progress=None, workers=None
):
    from spmlang.api import load

    loaded = load(plan)
    return loaded.run(
        deals,
        quotas=quotas,
        targets=targets,
        roster=roster,
        tables=_table_options(table),
        strict=strict,
        allow_outside_paths=allow_outside_paths,
        progress=progress,
        workers=workers,
    )


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator:
    """A progress bar on stderr while a long run lasts, for a person at a terminal; else nothing."""
    from spmlang.progress import TerminalProgress, silent, wanted

    if not (wanted(out, quiet) and err.is_terminal):
        yield silent
        return
    with TerminalProgress(err) as bar:
        yield bar


@app.command()
def run(
    plan: Path = PLAN_ARGUMENT,
    deals: Path | None = DEALS,
    quotas: Path | None = QUOTAS,
    targets: Path | None = TARGETS,
    roster: Path | None = ROSTER,
    table: list[str] = TABLE,
    output: Path | None = typer.Option(
        None,
        "--out",
        metavar="PATH",
        help="Write the ledger (.parquet, .csv, .json, .jsonl) and its manifest beside it.",
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", metavar="PATH", help="Write rejected input rows with reasons."
    ),
    strict: bool = STRICT,
    allow_outside_paths: bool = OUTSIDE,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    workers: int | None = typer.Option(
        None, "--workers", metavar="N", min=1, help="Processes that pay a large run (default: every core; 1: one)."
    ),
) -> None:
    """Run a plan over transactions: print payout per payee and period, write the ledger."""
    with handled():
        from spmlang.report.files import writable

        for path in (output, rejects):  # a wrong extension is found before the run, not after it
            if path is not None:
                writable(path)
        with _progress(quiet) as progress:
            result = _run_plan(
                plan, deals, quotas, targets, roster, table, strict, allow_outside_paths, progress, workers
            )
            written = result.write(output, rejects=rejects, progress=progress) if output is not None else None
            summary = result.summary(progress) if not quiet else None
        if summary is not None:
            out.print(summary)
        if written is not None:
            from spmlang.report.manifest import manifest_path

            if not quiet:
                out.print(f"wrote {written} ({result.line_count:,} lines) and {manifest_path(written)}", markup=False)
        if rejects is not None:
            from spmlang.report.files import write_table

            if output is None:
                write_table(result.rejects, rejects)
            if not quiet:
                count = result.rejects.num_rows
                out.print(f"wrote {rejects} ({count:,} rejected row{'' if count == 1 else 's'})", markup=False)


# ---------------------------------------------------------------------- explain


@app.command()
def explain(
    plan: Path = PLAN_ARGUMENT,
    payee: str = typer.Option(..., "--payee", metavar="PAYEE", help="Whose pay to explain."),
    period: str | None = typer.Option(None, "--period", metavar="PERIOD", help="Only this period, e.g. 2027-Q1."),
    txn: str | None = typer.Option(None, "--txn", metavar="KEY", help="Only the lines of this transaction."),
    output_format: str = typer.Option("text", "--format", metavar="FORMAT", help="text or json."),
    deals: Path | None = DEALS,
    quotas: Path | None = QUOTAS,
    targets: Path | None = TARGETS,
    roster: Path | None = ROSTER,
    table: list[str] = TABLE,
    strict: bool = STRICT,
    allow_outside_paths: bool = OUTSIDE,
) -> None:
    """Explain a payee's pay: each line's clause, credit, measure, tier slices, caps, gates and rounding."""
    with handled():
        if output_format not in ("text", "json"):
            raise UsageError(f"--format is text or json, not '{output_format}'")
        result = _run_plan(plan, deals, quotas, targets, roster, table, strict, allow_outside_paths)
        trail = result.explain(payee, period=period, txn=txn)
        if output_format == "json":
            _print_json(trail.to_dict())
        else:
            out.print(trail)


# ---------------------------------------------------------------------- statement


@app.command()
def statement(
    plan: Path = PLAN_ARGUMENT,
    payee: list[str] = typer.Option([], "--payee", metavar="PAYEE", help="Only these payees (repeatable)."),
    period: list[str] = typer.Option([], "--period", metavar="PERIOD", help="Only these periods (repeatable)."),
    output: Path | None = typer.Option(
        None,
        "--out",
        metavar="FOLDER",
        help="A folder: one HTML and one CSV statement per payee and period, and an index.html.",
    ),
    deals: Path | None = DEALS,
    quotas: Path | None = QUOTAS,
    targets: Path | None = TARGETS,
    roster: Path | None = ROSTER,
    table: list[str] = TABLE,
    strict: bool = STRICT,
    allow_outside_paths: bool = OUTSIDE,
) -> None:
    """Pay statements: write them as HTML and CSV (--out), or show them in the terminal (--payee)."""
    with handled():
        if output is None and not payee:
            raise UsageError("say where to write the statements (--out FOLDER) or whose to show (--payee NAME)")
        if output is not None:  # a folder spm cannot write to is said before the run, not after it
            check_writable(output / "index.html")
        with _progress(quiet=False) as progress:
            result = _run_plan(plan, deals, quotas, targets, roster, table, strict, allow_outside_paths, progress)
            labels = set(result.ledger.column("period").to_pylist()) | set(_periods(result))
            for name in period:
                if name not in labels:
                    raise UsageError(f"no period '{name}' in this plan; its periods are {', '.join(_periods(result))}")
            if output is not None:
                written = result.write_statements(output, payee or None, period or None, progress)
            else:
                statements = result.statements(payee or None, period or None, progress)
        if output is not None:
            count = (len(written) - 1) // 2  # an HTML and a CSV file each, and the index
            out.print(
                f"wrote {count} statement(s) to {output} ({len(written)} files; open {output / 'index.html'})",
                markup=False,
            )
        else:
            for one in statements:
                out.print(one)
                out.print()


# ---------------------------------------------------------------------- test


@app.command(name="test")
def test_plans(
    paths: list[Path] = typer.Argument(
        None,
        metavar="PATHS",
        help="Test files, plan files or folders (default: the current folder).",
        show_default=False,
    ),
    junit: Path | None = typer.Option(None, "--junit", metavar="PATH", help="Also write the results as JUnit XML."),
) -> None:
    """Run the tests written in the language (plan.test.spm files and test blocks in plans)."""
    import time

    from spmlang.testing import junit_xml, report, run_tests

    with handled():
        if junit is not None:
            check_writable(junit)
        started = time.perf_counter()
        outcomes = run_tests(list(paths or []))
        seconds = time.perf_counter() - started
        out.print(report(outcomes, seconds), markup=False, highlight=False)
        if junit is not None:
            write_text(junit, junit_xml(outcomes, seconds))
        if not outcomes or not all(o.passed for o in outcomes):
            raise typer.Exit(1)


# ---------------------------------------------------------------------- fmt


@app.command(name="fmt")
def fmt_plans(
    paths: list[Path] = typer.Argument(
        None, metavar="PATHS", help="Plan and test files, or folders (default: the current folder).", show_default=False
    ),
    check_only: bool = typer.Option(
        False, "--check", help="Change nothing: print a diff and exit 1 if a file is not formatted."
    ),
) -> None:
    """Rewrite plan files in the canonical layout, keeping every comment."""
    import difflib

    from spmlang.diagnostics import InputError
    from spmlang.syntax.format import format_source
    from spmlang.testing.cases import discover

    worst = 0
    changed = 0
    with handled():
        files = discover(list(paths or [Path(".")]))
    for path in files:
        try:
            with handled():
                if not path.exists():
                    raise InputError("file not found", file=str(path))
                source = path.read_text(encoding="utf-8-sig")
                formatted = format_source(source, str(path))
                if formatted == source:
                    continue
                changed += 1
                if check_only:
                    diff = difflib.unified_diff(
                        source.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        f"{path} (as it is)",
                        f"{path} (formatted)",
                    )
                    out.print("".join(diff), markup=False, highlight=False, end="")
                    worst = max(worst, 1)
                else:
                    write_text(path, formatted)  # whole: a stopped run never leaves half a plan
                    out.print(f"formatted {path}", markup=False)
        except typer.Exit as stop:
            worst = max(worst, stop.exit_code)
    if check_only:
        out.print(
            f"{changed} of {len(files)} file(s) would be reformatted"
            if changed
            else f"{len(files)} file(s) already formatted",
            markup=False,
        )
    if worst:
        raise typer.Exit(worst)


# ---------------------------------------------------------------------- diff


@app.command(name="diff")
def diff_command(
    old: str = typer.Argument(
        ...,
        metavar="OLD",
        help="The plan before: a file, or REV:path from git (HEAD~1:plans/ae.spm).",
        show_default=False,
    ),
    new: str = typer.Argument(..., metavar="NEW", help="The plan after: a file, or REV:path.", show_default=False),
    deals: Path | None = DEALS,
    quotas: Path | None = QUOTAS,
    targets: Path | None = TARGETS,
    roster: Path | None = ROSTER,
    table: list[str] = TABLE,
    output_format: str = typer.Option(
        "text", "--format", metavar="FORMAT", help="text, markdown (a PR comment) or json."
    ),
    fail_over: str | None = typer.Option(
        None,
        "--fail-over",
        metavar="AMOUNT",
        help="Exit 1 if the total payout grows by more than this amount, e.g. 10000 or $10,000.",
    ),
    allow_outside_paths: bool = OUTSIDE,
) -> None:
    """The cost of a plan change: payout before and after, per component and payee, and the clauses changed."""
    from decimal import Decimal, InvalidOperation

    from spmlang.diff import diff_plans

    with handled():
        if output_format not in ("text", "markdown", "json"):
            raise UsageError(f"--format is text, markdown or json, not '{output_format}'")
        limit = None
        if fail_over is not None:
            try:
                limit = Decimal(fail_over.replace("$", "").replace(",", "").strip())
            except InvalidOperation:
                raise UsageError(f"--fail-over takes an amount such as 10000 or $10,000, not '{fail_over}'") from None
        report = diff_plans(
            old,
            new,
            deals=deals,
            quotas=quotas,
            targets=targets,
            roster=roster,
            tables=_table_options(table),
            allow_outside_paths=allow_outside_paths,
        )
        rendered = {"text": report.to_text, "markdown": report.to_markdown, "json": report.to_json}[output_format]()
        print(visible_json(rendered) if output_format == "json" else visible(rendered, lines=True), end="")
        if limit is not None and report.total.change > limit:
            err.print(
                f"the total payout grows by {report.total.change:,}, more than --fail-over {limit:,}", markup=False
            )
            raise typer.Exit(1)


# ---------------------------------------------------------------------- compile


@app.command(name="compile")
def compile_plan(
    plan: Path = PLAN_ARGUMENT,
    explain_steps: bool = typer.Option(False, "--explain", help="Print the calculator as readable steps."),
) -> None:
    """Compile a plan into its calculator; with --explain, print its steps with the clause of each."""
    from spmlang.api import load
    from spmlang.engine.steps import plan_steps, render_steps

    with handled():
        loaded = load(plan)
        compiled = loaded.compiled
        if explain_steps:
            out.print(render_steps(plan_steps(compiled), loaded.checked), markup=False)
        else:
            out.print(
                f"{plan}: compiled ({len(loaded.components)} component(s), {compiled.calendar.count} periods)",
                markup=False,
            )


@app.command(name="lsp")
def lsp_command() -> None:
    """Run the language server for editors over stdin and stdout (needs: pip install 'spmlang[lsp]'; see
    docs/editors.md)."""
    from spmlang import lsp

    with handled():
        why = lsp.missing()
        if why is not None:
            raise UsageError(why)
        lsp.serve()


# ---------------------------------------------------------------------- verify


@app.command()
def verify(
    ledgers: list[Path] = typer.Argument(
        ..., metavar="LEDGERS", help="Ledger files written by spm run --out.", show_default=False
    ),
    roots: list[Path] = typer.Option(
        [],
        "--root",
        metavar="DIR",
        help="A folder the manifests' plans and inputs may "
        "be under, besides the ledger's folder and the current one (repeatable).",
    ),
    allow_outside_paths: bool = typer.Option(
        False,
        "--allow-outside-paths",
        help="Let a manifest name files anywhere (and its plan, files outside the plan's folder).",
    ),
) -> None:
    """Re-run ledgers from their manifests: exit 0 if each is reproduced byte for byte, 1 if not (and why)."""
    from spmlang.verify import verify as verify_ledger

    worst = 0
    for ledger in ledgers:
        try:
            with handled():
                outcome = verify_ledger(ledger, roots, allow_outside_paths)
                out.print(outcome.report(), markup=False)
                worst = max(worst, 0 if outcome.identical else 1)
        except typer.Exit as stop:
            worst = max(worst, stop.exit_code)
    if worst:
        raise typer.Exit(worst)


def _periods(result) -> list[str]:
    return list(result.payout.run.calendar.labels)


class _WithoutPandas:
    """An import finder for which pandas is not installed.

    The command line reads files, never DataFrames, yet pyarrow imports pandas when it is installed the first
    time it makes an array or a scalar, to ask whether the value is a pandas object: ~0.35 s and ~35 MB of
    every ``spm`` command that reads data (the README's example run: 1.2 s instead of 0.9 s). In spm's own process
    pyarrow finds no pandas, as on a machine without it; what spm computes does not depend on pandas either
    way. A program embedding spmlang, which may pass DataFrames, is left as it is."""

    def find_spec(self, name: str, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (the spm command does not use it)", name=name)
        return None


def main() -> None:
    """Entry point of the ``spm`` script."""
    from spmlang.engine.runtime.memory import use_system_allocator

    use_system_allocator()  # before pyarrow is used (see spmlang.engine.memory)
    # numpy's OpenBLAS starts a thread per core as numpy is imported, and they spin a while (~0.12 s of CPU,
    # taken from reading the transactions) though spm does no linear algebra; one thread means none started.
    # Set before numpy is imported; the environment may still choose.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    try:
        app()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
        sys.exit(code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as error:  # a bug outside a command's own handling (as it starts, or as it ends)
        _internal_error(error)
        sys.exit(3)


if __name__ == "__main__":
    main()
