"""Running tests written in the language, and reporting them like pytest (and as JUnit XML)."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from spmlang.diagnostics import InputError, SpmError
from spmlang.figures import money, percent
from spmlang.syntax import ast
from spmlang.testing.cases import TestCase, TestFileError, discover, read_cases

RATIO = Decimal("0.000001")


@dataclass
class Failure:
    expectation: str  # the expectation as written, with its position
    message: str  # expected ..., got ...
    trail: str = ""  # the explain trail of the figure


@dataclass
class Outcome:
    id: str
    file: str
    name: str
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None  # the test could not run (a bad test file, an unexpected error)
    unreadable: bool = False  # the file could not be read (not found, not UTF-8): an input error

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None

    @property
    def exit_code(self) -> int:
        """What ``spm test`` exits with for this outcome alone: 0 passed, 1 failed, 2 a file it cannot read (as
        any input error)."""
        return 0 if self.passed else 2 if self.unreadable else 1


def run_tests(paths: list[Path]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for path in discover(paths):
        started = time.perf_counter()
        try:
            cases = read_cases(path)
        except TestFileError as error:
            outcomes.append(
                Outcome(f"{path}", str(path), "(file)", time.perf_counter() - started, error=error.error.render())
            )
            continue
        except SpmError as error:
            render = getattr(error, "render", None)
            outcomes.append(
                Outcome(
                    f"{path}",
                    str(path),
                    "(file)",
                    time.perf_counter() - started,
                    error=render() if render else str(error),
                    unreadable=isinstance(error, InputError),
                )
            )
            continue
        for case in cases:
            outcomes.append(run_case(case))
    return outcomes


def run_case(case: TestCase) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome(case.id, case.file, case.name, 0.0)
    if case.error is not None:
        outcome.error = case.error
        return outcome
    if case.plan is None:
        raise ValueError(f"{case.id} has no plan to run")  # discovery gives every case its plan
    wants_error = [e for e in case.expectations if e.what == "error"]
    try:
        result = case.plan.run(
            case.deals,
            quotas=case.quotas,
            targets=case.targets,
            roster=case.roster,
            tables=case.tables,
            strict=case.strict,
        )
    except SpmError as error:
        if not wants_error:
            outcome.error = f"the run failed: {error}"
        for expectation in wants_error:
            _check_error(case, expectation, error, outcome)
        outcome.seconds = time.perf_counter() - started
        return outcome
    ledger = result.ledger.to_pylist()  # once for every expectation of the case
    for expectation in case.expectations:
        if expectation.what == "error":
            outcome.failures.append(
                Failure(
                    _written(case, expectation), f"expected error {expectation.subject.text}, but the run succeeded"
                )
            )
        else:
            _check(case, expectation, result, ledger, outcome)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _written(case: TestCase, expectation: ast.Expect) -> str:
    span = expectation.span
    lines = case.source.splitlines()
    return f"{span}: {lines[span.line - 1].strip() if 0 < span.line <= len(lines) else ''}"


def _text(literal: ast.Literal | None) -> str | None:
    return None if literal is None else str(literal.value)


def _check_error(case: TestCase, expectation: ast.Expect, error: SpmError, outcome: Outcome) -> None:
    code = getattr(error, "code", None) or (getattr(error, "diagnostics", None) or [None])[0]
    code = getattr(code, "code", code)
    wanted_code = expectation.subject.text
    wanted_text = _text(expectation.value)
    if code != wanted_code or (wanted_text and wanted_text not in str(error)):
        outcome.failures.append(
            Failure(
                _written(case, expectation),
                f"expected error {wanted_code}"
                + (f' with "{wanted_text}"' if wanted_text else "")
                + f", got {code}: {error}",
            )
        )


def _check(case: TestCase, expectation: ast.Expect, result, ledger: list[dict], outcome: Outcome) -> None:
    subject = str(expectation.subject.value)
    period = _text(expectation.period)
    component = expectation.component.text if expectation.component else None
    payee = _text(expectation.payee)
    written = _written(case, expectation)
    unknown = _unknown_name(case, expectation, result, ledger)
    if unknown is not None:  # expected 0 of a name nothing has would pass, and test nothing
        outcome.failures.append(Failure(written, unknown))
        return
    if period is not None:  # Q1 is 2027-Q1, as --through reads it
        period = result.payout.run.calendar.label_of(period)
    if expectation.what == "reject":
        _check_reject(expectation, subject, result, ledger, outcome, written)
        return
    if expectation.what == "excluded":
        _check_excluded(expectation, subject, result, outcome, written)
        return
    value = expectation.value
    if value is None:
        raise AssertionError("the grammar gives an expected figure its value")
    expected = Decimal(value.value) if isinstance(value.value, Decimal) else None
    if expected is None:
        outcome.failures.append(Failure(written, f"{value.text} is not a number to compare with"))
        return
    if expectation.what == "attainment":
        _check_attainment(subject, period, expected, result, outcome, written)
        return
    if expectation.what == "paid":
        _check_paid(expectation, subject, period, expected, result, ledger, outcome, written)
        return
    if expectation.what == "payout":
        chosen = [line for line in ledger if line["payee"] == subject]
        who: str | None = subject
    else:
        chosen = [line for line in ledger if line["txn"] == subject and (payee is None or line["payee"] == payee)]
        who = payee or (chosen[0]["payee"] if chosen else None)
        if not chosen:
            outcome.failures.append(Failure(written, f"no ledger line for transaction {subject}"))
            return
    chosen = [
        line
        for line in chosen
        if (period is None or line["period"] == period) and (component is None or line["component"] == component)
    ]
    got = sum((line["amount"] for line in chosen), Decimal("0.00"))
    if got != expected:
        txn = subject if expectation.what == "line" else None
        outcome.failures.append(
            Failure(written, f"expected {money(expected)}, got {money(got)}", _trail(result, who, period, txn))
        )


def _check_attainment(
    payee: str, period: str | None, expected: Decimal, result, outcome: Outcome, written: str
) -> None:
    attainment = _attainment(result, payee, period)
    if attainment is None:
        outcome.failures.append(Failure(written, f"{payee} has no attainment in {period or 'the plan'}"))
    elif attainment.quantize(RATIO) != expected.quantize(RATIO):
        outcome.failures.append(
            Failure(
                written,
                f"expected attainment {percent(expected)}, got {percent(attainment)}",
                _trail(result, payee, period, None),
            )
        )


def _unknown_name(case: TestCase, expectation: ast.Expect, result, ledger: list[dict]) -> str | None:
    """What an expectation names that neither the plan nor the test's data has (a period, a payee, a
    component), said with the closest name it has, if any; None if every name is known."""
    from spmlang.diagnostics import UsageError, did_you_mean

    period = _text(expectation.period)
    if period is not None:
        try:
            result._check_periods([period])  # as Result.explain and statements read a period, and refuse one
        except UsageError as error:
            return str(error)
    named = expectation.payee if expectation.what == "line" else expectation.subject
    payee = _text(named) if expectation.what in ("payout", "paid", "attainment", "line") else None
    if payee is not None:
        known = set(result.payout.run.payees.names)
        if case.deals is not None:
            for source in result.payout.run.plan.transactions.payees:
                if source.column in case.deals.column_names:
                    known.update(str(name) for name in case.deals.column(source.column).to_pylist() if name)
        if payee not in known:
            hint = did_you_mean(payee, sorted(known))
            return f"no payee '{payee}' in the test's data" + (f"; {hint}" if hint else "")
    component = expectation.component.text if expectation.component else None
    if component is not None:
        known = {c.name for c in result.payout.run.plan.components} | {line["component"] for line in ledger}
        if component not in known:
            hint = did_you_mean(component, sorted(name for name in known if name))
            return f"no component '{component}' in the plan" + (f"; {hint}" if hint else "")
    return None


def _check_paid(
    expectation: ast.Expect,
    payee: str,
    period: str | None,
    expected: Decimal,
    result,
    ledger: list[dict],
    outcome: Outcome,
    written: str,
) -> None:
    """The payout in the currency the payee is paid in: the fx lines' amounts paid where they are paid in
    another currency than the plan's, else the payout itself."""
    mine = [line for line in ledger if line["payee"] == payee and period in (None, line["period"])]
    fx = [line for line in mine if line["kind"] == "fx"]
    plan_currency = result.payout.run.plan.settings.currency
    converted = {line["period"] for line in fx}  # periods paid in another currency: their fx line says what
    got = sum((line["amount"] for line in mine if line["period"] not in converted), Decimal("0.00"))
    got += sum((line["amount_paid"] for line in fx), Decimal("0.00"))
    in_plan_currency = {line["period"] for line in mine} - converted
    currencies = sorted({line["currency_paid"] for line in fx} | ({plan_currency} if in_plan_currency else set()))
    if len(currencies) > 1:  # amounts of several currencies have no sum
        outcome.failures.append(
            Failure(written, f"{payee} is paid in {' and '.join(currencies)} over these periods: name one period")
        )
        return
    wanted = expectation.reason.text.upper() if expectation.reason is not None else None
    said = currencies[0] if currencies else plan_currency
    if got != expected or (wanted is not None and said != wanted):
        outcome.failures.append(
            Failure(
                written,
                f"expected {money(expected)}{f' {wanted}' if wanted else ''} paid, got {money(got)} {said}",
                _trail(result, payee, period, None),
            )
        )


