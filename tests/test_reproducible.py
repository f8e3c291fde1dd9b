"""Manifests, byte-identical ledgers, spm verify, spm compile --explain."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import AE_ARGS, ROOT

import spmlang
from spmlang.hashing import sha256_file
from spmlang.report.manifest import RunManifest
from spmlang.verify import verify


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)  # where one works: verify reads the inputs a manifest names under it
    return tmp_path


def test_run_writes_a_manifest_and_the_same_inputs_give_the_same_bytes(spm, workspace):
    for folder in ("a", "b"):
        result = spm(
            "run",
            *AE_ARGS,
            "--out",
            f"{folder}/ledger.parquet",
            "--rejects",
            f"{folder}/rejects.csv",
            "-q",
            cwd=workspace,
        )
        assert result.returncode == 0, result.stderr
    first, second = workspace / "a" / "ledger.parquet", workspace / "b" / "ledger.parquet"
    assert first.read_bytes() == second.read_bytes()
    manifest = RunManifest.read(workspace / "a" / "ledger.manifest.json")
    assert manifest.plan.name == "Account Executive FY2027" and manifest.plan.version == "2027.1"
    assert {(i.name, i.rows) for i in manifest.inputs} == {("transactions", 303), ("quotas", 32), ("targets", 8)}
    deals = next(i for i in manifest.inputs if i.name == "transactions")
    assert deals.path == "../examples/data/ae_deals.csv"
    assert deals.sha256 == sha256_file(workspace / "examples/data/ae_deals.csv")
    assert manifest.ledger.sha256 == sha256_file(first) and manifest.ledger.rows == 245
    assert manifest.rejects.rows == 1
    assert manifest.accounting["rejected"] == {"outside_year": 1}
    assert "timestamp" not in json.dumps(manifest.model_dump()).lower()


def test_each_input_file_is_hashed_once_for_the_run_id_and_the_manifest(workspace, monkeypatch):
    from spmlang import hashing

    hashed = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda path: hashed.append(path) or real(path))
    data = workspace / "examples/data"
    result = spmlang.load(workspace / "examples/plans/sdr.spm").run(
        data / "sdr_activities.csv", quotas=data / "sdr_quotas.csv"
    )
    assert result.run_id
    ledger = result.write(workspace / "out" / "ledger.parquet")
    inputs = [path for path in hashed if path != ledger]
    assert sorted(inputs) == sorted({*inputs}) and len(inputs) == 2  # deals and quotas, once each
    manifest = RunManifest.read(workspace / "out" / "ledger.manifest.json")
    assert {i.name: i.path for i in manifest.inputs} == {
        "transactions": "../examples/data/sdr_activities.csv",
        "quotas": "../examples/data/sdr_quotas.csv",
    }
    assert verify(ledger).identical


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json", ".jsonl"])
def test_the_manifest_records_the_hash_and_rows_of_the_files_as_written(workspace, suffix):
    # the files are hashed as they are written, not read back: the hash must be that of the bytes on disk
    data = workspace / "examples/data"
    result = spmlang.load(workspace / "examples/plans/account_executive.spm").run(
        data / "ae_deals.csv", quotas=data / "ae_quotas.csv", targets=data / "ae_targets.csv"
    )
    ledger = result.write(workspace / "out" / f"ledger{suffix}", rejects=workspace / "out" / f"rejects{suffix}")
    manifest = RunManifest.read(workspace / "out" / "ledger.manifest.json")
    assert manifest.ledger.sha256 == sha256_file(ledger) and manifest.ledger.rows == 245
    assert manifest.rejects.sha256 == sha256_file(workspace / "out" / f"rejects{suffix}")
    assert manifest.rejects.rows == 1 and manifest.rejects.format == suffix[1:]
    assert verify(ledger).identical


def test_verify_identical_then_says_what_changed(spm, workspace):
    assert spm("run", *AE_ARGS, "--out", "out/ledger.csv", "-q", cwd=workspace).returncode == 0
    same = spm("verify", "out/ledger.csv", cwd=workspace)
    assert same.returncode == 0 and "identical" in same.stdout

    plan = workspace / "examples/plans/account_executive.spm"
    plan.write_text(plan.read_text().replace("cap 250% of target per year", "cap 200% of target per year"))
    changed = spm("verify", "out/ledger.csv", cwd=workspace)
    assert changed.returncode == 1
    assert "NOT reproduced" in changed.stdout and "the plan changed" in changed.stdout
    assert "-  cap 250% of target per year" in changed.stdout and "+  cap 200% of target per year" in changed.stdout
    assert "ana.ruiz, 2027-Q4:" in changed.stdout


def test_verify_notices_a_changed_input(workspace):
    result = spmlang.load(workspace / "examples/plans/sdr.spm").run(
        workspace / "examples/data/sdr_activities.csv", quotas=workspace / "examples/data/sdr_quotas.csv"
    )
    ledger = result.write(workspace / "out" / "ledger.parquet")
    assert verify(ledger).identical
    quotas = workspace / "examples/data/sdr_quotas.csv"
    quotas.write_text(quotas.read_text().replace("ivy.chen,2027-01,20", "ivy.chen,2027-01,80"))
    outcome = verify(ledger)
    assert not outcome.identical
    assert any("the input 'quotas' changed" in f for f in outcome.findings)
    assert [(p, period) for p, period, _, _ in outcome.changed_totals] == [("ivy.chen", "2027-01")]


def test_verify_says_when_only_the_way_the_ledger_is_written_changed(workspace, monkeypatch):
    """A ledger written by an spm that lays the file out otherwise (here: no compression) is not the same
    bytes, but verify says every total is as recorded, rather than leaving a reader to guess at the figures."""
    from spmlang.report import files as io

    result = spmlang.load(workspace / "examples/plans/sdr.spm").run(
        workspace / "examples/data/sdr_activities.csv", quotas=workspace / "examples/data/sdr_quotas.csv"
    )
    ledger = result.write(workspace / "out" / "ledger.parquet")
    options = io._parquet_options
    monkeypatch.setattr(
        io, "_parquet_options", lambda schema: {**options(schema), "compression": "none", "compression_level": None}
    )
    outcome = verify(ledger)
    assert not outcome.identical and outcome.changed_totals == []
    assert "another build of spm or of the libraries it writes with" in outcome.findings[0]  # the same version
    assert "every payee's total per period is as recorded" in outcome.report()


def test_verify_of_an_older_spm_s_ledger_says_the_engine_differs(workspace):
    import json

    result = spmlang.load(workspace / "examples/plans/sdr.spm").run(
        workspace / "examples/data/sdr_activities.csv", quotas=workspace / "examples/data/sdr_quotas.csv"
    )
    ledger = result.write(workspace / "out" / "ledger.parquet")
    table = spmlang.read_ledger(ledger)
    import pyarrow.parquet as pq

    pq.write_table(table.drop_columns(["exact"]), ledger)  # as an spm before explanation templates wrote it
    manifest_file = workspace / "out" / "ledger.manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["engine"] = "spmlang 0.0.9"
    from spmlang.hashing import sha256_file

    manifest["ledger"]["sha256"] = sha256_file(ledger)
    manifest_file.write_text(json.dumps(manifest))
    outcome = verify(ledger)
    assert not outcome.identical
    assert "the engine computes or writes the ledger differently (recorded spmlang 0.0.9" in outcome.findings[0]


def test_verify_without_a_manifest_is_a_usage_error(spm, tmp_path):
    (tmp_path / "ledger.csv").write_text("x\n")
    result = spm("verify", tmp_path / "ledger.csv")
    assert result.returncode == 2 and "no manifest beside" in result.stderr


def test_a_ledger_whose_manifest_another_ledger_of_its_name_replaced_is_said_so(workspace):
    """`--out q2.csv` beside `q2.parquet` would write q2.manifest.json over the parquet ledger's: it is refused.
    Where it happened all the same (files copied over, an older spm), verify and --paid say so, rather than
    that the parquet ledger was changed after spm wrote it."""
    plan = spmlang.load(workspace / "examples/pay-cycle/plan.spm")
    result = plan.run(workspace / "examples/pay-cycle/deals-Q1.csv", through="2027-Q1")
    parquet = result.write(workspace / "q1.parquet")
    with pytest.raises(spmlang.InputError, match="its manifest, .*q1.manifest.json, is that of .*q1.parquet"):
        result.write(workspace / "q1.csv")
    assert not (workspace / "q1.csv").exists() and verify(parquet).identical
    parquet.rename(workspace / "away.parquet")  # its manifest is then no other ledger's: q1.csv may replace it
    result.write(workspace / "q1.csv")
    (workspace / "away.parquet").rename(parquet)
    assert verify(workspace / "q1.csv").identical
    from spmlang.cluster.result import check_outputs  # a cluster's ledger folder q1/ is refused alike

    with pytest.raises(spmlang.InputError, match="its manifest, .*q1.manifest.json, is that of .*q1.csv"):
        check_outputs(workspace / "q1", None, [])
    with pytest.raises(spmlang.UsageError, match="q1.manifest.json is that of q1.csv, a ledger written under"):
        verify(parquet)
    with pytest.raises(
        spmlang.InputError, match="no manifest of this ledger beside it: q1.manifest.json is that of q1.csv"
    ):
        plan.run(workspace / "examples/pay-cycle/deals-Q2.csv", paid=[parquet], through="2027-Q2")


def test_a_ledger_named_in_capitals_is_its_manifests(workspace):
    """`--out Q1.CSV` is a CSV ledger (the extension read in any case): verify and --paid find its manifest its
    own, not that of a ledger written under the same name since."""
    plan = spmlang.load(workspace / "examples/pay-cycle/plan.spm")
    written = plan.run(workspace / "examples/pay-cycle/deals-Q1.csv", through="2027-Q1").write(workspace / "Q1.CSV")
    assert verify(written).identical
    later = plan.run(workspace / "examples/pay-cycle/deals-Q2.csv", paid=[written], through="2027-Q2")
    assert set(later.ledger.column("period").to_pylist()) == {"2027-Q2"}  # Q1 paid by Q1.CSV


def test_a_manifest_spm_did_not_write_is_an_error_naming_it(spm, workspace):
    assert spm("run", *AE_ARGS, "--out", "out/ledger.csv", "-q", cwd=workspace).returncode == 0
    manifest = workspace / "out" / "ledger.manifest.json"
    for text, said in (
        (b"{", "Invalid JSON: EOF while parsing an object"),
        (b"[]", "Input should be an object"),
        (b"\xff\xfe{}", "Invalid JSON"),
        (b'{"engine": "spmlang"}', "Field required (at run_id)"),
    ):
        manifest.write_bytes(text)
        result = spm("verify", "out/ledger.csv", cwd=workspace)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.startswith(
            f"error[E500]: {manifest.relative_to(workspace)}: cannot read the manifest: {said}"
        )


def test_compile_explain_prints_the_steps_with_their_clauses(spm):
    result = spm("compile", "examples/plans/account_executive.spm", "--explain")
    assert result.returncode == 0
    text = result.stdout
    order = [
        "read transactions",
        "exclude rows failing filter closed_won",
        "credit rows",
        "measure:",
        "component commission",
        "E(m) = marginal tiers on attainment",
        "true-up",
        "cap 250% of target per year",
        "spif new_logo_q1",
        "round each",
    ]
    positions = [text.index(step) for step in order]
    assert positions == sorted(positions)
    assert "[examples/plans/account_executive.spm:34]" in text  # the closed_won filter's clause


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_an_interrupted_write_leaves_the_previous_ledger_whole_and_no_partial_file(tmp_path, suffix):
    from test_progress import ae_run

    from spmlang.report.files import write_chunks
    from spmlang.report.ledger import LEDGER_SCHEMA, build_ledger

    result = ae_run()
    path = result.write(tmp_path / f"ledger{suffix}")
    before = path.read_bytes()

    def interrupted():
        yield build_ledger(result.payout, result.run_id).slice(0, 10)
        raise KeyboardInterrupt  # Ctrl-C half way through

    with pytest.raises(KeyboardInterrupt):
        write_chunks(interrupted(), path, LEDGER_SCHEMA)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "ledger.manifest.json"])


def test_a_ledger_renamed_with_its_manifest_keeps_its_manifest(workspace):
    """q1.parquet and its manifest renamed q2.*: the manifest still records q1.parquet, and is q2.parquet's all
    the same (verify reads it so): `--out q2.csv` beside it is refused, and q2.parquet itself may be written."""
    plan = spmlang.load(workspace / "examples/pay-cycle/plan.spm")
    result = plan.run(workspace / "examples/pay-cycle/deals-Q1.csv", through="2027-Q1")
    result.write(workspace / "q1.parquet")
    (workspace / "q1.parquet").rename(workspace / "q2.parquet")
    (workspace / "q1.manifest.json").rename(workspace / "q2.manifest.json")
    with pytest.raises(spmlang.InputError, match="its manifest, .*q2.manifest.json, is that of .*q2.parquet"):
        result.write(workspace / "q2.csv")
    assert result.write(workspace / "q2.parquet") == workspace / "q2.parquet"


def test_verify_notices_an_edited_rejects_file_accounting_or_copy_of_the_plan(workspace):
    """The rejects file, the manifest's row accounting and its copy of the plan (what a reviewer reads, and
    the diff is made against) could be edited and the ledger still verified 'identical'."""
    deals = workspace / "examples/data/sdr_activities.csv"
    deals.write_text(deals.read_text() + "X-1,ivy.chen,2027-02-30,meeting,true,\n")
    result = spmlang.load(workspace / "examples/plans/sdr.spm").run(
        deals, quotas=workspace / "examples/data/sdr_quotas.csv"
    )
    ledger = result.write(workspace / "out" / "ledger.csv", rejects=workspace / "out" / "rejects.csv")
    assert verify(ledger).identical
    manifest_file = workspace / "out" / "ledger.manifest.json"
    recorded = manifest_file.read_text()
    edits = {
        "rejects": lambda: (workspace / "out" / "rejects.csv").write_text("row,key,reason,column,message\n"),
        "accounting": lambda: manifest_file.write_text(
            json.dumps({**json.loads(recorded), "accounting": {**json.loads(recorded)["accounting"], "rejected": {}}})
        ),
        "plan": lambda: manifest_file.write_text(recorded.replace("$75 per meeting", "$95 per meeting")),
    }
    said = {
        "rejects": "the rejects file",
        "accounting": "the row accounting differs: the manifest says 1,493 read, 1,298 credited, 194 excluded, "
        "0 rejected, the re-run 1,493 read, 1,298 credited, 194 excluded, 1 rejected",
        "plan": "the manifest's copy of the plan was edited",
    }
    rejects = (workspace / "out" / "rejects.csv").read_text()
    for name, edit in edits.items():
        edit()
        outcome = verify(ledger)
        assert not outcome.identical and any(said[name] in finding for finding in outcome.findings), outcome.findings
        manifest_file.write_text(recorded)
        (workspace / "out" / "rejects.csv").write_text(rejects)
    assert verify(ledger).identical
