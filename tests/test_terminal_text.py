"""Text from data and files reaches the terminal with its control characters shown as escapes, never raw.

A payee, a transaction key or a lookup value holding escape sequences (clear the screen, set the window's
title, colour the rest of the output) or bidi overrides must not act on the terminal of whoever runs spm.
"""

from __future__ import annotations

import csv
import json

import pytest

from spmlang.visible import hidden, visible, visible_json

PLAN = """plan "Hostile\x1b]0;title\x07" {
  year starts 2027-01-01
  payout quarterly
}
transactions {
  column id      text
  column rep     text
  column day     date
  column product text
  column amount  money
  key    id
  date   day
  payee  rep
  credit amount
}
table rates {
  column product text
  column rate    percent
  key product
}
component commission {
  rate rates[product]
}
"""

EVIL = "evil\x1b[2J\x1b]0;pwned\x07\u202eman"  # clears the screen, sets the title, turns the text around
KEY = "D1\x1b[31m"  # the rest of the output in red
PRODUCT = "\x9b2Jgadget"  # a C1 CSI: clears the screen on terminals that read C1 controls


def raw_controls(text: str) -> list[str]:
    return [char for char in text if hidden(char) and char != "\n"]


@pytest.fixture
def hostile(tmp_path):
    (tmp_path / "plan.spm").write_text(PLAN)
    with open(tmp_path / "deals.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "rep", "day", "product", "amount"])
        writer.writerow([KEY, EVIL, "2027-01-10", "widget", "1000"])
        writer.writerow(["D2", "bob", "2027-02-10", "widget", "2000"])
    (tmp_path / "rates.csv").write_text("product,rate\nwidget,10%\n")
    with open(tmp_path / "bad.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["id", "rep", "day", "product", "amount"], ["D9", "bob", "2027-01-10", PRODUCT, "1000"]]
        )
    return tmp_path


ARGS = ["plan.spm", "--deals", "deals.csv", "--table", "rates=rates.csv"]


def test_visible_shows_controls_as_escapes_and_leaves_the_rest():
    assert visible(EVIL) == "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202eman"
    assert visible("a\x7fb\x9bc\x00d\u2066e\u200bf\U000e0041") == "a\\x7fb\\x9bc\\x00d\\u2066e\\u200bf\\U000e0041"
    assert visible("Zoë Łukasz 山田 मनोज़ 👩\u200d💻 ab") == "Zoë Łukasz 山田 मनोज़ 👩\u200d💻 ab"  # joiners write names
    assert visible("one\ntwo\tthree\r") == "one\\x0atwo\\x09three\\x0d"
    assert visible("one\ntwo\tthree\r", lines=True) == "one\ntwo\tthree\\x0d"


def test_visible_json_is_the_same_data_and_nothing_raw():
    data = {"payee": EVIL + "\x7f\x9b\U000e0041", "key": KEY}
    text = visible_json(json.dumps(data, indent=2, ensure_ascii=False))
    assert json.loads(text) == data and not raw_controls(text)


def test_run_summary_shows_the_payee_as_escapes(spm, hostile):
    result = spm("run", *ARGS, cwd=hostile)
    assert result.returncode == 0, result.stderr
    assert not raw_controls(result.stdout + result.stderr)
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202eman" in result.stdout
    assert "Hostile\\x1b]0;title\\x07 — payout (USD)" in result.stdout


def test_a_payee_shown_as_it_is_not_read_as_markup(spm, hostile):
    (hostile / "deals.csv").write_text(
        "id,rep,day,product,amount\nD1,[bold]alice[/],2027-01-10,widget,1000\nD2,[/x],2027-01-10,widget,1000\n"
    )
    result = spm("run", *ARGS, cwd=hostile)
    assert result.returncode == 0, result.stderr
    assert "│ [bold]alice[/] │" in result.stdout and "│ [/x]           │" in result.stdout


def test_explain_and_statement_show_payee_and_key_as_escapes(spm, hostile):
    for args in (["explain", *ARGS, "--payee", EVIL], ["statement", *ARGS, "--payee", EVIL]):
        result = spm(*args, cwd=hostile)
        assert result.returncode == 0, result.stderr
        assert not raw_controls(result.stdout + result.stderr)
        assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202eman" in result.stdout and "D1\\x1b[31m" in result.stdout


def test_explain_as_json_is_the_data_as_it_is(spm, hostile):
    result = spm("explain", *ARGS, "--payee", EVIL, "--format", "json", cwd=hostile)
    assert result.returncode == 0, result.stderr
    assert not raw_controls(result.stdout)
    trail = json.loads(result.stdout)
    assert trail["payee"] == EVIL and {line["txn"] for p in trail["periods"] for line in p["lines"]} == {KEY}


def test_errors_quoting_a_value_from_the_data_show_it_as_escapes(spm, hostile):
    lookup = spm("run", "plan.spm", "--deals", "bad.csv", "--table", "rates=rates.csv", "--strict", cwd=hostile)
    assert lookup.returncode == 2
    assert "'\\x9b2Jgadget' is not in table rates" in lookup.stderr
    unknown = spm("explain", *ARGS, "--payee", "nobody\x1b[2J", cwd=hostile)
    assert unknown.returncode == 2 and unknown.stderr == "error: no payee 'nobody\\x1b[2J' in this run\n"
    for result in (lookup, unknown):
        assert not raw_controls(result.stdout + result.stderr)


def test_written_paths_are_shown_as_escapes(spm, hostile):
    result = spm("run", *ARGS, "--out", "ledger\x1b[2J.csv", "--rejects", "rejects\x07.csv", cwd=hostile)
    assert result.returncode == 0, result.stderr
    assert (hostile / "ledger\x1b[2J.csv").exists()  # the file has the name asked for
    assert not raw_controls(result.stdout + result.stderr)
    assert "wrote ledger\\x1b[2J.csv (2 lines) and ledger\\x1b[2J.manifest.json" in result.stdout
    assert "wrote rejects\\x07.csv (0 rejected rows)" in result.stdout


def test_plan_diagnostics_show_the_source_line_as_escapes_and_the_caret_under_the_span(spm, tmp_path):
    (tmp_path / "plan.spm").write_text(
        PLAN.replace("  credit amount\n", '  credit amount\n  where mine: rep != "x\x1b[2J\u202ey" and amout > 0\n')
    )
    result = spm("check", "plan.spm", cwd=tmp_path)
    assert result.returncode == 1
    assert not raw_controls(result.stdout + result.stderr)
    assert (
        ' 15 |   where mine: rep != "x\\x1b[2J\\u202ey" and amout > 0\n'
        "    |                                            ^^^^^\n"
    ) in result.stderr
    github = spm("check", "--format", "github", "plan.spm", cwd=tmp_path)
    assert github.stdout.startswith("::error file=plan.spm,line=15,col=36,endLine=15,endColumn=41,title=E201::")
    data = spm("check", "--format", "json", "plan.spm", cwd=tmp_path)
    assert json.loads(data.stdout)[0]["diagnostics"][0]["code"] == "E201"


def test_diff_shows_payees_as_escapes_in_text_and_markdown_and_keeps_them_in_json(spm, hostile):
    (hostile / "new.spm").write_text(PLAN.replace("rate rates[product]", "rate rates[product] * 2"))
    for output_format in ("text", "markdown", "json"):
        result = spm(
            "diff",
            "plan.spm",
            "new.spm",
            "--deals",
            "deals.csv",
            "--table",
            "rates=rates.csv",
            "--format",
            output_format,
            cwd=hostile,
        )
        assert result.returncode == 0, result.stderr
        assert not raw_controls(result.stdout + result.stderr)
        if output_format == "json":
            assert EVIL in {payee["name"] for payee in json.loads(result.stdout)["payees"]}
        else:
            assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202eman" in result.stdout
