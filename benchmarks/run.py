"""Run the benchmark: spm against what an analyst would otherwise write, and against the floor.

    python -m benchmarks.run --rows 10000000            # the full run (10M transactions, 10k payees)
    python -m benchmarks.run --rows 1000000             # a quick look
    python -m benchmarks.run --rows 1000000 --scaling 1000000,10000000,50000000   # spm's time as data grows

For each contender: wall time (its own process, imports included), rows per second, peak memory, the
ratio to spm, and whether its payouts equal spm's to the cent. Each baseline is first verified on a
sample of 200,000 rows; a baseline that does not match is not timed. Results are also written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
CONTENDERS = ("floor", "spm", "polars", "duckdb", "pandas", "python")


def run_contender(name: str, deals: Path, quotas: Path, targets: Path, totals: bool = True) -> dict:
    """Time one contender in a process of its own; its payout totals (unless ``totals`` is false) are read
    after the clock stops."""
    from benchmarks.contender import spm_command

    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / ("ledger.parquet" if name == "spm" else "totals.json")
        command = spm_command(deals, quotas, targets, result) if name == "spm" else \
            [sys.executable, "-m", "benchmarks.contender", name, str(deals), str(quotas), str(targets), str(result)]
        measured = subprocess.run([sys.executable, "-m", "benchmarks.measure", *command], cwd=HERE.parent,
                                  stdout=subprocess.PIPE, text=True)
        outcome = json.loads(measured.stdout.strip().splitlines()[-1]) if measured.returncode == 0 else \
            {"status": measured.returncode}
        if outcome["status"] != 0:
            return {"name": name, "error": f"exit status {outcome['status']}"}
        if not totals:
            return {"name": name, "seconds": outcome["seconds"], "peak_mb": outcome["peak_mb"]}
        if name == "spm":  # the ledger summed in another process: this one stays small
            totals_file = Path(folder) / "totals.json"
            subprocess.run([sys.executable, "-m", "benchmarks.contender", "ledger", str(result), "-", "-",
                            str(totals_file)], cwd=HERE.parent, check=True)
            result = totals_file
        totals = {tuple(row[:3]): row[3] for row in json.loads(result.read_text())}
        return {"name": name, "seconds": outcome["seconds"], "peak_mb": outcome["peak_mb"], "totals": totals}


def sample(deals: Path, rows: int, folder: Path) -> Path:
    import pyarrow.parquet as pq

    path = folder / "sample.parquet"
    pq.write_table(pq.read_table(deals).slice(0, rows), path)
    return path


def columns_size(deals: Path) -> float:
    import pyarrow.parquet as pq

    from benchmarks.contender import NEEDED

    return pq.read_table(deals, columns=NEEDED).nbytes / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description="spm against pandas, polars, DuckDB, plain Python and the floor")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--payees", type=int, default=10_000)
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated; plain Python is skipped above 2M rows unless named")
    parser.add_argument("--scaling", default="", help="also time spm at these row counts, e.g. 1000000,10000000")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results (default benchmarks/results)")
    args = parser.parse_args()
    from benchmarks.generate import generate

    data = HERE / "data"
    paths = generate_if_needed(args.rows, args.payees, data, generate)
    chosen = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if "python" in chosen and args.rows > 2_000_000 and "--contenders" not in " ".join(sys.argv):
        chosen.remove("python")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        small = sample(paths["deals"], 200_000, Path(folder))
        reference = run_contender("spm", small, paths["quotas"], paths["targets"])
        if "totals" not in reference:
            sys.exit(f"spm failed on the 200,000-row sample ({reference['error']}); nothing was timed")
        reference = reference["totals"]
        for name in chosen:
            if name not in ("spm", "floor"):
                check = run_contender(name, small, paths["quotas"], paths["targets"])
                if check.get("totals") != reference:
                    results.append({"name": name, "error": "does not match spm on the 200,000-row sample"})
                    continue
            print(f"running {name} on {args.rows:,} rows ...", file=sys.stderr, flush=True)
            results.append(run_contender(name, paths["deals"], paths["quotas"], paths["targets"]))
    spm_totals = next((r["totals"] for r in results if r["name"] == "spm" and "totals" in r), None)
    for result in results:
        if "totals" in result and result["name"] != "floor":
            result["verified"] = spm_totals is not None and result["totals"] == spm_totals
    for result in results:
        result.pop("totals", None)
    scaling = []
    for rows in [int(r) for r in args.scaling.split(",") if r.strip()]:
        scaled = generate_if_needed(rows, args.payees, data, generate)
        measured = {}
        for name in ("spm", "floor"):  # the floor as well: what the machine itself does as the data grows
            print(f"running {name} on {rows:,} rows ...", file=sys.stderr, flush=True)
            measured[name] = run_contender(name, scaled["deals"], scaled["quotas"], scaled["targets"], totals=False)
        scaling.append({"rows": rows, **measured["spm"], "floor": measured["floor"]})
    report = {"rows": args.rows, "payees": args.payees, "columns_mb": columns_size(paths["deals"]),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
              "results": results, "scaling": scaling}
    print(render(report))
    target = args.json or HERE / "results" / f"bench_{args.rows}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {target}")


def generate_if_needed(rows: int, payees: int, data: Path, generate) -> dict:
    from benchmarks.generate import data_paths

    paths = data_paths(rows, payees, data)
    if not all(p.exists() for p in paths.values()):
        print(f"generating {rows:,} rows ...", file=sys.stderr, flush=True)
        paths = generate(rows, payees, data)
    return paths


def render(report: dict) -> str:
    rows = report["rows"]
    spm = next((r for r in report["results"] if r["name"] == "spm" and "seconds" in r), None)
    lines = [f"{rows:,} transactions, {report['payees']:,} payees; the columns read take "
             f"{report['columns_mb']:.0f} MB in memory; {report['machine']['cpus']} CPUs", "",
             f"{'contender':<10} {'seconds':>9} {'rows/s':>12} {'peak MB':>9} {'vs spm':>8}  verified"]
    for r in report["results"]:
        if "seconds" not in r:
            lines.append(f"{r['name']:<10} {r.get('error', '')}")
            continue
        ratio = f"{r['seconds'] / spm['seconds']:.2f}x" if spm else ""
        verified = {True: "to the cent", False: "DIFFERS", None: ""}[r.get("verified")]
        lines.append(f"{r['name']:<10} {r['seconds']:>9.2f} {rows / r['seconds']:>12,.0f} {r['peak_mb']:>9.0f} "
                     f"{ratio:>8}  {verified}")
    if report["scaling"]:
        lines += ["", "spm as the data grows, beside the floor (x: against the size above; linear when the time grows as "
                  "the rows do):",
                  f"{'rows':>12} {'x rows':>7} {'seconds':>9} {'x time':>7} {'rows/s':>12} {'peak MB':>9} "
                  f"{'floor s':>9} {'x time':>7} {'vs floor':>9}"]
        above: dict = {}
        for s in report["scaling"]:
            if "seconds" not in s:
                lines.append(f"{s['rows']:>12,} {s.get('error', '')}")
                continue
            floor = s.get("floor", {})
            now = {"rows": s["rows"], "spm": s["seconds"], "floor": floor.get("seconds")}
            x = {key: f"{now[key] / above[key]:.2f}" if now[key] and above.get(key) else "" for key in now}
            floor_columns = f"{floor['seconds']:>9.2f} {x['floor']:>7} {s['seconds'] / floor['seconds']:>8.2f}x" \
                if "seconds" in floor else f"{floor.get('error', ''):>27}"
            lines.append(f"{s['rows']:>12,} {x['rows']:>7} {s['seconds']:>9.2f} {x['spm']:>7} "
                         f"{s['rows'] / s['seconds']:>12,.0f} {s['peak_mb']:>9.0f} {floor_columns}")
            above = now
    return "\n".join(lines)


if __name__ == "__main__":
    main()
