"""Reading input tables and turning their columns into typed arrays.

Anything Arrow can hold is accepted: parquet, CSV, Arrow IPC/Feather, JSON
lines, a pyarrow Table, a pandas or polars DataFrame. Only the columns the plan
declares are read. A missing column, an unreadable file or an unknown format is
an :class:`InputError` naming the file; a value that cannot be read as its
column's type is marked invalid row by row, so the run can reject that row with
a reason instead of failing or, worse, guessing.
"""

from __future__ import annotations

import contextlib
import csv
import io
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.check.ir import Type
from spmlang.check.model import ColumnSpec
from spmlang.diagnostics import InputError, did_you_mean
from spmlang.engine import grouping
from spmlang.engine.money import UNIT, to_units
from spmlang.hashing import sha256_file, sha256_in_background

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".txt": "csv",
           ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow", ".json": "json", ".jsonl": "json",
           ".ndjson": "json"}
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_INTEGER_RE = r"^[+-]?\d+$"
_SEPARATORS = {  # number format -> (thousands separator, decimal mark)
    "1234.56": ("", "."), "1,234.56": (",", "."), "1234,56": ("", ","), "1.234,56": (".", ","),
    "1 234,56": (" ", ","), "1 234.56": (" ", "."), "1'234.56": ("'", "."),
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


@dataclass
class ColumnValues:
    """A column converted to its declared type.

    ``values`` is numpy for numbers (money as int64 units, number/percent as
    float64, integer as int64, date as int64 days, bool) and Arrow for text.
    ``valid`` is True where a value is present and readable; ``invalid`` is True
    where a value is present but cannot be read (the row will be rejected).
    """

    name: str
    type: Type
    values: object
    valid: np.ndarray
    invalid: np.ndarray
    raw: pa.Array | None  # the column as read (dropped once the rows that cannot be read are reported)

    @property
    def any_invalid(self) -> bool:
        """Whether any value cannot be read (at once where none are: ``invalid`` is then one False, stored once)."""
        invalid = self.invalid[:1] if grouping.is_uniform(self.invalid) else self.invalid
        return bool(np.any(invalid))


class JoinedColumn:
    """A column converted piece by piece (see LoadedTable.pieces), joined as its pieces come. Numbers are
    copied into one array as each piece is converted, so a piece's own arrays are let go at once (and their
    memory is used again by the next piece's); text pieces are joined at the end. A piece keeps ``raw`` only
    where it has values that could not be read, to quote them; elsewhere that joins as empty."""

    def __init__(self, rows: int) -> None:
        self.rows = rows  # -1: not known until the last piece (numbers are then joined at the end too)
        self.filled = 0
        self.first: ColumnValues | None = None
        self.numbers: np.ndarray | None = None
        self.texts: list[pa.Array] = []
        self.number_pieces: list[np.ndarray] = []  # numbers, while how many rows is not known
        self.valid: list[np.ndarray] = []
        self.invalid: list[np.ndarray] = []
        self.any_invalid = False
        self.raw: list[pa.Array | None] = []

    def add(self, piece: ColumnValues) -> None:
        size = len(piece.invalid)
        if self.first is None:
            self.first = piece
        if isinstance(piece.values, np.ndarray) and self.rows < 0:  # how many rows is known at the end
            self.number_pieces.append(piece.values)
        elif isinstance(piece.values, np.ndarray):
            if self.numbers is None:
                self.numbers = np.empty(self.rows, dtype=piece.values.dtype)
            self.numbers[self.filled:self.filled + size] = piece.values
        else:
            self.texts.append(piece.values)
        self.valid.append(piece.valid)
        self.invalid.append(piece.invalid)
        self.any_invalid = self.any_invalid or piece.any_invalid
        self.raw.append(piece.raw)
        self.filled += size

    def result(self) -> ColumnValues:
        if len(self.invalid) == 1:
            return self.first
        if self.numbers is not None:
            values = self.numbers
        elif self.number_pieces:
            values = np.concatenate(self.number_pieces)
            self.number_pieces.clear()
        else:
            if len({chunk.type for chunk in self.texts}) > 1:  # a short last piece left plain among encoded ones
                self.texts = [chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
                              for chunk in self.texts]
            values = pa.chunked_array(self.texts)
            self.texts.clear()
            if pa.types.is_dictionary(values.type):
                values = values.unify_dictionaries()
            values = values.combine_chunks()
        if all(grouping.is_uniform(valid) and valid[:1].all() for valid in self.valid):
            valid = grouping.uniform(True, self.filled)
        else:
            valid = np.concatenate(self.valid)
        if not self.any_invalid:  # as read, mostly: no array of ten million False (nor its page faults)
            return ColumnValues(self.first.name, self.first.type, values, valid, grouping.uniform(False, self.filled),
                                None)
        invalid = np.concatenate(self.invalid)
        raw = None
        if invalid.any():
            raw = pa.concat_arrays([pc.cast(piece, pa.string()) if piece is not None else
                                    pa.nulls(len(piece_invalid), pa.string())
                                    for piece, piece_invalid in zip(self.raw, self.invalid)])
        return ColumnValues(self.first.name, self.first.type, values, valid, invalid, raw)


def load_table(source, columns: list[str], what: str, in_pieces: bool = False) -> LoadedTable:
    """Read the named ``columns`` of ``source`` (a path or an in-memory table). With ``in_pieces``, a
    parquet file is only opened: its rows are read as :meth:`LoadedTable.pieces` are asked for."""
    if isinstance(source, (str, Path)):
        return _load_file(Path(source), columns, what, in_pieces)
    table = _in_memory(source, what)
    _require_columns(list(table.column_names), columns, f"the {what} table", None)
    return LoadedTable(table.select(columns), f"the {what} table", None, 0)


def available_columns(source) -> list[str]:
    """The column names of a source, read without loading its data (for a file: its header or schema)."""
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
    raise InputError(f"cannot read the {what} from a {type(source).__name__}",
                     hint="pass a file path, a pyarrow Table, or a pandas or polars DataFrame")


def _load_file(path: Path, columns: list[str], what: str, in_pieces: bool) -> LoadedTable:
    label = str(path)
    if not path.exists():
        raise InputError("file not found", file=label, hint=f"check the path of the {what} file")
    if path.is_dir():
        raise InputError("is a folder, not a file", file=label)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"unknown file type '{path.suffix}'", file=label,
                         hint="use .parquet, .csv, .arrow/.feather or .jsonl")
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

            table = pajson.read_json(path)
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
        raise InputError(f"cannot read this {fmt} file: {message}", file=label,
                         hint="is the file complete and of the type its name says?") from None


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
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: kind for c in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    def not_utf8(error: pa.ArrowInvalid) -> InputError:
        if "UTF8" not in str(error):
            raise error
        return _not_utf8(pacsv.read_csv(path, **options(pa.binary())), label)

    if in_pieces:
        def pieces() -> Iterator[pa.Table]:
            with _reading(label, "csv"):
                try:
                    reader = pacsv.open_csv(path, **options(pa.string(), {"block_size": CSV_BLOCK_BYTES}))
                except pa.ArrowInvalid as error:
                    raise not_utf8(error) from None
            empty = True
            while True:
                with _reading(label, "csv"):
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    except pa.ArrowInvalid as error:
                        raise not_utf8(error) from None
                empty = False
                yield pa.Table.from_batches([batch])
            if empty:  # a header and no rows: the columns still come, as text
                yield pa.table({name: pa.array([], pa.string()) for name in columns})

        return LoadedTable(None, label, path, 1, csv=pieces)
    try:
        table = pacsv.read_csv(path, **options(pa.string()))
    except pa.ArrowInvalid as error:
        raise not_utf8(error) from None
    return LoadedTable(table, label, path, 1)


