"""Batches paid on several cores: the same bytes and totals as one process, and failures that surface."""

from __future__ import annotations

import glob
import os
import sys
import tempfile

import pytest
from conftest import AE_ARGS, CRM_ARGS, SDR_ARGS
from test_batches import run_example

from spmlang.engine import payout as paying
from spmlang.engine import run as calculator
from spmlang.engine.runtime import parallel

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")


def shipments_left() -> list[str]:
    return glob.glob(os.path.join(parallel._shared_memory() or "/tmp", "spm-*"))


@pytest.mark.parametrize("args", [AE_ARGS, SDR_ARGS, CRM_ARGS], ids=["ae", "sdr", "crm"])
def test_workers_write_the_same_bytes_and_totals_as_one_process(args, monkeypatch, tmp_path):
    monkeypatch.setattr(calculator, "BATCH_ROWS", 30)
    before = set(shipments_left())
    one = run_example(args, workers=1)
    one.write(tmp_path / "one.parquet")
    several = run_example(args, workers=3)
    assert several.payout.workers() == 3
    several.write(tmp_path / "several.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "several.parquet").read_bytes()
    assert several.line_count == one.line_count
    assert str(several.summary()) == str(one.summary())
    # Totals without a ledger (spm run with no --out) are paid by the workers as well.
    totalled = run_example(args, workers=2)
    assert totalled.totals().equals(one.totals()) and str(totalled.summary()) == str(one.summary())
    # Every shipment file removed (and any an earlier process abandoned, see parallel.remove_abandoned).
    assert set(shipments_left()) <= before


def test_a_failing_worker_is_reported_and_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(calculator, "BATCH_ROWS", 30)
    parent = os.getpid()
    pay = paying.pay_batch

    def broken(run, batch):
        if os.getpid() != parent and batch.start > 0:
            raise ValueError("a bug while paying")
        return pay(run, batch)

    monkeypatch.setattr(paying, "pay_batch", broken)
    before = set(shipments_left())
    result = run_example(AE_ARGS, workers=2)
    with pytest.raises(
        RuntimeError, match=r"(?s)a worker process failed on batch \d+:.*ValueError: a bug while paying"
    ):
        result.write(tmp_path / "ledger.parquet")
    assert set(shipments_left()) <= before  # nothing of its own left
    assert not [p for p in __import__("multiprocessing").active_children() if p.name.startswith("spm-worker")]


@pytest.mark.parametrize(
    ("wanted", "env", "batches", "rows", "expected"),
    [
        (None, "", 10, parallel.MIN_ROWS - 1, 0),  # small runs stay in one process
        (1, "", 10, 10**7, 0),  # asked for one process
        (4, "", 3, 10**7, 3),  # no more workers than batches
        (2, "", 1, 10**7, 0),  # one batch: nothing to share
        (None, "2", 10, 10, 2),  # SPM_WORKERS asks, whatever the size
        (None, "1", 10, 10**7, 0),
        (3, "1", 10, 10**7, 3),  # an explicit number wins over the environment
    ],
)
def test_how_many_workers(monkeypatch, wanted, env, batches, rows, expected):
    monkeypatch.setenv("SPM_WORKERS", env)
    assert parallel.worker_count(batches, rows, wanted) == expected


def test_spm_run_with_workers_writes_the_same_ledger(spm, tmp_path):
    env = {"SPM_BATCH_ROWS": "40"}
    one = spm("run", *AE_ARGS, "--out", tmp_path / "one.parquet", "--workers", "1", env=env)
    several = spm("run", *AE_ARGS, "--out", tmp_path / "several.parquet", "--workers", "2", env=env)
    assert one.returncode == several.returncode == 0, several.stderr
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "several.parquet").read_bytes()
    assert one.stdout.replace("one.", "X.") == several.stdout.replace("several.", "X.")


@pytest.mark.parametrize(("name", "value"), [("SPM_WORKERS", "two"), ("SPM_BATCH_ROWS", "-5")])
def test_a_setting_that_is_not_a_number_is_a_usage_error(spm, name, value):
    result = spm("run", *AE_ARGS, env={name: value})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{name} is '{value}': it must be a whole number, such as" in result.stderr


def test_shipments_go_through_the_temporary_folder_when_shared_memory_is_small(monkeypatch):
    real = os.statvfs

    def small(path):
        stats = real(path)
        return os.statvfs_result((stats.f_bsize, stats.f_frsize, stats.f_blocks, 100, 100, *tuple(stats)[5:]))

    monkeypatch.setattr(os, "statvfs", small)  # 100 blocks free: a container's 64 MB /dev/shm, or less
    assert parallel._shared_memory() is None
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "spm-*")))
    shipments = list(parallel.ordered_map(_table_of, 3, 2))
    assert [s.tables[0].column("n").to_pylist() for s in shipments] == [[0], [1], [2]]
    assert [s.value for s in shipments] == [0, 1, 2]
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "spm-*"))) == before  # cleaned up


def _table_of(index: int) -> parallel.BatchResult:
    import pyarrow as pa

    return parallel.BatchResult([pa.table({"n": [index]})], index)


def test_the_shipments_of_a_killed_run_are_removed_by_the_next(tmp_path):
    import subprocess

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)  # a process that has ended, as a run killed with SIGKILL has
    kept = [f"spm-batches-{os.getpid()}-def", "spm-batches-notapid-ghi", f"spm-{dead}-xyz", "spm-batches-x"]
    for name in [f"spm-batches-{dead}-abc", *kept]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "batch-0.arrow").write_bytes(b"ledger lines")
    parallel.remove_abandoned(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_a_run_sweeps_what_killed_runs_left_in_shared_memory(monkeypatch, tmp_path):
    import subprocess

    monkeypatch.setattr(parallel, "_shared_memory", lambda: str(tmp_path))
    dead = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    (tmp_path / f"spm-batches-{dead}-abc").mkdir()
    shipments = list(parallel.ordered_map(_table_of, 3, 2))
    assert [s.value for s in shipments] == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []  # the abandoned folder, and the run's own once done


def _tables_of(index: int) -> parallel.BatchResult:
    import pyarrow as pa

    return parallel.BatchResult([pa.table({"batch": [index]})], index)


def test_workers_that_finish_are_not_stopped_and_say_nothing(capfd):
    # Every result taken, the workers end on their own: stopping them as they end printed a traceback.
    for _ in range(30):
        results = list(parallel.ordered_map(_tables_of, 6, 2))
        assert [r.value for r in results] == list(range(6))
    assert capfd.readouterr().err == ""
