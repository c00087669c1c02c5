"""Server-side SVG charts: gaps for missing values, text escaped."""

from __future__ import annotations

from outcomes.analysis.charts import line_chart_svg


def test_a_missing_value_breaks_the_line_and_is_not_drawn():
    svg = line_chart_svg("ODI", ["baseline", "m1", "m3"], [40.0, None, 20.0], low=0, high=100)
    assert svg.count("<circle") == 2
    assert "<polyline" not in svg  # two isolated points, no segment across the gap


def test_a_full_series_is_one_line_through_every_point():
    svg = line_chart_svg("NRS", ["a", "b", "c"], [8.0, 5.0, 3.0], low=0, high=10)
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 3


def test_titles_and_labels_are_escaped():
    svg = line_chart_svg('<script>alert("x")</script>', ["<b>"], [1.0], low=0, high=2)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert 'role="img"' in svg
