"""Small server-side SVG charts (no JavaScript, no CDN), each paired with a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

# Drawn at about its own size on a page (a half-width column at 1280 px): text of 14
# units reads at 12-14 px, never the 8 px of a smaller canvas scaled down.
WIDTH, HEIGHT, PAD, FONT = 480, 280, 44, 14
COLOURS = ("#0b5ed7", "#b02a37", "#146c43", "#6f42c1")
Point = float | tuple[float, float | None, float | None] | None
"""A value, or (value, CI low, CI high), or None for a gap."""


def line_chart_svg(title: str, x_labels: Sequence[str], values: Sequence[float | None],
                   *, low: float, high: float,
                   reference: tuple[float, str] | None = None) -> str:
    """Return an accessible SVG line chart of one series; gaps where a value is missing."""
    return lines_chart_svg(title, x_labels, {"": values}, low=low, high=high,
                           reference=reference)


def lines_chart_svg(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[Point]],
                    *, low: float, high: float, reference: tuple[float, str] | None = None,
                    counts: Mapping[str, Sequence[int | None]] | None = None) -> str:
    """Return an SVG chart of several series (one colour each, with a legend), with
    confidence whiskers where a point carries (value, low, high).

    ``reference`` draws a dashed horizontal line with its label (an MCID threshold);
    ``counts`` writes each series' n under each time point, so that 100% of one
    patient is not read as 100% of forty.
    """
    n = max(len(x_labels), 1)
    span = (high - low) or 1.0
    rows_below = len(series) if counts else 0
    height = HEIGHT + rows_below * (FONT + 4)
    bottom = HEIGHT - PAD  # the x axis

    def x(i: int, offset: float = 0) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / max(n - 1, 1) + offset

    def y(v: float) -> float:
        return bottom - (min(max(v, low), high) - low) * (bottom - PAD) / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{bottom}" x2="{WIDTH - PAD}" y2="{bottom}" stroke="#6c757d"/>',
        f'<text x="4" y="{y(high) + 5:.1f}" font-size="{FONT}">{high:g}</text>',
        f'<text x="4" y="{y(low) + 5:.1f}" font-size="{FONT}">{low:g}</text>',
    ]
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{bottom + FONT + 8}" font-size="{FONT}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    if reference is not None:
        ref_value, ref_label = reference
        parts.append(f'<line x1="{PAD}" y1="{y(ref_value):.1f}" x2="{WIDTH - PAD}" '
                     f'y2="{y(ref_value):.1f}" stroke="#495057" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{PAD + 4}" y="{y(ref_value) - 5:.1f}" font-size="{FONT - 2}" '
                     f'fill="#495057">{escape(ref_label)}</text>')
    for k, (name, points) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        offset = (k - (len(series) - 1) / 2) * 4  # side by side, so whiskers do not overlap
        if name:
            parts.append(f'<text x="{WIDTH - PAD}" y="{FONT + 2 + (FONT + 2) * k}" '
                         f'font-size="{FONT}" text-anchor="end" fill="{colour}">'
                         f"{escape(name)}</text>")
        if counts:
            row_y = bottom + 2 * FONT + 14 + k * (FONT + 4)
            parts.append(f'<text x="2" y="{row_y}" font-size="{FONT - 2}" fill="{colour}">'
                         "n</text>")
            for i, count in enumerate(counts.get(name, ())):
                parts.append(f'<text x="{x(i):.1f}" y="{row_y}" font-size="{FONT - 2}" '
                             f'text-anchor="middle" fill="{colour}">'
                             f'{"–" if count is None else count}</text>')
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
