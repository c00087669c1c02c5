"""Alerts in definition files: checked whole, one line per problem by key path; raised by
the answers they name, at their bounds exactly."""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from outcomes.instruments.definitions.files import (
    DefinitionError,
    definition_to_dict,
    load_definition_file,
    parse_definition,
)
from outcomes.instruments.scoring import score_response
from outcomes.instruments.scoring.alerts import alerts_raised
from tests.unit.instruments.test_definition_files import phq9

CATALOGUE_PHQ9 = "outcomes/instruments/library/catalogue/phq9.json"
ITEM9 = {"key": "phq9_item9", "when": {"item": "phq9", "at_least": 1},
         "staff_message": "PHQ-9 question 9 answered above 'Not at all'",
         "patient_message": "Please contact the study team."}


def with_alerts(*alerts) -> dict:
    data = phq9()
    data["alerts"] = [copy.deepcopy(alert) for alert in alerts]
    return data


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_definition(data)
    return error.value.problems


def answers(item9: int | None, rest: int = 0) -> dict[str, int | None]:
    given: dict[str, int | None] = {f"phq{n}": rest for n in range(1, 9)}
    given["phq9"] = item9
    return given


def raised_keys(definition, given) -> list[str]:
    scored = score_response(definition, given)
    return [found.alert.key for found in alerts_raised(definition, given, scored.values)]


def test_an_alert_on_an_item_parses_and_round_trips():
    definition = parse_definition(with_alerts(ITEM9))
    (alert,) = definition.alerts
    assert (alert.key, alert.item, alert.at_least, alert.at_most) == ("phq9_item9", "phq9", 1,
                                                                       None)
    assert parse_definition(definition_to_dict(definition)) == definition
    assert definition_to_dict(definition)["alerts"] == [ITEM9]


def test_a_file_without_alerts_writes_none_back():
    assert "alerts" not in definition_to_dict(parse_definition(phq9()))


def test_item_9_answered_not_at_all_raises_nothing_and_several_days_raises_the_alert():
    # The PHQ-9's item 9: any answer above "Not at all" (0) asks for a clinician's
    # attention (Kroenke, Spitzer & Williams 2001; the form's own instruction).
    definition = parse_definition(with_alerts(ITEM9))
    assert raised_keys(definition, answers(0)) == []
    assert raised_keys(definition, answers(1)) == ["phq9_item9"]
    assert raised_keys(definition, answers(3)) == ["phq9_item9"]


def test_a_mutated_bound_changes_who_is_alerted():
    # at_least 2 instead of 1 must miss "Several days": a test that cannot tell is useless.
    mutated = copy.deepcopy(ITEM9)
    mutated["when"]["at_least"] = 2
    assert raised_keys(parse_definition(with_alerts(mutated)), answers(1)) == []


def test_the_raised_alert_carries_the_answer_in_words():
    definition = parse_definition(with_alerts(ITEM9))
    given = answers(1)
    (found,) = alerts_raised(definition, given, score_response(definition, given).values)
    assert (found.value, found.shown) == (1, "Several days")


def test_a_blank_item_raises_nothing():
    data = with_alerts(ITEM9)
    data["items"][8]["required"] = False
    data["scores"][0]["max_missing"] = 1
    definition = parse_definition(data)
    assert raised_keys(definition, answers(None)) == []


def test_an_alert_on_a_score_is_inclusive_at_its_bound():
    # PHQ-9 20-27 is "severe" (Kroenke 2001): 19 is not, 20 is.
    alert = {"key": "phq9_severe", "when": {"score": "phq9_total", "at_least": 20},
             "staff_message": "PHQ-9 total in the severe band", "patient_message": "Call us."}
    definition = parse_definition(with_alerts(alert))
    nineteen = {f"phq{n}": v for n, v in zip(range(1, 10), [3, 3, 2, 2, 2, 2, 2, 2, 1],
                                             strict=True)}
    twenty = {**nineteen, "phq9": 2}
    assert sum(nineteen.values()) == 19 and sum(twenty.values()) == 20
    assert raised_keys(definition, nineteen) == []
    (found,) = alerts_raised(definition, twenty, score_response(definition, twenty).values)
    # Shown as pages show the score: to its decimals (1 by default; SPEC 7).
    assert (found.alert.key, found.value, found.shown) == ("phq9_severe", 20, "20.0")


def test_at_most_serves_a_scale_where_higher_is_better():
    data = phq9()
    data["scores"].append({"key": "phq_mean", "label": "Mean", "method": "mean",
                           "items": [f"phq{n}" for n in range(1, 10)],
                           "direction": "higher_is_better"})
    data["alerts"] = [{"key": "low_mean", "when": {"score": "phq_mean", "at_most": 0.5},
                       "staff_message": "Mean at most 0.5", "patient_message": "Call us."}]
    definition = parse_definition(data)
    four = {**answers(0), "phq1": 1, "phq2": 1, "phq3": 1, "phq4": 1}  # 4/9 = 0.44
    five = {**four, "phq5": 1}  # 5/9 = 0.56
    assert raised_keys(definition, four) == ["low_mean"]
    assert raised_keys(definition, five) == []
    assert definition.alerts[0].at_most == Fraction(1, 2)
    assert parse_definition(definition_to_dict(definition)) == definition


