"""CSV files: the delimiter sniffed from the header, the columns a plan reads as text, whole or a block of
the file at a time; a row that does not fit the header, and text that is not UTF-8, named by row and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pyarrow as pa

from spmlang.diagnostics import InputError
from spmlang.engine.read.loaded import LoadedTable, reading, require_columns


def load_csv(path: Path, columns: list[str], label: str, in_pieces: bool = False) -> LoadedTable:
    file = _CsvFile(path, columns, label)
    if in_pieces:
        return LoadedTable(None, label, path, 1, columns=list(columns), csv=file.pieces)
    return LoadedTable(file.whole(), label, path, 1)


class _CsvFile:
    """A CSV file's header, and its ``columns`` read by Arrow as text: whole, or a block at a time."""

    def __init__(self, path: Path, columns: list[str], label: str):
        self.path, self.columns, self.label = path, columns, label
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
        if _utf16(head):
            raise InputError(
                "the file is UTF-16 text, not UTF-8",
                file=label,
                hint=_UTF8_HINT,
            )
        text = head.decode("utf-8-sig", errors="replace")
        first_line = text.splitlines()[0] if text.splitlines() else ""
        self.delimiter = sniff_delimiter(first_line, path)
        header = next(csv.reader(io.StringIO(first_line), delimiter=self.delimiter), [])
        self.header = [h.strip() for h in header]
        require_columns(self.header, columns, label, path)
        # A header and nothing after it but a line end, or none (which Arrow cannot skip): no rows.
        text_end = head.rstrip(b"\r\n")
        self.header_alone = len(head) < 64 * 1024 and b"\n" not in text_end and b"\r" not in text_end
        self.ragged: list = []  # rows with more or fewer fields than the header, as Arrow met them

    def options(self, kind: pa.DataType, block: dict | None = None, columns: list[str] | None = None) -> dict:
        import pyarrow.csv as pacsv

        read = self.columns if columns is None else columns
        return dict(
            read_options=pacsv.ReadOptions(column_names=self.header, skip_rows=1, **(block or {})),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=self._ragged_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=read,
                column_types={c: kind for c in read},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    def _ragged_row(self, row: object) -> Literal["error"]:
        self.ragged.append(row)
        return "error"

    def problem(self, error: pa.ArrowInvalid) -> InputError:
        """What made Arrow stop, said better than Arrow does: a row that does not fit the header, text that is
        not UTF-8 (else ``error`` itself is raised)."""
        import pyarrow.csv as pacsv

        if self.ragged:
            raise _ragged_row(self.path, self.delimiter, len(self.header), self.label) or error
        if "UTF8" not in str(error):
            raise error
        return _not_utf8(pacsv.read_csv(self.path, **self.options(pa.binary())), self.label)

    def whole(self) -> pa.Table:
        import pyarrow.csv as pacsv

        if self.header_alone:
            return self._no_rows(self.columns)
        try:
            return pacsv.read_csv(self.path, **self.options(pa.string()))
        except pa.ArrowInvalid as error:
            raise self.problem(error) from None

    def pieces(self, columns: list[str]) -> Iterator[pa.Table]:
        """The file's ``columns`` (of those it was opened with), a block of rows at a time."""
        import pyarrow.csv as pacsv

        if self.header_alone:
            yield self._no_rows(columns)
            return
        with reading(self.label, "csv"):
            try:
                block = {"block_size": CSV_BLOCK_BYTES}
                reader = pacsv.open_csv(self.path, **self.options(pa.string(), block, columns))
            except pa.ArrowInvalid as error:
                raise self.problem(error) from None
        empty = True
        while True:
            with reading(self.label, "csv"):
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as error:
                    raise self.problem(error) from None
            empty = False
            yield pa.Table.from_batches([batch])
        if empty:  # a header and no rows: the columns still come, as text
            yield self._no_rows(columns)

    @staticmethod
    def _no_rows(columns: list[str]) -> pa.Table:
        return pa.table({name: pa.array([], pa.string()) for name in columns})


# A CSV file read in pieces is read this many bytes of its text at a time: a piece of the size a parquet file is
# read in (PIECE_ROWS) for a typical deals file.
CSV_BLOCK_BYTES = 16 << 20


def _ragged_row(path: Path, delimiter: str, fields: int, label: str) -> InputError | None:
    """The first row of a CSV file with more or fewer fields than its header has, as an error naming it (Arrow
    names no row): the file read again, from the start, up to it. Its number is as a spreadsheet shows it, the
    header row 1. None if there is none (Arrow and Python's csv then read the file differently)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter)
        next(rows, None)
        # Numbered as rejects are: an empty line is no row to Arrow, and takes no number.
        for number, row in enumerate((row for row in rows if row), start=2):
            if len(row) != fields:
                found = f"{len(row)} field" + ("s" if len(row) != 1 else "")
                return InputError(
                    f"this row has {found}, but the header has {fields}",
                    file=label,
                    row=number,
                    hint=f"a value with '{delimiter}' in it needs double quotes around "
                    f"it; else a field is missing or one too many",
                )
    return None


def _utf16(head: bytes) -> bool:
    """Whether a file starting with ``head`` is UTF-16 text (Excel's "Unicode Text"): a byte order mark, or
    letters of two bytes, one of them zero."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    sample = head[:4096]
    return len(sample) >= 4 and any(sample[i::2].count(0) >= 0.9 * len(sample[i::2]) for i in (0, 1))


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


def sniff_delimiter(line: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 0 else ","
