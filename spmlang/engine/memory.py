"""Memory the allocators hold free, given back to the system at the few moments it matters.

Arrow's pool (mimalloc) and glibc's heaps keep memory a run has freed, to reuse it. Twice in a run that
memory is worth returning: once the transactions are read (the pieces read and converted are gone, and
crediting would otherwise run on top of them), and before workers are forked (free memory at the fork is
shared with the workers, and the parent's next allocations write into it: copy-on-write would then copy it
for the parent while the workers keep the old pages, which they never use). At 10M rows each is worth
~100 to ~250 MB of the run's peak.
"""

from __future__ import annotations

import contextlib
import ctypes


def give_back_free_memory() -> None:
    """Return the free memory of Arrow's pool and (on glibc) of the C heap to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only (elsewhere there is no malloc_trim)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