def test_both_bounds_make_a_range():
    alert = {"key": "middle", "when": {"item": "phq9", "at_least": 1, "at_most": 2},
             "staff_message": "s", "patient_message": "p"}
    definition = parse_definition(with_alerts(alert))
    assert [raised_keys(definition, answers(v)) for v in range(4)] == [
        [], ["middle"], ["middle"], []]


@pytest.mark.parametrize(("change", "expected"), [
    ({"when": {"item": "phq10", "at_least": 1}}, ["alerts[0].when.item: no item \"phq10\""]),
    ({"when": {"score": "phq_total", "at_least": 1}},
     ["alerts[0].when.score: no score \"phq_total\""]),
    ({"when": {"score": "phq9_total_band", "at_least": 1}},
     ["alerts[0].when.score: \"phq9_total_band\" is a band; name the score phq9_total"]),
    ({"staff_message": None}, ["alerts[0].staff_message: expected text, got null"]),
    ({"when": {"item": "phq9"}}, ["alerts[0].when: needs at_least or at_most (or both)"]),
    ({"when": {"item": "phq9", "score": "phq9_total", "at_least": 1}},
     ["alerts[0].when: names one item or one score (\"item\" or \"score\"), not both"]),
    ({"when": {"at_least": 1}},
     ["alerts[0].when: names one item or one score (\"item\" or \"score\"), not neither"]),
    ({"when": {"item": "phq9", "at_least": "1"}},
     ["alerts[0].when.at_least: expected a number, got \"1\""]),
    ({"when": {"item": "phq9", "at_least": 4}},
     ["alerts[0].when: no answer of phq9 meets it (its answers are 0-3)"]),
    ({"when": {"item": "phq9", "at_least": 0}},
     ["alerts[0].when: every answer of phq9 meets it; an alert singles some out"]),
    ({"when": {"item": "phq9", "at_least": 2, "at_most": 1}},
     ["alerts[0].when.at_most: 1 is below at_least 2: no answer meets both"]),
    ({"when": {"score": "phq9_total", "at_least": 28}},
     ["alerts[0].when: no value of phq9_total meets it (it runs 0 to 27)"]),
    ({"when": {"item": "phq9", "at_lest": 1}},
     ["alerts[0].when.at_lest: unknown key (did you mean 'at_least'?)"]),
    ({"key": "Item 9"}, ["alerts[0].key: must be lower-case letters, digits and underscores"]),
    ({"patient_mesage": "x"}, ["alerts[0].patient_mesage: unknown key (did you mean "
                               "'patient_message'?)"]),
])
def test_each_problem_of_an_alert_is_one_line_naming_its_key_path(change, expected):
    alert = {**copy.deepcopy(ITEM9), **change}
    assert problems(with_alerts(alert)) == expected


def test_missing_messages_are_named_each():
    alert = {"key": "phq9_item9", "when": {"item": "phq9", "at_least": 1}}
    assert problems(with_alerts(alert)) == ["alerts[0].staff_message: missing",
                                           "alerts[0].patient_message: missing"]


def test_two_alerts_with_one_key_are_refused():
    assert problems(with_alerts(ITEM9, ITEM9)) == [
        "alerts[1].key: \"phq9_item9\" is also alerts[0]'s"]


def test_every_problem_of_the_file_is_listed_at_once():
    data = with_alerts({"key": "a", "when": {"item": "nope", "at_least": 1},
                        "staff_message": "", "patient_message": "p"})
    data["scores"][0]["items"].append("phq10")
    assert problems(data) == ["scores[0].items: no item 'phq10'",
                              "alerts[0].staff_message: must not be empty",
                              "alerts[0].when.item: no item \"nope\""]


def test_the_catalogue_phq9_alerts_on_item_9_above_not_at_all():
    definition = load_definition_file(CATALOGUE_PHQ9)
    (alert,) = definition.alerts
    assert (alert.item, alert.at_least, alert.at_most) == ("phq9", 1, None)
    assert definition.item("phq9").options[0].label == "Not at all"
    assert raised_keys(definition, {**answers(0), "phq_difficulty": None}) == []
    assert raised_keys(definition, answers(1)) == ["phq9_item9"]
    # Safe and generic: the team and emergency help, no number of its own invented.
    text = alert.patient_message
    assert "study team" in text and "emergency" in text and "crisis line" in text
    assert not any(ch.isdigit() for ch in text)