def _check_reject(
    expectation: ast.Expect, subject: str, result, ledger: list[dict], outcome: Outcome, written: str
) -> None:
    reason = expectation.reason.text if expectation.reason else ""  # the grammar makes a reject name one
    reasons = [r["reason"] for r in result.rejects.to_pylist() if r["key"] == subject]
    if reason not in reasons:
        credited = any(line["txn"] == subject for line in ledger)
        fate = ", ".join(reasons) if reasons else ("credited" if credited else "not rejected")
        outcome.failures.append(Failure(written, f"expected {subject} rejected for {reason}, got {fate}"))


def _check_excluded(expectation: ast.Expect, subject: str, result, outcome: Outcome, written: str) -> None:
    filters = [r["filter"] for r in result.excluded.to_pylist() if r["key"] == subject]
    wanted = expectation.reason.text if expectation.reason else None
    if not filters or (wanted is not None and wanted not in filters):
        fate = (
            f"excluded by {filters[0]}"
            if filters
            else ("rejected" if subject in result.rejects.column("key").to_pylist() else "not excluded")
        )
        outcome.failures.append(
            Failure(
                written,
                f"expected {subject} excluded" + (f" by filter {wanted}" if wanted else "") + f", got {fate}",
            )
        )


def _attainment(result, payee: str, period: str | None) -> Decimal | None:
    try:
        trail = result.explain(payee, period=period)
    except SpmError:
        return None
    return trail.periods[-1].attainment if trail.periods else None


