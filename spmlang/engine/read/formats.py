"""Reading input tables: files and tables in memory, the columns a plan declares.

Anything Arrow can hold is accepted: parquet, CSV, Arrow IPC/Feather, JSON
lines, a pyarrow Table, a pandas or polars DataFrame. Only the columns the plan
declares are read. A missing column, an unreadable file or an unknown format is
an :class:`InputError` naming the file. CSV files are csv_files.py's; turning the columns into typed arrays
is columns.py's.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa

from spmlang.diagnostics import InputError
from spmlang.engine.read.csv_files import load_csv, sniff_delimiter
from spmlang.engine.read.loaded import FORMATS, LoadedTable, reading, require_columns
from spmlang.files import DATA_FILE_WORDS, data_file_kind
from spmlang.hashing import sha256_in_background


def load_table(source, columns: list[str], what: str, in_pieces: bool = False) -> LoadedTable:
    """Read the named ``columns`` of ``source`` (a path or an in-memory table). With ``in_pieces``, a
    parquet file is only opened: its rows are read as :meth:`LoadedTable.pieces` are asked for."""
    if isinstance(source, (str, Path)):
        return _load_file(Path(source), columns, what, in_pieces)
    if isinstance(source, LoadedTable):  # read before, and kept: a what-if runs again over what a run read
        require_columns(list(source.whole().column_names), columns, source.label, source.path)
        return source
    label = f"the {what} table"
    if _is_pandas(source) and not hasattr(source, "columns"):  # a Series, an Index: no table of columns
        kind = type(source).__name__
        raise InputError(f"cannot read the {what} from a pandas {kind}", hint="pass a DataFrame: series.to_frame()")
    if _is_pandas(source):  # only the columns read are made Arrow's: a name repeated among the others is no matter
        names = _pandas_names(source)
        require_columns(names, columns, label, None)
        source = source.iloc[:, [names.index(name) for name in columns]]
    table = _in_memory(source, what)
    require_columns(list(table.column_names), columns, label, None)
    return LoadedTable(table.select(columns), label, None, 0)


def available_columns(source) -> list[str]:
    """The column names of a source, read without loading its data (for a file: its header or schema)."""
    if _is_pandas(source):
        return _pandas_names(source)
    if isinstance(source, LoadedTable):
        return list(source.whole().column_names)
    if not isinstance(source, (str, Path)):
        return list(_in_memory(source, "table").column_names)
    path = Path(source)
    fmt = FORMATS.get(path.suffix.lower())
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if fmt == "csv":
            with path.open("rb") as handle:
                first = handle.readline().decode("utf-8-sig", errors="replace").strip("\r\n")
            delimiter = sniff_delimiter(first, path)
            return [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter), [])]
    except (OSError, pa.ArrowInvalid):
        return []  # load_table reports the problem with the file
    return []


def _pandas_column_by_column(frame) -> pa.Table:
    """A DataFrame Arrow cannot convert whole: a column of values of mixed kinds (100, "200.5", a Decimal) as
    the text of each value, read as a CSV file's cells are, so that a value that cannot be read is one row's
    reject, named by its row, not an error about the whole table."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        try:
            columns[str(name)] = pa.array(values, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            missing = values.isna().tolist()
            texts = [None if gone else str(value) for value, gone in zip(values.tolist(), missing, strict=True)]
            columns[str(name)] = pa.array(texts, pa.string())
    return pa.table(columns)


def _is_pandas(source) -> bool:
    return type(source).__module__.split(".")[0] == "pandas"


def _pandas_names(frame) -> list[str]:
    return [str(name) for name in frame.columns]  # as Arrow names them


def _in_memory(source, what: str) -> pa.Table:
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    if isinstance(source, dict):
        try:
            return pa.table(source)
        except (TypeError, ValueError, pa.ArrowException) as error:  # not columns of values: {"a": 1}
            raise InputError(
                f"cannot read the {what} from this dict: {str(error).splitlines()[0]}",
                hint="a dict of columns, each a list of values: {'payee': ['ann'], 'amount': [1000]}",
            ) from None
    module = type(source).__module__.split(".")[0]
    if module == "pandas":
        try:
            return pa.Table.from_pandas(source, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):  # values of mixed kinds in a column
            return _pandas_column_by_column(source)
    if module == "polars":
        if not hasattr(source, "to_arrow"):  # a LazyFrame: a query, not yet its rows
            raise InputError(f"cannot read the {what} from a polars {type(source).__name__}", hint="collect() it first")
        return source.to_arrow()
    if hasattr(source, "__arrow_c_stream__"):
        return pa.table(source)
    raise InputError(
        f"cannot read the {what} from a {type(source).__name__}",
        hint="pass a file path, a pyarrow Table, or a pandas or polars DataFrame",
    )


def _load_file(path: Path, columns: list[str], what: str, in_pieces: bool) -> LoadedTable:
    label = str(path)
    if not path.exists():
        raise InputError("file not found", file=label, hint=f"check the path of the {what} file")
    if path.is_dir():
        raise InputError("is a folder, not a file", file=label)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"unknown file type '{path.suffix}'", file=label, hint="use .parquet, .csv, .arrow/.feather or .jsonl"
        )
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=label, hint="a table needs at least a header row")
    kind = data_file_kind(path)
    if kind is not None and kind.split()[0] != fmt:  # a parquet file named .csv: its bytes read as a header
        hint = f"name it {_SUFFIX[kind]}" if kind in _SUFFIX else "save it as CSV or parquet"
        raise InputError(f"is {DATA_FILE_WORDS[kind]}, not a {fmt.upper()} file", file=label, hint=hint)
    digest = sha256_in_background(path)  # for the run id and the manifest, on another core as the file is read
    loaded = _read_file(path, fmt, columns, label, in_pieces, kind)
    loaded.digest = digest
    return loaded


