"""Run one command and report its wall time and peak memory as JSON (a small launcher).

    python -m benchmarks.measure COMMAND [ARGS...]

The harness holds data in memory; on Linux a child started straight from it would inherit the harness's
peak resident size in ``ru_maxrss``. Started from this small process instead, the figure is the
command's own (plus at most this launcher's few megabytes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    started = time.perf_counter()
    process = subprocess.Popen(sys.argv[1:])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux
    print(json.dumps({"status": os.waitstatus_to_exitcode(status), "seconds": seconds,
                      "peak_mb": usage.ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
