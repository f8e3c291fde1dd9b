"""The benchmark plan on a local Dask cluster: rows per second for 1, 2 ... worker processes, and the shuffles' share.

    python -m benchmarks.cluster --rows 1000000                  # 1 and 2 workers, 8 files of deals
    python -m benchmarks.cluster --rows 10000000 --workers 1,2,4 --files 32

The deals of benchmarks/generate.py are cut into ``--files`` parquet files (a folder, as a partitioned dataset
would be); each worker count gets a LocalCluster of that many single-threaded processes, started before the
clock. Each run writes the ledger folder (its lines checked against a run on one machine at the same size, to
the cent, by their payee totals) and is timed from the call to the renamed folder. From Dask's task stream:
the time the workers spent in each step (reading and routing, the two shuffles, crediting, paying and
writing); the shuffles' share is the cost of moving the rows to their payee groups. Peak memory is each
worker process's largest resident size. Results print as a table and are written as JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.contender import PLAN
from benchmarks.generate import data_paths, generate

HERE = Path(__file__).parent
STEPS = {  # task-name prefixes, by the step they are part of
    "route_piece": "read and route",
    "rows_of": "read and route",
    "keys_frame": "keys seen twice (shuffle)",
    "repeated_keys": "keys seen twice (shuffle)",
    "blob_frame": "rows to groups (shuffle)",
    "shuffle": "rows to groups (shuffle)",
    "p2pshuffle": "both shuffles: moving the data (p2p shuffle)",
    "credit_partition": "credit",
    "pay_partition": "pay and write",
}


def split(deals: Path, files: int, folder: Path) -> Path:
    """The deals as ``files`` parquet files of about equal rows, in a folder."""
    table = pq.read_table(deals)
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-table.num_rows // files)
    for i, start in enumerate(range(0, table.num_rows, step)):
        pq.write_table(table.slice(start, step), folder / f"deals-{i:04d}.parquet")
    return folder


def totals(ledger) -> dict[str, Decimal]:
    """Each payee's payout in a table of lines or of totals (payee, amount)."""
    by_payee: dict[str, Decimal] = defaultdict(Decimal)
    summed = ledger.group_by("payee").aggregate([("amount", "sum")])
    for payee, amount in zip(summed.column("payee").to_pylist(), summed.column("amount_sum").to_pylist(), strict=True):
        by_payee[payee] += amount
    return dict(by_payee)


def folder_totals(folder: Path) -> dict[str, Decimal]:
    """Each payee's payout in a ledger folder, its parts read one at a time (two columns each): the client never
    holds the whole ledger, which at 50M rows would not fit beside the workers."""
    by_payee: dict[str, Decimal] = defaultdict(Decimal)
    for part in sorted(folder.glob("*.parquet")):
        for payee, amount in totals(pq.read_table(part, columns=["payee", "amount"])).items():
            by_payee[payee] += amount
    return dict(by_payee)


def step_of(key: str) -> str:
    name = key.strip("('").split("-")[0]
    for prefix, step in sorted(STEPS.items(), key=lambda item: -len(item[0])):  # the longest prefix first
        if name.startswith(prefix):
            return step
    return f"other: {name}"


def peak_memory() -> int:
    """This process's largest resident size, in bytes: its memory's high-water mark (VmHWM) where Linux gives
    it. Not getrusage's ru_maxrss: on Linux that keeps, across exec, the size of the process that started
    this one, so a worker started by a client that had run a million rows would report the client's peak."""
    import resource

    status = Path("/proc/self/status")
    if status.exists():  # Linux
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def on_cluster(workers: int, folder: Path, paths: dict, expected: dict[str, Decimal]) -> dict:
    import distributed

    import spmlang

    plan = spmlang.load(PLAN)
    with (
        distributed.LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=50,
            env={"ARROW_DEFAULT_MEMORY_POOL": "system"},  # as `spm run --cluster local:N` starts its workers
        ) as cluster,
        distributed.Client(cluster) as client,
        tempfile.TemporaryDirectory() as out,
    ):
        with distributed.get_task_stream(client) as stream:
            start = time.perf_counter()
            result = plan.run(
                str(folder), quotas=paths["quotas"], targets=paths["targets"], cluster=client, out=Path(out) / "ledger"
            )
            seconds = time.perf_counter() - start
        by_step: dict[str, float] = defaultdict(float)
        for task in stream.data:
            for span in task.get("startstops", ()):
                if span.get("action") == "compute":
                    by_step[step_of(str(task["key"]))] += span["stop"] - span["start"]
        peak = client.run(peak_memory)
        same = folder_totals(Path(out) / "ledger") == expected
    busy = sum(by_step.values())
    shuffles = sum(v for k, v in by_step.items() if "shuffle" in k)
    return {
        "workers": workers,
        "seconds": round(seconds, 2),
        "rows_per_second": round(result.accounting["read"] / seconds),
        "lines": result.line_count,
        "same_totals_as_one_machine": same,
        "worker_seconds_by_step": {k: round(v, 2) for k, v in sorted(by_step.items())},
        "shuffle_share_of_worker_time": round(shuffles / busy, 3) if busy else None,
        "peak_memory_per_worker_mb": round(max(peak.values()) / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--payees", type=int, default=None, help="default: one per 1,000 rows")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--files", type=int, default=8, help="the deals are cut into this many files")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    payees = args.payees or max(10, args.rows // 1000)
    data = HERE / "data"
    paths = data_paths(args.rows, payees, data)
    if not paths["deals"].exists():
        generate(args.rows, payees, data)
    folder = split(paths["deals"], args.files, data / f"deals_{args.rows}x{payees}_in_{args.files}")

    import spmlang

    with tempfile.TemporaryDirectory() as scratch:  # one process writing its ledger, as each cluster does
        start = time.perf_counter()
        single = spmlang.load(PLAN).run(paths["deals"], quotas=paths["quotas"], targets=paths["targets"], workers=1)
        written = single.write(Path(scratch) / "ledger.parquet")  # batch by batch: never all the lines at once
        one_machine = time.perf_counter() - start
        del single
        expected = totals(pq.read_table(written, columns=["payee", "amount"]))
    results = {
        "rows": args.rows,
        "payees": payees,
        "files": args.files,
        "one_process_seconds": round(one_machine, 2),
        "one_process_rows_per_second": round(args.rows / one_machine),
        "clusters": [on_cluster(int(w), folder, paths, expected) for w in args.workers.split(",")],
    }
    print(f"{args.rows:,} rows, {payees:,} payees, {args.files} files")
    print(f"  one process (spm's API, workers=1): {one_machine:.1f} s, {args.rows / one_machine:,.0f} rows/s")
    for run in results["clusters"]:
        print(
            f"  {run['workers']} worker(s): {run['seconds']:.1f} s, {run['rows_per_second']:,} rows/s, "
            f"shuffles {run['shuffle_share_of_worker_time']:.0%} of worker time, "
            f"peak {run['peak_memory_per_worker_mb']:,} MB a worker, same totals: {run['same_totals_as_one_machine']}"
        )
        for step, seconds in run["worker_seconds_by_step"].items():
            print(f"      {step}: {seconds:.1f} worker-s")
    out = args.json or HERE / "results" / f"cluster_{args.rows}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
