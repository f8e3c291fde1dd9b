"""Charts drawn with matplotlib: a plan's curves (``spm plot``), a plan change (``spm diff --plot``) and the charts
of a pay statement, as SVG or PNG.

The points are :mod:`spmlang.report.curves`' (the compiled plan's own); this module only draws them. matplotlib is
an optional dependency (``pip install 'spmlang[plot]'``), imported here and only when a chart is drawn, never with
the figure classes of pyplot (no global state, no window). SVG is written with its text as text and without a
date, so the same chart gives the same bytes. One module, though long: the only one that imports matplotlib.
"""

from __future__ import annotations

import io
import os
import re
import textwrap
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from spmlang.diagnostics import UsageError
from spmlang.report.curves import ATTAINMENT, ROWS, ComponentCurve

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from spmlang.report.standing import Position, Standing

FORMATS = ("svg", "png")
INK, BEFORE, GRID, CAP, GATE, NOTE = "#1f5fa8", "#8a8a8a", "#e3e3e3", "#b3261e", "#6b6b6b", "#555555"
STYLE: dict[Any, Any] = {  # rc settings of every chart
    "svg.fonttype": "none",  # text as text: smaller, and it reads and prints as the page's
    "svg.hashsalt": "spm",  # ids from the content, not from chance (see _svg)
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.edgecolor": "#9a9a9a",
    "axes.grid": True,
    "grid.color": GRID,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# A statement's charts are drawn small, in a larger type: a phone shows them at about their own size.
PAGE: dict[Any, Any] = {**STYLE, "font.size": 11}
PAGE_SIZE = (6.0, 3.4)
PAGE_MARGINS = {"left": 0.17, "right": 0.97, "top": 0.95, "bottom": 0.16}
MISSING = "charts need matplotlib"
MISSING_HINT = "install it with: pip install 'spmlang[plot]'"


def require_matplotlib() -> None:
    """A clear error, before any work, where matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
    except ImportError:
        raise UsageError(f"{MISSING}; {MISSING_HINT}") from None


def _figure(width: float, height: float, margins: dict | None = None) -> Figure:
    """A figure laid out by matplotlib, or (``margins``, as subplots_adjust takes them) by fixed margins: half
    the time to draw, for the many small charts of statements."""
    require_matplotlib()
    from matplotlib.figure import Figure

    if margins is None:
        return Figure(figsize=(width, height), layout="constrained")
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(**margins)
    return figure


def plan_figure(title: str, curves: Sequence[ComponentCurve]) -> Figure:
    """Each component's pay along its measure, the marginal rate beneath."""
    return change_figure(title, [(None, curve) for curve in curves], changed=False)


def change_figure(
    title: str, pairs: Sequence[tuple[ComponentCurve | None, ComponentCurve | None]], changed: bool = True
) -> Figure:
    """A plan change: for each (before, after) pair of curves of a component (None: the plan lacks it), both on
    one chart, the plan before dashed and after solid."""
    import matplotlib

    rows = max(len(pairs), 1)
    with matplotlib.rc_context(STYLE):
        figure = _figure(8.0, 0.4 + 4.4 * rows)
        figure.suptitle(_wrapped(title, 95), fontsize=11, x=0.01, ha="left")
        grid = figure.add_gridspec(rows * 3, 1, height_ratios=[3.0, 1.2, 0.5] * rows)
        if not pairs:
            empty = figure.add_subplot(grid[0])
            empty.axis("off")
            empty.text(0.5, 0.5, "no component pays differently", ha="center", va="center", fontsize=11)
        for i, (before, after) in enumerate(pairs):
            earnings = figure.add_subplot(grid[i * 3])
            rate = figure.add_subplot(grid[i * 3 + 1], sharex=earnings)
            draw_curve(earnings, rate, after, before, changed)
            notes = after.notes if after is not None else []
            if before is not None and changed:
                notes = notes + [f"before: {note}" for note in before.notes if note not in notes]
            if notes:
                text = figure.add_subplot(grid[i * 3 + 2])
                text.axis("off")
                wrapped = "\n".join(textwrap.fill(note, 110) for note in notes)
                text.text(0, 1, wrapped, va="top", fontsize="small", color=NOTE, style="italic")
    return figure


def draw_curve(
    earnings: Axes,
    rate: Axes,
    curve: ComponentCurve | None,
    before: ComponentCurve | None = None,
    changed: bool = False,
) -> None:
    """One component: what it pays (each series; the plan before dashed), its tiers, caps, gate and jumps, and its
    marginal rate on ``rate``."""
    shown = curve or before
    assert shown is not None  # a component is in one plan at least
    what = "" if not changed else " (added)" if before is None else " (removed)" if curve is None else ""
    earnings.set_title(textwrap.fill(shown.title + what, 90), loc="left", fontsize=10)
    if (curve is None or curve.paid is None) and (before is None or before.paid is None):
        earnings.text(0.5, 0.5, "nothing to draw", ha="center", va="center", transform=earnings.transAxes)
        rate.axis("off")
        return
    tops = []
    if before is not None and before.paid is not None:
        earnings.plot(before.paid.x, before.paid.y, color=BEFORE, linestyle="--", linewidth=1.6, label="before")
        rate.stairs(before.rate, before.rate_x, color=BEFORE, linestyle="--", linewidth=1.2, baseline=None)
        tops.append(_features(earnings, before, BEFORE, "before: "))
    if curve is not None and curve.paid is not None:
        label = "after" if changed else curve.paid.label
        earnings.plot(curve.paid.x, curve.paid.y, color=INK, linewidth=2.0, label=label)
        for series in curve.series[1:]:
            name = textwrap.shorten(series.label, 70)
            earnings.plot(series.x, series.y, color=INK, linewidth=1.0, linestyle=":", alpha=0.8, label=name)
        rate.stairs(curve.rate, curve.rate_x, color=INK, linewidth=1.4, baseline=None)
        tops.append(_features(earnings, curve, INK))
    earnings.set_ylim(top=max(tops) * 1.2)
    _axes(earnings, rate, [c for c in (curve, before) if c is not None and c.paid is not None])
    earnings.legend(loc="lower right", fontsize="small", framealpha=0.9, edgecolor="none")


def _features(axes: Axes, curve: ComponentCurve, ink: str, prefix: str = "") -> float:
    """Tier starts and curve points, jumps, caps and where the gate holds pay back; returns the chart's top."""
    paid = curve.paid
    assert paid is not None  # only a drawn curve has features
    heights = [series.y.max(initial=0) for series in curve.series] + [level.y for level in curve.levels if level.y]
    top = float(max(*heights, 1e-9))
    for mark in curve.marks:
        if mark.x > 0:
            axes.axvline(mark.x, color=BEFORE, linewidth=0.8, linestyle=":")
        if not prefix:  # the tiers of the plan before show as its line's kinks
            axes.text(
                mark.x,
                0.99,
                f" {mark.label}",
                fontsize="small",
                color=NOTE,
                va="top",
                transform=axes.get_xaxis_transform(),
            )
    for x in curve.jumps:
        y = float(paid.y[paid.x >= x][0]) if (paid.x >= x).any() else 0.0
        axes.plot([x], [y], marker="o", markersize=4, color=ink)
    for level in curve.levels:
        if level.y is not None:
            color = CAP if not prefix else BEFORE
            axes.axhline(level.y, color=color, linewidth=1.0, linestyle="--")
            label = f"{prefix}{level.label} "
            axes.text(
                paid.x[-1], level.y, label, color=color, fontsize="small", ha="right", va="top" if prefix else "bottom"
            )
    for low, high in curve.closed:
        axes.axvspan(low, high, color=GATE if not prefix else BEFORE, alpha=0.12, linewidth=0)
        axes.text((low + high) / 2, top * 0.5, f"{prefix}gate closed", color=GATE, fontsize="small", ha="center")
    axes.set_ylim(bottom=min(0.0, float(paid.y.min(initial=0))))
    return top


def _axes(earnings: Axes, rate: Axes, curves: list[ComponentCurve]) -> None:
    import numpy as np
    from matplotlib.ticker import FuncFormatter

    curve = curves[0]
    _earnings_axes(earnings, curve)
    earnings.tick_params(labelbottom=False)
    rate.set_xlabel(curve.x_label)
    rate.set_ylabel(textwrap.fill(curve.rate_label, 22), fontsize="small")
    if curve.rate_label.startswith("marginal rate"):
        rate.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
    rates = np.concatenate([c.rate[~np.isnan(c.rate)] for c in curves])
    rate.set_ylim(bottom=min(0.0, float(rates.min(initial=0))), top=float(rates.max(initial=0)) * 1.25 or 1.0)


def _earnings_axes(earnings: Axes, curve: ComponentCurve) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    percent = FuncFormatter(lambda value, _: f"{value:,.0f}%")
    amount = FuncFormatter(lambda value, _: f"{value:,.2f}".rstrip("0").rstrip("."))
    earnings.xaxis.set_major_formatter(percent if curve.axis == ATTAINMENT else amount)
    if curve.axis == ROWS:
        earnings.xaxis.set_major_locator(MaxNLocator(integer=True))
    earnings.yaxis.set_major_formatter(percent if curve.y_label.startswith("paid (%") else amount)
    earnings.set_ylabel(textwrap.fill(curve.y_label, 28))
    earnings.set_xlim(left=0)


def _wrapped(text: str, width: int) -> str:
    """Each line of ``text`` wrapped at ``width``."""
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


# ---------------------------------------------------------------------- out


def figure_bytes(figure: Figure, format: str) -> bytes:
    """The figure as an SVG or PNG file."""
    if format == "svg":
        return _svg(figure, "c").encode()
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format=format, metadata={"Software": None}, dpi=150)
    return buffer.getvalue()


