"""spm verify reads a manifest as data: the plan and inputs it names only from folders the user chose."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

PLAN = (ROOT / "tests/golden/input_errors/E505-file-outside-the-plan-folder/plan.spm").read_text()
DEALS = "id,rep,day,amount\nD1,ann,2027-01-10,1000\nD2,bob,2027-02-10,2500\n"


@pytest.fixture
def project(tmp_path):
    """project/plan.spm reads ../shared/deals.csv; its ledger is project/out/ledger.csv."""
    (tmp_path / "project").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "project" / "plan.spm").write_text(PLAN.replace("../deals.csv", "../shared/deals.csv"))
    (tmp_path / "shared" / "deals.csv").write_text(DEALS)
    return tmp_path


def run_it(spm, project):
    result = spm("run", "plan.spm", "--allow-outside-paths", "--out", "out/ledger.csv", cwd=project / "project")
    assert result.returncode == 0, result.stderr
    return project / "project" / "out" / "ledger.manifest.json"


def refused(what: str, recorded: str, manifest: str, folders: list) -> str:
    return (
        f"error[E508]: {manifest}: the manifest records {what} at '{recorded}', which is outside the folders "
        f"spm verify reads ({', '.join(str(f.resolve()) for f in folders)})\n"
        "  = hint: a manifest is data, and may name only files under the ledger's folder or the current folder: "
        "name the folder that holds it with --root DIR, or allow it with --allow-outside-paths\n"
    )


def test_an_input_outside_the_ledger_and_current_folders_is_refused_unless_allowed(spm, project):
    run_it(spm, project)
    here = project / "project"
    result = spm("verify", "out/ledger.csv", cwd=here)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == refused(
        "the input 'transactions'", "../../shared/deals.csv", "out/ledger.manifest.json", [here / "out", here]
    )
    for allowed in (["--root", project / "shared"], ["--root", "../shared"], ["--allow-outside-paths"]):
        again = spm("verify", "out/ledger.csv", *allowed, cwd=here)
        assert again.returncode == 0, again.stderr
        assert "out/ledger.csv: identical" in again.stdout
    # from a folder that holds them all, nothing needs allowing
    assert spm("verify", "project/out/ledger.csv", cwd=project).returncode == 0


def test_a_plan_anywhere_on_disk_is_refused_before_it_is_read(spm, project):
    manifest = run_it(spm, project)
    secret = project / "secret.spm"
    secret.write_text("the content of a file no one asked spm to show\n")
    for recorded in (str(secret), "../../secret.spm", "../../../" * 8 + str(secret).lstrip("/")):
        data = json.loads(manifest.read_text())
        data["plan"]["path"] = recorded
        manifest.write_text(json.dumps(data))
        result = spm("verify", "out/ledger.csv", "--root", project / "shared", cwd=project / "project")
        assert result.returncode == 2
        assert result.stderr.startswith(
            f"error[E508]: out/ledger.manifest.json: the manifest records the plan at "
            f"'{recorded}', which is outside the folders spm verify reads"
        )
        assert "no one asked" not in result.stdout + result.stderr


def test_a_link_out_of_the_folder_is_refused(spm, project):
    manifest = run_it(spm, project)
    here = project / "project"
    (here / "out" / "data").symlink_to(project / "shared", target_is_directory=True)  # out/data -> ../../shared
    data = json.loads(manifest.read_text())
    data["inputs"][0]["path"] = "data/deals.csv"
    manifest.write_text(json.dumps(data))
    result = spm("verify", "out/ledger.csv", cwd=here)
    assert result.returncode == 2
    assert "the manifest records the input 'transactions' at 'data/deals.csv', which is outside" in result.stderr
    assert spm("verify", "out/ledger.csv", "--root", "../shared", cwd=here).returncode == 0


def test_what_the_manifest_records_of_allow_outside_paths_allows_nothing(spm, project):
    """The run allowed the plan's own file outside its folder; a manifest that drops the input, so that the plan
    reads its file itself, does not carry that permission to verify."""
    manifest = run_it(spm, project)
    data = json.loads(manifest.read_text())
    assert data["options"]["allow_outside_paths"] is True
    data["inputs"] = []
    manifest.write_text(json.dumps(data))
    result = spm("verify", "out/ledger.csv", cwd=project / "project")
    assert result.returncode == 2
    assert result.stderr.startswith("error[E505]: ")
    assert "the plan names the transactions file '../shared/deals.csv'" in result.stderr
    allowed = spm("verify", "out/ledger.csv", "--allow-outside-paths", cwd=project / "project")
    assert allowed.returncode == 0, allowed.stderr  # the plan read the same file: the same run