# A CSV file read in pieces is read this many bytes of its text at a time (~250k rows of a typical deals file).
CSV_BLOCK_BYTES = 16 << 20


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


_UTF8_HINT = "spm reads CSV files as UTF-8: save the file as UTF-8 (in Excel: Save As, \"CSV UTF-8\")"


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
    for name in needed:
        if name not in available:
            hint = did_you_mean(name, available)
            shown = ", ".join(available[:12]) + (" ..." if len(available) > 12 else "")
            raise InputError(f"the column '{name}' is missing", file=label, column=name,
                             hint=(hint + " " if hint else "") + f"the file has: {shown}", code="E501")


# ---------------------------------------------------------------------- conversion


def convert_column(array, spec: ColumnSpec, label: str) -> ColumnValues:
    """Convert one input column to the type the plan declares for it."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        if spec.type is Type.TEXT:  # keep it encoded: string operations then run on its few distinct values
            array = pa.DictionaryArray.from_arrays(array.indices, _as_text(array.dictionary))
        else:
            array = array.dictionary_decode()
    present = _valid(array)
    try:
        return _CONVERTERS[spec.type](array, spec, present)
    except _WrongType as error:
        raise InputError(f"the column is {array.type}, which cannot be read as {spec.type}", file=label,
                         column=spec.name, hint=str(error) or None, code="E502") from None


class _WrongType(Exception):
    pass


def _valid(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return grouping.uniform(True, len(array))  # stored once: most columns have no empty value
    return array.is_valid().to_numpy(zero_copy_only=False)


def _result(spec, values, valid, invalid, raw) -> ColumnValues:
    return ColumnValues(spec.name, spec.type, values, valid & ~invalid if np.any(invalid) else valid, invalid, raw)


def _as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if pa.types.is_dictionary(array.type):
        return array
    return pc.cast(array, pa.string())


def _clean_number_text(array: pa.Array, spec: ColumnSpec) -> pa.Array:
    text = pc.utf8_trim_whitespace(_as_text(array))
    text = pc.replace_substring_regex(text, r"^([+-]?)\s*[$€£]\s*", r"\1")
    thousands, mark = _SEPARATORS.get(spec.format or "1234.56", ("", "."))
    if thousands:
        text = pc.replace_substring(text, thousands, "")
    if mark == ",":
        text = pc.replace_substring(text, ",", ".")
    return text


def _parse_numbers(array: pa.Array, spec: ColumnSpec, present: np.ndarray, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Text to float64; returns (values, invalid)."""
    text = _clean_number_text(array, spec)
    percent = None
    if spec.type is Type.PERCENT:
        percent = pc.fill_null(pc.ends_with(text, "%"), False).to_numpy(zero_copy_only=False)
        text = pc.replace_substring_regex(text, r"\s*%$", "")
    safe, ok = _readable(text, pattern)
    values = pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False)
    if percent is not None:
        values = np.where(percent, values / 100.0, values)
    return values, present & ~ok


