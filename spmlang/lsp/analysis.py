"""One file as the server sees it: what `spm check` says of it, its syntax tree (whole or recovered) and the
checked plan when it checks, and where each name is.

A plan file (``plan.spm``) is parsed and checked as ``spm check`` does. A test file (``plan.test.spm``) is
read against the plan beside it: the plan's text comes from the editor when the plan is open there, so a
test is checked against the plan as it is being written, saved or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spmlang.lsp import plan_model as pm
from spmlang.lsp.plan_model import Diagnostic, Span, ast
from spmlang.lsp.symbols import SymbolIndex, build_index


@dataclass
class Analysis:
    path: str
    text: str
    tree: ast.PlanFile | None  # what parses (recovered around syntax errors); None if nothing does
    checked: pm.CheckedPlan | None  # the checked plan, when the file is a plan that checks
    diagnostics: list[Diagnostic]  # spans in this file, but for notes pointing into the plan of a test file
    index: SymbolIndex
    plan: Analysis | None = None  # a test file's plan
    problems_elsewhere: list[Diagnostic] = field(default_factory=list)  # a test file's plan's errors

    @property
    def is_test_file(self) -> bool:
        return self.path.endswith(pm.TEST_SUFFIX)

    @property
    def declarations(self) -> Analysis:
        """The file that declares the names used here: the plan, for a test file."""
        return self.plan if self.plan is not None else self


TextSource = Callable[[str], "str | None"]


class Analyses:
    """Analyses of files by path, each made once per text. ``text_of(path)`` gives a file's text: the
    editor's buffer if it is open, else the file on disk (None if there is none)."""

    def __init__(self, text_of: TextSource):
        self.text_of = text_of
        self._cache: dict[str, Analysis] = {}

    def get(self, path: str) -> Analysis | None:
        text = self.text_of(path)
        if text is None:
            return None
        cached = self._cache.get(path)
        if cached is not None and cached.text == text and self._plan_unchanged(cached):
            return cached
        analysis = self._test_file(path, text) if path.endswith(pm.TEST_SUFFIX) else analyse_plan(path, text)
        self._cache[path] = analysis
        return analysis

    def forget(self, path: str) -> None:
        self._cache.pop(path, None)

    def _plan_unchanged(self, analysis: Analysis) -> bool:
        """Whether a test file's plan is as it was when the test file was read (it may have come or gone)."""
        if not analysis.is_test_file:
            return True
        plan = analysis.plan
        now = self.text_of(plan_beside(analysis.path))
        return now is None if plan is None else now == plan.text

    def _test_file(self, path: str, text: str) -> Analysis:
        tree, diagnostics = _parse(path, text)
        plan_path = plan_beside(path)
        plan = self.get(plan_path)  # for its names, even while this file does not parse
        elsewhere: list[Diagnostic] = []
        if tree is not None and not diagnostics:
            problem = pm.test_file_problem(tree, Path(plan_path).name, plan is not None, path)
            if problem is not None:
                diagnostics.append(problem)
            elif plan is not None and plan.checked is not None:
                for item in tree.items:
                    if isinstance(item, ast.TestBlock):  # a test file holds only these (else the problem above)
                        diagnostics.extend(pm.test_case_diagnostics(item, plan.checked, path))
            elif plan is not None:
                elsewhere = [d for d in plan.diagnostics if d.is_error]  # a plan that does not check has some
                if elsewhere:
                    diagnostics.append(_plan_has_errors(path, Path(plan_path).name, elsewhere))
        if tree is None:
            tree = pm.recover_tree(analysable(text), path)
        _sort(diagnostics)
        index = build_index(tree) if tree is not None else SymbolIndex()
        return Analysis(path, text, tree, None, diagnostics, index, plan, elsewhere)


def analyse_plan(path: str, text: str) -> Analysis:
    tree, diagnostics = _parse(path, text)
    checked = None
    if tree is not None and not diagnostics:
        try:
            checked = pm.check(tree)
            diagnostics = list(checked.warnings)
        except pm.PlanError as error:
            diagnostics = list(error.diagnostics)
        if checked is not None:
            for item in tree.items:
                if isinstance(item, ast.TestBlock):  # what `spm test` would refuse to run
                    diagnostics.extend(pm.test_case_diagnostics(item, checked, path))
    if tree is None:
        tree = pm.recover_tree(analysable(text), path)
    _sort(diagnostics)
    index = build_index(tree) if tree is not None else SymbolIndex()
    return Analysis(path, text, tree, checked, diagnostics, index)


def _parse(path: str, text: str) -> tuple[ast.PlanFile | None, list[Diagnostic]]:
    try:
        return pm.parse(analysable(text), path), []
    except pm.PlanError as error:
        return None, list(error.diagnostics)


def analysable(text: str) -> str:
    """The text spm reads: a byte order mark is dropped as ``spm check`` drops it (kept as a space here, so
    that every position stays that of the editor's text)."""
    return " " + text[1:] if text.startswith("\ufeff") else text


def plan_beside(test_path: str) -> str:
    return test_path[: -len(pm.TEST_SUFFIX)] + ".spm"


def tests_beside(plan_path: str) -> str:
    return plan_path[: -len(".spm")] + pm.TEST_SUFFIX if plan_path.endswith(".spm") else plan_path + pm.TEST_SUFFIX


def _plan_has_errors(path: str, plan_name: str, errors: list[Diagnostic]) -> Diagnostic:
    """One diagnostic at the top of a test file for the errors of its plan (each a related place): its code is
    the plan's first error's."""
    first = errors[0]
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    message = f"the plan {plan_name} has {count}, so its tests cannot be checked: {first.message}"
    notes = tuple((d.span, f"error[{d.code}]: {d.message}") for d in errors if d.span is not None)
    return Diagnostic(first.code, message, Span(path, 1, 1, 1, 2), f"fix the plan first ({plan_name})", "error", notes)


def _sort(diagnostics: list[Diagnostic]) -> None:
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
