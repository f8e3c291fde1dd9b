"""spm fmt: canonical, idempotent, meaning-preserving, and every comment kept."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from spmlang.syntax import parse
from spmlang.syntax.format import find_comments, format_source, strip_positions

GOLDEN = Path(__file__).parent / "golden" / "fmt"
ROOT = Path(__file__).parent.parent
PLANS = sorted((ROOT / "examples" / "plans").glob("*.spm")) + sorted((ROOT / "tests" / "scenarios").glob("*.spm"))


def test_messy_plan_formats_to_the_golden_layout():
    source = (GOLDEN / "messy.spm").read_text()
    actual = format_source(source, "messy.spm")
    expected = GOLDEN / "messy.formatted.spm"
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        expected.write_text(actual)
    assert actual == expected.read_text()
    assert format_source(actual) == actual


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_repository_plans_are_formatted(path):
    source = path.read_text()
    assert format_source(source, path.name) == source, f"run: spm fmt {path}"


def check_format(source: str) -> None:
    formatted = format_source(source)
    assert strip_positions(parse(formatted)) == strip_positions(parse(source))
    assert format_source(formatted) == formatted
    assert Counter(c.text for c in find_comments(formatted)) == Counter(c.text for c in find_comments(source))


# ---------------------------------------------------------------------- generated plans

space = st.sampled_from([" ", "  ", "   "])
names = st.sampled_from(["amount", "rep", "day", "kind", "term"])
comments = st.sampled_from(["", "", "  # note", "  # rate: 8% = fine"])


@st.composite
def expressions(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(["amount", "$1,000", "$250.50", "2", "term", "1.5"]))
    op = draw(st.sampled_from(["+", "-", "*"]))
    left, right = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    wrap = draw(st.booleans())
    text = f"{left}{draw(space)}{op}{draw(space)}{right}"
    return f"({text})" if wrap else text


@st.composite
def conditions(draw):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            parts.append(f'kind == "{draw(st.sampled_from(["new", "renewal"]))}"')
        elif choice == 1:
            parts.append(f"{draw(expressions())} > $500")
        elif choice == 2:
            parts.append('kind in ["a", "b"]')
        else:
            parts.append("day in 2027-01-01 .. 2027-03-31")
    joiner = draw(st.sampled_from([" and ", " or "]))
    text = joiner.join(parts)
    return f"not ({text})" if draw(st.booleans()) else text


@st.composite
def plans(draw):
    lines = [
        "# generated",
        f'plan{draw(space)}"G" {{',
        f"  payout{draw(space)}quarterly{draw(comments)}",
        "  year starts 2027-01-01",
        "}",
        "transactions {",
    ]
    lines += [
        f"  column{draw(space)}{n}{draw(space)}{t}{draw(comments)}"
        for n, t in (
            ("id", "text"),
            ("rep", "text"),
            ("day", "date"),
            ("amount", "money"),
            ("kind", "text"),
            ("term", "number"),
        )
    ]
    lines += ["  key id", "  date day", "  payee rep", f"  credit {draw(expressions())}"]
    if draw(st.booleans()):
        lines.append(f"  where f1: {draw(conditions())}{draw(comments)}")
    lines.append("}")
    for index in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            lines.append("")
        lines.append(f"component c{index} {{")
        rule = draw(st.integers(0, 2))
        if rule == 0:
            lines.append(f"  rate {draw(st.sampled_from(['8%', '12.5%', '0.5%']))}{draw(comments)}")
        elif rule == 1:
            lines.append("  tiers marginal on row credit {")
            lines.append(f"    $0{draw(space)}..{draw(space)}$10000 rate 2%{draw(comments)}")
            lines.append(f"    $10,000 ..{draw(space)}rate 4%")
            lines.append("  }")
        else:
            lines.append(f"  pay {draw(expressions())} per deal")
        if draw(st.booleans()):
            lines.append(f"  where {draw(conditions())}")
        if draw(st.booleans()):
            lines.append(f"  multiplier 1.5x when {draw(conditions())}{draw(comments)}")
        if draw(st.booleans()):
            lines.append(f"  cap $5,000 per {draw(st.sampled_from(['row', 'period', 'year']))}")
        if draw(st.booleans()):  # a dated version
            lines.append(f"{draw(space)}from 2027-07-01{draw(space)}{{{draw(comments)}")
            lines.append(f"    rate{draw(space)}{draw(st.sampled_from(['9%', '1.5%']))}{draw(comments)}")
            if draw(st.booleans()):
                lines.append(f"  multiplier 2x when {draw(conditions())}")
            lines.append(f"{draw(space)}}}")
        lines.append("}")
    return "\n".join(lines) + "\n"


@settings(max_examples=examples(150))
@given(plans())
def test_generated_plans_format_keeping_their_meaning_and_comments(source):
    check_format(source)


def test_every_repository_plan_keeps_its_meaning():
    for path in PLANS + [GOLDEN / "messy.spm"]:
        check_format(path.read_text())


def test_fmt_check_exit_codes_and_rewrite(spm, tmp_path):
    plan = tmp_path / "messy.spm"
    plan.write_text((GOLDEN / "messy.spm").read_text())
    check = spm("fmt", "--check", plan)
    assert check.returncode == 1
    assert "(as it is)" in check.stdout and "+  credit amount * 1.2" in check.stdout
    assert "1 of 1 file(s) would be reformatted" in check.stdout
    assert plan.read_text() == (GOLDEN / "messy.spm").read_text()  # --check changes nothing
    rewrite = spm("fmt", plan)
    assert rewrite.returncode == 0 and plan.read_text() == (GOLDEN / "messy.formatted.spm").read_text()
    assert spm("fmt", "--check", plan).returncode == 0
    broken = tmp_path / "broken.spm"
    broken.write_text('plan "x" {\n  payout = quarterly\n}\n')
    assert spm("fmt", broken).returncode == 1
    # A file that cannot be read is said, and not counted as formatted; a folder without plans is no success.
    missing = spm("fmt", "--check", plan, tmp_path / "nope.spm")
    assert missing.returncode == 2 and "1 file(s) already formatted" in missing.stdout
    (tmp_path / "empty").mkdir()
    empty = spm("fmt", tmp_path / "empty")
    assert empty.returncode == 2 and f"no plan files (.spm) in {tmp_path / 'empty'}" in empty.stderr


def test_format_files_is_the_library_spm_fmt_calls(tmp_path):
    """spm fmt's work is the library's (spmlang.formatting): each file formatted or compared, and one that
    cannot be read or parsed an outcome of its own, which stops no other."""
    from spmlang.diagnostics import InputError, PlanError
    from spmlang.formatting import format_files

    messy, tidy = tmp_path / "messy.spm", tmp_path / "tidy.spm"
    messy.write_text((GOLDEN / "messy.spm").read_text())
    tidy.write_text((GOLDEN / "messy.formatted.spm").read_text())
    broken, latin1 = tmp_path / "broken.spm", tmp_path / "latin1.spm"
    broken.write_text('plan "x" {\n  payout = quarterly\n}\n')
    latin1.write_bytes("# caf\u00e9\n".encode("latin-1"))
    files = [broken, latin1, messy, tidy]

    checked = list(format_files(files, check=True))
    assert [(o.path, o.changed) for o in checked] == [(broken, False), (latin1, False), (messy, True), (tidy, False)]
    assert isinstance(checked[0].error, PlanError)
    assert isinstance(checked[1].error, InputError) and "not UTF-8" in str(checked[1].error)
    assert checked[2].diff.startswith(f"--- {messy} (as it is)\n+++ {messy} (formatted)\n")
    assert messy.read_text() == (GOLDEN / "messy.spm").read_text()  # checking changes nothing

    rewritten = list(format_files(files))
    assert [o.changed for o in rewritten] == [False, False, True, False] and rewritten[2].diff == ""
    assert messy.read_text() == (GOLDEN / "messy.formatted.spm").read_text()


def test_fmt_says_a_file_that_is_not_utf8_is_an_input_error(spm, tmp_path):
    latin1 = tmp_path / "latin1.spm"
    latin1.write_bytes("# caf\u00e9\n".encode("latin-1"))
    result = spm("fmt", "--check", latin1, tmp_path / "missing.spm")
    assert result.returncode == 2, result.stderr
    assert f"error[E500]: {latin1}: the plan file is not UTF-8 text" in result.stderr
    assert f"error[E500]: {tmp_path / 'missing.spm'}: plan file not found" in result.stderr
    assert "internal error" not in result.stderr


def test_a_data_file_given_as_the_plan_is_named_for_what_it_is(spm, tmp_path):
    """spm explain ledger.parquet said the plan file was not UTF-8 text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ledger = tmp_path / "ledger.parquet"
    pq.write_table(pa.table({"payee": ["ann"]}), ledger)
    for command in (["check", ledger], ["explain", ledger, "--payee", "ann"]):
        result = spm(*command)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            f"error[E500]: {ledger}: is a parquet file, not a plan file\n  = hint: give the plan (.spm) here, and "
            "its data with the options (--deals, --quotas, --paid ...)"
        )


