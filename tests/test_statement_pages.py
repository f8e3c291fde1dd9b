"""Statement pages: spm's templates, a company's own (--template DIR) in Jinja2's sandbox, autoescaped; and
the charts they carry."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import AE_ARGS, CRM_ARGS, EMEA_ARGS, ROOT, SDR_ARGS
from helpers import quarterly_plan
from test_batches import run_example

import spmlang
from spmlang.diagnostics import InputError
from spmlang.report.render.html import Templates

PLAN = quarterly_plan("Pages", "component commission {\n  rate 8%\n}\n")
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
        # Nor a page of a size no statement needs: 5.6 GB of statements from `'a' * 1000000000` before.
        ("{{ '-' * 1000000000 }}", "the template does what a statement template may not: it repeats a text"),
        ("{{ [0] * 100001 }}", "the template does what a statement template may not: it repeats a text or a list"),
        ("{{ 2 ** 1000000 }}", "the template does what a statement template may not: it raises to a power above"),
        # A power of a power took minutes and gigabytes at the fourth: 10 ** 100 ** 4 digits.
        ("{{ ((10 ** 100) ** 100) ** 100 > 0 }}", "the template does what a statement template may not: it makes a"),
        ("{{ (10 ** 100) ** 25 * (10 ** 100) ** 25 > 0 }}", "the template does what a statement template may not: it"),
        ("{{ lipsum(1000000) }}", "the template does what a statement template may not: it calls a function"),
        # Nor a text of gigabytes by any other way, though the page shows only its length: each took the
        # machine's memory before.
        *[
            (f"{{{{ ({grown})|length }}}}", "the template does what a statement template may not: it makes a text")
            for grown in (
                "'%*d' % (1000000000, 1)",
                "'-'|center(1000000000)",
                "('\\n' * 50000)|indent(1000000)",
                "('-' * 100000)|replace('', '-' * 100000)",
                "(['-' * 100000] * 1000)|join",
                "([['-'] * 100000] * 1000)|sum(start=[])",
            )
        ],
        *[
            (
                "{% set ns = namespace(s='-' * 100000) %}{% for i in range(40) %}"
                f"{{% set ns.s = ns.s {joined} ns.s %}}{{% endfor %}}{{{{ ns.s|length }}}}",
                "the template does what a statement template may not: it makes a text or a list of more than",
            )
            for joined in ("~", "+")
        ],
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


# Each of the ways a template has to grow a text or a list from a small one, at a small scale: ten times the
# limit, which is made small here (each took the machine's memory at the real one, the page showing a length).
GROWN = [
    "{% set ns = namespace(big='x' * 100) %}{% set y = ([ns] * 30) ~ '' %}{{ y|length }}",
    "{% set ns = namespace(big='x' * 100) %}{{ ([ns] * 30)|join(attribute='big')|length }}",
    "{{ ('%s%s%s%s%s%s%s%s%s%s' % (('-' * 900,) * 10))|length }}",
    "{% set ns = namespace(s='-' * 500) %}{% for i in range(6) %}{% set ns.s = '%s%s' % (ns.s, ns.s) %}"
    "{% endfor %}{{ ns.s|length }}",
    "{{ ('%(a)s' * 20)|format(a='-' * 900)|length }}",
    "{{ ('%(a)5000d' % {'a': 1})|length }}",
    "{{ ('%(a)5000d'|format(a=1))|length }}",
    "{{ (('-' * 100)|replace('', '-' * 100, -1))|length }}",
    "{{ (('-' * 100)|join('-' * 100))|length }}",
    "{{ (range(100)|join('-' * 100))|length }}",
    "{{ ([('-' * 100)] * 100)|string|length }}",
    "{{ ('' ~ [('-' * 100)] * 100)|length }}",
    "{{ ([{'a': ['-'] * 100}] * 100)|sum(attribute='a', start=[])|length }}",
    "{{ ([['-'] * 100] * 100)|select|sum(start=[])|length }}",
    "{{ ([1]|batch(100000, 0)|first)|length }}",
    "{{ ([1]|slice(20000)|list)|length }}",
    "{{ (('-' * 100)|wordwrap(1, wrapstring='-' * 100))|length }}",
    "{{ (('http://a ' * 100)|urlize(target='-' * 100))|length }}",
    "{{ (range(100)|list|tojson(100))|length }}",
    "{% macro m() %}{% for i in range(100) %}{{ '-' * 100 }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "{% set big %}{% for i in range(100) %}{{ '-' * 100 }}{% endfor %}{% endset %}{{ big|length }}",
    "{% set s = '-' * 900 %}{{ (s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s)|length }}",
    "{{ ('-' * 100)|center(5000)|length }}",
]


@pytest.mark.parametrize("template", GROWN)
def test_a_template_grows_no_text_or_list_past_a_page_s_length(tmp_path, monkeypatch, template):
    from spmlang.report.render import sandbox

    monkeypatch.setattr(sandbox, "LONGEST_TEXT", 1000)
    (tmp_path / "statement.html").write_text(template)
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    with pytest.raises(InputError) as raised:
        result.statements()[0].to_html(Templates(tmp_path))
    assert raised.value.code == "E509"
    assert raised.value.message.startswith(
        "the template does what a statement template may not: it makes a text or a list of more than 1,000"
    ), raised.value.message


def test_a_template_growing_a_text_any_other_way_stops_at_a_page_s_memory(tmp_path, monkeypatch):
    """Past the ways counted (the limit raised here so that none of them stops it), the process holds at most a
    page's memory more while a company's template runs (Linux): the doubling is said, not the machine's memory
    taken. And a decimal of a huge exponent is refused before ``|int`` writes its million digits."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the process's memory is bounded on Linux")
    import resource

    from spmlang.report.render import sandbox

    monkeypatch.setattr(sandbox, "LONGEST_TEXT", 10**15)
    monkeypatch.setattr(sandbox, "HEADROOM", 200 << 20)
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    statement = result.statements()[0]
    for name, template, said in (
        (
            "doubled",
            "{% set ns = namespace(s='-' * 100000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}{{ ns.s|length }}",
            "the template needs more memory than a page may take (200 MB)",
        ),
        (
            "exponent",
            "{{ (((statement.payout * 10 ** 100) ** 100) ** 99)|int }}",
            "the template does what a statement template may not: it makes a number of more than 3,000 digits",
        ),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "statement.html").write_text(template)
        with pytest.raises(InputError) as raised:
            statement.to_html(Templates(tmp_path / name))
        assert raised.value.code == "E509" and raised.value.message == said, raised.value.message
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY  # given back


