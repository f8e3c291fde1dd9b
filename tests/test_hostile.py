"""Hostile or broken plans: a diagnostic with a position every time, quickly; limits instead of hangs;
a plan is data and cannot reach outside its folder.

One file though long: every test is a separate attack, short and standing alone."""

from __future__ import annotations

import os
import re
import sys
import time
from decimal import Decimal

import pytest
from conftest import ROOT, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spmlang

PLANS = [p.read_text() for p in sorted((ROOT / "examples" / "plans").glob("*.spm")) if ".test." not in p.name]
TOKEN = re.compile(r'"[^"\n]*"|\$[\d,.]+|\d[\w.%]*|[A-Za-z_]\w*|\.\.|->|==|!=|<=|>=|\S')


def check_quietly(text: str) -> None:
    """Parse and check: fine, or a PlanError whose every diagnostic has a position; fast (a second, and a second
    more for each 50,000 characters: a mutant nested 5,000 deep is a long line)."""
    started = time.perf_counter()
    try:
        spmlang.loads(text, "fuzz.spm")
    except spmlang.PlanError as error:
        assert error.diagnostics
        assert all(d.span is not None and d.span.line >= 1 for d in error.diagnostics)
        error.render()
    assert time.perf_counter() - started < 1.0 + len(text) / 50_000


NESTINGS = {  # a token t nested k levels deep
    "parentheses": lambda t, k: "(" * k + t + (" + " + t + ")") * k,
    "if": lambda t, k: "if true then " * k + t + (" else " + t) * k,
    "else if": lambda t, k: ("if true then " + t + " else ") * k + t,
    "not": lambda t, k: "not " * k + t,
    "minus": lambda t, k: "-" * k + t,
    "max": lambda t, k: "max(" * k + t + (", " + t + ")") * k,
}
HUGE = [
    "$" + "9" * 20,
    "9" * 40,
    "9" * 20 + "%",
    "$10,000,000,000,000",
    "-$" + "9" * 16,
    "1" + "0" * 25 + "x",
    "0.000000001%",
    "$0.0000001",
]
TEXTS = [
    'replace(product, "", "x")',
    'replace(stage, "", "")',
    'replace(stage, "a", "' + "a" * 40 + '")',
    "upper(upper(upper(stage)))",
    '""',
    '"' + "x" * 5000 + '"',
]


OPERATIONS = ("drop", "double", "swap", "replace", "nest", "huge", "text")


@st.composite
def mutated(draw, plans=tuple(PLANS), operations=OPERATIONS) -> str:
    text = draw(st.sampled_from(plans))
    tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    for _ in range(draw(st.integers(1, 4))):
        start, end = tokens[draw(st.integers(0, len(tokens) - 1))]
        operation = draw(st.sampled_from(operations))
        if operation == "drop":
            text = text[:start] + text[end:]
        elif operation == "double":
            text = text[:end] + " " + text[start:end] + text[end:]
        elif operation == "swap":
            other_start, other_end = tokens[draw(st.integers(0, len(tokens) - 1))]
            text = text[:start] + text[other_start:other_end] + text[end:]
        elif operation == "nest":  # a literal, most likely in an expression
            literals = [(a, b) for a, b in tokens if text[a] in '0123456789$"'] or tokens
            start, end = literals[draw(st.integers(0, len(literals) - 1))]
            nest = NESTINGS[draw(st.sampled_from(sorted(NESTINGS)))]
            depth = draw(st.sampled_from([2, 150, 199, 201, 600, 5_000]))
            text = text[:start] + nest(text[start:end], depth) + text[end:]
        else:
            choices = {"huge": HUGE, "text": TEXTS}.get(
                operation, ["{", "}", "(", "..", "%", "$", "x", "rate", "\n", '"']
            )
            text = text[:start] + draw(st.sampled_from(choices)) + text[end:]
        tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
    return text


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_plans_give_diagnostics_not_crashes(text):
    check_quietly(text)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(operations=("nest",)))
def test_deeply_nested_mutants_give_diagnostics_not_crashes(text):
    check_quietly(text)


AE = (ROOT / "examples/plans/account_executive.spm").read_text()
AE_DATA = {
    "deals": ROOT / "examples/data/ae_deals.csv",
    "quotas": ROOT / "examples/data/ae_quotas.csv",
    "targets": ROOT / "examples/data/ae_targets.csv",
}
DATA = ROOT / "examples" / "data"
EXAMPLES = {  # each example plan, and the data it runs over
    "account_executive": AE_DATA,
    "sdr": {"deals": DATA / "sdr_activities.csv", "quotas": DATA / "sdr_quotas.csv"},
    "crm_agents": {
        "deals": DATA / "crm/sales_pipeline.csv",
        "quotas": DATA / "crm/quotas.csv",
        "roster": DATA / "crm/sales_teams.csv",
        "tables": {"products": DATA / "crm/products.csv"},
    },
}


