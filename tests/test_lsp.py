"""`spm lsp`, through the protocol: the server is started as an editor starts it and spoken to in JSON-RPC over
its stdin and stdout (tests/lsp_client.py), on the example plans and on broken ones.

One file though long: every test speaks to the one server the module starts (it takes a while to start)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lsp_client import LspClient

from spmlang.syntax.format import format_source

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "examples" / "plans"
AE = PLANS / "account_executive.spm"


@pytest.fixture(scope="module")
def client():
    client = LspClient()
    client.initialize()
    yield client
    assert client.close() == 0
    assert "Traceback" not in "".join(client.stderr)


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def position(text: str, needle: str, line_hint: str = "", offset: int = 0) -> dict:
    """The LSP position of ``needle`` (on the first line containing ``line_hint``), plus ``offset``."""
    for number, line in enumerate(text.split("\n")):
        if line_hint in line and needle in line:
            return {"line": number, "character": line.index(needle) + offset}
    raise AssertionError(f"{needle!r} not in the text")


def at(client, method, path_or_uri, text, needle, line_hint="", offset=0, **extra):
    where = position(text, needle, line_hint, offset)
    target = path_or_uri if isinstance(path_or_uri, str) else uri(path_or_uri)
    return client.at(method, target, where["line"], where["character"], **extra)


def labels(items) -> list[str]:
    if isinstance(items, dict):
        items = items["items"]
    return [item["label"] for item in items or []]


def hover_text(result) -> str:
    return result["contents"]["value"] if result else ""


# ---------------------------------------------------------------------- the server


def test_initialize_announces_each_feature():
    client = LspClient()
    try:
        capabilities = client.initialize()["capabilities"]
    finally:
        assert client.close() == 0
    for feature in (
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "documentSymbolProvider",
        "documentFormattingProvider",
    ):
        assert capabilities.get(feature), feature
    assert "." in capabilities["completionProvider"]["triggerCharacters"]
    assert capabilities["textDocumentSync"]["change"] == 2  # incremental


def test_without_pygls_spm_lsp_says_how_to_install_it(tmp_path):
    blocker = (
        "import sys\n"
        "class NoPygls:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pygls', 'lsprotocol'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoPygls())\n"
        "sys.argv = ['spm', 'lsp']\n"
        "from spmlang.cli import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2
    assert "pip install 'spmlang[lsp]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


# ---------------------------------------------------------------------- diagnostics


@pytest.mark.parametrize("plan", sorted(PLANS.glob("*.spm")), ids=lambda p: p.name)
def test_the_example_plans_and_their_tests_have_no_diagnostics(client, plan):
    assert client.open(uri(plan), plan.read_text(encoding="utf-8")) == []


def test_diagnostics_are_spm_checks_with_codes_ranges_hints_and_notes(client, tmp_path):
    text = AE.read_text(encoding="utf-8")
    text = text.replace("  credit amount", "  credit amont")
    text = text.replace("  column term_months integer", "  column term_months integer\n  column owner text")
    text = text.replace("targets {", "table unused {\n  column k text\n  key k\n}\n\ntargets {")
    path = tmp_path / "plan.spm"
    diagnostics = {d["code"]: d for d in client.open(uri(path), text)}
    assert set(diagnostics) == {"E201", "E207"}  # a warning waits until the errors are fixed, as in spm check
    unknown = diagnostics["E201"]
    assert unknown["severity"] == 1 and unknown["source"] == "spm"
    assert unknown["message"] == "unknown name 'amont' in the credit\nhint: did you mean 'amount'?"
    assert unknown["range"]["start"] == position(text, "amont", "credit")
    assert unknown["range"]["end"] == position(text, "amont", "credit", offset=5)
    twice = diagnostics["E207"]
    [note] = twice["relatedInformation"]
    assert note["message"] == "first declared here"
    assert note["location"]["uri"] == uri(path)
    assert note["location"]["range"]["start"]["line"] == position(text, "column owner ")["line"]

    fixed = text.replace("credit amont", "credit amount").replace("integer\n  column owner text", "integer")
    warnings = client.change(uri(path), fixed, 2)
    assert [(d["code"], d["severity"]) for d in warnings] == [("W101", 2)]
    assert warnings[0]["message"] == "table 'unused' is never used"


def test_a_syntax_error_is_reported_where_it_is(client, tmp_path):
    text = AE.read_text(encoding="utf-8").replace("  payout      quarterly", "  payout = quarterly")
    path = tmp_path / "syntax.spm"
    [error] = client.open(uri(path), text)
    assert error["code"] == "E101"
    assert error["range"]["start"] == position(text, "=", "payout")
    assert "hint: settings take no '='" in error["message"]


def test_a_test_file_is_checked_against_the_plan_as_it_is_being_edited(client, tmp_path):
    plan, tests = tmp_path / "ae.spm", tmp_path / "ae.test.spm"
    shutil.copy(AE, plan)
    shutil.copy(PLANS / "account_executive.test.spm", tests)
    assert client.open(uri(tests), tests.read_text(encoding="utf-8")) == []
    edited = plan.read_text(encoding="utf-8").replace("term_months", "term")
    mark = len(client.notifications)
    assert client.open(uri(plan), edited) == []  # unsaved: the file on disk still says term_months
    published = client.diagnostics(uri(tests), mark)
    assert published and {d["code"] for d in published} == {"E201"}
    assert all("no column 'term_months'" in d["message"] for d in published)

    broken = edited.replace("rate 8%", "rate 8% +")
    mark = len(client.notifications)
    client.change(uri(plan), broken, 2)
    [error] = client.diagnostics(uri(tests), mark)
    assert error["message"].startswith("the plan ae.spm has 1 error, so its tests cannot be checked")
    assert error["relatedInformation"][0]["location"]["uri"] == uri(plan)


def test_a_test_file_without_its_plan(client, tmp_path):
    path = tmp_path / "lonely.test.spm"
    text = 'test "t" {\n  expect payout ana == $1\n}\n'
    [error] = client.open(uri(path), text)
    assert error["code"] == "E421"
    assert error["message"].startswith("no plan lonely.spm beside this test file")
    shutil.copy(AE, tmp_path / "lonely.spm")  # the plan comes: the test is read against it
    [error] = client.change(uri(path), text, 2)
    assert error["code"] == "E422"
    assert error["message"].startswith("test 't' gives no transactions\nhint: add: transactions")


# ---------------------------------------------------------------------- hover


def test_hover_on_a_component_says_its_rule_tiers_modifiers_and_clause(client):
    text = AE.read_text(encoding="utf-8")
    client.open(uri(AE), text)
    shown = hover_text(at(client, "textDocument/hover", AE, text, "commission", "component"))
    assert "**component commission** · pays earning lines on each payee's own credit" in shown
    assert "Each slice of credit pays 8% times the multiplier of the attainment tier it falls in" in shown
    assert "| 50%–100% | 1x | 8% |" in shown
    assert "| 150%+ | 2x | 16% |" in shown
    assert "- `multiplier 1.2x when term_months >= 24`" in shown
    assert "- `cap 250% of target per year`" in shown
    assert "cite the clause `account_executive.spm:54`" in shown  # the `rate 8%` line, as the ledger cites it

    spif = hover_text(at(client, "textDocument/hover", AE, text, "new_logo_q1", "spif"))
    assert "pays SPIF lines" in spif and "Each row it pays earns $1,000 (per deal)." in spif


def test_hover_on_a_column_a_table_a_value_and_a_keyword(client):
    text = AE.read_text(encoding="utf-8")
    client.open(uri(AE), text)
    amount = hover_text(at(client, "textDocument/hover", AE, text, "amount", "credit"))
    assert amount.startswith("**amount** · money column of the transactions")
    assert "`--deals PATH`" in amount and "Read by the credit." in amount
    assert "Declared at `account_executive.spm:26`." in amount
    owner = hover_text(at(client, "textDocument/hover", AE, text, "owner", "column owner"))
    assert "It is the payee (who is credited)." in owner
    keyword = hover_text(at(client, "textDocument/hover", AE, text, "accelerator"))
    assert "marginal tiers whose rates are R times each multiplier" in keyword
    assert "docs/language.md" in keyword

    per = hover_text(at(client, "textDocument/hover", AE, text, "per", "cap 250%"))
    assert per.startswith("**cap … per**") and "`cap AMOUNT per row|period|year`" in per
    target = hover_text(at(client, "textDocument/hover", AE, text, "target", "cap 250%"))
    assert "`P% of target` (of the annual target incentive)" in target

    crm = PLANS / "crm_agents.spm"
    crm_text = crm.read_text(encoding="utf-8")
    client.open(uri(crm), crm_text)
    override = hover_text(at(client, "textDocument/hover", crm, crm_text, "on", "on rollup credit"))
    assert "pay on the rollup credit of the people under the payee" in override
    table = hover_text(at(client, "textDocument/hover", crm, crm_text, "series_rates", "rate series_rates"))
    assert "**series_rates** · lookup table" in table and "`series_rates[…]` gives its `rate`" in table
    assert "3 rows written in the plan" in table and "| GTX | 6% |" in table
    products = hover_text(at(client, "textDocument/hover", crm, crm_text, "products", "rate series_rates"))
    assert "Its rows come from the command line: `--table products=PATH`." in products
    assert "| sales_price | money |" in products

    sdr = PLANS / "sdr.spm"
    sdr_text = sdr.read_text(encoding="utf-8")
    client.open(uri(sdr), sdr_text)
    attainment = hover_text(at(client, "textDocument/hover", sdr, sdr_text, "attainment", "gate"))
    assert attainment.startswith("**attainment** · provided by spm")
    assert "divided by the **quota basis**" in attainment


def test_hover_while_the_plan_has_errors_shows_what_is_written(client, tmp_path):
    text = AE.read_text(encoding="utf-8").replace("  cap 250% of target per year", "  cap 250% of tar")
    path = tmp_path / "hover-broken.spm"
    assert client.open(uri(path), text)
    shown = hover_text(at(client, "textDocument/hover", path, text, "commission", "component"))
    assert "```spm\ncomponent commission {\n  rate 8%" in shown
    assert "The plan has errors" in shown
    column = hover_text(at(client, "textDocument/hover", path, text, "term_months", "multiplier"))
    assert column.startswith("**term_months** · integer column of the transactions")


# ---------------------------------------------------------------------- definition and references


def test_definition_of_columns_tables_table_columns_and_components(client):
    crm = PLANS / "crm_agents.spm"
    text = crm.read_text(encoding="utf-8")
    client.open(uri(crm), text)
    [found] = at(client, "textDocument/definition", crm, text, "close_value", "credit")
    assert found["uri"] == uri(crm)
    assert found["range"]["start"] == position(text, "close_value", "column close_value")
    [table] = at(client, "textDocument/definition", crm, text, "series_rates", "rate series_rates")
    assert table["range"]["start"] == position(text, "series_rates", "table series_rates")
    [column] = at(client, "textDocument/definition", crm, text, "series]", "rate series_rates")
    assert column["range"]["start"] == position(text, "series", "column series ")
    [price] = at(client, "textDocument/definition", crm, text, "sales_price", "multiplier")
    assert price["range"]["start"] == position(text, "sales_price", "column sales_price")


def test_definition_from_a_test_file_lands_in_the_plan(client):
    tests = PLANS / "sdr.test.spm"
    text = tests.read_text(encoding="utf-8")
    client.open(uri(tests), text)
    plan_text = (PLANS / "sdr.spm").read_text(encoding="utf-8")
    [component] = at(client, "textDocument/definition", tests, text, "meetings", "for meetings")
    assert component["uri"] == uri(PLANS / "sdr.spm")
    assert component["range"]["start"] == position(plan_text, "meetings", "component meetings")
    [filter_] = at(client, "textDocument/definition", tests, text, "qualified", "expect excluded")
    assert filter_["range"]["start"] == position(plan_text, "qualified", "where qualified")
    [column] = at(client, "textDocument/definition", tests, text, "pipeline", "columns")
    assert column["range"]["start"] == position(plan_text, "pipeline", "column pipeline")


def test_references_cover_the_plan_and_its_tests(client):
    text = AE.read_text(encoding="utf-8")
    client.open(uri(AE), text)
    context = {"includeDeclaration": True}
    found = at(client, "textDocument/references", AE, text, "amount", "credit", context=context)
    places = {
        (Path(f["uri"]).name if f["uri"].startswith("file") else f["uri"], f["range"]["start"]["line"]) for f in found
    }
    plan_lines = {p["line"] for p in (position(text, "amount", "column amount"), position(text, "amount", "credit"))}
    assert {line for name, line in places if name == "account_executive.spm"} == plan_lines
    test_text = (PLANS / "account_executive.test.spm").read_text(encoding="utf-8")
    test_lines = {n for n, line in enumerate(test_text.split("\n")) if line.strip().startswith("columns deal_id")}
    assert {line for name, line in places if name == "account_executive.test.spm"} == test_lines
    without = at(client, "textDocument/references", AE, text, "amount", "credit", context={"includeDeclaration": False})
    assert len(without) == len(found) - 1

    components = at(client, "textDocument/references", AE, text, "commission", "component", context=context)
    assert len(components) == 1 + sum(line.count("for commission") for line in test_text.split("\n"))


# ---------------------------------------------------------------------- completion


def _complete_after(client, path, text, typed, line_hint):
    """Type ``typed`` at the end of the line holding ``line_hint``; what completes there."""
    lines = text.split("\n")
    number = next(n for n, line in enumerate(lines) if line_hint in line)
    lines.insert(number + 1, typed)
    edited = "\n".join(lines)
    client.open(uri(path), edited)
    return labels(client.at("textDocument/completion", uri(path), number + 1, len(typed)))


def test_completion_by_what_the_statement_needs(client, tmp_path):
    text = AE.read_text(encoding="utf-8")
    path = tmp_path / "complete.spm"
    statement = _complete_after(client, path, text, "  ", "  rate 8%")
    assert {"rate", "pay", "tiers", "accelerator", "curve", "multiplier", "cap", "gate", "where", "on"} <= set(
        statement
    )
    assert "column" not in statement and "amount" not in statement
    after_pay = _complete_after(client, path, text, "  pay $100 ", "  rate 8%")
    assert {"per", "once", "of"} <= set(after_pay)
    rate = _complete_after(client, path, text, "  multiplier 2x when ", "  rate 8%")
    assert {"amount", "term_months", "credit", "quota", "min", "days_between", "if"} <= set(rate)
    gate = _complete_after(client, path, text, "  gate ", "  rate 8%")
    assert {"attainment", "count"} <= set(gate) and "amount" not in gate
    assert set(_complete_after(client, path, text, "  payout ", "  currency")) >= {
        "monthly",
        "quarterly",
        "half_yearly",
        "yearly",
    }
    assert set(_complete_after(client, path, text, "  column region ", "column term_months")) >= {
        "text",
        "money",
        "date",
        "integer",
        "percent",
        "number",
        "bool",
    }
    assert _complete_after(client, path, text, "  key ", "column term_months")[:3] == ["deal_id", "owner", "close_date"]
    covers = _complete_after(client, path, text, "cap $1 per year for ", "cap $5,000 per year")
    assert {"commission", "new_logo_q1"} <= set(covers)
    cap_per = _complete_after(client, path, text, "  cap $1 per ", "  rate 8%")
    assert {"row", "period", "year"} <= set(cap_per)


def test_completion_of_the_pay_cycle_s_words(client, tmp_path):
    text = (Path(__file__).parent.parent / "examples" / "pay-cycle" / "plan.spm").read_text(encoding="utf-8")
    path = tmp_path / "cycle.spm"
    assert {"amount", "recoverable", "non_recoverable", "recover", "until"} <= set(
        _complete_after(client, path, text, "  ", "  recoverable")
    )
    assert {"as_paid", "at_rate", "recalculate"} <= set(_complete_after(client, path, text, "  clawback ", "  payout "))
    assert {"clawback", "payable"} <= set(_complete_after(client, path, text, "  ", "  pay $1,000 per deal"))
    assert {"cancelled", "refunded"} <= set(_complete_after(client, path, text, "  ", "  credit    amount"))


def test_completion_of_a_table_s_columns_after_a_lookup(client, tmp_path):
    text = (PLANS / "crm_agents.spm").read_text(encoding="utf-8")
    path = tmp_path / "lookup.spm"
    assert _complete_after(client, path, text, "  where products[product].", "component commission {") == [
        "product",
        "series",
        "sales_price",
    ]
    assert _complete_after(
        client, path, text, "  where products[products[product].series].sa", "component commission {"
    ) == ["product", "series", "sales_price"]


def test_completion_in_a_test_file(client):
    tests = PLANS / "sdr.test.spm"
    text = tests.read_text(encoding="utf-8")
    path = tests  # the test file must sit beside its plan
    try:
        assert {"meetings", "opportunities"} <= set(
            _complete_after(client, path, text, "  expect payout ivy for ", "expect excluded A3")
        )
        assert "qualified" in _complete_after(client, path, text, "  expect excluded A3 ", "expect excluded A3")
        expect = _complete_after(client, path, text, "  expect ", "expect excluded A3")
        assert {"payout", "attainment", "line", "reject", "excluded", "error"} <= set(expect)
    finally:
        client.change(uri(tests), text, 99)


# ---------------------------------------------------------------------- outline and formatting


def test_the_outline_of_a_plan_and_of_a_test_file(client):
    text = AE.read_text(encoding="utf-8")
    client.open(uri(AE), text)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri(AE)}})
    assert [s["name"] for s in symbols] == [
        'plan "Account Executive FY2027"',
        "transactions",
        "quotas",
        "targets",
        "component commission",
        "spif new_logo_q1",
    ]
    transactions = symbols[1]
    assert [c["name"] for c in transactions["children"] if c["kind"] == 8] == [
        "deal_id",
        "owner",
        "close_date",
        "stage",
        "deal_type",
        "amount",
        "term_months",
    ]
    assert [c["name"] for c in transactions["children"] if c["kind"] == 17] == ["closed_won", "not_renewal"]
    assert symbols[4]["detail"] == "rate with accelerator"
    assert symbols[4]["selectionRange"]["start"] == position(text, "commission", "component")

    tests = PLANS / "account_executive.test.spm"
    test_symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri(tests)}})
    assert test_symbols[0]["name"] == 'test "below half of quota a deal earns 4%"'
    assert test_symbols[0]["children"][0]["name"] == "expect payout ana in 2027-Q1 for commission == $2,000"


def test_a_dated_version_in_the_outline_hover_and_references(client):
    july = PLANS / "account_executive_july.spm"
    text = july.read_text(encoding="utf-8")
    client.open(uri(july), text)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri(july)}})
    commission = next(s for s in symbols if s["name"] == "component commission")
    version = next(c for c in commission["children"] if c["name"] == "from 2027-07-01")
    assert [c["name"] for c in version["children"]] == ["rate 9%", "accelerator on attainment {"]
    shown = hover_text(at(client, "textDocument/hover", july, text, "commission", "component"))
    assert "Its ledger lines (rows dated before 2027-07-01) cite the clause `account_executive_july.spm:54`" in shown
    assert "**From 2027-07-01** (rows dated then): Each slice of credit pays 9%" in shown
    assert "| 150%+ | 2.5x | 22.5% |" in shown and "cite the clause `account_executive_july.spm:65`" in shown
    keyword = hover_text(at(client, "textDocument/hover", july, text, "from", "from 2027-07-01"))
    assert keyword.startswith("**from**") and "earning rule (and multipliers) from that date on" in keyword
    # Inside the version: what a statement there may say, and the columns its conditions read.
    inside = _complete_after(client, july, text, "    multiplier 2x when ", "    rate 9%")
    assert {"amount", "term_months", "credit", "quota"} <= set(inside)
    statement = _complete_after(client, july, text, "  ", "  cap 250% of target per year")
    assert "from" in statement


def test_outline_and_definition_survive_syntax_errors(client, tmp_path):
    text = AE.read_text(encoding="utf-8")
    text = text.replace("  multiplier 1.2x when term_months >= 24", "  multiplier 1.2x when term_months >=")
    text += "\ncomponent half_typed {\n  rate amount *\n"  # a block left open at the end of the file
    path = tmp_path / "half.spm"
    diagnostics = client.open(uri(path), text)
    assert diagnostics and all(d["code"] == "E100" for d in diagnostics)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri(path)}})
    assert [s["name"] for s in symbols][-3:] == ["component commission", "spif new_logo_q1", "component half_typed"]
    [found] = at(client, "textDocument/definition", path, text, "deal_type", "where deal_type")
    assert found["range"]["start"] == position(text, "deal_type", "column deal_type")
    statement = labels(at(client, "textDocument/completion", path, text, "rate amount *", offset=15))
    assert "term_months" in statement and "credit" in statement


def test_formatting_is_spm_fmt(client, tmp_path):
    messy = AE.read_text(encoding="utf-8").replace("  rate 8%", "  rate    8%").replace("$1,000", "$1000")
    path = tmp_path / "messy.spm"
    client.open(uri(path), messy)
    [edit] = client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri(path)}, "options": {"tabSize": 2, "insertSpaces": True}}
    )
    assert edit["newText"] == format_source(messy) and "rate 8%" in edit["newText"] and "$1,000" in edit["newText"]
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    assert edit["range"]["end"]["line"] == len(messy.split("\n")) - 1
    client.change(uri(path), edit["newText"], 2)
    assert (
        client.request(
            "textDocument/formatting",
            {"textDocument": {"uri": uri(path)}, "options": {"tabSize": 2, "insertSpaces": True}},
        )
        == []
    )
    client.change(uri(path), messy + "\ncomponent {\n", 3)
    assert (
        client.request(
            "textDocument/formatting",
            {"textDocument": {"uri": uri(path)}, "options": {"tabSize": 2, "insertSpaces": True}},
        )
        == []
    )


# ---------------------------------------------------------------------- robustness


def test_positions_are_counted_as_the_editor_counts_them(client, tmp_path):
    text = AE.read_text(encoding="utf-8").replace('stage == "Closed Won"', 'stage == "🏆 Closed Won" and amount > $0')
    path = tmp_path / "emoji.spm"
    client.open(uri(path), text)
    line = next(n for n, text_line in enumerate(text.split("\n")) if "🏆" in text_line)
    character = len(text.split("\n")[line][: text.split("\n")[line].index("amount >")].encode("utf-16-le")) // 2
    shown = hover_text(client.at("textDocument/hover", uri(path), line, character + 1))
    assert shown.startswith("**amount**")
    [found] = client.at("textDocument/definition", uri(path), line, character + 1)
    assert found["range"]["start"] == position(text, "amount", "column amount")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plan",
        "plan {",
        "}}}}\n{{{",
        'plan "x" { year starts 2027-02-30 }',
        "component c {\n  rate " + "(" * 3000 + "1" + ")" * 3000 + "\n}\n",
        "transactions {\n  where x: a ==\n  credit amount *\n}\ncomponent c { rate rates[product].",
        '\x00\x01 plan \ufeff\u2028 "unterminated\n# only a comment',
        'test "t" { expect payout for',
    ],
)
def test_bad_input_never_stops_the_server(client, tmp_path, text):
    path = tmp_path / "bad.spm"
    client.open(uri(path), text)
    lines = text.split("\n")
    for line in range(len(lines) + 1):
        for character in (0, 1, 5, len(lines[line]) if line < len(lines) else 0, 10_000):
            client.at("textDocument/hover", uri(path), line, character)
            client.at("textDocument/completion", uri(path), line, character)
            client.at("textDocument/definition", uri(path), line, character)
            client.at("textDocument/references", uri(path), line, character, context={"includeDeclaration": True})
    client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri(path)}})
    client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri(path)}, "options": {"tabSize": 2, "insertSpaces": True}}
    )
    assert client.process.poll() is None


def test_a_failing_handler_is_logged_and_answered_empty(caplog):
    from spmlang.lsp.server import guarded

    @guarded(list)
    def broken(ls, params):
        raise ValueError("a bug")

    class Editor:
        logged = []

        def window_log_message(self, params):
            self.logged.append(params.message)

    editor = Editor()
    assert broken(editor, None) == []
    assert editor.logged == ["spm lsp: broken failed: ValueError: a bug"]
    assert "spm lsp: broken failed" in caplog.text


@pytest.mark.parametrize(
    ("sent", "said"),
    [
        (b"Content-Length: 99999999999\r\n\r\n{}", "the editor sent a message of 99,999,999,999 bytes, more than"),
        (b"x" * 10_000, "the editor sent a header line longer than 4,096 bytes"),
    ],
)
def test_a_broken_editor_ends_the_session_with_a_line_saying_why(sent, said):
    """A message larger than an editor sends (a broken client) would take all memory as pygls reads it."""
    from lsp_client import SERVER

    done = subprocess.run(SERVER, input=sent, capture_output=True, timeout=60)
    assert done.returncode == 1
    assert said in done.stderr.decode() and "Traceback" not in done.stderr.decode()


def test_a_message_that_is_not_json_is_logged_in_one_line_and_the_session_goes_on():
    from lsp_client import SERVER

    def framed(body: bytes) -> bytes:
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    initialize = b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}'
    done = subprocess.run(SERVER, input=framed(b"hello") + framed(initialize), capture_output=True, timeout=60)
    log = done.stderr.decode()
    assert "Unable to handle message: JSONDecodeError: Expecting value" in log and "Traceback" not in log
    assert b'"id": 1' in done.stdout and b'"capabilities"' in done.stdout  # the next message was answered
