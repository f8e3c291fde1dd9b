"""The example plan repository: its checks pass, and its workflow's cost step works on a real git branch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

REPO = ROOT / "examples" / "plan-repo"
WORKFLOW = REPO / ".github" / "workflows" / "plans.yml"


def step_script(name: str) -> str:
    """The `run: |` script of a workflow step, as GitHub would run it."""
    lines = WORKFLOW.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- name: {name}")
    run = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run + 1]) - len(lines[run + 1].lstrip())
    body = []
    for line in lines[run + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break
        body.append(line[indent:])
    return "\n".join(body) + "\n"


def test_the_workflow_checks_pass_on_the_example(spm):
    assert spm("check", *sorted((REPO / "plans").glob("*.spm")), "--format", "github", cwd=REPO).returncode == 0
    assert spm("fmt", "--check", "plans", cwd=REPO).returncode == 0
    assert spm("test", "plans", cwd=REPO).returncode == 0


def test_the_cost_step_comments_changed_and_new_plans(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "NO_COLOR": "1",
    }

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "plans")
    git("checkout", "-qb", "raise-the-cap")
    plan = repo / "plans" / "account_executive.spm"
    plan.write_text(plan.read_text().replace("cap 250% of target per year", "cap 300% of target per year"))
    shutil.copy(plan, repo / "plans" / "sales_engineer.spm")
    git("add", ".")
    git("commit", "-qm", "raise the cap; add a plan")
    bin_dir = Path(sys.executable).parent  # where pip installed the spm script, activated or not
    result = subprocess.run(
        ["bash", "-e", "-c", step_script("Cost of the change")],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**env, "BASE": "main", "PATH": f"{bin_dir}:{env['PATH']}"},
    )
    assert result.returncode == 0, result.stderr
    cost = (repo / "cost.md").read_text()
    assert "### Cost of this plan change" in cost
    assert "+ cap 300% of target per year" in cost
    assert "**plans/sales_engineer.spm** is a new plan." in cost
