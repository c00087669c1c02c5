"""SPEC 3.7: answers too blank for a score are data; ``score_response`` says why."""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes.instruments.scoring import NotScorable, ScoringError, score, score_response

ODI_SECTIONS = ("pain_intensity", "personal_care", "lifting", "walking", "sitting",
                "standing", "sleeping", "sex_life", "social_life", "travelling")
PROMIS = {"global01": 3, "global02": 3, "global03": 2, "global04": 4, "global05": 3,
          "global09r": 2, "global06": 3, "global10r": 4, "global08r": 3, "global07r": 6}
EQ5D = {"mobility": 2, "self_care": 2, "usual_activities": 1, "pain_discomfort": 1,
        "anxiety_depression": 2}


def test_an_odi_with_two_blank_sections_is_not_scorable_with_the_studys_rule():
    answers = dict.fromkeys(ODI_SECTIONS, 2) | {"walking": None, "sex_life": None}
    scored = score_response("odi", answers)
    assert not scored.scorable
    assert scored.values == {"odi": None, "odi_band": None, "odi_answered": None}
    assert scored.not_scorable["odi"] == "2 sections unanswered; at most 1 allowed"
    assert scored.refusal == "odi: 2 sections unanswered; at most 1 allowed"


def test_the_form_still_hears_a_refusal_from_score():
    answers = dict.fromkeys(ODI_SECTIONS, 2) | {"walking": None, "sex_life": None}
    with pytest.raises(NotScorable):
        score("odi", answers)


def test_a_blank_pain_rating_and_an_incomplete_eq5d_state_name_the_item():
    assert score_response("nrs11", {"pain": None}).not_scorable == {"nrs": "pain unanswered"}
    eq5d = score_response("eq5d3l", EQ5D | {"mobility": None})
    assert not eq5d.scorable
    assert eq5d.not_scorable["eq5d_index_uk"] == (
        "mobility unanswered; all five dimensions are needed")


def test_a_promis_scale_missing_an_item_is_not_scorable_while_the_other_is_scored():
    scored = score_response("promis_gh", PROMIS | {"global03": None, "global01": None})
    assert scored.scorable and not scored.refusal
    # GMH: global02 3 + global04 4 + global05 3 + global10r 4 = 14 -> T 48.3 (scoring
    # manual, table 2); GPH lacks global03, and no scale is prorated (Hays 2009).
    assert scored.values["gmh_t"] == Fraction("48.3")
    assert scored.values["gph_t"] is None and scored.values["global01"] is None
    assert scored.not_scorable == {
        "gph_raw": "global03 unanswered; all four items are needed",
        "gph_t": "global03 unanswered; all four items are needed",
        "gph_se": "global03 unanswered; all four items are needed",
        "global01": "global01 unanswered",
    }
    # score() keeps its shape: the same keys, None where not scorable.
    assert score("promis_gh", PROMIS | {"global03": None})["gph_t"] is None


def test_an_eq5d_without_its_vas_is_scored_and_the_vas_named():
    scored = score_response("eq5d3l", EQ5D)
    assert scored.values["eq5d_state"] == "22112"
    assert scored.not_scorable == {"eq5d_vas": "vas unanswered"}


@pytest.mark.parametrize(("code", "answers"), [
    ("odi", {"walking": 7}),
    ("odi", {"flying": 1}),
    ("nrs11", {"pain": "4"}),
    ("promis_gh", {"global07r": 11}),
])
def test_a_bad_value_is_still_an_error(code, answers):
    with pytest.raises(ScoringError) as raised:
        score_response(code, answers)
    assert not isinstance(raised.value, NotScorable)
