"""The editor support stays in step with the language: the VS Code extension's TextMate grammar highlights
every keyword of grammar/spm.lark and no word the language does not have, and each hover line of a keyword is
word for word in the manual."""

from __future__ import annotations

import json
import re
from pathlib import Path

from spmlang.lsp import plan_model
from spmlang.lsp.keywords import BUILTINS, FUNCTIONS_LINE, KEYWORDS, TEST_KEYWORDS
from spmlang.lsp.symbols import PERIOD_END_BUILTINS, ROW_BUILTINS

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
TMLANGUAGE = VSCODE / "syntaxes" / "spm.tmLanguage.json"


def grammar_keywords() -> set[str]:
    """Every word string literal of the lark grammar: "plan", "rate", "true" ..."""
    text = (ROOT / "grammar" / "spm.lark").read_text(encoding="utf-8")
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    return set(re.findall(r'"([a-z_]+)"', code))


def regexes(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(regexes(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(regexes(value))
    return found


def highlighted_words() -> set[str]:
    """The words the TextMate grammar's patterns spell out (escapes, classes and group syntax removed)."""
    words = set()
    for pattern in regexes(json.loads(TMLANGUAGE.read_text(encoding="utf-8"))):
        pattern = re.sub(r"\\.", " ", pattern)  # \b \s \d \w \. ...
        pattern = re.sub(r"\[[^\]]*\]", " ", pattern)  # [A-Za-z_] ...
        pattern = re.sub(r"\(\?(?:<?[=!]|:)", " ", pattern)  # (?: (?= (?! (?<=
        pattern = re.sub(r"\{\d+(,\d*)?\}", " ", pattern)
        words.update(w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pattern) if w.islower() and len(w) > 1)
    return words


def language_words() -> set[str]:
    settings = {word for words in plan_model.WORDS.values() for word in words}
    return grammar_keywords() | settings | set(plan_model.ALIASES) | set(ROW_BUILTINS) | set(PERIOD_END_BUILTINS)


def test_every_keyword_of_the_grammar_is_highlighted():
    missing = grammar_keywords() - highlighted_words()
    assert not missing, f"the TextMate grammar does not highlight: {sorted(missing)}"


def test_the_highlighting_has_no_word_the_language_does_not_have():
    unknown = highlighted_words() - language_words()
    assert not unknown, f"the TextMate grammar highlights words spm does not have: {sorted(unknown)}"


def test_the_grammar_s_keywords_are_those_the_parser_knows():
    assert grammar_keywords() == plan_model.grammar_keywords()


def test_the_extension_contributes_the_language():
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    [language] = package["contributes"]["languages"]
    assert set(language["extensions"]) == {".spm", ".test.spm"}
    [grammar] = package["contributes"]["grammars"]
    assert (VSCODE / grammar["path"]).is_file() and grammar["language"] == language["id"]
    configuration = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#"
    assert ["{", "}"] in configuration["brackets"]
    properties = package["contributes"]["configuration"]["properties"]
    assert properties["spm.server.command"]["default"] == "spm"
    assert properties["spm.server.args"]["default"] == ["lsp"]


def _words_of(path: Path) -> str:
    return re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))


def test_each_hover_line_is_word_for_word_in_the_manual():
    language = _words_of(ROOT / "docs" / "language.md")
    review = _words_of(ROOT / "docs" / "review.md")
    for word, line in {
        **KEYWORDS,
        **{f"builtin {k}": v for k, v in BUILTINS.items()},
        "functions": FUNCTIONS_LINE,
    }.items():
        assert re.sub(r"\s+", " ", line) in language, word
    for word, line in TEST_KEYWORDS.items():
        assert re.sub(r"\s+", " ", line) in review, word
