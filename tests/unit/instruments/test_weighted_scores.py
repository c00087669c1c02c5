"""The ``weighted_scores`` method: a weighted sum of a file's other scores, standardized.

Each term is a weight × the mean of the z-scores ((value − mean) ÷ SD) of the scores it
names; the score is metric mean + metric SD × the sum of the terms (PROMIS-29's summary
scores: ``library/test_promis29.py``). The expected values below are worked by hand in
the comments, as fractions, never read from the engine.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from outcomes.instruments.definitions.files import (
    DefinitionError,
    definition_to_dict,
    parse_definition,
)
from outcomes.instruments.scoring import Unscored
from outcomes.instruments.scoring.engine import max_missing_problems, score_definition


def scale(code: str, low: int = 0, high: int = 10) -> dict:
    return {"code": code, "text": code, "kind": "scale", "min": low, "max": high}


def file(**summary) -> dict:
    """Three 0-10 items, each its own score (``sa`` lower is better), and ``w``:

    w = 50 + 10 × (0.5 × (sa − 2) ÷ 4  −  1.5 × mean((sb − 1) ÷ 2, (sc − 3) ÷ 3)).
    """
    entry = {"key": "w", "label": "Weighted", "method": "weighted_scores",
             "direction": "higher_is_better",
             "terms": [{"weight": 0.5, "scores": [{"score": "sa", "mean": 2, "sd": 4}]},
                       {"weight": -1.5, "scores": [{"score": "sb", "mean": 1, "sd": 2},
                                                   {"score": "sc", "mean": 3, "sd": 3}]}],
             "metric": {"mean": 50, "sd": 10}}
    entry.update(summary)
    return {"code": "wtest", "version": "1", "title": "Weighted test", "short_title": "W",
            "licence": "-", "source": "This test.",
            "items": [scale("a"), scale("b"), scale("c", 0, 4)],
            "scores": [{"key": "sa", "label": "A", "method": "sum", "items": ["a"],
                        "direction": "lower_is_better"},
                       {"key": "sb", "label": "B", "method": "sum", "items": ["b"],
                        "direction": "lower_is_better", "bands": [
                            {"upto": 4, "label": "low"}, {"upto": 10, "label": "high"}]},
                       {"key": "sc", "label": "C", "method": "sum", "items": ["c"],
                        "direction": "lower_is_better"},
                       entry]}


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_definition(data)
    return error.value.problems


def test_the_score_is_the_metric_over_the_weighted_mean_of_the_standardized_scores():
    result = score_definition(parse_definition(file()), {"a": 6, "b": 5, "c": 0})
    # sa: (6 − 2) ÷ 4 = 1, × 0.5 = 1/2. sb: (5 − 1) ÷ 2 = 2; sc: (0 − 3) ÷ 3 = −1; their
    # mean 1/2, × −1.5 = −3/4. Sum −1/4; 50 + 10 × −1/4 = 95/2.
    assert result["w"] == Fraction(95, 2)
    assert isinstance(result["w"], Fraction)


def test_the_value_is_exact_where_the_sd_has_no_short_decimal():
    data = file(terms=[{"weight": 1, "scores": [{"score": "sa", "mean": 2.31, "sd": 2.34}]}])
    result = score_definition(parse_definition(data), {"a": 3, "b": 0, "c": 0})
    # 50 + 10 × (3 − 2.31) ÷ 2.34 = 50 + 10 × 69/234 = 50 + 115/39 = 2065/39, a repeating
    # decimal (52.948717...), kept whole until it is shown.
    assert result["w"] == Fraction(2065, 39)


def test_without_a_metric_the_score_is_the_weighted_sum_of_z():
    data = file()
    del data["scores"][3]["metric"]
    result = score_definition(parse_definition(data), {"a": 6, "b": 5, "c": 0})
    assert result["w"] == Fraction(-1, 4)  # the sum above, on no metric (mean 0, SD 1)


def test_at_every_reference_mean_the_score_is_the_metric_mean():
    # sa at 2, and sb, sc at 1 and 3: every z is 0, so w is exactly 50.
    result = score_definition(parse_definition(file()), {"a": 2, "b": 1, "c": 3})
    assert result["w"] == 50


def test_a_score_it_reads_not_scorable_makes_it_not_scorable_naming_that_score():
    result = score_definition(parse_definition(file()), {"a": 6, "b": None, "c": 0})
    assert result["w"] == Unscored("sb not scorable (b unanswered)")
    # The scores it reads are scored, or not, as ever.
    assert (result["sa"], result["sc"]) == (6, 0)


def test_several_not_scorable_are_each_named():
    result = score_definition(parse_definition(file()), {"a": None, "b": None, "c": 1})
    assert result["w"] == Unscored("sa, sb not scorable (2 of the 3 scores it combines)")


def test_its_range_is_what_its_scores_can_reach_together():
    w = parse_definition(file()).score("w")
    # sa 0..10: z −1/2..2, × 0.5: −1/4..1. sb 0..10: z −1/2..9/2; sc 0..4: z −1..1/3;
    # their mean −3/4..29/12, × −1.5: −29/8..9/8. Sum −31/8..17/8; × 10 + 50: 45/4..285/4.
    assert (w.low, w.high) == (float(Fraction(45, 4)), float(Fraction(285, 4)))


def test_bands_and_a_given_range_apply_as_to_any_score():
    data = file(bands=[{"upto": 50, "label": "below"}, {"upto": 100, "label": "above"}],
                low=0, high=100)
    defn = parse_definition(data)
    assert (defn.score("w").low, defn.score("w").high) == (0, 100)
    result = score_definition(defn, {"a": 6, "b": 5, "c": 0})
    assert result["w_band"] == "below"  # 47.5
    narrower = file(low=20)
    assert problems(narrower) == ["scores[3].low: the score's range must contain what "
                                  "weighted_scores gives (11.25-71.25), got 20"]


def test_it_writes_back_out_as_it_was_read():
    defn = parse_definition(file())
    written = definition_to_dict(defn)
    assert written["scores"][3]["terms"] == file()["scores"][3]["terms"]
    assert written["scores"][3]["metric"] == {"mean": 50, "sd": 10}
    assert "low" not in written["scores"][3]  # implied by its terms: not written
    assert parse_definition(written) == defn


def test_a_study_cannot_set_blanks_for_it_only_for_the_scores_it_reads():
    defn = parse_definition(file())
    assert max_missing_problems(defn, {"w": 1}) == [
        "w: combines other scores (sa, sb, sc); set the allowance of a score it reads "
        "instead"]


def test_an_alert_may_name_it():
    data = file()
    data["alerts"] = [{"key": "low_w", "when": {"score": "w", "at_most": 30},
                       "staff_message": "W is low", "patient_message": "Thank you."}]
    assert parse_definition(data).alerts[0].score == "w"


def changed(path_and_value) -> dict:
    data = file()
    entry = data["scores"][3]
    *path, last = path_and_value[0]
    for step in path:
        entry = entry[step]
    if path_and_value[1] is KeyError:
        del entry[last]
    else:
        entry[last] = copy.deepcopy(path_and_value[1])
    return data


S = ["terms", 0, "scores", 0]


@pytest.mark.parametrize(("change", "problem"), [
    ((["terms", 1, "scores", 1, "score"], "sx"),
     'scores[3].terms[1].scores[1].score: no earlier score "sx"'),
    (([*S, "score"], "w"), "scores[3].terms[0].scores[0].score: a score cannot read itself"),
    (([*S, "score"], "sb_band"),
     'scores[3].terms[0].scores[0].score: "sb_band" is a band; name the score sb'),
    (([*S, "score"], 3), "scores[3].terms[0].scores[0].score: expected a score key, got 3"),
    (([*S, "score"], "sa_t"), 'scores[3].terms[0].scores[0].score: no earlier score "sa_t"'),
    ((["terms", 1, "scores", 1, "score"], "sb"),
     "scores[3].terms[1].scores[1].score: sb is also scores[3].terms[1].scores[0]'s: a "
     "score is read once"),
    ((["terms", 0, "weight"], "0.5"),
     'scores[3].terms[0].weight: expected a number, got "0.5"'),
    ((["terms", 0, "weight"], True), "scores[3].terms[0].weight: expected a number, got true"),
    ((["terms", 0, "weight"], 0),
     "scores[3].terms[0].weight: a weight of 0 adds nothing: leave the term out"),
    ((["terms", 0, "weight"], 0.12345678901),
     "scores[3].terms[0].weight: at most 10 decimal places (what the file keeps when "
     "written), got 0.12345678901"),
    ((["terms", 0, "weight"], KeyError), "scores[3].terms[0].weight: missing"),
    (([*S, "sd"], 0), "scores[3].terms[0].scores[0].sd: must be above 0, got 0"),
    (([*S, "sd"], -4), "scores[3].terms[0].scores[0].sd: must be above 0, got -4"),
    (([*S, "mean"], None), "scores[3].terms[0].scores[0].mean: expected a number, got null"),
    (([*S, "mean"], KeyError), "scores[3].terms[0].scores[0].mean: missing"),
    (([*S, "sdd"], 4), "scores[3].terms[0].scores[0].sdd: unknown key (did you mean 'sd'?)"),
    ((["terms", 0, "wieght"], 1), "scores[3].terms[0].wieght: unknown key (did you mean "
                                  "'weight'?)"),
    ((["terms", 0, "scores"], []), "scores[3].terms[0].scores: must not be empty"),
    ((["terms", 0, "scores"], "sa"), 'scores[3].terms[0].scores: expected a list, got "sa"'),
    ((["terms"], []), "scores[3].terms: must not be empty"),
    ((["terms"], KeyError),
     "scores[3].terms: missing (the scores it combines, with their weights)"),
    ((["terms", 0], 0.5), "scores[3].terms[0]: expected an object, got 0.5"),
    ((["metric", "sd"], 0), "scores[3].metric.sd: must be above 0, got 0"),
    ((["metric", "mean"], KeyError), "scores[3].metric.mean: missing"),
    ((["metric"], [50, 10]), "scores[3].metric: expected an object, got [50, 10]"),
    ((["items"], ["a"]), "scores[3].items: a weighted_scores score reads the scores its "
                         "terms name, not items: leave this out"),
    ((["from"], "sa"), "scores[3].from: a weighted_scores score reads the scores its "
                       "terms name, not items: leave this out"),
    ((["max_missing"], 1), "scores[3].max_missing: a weighted_scores score reads the "
                           "scores its terms name, not items: leave this out"),
    ((["table"], {"1": 1}), "scores[3].table: only a lookup or a value_set takes a table"),
    ((["direction"], KeyError),
     "scores[3].direction: missing (a reported score says which way is better)"),
])
def test_each_mistake_is_a_line_naming_its_key(change, problem):
    assert problem in problems(changed(change))


def test_a_later_score_is_refused_so_no_two_read_each_other():
    data = file()
    # Two weighted scores naming each other would be a cycle: the first may not read
    # the second, which comes after it.
    data["scores"].insert(3, {"key": "v", "label": "V", "method": "weighted_scores",
                              "direction": "higher_is_better",
                              "terms": [{"weight": 1, "scores": [
                                  {"score": "w", "mean": 0, "sd": 1}]}]})
    data["scores"][4]["terms"][0]["scores"][0]["score"] = "v"
    assert problems(data) == [
        'scores[3].terms[0].scores[0].score: "w" comes after this score: a weighted_scores '
        "score reads earlier scores (so none reads itself through others)"]


def test_a_weighted_score_may_read_an_earlier_weighted_score():
    data = file()
    data["scores"].append({"key": "v", "label": "V", "method": "weighted_scores",
                           "direction": "higher_is_better",
                           "terms": [{"weight": 2, "scores": [
                               {"score": "w", "mean": 50, "sd": 10}]}]})
    result = score_definition(parse_definition(data), {"a": 6, "b": 5, "c": 0})
    assert result["v"] == Fraction(-1, 2)  # 2 × (47.5 − 50) ÷ 10


def test_every_mistake_is_listed_at_once():
    data = file()
    data["scores"][3]["terms"][0]["weight"] = "x"
    data["scores"][3]["terms"][1]["scores"][0]["sd"] = 0
    data["scores"][3]["terms"][1]["scores"][1]["score"] = "nope"
    assert problems(data) == [
        'scores[3].terms[0].weight: expected a number, got "x"',
        "scores[3].terms[1].scores[0].sd: must be above 0, got 0",
        'scores[3].terms[1].scores[1].score: no earlier score "nope"']


def test_terms_or_metric_on_another_method_are_refused():
    data = file()
    data["scores"][0]["terms"] = []
    assert "scores[0].terms: only weighted_scores takes terms and metric" in problems(data)
    data = file()
    data["scores"][0]["metric"] = {"mean": 50, "sd": 10}
    assert "scores[0].metric: only weighted_scores takes terms and metric" in problems(data)


def test_a_count_or_lookup_cannot_read_it():
    data = file()
    data["scores"].append({"key": "n", "label": "N", "method": "answered_count",
                           "from": "w", "reported": False})
    assert problems(data) == ["scores[4].from: w combines other scores; it has no items "
                              "to count or raw sum to look up"]
    data["scores"][4].update(method="lookup", table={"1": 1})
    assert problems(data) == ["scores[4].from: w combines other scores; it has no items "
                              "to count or raw sum to look up"]


def test_a_text_score_cannot_be_combined():
    data = file()
    data["items"] += [scale(code, 1, 3) for code in ("mobility", "self_care",
                                                     "usual_activities", "pain_discomfort",
                                                     "anxiety_depression")]
    data["scores"].insert(3, {
        "key": "state", "label": "State", "method": "registered", "function": "eq5d3l_state",
        "items": ["mobility", "self_care", "usual_activities", "pain_discomfort",
                  "anxiety_depression"], "reported": False})
    data["scores"][4]["terms"][0]["scores"][0]["score"] = "state"
    assert problems(data) == ["scores[4].terms[0].scores[0].score: state gives text "
                              "(eq5d3l_state); only numbers combine"]


def chained(top: int = 5, sd: int = 7, **outer) -> dict:
    """``sa`` (one item, 0 to ``top``); ``wa`` = sa ÷ ``sd``, 0 to top/sd, a range with no
    short decimal; ``wb`` = sd × wa, which is sa again: exactly 0 to ``top``."""
    entry = {"key": "wb", "label": "WB", "method": "weighted_scores",
             "direction": "higher_is_better",
             "terms": [{"weight": sd, "scores": [{"score": "wa", "mean": 0, "sd": 1}]}]}
    entry.update(outer)
    return {"code": "chain", "version": "1", "title": "Chained", "short_title": "C",
            "licence": "-", "source": "This test.", "items": [scale("a", 0, top)],
            "scores": [{"key": "sa", "label": "A", "method": "sum", "items": ["a"],
                        "direction": "higher_is_better"},
                       {"key": "wa", "label": "WA", "method": "weighted_scores",
                        "direction": "higher_is_better",
                        "terms": [{"weight": 1, "scores": [
                            {"score": "sa", "mean": 0, "sd": sd}]}]},
                       entry]}


def test_a_score_reading_a_weighted_score_takes_its_range_exactly():
    # wa's range, 5/7, is held as the float 0.7142857142857143 (above 5/7); read back,
    # 7 × that made wb's highest 5.0000000000000001, and a band or a high at wb's true
    # highest, 5, was refused.
    banded = parse_definition(chained(bands=[{"upto": 2, "label": "low"},
                                             {"upto": 5, "label": "high"}]))
    assert (banded.score("wb").low, banded.score("wb").high) == (0, 5)
    assert score_definition(banded, {"a": 5})["wb_band"] == "high"  # 7 × 5/7 = 5
    assert parse_definition(chained(high=5)).score("wb").high == 5
    # Written out, the implied range is exact too: 1/3 is held as 0.3333333333333333
    # (below 1/3), 3 × that is 0.9999999999999999, which is not 1, and a "high": 1 was
    # written that the file never gave.
    for data in (chained(), chained(top=1, sd=3),
                 chained(bands=[{"upto": 5, "label": "any"}])):
        defn = parse_definition(data)
        written = definition_to_dict(defn)
        assert "high" not in written["scores"][2]  # implied by its terms, exactly
        assert parse_definition(written) == defn


DIMENSIONS = ["mobility", "self_care", "usual_activities", "pain_discomfort",
              "anxiety_depression"]


def reading_an_index(**index) -> dict:
    """``w`` = the EQ-5D-3L UK index, read from an unreported registered score, banded."""
    return {"code": "eqw", "version": "1", "title": "Index read", "short_title": "E",
            "licence": "-", "source": "This test.",
            "items": [scale(code, 1, 3) for code in DIMENSIONS],
            "scores": [{"key": "index", "label": "Index", "method": "registered",
                        "function": "eq5d3l_index_uk", "items": DIMENSIONS,
                        "reported": False, **index},
                       {"key": "w", "label": "W", "method": "weighted_scores",
                        "direction": "higher_is_better",
                        "terms": [{"weight": 1, "scores": [
                            {"score": "index", "mean": 0, "sd": 1}]}],
                        "bands": [{"upto": 0.5, "label": "poor"}]}]}


def test_a_score_without_a_range_cannot_be_read():
    # An unreported registered score need not give its range; read, it left w without
    # one, its bands unchecked: full health (index 1) was a ScoringError ("above its
    # last band") when answered, not a refusal when imported.
    assert problems(reading_an_index()) == [
        "scores[1].terms[0].scores[0].score: index has no range (a registered score "
        "gives its own): give its low and high"]
    # Given (Dolan 1997: -0.594 for 33333 to 1 for 11111), w's range and bands follow.
    assert problems(reading_an_index(low=-0.594, high=1)) == [
        "scores[1].bands: the last band ends at 0.5, below the score's highest value 1"]


def likert(**sum_score) -> dict:
    """``sa``: four 1-5 items summed, 4 to 20 (a study may allow blanks); ``w`` =
    −1 × (sa − 12) ÷ 4, −2 to 2, banded to its highest, 2 (sa at 4)."""
    entry = {"key": "sa", "label": "A", "method": "sum", "items": ["a1", "a2", "a3", "a4"],
             "direction": "lower_is_better"}
    entry.update(sum_score)
    return {"code": "likert", "version": "1", "title": "Likert", "short_title": "L",
            "licence": "-", "source": "This test.",
            "items": [scale(code, 1, 5) for code in ("a1", "a2", "a3", "a4")],
            "scores": [entry,
                       {"key": "w", "label": "W", "method": "weighted_scores",
                        "direction": "higher_is_better",
                        "terms": [{"weight": -1, "scores": [
                            {"score": "sa", "mean": 12, "sd": 4}]}],
                        "bands": [{"upto": 0, "label": "worse"},
                                  {"upto": 2, "label": "better"}]}]}


def test_a_study_cannot_let_a_sum_it_reads_go_beyond_the_range_it_follows():
    # With a blank allowed, sa of three 1s is 3, below the 4 w's range was derived
    # from; w was then 9/4, above its last band: a ScoringError on a valid response.
    defn = parse_definition(likert())
    assert (defn.score("w").low, defn.score("w").high) == (-2, 2)
    problem = ("sa: read by w (weighted_scores), whose range and bands follow sa's 4 to 20; "
               "with 1 blank sa reaches 3: must be 0, as its file allows")
    assert max_missing_problems(defn, {"sa": 1}) == [problem]
    with pytest.raises(ValueError, match="with 1 blank sa reaches 3"):
        score_definition(defn, {"a1": 1, "a2": 1, "a3": 1, "a4": None}, max_missing={"sa": 1})
    # Where the file allows a blank, w's range follows it (sa 3-20: w −2 to 9/4), and
    # a study may allow that one, not two.
    wider = likert(max_missing=1)
    wider["scores"][1]["bands"][1]["upto"] = 2.25
    defn = parse_definition(wider)
    assert defn.score("w").high == 2.25
    assert max_missing_problems(defn, {"sa": 1}) == []
    assert max_missing_problems(defn, {"sa": 2}) == [
        "sa: read by w (weighted_scores), whose range and bands follow sa's 3 to 20; with 2 "
        "blanks sa reaches 2: must be at most 1, as its file allows"]
    # Items from 0 (sa 0-16, w −1 to 3): fewer answers sum to no less than 0 and no
    # more than 16, so any allowance is fine.
    zero = likert()
    zero["items"] = [scale(code, 0, 4) for code in ("a1", "a2", "a3", "a4")]
    zero["scores"][1]["bands"][1]["upto"] = 3
    assert max_missing_problems(parse_definition(zero), {"sa": 3}) == []
    # Items below 0 (−5 to −1: sa −20 to −4, w = (sa + 12) ÷ 4, −2 to 2): fewer answers
    # sum higher, so a positive weight takes w above its last band.
    negative = likert()
    negative["items"] = [scale(code, -5, -1) for code in ("a1", "a2", "a3", "a4")]
    negative["scores"][1]["terms"] = [{"weight": 1, "scores": [
        {"score": "sa", "mean": -12, "sd": 4}]}]
    assert max_missing_problems(parse_definition(negative), {"sa": 1}) == [
        "sa: read by w (weighted_scores), whose range and bands follow sa's -20 to -4; "
        "with 1 blank sa reaches -3: must be 0, as its file allows"]


def test_nor_a_count_of_answers_it_reads():
    # n counts sa's answers: 3-4 with the file's one blank, 2-4 with a study's two.
    data = likert(max_missing=1)
    data["scores"][1] = {"key": "n", "label": "N", "method": "answered_count", "from": "sa",
                         "reported": False}
    data["scores"].append({"key": "w", "label": "W", "method": "weighted_scores",
                           "direction": "higher_is_better",
                           "terms": [{"weight": -1, "scores": [
                               {"score": "n", "mean": 0, "sd": 1}]}],
                           "bands": [{"upto": -3, "label": "all"}]})
    defn = parse_definition(data)
    assert max_missing_problems(defn, {"sa": 1}) == []
    assert max_missing_problems(defn, {"sa": 2}) == [
        "sa: its count n is read by w (weighted_scores), whose range and bands follow n's "
        "3 to 4; with 2 blanks n reaches 2: must be at most 1, as its file allows"]


def test_the_admin_words_a_negative_mean_as_a_plus_not_minus_minus():
    from types import SimpleNamespace as Term

    from outcomes.instruments.selectors import _term_text

    term = Term(weight="-0.5", scores=[Term(score="a", mean="-5", sd="2"),
                                       Term(score="b", mean="2.31", sd="2.34")])
    assert _term_text(None, term) == (
        "−0.5 × the mean of (a + 5) ÷ 2 and (b − 2.31) ÷ 2.34")
