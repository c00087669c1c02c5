"""Conditional items (``enable_when``) and "not applicable" options (docs/instruments.md).

Reference values are worked by hand from the methods' published rules: the ODI's (Fairbank
JCT, Pynsent PB. Spine 2000;25(22):2940-52: points ÷ (5 × sections answered) × 100, a
section that does not apply counted as not answered; 16 points over 9 sections = 35.56%),
and the proration rule (mean of the answered items × the items).
"""

from __future__ import annotations

import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest

from outcomes.instruments.definitions import LIBRARY
from outcomes.instruments.definitions.base import disabled_items
from outcomes.instruments.definitions.files import (
    DefinitionError,
    definition_to_dict,
    load_definition_file,
    parse_definition,
    read_definition_file,
)
from outcomes.instruments.scoring.base import NotScorable, ScoringError, Unscored
from outcomes.instruments.scoring.engine import score_definition
from outcomes.survey.completeness import missing_answers, resume_number

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
MOBILITY = DATA / "mobility_aid.json"


def mobility():
    return load_definition_file(MOBILITY)


def raw_mobility() -> dict:
    return json.loads(MOBILITY.read_text(encoding="utf-8"))


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return caught.value.problems


def choice(code, values, **extra):
    return {"code": code, "text": code.title(), "kind": "choice",
            "options": [{"value": v, "label": f"{code} {v}"} for v in values], **extra}


def small(items, scores) -> dict:
    return {"code": "small", "version": "1", "title": "Small", "short_title": "Small",
            "licence": "test", "source": "test", "items": items, "scores": scores}


def odi_with_sex_life_not_applicable():
    """The library's ODI, with the answer "not applicable" on its sex-life section."""
    data = read_definition_file(LIBRARY / "odi.json")
    data = copy.deepcopy(data)
    for item in data["items"]:
        if item["code"] == "sex_life":
            item["options"].append({"value": 9, "label": "Not applicable",
                                    "not_applicable": True})
    return parse_definition(data)


# -- the file ---------------------------------------------------------------------------


def test_the_test_file_parses_and_writes_back_the_same():
    definition = mobility()
    assert parse_definition(definition_to_dict(definition)) == definition
    assert definition.item("aid_type").enable_when.item == "uses_aid"
    assert definition.item("driving").not_applicable_values == {9}
    # The item's range is its scored answers': 0-5, not 0-9.
    assert (definition.item("driving").min_value, definition.item("driving").max_value) == (0, 5)


@pytest.mark.parametrize("condition", [
    {"item": "a", "answer": [0, 2]},
    {"item": "a", "operator": "!=", "answer": 0},
    {"item": "a", "operator": "!=", "answer": [0, 1]},
    {"item": "a", "operator": "exists"},
    {"item": "a", "operator": "exists", "answer": False},
])
def test_every_kind_of_condition_round_trips(condition):
    data = small([choice("a", [0, 1, 2]), choice("b", [0, 1], enable_when=condition)],
                 [{"key": "small_b", "label": "B", "method": "sum", "items": ["b"],
                   "direction": "lower_is_better"}])
    definition = parse_definition(data)
    assert parse_definition(definition_to_dict(definition)) == definition
    assert definition_to_dict(definition)["items"][1]["enable_when"] == (
        {k: v for k, v in condition.items() if v != [0, 2]} | (
            {"answer": [0, 2]} if condition.get("answer") == [0, 2] else {}))


def test_a_condition_names_an_earlier_existing_item_with_one_of_its_answers():
    data = small([
        choice("a", [0, 1]),
        choice("b", [0, 1], enable_when={"item": "b", "answer": 1}),
        choice("c", [0, 1], enable_when={"item": "nope", "answer": 1}),
        choice("d", [0, 1], enable_when={"item": "a", "answer": 2}),
        choice("e", [0, 1], enable_when={"item": "a", "operator": "<", "answer": 1}),
        choice("f", [0, 1], enable_when={"item": "a"}),
        choice("g", [0, 1], enable_when={"item": "a", "answer": [1, 1]}),
        choice("h", [0, 1], enable_when={"item": "a", "answer": 1, "answers": 1}),
        choice("i", [0, 1], enable_when={"item": "j", "answer": 1}),
        choice("j", [0, 1]),
    ], [{"key": "small_a", "label": "A", "method": "sum", "items": ["a"],
         "direction": "lower_is_better"}])
    assert problems(data) == [
        "items[1].enable_when.item: an item cannot be asked on a condition of its own answer",
        "items[2].enable_when.item: no item 'nope'",
        "items[3].enable_when.answer: 2 is not an answer of a (0, 1)",
        "items[4].enable_when.operator: must be '=', '!=' or 'exists', got \"<\"",
        "items[5].enable_when.answer: missing (the answer of a the item depends on, or a list)",
        "items[6].enable_when.answer: 1 is listed twice",
        "items[7].enable_when.answers: unknown key (did you mean 'answer'?)",
        "items[8].enable_when.item: 'j' comes after this item: a condition names an "
        "earlier item",
    ]


