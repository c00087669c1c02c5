"""ODI v2.1a scoring against Fairbank & Pynsent 2000 (Spine 25:2940-52)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.instruments.definitions import definition_for
from outcomes.instruments.scoring import ScoringError, score
from outcomes.instruments.scoring.base import paper_section_points

# The ODI's score as the engine computes it, from library/odi.json: its bands are the
# file's, and the engine names a score's band by this same method.
ODI = definition_for("odi").score("odi")
odi_band = ODI.band

SECTIONS = ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing",
            "sleeping", "sex_life", "social_life", "travelling")


def answers(points):
    return dict(zip(SECTIONS, points, strict=True))


def test_sixteen_points_over_ten_sections_is_32_percent():
    # Fairbank 2000, scoring note: "if all ten sections are completed ... 16 (total scored)
    # / 50 (total possible score) x 100 = 32%".
    result = score("odi", answers([2, 2, 2, 2, 2, 2, 2, 0, 1, 1]))
    assert result["odi"] == 32
    assert result["odi_answered"] == 10
    assert result["odi_band"] == "moderate"


def test_one_unanswered_section_shrinks_the_denominator():
    # Fairbank 2000: "if one section is missed ... 16 / 45 x 100 = 35.5%".
    result = score("odi", answers([2, 2, 2, 2, 2, 2, 2, None, 1, 1]))
    assert result["odi"] == Fraction(1600, 45)
    assert float(result["odi"]) == pytest.approx(35.56, abs=0.01)
    assert result["odi_answered"] == 9


def test_a_missing_key_counts_as_unanswered_like_null():
    full = answers([2, 2, 2, 2, 2, 2, 2, None, 1, 1])
    del full["sex_life"]
    assert score("odi", full)["odi"] == Fraction(1600, 45)


def test_two_unanswered_sections_are_not_scored_by_default():
    with pytest.raises(ScoringError) as error:
        score("odi", answers([2, 2, 2, 2, 2, 2, 2, None, None, 1]))
    assert str(error.value) == "odi: 2 sections unanswered; at most 1 allowed"


def test_a_study_may_allow_more_unanswered_sections():
    assert score("odi", answers([5, 5, 5, 5, 5, None, None, None, 5, 5]),
                 max_missing=3)["odi"] == 100


@pytest.mark.parametrize(("value", "band"), [
    (0, "minimal"), (20, "minimal"), (Fraction(2001, 100), "moderate"), (40, "moderate"),
    (Fraction(1600, 39), "severe"), (60, "severe"), (80, "crippled"), (82, "bed-bound"),
    (100, "bed-bound"),
])
def test_bands_are_upper_inclusive(value, band):
    # Fairbank 2000: 0-20% minimal, 21-40% moderate, 41-60% severe, 61-80% crippled,
    # 81-100% bed-bound.
    assert odi_band(value) == band


def test_paper_forms_with_two_statements_marked_score_the_higher():
    assert paper_section_points([1, 3]) == 3


@pytest.mark.parametrize(("item", "value", "message"), [
    ("walking", 7, "walking: expected an integer 0-5, got 7"),
    ("walking", -1, "walking: expected an integer 0-5, got -1"),
    ("lifting", True, "lifting: expected an integer 0-5, got True"),
    ("sitting", 3.0, "sitting: expected an integer 0-5, got 3.0"),
    ("sitting", "3", "sitting: expected an integer 0-5, got '3'"),
])
def test_invalid_values_are_refused_naming_the_item(item, value, message):
    bad = answers([1] * 10)
    bad[item] = value
    with pytest.raises(ScoringError) as error:
        score("odi", bad)
    assert str(error.value) == message
    assert error.value.item == item


def test_an_unknown_item_is_refused_by_name():
    with pytest.raises(ScoringError) as error:
        score("odi", {**answers([1] * 10), "jogging": 2})
    assert error.value.item == "jogging"
    assert "unknown item code" in str(error.value)


def test_answers_must_be_an_object():
    with pytest.raises(ScoringError) as error:
        score("odi", [1, 2, 3])
    assert error.value.item == "answers"


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=10, max_size=10))
def test_any_scorable_answers_give_an_odi_between_0_and_100(points):
    if points.count(None) > 1:
        with pytest.raises(ScoringError):
            score("odi", answers(points))
        return
    result = score("odi", answers(points))
    assert 0 <= result["odi"] <= 100
    given_points = [p for p in points if p is not None]
    assert result["odi"] * 5 * len(given_points) == 100 * sum(given_points)


def test_the_definitions_bands_are_the_scorers_bands():
    # The exports label the wide file's band columns from the definition; the scorer
    # names a score's band. Both from Fairbank 2000: upper-inclusive 20/40/60/80/100.
    from outcomes.instruments.definitions import INSTRUMENTS

    (spec,) = INSTRUMENTS["odi"].scores
    assert spec.bands == ODI.bands
    for value in (0, 20, Fraction(401, 10), 60, 80, Fraction(321, 4), 100):
        label = next(label for upto, label in spec.bands if value <= upto)
        assert label == odi_band(value)
