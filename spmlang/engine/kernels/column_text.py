"""Numbers and explanations as text, a whole column at a time.

The ledger explains every line in words (``20,000.00 at 8% (50%–100%)``). For
millions of lines that text is built with Arrow string kernels, not a Python
f-string per line.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spmlang.engine.kernels.money import CENT, UNIT, units_to_decimal_array, units_to_scale
from spmlang.figures import RATE_DECIMALS, format_number, percent_text

Part = pa.Array | pa.ChunkedArray | pa.Scalar | str | None  # what join() joins; None: nothing

# Arrow joins arrays, scalars and Python strings alike, the last argument the separator; pyarrow-stubs types
# binary_join_element_wise as taking arguments all of one type, which no call here is.
join_element_wise = cast("Callable[..., pa.Array]", pc.binary_join_element_wise)

# Where nothing will read a line's text (totals: `spm run` without --out, Result.totals(), spm diff), lines are
# paid with their text left unwritten: each text of this module is then nulls of its length. Half of paying a
# batch is writing its explanations.
_UNWRITTEN: ContextVar[bool] = ContextVar("spm_text_unwritten", default=False)


@contextlib.contextmanager
def unwritten() -> Iterator[None]:
    """Within: every text of this module is left unwritten (nulls of its length), for lines whose text nobody
    reads. Their figures are the same."""
    token = _UNWRITTEN.set(True)
    try:
        yield
    finally:
        _UNWRITTEN.reset(token)


def is_unwritten() -> bool:
    """Whether text is left unwritten here (see :func:`unwritten`)."""
    return _UNWRITTEN.get()


def _none(n: int) -> pa.Array:
    return pa.nulls(n, pa.string())


def amount(units: np.ndarray, decimals: int = 2) -> pa.Array:
    """Money (or a count) in units as plain text with ``decimals`` decimals, half away from zero: '-1234.50'.

    No thousands separators: on millions of ledger lines they would cost more than the rest of the text;
    :func:`pretty` adds them where people read a few lines (statements, explain).
    """
    if _UNWRITTEN.get():
        return _none(np.size(units))
    if decimals == 2:
        return join_element_wise(*amount_parts(units), "")
    return pc.cast(units_to_decimal_array(np.asarray(units, dtype=np.int64), scale=decimals), pa.string())


def amount_parts(units: np.ndarray, grouped: bool = False) -> list[pa.Array]:
    """:func:`amount` with 2 decimals as parts to join (see :func:`exact_parts`); ``grouped``: with thousands
    separators (see :func:`grouped_amount`)."""
    if _UNWRITTEN.get():
        return [_none(np.size(units))]
    cents = units_to_scale(np.asarray(units, dtype=np.int64), 2)
    return _cents_parts(cents, cents < 0, grouped)


def amount_then(units: np.ndarray, index: np.ndarray, options: list[str]) -> list[pa.Array]:
    """:func:`amount` followed by ``options[index]`` (one of a few fixed texts: ' at 8% (0%–50%) = '), as parts
    to join. The cents and the text after them are taken together from a table of every pair (a hundred times
    the options): one take and one part fewer than amount and text apart, on every line of a ledger."""
    if _UNWRITTEN.get():
        return [_none(np.size(units))]
    if len(options) > _FEW_ENDINGS:
        return [*amount_parts(units), pick(index, options)]
    cents = units_to_scale(np.asarray(units, dtype=np.int64), 2)
    whole, hundredths = _whole_and_hundredths(cents, cents < 0)
    endings = pa.array([f".{c:02d}{option}" for c in range(100) for option in options], pa.string())
    return [whole, endings.take(hundredths * len(options) + np.asarray(index, dtype=np.int64))]


_FEW_ENDINGS = 64  # amount_then's table of endings is at most a hundred times this long


def _cents_parts(cents: np.ndarray, negative: np.ndarray, grouped: bool = False) -> list[pa.Array]:
    """Whole cents as text parts: the units with their sign (``grouped``: their groups of three apart, see
    :func:`_whole_parts`), then '.CC' from a table of the hundred endings. An integer cast and a take: faster
    than casting decimals to text."""
    magnitude = np.abs(cents)
    return [*_whole_parts(magnitude // 100, negative, grouped), _hundredths().take(magnitude % 100)]


def _whole_and_hundredths(cents: np.ndarray, negative: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Whole cents' units as text with their sign ('-12', or '-0' where ``negative`` and less than one), and
    the cents that follow them (0 to 99)."""
    magnitude = np.abs(cents)
    return _whole_parts(magnitude // 100, negative)[0], magnitude % 100


@functools.lru_cache(maxsize=1)
def _hundredths() -> pa.Array:
    return pa.array([f".{cents:02d}" for cents in range(100)], pa.string())


def exact(units: np.ndarray) -> pa.Array:
    """An exact amount: 2 decimals, or up to 6 where it has more (200.044, -0.004).

    The whole cents (truncated toward zero) are formatted as text, and the further digits (at most four) come
    from a table: one pass over the values, whatever decimals they need."""
    if _UNWRITTEN.get():
        return _none(np.size(units))
    return join_element_wise(*exact_parts(units), "")


def exact_parts(units: np.ndarray, grouped: bool = False) -> list[pa.Array]:
    """:func:`exact` as parts to join (the units, the cents, then any further digits), so that a caller
    joining it into a longer text joins once; ``grouped``: with thousands separators."""
    if _UNWRITTEN.get():
        return [_none(np.size(units))]
    units = np.asarray(units, dtype=np.int64)
    magnitude = np.abs(units)
    rest = magnitude % CENT
    parts = _cents_parts(magnitude // CENT, units < 0, grouped)  # -0.004: the sign shows though no cent does
    if rest.any():
        parts.append(_further_digits().take(rest))
    return parts


def grouped_amount(units: np.ndarray) -> pa.Array:
    """:func:`amount` with thousands separators, as :func:`pretty` writes it: '-1,234.50'. Numbers, not regular
    expressions: a table of the thousand groups of digits taken from, once for each group the largest has."""
    if _UNWRITTEN.get():
        return _none(np.size(units))
    return join_element_wise(*amount_parts(units, grouped=True), "")


def grouped_exact(units: np.ndarray) -> pa.Array:
    """:func:`exact` with thousands separators, as :func:`pretty` writes it: '-12,345.6789'."""
    if _UNWRITTEN.get():
        return _none(np.size(units))
    return join_element_wise(*exact_parts(units, grouped=True), "")


def _whole_parts(whole: np.ndarray, negative: np.ndarray, grouped: bool = False) -> list[pa.Array]:
    """Whole units (not negative) as parts of text: the leading digits with their sign ('-12'; '-0' where
    ``negative`` and none), then, ``grouped``, ',234' for each further group of three (empty where a value has
    fewer groups than the largest)."""
    levels = 0
    while grouped and np.any(whole >= 1000 ** (levels + 1)):  # whole < 10**17: five groups after the first
        levels += 1
    head = whole
    groups: list[pa.Array] = []
    for level in range(1, levels + 1):  # a value with a group at one level has one at each below it
        has = whole >= 1000**level
        head = np.where(has, whole // 1000**level, head)
        groups.insert(0, _thousands().take(np.where(has, (whole // 1000 ** (level - 1)) % 1000, 1000)))
    text = pc.cast(pa.array(np.where(negative, -head, head)), pa.string())
    small = np.flatnonzero(negative & (whole == 0))  # -0.50: no sign left in the units
    if small.size:
        text = scatter(text, small, pa.repeat(pa.scalar("-0", pa.string()), small.size))
    return [text, *groups]


@functools.lru_cache(maxsize=1)
def _thousands() -> pa.Array:
    """',000' to ',999', then nothing (a group a value does not have)."""
    return pa.array([f",{group:03d}" for group in range(1000)] + [""], pa.string())


@functools.lru_cache(maxsize=1)
def _further_digits() -> pa.Array:
    """For each remainder below a cent (0 to 9999 units), its digits after the cents: 2720 -> '272'."""
    return pa.array([""] + [f"{rest:04d}".rstrip("0") for rest in range(1, CENT)], pa.string())


def scatter(base: pa.Array, index: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the elements at ``index`` replaced by ``values``."""
    if _UNWRITTEN.get():
        return _none(len(base))
    position = np.arange(len(base), dtype=np.int64)
    position[index] = len(base) + np.arange(index.size)
    return pa.concat_arrays([base, values]).take(position)


def _by_value(values: np.ndarray, render, scale: int) -> pa.Array:
    """Format each distinct value once (rates and multipliers take few values), then spread them; values
    with many distinct figures (attainment) are formatted as decimals with ``scale`` places, trailing
    zeros dropped. NaN (no value) is shown as ''."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    few = few_values(values)
    if few is not None:
        distinct, inverse = few
        labels = pa.array(["" if v != v else render(v) for v in distinct.tolist()], pa.string())
        return labels.take(inverse)
    step = 10**scale
    scaled = np.floor(np.abs(np.nan_to_num(values)) * step + 0.5).astype(np.int64) * np.where(values < 0, -1, 1)
    text = pc.cast(units_to_decimal_array(scaled * (UNIT // step), scale=scale), pa.string())
    text = pc.replace_substring_regex(text, r"\.?0+$", "")
    return pc.if_else(pa.array(np.isnan(values)), pa.scalar("", pa.string()), text)


_FEW = 4096  # at most this many distinct values are formatted one by one


def few_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct values of a column and each element's index among them, if there are at most a few (NaN,
    no value, last);
    else None. Rates and multipliers take a handful of values over millions of lines: they are
    guessed from a sample and confirmed with a binary search, not found by sorting the whole column."""
    nan = np.isnan(values)
    step = max(1, values.size // (4 * _FEW))
    guess = np.unique(values[::step][~nan[::step]])
    if guess.size > _FEW:
        return None
    where = np.minimum(np.searchsorted(guess, values), max(guess.size - 1, 0))
    if guess.size and np.array_equal(guess[where][~nan], values[~nan]):
        distinct, inverse = guess, where
    else:  # the sample missed some: count them all
        distinct, some = np.unique(values[~nan], return_inverse=True)
        if distinct.size > _FEW:
            return None
        inverse = np.zeros(values.size, dtype=np.int64)
        inverse[~nan] = some.reshape(-1)
    if nan.any():  # NaN (no value) gets a label of its own
        distinct = np.append(distinct, np.nan)
        inverse = np.where(nan, distinct.size - 1, inverse)
    return distinct, inverse


def percent(ratio: np.ndarray, decimals: int = 2) -> pa.Array:
    """0.625 -> '62.5%' (at most ``decimals`` decimals: two for attainment, :data:`RATE_DECIMALS` for rates)."""
    if _UNWRITTEN.get():
        return _none(np.size(ratio))
    ratio = np.asarray(ratio, dtype=np.float64)
    encoded = _by_value(ratio * 100, lambda v: percent_text(v / 100, decimals)[:-1], decimals)
    return join_element_wise(encoded, pa.scalar("%"), "")


def rate_percent(rate: np.ndarray) -> pa.Array:
    """A rate for people: 0.08 -> '8%', 1/6 -> '16.6667%'."""
    return percent(rate, RATE_DECIMALS)


def number(values: np.ndarray) -> pa.Array:
    """A plain number with up to four decimals: 1.5 -> '1.5'."""
    if _UNWRITTEN.get():
        return _none(np.size(values))
    return _by_value(values, format_number, 4)


# The whole digits of an amount of four or more: a run of digits before a decimal point (or a comma) and a digit.
_AMOUNT_DIGITS = re.compile(r"\d{4,}(?=[,.]\d)")


def _grouped(match: re.Match) -> str:
    """Digits in threes from the right, as written at once: '1234567' -> '1,234,567'."""
    digits = match[0]
    head = len(digits) % 3 or 3
    return digits[:head] + "".join("," + digits[i : i + 3] for i in range(head, len(digits), 3))


def pretty(text):
    """Thousands separators in the amounts of a text ('30000.00 at 4%' -> '30,000.00 at 4%'), for the few lines
    people read; works on one string or an Arrow array."""
    if isinstance(text, str):
        return _AMOUNT_DIGITS.sub(_grouped, text)
    # Each pass puts one separator into each amount that still lacks one (1234567.50 -> 1234,567.50 ->
    # 1,234,567.50); most texts need one or two passes, and looking for what is left costs less than a pass.
    # \p{Nd}: any decimal digit of Unicode, as Python's \d (Arrow's \d is 0-9 alone).
    while pc.any(pc.match_substring_regex(text, r"\p{Nd}{4}[,.]\p{Nd}")).as_py():
        text = pc.replace_substring_regex(text, r"(\p{Nd})(\p{Nd}{3})([,.]\p{Nd})", r"\1,\2\3")
    return text


def join(*parts: Part, separator: str = "") -> pa.Array:
    """Concatenate string arrays and fixed strings; a null part drops out (with its separator). At least one
    part is an array.

    Not ``binary_join_element_wise(null_handling="skip")``: in pyarrow it drops the rows where every part is
    null, which would shift every later explanation onto the wrong line.
    """
    arrays = [p for p in parts if isinstance(p, (pa.Array, pa.ChunkedArray))]
    if not arrays:
        raise ValueError("join makes a column: give it an array among its parts")
    if _UNWRITTEN.get():
        return _none(len(arrays[0]))
    if not separator:
        filled: list[pa.Array | pa.ChunkedArray | pa.Scalar] = []
        for p in parts:
            if isinstance(p, (pa.Array, pa.ChunkedArray)):
                filled.append(pc.fill_null(p, pa.scalar("", pa.string())) if p.null_count else p)
            elif p is not None and p != "":
                filled.append(p if isinstance(p, pa.Scalar) else pa.scalar(p, pa.string()))
        return join_element_wise(*filled, "")
    result = pa.nulls(len(arrays[0]), pa.string())
    for part in parts:
        column = part if isinstance(part, (pa.Array, pa.ChunkedArray)) else pa.array([part] * len(result), pa.string())
        joined = join_element_wise(result, column, separator)
        result = pc.if_else(pc.is_null(result), column, pc.if_else(pc.is_null(column), result, joined))
    return result.fill_null("")


def spread(n: int, index: np.ndarray, values: pa.Array) -> pa.Array:
    """An array of ``n`` nulls with ``values`` at ``index``."""
    if _UNWRITTEN.get():
        return _none(n)
    position = np.full(n, len(values), dtype=np.int64)
    position[index] = np.arange(index.size)
    return pa.concat_arrays([values.cast(pa.string()), pa.nulls(1, pa.string())]).take(position)


def when(mask: np.ndarray, text) -> pa.Array:
    """``text`` where mask holds, null elsewhere (so that :func:`join` leaves it out)."""
    if _UNWRITTEN.get():
        return _none(np.size(mask))
    mask = np.asarray(mask, dtype=bool)
    if not isinstance(text, (pa.Array, pa.ChunkedArray)):
        text = pa.scalar(text, pa.string())
    return pc.if_else(pa.array(mask), text, pa.scalar(None, pa.string()))


def constant(text: str, n: int) -> pa.Array:
    if _UNWRITTEN.get():
        return _none(n)
    return pa.repeat(pa.scalar(text, pa.string()), n)


FEW_LABELS = 16  # labelled keeps every label of a list this long or shorter (periods, kinds, roles)


def labelled(index: np.ndarray, labels) -> pa.DictionaryArray:
    """labels[index] for each element, dictionary-encoded (null where index < 0): no string is copied per
    element, so a ledger column of a few distinct values costs next to nothing to build, to carry between
    processes and to write (parquet stores it as a dictionary anyway).

    Of many labels (payees) only those used are kept: a chunk of a few payees' lines does not carry every name
    of the run in its dictionary (nor its parquet row group in its dictionary page). A few labels (periods,
    kinds, components) are kept whole: finding those used would cost more than it saves. A null label (a
    line with no tier) is no label: its elements are null, and it is left out of the dictionary, which parquet
    cannot store a null in."""
    index = np.asarray(index)
    labels = labels if isinstance(labels, pa.Array) else pa.array(labels, pa.string())
    if labels.null_count:  # found on the few labels: each label's place among those present (-1: none)
        present = np.flatnonzero(np.asarray(labels.is_valid()))
        place = np.full(len(labels) + 1, -1, dtype=np.int64)  # the last slot is index -1's
        place[present] = np.arange(present.size)
        index, labels = place[index], labels.take(present)
    valid = index >= 0
    everywhere = bool(valid.all())
    if not everywhere and not valid.any():  # no label anywhere (no rollups): nulls, and no dictionary
        return pa.DictionaryArray.from_arrays(pa.nulls(index.size, pa.int32()), labels.slice(0, 0))
    used = None
    if len(labels) > FEW_LABELS:
        used = np.zeros(len(labels), dtype=bool)
        used[index if everywhere else index[valid]] = True
    if used is not None and not used.all():
        position = np.cumsum(used, dtype=np.int32) - 1  # old label -> its place among the labels used
        index = position[index] if everywhere else np.where(valid, position[np.where(valid, index, 0)], -1)
        labels = labels.filter(pa.array(used))
    if everywhere:
        return pa.DictionaryArray.from_arrays(index.astype(np.int32, copy=False), labels)
    indices = pa.array(np.where(valid, index, 0).astype(np.int32), type=pa.int32(), mask=~valid)
    return pa.DictionaryArray.from_arrays(indices, labels)


def pick(index: np.ndarray, labels: list[str]) -> pa.Array:
    """labels[index] for each element; null where index < 0."""
    if _UNWRITTEN.get():
        return _none(np.size(index))
    index = np.asarray(index)
    options = pa.array(labels, pa.string())
    if index.size == 0 or index.min() >= 0:
        return options.take(index)
    valid = index >= 0
    return options.take(pa.array(np.where(valid, index, 0).astype(np.int64), type=pa.int64(), mask=~valid))
