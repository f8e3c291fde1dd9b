"""Statement pages: spm's templates, a company's own (--template DIR) in Jinja2's sandbox, autoescaped; and
the charts they carry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import AE_ARGS

import spmlang
from spmlang.diagnostics import InputError
from spmlang.report.render.html import Templates

PLAN = """
plan "Pages" {
  year starts 2027-01-01
  payout quarterly
}

transactions {
  column id     text
  column rep    text
  column day    date
  column amount money
  key    id
  date   day
  payee  rep
  credit amount
}

component commission {
  rate 8%
}
"""
DEALS = "id,rep,day,amount\nA1,<b>eve</b>,2027-01-05,100.00\nA2,ann,2027-02-05,2500.00\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "plan.spm").write_text(PLAN)
    (tmp_path / "deals.csv").write_text(DEALS)
    return tmp_path


def without_style(page: str) -> str:
    return re.sub(r"<style>.*?</style>", "<style></style>", page, flags=re.S)


def test_a_company_style_replaces_spms_and_nothing_else(spm, workspace):
    (workspace / "brand").mkdir()
    (workspace / "brand" / "style.css").write_text("body { font-family: 'Acme Sans'; color: #003366; }\n")
    for folder, extra in (("plain", []), ("branded", ["--template", "brand"])):
        done = spm("statement", "plan.spm", "--deals", "deals.csv", "--out", folder, *extra, cwd=workspace)
        assert done.returncode == 0, done.stderr
    plain = (workspace / "plain" / "ann" / "2027-Q1.html").read_text()
    branded = (workspace / "branded" / "ann" / "2027-Q1.html").read_text()
    assert "Acme Sans" in branded and "Acme Sans" not in plain
    assert without_style(branded) == without_style(plain)
    assert "Acme Sans" in (workspace / "branded" / "index.html").read_text()


def test_a_company_template_gets_the_statement_and_escapes_what_it_shows(spm, workspace):
    (workspace / "brand").mkdir()
    (workspace / "brand" / "statement.html").write_text(
        "<h1>Acme pay: {{ statement.payee }}</h1>\n"
        "<p>{{ statement.period }}: {{ statement.payout | money }} {{ statement.currency }}</p>\n"
        "{% for line in statement.earnings %}<p>{{ line.txn }} {{ line.words }}</p>{% endfor %}\n"
    )
    done = spm("statement", "plan.spm", "--deals", "deals.csv", "--out", "out", "--template", "brand", cwd=workspace)
    assert done.returncode == 0, done.stderr
    (eve,) = (workspace / "out").glob("b_eve_b/*.html")
    assert (
        eve.read_text()
        == "<h1>Acme pay: &lt;b&gt;eve&lt;/b&gt;</h1>\n<p>2027-Q1: 8.00 USD</p>\n<p>A1 100.00 × 8% = 8.00</p>"
    )
    assert "&lt;b&gt;eve&lt;/b&gt;" in (workspace / "out" / "index.html").read_text()  # spm's own index


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{{ statement.__class__.__mro__ }}",
            "the template does what a statement template may not: it reads '__class__' of a statement",
        ),
        ("{{ statement.to_csv() }}", "the template does what a statement template may not: it calls a function"),
        ("{{ statement.payot }}", "the template asks for 'payot', which a statement does not have"),
        ("{{ statement.payout | money | int + 'x' }}", "the template cannot be made:"),
        ("{% include 'header.html' %}", "the template includes 'header.html', which is not there"),
    ],
)
def test_a_template_runs_in_a_sandbox_and_its_mistakes_name_its_line(tmp_path, template, message):
    (tmp_path / "statement.html").write_text("<p>fine</p>\n" + template + "\n")
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    with pytest.raises(InputError) as raised:
        result.statements()[0].to_html(Templates(tmp_path))
    assert raised.value.code == "E509"
    assert raised.value.file == f"{tmp_path / 'statement.html'}:2"
    assert raised.value.message.startswith(message), raised.value.message


def _deals(folder: Path) -> Path:
    path = folder / "deals.csv"
    path.write_text(DEALS)
    return path


def test_template_folders_that_cannot_be_used(spm, tmp_path):
    (tmp_path / "empty").mkdir()
    for folder, message in ((tmp_path / "missing", "not a folder of templates"), (tmp_path / "empty", "holds none")):
        with pytest.raises(InputError) as raised:
            Templates(folder)
        assert raised.value.code == "E509" and message in raised.value.message
    done = spm("statement", *AE_ARGS, "--payee", "ben.okafor", "--template", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --template makes HTML statements: say where to write them (--out FOLDER)"
