"""The built-in library's files say what SPEC section 3 says: items, answers, scores.

SPEC 3.1-3.4 are the oracle here (themselves taken from the instruments' sources); each
file is read as a data manager would load it, and checked against the text, not against
the engine.
"""

from __future__ import annotations

import pytest

from outcomes.instruments.definitions import INSTRUMENTS, LIBRARY
from outcomes.instruments.definitions.files import load_definition_file
from outcomes.instruments.scoring import NUMERIC_SCORE_KEYS, SCORE_KEYS, SCORING_VERSIONS


def from_file(code):
    return load_definition_file(LIBRARY / f"{code}.json")


def test_odi_ten_sections_of_six_statements_scored_0_to_5_in_order():
    # SPEC 3.1 (Fairbank 2000): the ten sections, each scored 0 (first) to 5 (last).
    odi = from_file("odi")
    assert odi.item_codes == ("pain_intensity", "personal_care", "lifting", "walking",
                              "sitting", "standing", "sleeping", "sex_life", "social_life",
                              "travelling")
    for item in odi.items:
        assert item.kind == "choice"
        assert [o.value for o in item.options] == [0, 1, 2, 3, 4, 5]
    (spec,) = odi.scores
    assert (spec.key, spec.method, spec.max_missing, spec.direction, spec.unit) == (
        "odi", "percent_of_max", 1, "lower_is_better", "%")
    # Bands upper-inclusive: <=20 minimal, <=40 moderate, <=60 severe, <=80 crippled.
    assert spec.bands == ((20, "minimal"), (40, "moderate"), (60, "severe"),
                          (80, "crippled"), (100, "bed-bound"))


def test_nrs_is_one_item_0_to_10_anchored_at_both_ends():
    # SPEC 3.2: 0 = no pain ... 10 = worst possible pain.
    nrs = from_file("nrs11")
    (item,) = nrs.items
    assert (item.code, item.kind, item.min_value, item.max_value) == ("pain", "scale", 0, 10)
    assert {o.value: o.label for o in item.options} == {0: "No pain",
                                                        10: "Worst possible pain"}


def test_eq5d_five_dimensions_at_three_levels_and_the_vas():
    # SPEC 3.3: five dimensions, levels 1-3 (1 = no problems), and the EQ VAS 0-100.
    eq5d = from_file("eq5d3l")
    assert eq5d.item_codes == ("mobility", "self_care", "usual_activities",
                               "pain_discomfort", "anxiety_depression", "vas")
    for item in eq5d.items[:5]:
        assert [o.value for o in item.options] == [1, 2, 3]
        assert item.options[0].label.startswith(("No ", "Not "))
    vas = eq5d.item("vas")
    assert (vas.kind, vas.min_value, vas.max_value) == ("scale", 0, 100)
    assert {o.value: o.label for o in vas.options} == {0: "Worst imaginable health",
                                                       100: "Best imaginable health"}
    assert [(s.key, s.low, s.high, s.decimals) for s in eq5d.scores] == [
        ("eq5d_index_uk", -0.594, 1, 3), ("eq5d_index_us", -0.109, 1, 3),
        ("eq5d_vas", 0, 100, 1)]


def test_promis_items_in_form_order_with_the_v1_2_response_scores():
    # SPEC 3.4: form order 01, 02, 03, 04, 05, 09r, 06, 10r, 08r, 07r; Excellent 5 ... Poor 1,
    # Completely 5 ... Not at all 1, Never 5 ... Always 1, None 5 ... Very severe 1; pain 0-10.
    promis = from_file("promis_gh")
    assert promis.item_codes == ("global01", "global02", "global03", "global04", "global05",
                                 "global09r", "global06", "global10r", "global08r",
                                 "global07r")
    scales = {
        "Excellent": ["Excellent", "Very good", "Good", "Fair", "Poor"],
        "Completely": ["Completely", "Mostly", "Moderately", "A little", "Not at all"],
        "Never": ["Never", "Rarely", "Sometimes", "Often", "Always"],
        "None": ["None", "Mild", "Moderate", "Severe", "Very severe"],
    }
    for item in promis.items[:-1]:
        labels = [o.label for o in item.options]
        assert labels == scales[labels[0]]
        assert [o.value for o in item.options] == [5, 4, 3, 2, 1]
    pain = promis.item("global07r")
    assert (pain.kind, pain.min_value, pain.max_value) == ("scale", 0, 10)
    # Global07r rescored: 0 -> 5; 1-3 -> 4; 4-6 -> 3; 7-9 -> 2; 10 -> 1.
    recode = dict(dict(promis.score("gph_raw").recode)["global07r"])
    assert recode == {0: 5, 1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 7: 2, 8: 2, 9: 2, 10: 1}
    assert promis.score("gph_raw").items == ("global03", "global06", "global07r", "global08r")
    assert promis.score("gmh_raw").items == ("global02", "global04", "global05", "global10r")


def test_the_registries_are_the_files_output_keys():
    # SPEC 3.1-3.4's score output keys, in order.
    assert dict(SCORE_KEYS) == {
        "eq5d3l": ("eq5d_state", "eq5d_index_uk", "eq5d_index_us", "eq5d_vas"),
        "nrs11": ("nrs",),
        "odi": ("odi", "odi_band", "odi_answered"),
        "promis_gh": ("gph_raw", "gph_t", "gph_se", "gmh_raw", "gmh_t", "gmh_se",
                      "global01", "global09r"),
    }
    assert set(NUMERIC_SCORE_KEYS) == {key for keys in SCORE_KEYS.values()
                                       for key in keys} - {"odi_band", "eq5d_state"}
    assert dict(SCORING_VERSIONS) == dict.fromkeys(INSTRUMENTS, "1")


@pytest.mark.parametrize("code", ["odi", "nrs11", "eq5d3l", "promis_gh"])
def test_every_file_states_its_licence_and_cites_its_source(code):
    definition = from_file(code)
    assert definition.licence.strip() and definition.source.strip()
    assert any(year in definition.source for year in ("1990", "1997", "2000", "2001",
                                                      "2009"))