@st.composite
def example_mutants(draw) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    text = draw(mutated(plans=((ROOT / "examples/plans" / f"{name}.spm").read_text(),)))
    return text, EXAMPLES[name]


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example_mutants())
def test_mutants_that_check_run_to_a_result_or_a_clean_error(mutant):
    """A mutant of an example plan that passes the check runs over the example's data to a ledger and a
    summary, or to spm's own error: never an exception of Python, numpy or Arrow, nor a numpy warning. Huge
    numbers included: an amount too large to hold is an error (E312 at check, E511 in the run)."""
    import warnings

    from hypothesis import event

    text, data = mutant
    try:
        plan = spmlang.loads(text, "fuzz.spm")
    except spmlang.PlanError:
        event("plan error")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            result = plan.run(**data, workers=1)
            result.summary()
            _ = result.ledger
            event("ran")
        except spmlang.SpmError as error:
            event(f"spm error {getattr(error, 'code', type(error).__name__)}")


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.sampled_from(list('plan"{}()[]$%.,:;#-+*/<>=!x 0123456789\n\tratequotas')), max_size=300))
def test_random_text_gives_diagnostics_not_crashes(text):
    check_quietly(text)


BASE = (ROOT / "examples/plans/account_executive.spm").read_text()


def test_a_very_long_expression_is_an_error_not_a_crash():
    text = BASE.replace("credit amount", "credit " + " + ".join(["amount"] * 5000))
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(text)
    credit_line = next(i for i, line in enumerate(BASE.splitlines(), 1) if line.strip().startswith("credit"))
    assert [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics] == [("E309", credit_line, 10)]


def test_deep_nesting_is_an_error():
    text = BASE.replace("credit amount", "credit " + " + ".join(["amount"] * 250))
    with pytest.raises(spmlang.PlanError, match="nested more than 200 levels"):
        spmlang.loads(text)


# Statements with an expression nested `depth` levels deep.
DEEP = {
    "nested-if": (lambda n: "credit " + "if amount > $1 then " * n + "amount" + " else amount" * n),
    "else-if-chain": (lambda n: "credit " + "if amount > $1 then amount else " * n + "amount"),
    "parentheses": (lambda n: "rate 0% + " + "(0% + " * n + "8%" + ")" * n),
    "and-chain": (lambda n: "where big: " + " and ".join(["amount > $0"] * n)),
    "not-not": (lambda n: "where big: " + "not " * (n - n % 2) + "amount > $0"),
    "max-of-max": (lambda n: "rate " + "max(0%, " * n + "8%" + ")" * n),
}
DEEP_PLAN = """plan "Deep" {
  year starts 2027-01-01
  payout quarterly
}

transactions {
  column id     text
  column rep    text
  column day    date
  column amount money

  key   id
  date  day
  payee rep
  credit amount
  where big: amount > $0
}

component commission {
  rate 8%
}

test "a deal earns 8%" {
  transactions {
    columns id rep day amount
    rows {
      d1 ann 2027-01-05 $1,000
    }
  }
  expect payout ann == $80
}
"""


def deep_plan(shape: str, depth: int) -> tuple[str, int]:
    statement = DEEP[shape](depth)
    lines = DEEP_PLAN.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.split()[:1] == statement.split()[:1])
    lines[line - 1] = "  " + statement
    return "\n".join(lines) + "\n", line


def test_deep_nesting_is_a_located_error_in_every_command(tmp_path, spm):
    """Nested `if`, `else if` chains, parentheses ... past the limit: check, fmt and test each say where (exit 1),
    never a traceback (they used to exhaust Python's recursion at depth ~490 in the parser)."""
    expected = {}
    for shape in DEEP:
        for depth in (490, 600, 5_000):
            path = tmp_path / f"{shape}-{depth}.spm"
            text, line = deep_plan(shape, depth)
            path.write_text(text)
            expected[path.name] = line
    for command in (["check", *sorted(tmp_path.glob("*.spm"))], ["fmt", "--check", tmp_path], ["test", tmp_path]):
        result = spm(*command)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output[-2000:]
        assert "Traceback" not in output and "internal error" not in output
        for name, line in expected.items():
            assert re.search(
                rf"{re.escape(name)}:{line}:\d+: error\[E309\]: expression nested more than 200 levels "
                "deep",
                output,
            ), (command[0], name)


