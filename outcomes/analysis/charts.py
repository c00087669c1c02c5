"""Small server-side SVG charts (no JavaScript, no CDN), each paired with a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT, PAD = 320, 160, 28
COLOURS = ("#0b5ed7", "#b02a37", "#146c43", "#6f42c1")
Point = float | tuple[float, float | None, float | None] | None
"""A value, or (value, CI low, CI high), or None for a gap."""


def line_chart_svg(title: str, x_labels: Sequence[str], values: Sequence[float | None],
                   *, low: float, high: float) -> str:
    """Return an accessible SVG line chart of one series; gaps where a value is missing."""
    return lines_chart_svg(title, x_labels, {"": values}, low=low, high=high)


def lines_chart_svg(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[Point]],
                    *, low: float, high: float) -> str:
    """Return an SVG chart of several series (one colour each, with a legend), with
    confidence whiskers where a point carries (value, low, high)."""
    n = max(len(x_labels), 1)
    span = (high - low) or 1.0

    def x(i: int, offset: float = 0) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / max(n - 1, 1) + offset

    def y(v: float) -> float:
        return HEIGHT - PAD - (min(max(v, low), high) - low) * (HEIGHT - 2 * PAD) / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#6c757d"/>',
        f'<text x="4" y="{y(high) + 4:.1f}" font-size="10">{high:g}</text>',
        f'<text x="4" y="{y(low) + 4:.1f}" font-size="10">{low:g}</text>',
    ]
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for k, (name, points) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        offset = (k - (len(series) - 1) / 2) * 4  # side by side, so whiskers do not overlap
        if name:
            parts.append(f'<text x="{WIDTH - PAD}" y="{12 + 12 * k}" font-size="10" '
                         f'text-anchor="end" fill="{colour}">{escape(name)}</text>')
        segment: list[str] = []

        def flush(segment=segment, colour=colour) -> None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                             f'points="{" ".join(segment)}"/>')
            segment.clear()

        for i, point in enumerate(points):
            if point is None or (isinstance(point, tuple) and point[0] is None):
                flush()
                continue
            value, ci_low, ci_high = point if isinstance(point, tuple) else (point, None, None)
            px, py = x(i, offset), y(value)
            segment.append(f"{px:.1f},{py:.1f}")
            if ci_low is not None and ci_high is not None:
                parts.append(f'<line x1="{px:.1f}" y1="{y(ci_low):.1f}" x2="{px:.1f}" '
                             f'y2="{y(ci_high):.1f}" stroke="{colour}"/>')
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        flush()
    parts.append("</svg>")
    return "".join(parts)