def test_a_sum_of_many_lists_is_made_in_one_pass(tmp_path):
    # Python's sum adds each list to all before it: minutes for these, in one step no page timer stops.
    (tmp_path / "statement.html").write_text("{{ (([[''], ['']] * 50000)|sum(start=[]))|length }}")
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    started = time.monotonic()
    assert result.statements()[0].to_html(Templates(tmp_path)) == "100000"
    assert time.monotonic() - started < 10


def test_a_template_s_arithmetic_and_filters_within_a_page_work_as_in_jinja2(tmp_path):
    template = (
        "{{ 5000 + 5000 }} {{ 2027 + 2027 }} {{ 123456 % 10000 }} {{ '%5d'|format(3) }}|"
        "{{ 'ab'|center(6) }}|{{ ['a', 'b']|join(',') }}|{{ [[1], [2]]|sum(start=[]) }}|{{ 'x' ~ 'y' }}|"
        "{{ '%s-%s' % ('a', 1) }}|{{ [1, 2, 3]|batch(2)|list }}|{{ range(3)|map('string')|join('-') }}|"
        "{{ 'a b c'|wordwrap(3) }}|{{ 'aXb'|replace('X', '-') }}|{{ 3|string }}|{{ [1]|tojson }}"
    )
    (tmp_path / "statement.html").write_text(template)
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    page = result.statements()[0].to_html(Templates(tmp_path))
    assert page == ("10000 4054 3456     3|  ab  |a,b|[1, 2]|xy|a-1|[[1, 2], [3]]|0-1-2|a b\nc|a-b|3|[1]"), page


