"""Small server-side SVG charts and the CONSORT flow diagram (no JavaScript, no CDN).

Each is drawn at about its own size on a page, so its text reads at 13-16 px: a chart
fills a half-width column at 1280 px and the full width of a phone; the flow diagram
fills the page's width and scrolls sideways on a phone rather than shrink its text.
Every picture is ``role="img"`` with a title (and a description where it has one),
and the page prints its numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

# A chart's canvas: 460 units across, so that its 15-unit text reads at about 11 px on a
# phone (full width) and 19 px in a half-width column at 1280 px.
WIDTH, PLOT_HEIGHT, FONT = 460, 220, 15
LEFT, RIGHT, INSET = 52, 12, 34  # the plot's margins; INSET keeps end labels inside
COLOURS = ("#0b5ed7", "#b02a37", "#146c43", "#6f42c1")  # each 5:1 or more on white
MARKERS = ("circle", "square", "triangle", "diamond")  # told apart without colour too
INK, MUTED, GRID = "#212529", "#495057", "#dee2e6"
Point = float | tuple[float, float | None, float | None] | None
"""A value, or (value, CI low, CI high), or None for a gap."""


def line_chart_svg(title: str, x_labels: Sequence[str], values: Sequence[float | None],
                   *, low: float, high: float,
                   reference: tuple[float, str] | None = None) -> str:
    """Return an accessible SVG line chart of one series; gaps where a value is missing."""
    return lines_chart_svg(title, x_labels, {"": values}, low=low, high=high,
                           reference=reference)


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Return round values from ``low`` to ``high`` for about ``target`` gridlines."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * span:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick(value: float) -> str:
    text = f"{value:.10g}"
    return text.replace("-", "\u2212")


def _marker(kind: str, x: float, y: float, colour: str, size: float = 4.5) -> str:
    if kind == "square":
        return (f'<rect x="{x - size:.1f}" y="{y - size:.1f}" width="{2 * size:.1f}" '
                f'height="{2 * size:.1f}" fill="{colour}"/>')
    if kind == "triangle":
        h = size * 1.2
        return (f'<polygon points="{x:.1f},{y - h:.1f} {x + h:.1f},{y + h * 0.8:.1f} '
                f'{x - h:.1f},{y + h * 0.8:.1f}" fill="{colour}"/>')
    if kind == "diamond":
        h = size * 1.3
        return (f'<polygon points="{x:.1f},{y - h:.1f} {x + h:.1f},{y:.1f} {x:.1f},'
                f'{y + h:.1f} {x - h:.1f},{y:.1f}" fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size:.1f}" fill="{colour}"/>'


def _wrap(text: str, width: float, font: float = FONT) -> list[str]:
    """Split ``text`` into lines of about ``width`` units (an average glyph of the sans
    serif face is about 0.55 of its size)."""
    room = max(int(width / (font * 0.55)), 8)
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= room:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def lines_chart_svg(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[Point]],
                    *, low: float, high: float, reference: tuple[float, str] | None = None,
                    counts: Mapping[str, Sequence[int | None]] | None = None,
                    y_label: str = "", x_label: str = "", description: str = "") -> str:
    """Return an SVG chart of several series (a colour and a marker each, named in a
    legend), with 95% CI whiskers where a point carries (value, low, high).

    ``y_label`` is written above the plot (the score, its range and which way is
    better), ``x_label`` under the time points; ``reference`` draws a dashed
    horizontal line (an MCID), its label in the legend; ``counts`` writes each series'
    n under each time point, so that 100% of one patient is not read as 100% of forty.
    """
    n = max(len(x_labels), 1)
    span = (high - low) or 1.0
    named = [name for name in series if name]
    parts: list[str] = []
    y0 = 8.0
    for k, name in enumerate(series):  # the legend: a row per named series
        if not name:
            continue
        colour, marker = COLOURS[k % len(COLOURS)], MARKERS[k % len(MARKERS)]
        lines = _wrap(name, WIDTH - LEFT - 40)
        mid = y0 + FONT * 0.7
        parts.append(f'<line x1="{LEFT}" y1="{mid:.1f}" x2="{LEFT + 28}" y2="{mid:.1f}" '
                     f'stroke="{colour}" stroke-width="2.5"/>')
        parts.append(_marker(marker, LEFT + 14, mid, colour))
        for j, line in enumerate(lines):
            parts.append(f'<text x="{LEFT + 38}" y="{y0 + FONT + j * (FONT + 3):.1f}" '
                         f'font-size="{FONT}" fill="{INK}">{escape(line)}</text>')
        y0 += len(lines) * (FONT + 3) + 6
    if reference is not None:  # in the legend, not on the plot: no point hides it
        mid = y0 + FONT * 0.7
        parts.append(f'<line x1="{LEFT}" y1="{mid:.1f}" x2="{LEFT + 28}" y2="{mid:.1f}" '
                     f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="7 5"/>')
        lines = _wrap(reference[1], WIDTH - LEFT - 40)
        for j, line in enumerate(lines):
            parts.append(f'<text x="{LEFT + 38}" y="{y0 + FONT + j * (FONT + 3):.1f}" '
                         f'font-size="{FONT}" fill="{MUTED}">{escape(line)}</text>')
        y0 += len(lines) * (FONT + 3) + 6
    if named or reference is not None:
        y0 += 4
    for line in _wrap(y_label, WIDTH - 8) if y_label else ():
        parts.append(f'<text x="4" y="{y0 + FONT:.1f}" font-size="{FONT}" '
                     f'font-weight="600" fill="{INK}">{escape(line)}</text>')
        y0 += FONT + 4
    if y_label:
        y0 += 6
    top = y0 + 8
    bottom = top + PLOT_HEIGHT

    def x(i: int, offset: float = 0) -> float:
        if n == 1:
            return (LEFT + WIDTH - RIGHT) / 2 + offset
        return LEFT + INSET + i * (WIDTH - RIGHT - LEFT - 2 * INSET) / (n - 1) + offset

    def y(v: float) -> float:
        return bottom - (min(max(v, low), high) - low) * PLOT_HEIGHT / span

    for tick in nice_ticks(low, high):
        parts.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y(tick) + 5:.1f}" font-size="{FONT - 1}" '
                     f'text-anchor="end" fill="{MUTED}">{_tick(tick)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{bottom:.1f}" x2="{WIDTH - RIGHT}" '
                 f'y2="{bottom:.1f}" stroke="{MUTED}"/>')
    parts.append(f'<line x1="{LEFT}" y1="{top:.1f}" x2="{LEFT}" y2="{bottom:.1f}" '
                 f'stroke="{MUTED}"/>')
    row = bottom + FONT + 8
    for i, label in enumerate(x_labels):
        parts.append(f'<text x="{x(i):.1f}" y="{row:.1f}" font-size="{FONT - 1}" '
                     f'text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    if x_label:
        row += FONT + 8
        parts.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{row:.1f}" '
                     f'font-size="{FONT - 1}" text-anchor="middle" fill="{MUTED}">'
                     f"{escape(x_label)}</text>")
    if reference is not None:
        parts.append(f'<line x1="{LEFT}" y1="{y(reference[0]):.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y(reference[0]):.1f}" stroke="{MUTED}" stroke-width="1.5" '
                     'stroke-dasharray="7 5"/>')
    if counts:
        row += 6
        for k, name in enumerate(series):
            row += FONT + 6
            colour, marker = COLOURS[k % len(COLOURS)], MARKERS[k % len(MARKERS)]
            parts.append(_marker(marker, 12, row - 5, colour, 4))
            parts.append(f'<text x="22" y="{row:.1f}" font-size="{FONT - 1}" '
                         f'fill="{colour}">n</text>')
            for i, count in enumerate(counts.get(name, ())):
                parts.append(f'<text x="{x(i):.1f}" y="{row:.1f}" font-size="{FONT - 1}" '
                             f'text-anchor="middle" fill="{colour}">'
                             f'{"–" if count is None else count}</text>')
    for k, (_name, points) in enumerate(series.items()):
        colour, marker = COLOURS[k % len(COLOURS)], MARKERS[k % len(MARKERS)]
        offset = (k - (len(series) - 1) / 2) * 7  # side by side: whiskers do not overlap
        segment: list[str] = []

        def flush(segment=segment, colour=colour) -> None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
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
                for end in (y(ci_low), y(ci_high)):
                    parts.append(f'<line x1="{px - 4:.1f}" y1="{end:.1f}" x2="{px + 4:.1f}" '
                                 f'y2="{end:.1f}" stroke="{colour}" stroke-width="1.5"/>')
                parts.append(f'<line x1="{px:.1f}" y1="{y(ci_low):.1f}" x2="{px:.1f}" '
                             f'y2="{y(ci_high):.1f}" stroke="{colour}" stroke-width="1.5"/>')
            parts.append(_marker(marker, px, py, colour))
        flush()
    height = row + 12
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-label="{escape(title)}" class="chart" '
        f'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    if description:
        head.append(f"<desc>{escape(description)}</desc>")
    return "".join([*head, *parts, "</svg>"])


# --- the CONSORT flow diagram ------------------------------------------------------------


@dataclass(frozen=True)
class FlowStage:
    """One time point of one arm: visits with data, due without (missed, and after the
    patient left the study), and not yet due (pending: drawn apart)."""

    label: str
    with_data: int
    missed: int
    after_leaving: int
    pending: int


@dataclass(frozen=True)
class FlowArm:
    name: str
    allocated: int
    stages: Sequence[FlowStage]
    left: Sequence[str]  # "Withdrawn: moved away (2)", one line per status and reason
    left_total: int
    analysed: Sequence[str]  # lines of the arm's "Analysed" box


FLOW_WIDTH, BOX_FONT, LINE = 960, 15, 20


Segment = tuple[str, bool]  # a piece of a line of text, and whether it is bold


def _box(x: float, y: float, w: float, lines: Sequence[Sequence[Segment]], h: float, *,
         dashed: bool = False) -> list[str]:
    """A box with its lines of text, left-aligned; each line a run of (text, bold)."""
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    colour = MUTED if dashed else INK
    out = [f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="4" '
           f'fill="#fff" stroke="{colour}" stroke-width="1.5"{dash}/>']
    for j, line in enumerate(lines):
        runs = "".join(f'<tspan font-weight="600">{escape(text)}</tspan>' if bold
                       else escape(text) for text, bold in line)
        out.append(f'<text x="{x + 10:.1f}" y="{y + 8 + BOX_FONT + j * LINE:.1f}" '
                   f'font-size="{BOX_FONT}" fill="{colour}">{runs}</text>')
    return out


def _lines(w: float, *pieces: Segment) -> list[list[Segment]]:
    """Each piece on lines of its own, wrapped to the box's width."""
    return [[(line, bold)] for text, bold in pieces for line in _wrap(text, w - 20, BOX_FONT)]