def test_nesting_below_the_limit_is_checked_formatted_tested_and_run(tmp_path, spm):
    from spmlang.syntax.format import format_source

    for shape in DEEP:
        text, _ = deep_plan(shape, 150)
        (tmp_path / f"{shape}.spm").write_text(format_source(text))
    assert spm("check", *sorted(tmp_path.glob("*.spm"))).returncode == 0
    assert spm("fmt", "--check", tmp_path).returncode == 0
    tested = spm("test", tmp_path)
    assert tested.returncode == 0 and f"{len(DEEP)} passed" in tested.stdout, tested.stdout


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_the_deepest_expression_allowed_is_checked_run_explained_and_formatted_with_room_to_spare():
    """The limit is 200 levels: the checker, the engine, explain and the formatter recurse that deep in fewer
    than 500 frames, half of Python's default limit."""
    import datetime as dt

    import pyarrow as pa

    from spmlang.syntax import parse
    from spmlang.syntax.format import format_source, strip_positions

    deepest = {
        "nested-if": 199,
        "else-if-chain": 199,
        "parentheses": 199,
        "and-chain": 200,
        "not-not": 198,
        "max-of-max": 200,
    }  # the operands of the deepest `if`, `+`, `not` are one level further down
    deals = pa.table({"id": ["d1"], "rep": ["ann"], "day": [dt.date(2027, 1, 5)], "amount": [1000.0]})
    spmlang.loads(deep_plan("max-of-max", 2)[0]).run(deals, workers=1).explain("ann")  # imports done
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 500)
    try:
        for shape, depth in deepest.items():
            with pytest.raises(spmlang.PlanError, match="nested more than 200 levels"):
                spmlang.loads(deep_plan(shape, depth + 2)[0])
            text = deep_plan(shape, depth)[0]
            result = spmlang.loads(text, "deep.spm").run(deals, workers=1)
            assert result.totals().column("amount").to_pylist() == [Decimal(80)], shape
            assert "d1" in str(result.explain("ann"))
            assert strip_positions(parse(format_source(text))) == strip_positions(parse(text))
    finally:
        sys.setrecursionlimit(limit)


def test_a_million_tiers_is_stopped_before_parsing():
    tiers = "".join(f"    ${i * 10} .. ${(i + 1) * 10} rate 1%\n" for i in range(1_000_000))
    text = BASE.replace("    0%   .. 50%  0.5x  # 4% until half of quota\n", tiers)
    started = time.perf_counter()
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(text)
    assert caught.value.diagnostics[0].code == "E110"
    assert time.perf_counter() - started < 1.0


def test_too_many_tiers_and_inline_rows_are_errors():
    tiers = (
        "component t {\n  tiers marginal on credit {\n"
        + "".join(f"    ${i * 10} .. ${(i + 1) * 10} rate 1%\n" for i in range(1_001))
        + "    $20,000 .. rate 1%\n  }\n}\n"
    )
    with pytest.raises(spmlang.PlanError, match="at most 1,000"):
        spmlang.loads(BASE + tiers)
    rows = (
        "table big {\n  column k text\n  column v number\n  key k\n  rows {\n"
        + "".join(f"    k{i} {i}\n" for i in range(10_001))
        + "  }\n}\n"
    )
    with pytest.raises(spmlang.PlanError, match="a plan holds at most 10,000") as caught:
        spmlang.loads(BASE + rows)
    assert "put the rows in a data file" in caught.value.diagnostics[0].hint


def test_a_1_gb_plan_file_is_refused_without_reading_it(tmp_path, spm):
    plan = tmp_path / "huge.spm"
    with plan.open("wb") as handle:  # a sparse file: a gigabyte long, no disk used
        handle.truncate(1 << 30)
    started = time.perf_counter()
    result = spm("check", plan)
    assert result.returncode == 1 and "error[E110]" in result.stderr and "1,073,741,824" in result.stderr
    assert time.perf_counter() - started < 10


def test_there_is_nothing_to_recurse_a_name_cannot_refer_to_itself():
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(BASE.replace("credit amount", "credit credit"))
    assert caught.value.diagnostics[0].code == "E201" and "unknown name 'credit'" in caught.value.diagnostics[0].message


