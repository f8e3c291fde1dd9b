"""In notebooks: a plan and a run as static HTML, every text escaped; the ledger as pandas and polars DataFrames,
money exact."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pytest

import spmlang

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AE = EXAMPLES / "plans" / "account_executive.spm"
AE_DATA = {
    "deals": EXAMPLES / "data" / "ae_deals.csv",
    "quotas": EXAMPLES / "data" / "ae_quotas.csv",
    "targets": EXAMPLES / "data" / "ae_targets.csv",
}
HOSTILE = '<img src=x onerror="alert(1)">&'


class _Tags(HTMLParser):
    """The tags of an HTML text, and its text."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def test_a_plan_shows_its_year_periods_and_each_rule_with_its_tier_table():
    html = spmlang.load(AE)._repr_html_()
    text = " ".join(parsed(html).text)
    assert "Account Executive FY2027" in text and "version 2027.1" in text
    assert (
        "Plan year 2027-01-01 to 2027-12-31, paid quarterly in USD: 4 periods, 2027-Q1, 2027-Q2, 2027-Q3, 2027-Q4"
        in text
    )
    assert "Each slice of credit pays 8% times the multiplier of the attainment tier it falls in" in text
    assert (
        "<tr><td>100%–150%</td><td>1.5x</td><td>12%</td></tr>" in html
    )  # the tier table, rates as the ledger has them
    assert "<code>cap 250% of target per year</code>" in html
    assert (
        "only rows where <code>deal_type == &quot;new_logo&quot; and close_date in 2027-01-01 .. 2027-03-31</code>"
        in html
    )
    assert "Each row it pays earns $1,000 (per deal)." in text
    assert set(parsed(html).tags) <= {
        "div",
        "h3",
        "h4",
        "small",
        "p",
        "em",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "ul",
        "li",
        "code",
    }


def test_a_plan_shows_each_dated_version_of_a_component():
    html = spmlang.load(AE.with_name("account_executive_july.spm"))._repr_html_()
    text = " ".join(parsed(html).text)
    assert "Each slice of credit pays 8% times the multiplier" in text  # before July
    assert "<strong>From 2027-07-01</strong> (rows dated then): Each slice of credit pays 9% times the" in html
    assert "<tr><td>150%+</td><td>2.5x</td><td>22.5%</td></tr>" in html


def test_a_plan_escapes_what_it_was_written_with():
    source = (
        f'plan "{HOSTILE.replace(chr(34), chr(39))}" {{\n  version "<b>1</b>"\n  year starts 2027-01-01\n'
        "  payout monthly\n}\n\ntransactions {\n  column id text\n  column rep text\n  column day date\n"
        "  column amount money\n  key id\n  date day\n  payee rep\n  credit amount\n}\n\n"
        'component bonus_small {\n  pay $5 per deal\n  where amount < $10 and rep != "<i>"\n}\n\ncap $20 per month\n'
    )
    html = spmlang.loads(source, "hostile.spm")._repr_html_()
    assert "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;img src=x onerror=&#x27;alert(1)&#x27;&gt;&amp;" in html
    assert "<code>amount &lt; $10 and rep != &quot;&lt;i&gt;&quot;</code>" in html
    assert "<h4>plan caps</h4><ul><li><code>cap $20 per month</code></li></ul>" in html
    assert "12 periods" in html


def test_a_run_shows_the_summary_totals_accounting_and_warnings():
    result = spmlang.load(AE).run(**AE_DATA)
    html = result._repr_html_()
    assert "<caption>Account Executive FY2027 — payout (USD)</caption>" in html
    assert '<th style="text-align: right">698,437.45</th>' in html  # the total, as spm run prints it
    assert "rows read 303: credited 205, excluded 97, rejected 1\n  excluded by filter closed_won: 49" in html
    assert "script" not in html

    def run(day: str):
        deal = {"deal_id": ["D1"], "owner": [HOSTILE], "close_date": [day], "stage": ["Closed Won"]}
        deal |= {"deal_type": ["expansion"], "amount": ["5"], "term_months": ["12"]}
        quotas = pa.table({"owner": [HOSTILE], "quarter": ["2027-Q1"], "quota": ["100"]})
        return plan.run(
            pa.table(deal), quotas=quotas, targets=pa.table({"owner": [HOSTILE], "target_incentive": ["9"]})
        )

    plan = spmlang.load(AE)
    html = run("2027-02-01")._repr_html_()
    assert "<img" not in html and "<tr><td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;</td>" in html
    html = run("2030-01-01")._repr_html_()
    assert "<strong>warning:</strong> no transaction was credited: of 1 rows, 1 was rejected (outside year)" in html


def test_the_ledger_as_pandas_and_polars_keeps_money_exact():
    result = spmlang.load(AE).run(**AE_DATA)
    ledger = result.ledger
    total = sum(ledger["amount"].to_pylist(), Decimal(0))
    frame = result.to_pandas()
    assert list(frame.columns) == ledger.column_names and len(frame) == ledger.num_rows
    assert all(isinstance(value, Decimal) for value in frame["amount"]) and frame["amount"].sum() == total
    assert isinstance(frame["date"].dropna().iloc[0], dt.date)
    polars = result.to_polars()
    assert str(polars.schema["amount"]) == "Decimal(precision=18, scale=2)"
    assert polars["amount"].sum() == total and polars.height == ledger.num_rows
    assert str(polars.schema["attainment_after"]) == "Decimal(precision=18, scale=6)"


@pytest.mark.parametrize("library, method", [("pandas", "to_pandas"), ("polars", "to_polars")])
def test_a_missing_library_says_what_to_install(monkeypatch, library, method):
    result = spmlang.load(AE).run(**AE_DATA)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == library else real(name, *a))
    with pytest.raises(
        ImportError,
        match=re.escape(f"Result.{method}() needs {library}, which is not installed: pip install {library}"),
    ):
        getattr(result, method)()
