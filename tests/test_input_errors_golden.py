"""Golden files: what spm says about unusable inputs and test files (tests/golden/input_errors/*/).

Each folder holds a plan, its data and `args` (the spm command line); `expected.txt` is the exit code
and what spm printed. SPM_UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "input_errors"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir())


def observed(spm, folder: Path) -> str:
    result = spm(*shlex.split((folder / "args").read_text()), cwd=folder)
    text = re.sub(
        r" in \d+\.\d\ds$", " in 0.00s", f"exit {result.returncode}\n{result.stdout}{result.stderr}", flags=re.M
    )
    return text.replace(str(folder.resolve()), "<folder>").replace(str(folder.resolve().parent), "<parent>")


@pytest.mark.parametrize("folder", CASES, ids=[p.name for p in CASES])
def test_input_error_message(spm, folder):
    actual = observed(spm, folder)
    expected = folder / "expected.txt"
    if os.environ.get("SPM_UPDATE_GOLDEN"):
        expected.write_text(actual)
    assert actual == expected.read_text()
    assert "Traceback" not in actual
    assert f"[{folder.name.split('-')[0]}]" in actual or folder.name.startswith("E42")