_SUFFIX = {"parquet": ".parquet", "arrow": ".arrow", "arrow stream": ".arrow"}


def _read_file(
    path: Path, fmt: str, columns: list[str], label: str, in_pieces: bool, kind: str | None = None
) -> LoadedTable:
    """The file read as ``fmt``; ``kind``: what its first bytes say it is (see files.data_file_kind)."""
    with reading(label, fmt):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            if in_pieces:
                file = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering holds a whole row group as stored
                require_columns(file.schema_arrow.names, columns, label, path)
                return LoadedTable(None, label, path, 0, file.metadata.num_rows, file, columns)
            # One file read by ParquetFile: read_table would import pyarrow.dataset (and pandas) to read it.
            file = pq.ParquetFile(path)
            require_columns(file.schema_arrow.names, columns, label, path)
            return LoadedTable(file.read(columns=columns), label, path, 0)
        if fmt == "arrow":
            import pyarrow.feather as feather

            if kind == "arrow stream":  # the IPC stream format, as pyarrow.ipc.new_stream writes
                with pa.OSFile(str(path), "rb") as source, pa.ipc.open_stream(source) as stream:
                    table = stream.read_all()
            else:
                table = feather.read_table(path)
            require_columns(table.column_names, columns, label, path)
            return LoadedTable(table.select(columns), label, path, 0)
        if fmt == "json":
            import pyarrow.json as pajson

            try:
                table = pajson.read_json(path)
            except pa.ArrowInvalid as error:
                twice = _key_twice(path, label)
                if twice is None:
                    raise
                raise twice from error
            require_columns(table.column_names, columns, label, path)
            return LoadedTable(table.select(columns), label, path, 0)
        return load_csv(path, columns, label, in_pieces)


def _key_twice(path: Path, label: str) -> InputError | None:
    """The first object of a JSON lines file that has a key twice, as an error naming its line (Arrow names a row
    of the block it was reading). None if there is none at the top of an object."""

    def pairs(items: list) -> list:
        return items

    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                keys = [key for key, _ in json.loads(line, object_pairs_hook=pairs)] if line.strip() else []
            except (ValueError, TypeError):  # not an object: Arrow's message says what it is
                return None
            twice = [key for index, key in enumerate(keys) if key in keys[:index]]
            if twice:
                return InputError(
                    f"the column '{twice[0]}' appears twice in this row",
                    file=label,
                    row=number,
                    column=twice[0],
                    code="E507",
                    hint="remove or rename one of the two keys",
                )
    return None
