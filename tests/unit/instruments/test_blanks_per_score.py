"""Which items the patient's form lets be blank: each score's allowance, not the page's.

``tests/data/instruments/blank_rules.json``: ``work`` (required, in no score); a1-a4 under
``sub_a`` (a prorated sum, 1 item may be blank; a4 asked only of those who work, a3 with a
"not applicable" answer); ``b1`` optional, scored alone (``rest_pain``, no blank allowed).

Worked by hand from the proration rule (the mean of the answered items × the items
asked): a2 = 1, a3 = 2 with a1 blank and a4 not asked is (1 + 2) / 2 × 3 = 4.5.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from outcomes.instruments.definitions.files import load_definition_file, parse_definition
from outcomes.instruments.scoring.base import NotScorable, Unscored
from outcomes.instruments.scoring.engine import score_definition
from outcomes.survey.completeness import Need, missing_answers, resume_number, skippable_items

FILE = Path(__file__).resolve().parents[2] / "data" / "instruments" / "blank_rules.json"
SUB_A = ("a1", "a2", "a3", "a4")


def blank_rules():
    return load_definition_file(FILE)


def without_b1():
    """The file without ``b1`` and its score: no score on the page allows no blank."""
    data = json.loads(FILE.read_text(encoding="utf-8"))
    data["items"] = [item for item in data["items"] if item["code"] != "b1"]
    data["scores"] = [score for score in data["scores"] if score["key"] != "rest_pain"]
    return parse_definition(data)


def needs(definition, answers, **setting):
    return [(m.code, m.need) for m in missing_answers(definition, answers,
                                                       max_missing=setting)]


# -- case A: a score's allowance holds though another score on the page allows none ----


def test_a_scores_items_may_be_skipped_where_it_allows_a_blank():
    assert skippable_items(blank_rules(), {}) == frozenset({*SUB_A, "b1"})


def test_one_item_of_a_score_allowing_one_blank_may_be_left_blank():
    answers = {"work": 0, "a1": None, "a2": 1, "a3": 2, "b1": None}
    assert needs(blank_rules(), answers) == []
    # ... and the engine scores it: (1 + 2) / 2 x 3 items asked = 4.5.
    assert score_definition(blank_rules(), answers)["sub_a"] == Fraction(9, 2)


def test_two_blank_in_a_score_allowing_one_needs_one_of_them():
    answers = {"work": 1, "a1": None, "a2": 1, "a3": 2, "a4": None, "b1": 4}
    gaps = missing_answers(blank_rules(), answers, max_missing={})
    assert [(g.code, g.need, g.allowed, g.blank, g.total) for g in gaps] == [
        ("a1", Need.FEWER_BLANKS, 1, 2, 4), ("a4", Need.FEWER_BLANKS, 1, 2, 4)]
    with pytest.raises(NotScorable):
        score_definition(blank_rules(), {**answers, "b1": None})


# -- case B: a required item in no score is always needed -------------------------------


@pytest.mark.parametrize("definition", [blank_rules, without_b1])
def test_a_required_item_in_no_score_must_be_answered(definition):
    definition = definition()
    assert "work" not in skippable_items(definition, {})
    answers = {"work": None, "a1": 1, "a2": 1, "a3": 2}
    assert needs(definition, answers) == [("work", Need.ANSWER)]
    assert resume_number([(definition, answers)], max_missing={}) == 1


# -- the study's own allowance (Study.max_missing), per score ---------------------------


def test_the_studys_allowance_for_a_score_is_that_scores():
    answers = {"work": 1, "a1": None, "a2": 1, "a3": 2, "a4": None, "b1": None}
    assert needs(blank_rules(), answers, sub_a=2) == []
    assert needs(blank_rules(), {**answers, "a4": 3}, sub_a=0) == [("a1", Need.ANSWER)]
    assert skippable_items(blank_rules(), {"sub_a": 0}) == frozenset({"b1"})
    # A value the engine would refuse is not taken: the file's own allowance holds.
    assert needs(blank_rules(), {**answers, "a4": 3}, sub_a=7) == []


# -- items not asked, and "not applicable", as the engine counts them -------------------


def test_an_item_not_asked_is_not_a_blank():
    # work = 0: a4 is not asked; a1 blank is the one blank sub_a allows.
    assert needs(blank_rules(), {"work": 0, "a1": None, "a2": 1, "a3": 2}) == []
    assert needs(blank_rules(), {"work": 0, "a1": None, "a2": None, "a3": 2}) == [
        ("a1", Need.FEWER_BLANKS), ("a2", Need.FEWER_BLANKS)]


def test_not_applicable_counts_against_the_scores_allowance():
    answers = {"work": 1, "a1": None, "a2": 1, "a3": 9, "a4": 2}
    gaps = missing_answers(blank_rules(), answers, max_missing={})
    assert [(g.code, g.need, g.allowed, g.blank, g.total, g.not_applicable)
            for g in gaps] == [("a1", Need.FEWER_BLANKS, 1, 2, 4, 1)]
    assert score_definition(blank_rules(), {**answers, "b1": 3})["sub_a"] == Unscored(
        "1 item unanswered and 1 not applicable; at most 1 allowed")
    # Answered, the N/A is the one item sub_a may be without: (1 + 2 + 2) / 3 x 4.
    assert needs(blank_rules(), {**answers, "a1": 2}) == []
    assert score_definition(blank_rules(), {**answers, "a1": 2, "b1": 3})["sub_a"] == (
        Fraction(20, 3))