def test_a_template_reads_its_own_folder_as_utf8_text_and_nothing_else(tmp_path):
    """A link in the template folder to a file outside it (a statement that would show /etc/passwd) and a
    template saved in another encoding: errors naming the file, never a page or a traceback."""
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    (tmp_path / "secret.txt").write_text("the payroll password\n")
    for name, make, message in (
        ("link", lambda f: (f / "statement.html").symlink_to(tmp_path / "secret.txt"), "is a link to"),
        ("include", lambda f: _include_link(f, tmp_path / "secret.txt"), "the template 'part.html' is a link to"),
        (
            "latin-1",
            lambda f: (f / "statement.html").write_bytes("<p>Gehalt für {{ x }}</p>".encode("latin-1")),
            "the template is not UTF-8 text (byte 12 is not)",
        ),
    ):
        folder = tmp_path / name
        folder.mkdir()
        make(folder)
        with pytest.raises(InputError) as raised:
            result.statements()[0].to_html(Templates(folder))
        assert raised.value.code == "E509" and message in raised.value.message, raised.value.message
    (tmp_path / "inside").mkdir()  # a link within the folder is its own file
    (tmp_path / "inside" / "page.html").write_text("<p>{{ statement.payee }}</p>")
    (tmp_path / "inside" / "statement.html").symlink_to("page.html")
    assert result.statements()[0].to_html(Templates(tmp_path / "inside")) == "<p>&lt;b&gt;eve&lt;/b&gt;</p>"


def _include_link(folder: Path, target: Path) -> None:
    (folder / "statement.html").write_text("{% include 'part.html' %}")
    (folder / "part.html").symlink_to(target)


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


# ---------------------------------------------------------------------- charts

AE = Path(__file__).resolve().parent.parent / "examples"


def ae_result():
    return spmlang.load(AE / "plans" / "account_executive.spm").run(
        AE / "data" / "ae_deals.csv", quotas=AE / "data" / "ae_quotas.csv", targets=AE / "data" / "ae_targets.csv"
    )


def test_where_a_payee_stands_is_said_from_the_statements_own_figures():
    from decimal import Decimal

    from spmlang.figures import money, percent

    for statement in ae_result().statements(["dev.patel"]):
        standing = statement.standing
        credit = (statement.attainment * statement.quota).quantize(Decimal("0.01"))  # to date: the measure
        (position,) = standing.positions  # commission; the SPIF pays per deal: no curve to stand on
        assert (
            position.words[0] == f"You are here: {percent(statement.attainment)} attainment, {money(credit)} of credit."
        )
        tiers = [(Decimal("0.5"), "8% × 1x"), (Decimal("1"), "8% × 1.5x"), (Decimal("1.5"), "8% × 2x")]
        low, rate = next((low, rate) for low, rate in tiers if low * statement.quota > credit)
        assert (
            position.words[1] == f"The next tier ({rate}) starts in {money(low * statement.quota - credit)} of credit."
        )
        # The attainment line ends where the statement's attainment is, at the period's end.
        assert standing.path[-1] == (dt.date.fromisoformat(statement.period_end), float(statement.attainment))
        days = {day.isoformat() for day, _ in standing.path}
        assert {line.date for line in statement.earnings if line.component == "commission"} <= days
        assert [x for x, _ in standing.breakpoints] == [0.5, 1.0, 1.5]
    q3 = ae_result().statements(["dev.patel"], ["2027-Q3"])[0]
    assert q3.standing.positions[0].words[1] == "The next tier (8% × 1.5x) starts in 146,626.96 of credit."


def test_where_a_payee_stands_under_a_rate_change_is_on_the_rule_in_force_at_the_period_s_end():
    result = spmlang.load(AE / "plans" / "account_executive_july.spm").run(
        AE / "data" / "ae_deals.csv", quotas=AE / "data" / "ae_quotas.csv", targets=AE / "data" / "ae_targets.csv"
    )
    q2, q3 = result.statements(["dev.patel"], ["2027-Q2", "2027-Q3"])
    assert "8% × " in q2.standing.positions[0].words[1] and "9% × " in q3.standing.positions[0].words[1]
    assert q3.standing.positions[0].curve.title == "component commission from 2027-07-01: rate 9%"
    labels = dict(q3.standing.breakpoints)
    assert labels[1.5] == "8% × 2x, 9% × 2.5x from 2027-07-01"