def inline_svg(figure: Figure, label: str, prefix: str) -> str:
    """The figure as an ``<svg>`` element for a page: as wide as its box (its height follows), labelled for
    screen readers, its ids its own (``prefix``) so that several charts share a page."""
    from html import escape

    svg = _svg(figure, prefix)
    svg = svg[svg.index("<svg") :]
    opening = svg[: svg.index(">") + 1]
    cleaned = re.sub(r'\s(width|height)="[^"]*"', "", opening)
    cleaned = cleaned.replace("<svg", f'<svg class="chart" role="img" aria-label="{escape(label)}"', 1)
    return cleaned + svg[len(opening) :]


def _svg(figure: Figure, prefix: str) -> str:
    """The figure as SVG text, the same for the same figure: no date, no metadata, and its ids numbered in
    order (matplotlib names some clip paths after where they lie in memory)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", buffer.getvalue(), flags=re.S)
    names: dict[str, str] = {}

    def renamed(match: re.Match) -> str:
        return names.setdefault(match.group(0), f"{len(names)}")

    svg = re.sub(r"\b[pm][0-9a-f]{10}\b", renamed, svg)
    return re.sub(r'(\bid="|url\(#|href="#)([^")]*)', rf"\1{prefix}-\2", svg)


# ---------------------------------------------------------------------- statements


def charts_available() -> bool:
    """Whether statements can carry charts (matplotlib is installed)."""
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True


_DRAWING = threading.Lock()  # one statement's charts at a time: matplotlib's settings are the process's, and
# statements share their figures (see _page_axes); pages made in several threads at once would mix them


def _drawing_anew() -> None:
    """In a forked process: another thread of the parent may have held the lock, and it is not there."""
    global _DRAWING
    _DRAWING = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drawing_anew)


def standing_charts(standing: Standing) -> list[dict[str, Any]]:
    """A statement's charts as inline SVG, each with its title and its words: the payee's attainment through the
    year against the tiers, then where they stand on each component's curve."""
    with _DRAWING:
        return _standing_charts(standing)


