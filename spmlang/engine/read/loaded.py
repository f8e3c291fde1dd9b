"""A table being read: from a file (whole, or in pieces) or from memory, with how messages name it, the file's
hash, and the checks every format shares (the columns a plan reads are there, once; Arrow's errors said as
spm's)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import numpy as np
    import pyarrow.parquet as pq

from spmlang.diagnostics import InputError, did_you_mean
from spmlang.hashing import sha256_file

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
    parquet: pq.ParquetFile | None = None  # when the file is read in pieces
    columns: list[str] = field(default_factory=list)  # the columns read from ``parquet`` or ``csv``
    digest: Future | None = None  # the file's sha256, hashed while it is read (see sha256)
    csv: Callable[[list[str]], Iterator[pa.Table]] | None = None  # a CSV file's pieces of these columns
    kept: bool = False  # the table stays once read (see release): a what-if reads it again, with rows added
    more: tuple[pa.Table, ...] = ()  # rows after the table's own (see with_rows)
    # Each row's number where it is not row + 1 + row_offset: some rows of larger files (a cluster's partition
    # of a payee group's transactions, see spmlang.cluster), numbered as in their files.
    row_numbers: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rows < 0 and self.csv is None:
            self.rows = self.whole().num_rows + sum(piece.num_rows for piece in self.more)

    def with_rows(self, more: pa.Table) -> LoadedTable:
        """This table, read whole, with the rows of ``more`` after its own: a new table to read, its own rows
        as they were read (the file is not read again) and the rows of ``more`` as pieces of their own, each
        column converted by the same converter (what-ifs: the data and a hypothetical deal)."""
        return replace(self, rows=-1, kept=True, more=(*self.more, more))

    def read_only(self, names: list[str]) -> None:
        """Of a parquet or CSV file read in pieces, read only the columns ``names`` (the others were found in
        it, and are not needed); a table read or given whole is left as it is."""
        if self.parquet is not None or self.csv is not None:
            self.columns = [name for name in self.columns if name in names]

    def whole(self) -> pa.Table:
        """The table, read whole (a parquet file read in pieces has none until then; see pieces)."""
        if self.table is None:
            raise ValueError(f"{self.label} is read in pieces, or was let go")
        return self.table

    def pieces(self) -> Iterator[pa.Table]:
        """The table's rows in order, a piece at a time, once: a parquet file's in pieces of PIECE_ROWS rows,
        read as they are asked for (the file is closed after the last); any other table whole, let go of as
        it is handed over (see release). A CSV file's pieces are blocks of its text, and its rows are counted
        as they come."""
        if self.csv is not None:
            pieces, self.csv, self.rows = self.csv, None, 0
            for piece in pieces(self.columns):
                self.rows += piece.num_rows
                yield piece
            return
        if self.parquet is None:
            yield self._handed_over()
            yield from self.more
            return
        file, self.parquet = self.parquet, None
        try:
            if self.rows == 0:  # no rows: the columns still have their types
                yield file.schema_arrow.empty_table().select(self.columns)
                return
            batches = file.iter_batches(batch_size=PIECE_ROWS, columns=self.columns)
            while True:
                with reading(self.label, "parquet"):
                    batch = next(batches, None)
                if batch is None:
                    return
                yield pa.Table.from_batches([batch])
        finally:
            file.close()

    def _handed_over(self) -> pa.Table:
        table = self.whole()
        self.release()
        return table

    def sha256(self) -> str:
        """The sha256 of the file the table was read from (hashed on another thread as it was read)."""
        if self.digest is not None:
            return self.digest.result()
        if self.path is None:
            raise ValueError("a table given in memory has no file: its content is hashed (sha256_table)")
        return sha256_file(self.path)

    def release(self) -> None:
        """Let go of the table read from a file once its columns are converted (the file stays the record
        of it, for the manifest); a table given in memory is kept, to be hashed, and so is one asked to be."""
        if self.path is not None and not self.kept:
            self.table = None


@contextlib.contextmanager
def reading(label: str, fmt: str) -> Iterator[None]:
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


def require_columns(available: list[str], needed: list[str], label: str, path: Path | None) -> None:
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
