"""Golden files: what spm says for each mistake (tests/golden/errors/*.spm -> *.txt).

Set SPM_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change,
then read the diff: these are messages people see.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import spmlang

GOLDEN = Path(__file__).parent / "golden" / "errors"
CASES = sorted(GOLDEN.glob("*.spm"))


def check_output(path: Path) -> str:
    """What `spm check` says about a plan, as plain text (paths shown by file name)."""
    try:
        plan = spmlang.loads(path.read_text(), path.name)
    except spmlang.PlanError as error:
        return error.render() + "\n"
    from spmlang.diagnostics import render_diagnostics

    return (render_diagnostics(plan.warnings, {path.name: plan.checked.source}) + "\n") if plan.warnings else "ok\n"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_error_message(path: Path):
    expected_file = path.with_suffix(".txt")
    actual = check_output(path)
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        expected_file.write_text(actual)
    assert expected_file.exists(), f"no golden file for {path.name}: run with SPM_UPDATE_GOLDEN=1"
    assert actual == expected_file.read_text()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_reproducer_shows_its_own_code(path: Path):
    code = path.stem.split("-")[0]
    assert f"[{code}]" in check_output(path)
