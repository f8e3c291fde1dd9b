"""Memory the allocators hold free, given back to the system at the few moments it matters.

Arrow's pool (mimalloc) and glibc's heaps keep memory a run has freed, to reuse it. Twice in a run that
memory is worth returning: once the transactions are read (the pieces read and converted are gone, and
crediting would otherwise run on top of them), and before workers are forked (free memory at the fork is
shared with the workers, and the parent's next allocations write into it: copy-on-write would then copy it
for the parent while the workers keep the old pages, which they never use). On a large run each is a good
part of the run's peak.
"""

from __future__ import annotations

import contextlib
import os


def give_back_free_memory() -> None:
    """Return the free memory of Arrow's pool and (on glibc) of the C heap to the system."""
    import ctypes  # here: the spm command imports this module as it starts (use_system_allocator)

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only (elsewhere there is no malloc_trim)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def use_system_allocator() -> None:
    """Have Arrow allocate with the C library's malloc rather than its bundled mimalloc, unless the
    ``ARROW_DEFAULT_MEMORY_POOL`` environment variable already chooses. Arrow reads that variable once, when
    it first allocates, so this must come before any use of pyarrow: ``spm`` does it as it starts.

    For runs over large data: mimalloc keeps the pieces a large table was read in after they are freed (more
    at the peak, which :func:`give_back_free_memory` cannot return), where malloc's free
    memory is returned or reused; the speed is the same. Not done on import: a program embedding spmlang
    chooses its own allocator (setting the variable before importing pyarrow does it; see
    docs/performance.md)."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEPT_FREE = 256 << 20  # what a worker process keeps of the memory it frees, to use again


def keep_freed_memory() -> None:
    """In a worker process, which pays batch after batch with arrays of the same few sizes: keep what is freed
    for the next batch (up to :data:`KEPT_FREE`, and arrays of that size or less from the heap, not mapped
    anew), rather than give it back to the system and fault it in again page by page. glibc only."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, KEPT_FREE)
        libc.mallopt(_M_TRIM_THRESHOLD, KEPT_FREE)
