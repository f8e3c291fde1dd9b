"""Explanations stored as templates ('{credit} at 8% (0%–50%) = {exact}') and made sentences where read.

Two independent ways make every sentence: the engine joins it while paying (what a line's explanation resolves
to), and spmlang.report.explanations renders the ledger's stored template from the line's `credit` and `exact`
columns. They must agree on every line, to the character, and a parquet ledger must hold the templates.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import AE_ARGS, CRM_ARGS, SDR_ARGS, examples
from helpers import quarterly_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import plans
from test_differential import DrawnYear
from test_differential_dated import DrawnDatedYear
from test_examples import run_example

import spmlang
from spmlang.engine.kernels.templates import escaped
from spmlang.report.explanations import sentences
from spmlang.report.ledger import build_ledger


def engine_sentences(result) -> list[str]:
    """Each line's explanation as the engine joined it while paying."""
    return result.payout.whole().lines.explanation.resolve().to_pylist()


def stored(result) -> pa.Table:
    return build_ledger(result.payout, result.run_id)


@pytest.mark.parametrize("args", [AE_ARGS, SDR_ARGS, CRM_ARGS], ids=["ae", "sdr", "crm"])
def test_the_examples_sentences_are_the_engines_and_their_file_holds_templates(args, tmp_path):
    result = run_example(args)
    said = engine_sentences(result)
    assert result.ledger.column("explanation").to_pylist() == said
    path = result.write(tmp_path / "ledger.parquet")
    in_file = pq.read_table(path).column("explanation").to_pylist()
    # Most lines are a credit at a rate or a fixed amount per row: one of a few templates.
    templated = [text for text in in_file if text.endswith("{exact}")]
    assert len(templated) > 0.75 * len(in_file)
    assert len(set(templated)) < 50
    assert spmlang.read_ledger(path).column("explanation").to_pylist() == said
    assert spmlang.read_ledger(path, ["payee", "explanation"]).column_names == ["payee", "explanation"]


def test_a_sentence_renders_from_its_lines_columns():
    """'{credit} × 10% = {exact}' with credit 2000.00 and exact 200.000 reads as the engine writes it; a
    literal brace, doubled in the file, reads single."""
    stored_text = pa.array(["{credit} × 10% = {exact}", "payee {{ann}}: fallback", "no change", "{credit}{exact}"])
    credit = pa.array([Decimal("2000.00"), None, Decimal("-1.50"), Decimal("-0.50")], pa.decimal128(18, 2))
    exact = pa.array([Decimal("200.000000"), Decimal("0"), Decimal("0"), Decimal("-0.004000")], pa.decimal128(19, 6))
    assert sentences(stored_text, credit, exact, pa.nulls(4, pa.string())).to_pylist() == [
        "2000.00 × 10% = 200.00",
        "payee {ann}: fallback",
        "no change",
        "-0.50-0.004",
    ]


@given(st.lists(st.text(alphabet="{}credixat ×0%=", max_size=12), min_size=1, max_size=8))
def test_any_text_stored_escaped_reads_as_it_was(words):
    """Text with braces, even one that reads '{credit}', is stored with them doubled and read back as it was."""
    n = len(words)
    credit = pa.array([Decimal("1.00")] * n, pa.decimal128(18, 2))
    exact = pa.array([Decimal("1.000000")] * n, pa.decimal128(19, 6))
    assert (
        sentences(pa.array([escaped(w) for w in words]), credit, exact, pa.nulls(n, pa.string())).to_pylist() == words
    )


def test_braces_in_a_payees_name_and_a_rollup_survive_the_file(tmp_path):
    """A rollup line cites the rep by name, and names may hold braces: stored escaped, read back as written."""
    text = quarterly_plan(
        "Braces",
        "roster {\n  payee rep\n  manager boss\n}\n"
        "component commission {\n  rate 10%\n}\ncomponent override {\n  on rollup credit\n  rate 1%\n}\n",
    ).replace("  credit amount\n", "  credit amount\n  rollup to manager\n")
    plan = spmlang.loads(text, "plan.spm")
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount\nA,{ann},2027-02-01,1000.00\nB,{ann},2027-05-01,2500.50\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("rep,boss\n{ann},{boss}}\n{boss}},\n")
    result = plan.run(deals, roster=roster)
    said = engine_sentences(result)
    assert any("{ann}'s credit" in line for line in said)
    path = result.write(tmp_path / "ledger.parquet")
    assert spmlang.read_ledger(path).column("explanation").to_pylist() == said
    result.write(tmp_path / "sheet.csv")
    assert "{ann}'s credit" in (tmp_path / "sheet.csv").read_text()