def _readable(text: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    """``text`` where it matches ``pattern`` (else '0'), and where it does."""
    ok = pc.fill_null(pc.match_substring_regex(text, pattern), False)
    return pc.if_else(ok, text, pa.scalar("0")), ok.to_numpy(zero_copy_only=False)


def _exact_units(text: pa.Array) -> np.ndarray | None:
    """Numbers written as text, as exact int64 units, if every one is a plain decimal with at most six
    decimals that fits; else None."""
    try:
        return _decimal_to_units(pc.cast(text, pa.decimal128(38, 6)))
    except pa.ArrowInvalid:
        return None


def _to_float(array: pa.Array, spec: ColumnSpec, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_decimal(array.type):
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.where(present, values, 0.0)
        invalid = present & ~np.isfinite(values)
        return np.where(invalid, 0.0, values), invalid
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return _parse_numbers(array, spec, present, _NUMBER_RE)
    raise _WrongType("declare the column as text, or fix the file")


def _convert_number(array, spec, present):
    values, invalid = _to_float(array, spec, present)
    return _result(spec, values, present, invalid, array)


def _integers(array: pa.Array) -> np.ndarray:
    """An Arrow integer array as int64, 0 where null."""
    if array.null_count:
        array = pc.fill_null(array, 0)
    return array.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _convert_integer(array, spec, present):
    if pa.types.is_integer(array.type):
        return _result(spec, _integers(array), present, np.zeros(len(array), bool), array)
    plain = None
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = trimmed(array)
        try:  # every value a plain integer (the usual file): exact, and read in one pass
            return _result(spec, _integers(pc.cast(text, pa.int64())), present, np.zeros(len(array), bool), array)
        except pa.ArrowInvalid:  # some value is not plain digits, or too large
            plain = pc.fill_null(pc.match_substring_regex(text, r"^[+-]?\d{1,18}$"), False)
    values, invalid = _to_float(array, spec, present)  # 1.0, 1e3, $5, 1,234 (by the column's format)
    fractional = present & ~invalid & (values != np.round(values))
    too_big = present & ~invalid & (np.abs(values) >= 2.0 ** 53)  # not held exactly by the float it was read as
    integers = np.where(invalid | fractional | too_big, 0, values).astype(np.int64)
    if plain is not None and pc.any(plain).as_py():  # written as digits: read exactly, however large
        digits = pc.replace_substring_regex(pc.if_else(plain, text, "0"), r"^\+", "")
        exact = plain.to_numpy(zero_copy_only=False)
        integers = np.where(exact, _integers(pc.cast(digits, pa.int64())), integers)
        too_big &= ~exact
    return _result(spec, integers, present, invalid | fractional | too_big, array)


def _convert_money(array, spec, present):
    if pa.types.is_integer(array.type):
        values = _integers(array)
        too_big = np.abs(values) > (2 ** 62) // UNIT
        return _result(spec, np.where(too_big, 0, values) * UNIT, present, present & too_big, array)
    if pa.types.is_decimal(array.type):
        units = _decimal_to_units(array)
        if units is not None:
            return _result(spec, np.where(present, units, 0), present, np.zeros(len(array), bool), array)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        # Every value plain digits with at most six decimals (the usual file): exact, and read in one pass.
        units = _exact_units(trimmed(array)) if spec.format in (None, "1234.56") else None
        if units is not None:
            return _result(spec, np.where(present, units, 0), present, np.zeros(len(array), bool), array)
        safe, ok = _readable(_clean_number_text(array, spec), _NUMBER_RE)  # $5, 1,234.56 (by the format)
        units = _exact_units(safe)
        if units is not None:
            return _result(spec, np.where(present & ok, units, 0), present, present & ~ok, array)
    values, invalid = _to_float(array, spec, present)  # more than six decimals, 1e-9: through floats
    too_big = np.abs(values) * UNIT > 2.0 ** 62
    invalid = invalid | (present & too_big)
    return _result(spec, to_units(np.where(invalid, 0.0, values) * UNIT), present, invalid, array)


def _decimal_to_units(array: pa.Array) -> np.ndarray | None:
    """Exact decimal -> units, when every value fits in int64 units; None when one does not."""
    scale = array.type.scale
    if scale > 6 or not isinstance(array.type, pa.Decimal128Type):
        try:
            rounded = pc.round(array, ndigits=6, round_mode="half_towards_infinity") if scale > 6 else array
            array = pc.cast(rounded, pa.decimal128(38, 6))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # wider than 38 digits at 6 places
            return None  # not exact units: the caller reads such a column through floats, flagging what is too big
        scale = 6
    # A decimal128 is two little-endian int64 words: it fits in int64 where the high word is the low word's sign.
    words = np.frombuffer(array.buffers()[1], dtype=np.int64)[2 * array.offset:2 * (array.offset + len(array))]
    low, high = words[0::2], words[1::2]
    if array.null_count:
        present = _valid(array)
        low, high = np.where(present, low, 0), np.where(present, high, 0)
    if not np.array_equal(high, low >> 63):
        return None
    factor = 10 ** (6 - scale)
    if factor == 1:
        return low.copy()
    limit = (2 ** 62) // factor
    if np.any((low > limit) | (low < -limit)):  # not np.abs: it overflows on the smallest int64
        return None
    return low * factor


def _convert_percent(array, spec, present):
    return _convert_number(array, spec, present)


def _convert_text(array, spec, present):
    text = _encoded_if_repeating(trimmed(_as_text(array)))
    blank = _empty(text)
    if blank is not None and blank.any():  # '' or only white space: no value, as an empty CSV field is
        present = present & ~blank
    return _result(spec, text, present, np.zeros(len(array), bool), array)


def _encoded_if_repeating(text: pa.Array) -> pa.Array:
    """A long column of plain text whose values repeat (payees, products, deal types; as a CSV file gives
    them) dictionary-encoded, as parquet files mostly hold them: it takes a fraction of the memory, and what
    is done with it (filters, lookups, payee codes) is done once per distinct value. Keys and other columns
    of mostly distinct values (judged from their first values) are left as they are."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)) or len(text) <= _DISTINCT_FIRST:
        return text
    if pc.count_distinct(text.slice(0, _DISTINCT_FIRST)).as_py() > _DISTINCT_FIRST // 4:
        return text
    return pc.dictionary_encode(text)


def _empty(text: pa.Array) -> np.ndarray | None:
    """Where ``text`` (string, large string, or a dictionary of them) is '' (null or not); None if unknown."""
    if pa.types.is_dictionary(text.type):
        empty = _empty(text.dictionary)
        if empty is None or not empty.any():
            return empty if empty is None else grouping.uniform(False, len(text))
        return empty[np.asarray(text.indices.fill_null(0))]
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(text.buffers()[1], dtype=kind)[text.offset:text.offset + len(text) + 1]
    return offsets[1:] == offsets[:-1]


def trimmed(text: pa.Array) -> pa.Array:
    """Text without white space before or after it: 'ann ' (as spreadsheets leave it) is the payee 'ann', and
    'renewal ' is 'renewal' to a filter. A dictionary's values are trimmed, not each element; a plain column
    is first looked at, byte by byte at the ends of its values, and left as it is where none can be white."""
    if pa.types.is_dictionary(text.type):
        values = trimmed(text.dictionary)
        return text if values is text.dictionary else pa.DictionaryArray.from_arrays(text.indices, values)
    if not _may_have_white_ends(text):
        return text
    return pc.utf8_trim_whitespace(text)


def _white_bytes(*characters: str, last: bool) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    for character in characters:
        encoded = character.encode("utf-8")
        table[encoded[-1] if last else encoded[0]] = True
    return table


# Every character Arrow's trim removes (Unicode white space; a test holds the two lists together), and from
# them the bytes that can start or end one in UTF-8.
_WHITE = ["\t", "\n", "\v", "\f", "\r", " ", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
          *map(chr, range(0x2000, 0x200B)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
_WHITE_FIRST, _WHITE_LAST = _white_bytes(*_WHITE, last=False), _white_bytes(*_WHITE, last=True)


def _may_have_white_ends(text: pa.Array) -> bool:
    """Whether a value of ``text`` (string or large string) may start or end with white space: its first and
    last bytes looked up in two tables (no false 'no'; a rare false 'yes' costs one trim)."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return True
    _, offsets, data = text.buffers()
    if data is None or len(text) == 0:
        return False
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets, dtype=kind)[text.offset:text.offset + len(text) + 1]
    data = np.frombuffer(data, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts  # empty and null values have no ends to look at
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    return bool(_WHITE_FIRST[data[starts]].any() or _WHITE_LAST[data[ends - 1]].any())


_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def _convert_bool(array, spec, present):
    if pa.types.is_boolean(array.type):
        values = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
        return _result(spec, values, present, np.zeros(len(array), bool), array)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(array)))
    is_true = pc.fill_null(pc.is_in(text, value_set=pa.array(_TRUE)), False).to_numpy(zero_copy_only=False)
    is_false = pc.fill_null(pc.is_in(text, value_set=pa.array(_FALSE)), False).to_numpy(zero_copy_only=False)
    return _result(spec, is_true, present, present & ~(is_true | is_false), array)