@pytest.mark.parametrize("named", ["../secret.csv", "/etc/passwd", "link/secret.csv"])
def test_a_plan_cannot_read_outside_its_folder(tmp_path, spm, named):
    folder = tmp_path / "plans"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text(
        "deal_id,owner,close_date,stage,deal_type,amount,term_months\nS1,x,2027-01-01,Closed Won,new_logo,1,12\n"
    )
    os.symlink(tmp_path, folder / "link")
    plan = folder / "p.spm"
    plan.write_text(BASE.replace("transactions {", f'transactions {{\n  file "{named}"'))
    result = spm(
        "run",
        plan,
        "--quotas",
        ROOT / "examples/data/ae_quotas.csv",
        "--targets",
        ROOT / "examples/data/ae_targets.csv",
    )
    assert result.returncode == 2
    assert "outside the plan's folder" in result.stderr and "--allow-outside-paths" in result.stderr
    if named != "/etc/passwd":
        allowed = spm(
            "run",
            plan,
            "--quotas",
            ROOT / "examples/data/ae_quotas.csv",
            "--targets",
            ROOT / "examples/data/ae_targets.csv",
            "--allow-outside-paths",
        )
        assert allowed.returncode == 0, allowed.stderr


def test_a_plan_has_no_way_to_run_code():
    """No statement of the language runs, imports or opens anything: strings are data, functions a fixed list."""
    grammar = (ROOT / "grammar" / "spm.lark").read_text()
    for word in ("import", "exec", "eval", "shell", "python", "include"):
        assert f'"{word}"' not in grammar
    text = BASE.replace("credit amount", 'credit __import__("os")')
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads(text)
    assert caught.value.diagnostics[0].code == "E205"  # unknown function


TEXT_PLAN = DEEP_PLAN.replace("  column amount money\n", "  column amount money\n  column product text\n")


def test_replacing_an_empty_text_is_refused_by_check_before_it_can_ask_for_memory(tmp_path, spm):
    """It used to pass `spm check`, then ask for 34 GB on a three-row file."""
    plan = tmp_path / "empty.spm"
    plan.write_text(TEXT_PLAN.replace("where big: amount > $0", 'where big: replace(product, "", "x") != "GTX"'))
    result = spm("check", plan)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "empty.spm:17:31: error[E303]: replace(): the text to find is empty" in result.stderr


def test_a_text_function_is_bounded_at_run_time_too():
    """Whatever reaches the engine, a replace or upper that could grow a text past the bound stops, naming its
    clause, before any text is made."""
    import numpy as np
    import pyarrow as pa

    from spmlang.diagnostics import Span
    from spmlang.engine.expressions.evaluate import evaluate
    from spmlang.engine.expressions.values import Frame, Vec
    from spmlang.ir import expressions as ir
    from spmlang.ir.expressions import Type

    span = Span("plan.spm", 17, 9, 17, 40)
    product = ir.Column("product", Type.TEXT, span)

    def replace(value, find, put):
        return ir.Function(
            "replace", (value, ir.Const(find, Type.TEXT, span), ir.Const(put, Type.TEXT, span)), Type.TEXT, span
        )

    frame = Frame(3, {"product": Vec(pa.array(["GTX Pro", "MG", "GTX Basic"]), np.ones(3, bool), Type.TEXT)})
    fine = evaluate(replace(replace(product, "G", "GGGG"), "X", "XXXX"), frame)
    assert fine.values.to_pylist()[1] == "MGGGG"
    for node, code in (
        (replace(replace(product, "G", "GGGGG"), "X", "XXXX"), "E306"),
        (
            ir.Function(
                "upper", (ir.Function("upper", (replace(product, "G", "GG"),), Type.TEXT, span),), Type.TEXT, span
            ),
            "E306",
        ),
        (replace(product, "", "x"), "E303"),
    ):
        with pytest.raises(spmlang.PlanError) as caught:
            evaluate(node, frame)
        assert [(d.code, str(d.span)) for d in caught.value.diagnostics] == [(code, "plan.spm:17:9")]


@st.composite
def text_expressions(draw, depth=3) -> tuple[str, list[str]]:
    """A text expression of `product` and literals, and the literals it reads as values."""
    words = st.text(alphabet="aeß ΐ-", max_size=4)
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            return "product", []
        word = draw(words)
        return f'"{word}"', [word]
    inner, read = draw(text_expressions(depth - 1))
    kind = draw(st.sampled_from(["replace", "upper", "lower", "trim", "coalesce", "if"]))
    if kind == "replace":
        return f'replace({inner}, "{draw(words)}", "{draw(st.text(alphabet="aeß ΐ-", max_size=12))}")', read
    if kind in ("upper", "lower", "trim"):
        return f"{kind}({inner})", read
    other, more = draw(text_expressions(depth - 1))
    if kind == "coalesce":
        return f"coalesce({inner}, {other})", read + more
    return f"if amount > $5 then {inner} else {other}", read + more


