"""Reading input tables: files and tables in memory, the columns a plan declares.

Anything Arrow can hold is accepted: parquet, CSV, Arrow IPC/Feather, JSON
lines, a pyarrow Table, a pandas or polars DataFrame. Only the columns the plan
declares are read. A missing column, an unreadable file or an unknown format is
an :class:`InputError` naming the file. Turning the columns into typed arrays
is spmlang.engine.columns's.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from spmlang.diagnostics import InputError, did_you_mean
from spmlang.hashing import sha256_file, sha256_in_background

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


# A parquet file is read and converted this many rows at a time (see LoadedTable.pieces), so that its columns
# as read and as converted are never all held at once: Arrow's reader needs about three times what it reads.
PIECE_ROWS = 1 << 18


@dataclass
class LoadedTable:
    table: pa.Table | None  # None for a parquet file read in pieces, and once released (see release)
    label: str  # how messages name it: a path, or "the deals DataFrame"
    path: Path | None
    row_offset: int  # a data row's number in the file is row + row_offset (a CSV header is line 1)
    rows: int = -1  # known from the table or a parquet file's footer; a CSV file's once its pieces are read
    parquet: object = None  # a pyarrow ParquetFile, when the file is read in pieces
    columns: list[str] | None = None  # the columns read from ``parquet``
    digest: Future | None = None  # the file's sha256, hashed while it is read (see sha256)
    csv: Callable[[], Iterator[pa.Table]] | None = None  # a CSV file's pieces, when it is read in pieces

    def __post_init__(self) -> None:
        if self.rows < 0 and self.csv is None:
            self.rows = self.table.num_rows

    def pieces(self) -> Iterator[pa.Table]:
        """The table's rows in order, a piece at a time, once: a parquet file's in pieces of PIECE_ROWS rows,
        read as they are asked for (the file is closed after the last); any other table whole, let go of as
        it is handed over (see release). A CSV file's pieces are blocks of its text, and its rows are counted
        as they come."""
        if self.csv is not None:
            pieces, self.csv, self.rows = self.csv, None, 0
            for piece in pieces():
                self.rows += piece.num_rows
                yield piece
            return
        if self.parquet is None:
            yield self._handed_over()
            return
        file, self.parquet = self.parquet, None
        try:
            if self.rows == 0:  # no rows: the columns still have their types
                yield file.schema_arrow.empty_table().select(self.columns)
                return
            batches = file.iter_batches(batch_size=PIECE_ROWS, columns=self.columns)
            while True:
                with _reading(self.label, "parquet"):
                    batch = next(batches, None)
                if batch is None:
                    return
                yield pa.Table.from_batches([batch])
        finally:
            file.close()

    def _handed_over(self) -> pa.Table:
        table = self.table
        self.release()
        return table

    def sha256(self) -> str:
        """The sha256 of the file the table was read from (hashed on another thread as it was read)."""
        return self.digest.result() if self.digest is not None else sha256_file(self.path)

    def release(self) -> None:
        """Let go of the table read from a file once its columns are converted (the file stays the record
        of it, for the manifest); a table given in memory is kept, to be hashed."""
        if self.path is not None:
            self.table = None


def load_table(source, columns: list[str], what: str, in_pieces: bool = False) -> LoadedTable:
    """Read the named ``columns`` of ``source`` (a path or an in-memory table). With ``in_pieces``, a
    parquet file is only opened: its rows are read as :meth:`LoadedTable.pieces` are asked for."""
    if isinstance(source, (str, Path)):
        return _load_file(Path(source), columns, what, in_pieces)
    label = f"the {what} table"
    if _is_pandas(source):  # only the columns read are made Arrow's: a name repeated among the others is no matter
        names = _pandas_names(source)
        _require_columns(names, columns, label, None)
        source = source.iloc[:, [names.index(name) for name in columns]]
    table = _in_memory(source, what)
    _require_columns(list(table.column_names), columns, label, None)
    return LoadedTable(table.select(columns), label, None, 0)


def available_columns(source) -> list[str]:
    """The column names of a source, read without loading its data (for a file: its header or schema)."""
    if _is_pandas(source):
        return _pandas_names(source)
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
            delimiter = _sniff_delimiter(first, path)
            return [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter), [])]
    except (OSError, pa.ArrowInvalid):
        return []  # load_table reports the problem with the file
    return []


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
        return pa.table(source)
    module = type(source).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(source, preserve_index=False)
    if module == "polars":
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
    digest = sha256_in_background(path)  # for the run id and the manifest, on another core as the file is read
    loaded = _read_file(path, fmt, columns, label, in_pieces)
    loaded.digest = digest
    return loaded


def _read_file(path: Path, fmt: str, columns: list[str], label: str, in_pieces: bool) -> LoadedTable:
    with _reading(label, fmt):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            if in_pieces:
                file = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering holds a whole row group as stored
                _require_columns(file.schema_arrow.names, columns, label, path)
                return LoadedTable(None, label, path, 0, file.metadata.num_rows, file, columns)
            _require_columns(pq.read_schema(path).names, columns, label, path)
            return LoadedTable(pq.read_table(path, columns=columns), label, path, 0)
        if fmt == "arrow":
            import pyarrow.feather as feather

            table = feather.read_table(path)
            _require_columns(table.column_names, columns, label, path)
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
            _require_columns(table.column_names, columns, label, path)
            return LoadedTable(table.select(columns), label, path, 0)
        return _load_csv(path, columns, label, in_pieces)


@contextlib.contextmanager
def _reading(label: str, fmt: str) -> Iterator[None]:
    """What Arrow says of a file it cannot read, as an input error naming the file."""
    try:
        yield
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowKeyError, pa.ArrowTypeError, OSError, UnicodeDecodeError, ValueError) as error:
        message = str(error).splitlines()[0]
        raise InputError(
            f"cannot read this {fmt} file: {message}",
            file=label,
            hint="is the file complete and of the type its name says?",
        ) from None


def _load_csv(path: Path, columns: list[str], label: str, in_pieces: bool = False) -> LoadedTable:
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    text = head.decode("utf-8-sig", errors="replace")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    delimiter = _sniff_delimiter(first_line, path)
    header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
    header = [h.strip() for h in header]
    _require_columns(header, columns, label, path)

    def options(kind: pa.DataType, block: dict | None = None) -> dict:
        return dict(
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, **(block or {})),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=ragged_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: kind for c in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    ragged: list = []  # rows with more or fewer fields than the header, as Arrow met them

    def ragged_row(row) -> str:
        ragged.append(row)
        return "error"

    def problem(error: pa.ArrowInvalid) -> InputError:
        """What made Arrow stop, said better than Arrow does: a row that does not fit the header, text that is
        not UTF-8 (else ``error`` itself is raised)."""
        if ragged:
            raise _ragged_row(path, delimiter, len(header), label) or error
        if "UTF8" not in str(error):
            raise error
        return _not_utf8(pacsv.read_csv(path, **options(pa.binary())), label)

    if in_pieces:

        def pieces() -> Iterator[pa.Table]:
            with _reading(label, "csv"):
                try:
                    reader = pacsv.open_csv(path, **options(pa.string(), {"block_size": CSV_BLOCK_BYTES}))
                except pa.ArrowInvalid as error:
                    raise problem(error) from None
            empty = True
            while True:
                with _reading(label, "csv"):
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    except pa.ArrowInvalid as error:
                        raise problem(error) from None
                empty = False
                yield pa.Table.from_batches([batch])
            if empty:  # a header and no rows: the columns still come, as text
                yield pa.table({name: pa.array([], pa.string()) for name in columns})

        return LoadedTable(None, label, path, 1, csv=pieces)
    try:
        table = pacsv.read_csv(path, **options(pa.string()))
    except pa.ArrowInvalid as error:
        raise problem(error) from None
    return LoadedTable(table, label, path, 1)


# A CSV file read in pieces is read this many bytes of its text at a time (~250k rows of a typical deals file).
CSV_BLOCK_BYTES = 16 << 20


def _ragged_row(path: Path, delimiter: str, fields: int, label: str) -> InputError | None:
    """The first row of a CSV file with more or fewer fields than its header has, as an error naming it (Arrow
    names no row): the file read again, from the start, up to it. Its number is as a spreadsheet shows it, the
    header row 1. None if there is none (Arrow and Python's csv then read the file differently)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        next(rows, None)
        for number, row in enumerate(rows, start=2):
            if row and len(row) != fields:  # an empty line is no row to Arrow
                found = f"{len(row)} field" + ("s" if len(row) != 1 else "")
                return InputError(
                    f"this row has {found}, but the header has {fields}",
                    file=label,
                    row=number,
                    hint=f"a value with '{delimiter}' in it needs double quotes around "
                    f"it; else a field is missing or one too many",
                )
    return None


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


def _not_utf8(table: pa.Table, label: str) -> InputError:
    """The first value of ``table`` (a CSV file's columns read as bytes) that is not UTF-8 text, as an error
    naming its row and column: files saved by spreadsheets in a legacy encoding (Windows-1252) fail so."""
    found = []
    for name in table.column_names:
        offset = 0
        for chunk in table.column(name).chunks:
            bad = _first_not_utf8(chunk)
            if bad is not None:
                found.append((offset + bad, name, chunk[bad].as_py()))
                break
            offset += len(chunk)
    if not found:  # pragma: no cover - Arrow said a value was not UTF-8
        return InputError("the file is not UTF-8 text", file=label, hint=_UTF8_HINT)
    index, name, value = min(found)
    shown = value.decode("utf-8", errors="backslashreplace")
    return InputError(f"'{shown}' is not UTF-8 text", file=label, row=index + 2, column=name, hint=_UTF8_HINT)


_UTF8_HINT = 'spm reads CSV files as UTF-8: save the file as UTF-8 (in Excel: Save As, "CSV UTF-8")'


def _first_not_utf8(values: pa.Array) -> int | None:
    """The index of the first value of ``values`` (binary) that is not UTF-8, if any: halving the range that
    holds it, each half checked by Arrow's cast."""

    def utf8(part: pa.Array) -> bool:
        try:
            part.cast(pa.string())
        except pa.ArrowInvalid:
            return False
        return True

    if utf8(values):
        return None
    low, high = 0, len(values)  # the first value that is not UTF-8 is in values[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        if utf8(values.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low


def _sniff_delimiter(line: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _require_columns(available: list[str], needed: list[str], label: str, path: Path | None) -> None:
    """Every column the plan reads is there, once."""
    for name in needed:
        if name not in available:
            hint = did_you_mean(name, available)
            shown = ", ".join(available[:12]) + (" ..." if len(available) > 12 else "")
            raise InputError(
                f"the column '{name}' is missing",
                file=label,
                column=name,
                hint=(hint + " " if hint else "") + f"the file has: {shown}",
                code="E501",
            )
        first = available.index(name)
        if name in available[first + 1 :]:
            second = available.index(name, first + 1)
            spreadsheet = path is not None and FORMATS.get(path.suffix.lower()) == "csv"
            places = [
                f"{place + 1} ({_letters(place)})" if spreadsheet else f"{place + 1}" for place in (first, second)
            ]
            raise InputError(
                f"the column '{name}' appears twice: columns {places[0]} and {places[1]}",
                file=label,
                column=name,
                code="E507",
                hint="rename or remove one of them: spm cannot tell which to read",
            )


def _letters(index: int) -> str:
    """A column's letters in a spreadsheet: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