def test_a_scale_condition_takes_a_number_of_its_range():
    data = small([{"code": "pain", "text": "Pain", "kind": "scale", "min": 0, "max": 10},
                  choice("b", [0, 1], enable_when={"item": "pain", "answer": 11})],
                 [{"key": "small_p", "label": "P", "method": "sum", "items": ["pain"],
                   "direction": "lower_is_better"}])
    assert problems(data) == ["items[1].enable_when.answer: 11 is not an answer of pain (0-10)"]


def test_a_not_applicable_answer_lies_outside_the_scored_values_of_a_choice():
    na = {"value": 2, "label": "Does not apply", "not_applicable": True}
    data = small([
        {**choice("a", [0, 1, 3]), "options": [*choice("a", [0, 1, 3])["options"], na]},
        {**choice("b", [0]), "options": [*choice("b", [0])["options"],
                                         {**na, "value": 9}]},
        {"code": "c", "text": "C", "kind": "scale", "min": 0, "max": 10,
         "options": [{"value": 0, "label": "None", "not_applicable": True}]},
        {**choice("d", [0, 1]), "options": [*choice("d", [0, 1])["options"],
                                            {**na, "value": 9, "not_applicable": "yes"}]},
    ], [{"key": "small_s", "label": "S", "method": "sum", "items": ["a"],
         "direction": "lower_is_better"}])
    assert problems(data) == [
        "items[0].options[3].value: a 'not applicable' answer lies outside the scored values "
        "(0-3), so no one reads it as a score; got 2",
        "items[1].options: a choice item needs at least 2 options that are scored (not "
        "'not applicable')",
        "items[2].options[0].not_applicable: only a choice item's options may be 'not "
        "applicable' (a scale item's options label its numbers)",
        "items[3].options[2].not_applicable: expected true or false, got \"yes\"",
    ]


def test_a_score_needing_every_item_refuses_conditional_and_not_applicable_items():
    data = raw_mobility()
    data["scores"] += [
        {"key": "mobaid_raw", "label": "Raw", "method": "sum", "reported": False,
         "items": ["stairs", "driving"]},
        {"key": "mobaid_t", "label": "T", "method": "lookup", "from": "mobaid_raw",
         "direction": "lower_is_better", "table": {str(n): n for n in range(11)}},
        {"key": "mobaid_lookup", "label": "L", "method": "lookup", "items": ["aid_walking"],
         "direction": "lower_is_better", "table": {str(n): n for n in range(6)}},
        {"key": "mobaid_recoded", "label": "R", "method": "sum", "items": ["driving"],
         "direction": "lower_is_better",
         "recode": {"driving": {"0": 0, "1": 0, "2": 1, "3": 1, "4": 2, "5": 2, "9": 0}}},
    ]
    assert problems(data) == [
        "scores[3].from: a lookup needs every item; mobaid_raw's driving has a 'not "
        "applicable' answer, which is not scored",
        "scores[4].items: a lookup needs every item; aid_walking is asked only when uses_aid "
        "allows it",
        "scores[5].recode.driving.9: 9 is driving's 'not applicable' answer, which is never "
        "scored: leave it out",
    ]


def test_a_recode_needs_every_scored_answer_and_no_more():
    data = raw_mobility()
    data["scores"].append({
        "key": "mobaid_recoded", "label": "R", "method": "sum", "items": ["driving"],
        "direction": "lower_is_better",
        "recode": {"driving": {"0": 0, "1": 0, "2": 1, "3": 1, "4": 2, "5": 2}}})
    recoded = parse_definition(data).score("mobaid_recoded")
    assert (recoded.low, recoded.high) == (0, 2)