@settings(max_examples=examples(200), deadline=None)
@given(text_expressions(), st.lists(st.text(alphabet="aeß ΐ-GTX", max_size=20), min_size=1, max_size=5))
def test_a_text_that_passes_the_check_stays_within_the_bound(expression, products):
    """The check's bound holds for what the engine makes: never more than 16 times the longest text read."""
    import numpy as np
    import pyarrow as pa

    from spmlang.engine.expressions.evaluate import evaluate
    from spmlang.engine.expressions.values import Frame, Vec
    from spmlang.ir.expressions import Type
    from spmlang.ir.text_growth import MAX_TEXT_GROWTH

    text, literals = expression
    try:
        plan = spmlang.loads(TEXT_PLAN.replace("where big: amount > $0", f'where big: ({text}) != "GTX"'))
    except spmlang.PlanError as error:
        assert {d.code for d in error.diagnostics} <= {"E303", "E306"}, error.render()
        return
    n = len(products)
    frame = Frame(
        n,
        {
            "product": Vec(pa.array(products), np.ones(n, bool), Type.TEXT),
            "amount": Vec(np.arange(n, dtype=np.int64) * 4_000_000, True, Type.MONEY),
        },
    )
    made = evaluate(plan.checked.transactions.filters[0].expr.left, frame)
    values = made.values
    values = (
        values.to_pylist()
        if isinstance(values, (pa.Array, pa.ChunkedArray))
        else [values.as_py() if isinstance(values, pa.Scalar) else values]
    )
    longest_read = max(len(t.encode()) for t in products + literals)
    assert max(len((v or "").encode()) for v in values) <= MAX_TEXT_GROWTH * max(longest_read, 1)


GOLDEN_ERRORS = ROOT / "tests" / "golden" / "errors"


def _hint(name: str) -> str:
    with pytest.raises(spmlang.PlanError) as caught:
        spmlang.loads((GOLDEN_ERRORS / name).read_text(), name)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E100"
    return diagnostic.hint


def _quoted(hint: str) -> list[str]:
    return re.findall(r"`([^`]+)`", hint)


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("E100-pay-per-row-when.spm", '  pay $500 per deal when stage == "won"'),
        ("E100-pay-per-row-when-attainment.spm", "  pay $500 per deal when attainment >= 100%"),
        ("E100-cap-per-payee.spm", "  cap $15,000 per year per agent"),
    ],
)
def test_the_hint_of_a_likely_intent_is_a_plan_that_checks(name, wrong):
    """What the hint says to write (a filter, a gate, one scope fewer) checks, and keeps the rest of the line."""
    text = (GOLDEN_ERRORS / name).read_text()
    quoted = _quoted(_hint(name))
    if "leave out" in _hint(name):
        fixed = text.replace(wrong, wrong.replace(" " + quoted[-1], ""))
    else:
        statement = quoted[-1]
        fixed = text.replace(wrong, wrong.split(" when ")[0] + "\n  " + statement)
        assert statement.split(" ", 1)[1] == wrong.split(" when ")[1]
    spmlang.loads(fixed, name)


def test_the_hint_for_a_rate_of_a_column_pays_the_same_both_ways():
    """`rate 6% of close_value`: making close_value the credit, or paying `close_value * share * 6%` by row, pay
    the same, split deals included."""
    import datetime as dt

    import pyarrow as pa

    name = "E100-rate-of-a-column.spm"
    credit, pay = [q for q in _quoted(_hint(name)) if q.startswith(("credit", "pay"))]
    text = (GOLDEN_ERRORS / name).read_text()
    text = text.replace("  payee  rep\n", "  payee  rep share 60%\n  payee  rep2 share 40%\n")
    text = text.replace("  column rep    text\n", "  column rep    text\n  column rep2   text\n")
    as_credit = spmlang.loads(
        text.replace("  credit amount", "  " + credit).replace("rate 6% of close_value", "rate 6%")
    )
    by_row = spmlang.loads(text.replace("  rate 6% of close_value", "  " + pay))
    deals = pa.table(
        {
            "id": ["d1", "d2"],
            "rep": ["ann", "ann"],
            "rep2": ["bob", None],
            "day": [dt.date(2027, 1, 5), dt.date(2027, 2, 5)],
            "stage": ["won", "won"],
            "amount": [10.0, 10.0],
            "close_value": [1234.56, 999.99],
        }
    )

    def paid(plan):
        totals = plan.run(deals, workers=1).totals()
        return sorted(zip(totals.column("payee").to_pylist(), totals.column("amount").to_pylist(), strict=True))

    assert paid(as_credit) == paid(by_row) == [("ann", Decimal("44.44")), ("bob", Decimal("29.63"))]
