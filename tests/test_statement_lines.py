"""Statements made column by column (spmlang/report/statement_lines.py) against statements made line by line.

The reference is the way statements were made before: from each payee's calculation trail (`explain`), a line
at a time, their pages rendered by spm's template with a loop over the lines in place of `lines.html`, their
CSV written by csv.writer a row at a time. Every field, page and file must be the same, byte for byte.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import functools
import io
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import spmlang
from spmlang.engine.pay.lines import KINDS
from spmlang.figures import CENT
from spmlang.ir.kinds import GUARANTEE_KINDS
from spmlang.report.explain import explain
from spmlang.report.render.html import Templates
from spmlang.report.statements import ADJUSTMENT_KINDS, KIND_WORDS
from spmlang.spreadsheet import spreadsheet_text
from tests.helpers import DATA, SCENARIOS

# spm's statement.html with its lines made as they were before: a loop over the lines, one at a time.
LINES_LOOP = """{%- for line in lines %}
<tr class="main"><td class="key">{{ line.date }}</td><td class="key">{{ line.txn or "—" }}</td>
<td class="num">{{ line.credit | money }}</td><td class="num">{{ line.amount | money }}</td></tr>
<tr class="why"><td colspan="4"><b>{{ line.component }}{% if line.kind != "earning" %} ({{ line.kind }}){% endif %}</b>:
{{ line.words }} <span class="clause">{{ line.clause }}</span></td></tr>
{%- endfor %}
"""


@functools.cache
def loop_templates() -> Templates:
    """A folder with spm's statement.html, its lines made by LINES_LOOP."""
    page = (Path(spmlang.__file__).parent / "report" / "render" / "templates" / "statement.html").read_text()
    made = re.sub(r"\{#- Each line as two rows.*?-#\}\n\{\{ lines\.html \}\}", lambda _: LINES_LOOP, page, flags=re.S)
    assert made != page, "spm's statement.html shows its lines with {{ lines.html }}"
    folder = Path(tempfile.mkdtemp(prefix="spm-lines-loop-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "statement.html").write_text(made)
    return Templates(folder)


EXAMPLES = Path(__file__).parent.parent / "examples"
D = dt.date


def trail_statement_figures(result) -> list[tuple]:
    """(payee, period, payout, year to date, components, earnings, adjustments, owed) of every statement, from
    the calculation trail a line at a time."""
    payout = result.payout
    earlier = payout.run.cycle.earlier
    made = []
    for payee in sorted(set(result.ledger.column("payee").to_pylist())):
        code = payout.run.payees.code[payee]
        trail = explain(payout, result.ledger, payee)
        paid_before = int(earlier.amount[earlier.payee == code].sum()) if earlier is not None else 0
        ytd = (Decimal(paid_before) / 1_000_000).quantize(CENT)
        by_component: dict[str, Decimal] = {}  # year to date: what the earlier ledgers paid first
        for i in np.flatnonzero(earlier.payee == code).tolist() if earlier is not None else []:
            kind, component = KINDS[int(earlier.kind[i])], int(earlier.component[i])
            if kind != "fx":
                name = payout.run.component_names[component] if component >= 0 else None
                name = name or ("draws and floor" if kind in GUARANTEE_KINDS else "(none)")
                by_component[name] = by_component.get(name, Decimal("0.00")) + Decimal(int(earlier.amount[i])) / 10**6
        for period in trail.periods:
            for name, amount in period.by_component.items():
                by_component[name] = by_component.get(name, Decimal("0.00")) + amount
            ytd = period.year_to_date
            shown = [
                (
                    t.date or "",
                    t.txn or "",
                    t.component or "",
                    KIND_WORDS.get(t.kind, t.kind),
                    t.credit,
                    t.amount,
                    t.explanation + (f" (credit converted from {t.converted})" if t.converted else ""),
                    t.clause,
                )
                for t in period.lines
                if t.kind != "fx"
            ]
            earnings = [line for line in shown if line[3] not in [KIND_WORDS[k] for k in ADJUSTMENT_KINDS]]
            adjustments = [line for line in shown if line not in earnings]
            components = [(n, period.by_component.get(n, Decimal("0.00")), y) for n, y in by_component.items()]
            made.append((payee, period.period, period.total, ytd, components, earnings, adjustments))
    return made


def line_by_line_csv(statement) -> str:
    """A statement's CSV as csv.writer wrote it, a row at a time (its head and foot are the statement's own)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for section, lines in (("earning", statement.earnings), ("adjustment", statement.adjustments)):
        for line in lines:
            credit = "" if line.credit is None else str(line.credit)
            cells = [section, line.date, spreadsheet_text(line.txn), spreadsheet_text(line.component), line.kind]
            cells += [credit, str(line.amount), spreadsheet_text(line.words), spreadsheet_text(line.clause)]
            writer.writerow(cells)
    return buffer.getvalue()


def assert_as_line_by_line(result) -> int:
    """Every statement of ``result`` the same as made line by line; how many there are."""
    statements = result.statements()
    reference = trail_statement_figures(result)
    assert len(statements) == len(reference)
    for statement, (payee, period, total, ytd, components, earnings, adjustments) in zip(
        statements, reference, strict=True
    ):
        assert (statement.payee, statement.period, statement.payout) == (payee, period, total)
        assert statement.year_to_date == ytd
        assert statement.components == components
        assert [tuple(vars(line).values()) for line in statement.earnings] == earnings
        assert [tuple(vars(line).values()) for line in statement.adjustments] == adjustments
        assert statement.earned == sum((line[5] for line in earnings), Decimal("0.00"))
        assert statement.adjusted == sum((line[5] for line in adjustments), Decimal("0.00"))
        assert statement.to_html() == statement.to_html(loop_templates())
        head, _, rest = statement.to_csv().partition("\n")
        assert rest.startswith(line_by_line_csv(statement))
    return len(statements)


def scenario(plan: str, deals: str | pa.Table, **tables: str):
    loaded = spmlang.load(SCENARIOS / f"{plan}.spm")
    data = deals if isinstance(deals, pa.Table) else DATA / deals
    return loaded.run(data, **{k: DATA / v for k, v in tables.items()})


RUNS = {
    "tiers and true-ups": lambda: scenario("s02a_marginal_ytd", "s02.csv"),
    "a kicker": lambda: scenario("s06_kicker", "s06.csv"),
    "a SPIF": lambda: scenario("s07_spif", "s07.csv"),
    "a cap": lambda: scenario("s08_period_cap", "s08.csv"),
    "splits and rollups": lambda: scenario("s09_split_rollup", "s09.csv"),
    "a gate": lambda: scenario("s10_gate", "s10.csv"),
    "a roster with dates": lambda: scenario("s15_mid_quarter_hire", "s15.csv"),
    "a transfer": lambda: scenario("s16_transfer", "s16.csv"),
    "currencies": lambda: scenario("s17_currencies", "s17.csv"),
    "dated versions": lambda: scenario("s18b_mid_quarter_change", "s18b.csv"),
    "a clawback": lambda: scenario(
        "s11a_clawback_as_paid",
        pa.table(
            {
                "id": ["L1", "L2"],
                "rep": ["lee", "lee"],
                "close_date": [D(2027, 2, 1), D(2027, 3, 1)],
                "amount": pa.array([40000, 30000], pa.decimal128(18, 2)),
                "cancel_date": [D(2027, 5, 3), None],
            }
        ),
    ),
    "a draw": lambda: scenario(
        "s12a_draw_recoverable",
        pa.table(
            {
                "id": ["J1", "F1", "M1"],
                "rep": ["rae"] * 3,
                "close_date": [D(2027, 1, 20), D(2027, 2, 18), D(2027, 3, 11)],
                "amount": pa.array([15000, 25000, 30000], pa.decimal128(18, 2)),
            }
        ),
    ),
    "the account executive example": lambda: spmlang.load(EXAMPLES / "plans" / "account_executive.spm").run(
        EXAMPLES / "data" / "ae_deals.csv",
        quotas=EXAMPLES / "data" / "ae_quotas.csv",
        targets=EXAMPLES / "data" / "ae_targets.csv",
    ),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_statements_are_the_lines_made_one_at_a_time(name):
    assert assert_as_line_by_line(RUNS[name]()) > 0


def test_a_run_against_an_earlier_ledger(tmp_path):
    """Adjustments of closed periods, holds, releases and draws carried from an earlier ledger."""
    plan = spmlang.load(EXAMPLES / "pay-cycle" / "plan.spm")
    first = plan.run(EXAMPLES / "pay-cycle" / "deals-Q1.csv", through="2027-Q1")
    first.write(tmp_path / "q1.parquet")
    second = plan.run(EXAMPLES / "pay-cycle" / "deals-Q2.csv", paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    kinds = set(second.ledger.column("kind").to_pylist())
    assert {"adjustment", "draw"} <= kinds  # what this test is for
    assert assert_as_line_by_line(second) > 0


def test_blocks_of_payees_make_the_same_statements(monkeypatch):
    """Statements made a few payees' lines at a time are those made all at once."""
    from spmlang.report import statement_lines

    result = RUNS["the account executive example"]()
    whole = [(s.to_html(), s.to_csv()) for s in result.statements()]
    monkeypatch.setattr(statement_lines, "BLOCK_LINES", 3)
    assert [(s.to_html(), s.to_csv()) for s in result.statements()] == whole


# Keys and amounts of any text: HTML escaping, CSV quoting, formulas in spreadsheets, thousands separators.
keys = st.text(alphabet=st.sampled_from(list("ab1١２-=+@<>&\"', \n\r\t.")), min_size=1, max_size=8).filter(
    lambda key: key.strip() != ""
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(keys, min_size=1, max_size=6, unique_by=lambda key: key.strip()),
    st.lists(st.integers(-(10**11), 10**11), min_size=6, max_size=6),
)
def test_any_key_and_amount_shows_as_line_by_line(deal_keys, cents):
    deals = pa.table(
        {
            "id": deal_keys,
            "rep": ["ann"] * len(deal_keys),
            "stage": ["won"] * len(deal_keys),
            "close_date": [D(2027, 1 + i, 5) for i in range(len(deal_keys))],
            "amount": pa.array([Decimal(c) / 100 for c in cents[: len(deal_keys)]], pa.decimal128(18, 2)),
        }
    )
    assert assert_as_line_by_line(scenario("s01_flat_rate", deals)) > 0


def s01_deals(rows: list[tuple[str, str, dt.date, int]]) -> pa.Table:
    return pa.table(
        {
            "id": [r[0] for r in rows],
            "rep": [r[1] for r in rows],
            "close_date": [r[2] for r in rows],
            "stage": ["won"] * len(rows),
            "amount": pa.array([Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
        }
    )


def test_a_payee_asked_for_without_lines_has_no_statement(tmp_path):
    """bob sold in Q1 alone: a Q2 run against the Q1 ledger has no line of his (his Q1 is closed)."""
    plan = spmlang.load(SCENARIOS / "s01_flat_rate.spm")
    q1 = s01_deals([("A1", "ann", D(2027, 2, 1), 1000), ("B1", "bob", D(2027, 2, 2), 2000)])
    plan.run(q1).write(tmp_path / "q1.parquet")
    q2 = pa.concat_tables([q1, s01_deals([("A2", "ann", D(2027, 5, 1), 3000)])])
    result = plan.run(q2, paid=[tmp_path / "q1.parquet"], through="2027-Q2")
    for asked in (["ann", "bob"], ["bob", "ann"], ["bob"]):
        assert [(s.payee, s.period) for s in result.statements(asked)] == [("ann", "2027-Q2")] * ("ann" in asked)
    written = result.write_statements(tmp_path / "out", ["ann", "bob"], charts=False)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "ann/2027-Q2.csv",
        "ann/2027-Q2.html",
        "index.html",
    ]


def test_a_statements_lines_as_python_values():
    """Lines add up as lists do, pickle, and lines given as records (replace) make the same page and CSV."""
    import pickle
    from dataclasses import replace

    [statement] = RUNS["a draw"]().statements(["rae"], ["2027-01"])
    lines = statement.earnings + statement.adjustments
    assert lines == [*statement.earnings, *statement.adjustments] and len(lines) == 2
    assert [] + statement.adjustments == list(statement.adjustments)
    again = pickle.loads(pickle.dumps(statement))
    assert (again.to_html(), again.to_csv()) == (statement.to_html(), statement.to_csv())
    given = replace(statement, earnings=list(statement.earnings), adjustments=list(statement.adjustments))
    assert (given.to_html(), given.to_csv()) == (statement.to_html(), statement.to_csv())
    assert (given.earned, given.adjusted) == (statement.earned, statement.adjusted)


def test_a_tiny_fx_rate_is_written_as_the_trail_writes_it(tmp_path):
    """A rate below a millionth: written out (0.0000001), never in E-notation."""
    plan = (SCENARIOS / "s17_currencies.spm").read_text().replace("2027-01-01 EUR 1.10", "2027-01-01 EUR 0.0000001")
    assert "0.0000001" in plan
    (tmp_path / "plan.spm").write_text(plan)
    result = spmlang.load(tmp_path / "plan.spm").run(DATA / "s17.csv")
    pages = "".join(s.to_html() + s.to_csv() for s in result.statements())
    assert "EUR at 0.0000001, the rate of" in pages and "E-" not in pages
    assert assert_as_line_by_line(result) > 0


ROLLUP_PLAN = """
plan "Rollups" {
  year starts 2027-01-01
  payout      quarterly
}

transactions {
  column id         text
  column rep        text
  column close_date date
  column amount     money
  key    id
  date   close_date
  payee  rep
  credit amount
  rollup to manager
}

component commission {
  rate 5%
}

component override {
  on rollup credit
  rate 1%
}
"""


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(keys, min_size=2, max_size=4, unique_by=lambda key: key.strip()),
    st.lists(st.integers(-(10**11), 10**11), min_size=3, max_size=3),
)
@example(["1234.5", '=1,"x', "١٢٣٤.٥"], [123456, -100, 0])
def test_any_payee_name_in_a_rollup_shows_as_line_by_line(names, cents):
    """A rollup line's explanation names whose credit it is ('rollup of 1,000.5"x's credit: ...'): a name
    with digits, points, commas, quotes or a formula's start reads as the line-by-line statement reads it."""
    reps, manager = names[:-1], names[-1]
    deals = pa.table(
        {
            "id": [f"D{i}" for i in range(len(reps))],
            "rep": reps,
            "close_date": [D(2027, 2 + i, 5) for i in range(len(reps))],
            "amount": pa.array([Decimal(c) / 100 for c in cents[: len(reps)]], pa.decimal128(18, 2)),
        }
    )
    roster = pa.table({"payee": reps, "manager": [manager] * len(reps)})
    result = spmlang.loads(ROLLUP_PLAN).run(deals, roster=roster)
    assert "rollup" in result.ledger.column("role").to_pylist()  # what this test is for
    assert assert_as_line_by_line(result) > 0


@pytest.mark.parametrize("name", ["tiers and true-ups", "splits and rollups", "a clawback"])
def test_statements_of_sentences_are_those_of_templates(monkeypatch, name):
    """Where a template's words touch its figures (no template spm writes), a statement is made of each
    line's sentence instead: the same statements."""
    from spmlang.report import line_texts

    made = [(s.to_html(), s.to_csv()) for s in RUNS[name]().statements()]
    monkeypatch.setattr(line_texts, "explanation_cells", lambda *columns: None)
    assert [(s.to_html(), s.to_csv()) for s in RUNS[name]().statements()] == made


def test_a_template_whose_words_touch_a_figure_is_not_made_by_pieces():
    """pretty('1234.50' + '5,000 more') reads one number across the two: such a template is left to sentences."""
    from spmlang.report.line_words import explanation_cells

    credit = pa.array(["1,234.50"], pa.large_string())
    exact = pa.array([Decimal("61.725")], pa.decimal128(18, 6))
    rollup = pa.array([None], pa.string())
    touching = ["{credit}5 at 5% = {exact}", "{credit} at 5% = {exact}.0", "{credit}{exact}", "x1{credit}"]
    touching.append("\U00011f50{credit}")  # a digit of Unicode 15 (Kawi): Arrow's regular expressions know it
    for template in touching:
        assert explanation_cells(pa.array([template]), credit, exact, rollup) is None, template
    html, cell = explanation_cells(pa.array(["{credit} at 5%, = {exact}"]), credit, exact, rollup)
    assert (html.to_pylist(), cell.to_pylist()) == (["1,234.50 at 5%, = 61.725"], ['"1,234.50 at 5%, = 61.725"'])
    # The words of a template read as the sentence's: with Arrow's digits, not only Python's.
    html, _ = explanation_cells(pa.array(["{credit} per \U00011f50234.5 deal = {exact}"]), credit, exact, rollup)
    assert html.to_pylist() == ["1,234.50 per \U00011f50,234.5 deal = 61.725"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(2**63) + 1, 2**63 - 1) | st.integers(-(10**9), 10**9), min_size=1, max_size=20))
def test_amounts_grouped_by_numbers_as_pretty_groups_their_text(units):
    from spmlang.engine.kernels import column_text as text

    values = np.array(units, np.int64)
    assert text.grouped_amount(values).to_pylist() == text.pretty(text.amount(values)).to_pylist()
    assert text.grouped_exact(values).to_pylist() == text.pretty(text.exact(values)).to_pylist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(10**14), 10**14) | st.integers(-1000, 1000), min_size=1, max_size=20))
def test_amounts_written_from_cents_as_decimals_cast_to_text(cents):
    """A statement's CSV writes a line's credit and amount from their cents, as Arrow writes the decimals."""
    from spmlang.engine.kernels import column_text as text

    decimals = pa.array([Decimal(c).scaleb(-2) for c in cents], pa.decimal128(18, 2))
    units = np.array(cents, np.int64) * 10_000
    assert text.amount(units).to_pylist() == decimals.cast(pa.string()).to_pylist()
