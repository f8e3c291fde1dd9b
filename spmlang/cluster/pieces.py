"""The transactions of a cluster run, in pieces: one a file (a path, a glob, a folder of parquet files), one a
partition of a dask DataFrame, or slices of a table in memory. Each piece is read on a worker, by the same
reader as a run on one machine.

Rows are numbered as spm numbers them in one file: with one file, as a run on one machine numbers them (a
CSV file's header is line 1); with several, through the files in name order, counting data rows.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from spmlang.diagnostics import InputError
from spmlang.engine.read.formats import load_table
from spmlang.engine.read.loaded import LoadedTable

TABLE_ROWS = 1 << 20  # a table in memory is cut into pieces of this many rows


@dataclass(frozen=True)
class Piece:
    """Where one piece of the transactions is: a file (a local path, or an fsspec URL), a partition of a
    dask DataFrame (a Delayed), or a table in memory."""

    source: object
    label: str  # how messages name the transactions
    shown: str | None = None  # how messages name the file, if one: as it was given (source: its full path)

    @property
    def path(self) -> str | None:
        return self.source if isinstance(self.source, str) else None

    def load(self, columns: list[str]) -> LoadedTable:
        """The piece as spm reads a table: the plan's columns, typed as on one machine."""
        source = self.source
        if isinstance(source, str):
            if "://" in source:  # a file:// URL is a path by now (see _files)
                source = _remote(source, columns)
            else:
                try:
                    loaded = load_table(Path(source), columns, "transactions")
                except InputError as error:  # the file named as it was given, as a run on one machine names it
                    if self.shown is None or error.file != source or type(error) is not InputError:
                        raise
                    raise InputError(
                        error.message,
                        file=self.shown,
                        column=error.column,
                        row=error.row,
                        hint=error.hint,
                        code=error.code,
                    ) from None
                return LoadedTable(loaded.whole(), self.label, None, loaded.row_offset)
        loaded = load_table(source, columns, "transactions")
        return LoadedTable(loaded.whole(), self.label, None, loaded.row_offset)


def pieces_of(deals, label: str | None = None) -> list[Piece]:
    """The pieces of ``deals``: a path, a glob, a folder of parquet files (a partitioned dataset), an fsspec
    URL of any of these, a dask DataFrame, or a table in memory (pyarrow, pandas, polars)."""
    if _is_dask(deals):
        name = label or "the transactions DataFrame"
        return [Piece(part, name) for part in deals.to_delayed()]
    if isinstance(deals, (str, Path)):
        text = str(deals)
        return [Piece(file, label or text, shown) for file, shown in _files(text)]
    table = load_table(deals, _all_columns(deals), "transactions").whole()
    name = label or "the transactions table"
    step = TABLE_ROWS
    return [Piece(table.slice(start, step), name) for start in range(0, max(table.num_rows, 1), step)]


def _files(text: str) -> list[tuple[str, str | None]]:
    """The files a path, glob or folder names, in name order: each by its full path (what the workers read) and
    as messages name it (as it was given, or as the glob or folder names it)."""
    if text.startswith("file://"):  # a local path written as a URL: file:///data/deals/
        from urllib.parse import unquote, urlparse

        text = unquote(urlparse(text).path)
    if "://" in text:
        import fsspec  # type: ignore[import-untyped]  # dask's own dependency

        fs, _, paths = fsspec.core.get_fs_token_paths(text)
        if len(paths) == 1 and fs.isdir(paths[0]):
            paths = sorted(p for p in fs.find(paths[0]) if p.endswith(".parquet"))
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        found: list[tuple[str, str | None]] = [(f"{protocol}://{p}", None) for p in paths]
    elif any(c in text for c in "*?["):
        found = sorted((str(Path(p).resolve()), p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    elif Path(text).is_dir():
        found = sorted((str(p.resolve()), str(p)) for p in Path(text).rglob("*.parquet"))
    elif not Path(text).exists():  # one file: said as a run on one machine says it
        raise InputError("file not found", file=str(Path(text)), hint="check the path of the transactions file")
    else:
        found = [(str(Path(text).resolve()), str(Path(text)))]
    if not found:
        raise InputError(
            "no transactions file found",
            file=text,
            hint="check the path; a glob ('data/*.parquet') or a folder of parquet files names several",
            code="E500",
        )
    return found


def _remote(url: str, columns: list[str]) -> pa.Table:
    """A parquet file any fsspec filesystem holds (s3://, gs://, abfs://), read by pyarrow."""
    import fsspec
    import pyarrow.parquet as pq

    if not url.endswith(".parquet"):
        raise InputError("only parquet files are read from a remote filesystem", file=url, code="E500")
    fs, _, paths = fsspec.core.get_fs_token_paths(url)
    return pq.read_table(paths[0], columns=columns, filesystem=fs)


def _all_columns(table) -> list[str]:
    from spmlang.engine.read.formats import available_columns

    return list(available_columns(table))


def _is_dask(value) -> bool:
    return type(value).__module__.startswith("dask") and hasattr(value, "to_delayed")
