"""Pictures as SVG strings: the stages on a timeline, and bar charts. Pure functions: data in, SVG out.

Every text that comes in is escaped here, so a caller may mark the returned string safe.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

QUALIFIERS = re.compile(r"[~?%]")
FAINT = 0.12  # the opacity a fuzzy bar fades to at its outer bound
OPEN = ("", "..")  # EDTF interval ends that are unknown or open


def esc(text) -> str:
    """Text escaped for SVG/HTML content and attribute values."""
    return escape(str(text), quote=True)


@dataclass(frozen=True)
class Span:
    """One row of the timeline: a stage with its EDTF value and outer bounds (end inclusive)."""

    key: str      # unique within the picture (used in element ids)
    label: str    # the row label, "1. the national intelligentsia"
    title: str    # the tooltip: the full label and the source's wording
    href: str
    edtf: str
    begin: date | None
    end: date | None


@dataclass(frozen=True)
class Extent:
    """Where a bar runs (start to stop, stop exclusive) and the part of it drawn solid."""

    start: date
    solid_start: date
    solid_end: date
    stop: date
    fuzzy_start: bool
    fuzzy_end: bool
    open_end: bool


def edtf_range(part: str) -> tuple[date, date]:
    """The first and last day an EDTF date can denote ('1925~', '196X', '1917-10'), qualifiers ignored."""
    fields = QUALIFIERS.sub("", part).split("-")
    year = fields[0]
    y0, y1 = int(year.replace("X", "0")), int(year.replace("X", "9"))
    month = fields[1] if len(fields) > 1 else "XX"
    m0, m1 = (1, 12) if "X" in month or int(month) > 12 else (int(month), int(month))
    day = fields[2] if len(fields) > 2 else "XX"
    first = date(y0, m0, 1 if "X" in day else int(day))
    last = date(y1, m1, calendar.monthrange(y1, m1)[1] if "X" in day else int(day))
    return first, last


def is_fuzzy(part: str) -> bool:
    """An approximate, uncertain, unspecified, unknown or open EDTF date."""
    return part in OPEN or bool(QUALIFIERS.search(part)) or "X" in part


def extent(edtf: str, begin: date | None, end: date | None, first: date, last: date) -> Extent:
    """The bar of a time-span: bounds from P82a/P82b, fading where the EDTF end is fuzzy or open."""
    a, b = edtf.split("/", 1) if "/" in edtf else (edtf, edtf)
    start = begin or first
    stop = end + timedelta(days=1) if end else last
    try:
        inner_start = _inner(a, b, start, at_start=True)
        inner_end = _inner(b, a, stop, at_start=False)
    except ValueError:  # not an EDTF date we can read: draw the bounds, solid
        return Extent(start, start, stop, stop, False, False, end is None)
    inner_start, inner_end = (min(max(d, start), stop) for d in (inner_start, inner_end))
    if inner_start > inner_end:  # e.g. '193X': some year of the decade, fading in and out
        inner_start = inner_end = inner_end + (inner_start - inner_end) / 2
    return Extent(start, inner_start, inner_end, stop, is_fuzzy(a) or begin is None,
                  is_fuzzy(b) or end is None, end is None)


def _inner(part: str, other: str, bound: date, at_start: bool) -> date:
    """Where the solid part of a bar begins (at_start) or ends (exclusive) for one EDTF end."""
    if part in OPEN:  # open or unknown: solid only over the other end's own dates
        if other in OPEN:
            return bound
        first, last = edtf_range(other)
        return first if at_start else last + timedelta(days=1)
    if not is_fuzzy(part):
        return bound
    first, last = edtf_range(part)
    if at_start:
        return last + timedelta(days=1) if "X" in part else first
    return first if "X" in part else last + timedelta(days=1)


# --- The timeline ---------------------------------------------------------------------------

LABEL_W, AXIS_W, RIGHT_W, ROW_H, BAR_H, HEAD_H = 360, 640, 80, 26, 14, 30


def timeline(groups: list[tuple[str, str, list[Span]]], first_year: int = 1917, last_year: int = 2025,
             title: str = "Timeline", desc: str = "", id_prefix: str = "timeline") -> str:
    """An SVG timeline: per group (heading, colour, spans) one row per span, x in years."""
    first, last = date(first_year, 1, 1), date(last_year + 1, 1, 1)
    height = 24 + sum(HEAD_H + ROW_H * len(spans) for _, _, spans in groups) + 24
    defs, body, y = [], [], 24
    for heading, colour, spans in groups:
        body.append(f'<text class="group" x="0" y="{y + 20}" font-weight="bold" fill="{esc(colour)}">{esc(heading)}</text>')
        y += HEAD_H
        for span in spans:
            box = extent(span.edtf, span.begin, span.end, first, last)
            gradient, fill = _fill(f"{id_prefix}-{span.key}", box, colour)
            defs.append(gradient)
            body.append(_row(span, box, fill, colour, y, first, last))
            y += ROW_H
    axis = _axis(first_year, last_year, first, last, height)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {LABEL_W + AXIS_W + RIGHT_W} {height}"'
            f' aria-labelledby="{id_prefix}-title {id_prefix}-desc">'
            f'<title id="{id_prefix}-title">{esc(title)}</title><desc id="{id_prefix}-desc">{esc(desc)}</desc>'
            f'<defs>{"".join(defs)}</defs>{axis}{"".join(body)}</svg>')


def _x(day: date, first: date, last: date) -> float:
    """The x position of a day on the axis."""
    return round(LABEL_W + AXIS_W * (day - first).days / (last - first).days, 1)


def _fill(gradient_id: str, box: Extent, colour: str) -> tuple[str, str]:
    """A linearGradient for a bar with a fuzzy or open end (and the fill that uses it), or a plain fill."""
    if not (box.fuzzy_start or box.fuzzy_end):
        return "", esc(colour)
    length = max((box.stop - box.start).days, 1)
    stops = [(0.0, FAINT if box.fuzzy_start else 1.0),
             ((box.solid_start - box.start).days / length, 1.0),
             ((box.solid_end - box.start).days / length, 1.0),
             (1.0, FAINT if box.fuzzy_end else 1.0)]
    marks = "".join(f'<stop offset="{offset:.4f}" stop-color="{esc(colour)}" stop-opacity="{opacity}"/>'
                    for offset, opacity in stops)
    return f'<linearGradient id="{esc(gradient_id)}" x1="0" x2="1" y1="0" y2="0">{marks}</linearGradient>', f"url(#{esc(gradient_id)})"


def _row(span: Span, box: Extent, fill: str, colour: str, y: int, first: date, last: date) -> str:
    """One row: the label, the linked bar with its title, and an 'ongoing' arrow for an open end."""
    x0, x1 = _x(box.start, first, last), _x(box.stop, first, last)
    top = y + (ROW_H - BAR_H) / 2
    parts = [f'<text class="row-label" x="4" y="{y + 17}">{esc(span.label)}</text>',
             f'<a href="{esc(span.href)}" class="stage"><title>{esc(span.title)}</title>'
             f'<rect x="{x0}" y="{top}" width="{max(x1 - x0, 2):.1f}" height="{BAR_H}" rx="3" fill="{fill}"'
             f' stroke="{esc(colour)}" stroke-width="0.5" stroke-opacity="0.5"/></a>']
    if box.open_end:
        mid = top + BAR_H / 2
        word = "ongoing" if span.edtf.endswith("..") else "end unknown"
        parts.append(f'<path class="open-end" d="M{x1 + 2},{mid - 6} L{x1 + 10},{mid} L{x1 + 2},{mid + 6} Z" fill="{esc(colour)}"/>'
                     f'<text class="open-end" x="{x1 + 13}" y="{mid + 4}" font-size="11">{word}</text>')
    return "".join(parts)


def _axis(first_year: int, last_year: int, first: date, last: date, height: int) -> str:
    """Decade ticks with light grid lines, labelled above and below."""
    marks = []
    for year in range(first_year + (-first_year) % 10, last_year + 1, 10):
        x = _x(date(year, 1, 1), first, last)
        marks.append(f'<line x1="{x}" x2="{x}" y1="18" y2="{height - 18}" stroke="#d9d9de" stroke-width="1"/>'
                     f'<text x="{x}" y="13" font-size="11" text-anchor="middle">{year}</text>'
                     f'<text x="{x}" y="{height - 4}" font-size="11" text-anchor="middle">{year}</text>')
    x0, x1 = _x(first, first, last), _x(last, first, last)
    edges = (f'<line x1="{x0}" x2="{x1}" y1="{height - 18}" y2="{height - 18}" stroke="#5f6368"/>'
             f'<text x="{x0 - 4}" y="{height - 4}" font-size="11" text-anchor="end" fill="#5f6368">{first_year}</text>'
             f'<text x="{x1 + 4}" y="{height - 4}" font-size="11" text-anchor="start" fill="#5f6368">{last_year}</text>')
    return f'<g class="axis" aria-hidden="true">{"".join(marks)}{edges}</g>'


# --- Bar charts -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    """One bar: a number (None where the source prints no figure) and the text shown beside it."""

    value: float | None
    text: str


CHART_LABEL_W, CHART_BAR_W, CHART_TEXT_W, CHART_BAR_H, CHART_GAP = 150, 280, 160, 17, 12


def bar_chart(title: str, desc: str, groups: list[tuple[str, list[Bar]]], series: list[tuple[str, str]],
              id_prefix: str, maximum: float | None = None) -> str:
    """A horizontal grouped bar chart: per group one bar per series (name, colour), numbers as text.

    `maximum` is the value of a full-length bar (default: the largest value), so that charts shown
    side by side can share a scale.
    """
    top = 28 if len(series) > 1 else 6
    group_h = CHART_BAR_H * len(series) + CHART_GAP
    height = top + group_h * len(groups) + 4
    scale = maximum or max([b.value for _, bars in groups for b in bars if b.value is not None] or [1]) or 1
    body, y = [], top
    for label, bars in groups:
        body.append(f'<text x="{CHART_LABEL_W - 6}" y="{y + CHART_BAR_H * len(series) / 2 + 4}" text-anchor="end"'
                    f' font-size="13">{esc(label)}</text>')
        for (name, colour), bar in zip(series, bars):
            body.append(_bar(label, name, colour, bar, y, scale))
            y += CHART_BAR_H
        y += CHART_GAP
    legend = _legend(series) if len(series) > 1 else ""
    width = CHART_LABEL_W + CHART_BAR_W + CHART_TEXT_W
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img"'
            f' aria-labelledby="{id_prefix}-title {id_prefix}-desc">'
            f'<title id="{id_prefix}-title">{esc(title)}</title><desc id="{id_prefix}-desc">{esc(desc)}</desc>'
            f'{legend}{"".join(body)}'
            f'<line x1="{CHART_LABEL_W}" x2="{CHART_LABEL_W}" y1="{top - 4}" y2="{height - 4}" stroke="#5f6368"/></svg>')


def _bar(group: str, name: str, colour: str, bar: Bar, y: int, scale: float) -> str:
    """One bar with its title and its number as text; no bar where there is no figure."""
    tooltip = f"<title>{esc(group)}, {esc(name)}: {esc(bar.text)}</title>" if name else f"<title>{esc(group)}: {esc(bar.text)}</title>"
    width = 0.0 if bar.value is None else max(CHART_BAR_W * bar.value / scale, 1.0)
    rect = (f'<rect x="{CHART_LABEL_W}" y="{y + 1}" width="{width:.1f}" height="{CHART_BAR_H - 2}" fill="{esc(colour)}">{tooltip}</rect>'
            if bar.value is not None else "")
    css = ' class="no-figure" fill="#5f6368"' if bar.value is None else ""
    return (f'{rect}<text x="{CHART_LABEL_W + width + 4:.1f}" y="{y + CHART_BAR_H - 4}" font-size="12"{css}>'
            f'{esc(bar.text)}</text>')


def _legend(series: list[tuple[str, str]]) -> str:
    """Coloured squares with the series names, above the bars."""
    items, x = [], CHART_LABEL_W
    for name, colour in series:
        items.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{esc(colour)}"/>'
                     f'<text x="{x + 16}" y="16" font-size="12">{esc(name)}</text>')
        x += 28 + 7 * len(name)
    return f'<g class="legend">{"".join(items)}</g>'
