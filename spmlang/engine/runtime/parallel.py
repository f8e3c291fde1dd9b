"""Work on several cores: a function over batch numbers, computed in forked worker processes, in order.

A run's batches of payees are independent of each other, so they can be paid at the same time. Workers are
forked once the run is credited: they see every array of the run without copying it (copy-on-write), and
send back what they made. Arrow tables, the bulk of it, travel through files in shared memory (``/dev/shm``,
or the temporary folder where that is small), which the parent maps without copying; the rest is pickled
through a pipe. Results come back in batch order,
whichever worker finishes first, so the output is the same as from one process, byte for byte.

Forking is only used on Linux (elsewhere it is unsafe or unavailable), for runs large enough to gain from
it, and never when ``SPM_WORKERS`` is 1.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spmlang.diagnostics import SpmError
from spmlang.engine.runtime.cores import cores
from spmlang.engine.runtime.memory import give_back_free_memory, keep_freed_memory
from spmlang.settings import count_setting

AHEAD = 1  # results a worker may have ready before the parent has taken them (bounds memory)
MIN_ROWS = 400_000  # below this many credit rows one process is faster than starting others
FOLDER_PREFIX = "spm-batches-"  # then the process id: see remove_abandoned
SHARED_MEMORY_NEEDED = 2 << 30  # free bytes /dev/shm must have to carry the results (see _shared_memory)


@dataclass
class BatchResult:
    """What a worker sends back for one batch: Arrow tables, and any other (small, picklable) value."""

    tables: Iterable = field(default_factory=list)  # Arrow tables; a generator makes each as it is sent
    value: object = None


def worker_count(batches: int, rows: int, wanted: int | None = None, enough: int = MIN_ROWS) -> int:
    """How many worker processes to use for ``batches`` batches of ``rows`` credit rows in all (0: none).

    ``wanted`` (else the ``SPM_WORKERS`` environment variable) asks for a number; 0 or 1 means none. Left to
    itself spm uses every core it may run on, for runs of at least ``enough`` rows (:data:`MIN_ROWS` credit
    rows; other work counts its own units).
    """
    if wanted is None:
        wanted = count_setting("SPM_WORKERS", "2 (1: spm's own process alone)")
    if wanted is None:
        wanted = cores() if rows >= enough else 0
    if wanted <= 1 or batches < 2 or not sys.platform.startswith("linux"):
        return 0
    return min(wanted, batches)


def ordered_map(work: Callable[[int], BatchResult], count: int, workers: int) -> Iterator[BatchResult]:
    """``work(0) ... work(count - 1)``, computed in ``workers`` forked processes, yielded in order.

    The tables of a yielded result stay readable until the next one is asked for.
    """
    context = multiprocessing.get_context("fork")
    give_back_free_memory()  # not shared with the workers (see spmlang.engine.memory)
    base = _shared_memory()
    remove_abandoned(Path(base or tempfile.gettempdir()))
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=base))
    pipes, processes = [], []
    completed = False
    try:
        for k in range(workers):
            parent_end, child_end = context.Pipe(duplex=True)
            process = context.Process(
                target=_serve,
                args=(work, range(k, count, workers), child_end, folder),
                daemon=True,
                name=f"spm-worker-{k}",
            )
            with warnings.catch_warnings():
                # Python 3.12+ warns of forking a process with threads (Arrow's pools): the workers only
                # compute with numpy and Arrow, whose pools are made anew after a fork.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                process.start()
            child_end.close()
            pipes.append(parent_end)
            processes.append(process)
        for index in range(count):
            pipe = pipes[index % workers]
            try:
                status, payload = pipe.recv()
            except EOFError:
                raise RuntimeError(f"a worker process stopped while paying batch {index}") from None
            if status == "spm-error":  # a user's problem met while paying (an amount too large): said as such
                raise payload
            if status != "ok":
                raise RuntimeError(f"a worker process failed on batch {index}:\n{payload}")
            result = _unpack(payload)
            # Taken: the worker may make one more. If it stopped (it failed on a later batch), its message
            # waits in the pipe for that batch's turn.
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.send(index)
            yield result
        completed = True
    finally:
        for process in processes:
            # Every result taken, each worker ends on its own; stopped otherwise (a batch failed, the run was
            # interrupted, or the results were not all asked for).
            if not completed and process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        for pipe in pipes:
            pipe.close()
        shutil.rmtree(folder, ignore_errors=True)


class _Stopped(BaseException):
    """The parent stopped this worker (SIGTERM: a batch failed, or the run was interrupted)."""


def _stop(signum, frame) -> None:
    raise _Stopped


def _serve(work: Callable[[int], BatchResult], indices: range, pipe, folder: Path) -> None:
    """A worker: make each result, send it, and stay at most :data:`AHEAD` ahead of the parent."""
    waiting = 0
    # Stopped, a worker unwinds rather than dies at once: a file it was writing (a statement) is removed as
    # it would be in spm's own process (see spmlang.files.replacing), not left half-written.
    signal.signal(signal.SIGTERM, _stop)
    keep_freed_memory()
    try:
        with contextlib.suppress(_Stopped):  # stopped, it tells nobody: the parent is not reading
            for index in indices:
                if waiting >= AHEAD:
                    pipe.recv()
                    waiting -= 1
                pipe.send(("ok", _pack(work(index), folder, index)))
                waiting += 1
            while waiting:
                pipe.recv()
                waiting -= 1
    except SpmError as error:
        with contextlib.suppress(BrokenPipeError, OSError):
            pipe.send(("spm-error", error))
    except BaseException:  # noqa: BLE001 - whatever went wrong, the parent must hear of it
        with contextlib.suppress(BrokenPipeError, OSError):  # unless it is gone: then nobody is left to tell
            pipe.send(("error", traceback.format_exc()))
    finally:
        with contextlib.suppress(_Stopped):  # stopped as it ends: it ends all the same, with no traceback
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            pipe.close()
        os._exit(0)  # no atexit handlers or buffers of the parent's, inherited by the fork, run twice


def _pack(result: BatchResult, folder: Path, index: int) -> tuple:
    """Write the result's tables to a file, each as soon as it is made (they may come from a generator:
    a batch's tables are then never all held at once)."""
    import pyarrow as pa

    tables = iter(result.tables)
    first = next(tables, None)
    if first is None:
        return None, 0, result.value
    path, count = folder / f"batch-{index}.arrow", 0
    # The stream format, not the file format: it lets dictionaries (a chunk's payees) differ from batch to batch.
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, first.schema) as writer:
        for table in itertools.chain([first], tables):
            writer.write_batch(
                table.combine_chunks().to_batches()[0]
                if table.num_rows
                else pa.RecordBatch.from_pylist([], schema=table.schema)
            )
            count += 1
    return str(path), count, result.value