def _standing_charts(standing: Standing) -> list[dict[str, Any]]:
    charts = []
    if standing.path:
        attainment = f"{standing.path[-1][1] * 100:.2f}%"
        charts.append(
            {
                "title": "Attainment through the year",
                "svg": inline_svg(attainment_figure(standing), f"attainment through the year: {attainment}", "s0"),
                "words": [],
            }
        )
    for n, position in enumerate(standing.positions, start=1):
        label = f"{position.component}: " + " ".join(position.words)
        charts.append(
            {
                "title": f"{position.component}: what it pays",
                "svg": inline_svg(position_figure(position), label, f"s{n}"),
                "words": position.words,
            }
        )
    return charts


def attainment_figure(standing: Standing, fresh: bool = False) -> Figure:
    """The payee's attainment through the year, against the tiers (``fresh``: on a figure of its own, not the
    one statements share; see :func:`_page_axes`)."""
    import matplotlib
    from matplotlib.dates import date2num
    from matplotlib.ticker import FuncFormatter, NullLocator

    with matplotlib.rc_context(PAGE):
        figure, axes = _page_axes("attainment", fresh)
        days = date2num([day for day, _ in standing.path]).tolist()  # one call: a call per day took 10% of a page
        values = [value * 100 for _, value in standing.path]
        axes.step(days, values, where="post", color=INK, linewidth=2.0)
        late = (days[-1] - days[0]) > 0.55 * (float(date2num(standing.year[1])) - days[0])
        _here(axes, days[-1], values[-1], f"you are here: {values[-1]:.2f}%", late)
        for start, label in standing.periods:
            axes.axvline(float(date2num(start)), color=GRID, linewidth=1.0)
            axes.text(
                float(date2num(start)),
                0.02,
                f" {label}",
                fontsize="small",
                color=NOTE,
                transform=axes.get_xaxis_transform(),
            )
        for value, label in standing.breakpoints:
            axes.axhline(value * 100, color=BEFORE, linewidth=0.8, linestyle=":")
            axes.text(
                float(date2num(standing.year[1])),
                value * 100,
                f"{value * 100:g}%: {label} ",
                fontsize="small",
                color=NOTE,
                ha="right",
                va="bottom",
            )
        top = max([*values, *(value * 100 for value, _ in standing.breakpoints), 1.0])
        axes.set_ylim(bottom=min(0.0, *values), top=top * 1.2)
        axes.set_xlim(float(date2num(standing.year[0])), float(date2num(standing.year[1])))
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}%"))
        axes.xaxis.set_major_locator(NullLocator())  # the periods are marked: days as numbers would mean nothing
        axes.grid(axis="x", visible=False)
        axes.set_ylabel("attainment")
    return figure


