"""Small charts drawn on the server as inline SVG: they need no script, print and go into PDFs
as they are, and scale with the page (a fixed viewBox, width 100%).

Each chart is an image with a title and a description that reads out its figures; the page
places the same figures in a table after it. All text is escaped here.

Colours: text in the site's ink colour; bars and lines at least 3:1 against white (most above
4.5:1), with white gaps between stacked segments so neighbours stay apart.
"""

import itertools
import math
from collections.abc import Iterable

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# One width for every chart; the height follows the content.
WIDTH = 400
FONT = "system-ui, 'Noto Sans', 'PingFang SC', 'Hiragino Sans', 'Malgun Gothic', sans-serif"
INK = "#1d2226"
MUTED = "#4a5560"
GRID = "#c9d1d8"
BAR = "#0b5394"
LINE = "#7a1f4a"
# For stacked segments, each at least 4.5:1 against white, in an order that keeps neighbours
# far apart in hue.
PALETTE = (
    "#0b5394",  # blue
    "#b3470a",  # orange
    "#1e6b34",  # green
    "#7a1f4a",  # plum
    "#5b3fa8",  # violet
    "#8a6d00",  # ochre
    "#0e6f7a",  # teal
    "#a1232b",  # red
    "#4a5560",  # grey
)
LABEL_CHARS = 48
LEGEND_CHARS = 22

_ids = itertools.count(1)


def _number(value: float) -> str:
    """A value as the reader's locale writes it: whole numbers without decimals, others with one
    or two."""
    if abs(value) >= 1e15:
        return formats.number_format(value, 0, use_l10n=True, force_grouping=True)
    if round(value, 2) == int(round(value, 2)):
        return formats.number_format(int(round(value, 2)), use_l10n=True, force_grouping=True)
    places = 1 if round(value, 1) == round(value, 2) else 2
    return formats.number_format(round(value, places), places, use_l10n=True, force_grouping=True)