def test_fmt_rewrites_a_plan_whole_keeping_its_permissions_and_links(spm, tmp_path):
    """A formatted plan is written beside itself and moved into place (so that a stopped run never leaves half
    a plan: see the next test); it still keeps its permissions, and a plan reached through a symbolic link
    stays linked (its target is rewritten)."""
    import os
    import stat

    target = tmp_path / "plans" / "messy.spm"
    target.parent.mkdir()
    target.write_text((GOLDEN / "messy.spm").read_text())
    target.chmod(0o640)
    link = tmp_path / "linked.spm"
    link.symlink_to(target)
    assert spm("fmt", link).returncode == 0
    assert link.is_symlink() and target.read_text() == (GOLDEN / "messy.formatted.spm").read_text()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["messy.spm"]  # no partial file left


def test_a_text_file_stopped_midway_leaves_what_was_there(tmp_path, monkeypatch):
    from spmlang.files import write_text

    path = tmp_path / "plan.spm"
    path.write_text("before\n")
    original = Path.write_text

    def stopped(self, content, *args, **kwargs):
        original(self, content[:3], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", stopped)
    with pytest.raises(KeyboardInterrupt):
        write_text(path, "after, and much longer\n")
    monkeypatch.undo()
    assert path.read_text() == "before\n" and [p.name for p in tmp_path.iterdir()] == ["plan.spm"]


# A line of plan text: code, strings with escapes and a comment, as the grammar's tokens read it.
_STRING = st.builds(
    lambda parts: '"' + "".join(parts) + '"',
    st.lists(st.sampled_from(["a", " ", "#", "{", "}", ";", '\\"', "\\\\", "é"]), max_size=6),
)
_CODE = st.sampled_from(["rate", " ", "8%", "{", "}", ";", "x == ", "é"])


@given(
    st.lists(st.one_of(_CODE, _STRING), max_size=8),
    st.one_of(st.none(), st.text(alphabet='ab #"{\\', max_size=8)),
)
def test_the_code_of_a_line_is_what_the_grammar_reads_outside_strings_and_comments(pieces, comment):
    from lark import Lark

    from spmlang.syntax.lexical import code_part, comment_of

    line = "".join(pieces) + ("" if comment is None else "#" + comment)
    tokens = Lark(
        r"""start: (STRING | CODE)* COMMENT?
            STRING: /"([^"\\\n]|\\.)*"/
            CODE: /[^"#]+/
            COMMENT: /#[^\n]*/""",
        parser="lalr",
    ).lex(line)
    expected_code, expected_comment = "", None
    for token in tokens:
        if token.type == "COMMENT":
            expected_comment = str(token)
        elif token.type == "STRING":
            expected_code += '"' + " " * (len(token) - 2) + '"'
        else:
            expected_code += str(token)
    assert code_part(line) == expected_code
    assert comment_of(line) == expected_comment
