"""Writing ledgers and rejects: the format follows the file's extension."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO, cast

import pyarrow as pa

from spmlang.diagnostics import UsageError
from spmlang.engine.kernels.column_text import join_element_wise
from spmlang.files import check_writable, replacing
from spmlang.report.explanations import readable
from spmlang.spreadsheet import FORMULA_STARTS, PLAIN_NUMBER

WRITABLE = (".parquet", ".csv", ".json", ".jsonl")


def writable(path: str | Path) -> Path:
    """``path`` if spm can write a table there (by its extension, and where it is); else an error, before any
    work."""
    path = Path(path)
    if path.suffix.lower() not in WRITABLE:
        raise UsageError(f"cannot write '{path}': the format follows the extension, one of {', '.join(WRITABLE)}")
    check_writable(path)
    return path


@dataclass(frozen=True)
class Written:
    """A table written to a file: where, how many rows, and the sha256 of the file's bytes."""

    path: Path
    rows: int
    sha256: str


class _Hashed(io.RawIOBase):
    """A file being written, hashed as it is written: the file need not be read back for its sha256 (for a
    large ledger, a noticeable wait after the last line was written)."""

    def __init__(self, handle) -> None:
        super().__init__()
        self._handle = handle
        self._digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._digest.update(data)
        return self._handle.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def as_file(self) -> BinaryIO:
        """This, as what writers take: Arrow's writers and TextIOWrapper write to any object with ``write``;
        their stubs ask for ``typing.BinaryIO``, which an ``io.RawIOBase`` is not declared to be."""
        return cast(BinaryIO, self)


@contextlib.contextmanager
def _hashed_file(path: Path) -> Iterator[_Hashed]:
    with path.open("wb") as handle:
        yield _Hashed(handle)


def write_table(table: pa.Table, path: str | Path) -> Written:
    """Write ``table`` as parquet, CSV, JSON (an array) or JSON lines, by ``path``'s extension.

    The bytes depend only on the table: no timestamps, no unordered metadata.
    """
    path = writable(path)
    with replacing(path) as partial, _hashed_file(partial) as sink:
        _write_whole(table, sink, path.suffix.lower())
    return Written(path, table.num_rows, sink.hexdigest())


def _write_whole(table: pa.Table, sink: _Hashed, suffix: str) -> None:
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink.as_file(), **_parquet_options(table.schema))
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(spreadsheet_safe(table), sink.as_file())
    else:
        with _JsonRecords(sink, lines=suffix == ".jsonl") as writer:
            writer.write_table(table)


class _JsonRecords:
    """Tables written as JSON records, a batch of rows at a time (memory stays bounded however long the
    table): an array (``.json``, laid out as ``json.dump(records, indent=1)`` lays it out) or one record per
    line (``.jsonl``). JSON has no decimals: money is its exact text."""

    BATCH = 1 << 14  # rows made into Python records at a time

    def __init__(self, sink: _Hashed, lines: bool):
        self._handle = io.TextIOWrapper(sink.as_file(), encoding="utf-8")
        self._lines = lines
        self._count = 0

    def write_table(self, table: pa.Table) -> None:
        write = self._handle.write
        for batch in table.to_batches(max_chunksize=self.BATCH):
            for row in batch.to_pylist():
                record = {k: _plain(v) for k, v in row.items()}
                if self._lines:
                    write(json.dumps(record, ensure_ascii=False) + "\n")
                else:  # strings hold no raw line breaks (JSON escapes them): only the layout's are indented
                    write(
                        ("[\n " if self._count == 0 else ",\n ")
                        + json.dumps(record, ensure_ascii=False, indent=1).replace("\n", "\n ")
                    )
                self._count += 1

    def __enter__(self) -> _JsonRecords:
        return self

    def __exit__(self, *exc) -> None:
        if not self._lines:
            self._handle.write("\n]\n" if self._count else "[]\n")
        self._handle.flush()
        self._handle.detach()  # the sink is closed with its file


def write_chunks(chunks, path: str | Path, schema: pa.Schema, make_folder: bool = True) -> Written:
    """Write tables one after another into one file (parquet row groups, CSV batches).

    ``schema`` is what the file holds. The chunks may hold text columns dictionary-encoded (as the ledger is
    built): parquet stores those as dictionaries, and they read back as ``schema`` says, since spm stores no
    Arrow schema beside parquet's own types (those of ``schema`` are the same). Other formats get the chunks
    cast to ``schema``, and JSON records are made a batch at a time. The bytes depend only on the data and the
    chunking. The file appears only once written whole (see :func:`replacing`, and ``make_folder``).
    """
    path = writable(path)
    suffix = path.suffix.lower()
    rows = 0
    with replacing(path, make_folder) as partial, _hashed_file(partial) as sink, contextlib.ExitStack() as stack:
        writer = None
        for chunk in chunks:
            if writer is None:
                writer = stack.enter_context(
                    _chunk_writer(sink, suffix, chunk.schema if suffix == ".parquet" else schema)
                )
            if suffix != ".parquet":  # a ledger's explanations as sentences (parquet keeps templates)
                chunk = readable(chunk)
            writer.write_table(
                chunk
                if suffix == ".parquet"
                else chunk.cast(schema)
                if suffix != ".csv"
                else spreadsheet_safe(chunk).cast(schema)
            )
            rows += chunk.num_rows
        if writer is None:  # no chunks: the file still has the columns
            stack.enter_context(_chunk_writer(sink, suffix, schema)).write_table(schema.empty_table())
    return Written(path, rows, sink.hexdigest())


