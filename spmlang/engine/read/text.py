"""Text and bool columns: text trimmed of white space (and dictionary-encoded where its values repeat), an
empty or blank value empty; bools from true/false, yes/no, 1/0 written in any case."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels import column_text, grouping
from spmlang.engine.read.column_values import DISTINCT_FIRST, WrongType, buffer_view, typed


def as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if pa.types.is_dictionary(array.type):
        return array
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # lists, structs, maps: not one value a row
        raise WrongType("a column holds one value a row: text, a number or a date") from None


def convert_text(array, spec, present):
    text = _encoded_if_repeating(trimmed(as_text(array)))
    blank = empty_text(text)
    if blank is not None and blank.any():  # '' or only white space: no value, as an empty CSV field is
        present = present & ~blank
    inexact = _inexact_floats(array)
    if inexact is not None:
        return typed(spec, text, present, inexact, array, _inexact_notes(inexact, text))
    return typed(spec, text, present, np.zeros(len(array), bool), array)


# Floats hold every whole number up to 2**53 exactly; past it, a number read as a float (a JSON reader reads
# 12345678901234567891 so) may not be the one written, and two ids may read as one.
_EXACT_FLOAT = 2.0**53


def _inexact_floats(array: pa.Array) -> np.ndarray | None:
    """Where a float column holds a value too large to be the number written exactly, if any."""
    if not pa.types.is_floating(array.type):
        return None
    values = np.abs(pc.cast(array, pa.float64()).fill_null(0).to_numpy(zero_copy_only=False))
    inexact = ~(values < _EXACT_FLOAT)  # infinity and NaN included
    return inexact if inexact.any() else None


def _inexact_notes(inexact: np.ndarray, text: pa.Array) -> pa.Array:
    rows = np.flatnonzero(inexact)
    said = column_text.join(
        "'",
        pc.cast(text.take(rows), pa.string()),
        "' was read as a floating-point number, too large to be the one written exactly: write it as text (in "
        "quotes, in JSON)",
    )
    return column_text.spread(len(inexact), rows, said)


def _encoded_if_repeating(text: pa.Array) -> pa.Array:
    """A long column of plain text whose values repeat (payees, products, deal types; as a CSV file gives
    them) dictionary-encoded, as parquet files mostly hold them: it takes a fraction of the memory, and what
    is done with it (filters, lookups, payee codes) is done once per distinct value. Keys and other columns
    of mostly distinct values (judged from their first values) are left as they are."""
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)) or len(text) <= DISTINCT_FIRST:
        return text
    if pc.count_distinct(text.slice(0, DISTINCT_FIRST)).as_py() > DISTINCT_FIRST // 4:
        return text
    return pc.dictionary_encode(text)


def empty_text(text: pa.Array) -> np.ndarray | None:
    """Where ``text`` (string, large string, or a dictionary of them) is '' (null or not); None if unknown."""
    if isinstance(text, pa.DictionaryArray):
        empty = empty_text(text.dictionary)
        if empty is None or not empty.any():
            return empty if empty is None else grouping.uniform(False, len(text))
        return empty[np.asarray(text.indices.fill_null(0))]
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        return None
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = buffer_view(text.buffers()[1], kind)[text.offset : text.offset + len(text) + 1]
    return offsets[1:] == offsets[:-1]


def trimmed(text: pa.Array) -> pa.Array:
    """Text without white space before or after it: 'ann ' (as spreadsheets leave it) is the payee 'ann', and
    'renewal ' is 'renewal' to a filter. A dictionary's values are trimmed, not each element; a plain column
    is first looked at, byte by byte at the ends of its values, and left as it is where none can be white."""
    if isinstance(text, pa.DictionaryArray):
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
_WHITE = [
    "\t",
    "\n",
    "\v",
    "\f",
    "\r",
    " ",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x85",
    "\xa0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
]
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
    ends_of_values = buffer_view(offsets, kind)[text.offset : text.offset + len(text) + 1]
    data_bytes = buffer_view(data, np.uint8)
    starts, ends = ends_of_values[:-1], ends_of_values[1:]
    filled = ends > starts  # empty and null values have no ends to look at
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    return bool(_WHITE_FIRST[data_bytes[starts]].any() or _WHITE_LAST[data_bytes[ends - 1]].any())


_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]


def convert_bool(array, spec, present):
    if pa.types.is_boolean(array.type):
        values = array.fill_null(False).to_numpy(zero_copy_only=False)
        return typed(spec, values, present, np.zeros(len(array), bool), array)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(as_text(array)))
    is_true = pc.is_in(text, value_set=pa.array(_TRUE)).fill_null(False).to_numpy(zero_copy_only=False)
    is_false = pc.is_in(text, value_set=pa.array(_FALSE)).fill_null(False).to_numpy(zero_copy_only=False)
    return typed(spec, is_true, present, present & ~(is_true | is_false), array)