def test_exact_is_what_the_rule_earned_and_amounts_round_it_cumulatively():
    """The `exact` column: a line's earning before rounding (its true-ups' included); each payee's amounts of a
    component are their running sum rounded to the cent (no cap in this plan)."""
    result = run_example(AE_ARGS)
    running: dict[tuple, Decimal] = {}
    paid: dict[tuple, Decimal] = {}
    lines = result.ledger.to_pylist()
    assert {line["kind"] for line in lines} == {"earning", "true_up", "spif"}
    for line in lines:
        key = (line["payee"], line["component"])
        running[key] = running.get(key, Decimal(0)) + line["exact"]
        paid[key] = paid.get(key, Decimal(0)) + line["amount"]
        assert paid[key] == running[key].quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert any(line["exact"] != line["amount"] for line in lines)


@settings(
    max_examples=examples(100), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_random_plans_render_every_line_as_the_engine_wrote_it(drawn):
    text = drawn.draw(plans(cycle=drawn.draw(st.booleans(), label="pay cycle")), label="plan")
    year = DrawnYear.draw(drawn, text)
    result, _ = year.run(drawn, lambda result: None)
    built = stored(result)
    rendered = sentences(*(built.column(name) for name in ("explanation", "credit", "exact", "rollup_from")))
    assert rendered.to_pylist() == engine_sentences(result)


@settings(
    max_examples=examples(50), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(st.data())
def test_random_dated_plans_render_every_line_as_the_engine_wrote_it(drawn):
    """A roster with dates (a fallback payee's lines say why), currencies (fx lines), prorated quotas."""
    year = DrawnDatedYear.draw(drawn)
    result = year.plan.run(**year.inputs)
    built = stored(result)
    rendered = sentences(*(built.column(name) for name in ("explanation", "credit", "exact", "rollup_from")))
    assert rendered.to_pylist() == engine_sentences(result)


def test_an_exact_amount_too_wide_for_its_column_is_said_in_the_sentence(tmp_path):
    """`exact` holds 18 digits (parquet INT64): a line that earned 10^12 or more leaves it empty, and its
    explanation is stored as the sentence, which states the amount in full."""
    plan = spmlang.loads(quarterly_plan("Wide", "component commission {\n  rate 100%\n}\n"), "plan.spm")
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount\nA,ann,2027-02-01,2000000000000.25\nB,ann,2027-05-01,10.50\n")
    result = plan.run(deals)
    path = result.write(tmp_path / "ledger.parquet")
    in_file = pq.read_table(path).to_pylist()
    assert [line["exact"] for line in in_file] == [None, Decimal("10.500000")]
    assert in_file[0]["explanation"] == "2000000000000.25 × 100% = 2000000000000.25"
    assert in_file[1]["explanation"] == "{credit} × 100% = {exact}"
    assert spmlang.read_ledger(path).column("explanation").to_pylist() == engine_sentences(result)


def _small_ledger(tmp_path) -> tuple[Path, list[str]]:
    """A parquet ledger of two templated lines, and their sentences."""
    plan = spmlang.loads(quarterly_plan("Small", "component commission {\n  rate 10%\n}\n"), "plan.spm")
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount\nA,ann,2027-02-01,1000.00\nB,bo,2027-05-01,2500.50\n")
    result = plan.run(deals)
    return result.write(tmp_path / "ledger.parquet"), result.ledger.column("explanation").to_pylist()


def test_a_ledger_written_before_templates_reads_back_with_some_of_its_columns(tmp_path):
    """A ledger with no `exact` column holds sentences: read as it is, also when only some columns are asked
    for (the columns a template names are read with the explanations only where the file has them)."""
    path, said = _small_ledger(tmp_path)
    pq.write_table(spmlang.read_ledger(path).drop_columns(["exact"]), tmp_path / "old.parquet")
    folder = tmp_path / "old-folder"
    folder.mkdir()
    pq.write_table(spmlang.read_ledger(path).drop_columns(["exact"]), folder / "part-00000.parquet")
    for old in (tmp_path / "old.parquet", folder):
        read = spmlang.read_ledger(old, ["payee", "explanation"])
        assert read.column_names == ["payee", "explanation"]
        assert sorted(read.column("explanation").to_pylist()) == sorted(said)


@pytest.mark.parametrize(
    ("column", "values", "said"),
    [
        ("exact", pa.array([Decimal(10**13), Decimal(5)], pa.decimal128(38, 6)), "larger than any amount spm writes"),
        ("exact", pa.array(["x", "y"]), "is not a valid decimal128 number"),
        ("credit", pa.nulls(2, pa.decimal128(18, 2)), "row 1, column 'credit'"),
        ("rollup_from", pa.array([None, "ann"], pa.string()), "row 1, column 'rollup_from'"),
    ],
    ids=["exact-too-large", "exact-text", "credit-empty", "rollup-from-empty"],
)
def test_a_ledger_edited_by_hand_is_an_error_naming_the_column_its_explanation_reads(tmp_path, column, values, said):
    """Not a sentence with a wrapped-around number or 'None' in it: the file and the column (and the row, in
    one file), for a ledger file and a folder of parts alike."""
    path, _ = _small_ledger(tmp_path)
    table = pq.read_table(path)
    if column == "rollup_from":  # a rollup line's template names its rep
        table = table.set_column(
            table.schema.get_field_index("explanation"),
            "explanation",
            pa.array(["rollup of {rollup_from}'s credit"] * 2),
        )
    table = table.set_column(table.schema.get_field_index(column), column, values)
    pq.write_table(table, tmp_path / "edited.parquet")
    with pytest.raises(spmlang.InputError, match=re.escape(said)) as raised:
        spmlang.read_ledger(tmp_path / "edited.parquet")
    assert raised.value.file == str(tmp_path / "edited.parquet") and raised.value.column == column
    folder = tmp_path / "folder"
    folder.mkdir()
    pq.write_table(table, folder / "part-00000.parquet")
    with pytest.raises(spmlang.InputError, match="cannot read the ledger's explanations") as raised:
        spmlang.read_ledger(folder)
    assert raised.value.file == str(folder) and raised.value.column == column


def test_a_ledger_with_a_column_its_templates_name_dropped_is_an_error_not_its_templates(tmp_path):
    """A ledger of templates (it has `exact`) without `credit`, or with explanations that are not text: an error
    naming the column, not '{credit} at 10% = {exact}' read back as if it were a sentence."""
    path, _ = _small_ledger(tmp_path)
    table = pq.read_table(path)
    for name, edited, said in (
        ("credit", table.drop_columns(["credit"]), "row 1, column 'credit': .* which the ledger does not have"),
        (
            "explanation",
            table.set_column(table.schema.get_field_index("explanation"), "explanation", pa.array([1, 2])),
            "column 'explanation': .* it holds int64, not text",
        ),
    ):
        pq.write_table(edited, tmp_path / f"no-{name}.parquet")
        with pytest.raises(spmlang.InputError, match=said) as raised:
            spmlang.read_ledger(tmp_path / f"no-{name}.parquet")
        assert raised.value.column == name
    pq.write_table(table.drop_columns(["rollup_from"]), tmp_path / "no-rollup.parquet")  # no template names it
    assert spmlang.read_ledger(tmp_path / "no-rollup.parquet").column("explanation") == spmlang.read_ledger(
        path
    ).column("explanation")


def test_the_recipe_in_the_docs_makes_every_sentence_of_a_ledger_with_braces_in_its_names(tmp_path, monkeypatch):
    """docs/calculation.md §7 tells a reader of the raw parquet how to make the sentences: its Python, run on a
    ledger whose names read '{credit}' and '{{x}}', prints what spmlang.read_ledger gives."""
    docs = (Path(__file__).parent.parent / "docs" / "calculation.md").read_text(encoding="utf-8")
    recipe = docs.split("**Explanations as templates.**")[1].split("```python\n")[1].split("```")[0]
    text = quarterly_plan(
        "Braces",
        "roster {\n  payee rep\n  manager boss\n}\n"
        "component commission {\n  rate 10%\n}\ncomponent override {\n  on rollup credit\n  rate 1%\n}\n",
    ).replace("  credit amount\n", "  credit amount\n  rollup to manager\n")
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount\nA,{credit},2027-02-01,1000.00\nB,{{x}},2027-05-01,2500.55\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("rep,boss\n{credit},{{x}}\n{{x}},{exact}}\n{exact}},\n")
    result = spmlang.loads(text, "plan.spm").run(deals, roster=roster)
    monkeypatch.chdir(tmp_path)
    result.write("ledger.parquet")
    said = spmlang.read_ledger("ledger.parquet").column("explanation").to_pylist()
    assert "rollup of {credit}'s credit: 1000.00 × 1% = 10.00" in said
    printed: list[str] = []
    exec(recipe, {"print": printed.append})
    assert printed == said


def test_read_ledger_of_a_missing_file_or_a_csv_ledger_says_what_to_pass(tmp_path):
    """Not 'cannot read the ledger: <the path again>': the file is not there, or is not a parquet ledger."""
    with pytest.raises(spmlang.InputError, match="file not found") as raised:
        spmlang.read_ledger(tmp_path / "ledger.parquet")
    assert "pass a parquet ledger spm wrote" in str(raised.value)
    path, _ = _small_ledger(tmp_path)
    csv = path.with_suffix(".csv")
    csv.write_text("payee,explanation\nann,1000.00 × 10% = 100.00\n")
    with pytest.raises(spmlang.InputError, match="a CSV or JSON ledger holds sentences already"):
        spmlang.read_ledger(csv)


def dictionary_encoded(path, column: str) -> bool:
    metadata = pq.ParquetFile(path).metadata
    index = metadata.schema.names.index(column)
    return any("DICTIONARY" in encoding for encoding in metadata.row_group(0).column(index).encodings)


def test_a_plan_of_curves_stores_its_explanations_as_text(tmp_path):
    """Dictionary-encoded where a plan explains most lines by templates (a rate); as text where its lines say
    things of their own (a curve's points): a dictionary of distinct strings would cost more to make and to
    write. Either way they read back as the engine wrote them."""
    deals = tmp_path / "deals.csv"
    deals.write_text("id,rep,day,amount\nA,ann,2027-02-01,1000.00\nB,ann,2027-05-01,2500.50\nC,bo,2027-05-02,10\n")
    rate = "component commission {\n  rate 10%\n}\n"
    curve = "component commission {\n  curve on row credit {\n    $0 -> $0\n    $5,000 -> $400\n  }\n}\n"
    for blocks, encoded in ((rate, True), (curve, False)):
        result = spmlang.loads(quarterly_plan("P", blocks), "plan.spm").run(deals)
        assert result.payout.run.compiled.explained_by_templates is encoded
        path = result.write(tmp_path / f"{encoded}.parquet")
        assert dictionary_encoded(path, "explanation") is encoded
        assert spmlang.read_ledger(path).column("explanation").to_pylist() == engine_sentences(result)


def test_a_ledger_whose_exact_column_was_removed_is_an_error_not_raw_templates(tmp_path):
    """A ledger of templates with its `exact` column dropped by hand was read as a ledger of before templates:
    its explanations came back as '{credit} at 8% ... = {exact}'."""
    path, _ = _small_ledger(tmp_path)
    pq.write_table(pq.read_table(path).drop_columns(["exact"]), tmp_path / "edited.parquet")
    with pytest.raises(spmlang.InputError, match=re.escape("the explanations are templates")) as raised:
        spmlang.read_ledger(tmp_path / "edited.parquet")
    assert raised.value.column == "exact"
