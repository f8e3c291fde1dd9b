"""A sheet of one-line cells as rich's ruled table draws it, line by line, for a console without colour.

``spm run`` into a file or a pipe prints every payee-period of the summary: 40,000 rows for 10,000 payees.
rich lays out a table cell by cell (a ``Text`` measured, wrapped and padded for each), ~0.75 ms a row: half a
minute for those 40,000 rows, some 25 times what paying them took. Where nothing can wrap (every cell, header
and footer one line that fits its column) and nothing is coloured, the table is its rules and its cells padded
to their columns' widths: the same characters, made with ``str`` joins. The title and caption are still
rich's (they may wrap); tests/test_render.py holds these lines to rich's own, character for character.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment

BOX = box.HEAVY_HEAD  # rich's default, which Sheet.table uses when ruled


def drawable(console: Console, cells: Sequence[Sequence[str]]) -> bool:
    """Whether the lines of :func:`ruled_lines` are what rich would print on ``console``: no colour nor style
    is written, no cell holds a line break (cells are one line each: rich would not wrap them), and none starts
    or ends with a space (which rich trims as it justifies)."""
    return console.color_system is None and all(
        "\n" not in cell and cell == cell.strip() for row in cells for cell in row
    )


def ruled_lines(
    console: Console,
    options: ConsoleOptions,
    widths: list[int],
    right: list[bool],
    header: list[str],
    rows: Sequence[Sequence[str]],
    footer: list[str] | None,
) -> Iterator[Segment]:
    """The rules and rows of a table with columns ``widths`` wide (each cell at most that wide, ``right``:
    right-justified), a header row, ``rows`` and a footer row (None: none), as :class:`rich.table.Table` with
    its default box, edges and a space of padding either side draws them."""
    rules = BOX.substitute(options, safe=console.safe_box)
    padded = [width + 2 for width in widths]
    # Each row's first, middle and last edges: the header row's heavy, the last row's those of a foot.
    edges = [
        (rules.head_left, rules.head_vertical, rules.head_right),
        (rules.mid_left, rules.mid_vertical, rules.mid_right),
        (rules.foot_left, rules.foot_vertical, rules.foot_right),
    ]
    every = [header, *rows, *([footer] if footer is not None else [])]
    new_line = Segment.line()
    yield Segment(rules.get_top(padded))
    yield new_line
    last = len(every) - 1
    for index, cells in enumerate(every):
        if index == last and footer is not None:
            yield Segment(rules.get_row(padded, "foot", edge=True))
            yield new_line
        left, between, end = edges[0 if index == 0 else (2 if index == last else 1)]
        parts = []
        for cell, width, to_right in zip(cells, widths, right, strict=True):
            space = " " * (width - cell_len(cell))
            parts.append(f" {space}{cell} " if to_right else f" {cell}{space} ")
        yield Segment(left + between.join(parts) + end)
        yield new_line
        if index == 0:
            yield Segment(rules.get_row(padded, "head", edge=True))
            yield new_line
    yield Segment(rules.get_bottom(padded))
    yield new_line
