"""The statistics page's per-day charts, as inline SVG written here (no JavaScript, no chart library: the
admin's Content-Security-Policy allows neither inline scripts nor outside files)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from datetime import date

# One colour per line, in the order the lines come (a model's versions, oldest first).
COLOURS = ("#1c7ed6", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#5c5f66")
# The eleven classes' colours in the answer-share bars: ten digits, then "not a digit" in grey.
CLASS_COLOURS = (
    "#1c7ed6", "#d9480f", "#2b8a3e", "#862e9c", "#e67700",
    "#0b7285", "#c2255c", "#5c940d", "#364fc7", "#a61e4d", "#adb5bd",
)  # fmt: skip
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 420, 220, 52, 96, 28, 34

Series = dict[str, list[tuple[date, float]]]


def line_chart_svg(
    title: str,
    series: Series,
    *,
    days: Sequence[date],
    value_text: Callable[[float], str] = lambda value: f"{value:g}",
    low: float | None = None,
    high: float | None = None,
) -> str:
    """One line per series over `days` (a point per day that has a value), with the y range from `low`
    to `high` (by default from the values), its ends labelled by `value_text`."""
    values = [value for points in series.values() for _, value in points]
    fixed_high = high is not None
    low = min(values, default=0.0) if low is None else low
    high = max(values, default=1.0) if high is None else max(high, max(values, default=high))
    if high <= low:  # one value: a range around it, below a fixed top (a share of 100 %)
        if fixed_high:
            low = high - max(abs(high) * 0.1, 1e-3)
        else:
            high = low + max(abs(low) * 0.1, 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first, span = days[0], max((days[-1] - days[0]).days, 1)

    def x(day: date) -> float:
        return LEFT + (day - first).days / span * plot_w

    def y(value: float) -> float:
        return TOP + (1 - (value - low) / (high - low)) * plot_h

    parts = _frame(title)
    for tick in (low, (low + high) / 2, high):
        parts.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{LEFT + plot_w}" y2="{y(tick):.1f}" stroke="#e9ecef"/>')
        label = html.escape(value_text(tick))
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{label}</text>')
    for day in (days[0], days[len(days) // 2], days[-1]):
        parts.append(f'<text x="{x(day):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{day:%m-%d}</text>')
    for index, (label, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in points)
        if len(points) > 1:
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}"/>' for day, value in points]
        legend_y = TOP + 8 + 16 * index
        parts.append(f'<rect x="{LEFT + plot_w + 10}" y="{legend_y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{LEFT + plot_w + 24}" y="{legend_y + 1}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def answer_shares_svg(title: str, rows: Mapping[str, Sequence[int]], class_names: Sequence[str]) -> str:
    """One horizontal bar per row (a model version), split into the share of each answer."""
    bar_h, gap = 18, 10
    height = TOP + len(rows) * (bar_h + gap) + 40
    plot_w = WIDTH - LEFT - 16
    parts = _frame(title, height=height)
    for index, (label, counts) in enumerate(rows.items()):
        top = TOP + index * (bar_h + gap)
        total = sum(counts) or 1
        parts.append(f'<text x="{LEFT - 6}" y="{top + 13}" text-anchor="end">{html.escape(label)}</text>')
        offset = 0.0
        for name, count, colour in zip(class_names, counts, CLASS_COLOURS, strict=True):
            width = count / total * plot_w
            if width > 0:
                share = f"{name}: {count} ({count / total:.1%})"
                parts.append(
                    f'<rect x="{LEFT + offset:.1f}" y="{top}" width="{width:.1f}" height="{bar_h}" '
                    f'fill="{colour}"><title>{html.escape(share)}</title></rect>'
                )
                if width > 14:
                    parts.append(
                        f'<text x="{LEFT + offset + width / 2:.1f}" y="{top + 13}" text-anchor="middle" '
                        f'fill="#fff">{html.escape(_short(name))}</text>'
                    )
            offset += width
    legend_y = height - 14
    left = LEFT
    for name, colour in zip(class_names, CLASS_COLOURS, strict=True):
        parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + 13}" y="{legend_y}">{html.escape(name)}</text>')
        left += 26 + 6 * max(len(name) - 1, 0)
    parts.append("</svg>")
    return "\n".join(parts)


def _short(name: str) -> str:
    """A class's name inside its bar: the digit, or a cross for "not a digit"."""
    return name if len(name) == 1 else "\u00d7"


def _frame(title: str, *, height: int = HEIGHT) -> list[str]:
    """The opening of a chart: its size, white background and title."""
    title = html.escape(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11" role="img" aria-label="{title}">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="{LEFT}" y="16" font-size="13">{title}</text>',
    ]
