"""Small server-side SVG charts (no JavaScript, no CDN), each paired with a table."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD = 320, 160, 28


def line_chart_svg(title: str, x_labels: Sequence[str], values: Sequence[float | None],
                   *, low: float, high: float) -> str:
    """Return an accessible SVG line chart of one series; gaps where a value is missing."""
    n = max(len(x_labels), 1)
    span = (high - low) or 1.0

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / max(n - 1, 1)

    def y(v: float) -> float:
        return HEIGHT - PAD - (v - low) * (HEIGHT - 2 * PAD) / span

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
    segment: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="#0b5ed7" stroke-width="2" '
                             f'points="{" ".join(segment)}"/>')
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(value):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="#0b5ed7"/>')
    if len(segment) > 1:
        parts.append(f'<polyline fill="none" stroke="#0b5ed7" stroke-width="2" '
                     f'points="{" ".join(segment)}"/>')
    parts.append("</svg>")
    return "".join(parts)
