"""The ``value_set`` method (docs/instruments.md): a value for every profile of the answers."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from outcomes.instruments.definitions.files import (
    DefinitionError,
    definition_to_dict,
    parse_definition,
)
from outcomes.instruments.scoring import NotScorable
from outcomes.instruments.scoring.engine import score_definition


def two_items(table=None, **score) -> dict:
    """A two-item instrument: item a takes 0-2 (a choice), item b 1-3 (a scale)."""
    if table is None:
        table = {f"{a}{b}": Fraction(10 * a + b, 100) for a in range(3) for b in range(1, 4)}
        table = {k: float(v) for k, v in table.items()}
    return {
        "code": "vs_test", "version": "1", "title": "Value set test", "short_title": "VS",
        "licence": "test", "source": "test 2026",
        "items": [{"code": "a", "text": "A", "kind": "choice", "required": True,
                   "options": [{"value": v, "label": str(v)} for v in range(3)]},
                  {"code": "b", "text": "B", "kind": "scale", "min": 1, "max": 3}],
        "scores": [{"key": "vs_index", "label": "Index", "method": "value_set",
                    "items": ["a", "b"], "direction": "higher_is_better", "table": table,
                    **score}],
    }


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_definition(data)
    return error.value.problems


def test_each_profile_of_the_answers_scores_its_own_value_exactly():
    definition = parse_definition(two_items())
    for a, b in itertools.product(range(3), range(1, 4)):
        result = score_definition(definition, {"a": a, "b": b})
        assert result["vs_index"] == Fraction(10 * a + b, 100)


def test_the_range_is_the_tables_lowest_and_highest_value():
    (score,) = parse_definition(two_items()).scores
    assert (Fraction(str(score.low)), Fraction(str(score.high))) == (
        Fraction("0.01"), Fraction("0.23"))


def test_a_profile_left_out_is_named():
    table = two_items()["scores"][0]["table"]
    del table["12"], table["21"]
    assert problems(two_items(table)) == [
        "scores[0].table: no value for profile 12, 21 (9 profiles)"]


def test_a_key_that_is_not_a_profile_of_the_items_is_named():
    table = two_items()["scores"][0]["table"] | {"13x": 1, "30": 1, "123": 1}
    assert problems(two_items(table)) == [
        f"scores[0].table.{key}: not a profile of a, b (one digit per item, in the score's "
        "order)" for key in ("13x", "30", "123")]


def test_a_value_that_is_not_a_number_is_named():
    table = two_items()["scores"][0]["table"] | {"11": "high"}
    assert problems(two_items(table)) == ['scores[0].table.11: expected a number, got "high"']


def test_items_beyond_one_digit_cannot_make_profiles():
    data = two_items()
    data["items"][1]["max"] = 10
    assert problems(data) == [
        "scores[0].items: b: a value_set's items take the values 0-9 (one digit each in a "
        "profile)"]


def test_a_value_set_reads_the_answers_as_given_and_every_item():
    assert problems(two_items(recode={"a": {"0": 0, "1": 0, "2": 1}})) == [
        "scores[0].recode: a value_set reads the answers as given; leave this out"]
    assert problems(two_items(max_missing=1)) == [
        "scores[0].max_missing: value_set needs every item; must be 0"]


def test_a_blank_item_leaves_the_value_set_unscored():
    with pytest.raises(NotScorable, match="b: unanswered"):
        score_definition(parse_definition(two_items()), {"a": 1, "b": None})


def test_a_leading_zero_profile_survives_writing_the_file_back_out():
    definition = parse_definition(two_items())
    written = definition_to_dict(definition)
    assert "01" in written["scores"][0]["table"]
    assert parse_definition(written) == definition
