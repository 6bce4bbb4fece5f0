"""The reports page's charts, drawn on the server as inline SVG: grouped bars (with an optional range on the
first series) and lines.

Why by hand and not a library: the page needs two chart shapes, and ~150 lines of SVG keep them offline, with
no CDN and no JavaScript, styled like the rest of the app, and with every label escaped here in one place (a
customer's name or a currency code is text, never markup). pygal would do the same drawing but brings its own
stylesheet and an extra dependency for little more.

Each chart is an `<svg role="img">` with a `<title>` (its name) and a `<desc>` (every value, for screen
readers and tests); each bar and point has a `<title>` tooltip with its figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 290
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 50, 52
PALETTE = ("#2451c9", "#e07b24", "#3a9d5d", "#8e44ad", "#c0392b", "#7f8c8d")
RANGE_COLOUR = "#1d2330"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], unit: str = "",
              ranges: Sequence[tuple[float, float]] | None = None, css_class: str = "") -> Markup:
    """Grouped bars, one group per category; `ranges` draws a low-high whisker on the first series' bars."""
    values = [v for s in series for v in s.values if v is not None]
    values += [v for pair in ranges or () for v in pair]
    axis = _Axis.of(values)
    plot_w = WIDTH - LEFT - RIGHT
    group = plot_w / max(len(categories), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = [*_frame(title, series, axis, unit)]
    for index, category in enumerate(categories):
        x0 = LEFT + index * group + group * 0.1
        for number, s in enumerate(series):
            value = s.values[index] if index < len(s.values) else None
            if value is None:
                continue
            top, bottom = sorted((axis.y(value), axis.y(0.0)))
            parts.append(
                f'<rect class="bar" x="{x0 + number * bar:.1f}" y="{top:.1f}" width="{max(bar - 1, 1):.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill="{PALETTE[number % len(PALETTE)]}">'
                f"<title>{escape(f'{s.name}, {category}: {_figure(value)}{unit}')}</title></rect>"
            )
        if ranges is not None and index < len(ranges):
            low, high = ranges[index]
            mid = x0 + bar / 2
            parts.append(
                f'<path class="range" d="M{mid:.1f},{axis.y(low):.1f}V{axis.y(high):.1f}M{mid - 3:.1f},'
                f'{axis.y(low):.1f}h6M{mid - 3:.1f},{axis.y(high):.1f}h6" stroke="{RANGE_COLOUR}" fill="none">'
                f"<title>{escape(f'{category}: range {_figure(low)} .. {_figure(high)}{unit}')}</title></path>"
            )
    parts += _x_labels(categories, lambda i: LEFT + (i + 0.5) * group)
    return _svg(title, series, categories, parts, css_class, ranges)


def line_chart(title: str, categories: Sequence[str], series: Sequence[Series], unit: str = "",
               css_class: str = "") -> Markup:
    """One line per series across the categories; a missing value (None) breaks the line."""
    axis = _Axis.of([v for s in series for v in s.values if v is not None])
    step = (WIDTH - LEFT - RIGHT) / max(len(categories), 1)

    def x(i: int) -> float:
        return LEFT + (i + 0.5) * step

    parts = [*_frame(title, series, axis, unit)]
    for number, s in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        path, pen_down = [], False
        for index, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(index):.1f},{axis.y(value):.1f}")
            pen_down = True
            parts.append(f'<circle class="point" cx="{x(index):.1f}" cy="{axis.y(value):.1f}" r="3" fill="{colour}">'
                         f"<title>{escape(f'{s.name}, {categories[index]}: {_figure(value)}{unit}')}</title></circle>")
        if path:
            parts.insert(0, f'<path class="line" d="{"".join(path)}" stroke="{colour}" stroke-width="2" fill="none"/>')
    parts += _x_labels(categories, x)
    return _svg(title, series, categories, parts, css_class)


@dataclass(frozen=True)
class _Axis:
    low: float
    high: float
    ticks: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> _Axis:
        """A zero-based axis with round ticks (1, 2, 2.5 or 5 times a power of ten) covering every value."""
        low, high = min([0.0, *values]), max([0.0, *values])
        if high - low <= 0:
            high = 1.0
        raw = (high - low) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first, last = math.floor(low / step), math.ceil(high / step)
        ticks = tuple(n * step for n in range(first, last + 1))
        return cls(ticks[0], ticks[-1], ticks)

    def y(self, value: float) -> float:
        plot_h = HEIGHT - TOP - BOTTOM
        return TOP + plot_h * (1 - (value - self.low) / (self.high - self.low))


def _frame(title: str, series: Sequence[Series], axis: _Axis, unit: str) -> list[str]:
    parts = [f'<text class="chart-title" x="{LEFT}" y="18" font-size="14" font-weight="600">{escape(title)}</text>']
    for tick in axis.ticks:
        y = axis.y(tick)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ec"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#5a6477">'
                     f"{escape(_compact(tick) + unit)}</text>")
    x = LEFT
    for number, s in enumerate(series):  # the legend: one row under the title
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{PALETTE[number % len(PALETTE)]}"/>'
                     f'<text class="legend" x="{x + 14}" y="35" font-size="11">{escape(s.name)}</text>')
        x += 7 * len(s.name) + 30
    return parts


def _x_labels(categories: Sequence[str], x: Callable[[int], float]) -> list[str]:
    every = max(1, math.ceil(len(categories) / 14))  # at most 14 labels fit under the plot
    parts = []
    for index, category in enumerate(categories):
        if index % every:
            continue
        parts.append(f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#5a6477">{escape(category)}</text>')
    return parts


def _svg(title: str, series: Sequence[Series], categories: Sequence[str], parts: list[str], css_class: str,
         ranges: Sequence[tuple[float, float]] | None = None) -> Markup:
    described = "; ".join(
        f"{s.name}: " + ", ".join(f"{c} {_figure(v)}" for c, v in zip(categories, s.values, strict=False)
                                  if v is not None)
        for s in series
    )
    if ranges:
        described += "; range: " + ", ".join(f"{c} {_figure(lo)}..{_figure(hi)}"
                                             for c, (lo, hi) in zip(categories, ranges, strict=False))
    body = "".join(parts)
    return Markup(
        f'<svg class="chart {escape(css_class)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" style="width:100%;height:auto">'
        f"<title>{escape(title)}</title><desc>{escape(described)}</desc>"
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="#9aa4b5"/>'
        f"{body}</svg>"
    )


def _figure(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _compact(value: float) -> str:
    """Axis labels: 1.5k, 2M, 250."""
    size = abs(value)
    for bound, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= bound:
            return f"{value / bound:g}{suffix}"
    return f"{value:g}"
