"""Blanks allowed as a study's mapping, score key to number, in scoring and in the form's
rules (pure: no database).

Reference: Fairbank JCT, Pynsent PB. Spine 2000;25(22):2940-52: the ODI is the points of
the answered sections over 5 x the sections answered, so 16 points over 9 sections is
16/45 = 35.56%.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.scoring import NotScorable, score, score_response
from outcomes.survey.completeness import blanks_allowed, missing_answers, skippable_items

ODI = INSTRUMENTS["odi"]
SECTIONS = ODI.item_codes
# 16 points; sex life (0 points) left blank: 16 over the 9 sections answered.
ODI_9 = {"pain_intensity": 2, "personal_care": 1, "lifting": 3, "walking": 1, "sitting": 2,
         "standing": 2, "sleeping": 1, "sex_life": None, "social_life": 2, "travelling": 2}


def test_a_study_that_allows_no_blank_makes_one_blank_section_not_scorable():
    with pytest.raises(NotScorable, match="odi: 1 section unanswered; none may be missing"):
        score("odi", ODI_9, max_missing={"odi": 0})
    found = score_response("odi", ODI_9, max_missing={"odi": 0})
    assert found.values["odi"] is None
    assert found.not_scorable["odi"] == "1 section unanswered; none may be missing"
    # Every instrument takes the study's mapping; the ODI's key leaves the others alone.
    assert score("nrs11", {"pain": 6}, max_missing={"odi": 0})["nrs"] == 6


@pytest.mark.parametrize("setting", [{}, {"nrs": 0, "gph_t": 0}, {"odi": 1}])
def test_without_the_odis_key_the_definitions_one_blank_section_is_allowed(setting):
    assert score("odi", ODI_9, max_missing=setting)["odi"] == Fraction(1600, 45)


def test_a_study_may_allow_more_blank_sections():
    two_blank = dict(ODI_9, walking=None)  # 15 points over 8 sections: 15/40 = 37.5%
    assert score("odi", two_blank, max_missing={"odi": 2})["odi"] == Fraction(75, 2)
    with pytest.raises(NotScorable, match="2 sections unanswered; at most 1 allowed"):
        score("odi", two_blank, max_missing={})


def test_the_odi_counts_all_ten_sections_and_allows_one_blank_by_default():
    # SPEC 3.1: the percent is over the sections answered; a study allows 1 unless it says.
    spec = ODI.score("odi")
    assert (spec.items, spec.max_missing) == (SECTIONS, 1)


@pytest.mark.parametrize(("setting", "allowed"), [({}, 1), ({"odi": 0}, 0), ({"odi": 3}, 3),
                                                  ({"nrs": 4}, 1)])
def test_the_odi_page_allows_the_studys_blanks_else_the_definitions(setting, allowed):
    assert blanks_allowed(ODI, setting) == allowed
    assert skippable_items(ODI, setting) == (frozenset(SECTIONS) if allowed else frozenset())
    gaps = missing_answers(ODI, ODI_9, max_missing=setting)
    assert [gap.code for gap in gaps] == ([] if allowed else ["sex_life"])
    # The other instruments' scores need every answer they use: no blank, whatever is set.
    for code in ("nrs11", "eq5d3l", "promis_gh"):
        definition = INSTRUMENTS[code]
        generous = setting | {spec.key: 5 for spec in definition.scores}
        assert blanks_allowed(definition, generous) == 0
        assert skippable_items(definition, generous) == frozenset()