def _unpack(payload: tuple) -> BatchResult:
    import pyarrow as pa

    path, count, value = payload
    tables = []
    if path is not None:
        reader = pa.ipc.open_stream(pa.memory_map(path))  # mapped, not read: no copy
        tables = [pa.Table.from_batches([reader.read_next_batch()]) for _ in range(count)]
        os.unlink(path)  # the mapping keeps the data until the tables are dropped
    return BatchResult(tables, value)


def remove_abandoned(base: Path) -> None:
    """Remove the result folders of spm processes that are gone. A run killed outright (SIGKILL, the
    out-of-memory killer) cannot remove its own, and in ``/dev/shm`` what it left holds memory until the
    machine restarts. A folder is named after the process that made it; only the user's own are touched, and
    only once no process of that number is left."""
    for folder in base.glob(f"{FOLDER_PREFIX}*-*"):
        try:
            pid = int(folder.name[len(FOLDER_PREFIX) :].split("-")[0])
            if folder.stat().st_uid != os.getuid() or _alive(pid):
                continue
        except (ValueError, OSError):  # not one of spm's folders, or gone meanwhile
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: only whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _shared_memory() -> str | None:
    """A folder in memory for the results (``/dev/shm`` on Linux) when it has room for them, else the
    default temporary folder. Containers often give ``/dev/shm`` only 64 MB, far less than a few batches of
    ledger lines; there the results go through files on disk (mostly in the page cache) instead."""
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        return None
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    return shm if stats.f_bavail * stats.f_frsize >= SHARED_MEMORY_NEEDED else None