def _trail(result, payee: str | None, period: str | None, txn: str | None) -> str:
    if payee is None:
        return ""
    try:
        trail = result.explain(payee, period=period, txn=txn)
    except SpmError as error:
        return str(error)
    console = Console(width=120, record=True, color_system=None, file=io.StringIO())
    console.print(trail)
    return console.export_text()


# ---------------------------------------------------------------------- reports


def report(outcomes: list[Outcome], seconds: float) -> str:
    lines = []
    for outcome in outcomes:
        verdict = "PASSED" if outcome.passed else ("ERROR" if outcome.error else "FAILED")
        lines.append(f"{outcome.id} {verdict}")
    problems = [o for o in outcomes if not o.passed]
    if problems:
        lines.append("")
    for outcome in problems:
        lines.append(f"___ {outcome.id} ___")
        if outcome.error:
            lines.append(outcome.error)
        for failure in outcome.failures:
            lines.append(failure.expectation)
            lines.append(f"  {failure.message}")
            if failure.trail:
                lines.extend(f"  | {line}" for line in failure.trail.rstrip().splitlines())
        lines.append("")
    passed = sum(o.passed for o in outcomes)
    failed = sum(1 for o in outcomes if o.failures and not o.error)
    errors = sum(1 for o in outcomes if o.error)
    parts = [f"{passed} passed"] + ([f"{failed} failed"] if failed else []) + ([f"{errors} error(s)"] if errors else [])
    if not outcomes:
        parts = ["no tests found"]
    lines.append(f"{', '.join(parts)} in {seconds:.2f}s")
    return "\n".join(lines)


def junit_xml(outcomes: list[Outcome], seconds: float) -> str:
    suites = ET.Element(
        "testsuites",
        name="spm test",
        tests=str(len(outcomes)),
        failures=str(sum(1 for o in outcomes if o.failures and not o.error)),
        errors=str(sum(1 for o in outcomes if o.error)),
        time=f"{seconds:.3f}",
    )
    by_file: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_file.setdefault(outcome.file, []).append(outcome)
    for file, members in by_file.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(members)),
            failures=str(sum(1 for o in members if o.failures and not o.error)),
            errors=str(sum(1 for o in members if o.error)),
            time=f"{sum(o.seconds for o in members):.3f}",
        )
        for outcome in members:
            case = ET.SubElement(suite, "testcase", classname=file, name=outcome.name, time=f"{outcome.seconds:.3f}")
            if outcome.error:
                ET.SubElement(case, "error", message=outcome.error.splitlines()[0]).text = outcome.error
            for failure in outcome.failures:
                body = "\n".join([failure.expectation, failure.message, failure.trail]).strip()
                ET.SubElement(case, "failure", message=failure.message).text = body
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
