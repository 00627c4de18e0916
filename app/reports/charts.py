"""Report charts with matplotlib (Agg, no display): SVG documents embedded in the PDF.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state), so the scheduler's threads
and web requests can draw at the same time.
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ..core import formatting  # noqa: E402
from .base import Chart  # noqa: E402

PALETTE = ["#2f6f9f", "#e39b2d", "#4c9a5b", "#b5485d", "#7a5ea8", "#8a8a8a", "#3aa6a0"]
matplotlib.rcParams.update({
    "svg.fonttype": "none",  # text stays text: small files, crisp in the PDF
    "svg.hashsalt": "portico",  # stable element ids: the same data draws the same file
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
})


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def _thousands(value, _pos) -> str:
    """A value axis' tick, grouped in the reader's language: ``12.500`` / ``12,500``."""
    return formatting.chart_number(value)


def _money(value, _pos) -> str:
    """A money axis' tick in the shop's currency: ``12.500 €`` / ``€12,500``."""
    return formatting.chart_money(value)


def _day(value, _pos) -> str:
    """A date axis' tick in the reader's language: ``3. Dez.`` / ``Dec 3``."""
    return formatting.date(mdates.num2date(value).date(), "day_month")


def _is_dates(x: Sequence) -> bool:
    return bool(len(x)) and all(isinstance(v, dt.date) for v in x)  # datetimes and pandas Timestamps too


def bar_chart(title: str, categories: Sequence[str], series: dict[str, Sequence[float]], *,
              stacked: bool = False, horizontal: bool = False, ylabel: str = "", size=(6.4, 2.8),
              money: bool = False) -> Chart:
    """Grouped (or stacked) bars: one bar per series in each category; ``money`` labels the value axis in the
    shop's currency. Ticks follow the current locale (``force_locale`` for a German reader)."""
    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    labels = [str(c) for c in categories]
    positions = list(range(len(labels)))
    count = max(len(series), 1)
    width = 0.8 if stacked else 0.8 / count
    bottom = [0.0] * len(labels)
    for index, (name, values) in enumerate(series.items()):
        values = [float(v or 0) for v in values]
        offset = 0 if stacked else (index - (count - 1) / 2) * width
        where = [p + offset for p in positions]
        draw = ax.barh if horizontal else ax.bar
        kwargs = {"left" if horizontal else "bottom": bottom} if stacked else {}
        draw(where, values, width, label=name, color=PALETTE[index % len(PALETTE)], **kwargs)
        if stacked:
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if horizontal:
        ax.set_yticks(positions, labels)
        value_axis = ax.xaxis
    else:
        slanted = len(labels) > 8 or sum(len(label) for label in labels) > 60
        ax.set_xticks(positions, labels, rotation=45 if slanted else 0, ha="right" if slanted else "center")
        value_axis = ax.yaxis
    value_axis.set_major_formatter(FuncFormatter(_money if money else _thousands))
    value_axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    if horizontal:
        ax.invert_yaxis()
    if ylabel:
        (ax.set_xlabel if horizontal else ax.set_ylabel)(ylabel)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=7)
    ax.set_title(title, loc="left", fontsize=9)
    return Chart(title, _svg(fig))


def line_chart(title: str, x: Sequence, series: dict[str, Sequence[float]], *, ylabel: str = "",
               size=(6.4, 2.6), money: bool = False) -> Chart:
    """Lines over ``x``; dates on the axis are written in the current locale ("3. Dez." / "Dec 3")."""
    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    for index, (name, values) in enumerate(series.items()):
        ax.plot(list(x), [float(v) if v is not None else float("nan") for v in values], marker="o",
                markersize=2.5, linewidth=1.4, label=name, color=PALETTE[index % len(PALETTE)])
    ax.yaxis.set_major_formatter(FuncFormatter(_money if money else _thousands))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    if _is_dates(list(x)):
        ax.xaxis.set_major_formatter(FuncFormatter(_day))
    ax.grid(axis="y", linewidth=0.3, color="#cccccc")
    fig.autofmt_xdate()
    if ylabel:
        ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(frameon=False, fontsize=7)
    ax.set_title(title, loc="left", fontsize=9)
    return Chart(title, _svg(fig))