def _run(w: float, head: str, text: str) -> list[list[Segment]]:
    """``head`` in bold and ``text`` after it on one line if they fit, else two."""
    if len(_wrap(f"{head} {text}", w - 20, BOX_FONT)) == 1:
        return [[(head, True), (f" {text}", False)]]
    return _lines(w, (head, True), (text, False))


def _height(lines: Sequence) -> float:
    return 16 + len(lines) * LINE


def _arrow(x: float, y1: float, y2: float) -> str:
    return (f'<line x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y2 - 1:.1f}" '
            f'stroke="{INK}" stroke-width="1.5" marker-end="url(#flow-arrow)"/>')


def flow_diagram_svg(title: str, description: str, *, enrolled: int,
                     arms: Sequence[FlowArm]) -> str:
    """Return the CONSORT-style flow: enrolled, allocated to each arm, at each time point
    followed up (with data) and missed, not yet due beside it (dashed: apart, neither
    lost nor analysed), who is no longer active and why, and who was analysed.

    The arms stand side by side, a column each; a row of boxes (one per arm) is as tall
    as its tallest box, so that the time points line up across the arms.
    """
    gap, margin, step = 28, 8, 24  # between columns, around, between rows of boxes
    count = max(len(arms), 1)
    column = (FLOW_WIDTH - 2 * margin - (count - 1) * gap) / count
    main = column * 0.64
    side = column - main - 14
    lefts = [margin + k * (column + gap) for k in range(count)]
    centres = [x + main / 2 for x in lefts]
    parts: list[str] = []
    y = 4.0

    def section(name: str) -> None:
        nonlocal y
        parts.append(f'<text x="{margin}" y="{y + 14:.1f}" font-size="13" '
                     f'font-weight="600" fill="{MUTED}" letter-spacing="1">'
                     f"{escape(name.upper())}</text>")
        y += 22

    def row(boxes: Sequence[list], beside: Sequence[list] | None = None) -> float:
        """Draw a row of boxes, one per arm (and the dashed ones beside them)."""
        nonlocal y
        h = max([*map(_height, boxes), *map(_height, beside or [])], default=LINE)
        for k, (x, lines) in enumerate(zip(lefts, boxes, strict=True)):
            parts.extend(_box(x, y, main, lines, h))
            if beside:
                parts.append(f'<line x1="{x + main:.1f}" y1="{y + h / 2:.1f}" '
                             f'x2="{x + main + 14:.1f}" y2="{y + h / 2:.1f}" '
                             f'stroke="{MUTED}" stroke-dasharray="3 3"/>')
                parts.extend(_box(x + main + 14, y, side, beside[k], h, dashed=True))
        top = y
        y += h
        return top

    def arrows(from_y: float, label: str = "") -> None:
        """Arrows from the row above (its bottom at ``from_y``) to the next row."""
        nonlocal y
        y += step
        if label:
            section(label)
        for centre in centres:
            parts.append(_arrow(centre, from_y, y))

    section("Enrolment")
    top = _lines(360, (f"Enrolled: {enrolled} patients", True))
    top_h = _height(top)
    parts.extend(_box((FLOW_WIDTH - 360) / 2, y, 360, top, top_h))
    y += top_h
    fork = y + 14
    parts.append(f'<line x1="{FLOW_WIDTH / 2:.1f}" y1="{y:.1f}" x2="{FLOW_WIDTH / 2:.1f}" '
                 f'y2="{fork:.1f}" stroke="{INK}" stroke-width="1.5"/>')
    if count > 1:
        parts.append(f'<line x1="{min(centres):.1f}" y1="{fork:.1f}" '
                     f'x2="{max(centres):.1f}" y2="{fork:.1f}" stroke="{INK}" '
                     'stroke-width="1.5"/>')
    y = fork
    arrows(fork, "Allocation")
    row([_lines(main, (f"Allocated to {arm.name}", True), (f"{arm.allocated} patients",
                                                            False)) for arm in arms])
    for i in range(max((len(arm.stages) for arm in arms), default=0)):
        arrows(y, "Time points" if i == 0 else "")
        boxes, beside = [], []
        for arm in arms:
            stage = arm.stages[i]
            text = f"{stage.with_data} with data, {stage.missed} missed"
            if stage.after_leaving:
                text += f", {stage.after_leaving} after leaving the study"
            boxes.append(_run(main, f"{stage.label}:", text))
            beside.append(_lines(side, (f"{stage.pending} not yet due", False)))
        row(boxes, beside)
    arrows(y)
    row([_run(main, "No longer active:", f"{arm.left_total}")
         + [[(line, False)] for text in arm.left for line in _wrap(text, main - 20, BOX_FONT)]
         for arm in arms])
    arrows(y, "Analysis")
    row([[line for j, text in enumerate(arm.analysed)
          for line in _lines(main, (text, j == 0))] for arm in arms])
    y += 6
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {FLOW_WIDTH} {y:.0f}" '
        'role="img" aria-labelledby="flow-title flow-desc" class="flow-diagram" '
        'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, sans-serif">',
        f'<title id="flow-title">{escape(title)}</title>',
        f'<desc id="flow-desc">{escape(description)}</desc>',
        '<defs><marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{INK}"/></marker></defs>',
    ]
    return "".join([*head, *parts, "</svg>"])
