"""Run the benchmark: spm against what an expert would otherwise write, and against the floor.

    python -m benchmarks.run --rows 10000000            # the full run (10M transactions, 10k payees)
    python -m benchmarks.run --rows 1000000             # a quick look
    python -m benchmarks.run --rows 10000000 --repeat 5 # five rounds of every contender in turn; medians
    python -m benchmarks.run --rows 1000000 --scaling 1000000,10000000,50000000   # spm and the floor as data grows

For each contender: wall time (its own process, imports included), CPU time (its processes and threads
together), rows per second, peak memory, its time against `spm run`'s and the floor's in the same round
(the median over rounds), and whether its payouts equal spm's to the cent. Each contender is first verified
on a sample of 200,000 rows; one that does not match is not timed. Results are also written as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.contender import CONTENDERS

HERE = Path(__file__).parent
LIBRARIES = {"polars": "polars", "duckdb": "duckdb", "pandas": "pandas", "floor": "polars"}  # a name's prefix
NAIVE_UP_TO = 2_000_000  # the plain Python loop is left out above this many rows unless named


def run_contender(name: str, deals: Path, quotas: Path, targets: Path, totals: bool = True) -> dict:
    """Time one contender in a process of its own; its payout totals (unless ``totals`` is false) are read
    after the clock stops."""
    from benchmarks.contender import spm_command, spm_dated_command, spm_statements_command

    # Run as `spm run` (or `spm statement`), the ledger (or the statements) summed after.
    ledgers = {"spm": spm_command, "spm-dated": spm_dated_command, "spm-statements": spm_statements_command}
    # Statements are written to memory where there is a place for it: tens of thousands of files on a shared disk
    # time the disk. (Not named spm-*: benchmarks.measure counts those as spm's own memory.)
    memory = Path("/dev/shm") if name == "spm-statements" and Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory(dir=memory) as written:
        kept = {"spm-statements": Path(written) / "statements"}
        result = kept.get(name) or Path(folder) / ("ledger.parquet" if name in ledgers else "totals.json")
        command = (
            ledgers[name](deals, quotas, targets, result)
            if name in ledgers
            else [
                sys.executable,
                "-m",
                "benchmarks.contender",
                name,
                str(deals),
                str(quotas),
                str(targets),
                str(result),
            ]
        )
        measured = subprocess.run(
            [sys.executable, "-m", "benchmarks.measure", *command], cwd=HERE.parent, stdout=subprocess.PIPE, text=True
        )
        outcome = (
            json.loads(measured.stdout.strip().splitlines()[-1])
            if measured.returncode == 0
            else {"status": measured.returncode}
        )
        if outcome["status"] != 0:
            return {"name": name, "error": f"exit status {outcome['status']}"}
        measures = {key: outcome[key] for key in ("seconds", "cpu_seconds", "peak_mb")}
        if not totals:
            return {"name": name, **measures}
        if name in ledgers:  # the ledger summed in another process: this one stays small
            totals_file = Path(folder) / "totals.json"
            kind = "statements" if name == "spm-statements" else "ledger"
            subprocess.run(
                [sys.executable, "-m", "benchmarks.contender", kind, str(result), "-", "-", str(totals_file)],
                cwd=HERE.parent,
                check=True,
            )
            result = totals_file
        totals = {tuple(row[:3]): row[3] for row in json.loads(result.read_text())}
        return {"name": name, **measures, "totals": totals}


def sample(deals: Path, rows: int, folder: Path, quotas: Path) -> Path:
    """The first ``rows`` deals, and (for spm-dated) the same of the deals with their currencies."""
    import pyarrow.parquet as pq

    from benchmarks.generate import dated_paths

    path = folder / "sample.parquet"
    pq.write_table(pq.read_table(deals).slice(0, rows), path)
    dated = dated_paths(deals, quotas)["deals_dated"]
    if dated.exists():
        pq.write_table(pq.read_table(dated).slice(0, rows), dated_paths(path, quotas)["deals_dated"])
    return path


def columns_size(deals: Path) -> float:
    import pyarrow.parquet as pq

    from benchmarks.floor import NEEDED

    return pq.read_table(deals, columns=NEEDED).nbytes / 2**20


def compile_spm(chosen: list[str]) -> None:
    """For the spm contenders among ``chosen``: spm's modules compiled to bytecode, as Python caches them after
    a first run and pip compiles a wheel's as it installs it (as it did polars' and DuckDB's). Where Python
    writes no bytecode of its own (PYTHONDONTWRITEBYTECODE, as on the machines these figures come from), every
    spm process would otherwise compile spm again, ~0.1 s."""
    if not any(name.startswith("spm") for name in chosen):
        return
    import compileall

    import spmlang

    if not compileall.compile_dir(Path(spmlang.__file__).parent, quiet=1):
        sys.exit("could not compile spm's modules to bytecode (is its folder writable?)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="spm against expert polars and DuckDB, naive pandas and Python, and the floor"
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="transactions (default 10,000,000)")
    parser.add_argument("--payees", type=int, default=10_000, help="payees (default 10,000)")
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"comma-separated, of: {', '.join(CONTENDERS)}; plain Python is skipped above "
        f"{NAIVE_UP_TO:,} rows unless named",
    )
    parser.add_argument(
        "--scaling", default="", help="also time spm and the floor at these row counts, e.g. 1000000,10000000,50000000"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds: every contender timed once per round, in turn; medians are reported (on a "
        "shared or virtual machine one run proves little)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="where to write the results (default benchmarks/results)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CONTENDERS]
    if unknown:
        parser.error(f"no contender {', '.join(unknown)}; there are: {', '.join(CONTENDERS)}")
    if "python" in chosen and args.rows > NAIVE_UP_TO and "--contenders" not in " ".join(sys.argv):
        chosen.remove("python")
    from benchmarks.generate import generate

    compile_spm(chosen)
    data = HERE / "data"
    paths = generate_if_needed(args.rows, args.payees, data, generate)
    results: dict[str, dict] = {
        name: {"name": name, "error": missing} for name in chosen if (missing := missing_library(name))
    }
    with tempfile.TemporaryDirectory() as folder:
        small = sample(paths["deals"], 200_000, Path(folder), paths["quotas"])
        reference = run_contender("spm", small, paths["quotas"], paths["targets"])
        if "totals" not in reference:
            sys.exit(f"spm failed on the 200,000-row sample ({reference['error']}); nothing was timed")
        reference = reference["totals"]
        for name in chosen:
            if name not in ("spm", "floor") and name not in results:
                print(f"verifying {name} on 200,000 rows ...", file=sys.stderr, flush=True)
                check = run_contender(name, small, paths["quotas"], paths["targets"])
                if check.get("totals") != reference:
                    results[name] = {
                        "name": name,
                        "error": check.get("error") or "does not match spm on the 200,000-row sample",
                    }
    timed = [name for name in chosen if name not in results]
    runs = rounds(
        timed,
        args.repeat,
        args.rows,
        lambda name, first: run_contender(name, paths["deals"], paths["quotas"], paths["targets"], totals=first),
    )
    results.update({name: summary(name, runs[name]) for name in timed})
    results = compare([results[name] for name in chosen])
    spm_totals = next((r["totals"] for r in results if r["name"] == "spm" and "totals" in r), None)
    for result in results:
        if "totals" in result and result["name"] != "floor":
            result["verified"] = spm_totals is not None and result["totals"] == spm_totals
    for result in results:
        result.pop("totals", None)
    scaling = []
    for rows in [int(r) for r in args.scaling.split(",") if r.strip()]:
        scaled = generate_if_needed(rows, args.payees, data, generate)
        # The floor as well: what the machine itself does as the data grows.
        measured = rounds(
            ["spm", "floor"],
            args.repeat,
            rows,
            lambda name, first, scaled=scaled: run_contender(
                name, scaled["deals"], scaled["quotas"], scaled["targets"], totals=False
            ),
        )
        scaling.append({"rows": rows, **summary("spm", measured["spm"]), "floor": summary("floor", measured["floor"])})
    report = {
        "rows": args.rows,
        "payees": args.payees,
        "columns_mb": columns_size(paths["deals"]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
            "load": os.getloadavg()[0],
        },
        "libraries": libraries(),
        "results": results,
        "scaling": scaling,
    }
    print(render(report))
    target = args.json or HERE / "results" / f"bench_{args.rows}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {target}")


def missing_library(name: str) -> str | None:
    """Why a contender cannot run here, if a library it needs is not installed."""
    library = LIBRARIES.get(name.split("-")[0])
    if library and importlib.util.find_spec(library) is None:
        return f"{library} is not installed (pip install -e '.[bench]')"
    return None


def compare(results: list[dict]) -> list[dict]:
    """Each result's time against `spm run`'s and the floor's of the same round, as the median over the rounds
    (``vs_spm``, ``vs_floor``; every round's in ``rounds_vs_spm``, ``rounds_vs_floor``): steadier on a noisy
    machine than the ratio of two medians, since contenders run one after the other within a round."""
    by_name = {r["name"]: r for r in results if "runs" in r}
    for result in results:
        for other, key in (("spm", "vs_spm"), ("floor", "vs_floor")):
            base = by_name.get(other)
            if "runs" in result and base and len(base["runs"]) == len(result["runs"]):
                ratios = [mine / theirs for mine, theirs in zip(result["runs"], base["runs"], strict=True)]
                result[key], result[f"rounds_{key}"] = statistics.median(ratios), ratios
    return results


def libraries() -> dict[str, str]:
    """The versions of what the contenders run on (a faster polars is a different race)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("spmlang", "numpy", "pyarrow", "polars", "duckdb", "pandas"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def rounds(names: list[str], repeat: int, rows: int, run) -> dict[str, list[dict]]:
    """Each contender timed ``repeat`` times, in rounds (every contender once, then again), so that a machine
    slower for a while slows each of them alike. ``run(name, first)``: one timing; ``first`` is the first round."""
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(repeat):
        for name in names:
            which = f" (round {round_ + 1} of {repeat})" if repeat > 1 else ""
            print(f"running {name} on {rows:,} rows{which} ...", file=sys.stderr, flush=True)
            runs[name].append(run(name, round_ == 0))
    return runs


def summary(name: str, runs: list[dict]) -> dict:
    """A contender's timings as one result: the median time (and CPU time), the highest peak, every time
    (``runs``), and the totals of the first run. A run that failed makes the result its error."""
    failed = next((r for r in runs if "seconds" not in r), None)
    if failed is not None:
        return {"name": name, "error": failed.get("error", "failed")}
    result = {
        "name": name,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
        "runs": [r["seconds"] for r in runs],
    }
    if all("cpu_seconds" in r for r in runs):
        result["cpu_seconds"] = statistics.median(r["cpu_seconds"] for r in runs)
    if "totals" in runs[0]:
        result["totals"] = runs[0]["totals"]
    return result


def generate_if_needed(rows: int, payees: int, data: Path, generate) -> dict:
    from benchmarks.generate import data_paths

    paths = data_paths(rows, payees, data)
    if not all(p.exists() for p in paths.values()):
        print(f"generating {rows:,} rows ...", file=sys.stderr, flush=True)
        paths = generate(rows, payees, data)
    return paths


def render(report: dict) -> str:
    rows = report["rows"]
    repeats = max((len(r.get("runs", [])) for r in report["results"]), default=1)
    repeated = repeats > 1
    machine = report["machine"]
    lines = [
        f"{rows:,} transactions, {report['payees']:,} payees; the columns read take "
        f"{report['columns_mb']:.0f} MB in memory; {machine['cpus']} CPUs"
        + (f", load {machine['load']:.1f} when it ended" if "load" in machine else "")
    ]
    if report.get("libraries"):
        lines.append(", ".join(f"{name} {v}" for name, v in report["libraries"].items()))
    lines.append("")
    if repeated:
        lines += [
            f"seconds and CPU s: the median of {repeats} rounds (range: the fastest and slowest); peak: the "
            "highest; vs spm and vs floor: the median of the rounds' ratios",
            "",
        ]
    width = max([13] + [len(r["name"]) for r in report["results"]])
    lines.append(
        f"{'contender':<{width}} {'seconds':>8} {'CPU s':>7} {'rows/s':>11} {'peak MB':>8} {'vs spm':>7} "
        f"{'vs floor':>8}  verified" + ("      range" if repeated else "")
    )
    for r in report["results"]:
        if "seconds" not in r:
            lines.append(f"{r['name']:<{width}} {r.get('error', '')}")
            continue
        ratios = [f"{r[key]:.2f}x" if key in r else "" for key in ("vs_spm", "vs_floor")]
        verified = {True: "to the cent", False: "DIFFERS", None: ""}[r.get("verified")]
        spread = f"  {min(r['runs']):.2f}-{max(r['runs']):.2f}" if repeated and r.get("runs") else ""
        cpu = f"{r['cpu_seconds']:.1f}" if "cpu_seconds" in r else "-"
        lines.append(
            f"{r['name']:<{width}} {r['seconds']:>8.2f} {cpu:>7} {rows / r['seconds']:>11,.0f} "
            f"{r['peak_mb']:>8.0f} {ratios[0]:>7} {ratios[1]:>8}  {verified:<11}{spread}".rstrip()
        )
    lines += [""] + [
        f"{name:<{width}} {CONTENDERS[name]}" for name in (r["name"] for r in report["results"]) if name in CONTENDERS
    ]
    if report["scaling"]:
        lines += [
            "",
            "spm as the data grows, beside the floor (x: against the size above; linear when the time "
            "grows as the rows do):",
            f"{'rows':>12} {'x rows':>7} {'seconds':>9} {'x time':>7} {'rows/s':>12} {'peak MB':>9} "
            f"{'floor s':>9} {'x time':>7} {'vs floor':>9}",
        ]
        above: dict = {}
        for s in report["scaling"]:
            if "seconds" not in s:
                lines.append(f"{s['rows']:>12,} {s.get('error', '')}")
                continue
            floor = s.get("floor", {})
            now = {"rows": s["rows"], "spm": s["seconds"], "floor": floor.get("seconds")}
            x = {key: f"{now[key] / above[key]:.2f}" if now[key] and above.get(key) else "" for key in now}
            floor_columns = (
                f"{floor['seconds']:>9.2f} {x['floor']:>7} {s['seconds'] / floor['seconds']:>8.2f}x"
                if "seconds" in floor
                else f"{floor.get('error', ''):>27}"
            )
            lines.append(
                f"{s['rows']:>12,} {x['rows']:>7} {s['seconds']:>9.2f} {x['spm']:>7} "
                f"{s['rows'] / s['seconds']:>12,.0f} {s['peak_mb']:>9.0f} {floor_columns}"
            )
            above = now
    return "\n".join(lines)


if __name__ == "__main__":
    main()
