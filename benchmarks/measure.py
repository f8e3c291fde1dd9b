"""Run one command and report its wall time, CPU time and peak memory as JSON (a small launcher).

    python -m benchmarks.measure COMMAND [ARGS...]

Peak memory is the most the command's whole process tree held at once: the sum of the proportional set size
(PSS: a page shared by several processes counts once, split between them) of the command and every process
it started, plus the files spm passes between its processes in shared memory (``/dev/shm/spm-*``), which
take memory without belonging to a process. It is sampled every 50 ms, or less often when a sample is
costly (see SAMPLE_COST_RATIO), and never less than the largest single process's own peak (``ru_maxrss``,
exact but blind to other processes). Started from this small launcher rather than from the harness, the
figure is the command's own: on Linux a child started straight from the harness would inherit the
harness's peak resident size in ``ru_maxrss``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import subprocess
import sys
import threading
import time

SAMPLE_SECONDS = 0.05  # the shortest wait between two samples
# ... and at least this many times what the last sample took: reading the PSS of a process walks its page
# tables, which for a tree of gigabytes costs milliseconds of system time each time. Sampled every 50 ms
# regardless, the launcher took ~18% of a core from the 2-core machine during a 10M-row spm run; this way
# it takes at most ~5%, whatever the contender.
SAMPLE_COST_RATIO = 20


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        tree.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    return tree


def _pss_kb(pid: int) -> int:
    """A process's proportional set size (0 once it has ended)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def _shared_files_kb() -> int:
    total = 0
    for path in glob.glob("/dev/shm/spm-*/*"):
        with contextlib.suppress(OSError):  # taken and removed by spm meanwhile
            total += os.path.getsize(path)
    return total // 1024


def tree_kb(root: int) -> int:
    """What the process tree under ``root`` holds now, in kB (PSS of each process, and spm's shared files)."""
    tree = _children()
    pids, total = [root], 0
    while pids:
        pid = pids.pop()
        total += _pss_kb(pid)
        pids.extend(tree.get(pid, []))
    return total + _shared_files_kb()


def main() -> None:
    started = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:])
    peak_kb = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_kb
        wait = SAMPLE_SECONDS
        while not done.wait(wait):
            began = time.perf_counter()
            peak_kb = max(peak_kb, tree_kb(process.pid))
            wait = max(SAMPLE_SECONDS, SAMPLE_COST_RATIO * (time.perf_counter() - began))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    # ru_maxrss is in kilobytes on Linux
    # The CPU time of the command and of every process it waited for (spm's workers, the threads of all)
    print(
        json.dumps(
            {
                "status": os.waitstatus_to_exitcode(status),
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_mb": max(peak_kb, usage.ru_maxrss) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