# A longer column of text is looked at for repeats: dates are read a distinct text at a time, and text whose
# first values repeat is dictionary-encoded.
_DISTINCT_FIRST = 1 << 12


def _convert_date(array, spec, present):
    n = len(array)
    if pa.types.is_date(array.type) or pa.types.is_timestamp(array.type):
        days = _integers(pc.cast(array if pa.types.is_date32(array.type) else pc.cast(array, pa.date32()), pa.int32()))
        return _result(spec, days, present, np.zeros(n, bool), array)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise _WrongType("dates in a file are text (with `column NAME date \"FORMAT\"`) or a date type")
    if n <= _DISTINCT_FIRST:
        days, ok = _parse_dates(array, spec.format)
        return _result(spec, days, present, present & ~ok, array)
    # A year has a few hundred days: each distinct text is read once, then spread to its rows.
    encoded = pc.dictionary_encode(array)
    if len(encoded.dictionary) == 0:  # no date at all
        return _result(spec, np.zeros(n, np.int64), present, np.zeros(n, bool), array)
    days, ok = _parse_dates(encoded.dictionary, spec.format)
    index = _integers(encoded.indices)  # 0 where null: masked by present
    return _result(spec, np.where(present, days[index], 0), present, present & ~ok[index], array)


def _parse_dates(text: pa.Array, fmt: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Dates written as text in ``fmt``: (int64 days, where readable)."""
    fmt = fmt or "%Y-%m-%d"
    text = pc.utf8_trim_whitespace(text)
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    # strptime normalises impossible dates (31-02 becomes 03-03): format the date
    # back and compare, ignoring zero padding, so that such values are invalid.
    back = pc.strftime(parsed, format=fmt)
    same = pc.equal(_unpadded(pc.utf8_lower(back)), _unpadded(pc.utf8_lower(text)))
    ok = pc.fill_null(same, False).to_numpy(zero_copy_only=False)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
    return np.where(ok, np.nan_to_num(days.astype(np.float64)), 0).astype(np.int64), ok


def _unpadded(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(text, r"(^|[^0-9])0+([0-9])", r"\1\2")


_CONVERTERS = {
    Type.TEXT: _convert_text,
    Type.INTEGER: _convert_integer,
    Type.NUMBER: _convert_number,
    Type.PERCENT: _convert_percent,
    Type.MONEY: _convert_money,
    Type.DATE: _convert_date,
    Type.BOOL: _convert_bool,
}