def test_the_you_are_here_mark_is_on_the_curve_at_the_payees_measure():
    (statement,) = ae_result().statements(["ben.okafor"], ["2027-Q2"])
    (position,) = statement.standing.positions
    paid = position.curve.paid
    assert position.x == pytest.approx(float(statement.attainment) * 100)
    assert position.y == pytest.approx(float(np.interp(position.x, paid.x, paid.y)), rel=1e-6)


def test_a_statement_page_carries_its_charts_inline():
    (statement,) = ae_result().statements(["dev.patel"], ["2027-Q3"])
    page = statement.to_html()
    svgs = re.findall(r"<svg [^>]*>", page)
    assert len(svgs) == 2 and all('class="chart"' in svg and "viewBox" in svg for svg in svgs)
    assert not any(re.search(r'\s(width|height)="', svg) for svg in svgs), "as wide as the page, not fixed"
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/", "")
    assert not re.search(r'(src|href)="(?!#)', page.split("<main>")[1]), "no file and no address outside the page"
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "two charts on one page share no id"
    assert '<p class="standing">The next tier (8% × 1.5x) starts in 146,626.96 of credit.</p>' in page
    assert 'aria-label="attainment through the year: 79.05%"' in page
    assert page == ae_result().statements(["dev.patel"], ["2027-Q3"])[0].to_html(), "the same page, the same bytes"


def test_without_matplotlib_statements_are_written_without_charts(spm, tmp_path):
    blocked = tmp_path / "blocked" / "matplotlib"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    path = os.pathsep.join([str(blocked.parent), os.environ.get("PYTHONPATH", "")])
    out = tmp_path / "out"
    done = spm("statement", *AE_ARGS, "--payee", "dev.patel", "--out", out, env={"PYTHONPATH": path})
    assert done.returncode == 0, done.stderr
    assert "note: the statements have no charts: charts need matplotlib; install it with: pip install " in done.stderr
    page = (out / "dev.patel" / "2027-Q3.html").read_text()
    assert "<svg" not in page and "Where you stand" not in page and "Payout 2027-Q3" in page


def test_no_charts_leaves_the_page_as_it_is_without_them(spm, tmp_path):
    for folder, extra in (("with", []), ("without", ["--no-charts"])):
        done = spm(
            "statement", *AE_ARGS, "--payee", "dev.patel", "--period", "2027-Q3", "--out", tmp_path / folder, *extra
        )
        assert done.returncode == 0, done.stderr
    with_charts = (tmp_path / "with" / "dev.patel" / "2027-Q3.html").read_text()
    without = (tmp_path / "without" / "dev.patel" / "2027-Q3.html").read_text()
    assert "<svg" in with_charts and "<svg" not in without
    charts = re.search(r"<h2>Where you stand</h2>.*?(?=<h2>By component</h2>)", with_charts, re.S)
    assert with_charts.replace(charts.group(0), "") == without


def test_spm_s_own_templates_make_the_same_page_outside_the_sandbox(tmp_path, monkeypatch):
    # A company's templates run in the sandbox; spm's own are spm's code, rendered without its checks on every
    # attribute and call (~40% of a page's time): the same page, and not one check made.
    from jinja2.sandbox import SandboxedEnvironment

    from spmlang.report.render.html import BUILT_IN

    for name in ("statement.html", "index.html", "style.css"):  # spm's templates, as a company's folder
        (tmp_path / name).write_text((BUILT_IN / name).read_text())
    plan, _, deals, _, quotas, _, targets = (ROOT / arg for arg in AE_ARGS)
    statement = spmlang.load(plan).run(deals, quotas=quotas, targets=targets).statements()[0]
    checked = []
    is_safe = SandboxedEnvironment.is_safe_attribute

    def counted(self, obj, attr, value):
        checked.append(attr)
        return is_safe(self, obj, attr, value)

    monkeypatch.setattr(SandboxedEnvironment, "is_safe_attribute", counted)
    ours = Templates().statement(statement, charts=[])
    assert checked == []
    in_sandbox = Templates(tmp_path).statement(statement, charts=[])
    assert ours == in_sandbox and len(checked) > 20


