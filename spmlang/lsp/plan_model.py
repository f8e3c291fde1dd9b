"""What the language server takes from the rest of spmlang: every import of another spmlang module is here.

The server reads plans through this module alone, so that when the stages it reads (the parser, the checker,
the checked plan, the test cases, the formatter) move, only these lines follow them. It adds no rule of its
own about plans: what is an error, what a word means and how a rate is written are spm's.

Surface:
- ``VERSION``: spmlang's version, which the server reports to the editor.
- ``ast``: the syntax tree's node classes; ``Span``, ``Diagnostic``, ``PlanError``, ``InputError``.
- ``parse(text, path)`` and ``check(tree)``: exactly what ``spm check`` runs (raise ``PlanError``).
- ``recover_tree(text, path)``: a syntax tree of what parses in a file with syntax errors.
- ``accepted_words(prefix)``: which keywords (and whether a name) may come next after ``prefix``.
- ``test_case_diagnostics(test, checked, path, text)``: what ``spm check`` says of a test block.
- ``code_part(line)``: a line's code, strings blanked, its comment cut (as the grammar reads it).
- ``format_plan(text, path)``, ``expression_text(node)``, ``literal_text(node)``: spm fmt's layout.
- ``format_percent``, ``format_money``: rates and amounts as the ledger writes them.
- ``pays_what``, ``rule_sentence``, ``rule_table``, ``modifiers``: a component in words (as a notebook shows it).
- the checked plan's classes (``RateRule`` ...) and ``WORDS``: the words each setting takes.
"""

from __future__ import annotations

from spmlang.check import check_plan
from spmlang.check.types import FUNCTIONS
from spmlang.check.words import (
    BASIS_TEXT,
    BASIS_WORDS,
    CLAWBACK_WORDS,
    CURVE_EXTENDS,
    FREQUENCY_WORDS,
    MEASURE_WORDS,
    PER_WORDS,
    ROLE_WORDS,
    TIER_MODES,
    TYPE_ALIASES,
)
from spmlang.diagnostics import Diagnostic, InputError, PlanError, Span  # noqa: F401 - re-exported for the server
from spmlang.ir.expressions import COLUMN_TYPES, Const, Type  # noqa: F401 - re-exported for the server
from spmlang.ir.kinds import LineKind, MeasureBasis, RateKind, Role, TierMode  # noqa: F401 - the kinds hover names
from spmlang.ir.plan import (  # noqa: F401 - re-exported for the server
    POLICY_ACTIONS,
    POLICY_SUBJECTS,
    CheckedPlan,
    ComponentSpec,
    CurveRule,
    PayOnceRule,
    PayPerRowRule,
    RateRule,
    TierRule,
)
from spmlang.report.rules import modifiers, pays_what, rule_sentence, rule_table  # noqa: F401 - for the server
from spmlang.syntax import ast  # noqa: F401 - re-exported for the server
from spmlang.syntax import parse as _parse
from spmlang.syntax.canonical import expression as _expression
from spmlang.syntax.canonical import literal as _literal
from spmlang.syntax.format import format_source
from spmlang.syntax.lexical import code_part
from spmlang.syntax.parser import MAX_PLAN_CHARS
from spmlang.syntax.words import CAP_SCOPES
from spmlang.version import __version__ as VERSION  # noqa: F401, N812 - the server's version

TEST_SUFFIX = ".test.spm"

# The words each setting takes, as the checker reads them (the first of each list is the usual one).
WORDS: dict[str, tuple[str, ...]] = {
    "payout": tuple(dict.fromkeys(FREQUENCY_WORDS.values())),
    "measure": tuple(dict.fromkeys(MEASURE_WORDS.values())),
    "attainment basis": ("annual", "period", "quota_to_date"),
    "clawback": tuple(CLAWBACK_WORDS),
    "column type": tuple(COLUMN_TYPES),
    "policy subject": tuple(POLICY_SUBJECTS),
    "policy action": tuple(POLICY_ACTIONS),
    "tier mode": TIER_MODES,
    "basis": tuple(BASIS_TEXT),
    "extend": CURVE_EXTENDS,
    "role": tuple(dict.fromkeys(ROLE_WORDS.values())),
    "cap per": ("row", "period", "year"),
    "table per": ("period", "year"),
    "rounding": ("cumulative",),
    "function": tuple(FUNCTIONS),
}
# Other spellings the checker also takes (`payout quarter`, `column x string`): words of the language too.
ALIASES: tuple[str, ...] = (
    *FREQUENCY_WORDS,
    *MEASURE_WORDS,
    *BASIS_WORDS,
    *TYPE_ALIASES,
    *CAP_SCOPES,
    *PER_WORDS,
    *ROLE_WORDS,
)
FUNCTION_ARGUMENTS: dict[str, str] = dict(FUNCTIONS)


