"""What the ``spm`` command sets for its own process as it starts, before numpy, pyarrow or pandas are imported.

A program embedding spmlang is left to choose for itself: none of this is done on importing spmlang.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType


def set_process_defaults() -> None:
    """Arrow allocates with malloc, numpy's OpenBLAS starts no threads, and pandas is not imported; the
    environment may still choose the first two (``ARROW_DEFAULT_MEMORY_POOL``, ``OPENBLAS_NUM_THREADS``)."""
    from spmlang.engine.runtime.memory import use_system_allocator

    use_system_allocator()  # before pyarrow is used (see spmlang.engine.runtime.memory)
    # numpy's OpenBLAS starts a thread per core as numpy is imported, and they spin a while (~0.12 s of CPU,
    # taken from reading the transactions) though spm does no linear algebra; one thread means none started.
    # Set before numpy is imported; the environment may still choose.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, WithoutPandas())


class WithoutPandas:
    """An import finder for which pandas is not installed.

    The command line reads files, never DataFrames, yet pyarrow imports pandas when it is installed the first
    time it makes an array or a scalar, to ask whether the value is a pandas object: ~0.35 s and ~35 MB of
    every ``spm`` command that reads data (the README's example run: 1.2 s instead of 0.9 s). In spm's own process
    pyarrow finds no pandas, as on a machine without it; what spm computes does not depend on pandas either
    way. A program embedding spmlang, which may pass DataFrames, is left as it is."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (the spm command does not use it)", name=name)
        return None


def allow_pandas() -> None:
    """pandas importable again: a run on a Dask cluster needs it (Dask's DataFrames are pandas')."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, WithoutPandas)]
