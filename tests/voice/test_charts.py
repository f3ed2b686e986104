import re
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation
from django.utils.safestring import SafeString

from yulan.voice.charts import bar_chart, line_chart, stacked_bar

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect")]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


ALL_CHARTS = [
    lambda label: bar_chart([(label, 3), ("B", 1)], title=label, unit=label),
    lambda label: line_chart([(label, 3), ("B", 1)], title=label, unit=label),
    lambda label: stacked_bar([(label, [(label, 2), ("ok", 1)])], title=label),
]


@pytest.mark.parametrize("draw", ALL_CHARTS)
def test_every_chart_is_an_accessible_svg_image(draw):
    svg = draw("Label")
    assert isinstance(svg, SafeString)
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+ \d+(\.\d+)?", root.get("viewBox"))
    title, desc = root[0], root[1]
    assert title.tag == f"{SVG}title" and title.text == "Label"
    assert desc.tag == f"{SVG}desc" and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # No outside assets.
    assert "href" not in svg and "url(" not in svg


@pytest.mark.parametrize("draw", ALL_CHARTS)
def test_labels_are_escaped(draw):
    evil = '<script>alert("x")</script> & "q"'
    svg = draw(evil)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert root[0].text == evil
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_ids_differ_between_charts_on_one_page():
    first = parse(bar_chart([("a", 1)], title="x"))
    second = parse(bar_chart([("a", 1)], title="x"))
    assert first[0].get("id") != second[0].get("id")


@pytest.mark.parametrize(
    "svg",
    [
        bar_chart([], title="Nothing"),
        line_chart([], title="Nothing"),
        stacked_bar([], title="Nothing"),
    ],
)
def test_empty_input_says_no_data(svg):
    root = parse(svg)
    assert "No data yet." in texts(root)
    assert root[0].text == "Nothing"


def test_bar_widths_are_proportional_to_values():
    root = parse(bar_chart([("a", 10), ("b", 5), ("c", 2.5), ("d", 0)], title="t"))
    widths = bars(root)
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.01)
    assert widths[2] == pytest.approx(widths[0] / 4, abs=0.01)
    assert widths[3] == 0
    assert "a" in texts(root) and "10" in texts(root)


def test_bar_values_carry_their_unit():
    root = parse(bar_chart([("a", 50), ("b", 12.5)], title="t", unit="%"))
    assert "50%" in texts(root) and "12.5%" in texts(root)
    root = parse(bar_chart([("a", 3)], title="t", unit="h"))
    assert "3 h" in texts(root)


def test_bar_chart_with_only_zeros_or_bad_numbers_draws_no_bar():
    root = parse(bar_chart([("a", 0), ("b", float("nan")), ("c", -2)], title="t"))
    assert bars(root) == [0, 0, 0]


def test_bar_chart_shows_at_most_max_rows_and_says_how_many_are_left():
    rows = [(f"row {i}", i) for i in range(1, 26)]
    root = parse(bar_chart(rows, title="t", max_rows=20))
    assert len(bars(root)) == 20
    assert "5 more not shown in the chart." in texts(root)
    assert "5 more" in root[1].text


def test_long_labels_are_shortened_in_the_drawing_but_complete_in_the_tooltip():
    label = "A very long community name " * 5
    root = parse(bar_chart([(label, 1)], title="t"))
    drawn = texts(root)[0]
    assert drawn.endswith("…") and len(drawn) < len(label)
    assert label.strip() in next(root.iter(f"{SVG}g")).find(f"{SVG}title").text


def test_numbers_follow_the_locale():
    with translation.override("de"):
        root = parse(bar_chart([("a", 1234.5)], title="t"))
    assert "1.234,5" in texts(root)


def test_line_chart_with_one_point_draws_a_dot_and_no_line():
    root = parse(line_chart([("2025-01", 4)], title="t"))
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    assert not list(root.iter(f"{SVG}polyline"))
    assert "2025-01" in texts(root)


def test_line_chart_draws_points_in_order_with_higher_values_higher_up():
    points = [("Jan", 1), ("Feb", 4), ("Mar", 2)]
    root = parse(line_chart(points, title="t", unit="h"))
    circles = list(root.iter(f"{SVG}circle"))
    xs = [float(c.get("cx")) for c in circles]
    ys = [float(c.get("cy")) for c in circles]
    assert xs == sorted(xs)
    assert ys[1] < ys[2] < ys[0]  # SVG y grows downwards
    assert len(root.find(f"{SVG}polyline").get("points").split()) == 3
    assert {"Jan", "Feb", "Mar", "4 h"} <= set(texts(root))
    assert root[1].text == "Jan: 1 h; Feb: 4 h; Mar: 2 h"


def test_line_chart_axis_starts_at_zero_and_names_at_least_first_and_last_period():
    points = [(f"W{i}", i) for i in range(1, 41)]
    root = parse(line_chart(points, title="t"))
    drawn = texts(root)
    assert "0" in drawn and "W1" in drawn and "W40" in drawn
    assert len([t for t in drawn if t.startswith("W")]) < 12


def test_line_chart_with_only_zeros_and_negative_values():
    parse(line_chart([("a", 0), ("b", 0)], title="t"))
    root = parse(line_chart([("a", -3), ("b", 2)], title="t"))
    assert any(t.startswith("-") for t in texts(root))


def test_stacked_bar_parts_are_proportional_and_share_colours_with_the_legend():
    rows = [
        ("Hongqiao", [("Open", 6), ("Answered", 2)]),
        ("Huacao", [("Answered", 4), ("Open", 0)]),
    ]
    root = parse(stacked_bar(rows, title="Status by community"))
    segments = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(segments) == 3  # a zero part is not drawn
    open_hq, answered_hq, answered_hc = (float(r.get("width")) for r in segments)
    assert answered_hq == pytest.approx(open_hq / 3, abs=0.01)
    assert answered_hc == pytest.approx(2 * answered_hq, abs=0.01)
    # The second bar starts where the first one's first part ends.
    assert float(segments[1].get("x")) == pytest.approx(open_hq, abs=0.01)
    # The same part has the same colour in every row, and the legend names it.
    assert segments[1].get("fill") == segments[2].get("fill") != segments[0].get("fill")
    legend = {
        g.find(f"{SVG}text").text: g.find(f"{SVG}rect").get("fill")
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "chart-legend"
    }
    assert legend == {"Open": segments[0].get("fill"), "Answered": segments[1].get("fill")}
    assert {"8", "4"} <= set(texts(root))  # the totals
    assert root[1].text == "Hongqiao: 8 (Open 6, Answered 2); Huacao: 4 (Answered 4)"
