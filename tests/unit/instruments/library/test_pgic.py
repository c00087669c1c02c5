"""PGIC: the seven-point CGI improvement item (Guy 1976) as the patient's rating of change."""

from __future__ import annotations

import pytest

from .library import load, score

GUY_1976 = ["Very much improved", "Much improved", "Minimally improved", "No change",
            "Minimally worse", "Much worse", "Very much worse"]
"""ECDEU Assessment Manual (1976), CGI item 2, codes 1-7 in this order."""


def test_the_options_are_guys_seven_points_coded_1_to_7():
    options = load("pgic.json").item("pgic").options
    assert [(o.value, o.label) for o in options] == list(enumerate(GUY_1976, 1))


@pytest.mark.parametrize(("answer", "band"), list(enumerate(
    [label.lower() for label in GUY_1976], 1)))
def test_each_rating_is_its_own_band(answer, band):
    result = score("pgic.json", {"pgic": answer})
    assert (result["pgic_rating"], result["pgic_rating_band"]) == (answer, band)


def test_much_improved_or_better_are_the_two_lowest_codes_and_lower_is_better():
    # Farrar 2001 counts "much" or "very much improved" as clinically important
    # improvement: codes 1 and 2, so "lower is better".
    defn = load("pgic.json")
    spec = next(s for s in defn.scores if s.key == "pgic_rating")
    assert spec.direction == "lower_is_better"
    assert [b for b in spec.bands][:2] == [(1, "very much improved"), (2, "much improved")]


def test_the_anchor_counts_much_improved_or_better_as_improved():
    # Farrar 2001: "much" (2) or "very much improved" (1) is the improvement that
    # matters; "minimally improved" (3) is not.
    anchor = next(s for s in load("pgic.json").scores if s.key == "pgic_rating").anchor
    assert (anchor.upto, anchor.from_, anchor.label) == (2, None, "much improved or better")
    assert [anchor.improved(v) for v in range(1, 8)] == [True, True] + [False] * 5
