"""How many cores this process may run on: what spm's worker processes and threads are counted against."""

from __future__ import annotations

import os


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (a container's, a taskset's)
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1