def test_a_sum_over_conditional_items_may_be_lower_than_every_item_answered():
    # aid_walking (0-5) asked only with an aid, stairs (0-5) always: a sum of one or both.
    data = raw_mobility()
    data["scores"].append({"key": "mobaid_sum", "label": "S", "method": "sum",
                           "items": ["aid_walking", "stairs"], "direction": "lower_is_better"})
    for number in (2, 3):  # both 1-6
        data["items"][number]["options"] = [{"value": v, "label": f"answer {v}"}
                                            for v in range(1, 7)]
    total = parse_definition(data).score("mobaid_sum")
    assert (total.low, total.high) == (1, 12)  # stairs alone at least 1; both at most 12
    answered = mobility().score("mobaid_answered")
    assert (answered.low, answered.high) == (2, 4)  # 4 items, 1 may be blank, 1 not asked


# -- which items are asked ---------------------------------------------------------------


def test_a_chain_reads_an_item_not_asked_as_blank():
    data = small([
        choice("a", [0, 1]),
        choice("b", [0, 1], enable_when={"item": "a", "answer": 1}),
        choice("c", [0, 1], enable_when={"item": "b", "operator": "exists", "answer": False}),
        choice("d", [0, 1], enable_when={"item": "b", "operator": "!=", "answer": 0}),
    ], [{"key": "small_a", "label": "A", "method": "sum", "items": ["a"],
         "direction": "lower_is_better"}])
    definition = parse_definition(data)
    # a = 0: b is not asked, so it counts as blank, whatever was sent for it.
    assert disabled_items(definition, {"a": 0, "b": 1}) == {"b", "d"}
    assert disabled_items(definition, {"a": 1, "b": 1}) == {"c"}
    assert disabled_items(definition, {"a": 1, "b": 0}) == {"c", "d"}
    assert disabled_items(definition, {"a": 1}) == {"d"}  # b blank: c asked, d not


def test_a_required_item_not_asked_is_never_missing_and_not_applicable_is_an_answer():
    definition = mobility()
    answers = {"uses_aid": 0, "stairs": 1, "driving": 9, "shopping": 2}
    assert missing_answers(definition, answers, max_missing={}) == []
    assert [m.code for m in missing_answers(definition, {**answers, "uses_aid": 1},
                                            max_missing={})] == ["aid_type", "aid_walking"]
    assert resume_number([(definition, answers)], max_missing={}) == 1


# -- scoring ------------------------------------------------------------------------------


def test_odi_a_section_not_applicable_is_scored_as_not_answered():
    # Fairbank & Pynsent 2000: 16 points over 9 sections answered = 16/45 = 35.56%.
    odi = odi_with_sex_life_not_applicable()
    answers = {"pain_intensity": 2, "personal_care": 2, "lifting": 2, "walking": 2,
               "sitting": 2, "standing": 2, "sleeping": 2, "sex_life": 9,
               "social_life": 1, "travelling": 1}
    scores = score_definition(odi, answers)
    assert scores["odi"] == Fraction(16 * 100, 45)
    assert round(float(scores["odi"]), 2) == 35.56
    assert scores["odi_answered"] == 9
    assert scores["odi_band"] == "moderate"


def test_odi_not_applicable_counts_against_the_blanks_allowed_and_says_so():
    odi = odi_with_sex_life_not_applicable()
    answers = {"pain_intensity": 2, "personal_care": 2, "lifting": 2, "walking": 2,
               "sitting": 2, "standing": 2, "sleeping": 2, "sex_life": 9,
               "social_life": 1}
    with pytest.raises(NotScorable) as caught:
        score_definition(odi, answers)
    assert caught.value.why == "1 item unanswered and 1 not applicable; at most 1 allowed"
    # Without the N/A it is the file's own wording, as before.
    with pytest.raises(NotScorable) as caught:
        score_definition(odi, {**answers, "sex_life": None})
    assert caught.value.why == "2 sections unanswered; at most 1 allowed"