@pytest.mark.parametrize("args", [AE_ARGS, SDR_ARGS, CRM_ARGS, EMEA_ARGS], ids=["ae", "sdr", "crm", "emea"])
def test_statement_charts_drawn_on_the_shared_figure_are_those_of_a_new_one(args):
    # Statements draw their charts on one figure of each kind, emptied each time (render/charts.py): what each
    # chart shows must not depend on the charts drawn before it, whatever their scales, marks and labels.
    pytest.importorskip("matplotlib", reason="charts need matplotlib")
    from spmlang.report.render import charts

    standings = [s.standing for s in run_example(args).statements() if s.standing is not None and s.standing.path]
    assert standings
    standings = standings[:: max(1, len(standings) // 16)]  # a few of each payee's and period's, in order
    drawn = 0
    for standing in [*standings, *reversed(standings)]:
        pairs = [(charts.attainment_figure, standing)] + [(charts.position_figure, p) for p in standing.positions]
        for figure_of, shown in pairs:
            shared = charts.inline_svg(figure_of(shown), "chart", "s")
            assert shared == charts.inline_svg(figure_of(shown, fresh=True), "chart", "s")
            drawn += 1
    assert drawn >= len(standings) * 2


def test_statement_charts_made_in_threads_at_once_are_each_their_own():
    # matplotlib's settings are the process's, and statements share one figure of each kind: pages made in
    # several threads at once (a web server's) must each show their own payee's charts, not a mix.
    pytest.importorskip("matplotlib", reason="charts need matplotlib")
    import threading

    from spmlang.report.render import charts

    standings = [s.standing for s in run_example(CRM_ARGS).statements() if s.standing is not None][:48:6]
    wanted = [charts.standing_charts(standing) for standing in standings]
    assert len({str(w) for w in wanted}) == len(standings)
    got: dict[int, list] = {}

    def make(n: int) -> None:
        got[n] = [charts.standing_charts(standings[n]) for _ in range(3)]

    threads = [threading.Thread(target=make, args=(n,)) for n in range(len(standings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got.get(n) for n in range(len(standings))] == [[w] * 3 for w in wanted]


def test_a_template_writes_figures_with_spms_filters_from_numbers_and_their_text(tmp_path):
    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    statement = result.statements()[0]
    folder = tmp_path / "figures"
    folder.mkdir()
    page = folder / "statement.html"
    page.write_text("{{ 1234.5 | money }} {{ '8000' | money }} {{ statement.payout | money }} {{ 0.125 | percent }}")
    assert statement.to_html(Templates(folder)) == f"1,234.50 8,000.00 {statement.payout:,} 12.5%"
    for number, (bad, message) in enumerate(
        (("'abc' | money", "the money filter takes an amount, not 'abc'"), ("[1] | percent", "takes a ratio"))
    ):
        folder = tmp_path / f"bad{number}"  # a folder's templates are read once
        folder.mkdir()
        (folder / "statement.html").write_text("{{ " + bad + " }}")
        with pytest.raises(InputError) as raised:
            statement.to_html(Templates(folder))
        assert raised.value.code == "E509" and message in raised.value.message, raised.value.message
        assert "quantize" not in raised.value.message and "has no attribute" not in raised.value.message


# A page's deadline may fire inside hypothesis's garbage-collector callback, where Python prints it and lets it
# go; it fires again (test_a_page_s_time_limit_lost_where_python_cannot_raise_it_comes_again).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_template_makes_a_page_within_a_size_and_a_time(tmp_path, monkeypatch):
    """Loops of loops (each `range` of the sandbox is short, their product is not) would write a page of
    gigabytes, or run for hours: a company's template stops at a page's size, or its time."""
    from spmlang.report.render import html

    result = spmlang.loads(PLAN, str(tmp_path / "plan.spm")).run(_deals(tmp_path))
    statement = result.statements()[0]
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}<td>{{ a }}</td>{% endfor %}{% endfor %}"
    silent = loops.replace("<td>{{ a }}</td>", "{% set x = a %}")  # writes nothing while it loops, for hours
    for name, patch, said, template in (
        ("long", ("_PAGE_CHARS", 1_000_000), "the template makes a page longer than 1,000,000 characters", loops),
        ("slow", ("_PAGE_SECONDS", 0.2), "the template takes more than 0.2 s to make a page", loops),
        ("silent", ("_PAGE_SECONDS", 0.2), "the template takes more than 0.2 s to make a page", silent),
    ):
        monkeypatch.setattr(html, *patch)
        folder = tmp_path / name
        folder.mkdir()
        (folder / "statement.html").write_text(template)
        with pytest.raises(InputError) as raised:
            statement.to_html(Templates(folder))
        assert raised.value.code == "E509" and raised.value.message == said
        assert raised.value.file == str(folder / "statement.html")
        monkeypatch.undo()
    folder = tmp_path / "fine"  # a page of a usual size is made as before
    folder.mkdir()
    (folder / "statement.html").write_text("{% for a in range(1000) %}<td>{{ a }}</td>{% endfor %}")
    assert statement.to_html(Templates(folder)).count("<td>") == 1000


def test_a_page_s_time_limit_lost_where_python_cannot_raise_it_comes_again():
    """Raised in a garbage collector's callback or a destructor, the deadline's Slow is printed and lost: the
    page is still stopped, by the next."""
    import signal
    import time

    from spmlang.report.render.sandbox import Slow, deadline

    if not hasattr(signal, "setitimer"):
        pytest.skip("no timer signal on this system: pages are stopped between the pieces they write")
    started = time.monotonic()
    with pytest.raises(Slow), deadline(0.05):
        try:
            time.sleep(5)
        except Slow:
            pass  # lost, as in a callback
        time.sleep(5)
    assert time.monotonic() - started < 1


def test_a_page_s_time_limit_gives_a_program_its_own_timer_back():
    """spm times a company's page with the process's timer signal; a program embedding spm that set its own
    timer has it back afterwards, with what was left of it."""
    import signal
    import time

    from spmlang.report.render.sandbox import Slow, deadline

    if not hasattr(signal, "setitimer"):
        pytest.skip("no timer signal on this system: pages are stopped between the pieces they write")
    fired: list[float] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with deadline(5):
            time.sleep(0.1)
        time.sleep(0.8)
        assert len(fired) == 1 and 0.45 < fired[0] - started < 0.8
        with pytest.raises(Slow), deadline(0.05):
            while True:  # a loop that writes nothing is stopped all the same
                time.sleep(0.01)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_page_s_time_limit_lets_a_signal_due_as_it_ends_go_without_waiting_for_it():
    """The timer's signal is sent to the process: while the page's end holds it back, another thread may take
    it, so the end never waits for one (a wait once hung a test run); one still pending is discarded, never
    delivered to the program's own handler afterwards."""
    import signal
    import subprocess
    import sys

    if not hasattr(signal, "setitimer") or not hasattr(signal, "pthread_sigmask"):
        pytest.skip("no timer signal on this system: pages are stopped between the pieces they write")
    script = (
        "import os, signal\n"
        "from spmlang.report.render.sandbox import deadline\n"
        "called = []\n"
        "signal.signal(signal.SIGALRM, lambda *_: called.append(1))\n"
        "signal.sigwait = signal.sigtimedwait = None  # a wait would fail here\n"
        "with deadline(5):\n"
        "    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
        "    os.kill(os.getpid(), signal.SIGALRM)  # due as the page ends: pending\n"
        "pending = signal.SIGALRM in signal.sigpending()\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})\n"
        "print('pending' if pending else 'let go', 'delivered' if called else 'not delivered')\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert finished.stdout == "let go not delivered\n", finished.stderr