def position_figure(position: Position, fresh: bool = False) -> Figure:
    """Where the payee stands on a component's curve (``fresh``: as for :func:`attainment_figure`)."""
    import matplotlib

    curve = position.curve
    assert curve.paid is not None  # a position is on a drawn curve
    with matplotlib.rc_context(PAGE):
        figure, axes = _page_axes("position", fresh)
        axes.plot(curve.paid.x, curve.paid.y, color=INK, linewidth=2.0)
        top = _features(axes, curve, INK)
        axes.set_ylim(top=top * 1.25)
        _here(axes, position.x, position.y, "you are here", position.x > 0.55 * float(curve.paid.x[-1]))
        _earnings_axes(axes, curve)
        axes.set_xlabel(curve.x_label)
    return figure


_PAGE_AXES: dict[str, tuple[Figure, Axes]] = {}  # a statement chart's figure, by kind, drawn again for each


def _page_axes(kind: str, fresh: bool = False) -> tuple[Figure, Axes]:
    """The figure and axes of a statement's chart of ``kind``, emptied. Statements share one figure of each kind
    (in each process): making a figure, and the ticks it makes as it is first drawn, took half of a statement's
    time. Everything a chart sets is set again for the next, and what it drew is removed, so that a chart drawn
    on the shared figure is the one a new figure shows (tests/test_statement_pages.py compares them)."""
    found = _PAGE_AXES.get(kind) if not fresh else None
    if found is None:
        figure = _figure(*PAGE_SIZE, PAGE_MARGINS)
        found = figure, figure.add_subplot()
        if not fresh:
            _PAGE_AXES[kind] = found
        return found
    axes = found[1]
    for artist in [*axes.lines, *axes.texts, *axes.patches, *axes.collections]:
        artist.remove()
    axes.ignore_existing_data_limits = True  # the limits come from what is drawn next, as on a new figure
    axes.set_autoscale_on(True)
    axes.grid(True)
    return found


def _here(axes: Axes, x: float, y: float, text: str, left: bool) -> None:
    """The payee's place, marked and labelled on the side with room for it."""
    axes.plot([x], [y], marker="o", markersize=7, color=CAP, zorder=5)
    offset = (-8, 10) if left else (8, 10)
    axes.annotate(text, (x, y), xytext=offset, textcoords="offset points", color=CAP, ha="right" if left else "left")