def test_mobility_an_item_not_asked_is_neither_answered_nor_blank():
    definition = mobility()
    # No aid: aid_walking not asked; 2 + 3 + 1 = 6 over 5 x 3 answered = 40% (moderate).
    scores = score_definition(definition, {"uses_aid": 0, "stairs": 2, "driving": 3,
                                           "shopping": 1})
    assert scores == {"mobaid_index": 40, "mobaid_index_band": "moderate",
                      "mobaid_answered": 3}
    # With an aid and no driving: 4 + 2 + 3 = 9 over 5 x 3 = 60%; the N/A is the 1 blank
    # allowed.
    scores = score_definition(definition, {"uses_aid": 1, "aid_type": 2, "aid_walking": 4,
                                           "stairs": 2, "driving": 9, "shopping": 3})
    assert scores == {"mobaid_index": 60, "mobaid_index_band": "severe",
                      "mobaid_answered": 3}
    # No aid, no driving, and stairs left blank: 2 of 3 asked without a score.
    with pytest.raises(NotScorable) as caught:
        score_definition(definition, {"uses_aid": 0, "driving": 9, "shopping": 3})
    assert caught.value.why == "1 item unanswered and 1 not applicable; at most 1 allowed"


def test_an_answer_to_an_item_not_asked_is_an_error_naming_the_condition():
    with pytest.raises(ScoringError) as caught:
        score_definition(mobility(), {"uses_aid": 0, "aid_type": 3, "stairs": 2,
                                      "driving": 3, "shopping": 1})
    assert str(caught.value) == "aid_type: answered, but asked only if uses_aid is 1 (Yes)"


def test_a_value_that_is_neither_scored_nor_not_applicable_is_refused():
    with pytest.raises(ScoringError) as caught:
        score_definition(mobility(), {"uses_aid": 0, "stairs": 2, "driving": 7})
    assert str(caught.value) == "driving: expected one of 0, 1, 2, 3, 4, 5, 9, got 7"


def test_one_item_not_applicable_names_it():
    data = small([{**choice("drive", [0, 1, 2]),
                   "options": [*choice("drive", [0, 1, 2])["options"],
                               {"value": 9, "label": "I do not drive", "not_applicable": True}]},
                  choice("walk", [0, 1, 2])],
                 [{"key": "small_drive", "label": "Drive", "method": "sum", "items": ["drive"],
                   "direction": "lower_is_better"},
                  {"key": "small_both", "label": "Both", "method": "sum",
                   "items": ["drive", "walk"], "direction": "lower_is_better"},
                  {"key": "small_any", "label": "Any", "method": "mean", "max_missing": 2,
                   "items": ["drive", "walk"], "direction": "lower_is_better"}])
    definition = parse_definition(data)
    scores = score_definition(definition, {"drive": 9, "walk": 2})
    assert scores["small_drive"] == Unscored("drive not applicable")
    assert scores["small_both"] == Unscored("drive not applicable; none may be missing")
    assert scores["small_any"] == 2
    scores = score_definition(definition, {"drive": 9, "walk": 1})
    assert scores["small_any"] == 1
    with pytest.raises(NotScorable) as caught:
        score_definition(definition, {"drive": 9})
    assert str(caught.value) == "small: 1 item answered; too few for any score"


def test_prorated_sum_is_over_the_items_asked():
    # x, y, z 0-4; z asked only if x > 0. Proration: mean of the answered x the items.
    data = small([choice("x", [0, 1, 2, 3, 4]), choice("y", [0, 1, 2, 3, 4]),
                  choice("z", [0, 1, 2, 3, 4],
                         enable_when={"item": "x", "operator": "!=", "answer": 0})],
                 [{"key": "small_pro", "label": "P", "method": "prorated_sum",
                   "items": ["x", "y", "z"], "max_missing": 1,
                   "direction": "lower_is_better"}])
    definition = parse_definition(data)
    spec = definition.score("small_pro")
    assert (spec.low, spec.high) == (0, 12)
    # z asked and left blank: (2 + 4) / 2 x 3 items = 9.
    assert score_definition(definition, {"x": 2, "y": 4})["small_pro"] == 9
    # z not asked (x = 0): (0 + 4) / 2 x the 2 items asked = 4, the plain sum.
    assert score_definition(definition, {"x": 0, "y": 4})["small_pro"] == 4


def test_a_score_of_items_none_asked_says_so():
    data = small([choice("a", [0, 1]),
                  choice("b", [0, 1, 2], enable_when={"item": "a", "answer": 1})],
                 [{"key": "small_a", "label": "A", "method": "sum", "items": ["a"],
                   "direction": "lower_is_better"},
                  {"key": "small_b", "label": "B", "method": "sum", "items": ["b"],
                   "direction": "lower_is_better"}])
    scores = score_definition(parse_definition(data), {"a": 0})
    assert scores == {"small_a": 0, "small_b": Unscored(
        "no items asked (each is asked only on a condition, not met)")}
