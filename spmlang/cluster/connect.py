"""The cluster a run goes to: ``local:N`` (a ``LocalCluster`` of N worker processes, started for the run and
stopped after it), a scheduler's address (``tcp://host:8786``), or a ``distributed.Client`` already made."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from spmlang.diagnostics import InputError, UsageError
from spmlang.engine.runtime.cores import cores

INSTALL = "pip install 'spmlang[dask]'"
LOCAL_PER_CORE = 4  # local:N starts at most this many worker processes per core
CONNECT_SECONDS = 5


def need_dask() -> None:
    """A clean error (E514) where Dask is not installed, with the command that installs it."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(
            "running on a cluster needs Dask (dask.distributed and dask.dataframe), which is not installed",
            code="E514",
            hint=f"{INSTALL} (a run on one machine needs nothing more: leave out --cluster)",
        ) from None


@contextlib.contextmanager
def connected(cluster) -> Iterator:
    """A ``distributed.Client`` of ``cluster`` (see the module), closed after the run if made here."""
    need_dask()
    from distributed import Client

    if isinstance(cluster, Client):
        yield cluster
        return
    spec = str(cluster)
    local = re.fullmatch(r"local(?::(\d+))?", spec)
    if local:
        workers = int(local.group(1) or 2)
        if workers < 1:
            raise UsageError("--cluster local:N needs at least one worker")
        here = cores()
        most = LOCAL_PER_CORE * here
        if workers > most:  # each is a process of its own: a mistyped N would start a machine's worth of them
            raise UsageError(
                f"--cluster local:{workers} starts {workers:,} worker processes on this machine, which has "
                f"{here} core{'' if here == 1 else 's'}: give at most {most} (or a scheduler's address for a larger "
                "cluster)"
            )
        yield from _local(workers)
        return
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://\S+", spec):
        raise UsageError(f"--cluster is local:N or a scheduler's address (tcp://host:8786), not '{spec}'")
    try:
        client = Client(spec, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise InputError(
            f"cannot reach the Dask scheduler at {spec}: {error}",
            code="E514",
            hint="start the scheduler and its workers (docs/scale.md), or check the address and port",
        ) from None
    with client:
        yield client


def _local(workers: int) -> Iterator:
    from distributed import Client, LocalCluster

    # Arrow on the C library's malloc, as `spm` itself runs (spmlang.engine.runtime.memory): the memory a task
    # let go is given back before the next, where Arrow's bundled allocator keeps it (docs/scale.md).
    allocator = {"ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "system")}
    # The shuffle's own notes (started, finished) are for people running Dask, not for a comp analyst; so are
    # the workers' logs of a worker lost (tracebacks from its connections): a run that cannot finish says so
    # itself (E514), and Dask retries the rest unseen. The dashboard's port is any free one (8787 may be taken).
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    with (
        LocalCluster(
            n_workers=workers,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL + 1,
            preload=["dask.dataframe"],
            env=allocator,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