def parse(text: str, path: str) -> ast.PlanFile:
    return _parse(text, path)


def check(tree: ast.PlanFile) -> CheckedPlan:
    return check_plan(tree)


def format_plan(text: str, path: str) -> str:
    return format_source(text, path)


def expression_text(node) -> str:
    return _expression(node)


def literal_text(node) -> str:
    return _literal(node)


def format_percent(value) -> str:
    from spmlang.figures import format_percent as percent

    return percent(value)


def format_money(value) -> str:
    from spmlang.figures import format_money as money

    return money(value)


# ---------------------------------------------------------------------- a tree from a broken file

_MAX_ROUNDS = 40


def recover_tree(text: str, path: str) -> ast.PlanFile | None:
    """The syntax tree of what parses: each statement lark stops at is blanked (its whole block when it opens
    one, as spm's own parser does to report every error), and braces a half-typed block leaves open are closed
    at the end. Positions stay those of ``text``. None if nothing can be made of it."""
    from lark import UnexpectedInput

    from spmlang.syntax.parser import blank_statement, grammar_parser, too_deep
    from spmlang.syntax.transformer import ToAst

    if len(text) > MAX_PLAN_CHARS:
        return None
    working = text
    for _ in range(_MAX_ROUNDS):
        try:
            tree = grammar_parser().parse(working)
        except UnexpectedInput as error:
            line = getattr(error, "line", -1)
            token = getattr(error, "token", None)
            at_end = token is not None and token.type == "$END" or line < 1
            if at_end:
                missing = _open_braces(working)
                if missing <= 0:
                    return None
                working += "\n" + "}" * missing
                continue
            blanked, _lines = blank_statement(working, line)
            if blanked == working:
                return None
            working = blanked
            continue
        if too_deep(tree, path):
            return None
        items = ToAst(path).transform(tree)
        return ast.PlanFile(path=path, source=text, items=tuple(items))
    return None


def _open_braces(text: str) -> int:
    """How many `{` are left open, outside strings and comments."""
    codes = [code_part(line) for line in text.split("\n")]
    return sum(code.count("{") - code.count("}") for code in codes)


def accepted_words(prefix: str) -> tuple[set[str], bool] | None:
    """After ``prefix`` (the file up to where a word is being typed): the keywords the grammar accepts there,
    and whether it accepts a name. None if the prefix itself does not parse."""
    from lark import UnexpectedInput

    from spmlang.syntax.parser import grammar_parser

    parser = grammar_parser()
    try:
        interactive = parser.parse_interactive(prefix)
        interactive.exhaust_lexer()
        accepted = interactive.accepts()
    except UnexpectedInput:
        return None
    words = set()
    for name in accepted:
        if name in ("TRUE", "FALSE"):
            words.add(name.lower())
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str" and pattern.value.isidentifier():
            words.add(pattern.value)
    return words, "NAME" in accepted


def grammar_keywords() -> set[str]:
    """Every keyword the grammar spells out (its word string literals, and true/false)."""
    from spmlang.syntax.parser import grammar_parser

    words = set()
    for terminal in grammar_parser().terminals:
        pattern = terminal.pattern
        if pattern.type == "str" and pattern.value.isidentifier():
            words.add(pattern.value)
    return words


# ---------------------------------------------------------------------- test files


def test_case_diagnostics(test: ast.TestBlock, checked: CheckedPlan, path: str) -> list[Diagnostic]:
    """What ``spm check`` finds wrong in one test block, as diagnostics (spm check prints them rendered)."""
    from spmlang.testing import cases

    case = cases.TestCase(str(test.name.value), path, test.span, None, "")
    return cases.case_diagnostics(case, test, checked)


def test_file_problem(tree: ast.PlanFile, plan_name: str, plan_exists: bool, path: str) -> Diagnostic | None:
    """E420 (a test file holds only tests) or E421 (no plan beside it), as ``spm check`` reports them."""
    others = [item for item in tree.items if not isinstance(item, ast.TestBlock)]
    if others:
        return Diagnostic("E420", f"a test file holds only test blocks; the plan is {plan_name}", others[0].span)
    if not plan_exists:
        return Diagnostic(
            "E421",
            f"no plan {plan_name} beside this test file",
            Span(path, 1, 1, 1, 2),
            "name a test file after its plan: plan.spm and plan.test.spm",
        )
    return None
