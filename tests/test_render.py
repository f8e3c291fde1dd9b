"""What people read in a terminal: at any width every amount and name is shown whole, never cut."""

from __future__ import annotations

import io
import re
import time

from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

import spmlang
from spmlang.figures import cents_text, money
from spmlang.report.render.terminal import Sheet, SheetColumn, plain_text, summary_renderable
from spmlang.report.summary import Summary, SummaryRow

AE = EXAMPLES / "plans" / "account_executive.spm"
DEALS = EXAMPLES / "data" / "ae_deals.csv"
AE_INPUTS = dict(quotas=EXAMPLES / "data" / "ae_quotas.csv", targets=EXAMPLES / "data" / "ae_targets.csv")


def layout(text: str) -> str:
    if "┃" in text:
        return "ruled"
    return "plain" if "──" in text else "blocks"


names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz._-"), min_size=1, max_size=30).filter(
    lambda name: name.strip("_") == name and not name.startswith("-")
)
cents = st.integers(-(10**14), 10**14)


@st.composite
def summaries(draw) -> Summary:
    components = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    rows = []
    for payee in draw(st.lists(names, min_size=1, max_size=4, unique=True)):
        amounts = draw(st.lists(cents, min_size=len(components), max_size=len(components)))
        rows.append(
            SummaryRow(
                payee,
                draw(st.sampled_from(["2027-Q1", "2027-Q4", "2027-12"])),
                draw(st.integers(-(10**18), 10**18)),
                draw(st.none() | st.floats(-10, 10)),
                amounts,
                sum(amounts),
            )
        )
    accounting = {"read": 1, "credited": 1, "excluded": {}, "rejected": {}}
    return Summary("A plan", "USD", components, rows, accounting, False, [("transactions", "deals.csv", 1)])


@settings(max_examples=150, deadline=None)
@given(summaries(), st.integers(20, 240))
def test_no_amount_or_name_is_ever_cut_whatever_the_width(summary, width):
    text = plain_text(summary, width)
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= width
    squeezed = re.sub(r"\s", "", text)  # a value wrapped at the console's edge (in blocks, when very narrow)
    for row in summary.rows:
        for value in [row.payee, *map(cents_text, row.by_component), cents_text(row.total)]:
            assert value in squeezed
    assert cents_text(summary.total) in squeezed  # (column names may wrap in a table's header)


@settings(max_examples=100, deadline=None)
@given(summaries())
def test_the_table_is_ruled_where_it_fits_plain_where_it_fits_without_rules_else_one_block_per_row(summary):
    sheet = summary_renderable(summary).renderables[0]
    assert isinstance(sheet, Sheet)
    ruled, plain = sheet.needed(sheet.widths(), True), sheet.needed(sheet.widths(), False)
    assert layout(plain_text(summary, ruled)) == "ruled"
    assert layout(plain_text(summary, plain)) == "plain"
    blocks = plain_text(summary, plain - 1)
    assert layout(blocks) == "blocks"
    labels = ["credit", "attainment", *summary.components, "total"]
    widest = max(
        [4 + max(map(cell_len, labels)) + max(sheet.widths())]
        + [cell_len(f"{row.payee} · {row.period}") for row in summary.rows]
    )
    if widest < plain:  # the blocks' lines fit unwrapped: each cell whole on the line of its column's name
        lines = blocks.splitlines()
        for row in summary.rows:
            assert f"{row.payee} · {row.period}" in lines
            for name, amount in zip(summary.components, row.by_component, strict=True):
                assert any(line.split() == [name, cents_text(amount)] for line in lines)


def test_the_example_run_in_an_80_column_terminal_shows_every_payee_and_amount_whole():
    summary = spmlang.load(AE).run(DEALS, **AE_INPUTS).summary()
    text = plain_text(summary, 80)
    assert layout(text) == "plain" and "…" not in text
    for row in summary.rows:
        assert re.search(
            rf"^{re.escape(row.payee)}\s+{row.period}\s.*\s{re.escape(cents_text(row.total))}$", text, re.MULTILINE
        )
    assert re.search(rf"^total\s.*\s{re.escape(cents_text(summary.total))}$", text, re.MULTILINE)


def test_a_statement_narrower_than_its_table_shows_each_line_as_a_block():
    (statement,) = spmlang.load(AE).run(DEALS, **AE_INPUTS).statements(["ben.okafor"], ["2027-Q3"])
    wide, narrow = plain_text(statement, 120), plain_text(statement, 60)
    assert layout(wide) == "ruled" and layout(narrow) == "blocks"
    assert "…" not in wide + narrow
    line = statement.earnings[0]
    assert f"{line.date} · {line.txn} · {line.component}" in narrow.splitlines()
    assert ["amount", money(line.amount)] in [text.split() for text in narrow.splitlines()]


# Cells as payees and amounts may be: letters of other scripts, wide characters, accents, emoji, spaces.
cell_texts = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")) | st.sampled_from("é中😀 ‐—"), max_size=12
)


@st.composite
def sheets(draw) -> Sheet:
    count = draw(st.integers(1, 5))
    columns = [
        SheetColumn(draw(cell_texts), number=draw(st.booleans()), footer=draw(st.just("") | cell_texts))
        for _ in range(count)
    ]
    rows = draw(st.lists(st.lists(cell_texts, min_size=count, max_size=count), max_size=6))
    caption = draw(st.none() | cell_texts)
    return Sheet(draw(cell_texts), columns, rows, caption=caption)


@settings(max_examples=300, deadline=None)
@given(sheets(), st.integers(10, 120), st.booleans(), st.booleans())
def test_a_ruled_table_drawn_line_by_line_is_the_table_rich_draws(sheet, width, soft_wrap, safe_box):
    # Where the ruled table fits, a console without colour gets its lines drawn at once (a summary of 40,000
    # payee-periods in a file); they are rich's own table, character for character.
    def printed(renderable) -> str:
        console = Console(width=width, color_system=None, file=io.StringIO(), soft_wrap=soft_wrap, safe_box=safe_box)
        console.print(renderable)
        return console.file.getvalue()

    widths = sheet.widths(headers=True)
    if sheet.needed(widths, True) <= width:
        assert printed(sheet) == printed(sheet.table(widths))


def test_a_summary_of_many_rows_is_drawn_in_a_fraction_of_the_time_rich_takes():
    rows = [SummaryRow(f"rep{i:06d}", "2027-Q1", 10**12 + i, 1.5, [i * 7, -i], i * 6) for i in range(4000)]
    accounting = {"read": 1, "credited": 1, "excluded": {}, "rejected": {}}
    summary = Summary("A plan", "USD", ["commission", "spif"], rows, accounting, False, [])
    sheet = summary_renderable(summary, None).renderables[0]
    started = time.process_time()
    drawn = plain_text(sheet, 200)
    drawing = time.process_time() - started
    started = time.process_time()
    by_rich = plain_text(sheet.table(sheet.widths(headers=True)), 200)
    assert drawn == by_rich
    assert drawing < (time.process_time() - started) / 5
