"""The timeline chart as a server-side SVG: WBC, blasts, MRD (log scale, with the 10^-4 line) and QTc over time,
with diagnosis, relapse, transplant and menin-inhibitor start drawn as dated vertical lines.

Hand-built rather than a charting library: the chart needs panels sharing one time axis, log scales with a
reference line, open markers for results below detection and event lines across panels, and must be plain SVG
with no script and no inline style (the page's Content-Security-Policy allows neither); pygal, the usual choice,
ships its tooltips as a script and has no event lines. Colours come from the page's stylesheet by class; shapes and
labels carry the meaning, so the chart reads the same printed in black and white.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from cds_service.smart.timeline import Point, Timeline
from cds_service.stratification import kb

WIDTH, LEFT, RIGHT, TOP, GAP, AXIS = 900, 92, 24, 46, 26, 34
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
SHAPES = ("circle", "square", "diamond", "triangle")


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    height: int
    log: bool
    low: float
    high: float
    percent: bool = False  # values are fractions shown as %


def render(timeline: Timeline, description: str) -> str:
    """The chart's SVG markup (to be placed inline in the page)."""
    panels = _panels(timeline)
    start, end = _span(timeline)
    height = TOP + sum(p.height for p in panels) + GAP * (len(panels) - 1) + AXIS
    x = _x_scale(start, end)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-labelledby="timeline-title timeline-desc" preserveAspectRatio="xMinYMin meet">',
           '<title id="timeline-title">Disease timeline: WBC, blasts and MRD over time</title>',
           f'<desc id="timeline-desc">{escape(description)}</desc>']
    top = TOP
    for panel in panels:
        out += _panel(panel, timeline.panel(panel.name), top, x)
        top += panel.height + GAP
    bottom = top - GAP
    out += _time_axis(start, end, x, bottom)
    out += _events(timeline, x, bottom)
    out.append("</svg>")
    return "\n".join(out)


def _panels(timeline: Timeline) -> list[Panel]:
    wbc = [p.value for p in timeline.panel("wbc") if p.value and p.value > 0]
    mrd = [p.value for p in timeline.panel("mrd") if p.value and p.value > 0]
    qtc = [p.value for p in timeline.panel("qtc") if p.value]
    panels = [
        Panel("wbc", "WBC, x10^9/L (log)", 130, True, *_decades(wbc, 0.1, 100)),
        Panel("blasts", "Blasts, %", 110, False, 0.0, 1.0, percent=True),
        Panel("mrd", "MRD, % (log)", 130, True, *_decades(mrd, 1e-6, 1e-1, ceiling=1.0), percent=True),
    ]
    if qtc:
        panels.append(Panel("qtc", "QTc, ms", 80, False, min(380.0, min(qtc) - 10), max(520.0, max(qtc) + 10)))
    return panels


def _decades(values: list[float], low: float, high: float, ceiling: float | None = None) -> tuple[float, float]:
    lo = min([low, *values])
    hi = max([high, *values])
    lo, hi = 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))
    return lo, min(hi, ceiling) if ceiling else hi


