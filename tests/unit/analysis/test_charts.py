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


def test_several_series_are_told_apart_by_marker_as_well_as_colour_and_named():
    from outcomes.analysis.charts import lines_chart_svg

    svg = lines_chart_svg("ODI", ["Baseline", "3 months"],
                          {"BMC": [(40.0, 35.0, 45.0), (20.0, 15.0, 25.0)],
                           "Control": [42.0, 40.0]},
                          low=0, high=100, counts={"BMC": [10, 9], "Control": [11, 8]},
                          reference=(30.0, "MCID: the baseline mean \u2212 10"),
                          y_label="Mean ODI (lower is better)", x_label="Time point")
    # BMC's two points, and its marker in the legend and the n row; Control's squares.
    assert svg.count("<circle") == 2 + 1 + 1 and svg.count("<rect") == 2 + 1 + 1
    assert ">BMC<" in svg and ">Control<" in svg and ">Time point<" in svg
    assert ">MCID: the baseline mean \u2212 10<" in svg and 'stroke-dasharray="7 5"' in svg
    assert ">Mean ODI (lower is better)<" in svg
    for count in (">10<", ">9<", ">11<", ">8<"):
        assert count in svg


def test_gridlines_fall_on_round_values_within_the_range():
    from outcomes.analysis.charts import nice_ticks

    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(-0.594, 1) == [-0.5, 0, 0.5, 1]
    assert nice_ticks(16.2, 67.7) == [20, 30, 40, 50, 60]
    assert nice_ticks(-0.109, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1]


def test_the_flow_diagram_is_an_image_with_a_title_and_a_description_and_escapes_text():
    from outcomes.analysis.charts import FlowArm, FlowStage, flow_diagram_svg

    arms = [FlowArm("<b>A</b>", 3, [FlowStage("Baseline", 2, 1, 0, 0),
                                    FlowStage("3 months", 1, 0, 1, 1)],
                    ["Withdrawn: moved away (1)"], 1, ["Analysed", "2 with data"]),
            FlowArm("B", 2, [FlowStage("Baseline", 2, 0, 0, 0),
                             FlowStage("3 months", 0, 0, 0, 2)], [], 0, ["Analysed"])]
    svg = flow_diagram_svg("Flow", "5 enrolled & 2 arms", enrolled=5, arms=arms)
    assert 'role="img" aria-labelledby="flow-title flow-desc"' in svg
    assert '<title id="flow-title">Flow</title>' in svg
    assert '<desc id="flow-desc">5 enrolled &amp; 2 arms</desc>' in svg
    assert "<b>" not in svg and "&lt;b&gt;A&lt;/b&gt;" in svg
    from tests.htmltree import parse

    text = " ".join(t.text for t in parse(svg).find_all("text"))  # lines wrap in a box
    assert "3 months: 1 with data, 0 missed, 1 after leaving the study" in text
    assert ">1 not yet due<" in svg and ">2 not yet due<" in svg
    assert svg.count('stroke-dasharray="6 4"') == 4  # the pending boxes, apart
    assert ">Withdrawn: moved away (1)<" in svg