def _chunk_writer(sink: _Hashed, suffix: str, schema: pa.Schema):
    if suffix in (".json", ".jsonl"):
        return _JsonRecords(sink, lines=suffix == ".jsonl")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(sink.as_file(), schema, store_schema=False, **_parquet_options(schema))
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(sink.as_file(), schema)


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """``table`` with :func:`spreadsheet_text` applied to its text columns (dictionary-encoded ones through
    their dictionaries), a whole column at a time; numbers, dates and amounts are left as they are."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type) and _is_text(column.type.value_type):
            # A dictionary column's chunks are dictionary arrays (pyarrow-stubs types them as any array).
            chunks = [cast(pa.DictionaryArray, chunk) for chunk in column.chunks]
            safe = [pa.DictionaryArray.from_arrays(chunk.indices, _safe_text(chunk.dictionary)) for chunk in chunks]
            column = pa.chunked_array(safe, column.type)  # type: ignore[call-overload]  # stubs: no dictionary type
        elif _is_text(column.type):
            column = _safe_text(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _safe_text(column):
    import pyarrow.compute as pc

    starts = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(FORMULA_STARTS, column.type))
    if not pc.any(starts).as_py():  # the usual case, found in one pass
        return column
    formula = pc.and_kleene(starts, pc.invert(pc.match_substring_regex(column, f"^(?:{PLAIN_NUMBER})$")))
    return pc.if_else(formula.fill_null(False), join_element_wise("'", column, ""), column)


def _parquet_options(schema: pa.Schema) -> dict:
    """How spm writes parquet: zstd (level 1: fast) where it finds something to compress, dictionaries only
    where values repeat, statistics only where readers filter, and exact decimals of up to 18 digits as parquet
    INT64 (smaller and faster to write than fixed-length bytes; every reader knows the type)."""
    integers = _integers(schema)
    compressed = [name for name in schema.names if name not in _RUNNING or name not in integers]
    return dict(
        compression={name: "zstd" if name in compressed else "none" for name in schema.names},
        compression_level={name: 1 for name in compressed},
        use_dictionary=_low_cardinality(schema),
        write_statistics=_with_statistics(schema),
        store_decimal_as_integer=True,
        column_encoding={name: "PLAIN" if name in _REPEATING else "DELTA_BINARY_PACKED" for name in integers},
    )


def _integers(schema: pa.Schema) -> list[str]:
    """Columns parquet stores as integers (money, ratios and dates among them), other than dictionaries.
    Delta-encoded, running amounts and ordered dates take fewer bytes, and what zstd then has to compress
    is smaller: the ledger is written faster and no larger."""

    def stored_as_integer(kind: pa.DataType) -> bool:
        return (
            pa.types.is_integer(kind)
            or pa.types.is_date32(kind)
            or (pa.types.is_decimal(kind) and kind.precision <= 18)
        )

    dictionaries = set(_low_cardinality(schema))
    return [f.name for f in schema if stored_as_integer(f.type) and f.name not in dictionaries]


# The ledger's amounts and ratios that change from line to line: delta-encoded, they leave zstd nothing to
# find (without it a ledger is hardly larger, and written faster).
_RUNNING = {"credit", "measure_before", "measure_after", "attainment_before", "attainment_after", "amount"}
# Those of a few values (a rate, a multiplier, a share; a cut, mostly none): zstd finds the repeats in them
# as they are, faster than after delta encoding, and as small.
_REPEATING = {"rate", "multiplier", "share", "amount_cut"}


# Plain text columns with few distinct values (the ledger's other labels come dictionary-encoded).
_DICTIONARY_COLUMNS = {"tier", "reason", "column"}


def _low_cardinality(schema: pa.Schema) -> list[str]:
    """Columns parquet stores as dictionaries: those that are dictionaries already, and the plain text ones
    known to repeat. The others (explanations, keys, amounts) would only be tried and abandoned, which costs
    time on millions of lines."""
    return [f.name for f in schema if pa.types.is_dictionary(f.type) or f.name in _DICTIONARY_COLUMNS]


# Min/max statistics let readers skip row groups, but only by a column the rows are ordered by: spm's tables
# are ordered by payee and period (ledger, totals) or by row (rejects). On other columns every row group spans
# nearly every value, and the statistics cost a noticeable part of the time to write a ledger.
_ORDERED_BY = ("payee", "period", "row")


def _with_statistics(schema: pa.Schema) -> list[str]:
    return [name for name in schema.names if name in _ORDERED_BY]


def _plain(value):
    """JSON has no decimals: money is written as its exact text ("1000.04")."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