def _with_unit(value: float, unit: str) -> str:
    text = _number(value)
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _finite(value: float | int | None) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _f(value: float) -> str:
    """A coordinate, short and without exponent."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _text(x: float, y: float, content: str, *, size: int = 15, anchor: str = "start", fill: str = INK) -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
        f"{escape(content)}</text>"
    )


def _svg(height: float, title: str, desc: str, body: Iterable[str], *, css_class: str) -> SafeString:
    n = next(_ids)
    title_id, desc_id = f"chart-{n}-title", f"chart-{n}-desc"
    return mark_safe(  # noqa: S308 - every piece of text above and here goes through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" font-family="{escape(FONT)}" '
        f'style="display:block;max-width:36rem;height:auto">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _empty(title: str, css_class: str) -> SafeString:
    message = _("No data yet.")
    return _svg(40, title, message, [_text(0, 26, message, fill=MUTED)], css_class=css_class)


def _summary(items: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"{label}: {value}" for label, value in items)


# --- horizontal bars ------------------------------------------------------------------------


def bar_chart(rows: list[tuple[str, float]], *, title: str, unit: str = "", max_rows: int = 20) -> SafeString:
    """One horizontal bar per row, longest for the largest value. Each row's label stands above
    its bar and its value at the bar's end. Rows past `max_rows` are left out and the chart
    says how many (the table after it has them all)."""
    if not rows:
        return _empty(title, "chart-bar")
    shown = [(str(label), _finite(value)) for label, value in rows[: max(1, max_rows)]]
    hidden = len(rows) - len(shown)
    top = max((value for _label, value in shown), default=0.0)
    value_room = 72  # the value text after the longest bar
    span = WIDTH - value_room
    row_h, bar_h = 44, 16
    body: list[str] = []
    y = 0.0
    for label, value in shown:
        width = span * value / top if top > 0 and value > 0 else 0.0
        value_text = _with_unit(value, unit)
        body.append(
            f'<g class="chart-row"><title>{escape(label)}: {escape(value_text)}</title>'
            + _text(0, y + 16, _short(label, LABEL_CHARS))
            + f'<rect x="0" y="{_f(y + 22)}" width="{_f(width)}" height="{bar_h}" fill="{BAR}"/>'
            + _text(width + 6, y + 22 + bar_h - 3, value_text, size=14)
            + "</g>"
        )
        y += row_h
    desc = _summary((label, _with_unit(value, unit)) for label, value in shown)
    if hidden:
        more = _("%(n)d more not shown in the chart.") % {"n": hidden}
        desc = f"{desc}. {more}"
        body.append(_text(0, y + 14, more, size=13, fill=MUTED))
        y += 22
    return _svg(max(y, 40), title, desc, body, css_class="chart-bar")


# --- a trend over periods ------------------------------------------------------------------------


def _nice_step(span: float, *, whole: bool) -> float:
    """A step of 1, 2 or 5 × 10ⁿ that cuts `span` into at most four parts (whole numbers only
    when the values are counts)."""
    if span <= 0:
        return 1.0
    raw = span / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw - 1e-12)
    return max(step, 1.0) if whole else step


def line_chart(points: list[tuple[str, float]], *, title: str, unit: str = "") -> SafeString:
    """Values over periods (oldest first) as a line with a dot per period, the value axis from
    zero (or from the lowest value, if below zero) and the period names along the bottom."""
    if not points:
        return _empty(title, "chart-line")
    values = [_finite(value) for _label, value in points]
    labels = [str(label) for label, _value in points]
    height = 240.0
    left, right, top, bottom = 52.0, 16.0, 20.0, 40.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    whole = all(value == int(value) for value in values)
    step = _nice_step(max(max(values), 0.0) - min(min(values), 0.0), whole=whole)
    high = step * max(1, math.ceil(max(max(values), 0.0) / step - 1e-9))
    low = -step * math.ceil(-min(min(values), 0.0) / step - 1e-9) if min(values) < 0 else 0.0

    def y_of(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    def x_of(i: int) -> float:
        return left + plot_w / 2 if len(values) == 1 else left + plot_w * i / (len(values) - 1)

    body: list[str] = []
    # The value axis: a line and a value at each step.
    for k in range(round((high - low) / step) + 1):
        value = low + step * k
        y = y_of(value)
        colour = MUTED if abs(value) < step / 2 else GRID
        body.append(f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(WIDTH - right)}" y2="{_f(y)}" stroke="{colour}"/>')
        body.append(_text(left - 6, y + 4, _with_unit(value, unit), size=13, anchor="end", fill=MUTED))
    # The periods: as many names as fit, always the first and the last.
    fit = max(2, int(plot_w // 56))
    every = max(1, math.ceil(len(labels) / fit))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            if i != len(labels) - 1 and len(labels) - 1 - i < every:
                continue  # too close to the last one, which is always named
            anchor = "middle"
            if len(labels) > 1 and i == 0:
                anchor = "start"
            elif len(labels) > 1 and i == len(labels) - 1:
                anchor = "end"
            body.append(_text(x_of(i), height - bottom + 18, _short(label, 12), size=13, anchor=anchor, fill=MUTED))
    if len(values) > 1:
        path = " ".join(f"{_f(x_of(i))},{_f(y_of(v))}" for i, v in enumerate(values))
        body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    label_values = len(values) <= 12
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x, y = x_of(i), y_of(value)
        value_text = _with_unit(value, unit)
        body.append(
            f'<g class="chart-point"><title>{escape(label)}: {escape(value_text)}</title>'
            f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{LINE}"/></g>'
        )
        if label_values or i == len(values) - 1:
            anchor = "end" if i == len(values) - 1 and len(values) > 1 else "middle"
            if len(values) > 1 and i == 0:
                anchor = "start"
            body.append(_text(x, y - 9, value_text, size=13, anchor=anchor))
    desc = _summary((label, _with_unit(value, unit)) for label, value in zip(labels, values, strict=True))
    return _svg(height, title, desc, body, css_class="chart-line")


# --- stacked bars -------------------------------------------------------------------------


def stacked_bar(rows: list[tuple[str, list[tuple[str, float]]]], *, title: str) -> SafeString:
    """One bar per row, split into its parts (e.g. items by status per community); the longest
    bar is the largest total, and the total stands at its end. A part keeps its colour in every
    row; the legend below names the colours."""
    if not rows:
        return _empty(title, "chart-stacked")
    series: list[str] = []
    cleaned: list[tuple[str, list[tuple[str, float]]]] = []
    for label, parts in rows:
        kept = []
        for name, value in parts:
            name = str(name)
            if name not in series:
                series.append(name)
            kept.append((name, max(_finite(value), 0.0)))
        cleaned.append((str(label), kept))
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    totals = [sum(value for _name, value in parts) for _label, parts in cleaned]
    top = max(totals, default=0.0)
    value_room = 64
    span = WIDTH - value_room
    row_h, bar_h = 44, 18
    body: list[str] = []
    y = 0.0
    for (label, parts), total in zip(cleaned, totals, strict=True):
        body.append(f'<g class="chart-row"><title>{escape(label)}: {escape(_number(total))}</title>')
        body.append(_text(0, y + 16, _short(label, LABEL_CHARS)))
        x = 0.0
        for name, value in parts:
            if value <= 0 or top <= 0:
                continue
            width = span * value / top
            body.append(
                f'<rect x="{_f(x)}" y="{_f(y + 22)}" width="{_f(width)}" height="{bar_h}" fill="{colour[name]}" '
                f'stroke="#ffffff" stroke-width="1.5"><title>{escape(label)} · {escape(name)}: '
                f"{escape(_number(value))}</title></rect>"
            )
            x += width
        body.append(_text(x + 6, y + 22 + bar_h - 4, _number(total), size=14))
        body.append("</g>")
        y += row_h
    # The legend: two columns of a swatch and a name.
    y += 6
    col_w = WIDTH / 2
    for i, name in enumerate(series):
        lx = (i % 2) * col_w
        ly = y + (i // 2) * 24
        body.append(
            f'<g class="chart-legend"><rect x="{_f(lx)}" y="{_f(ly)}" width="14" height="14" '
            f'fill="{colour[name]}"/>' + _text(lx + 20, ly + 12, _short(name, LEGEND_CHARS), size=14) + "</g>"
        )
    y += math.ceil(len(series) / 2) * 24
    desc = "; ".join(
        f"{label}: {_number(total)} ("
        + ", ".join(f"{name} {_number(value)}" for name, value in parts if value > 0)
        + ")"
        for (label, parts), total in zip(cleaned, totals, strict=True)
    )
    return _svg(max(y, 40), title, desc, body, css_class="chart-stacked")