def _span(timeline: Timeline) -> tuple[date, date]:
    days = [p.when for p in timeline.points] + [e.when for e in timeline.events]
    if not days:
        today = date.today()
        return today - timedelta(days=30), today
    start, end = min(days), max(days)
    pad = max(7, (end - start).days // 30)
    return start - timedelta(days=pad), end + timedelta(days=pad)


def _x_scale(start: date, end: date):
    span = max(1, (end - start).days)
    return lambda d: LEFT + (WIDTH - LEFT - RIGHT) * (d - start).days / span


def _y_scale(panel: Panel, top: float):
    def y(value: float) -> float:
        if panel.log:
            value = min(max(value, panel.low), panel.high)
            share = (math.log10(value) - math.log10(panel.low)) / (math.log10(panel.high) - math.log10(panel.low))
        else:
            share = (min(max(value, panel.low), panel.high) - panel.low) / (panel.high - panel.low)
        return top + panel.height * (1 - share)
    return y


def _ticks(panel: Panel) -> list[float]:
    if panel.log:
        low, high = round(math.log10(panel.low)), round(math.log10(panel.high))
        step = 1 if high - low <= 6 else 2
        return [10.0 ** e for e in range(low, high + 1, step)]
    if panel.percent:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    step = 50.0
    first = math.ceil(panel.low / step) * step
    return [first + step * i for i in range(int((panel.high - first) // step) + 1)]


def _tick_label(panel: Panel, value: float) -> str:
    if panel.percent:
        pct = value * 100
        return f"{pct:.6f}".rstrip("0").rstrip(".") + " %"
    return f"{value:g}"


def _panel(panel: Panel, points: tuple[Point, ...], top: float, x) -> list[str]:
    y = _y_scale(panel, top)
    right = WIDTH - RIGHT
    out = [f'<g class="panel panel-{panel.name}">',
           f'<text class="panel-title" x="{LEFT}" y="{top - 8:.1f}">{escape(panel.title)}</text>',
           f'<rect class="frame" x="{LEFT}" y="{top}" width="{right - LEFT}" height="{panel.height}" fill="none"/>']
    for tick in _ticks(panel):
        ty = y(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{right}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{_tick_label(panel, tick)}</text>')
    if panel.name == "mrd":
        # the one MRD positivity threshold the rules judge ALL results against (cds_service/knowledge/rules.json)
        threshold = kb.threshold("mrd_positive")
        ly = y(threshold)
        out.append(f'<line class="threshold" x1="{LEFT}" x2="{right}" y1="{ly:.1f}" y2="{ly:.1f}" '
                   'stroke-dasharray="8 4"/>')
        out.append(f'<text class="threshold-label" x="{right - 4}" y="{ly - 5:.1f}" text-anchor="end">'
                   f'10^{round(math.log10(threshold))} ({_tick_label(panel, threshold)})</text>')
    plotted = [p for p in points if p.value is not None]
    if not plotted:
        out.append(f'<text class="empty" x="{(LEFT + right) / 2:.0f}" y="{top + panel.height / 2 + 4:.1f}" '
                   'text-anchor="middle">No dated results</text>')
    series = list(dict.fromkeys(p.series for p in plotted))
    for index, name in enumerate(series):
        mine = sorted((p for p in plotted if p.series == name), key=lambda p: p.when)
        shape = SHAPES[index % len(SHAPES)]
        if len(mine) > 1:
            path = " ".join(f"{x(p.when):.1f},{y(p.value):.1f}" for p in mine)
            out.append(f'<polyline class="series-line series-{index}" points="{path}" fill="none"/>')
        for p in mine:
            out.append(_marker(shape, index, x(p.when), y(p.value), p))
        # legends sit on the title line, right of the title: inside the panel they would cover early results
        out.append(_legend(shape, index, name, LEFT + 7.2 * len(panel.title) + 28 + 165 * index, top - 12))
    out.append("</g>")
    return out


def _marker(shape: str, index: int, cx: float, cy: float, p: Point) -> str:
    classes = f"point series-{index}" + (" below-detection" if p.below_detection else "")
    title = f"<title>{escape(p.series)} {p.when.isoformat()}: {escape(p.display)}</title>"
    return _shape(shape, classes, cx, cy, f'data-panel="{p.panel}" data-date="{p.when.isoformat()}"', title)


def _shape(shape: str, classes: str, cx: float, cy: float, attributes: str = "", inner: str = "") -> str:
    if shape == "circle":
        return f'<circle class="{classes}" {attributes} cx="{cx:.1f}" cy="{cy:.1f}" r="4.5">{inner}</circle>'
    if shape == "square":
        return (f'<rect class="{classes}" {attributes} x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8">'
                f'{inner}</rect>')
    if shape == "diamond":
        corners = f"{cx:.1f},{cy - 5.5:.1f} {cx + 5.5:.1f},{cy:.1f} {cx:.1f},{cy + 5.5:.1f} {cx - 5.5:.1f},{cy:.1f}"
    else:
        corners = f"{cx:.1f},{cy - 5.5:.1f} {cx + 5:.1f},{cy + 4.5:.1f} {cx - 5:.1f},{cy + 4.5:.1f}"
    return f'<polygon class="{classes}" {attributes} points="{corners}">{inner}</polygon>'


def _legend(shape: str, index: int, name: str, lx: float, ly: float) -> str:
    return (_shape(shape, f"legend-mark series-{index}", lx, ly) +
            f'<text class="legend" x="{lx + 9:.1f}" y="{ly + 4:.1f}">{escape(name)}</text>')


def _time_axis(start: date, end: date, x, bottom: float) -> list[str]:
    months = max(1, round((end - start).days / 30.44))
    step = 1 if months <= 8 else 2 if months <= 16 else 3 if months <= 30 else 6 if months <= 60 else 12
    out = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}"/>']
    tick = date(start.year, start.month, 1)
    while tick <= end:
        if tick >= start and (tick.month - 1) % step == 0:
            tx = x(tick)
            out.append(f'<line class="axis" x1="{tx:.1f}" x2="{tx:.1f}" y1="{bottom}" y2="{bottom + 5}"/>')
            out.append(f'<text class="tick" x="{tx:.1f}" y="{bottom + 18}" text-anchor="middle">'
                       f'{MONTHS[tick.month - 1]} {tick.year}</text>')
        tick = date(tick.year + tick.month // 12, tick.month % 12 + 1, 1)
    return out


def _events(timeline: Timeline, x, bottom: float) -> list[str]:
    out, last_x, row = [], -1e9, 0
    for event in timeline.events:
        ex = x(event.when)
        row = row + 1 if ex - last_x < 110 else 0  # close events: stagger their labels in rows
        last_x = ex
        label_y = 14 + 13 * (row % 3)
        out.append(f'<g class="event event-{event.kind}" data-date="{event.when.isoformat()}">'
                   f'<title>{escape(event.label)} {event.when.isoformat()}</title>'
                   f'<line x1="{ex:.1f}" x2="{ex:.1f}" y1="{label_y + 3}" y2="{bottom}" stroke-dasharray="2 3"/>'
                   f'<text x="{ex + 3:.1f}" y="{label_y}">{escape(event.label)}</text></g>')
    return out
