"""docs/errors.md is built from the golden reproducers and stays in step with them."""

import os
from pathlib import Path

from errors_doc import CODES, GOLDEN, build

DOC = Path(__file__).parent.parent / "docs" / "errors.md"


def test_errors_doc_is_up_to_date():
    text = build()
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        DOC.write_text(text)
    assert DOC.exists() and DOC.read_text() == text, "run: SPM_UPDATE_GOLDEN=1 pytest tests/test_errors_doc.py"


def test_every_reproducer_has_a_documented_code():
    codes = {p.stem.split("-")[0] for p in (GOLDEN / "errors").glob("*.spm")}
    codes |= {p.name.split("-")[0] for p in (GOLDEN / "input_errors").iterdir() if p.is_dir()}
    assert codes <= set(CODES)


def test_every_code_the_source_can_emit_is_documented():
    import re

    root = Path(__file__).parent.parent / "spmlang"
    emitted = set()
    for path in root.rglob("*.py"):
        emitted |= set(re.findall(r'"([EW]\d{3})"', path.read_text()))
    emitted -= {"E102"}  # a number token that cannot be read: the token patterns make it unreachable
    assert emitted <= set(CODES), sorted(emitted - set(CODES))
