"""NRS-11 pain: one item, 0-10 (Farrar 2001)."""

from __future__ import annotations

import pytest

from outcomes.instruments.scoring import ScoringError, score


@pytest.mark.parametrize("value", [0, 5, 10])
def test_the_rating_is_the_score(value):
    assert score("nrs11", {"pain": value}) == {"nrs": value}


@pytest.mark.parametrize(("answers", "message"), [
    ({}, "pain: unanswered"),
    ({"pain": None}, "pain: unanswered"),
    ({"pain": 11}, "pain: expected an integer 0-10, got 11"),
    ({"pain": 2.5}, "pain: expected an integer 0-10, got 2.5"),
    ({"ache": 2}, "ache: unknown item code for nrs11"),
])
def test_bad_answers_name_the_item(answers, message):
    with pytest.raises(ScoringError) as error:
        score("nrs11", answers)
    assert str(error.value) == message


def test_an_unknown_instrument_is_named():
    with pytest.raises(ScoringError) as error:
        score("sf36", {})
    assert str(error.value) == "instrument: unknown instrument 'sf36'"
