"""Definitions from elsewhere (later, the database) join the library through the registry."""

from __future__ import annotations

import dataclasses

import pytest

from outcomes.instruments.definitions import INSTRUMENTS, SCORE_SPECS, registry
from outcomes.instruments.definitions.files import definition_to_dict, parse_definition
from outcomes.instruments.scoring import (
    NUMERIC_SCORE_KEYS,
    SCORE_KEYS,
    SCORERS,
    ScoringError,
    score,
    score_response,
)


@pytest.fixture
def clean_registry():
    """Undo what a test registers: the registry's dicts as they were."""
    saved = (dict(registry.INSTRUMENTS), dict(registry.SCORE_SPECS),
             dict(registry._VERSIONS), dict(registry._OWNERS))
    yield
    for target, old in zip((registry.INSTRUMENTS, registry.SCORE_SPECS, registry._VERSIONS,
                            registry._OWNERS), saved, strict=True):
        target.clear()
        target.update(old)
    registry._GENERATION[0] += 1


def pain_scale(version="1.0", *, key="worst_pain", maximum=10):
    return parse_definition({
        "code": "worst_pain", "version": version, "title": "Worst pain", "short_title": "Worst",
        "licence": "Public domain.", "source": "Test.",
        "items": [{"code": "worst", "text": "Worst pain", "kind": "scale", "min": 0,
                   "max": maximum}],
        "scores": [{"key": key, "label": "Worst pain", "method": "sum", "items": ["worst"],
                    "direction": "lower_is_better"}]})


def test_a_registered_definition_is_scored_and_listed_everywhere(clean_registry):
    registry.register_definition(pain_scale())
    assert score("worst_pain", {"worst": 7}) == {"worst_pain": 7}
    assert "worst_pain" in SCORERS and SCORE_KEYS["worst_pain"] == ("worst_pain",)
    assert "worst_pain" in NUMERIC_SCORE_KEYS and "worst_pain" in SCORE_SPECS
    assert score_response("worst_pain", {}).refusal == "worst: unanswered"


def test_an_older_version_stays_reachable_by_version(clean_registry):
    registry.register_definition(pain_scale("1.0", maximum=10))
    registry.register_definition(pain_scale("2.0", maximum=5))
    assert INSTRUMENTS["worst_pain"].version == "2.0"
    assert score("worst_pain", {"worst": 8}, version="1.0") == {"worst_pain": 8}
    with pytest.raises(ScoringError, match="expected an integer 0-5, got 8"):
        score("worst_pain", {"worst": 8})
    with pytest.raises(ScoringError, match=r"worst_pain has no version '3\.0'"):
        score("worst_pain", {"worst": 1}, version="3.0")
    assert registry.definition_for("worst_pain", "1.0").item("worst").max_value == 10


def test_a_version_never_changes_and_a_key_means_one_score(clean_registry):
    registry.register_definition(pain_scale())
    registry.register_definition(pain_scale())  # the same again: nothing changes
    with pytest.raises(ValueError, match="registered already with other content"):
        registry.register_definition(pain_scale(maximum=5))
    with pytest.raises(ValueError, match="score key 'nrs' is given by nrs11 already"):
        registry.register_definition(pain_scale("3.0", key="nrs"))


def test_a_not_current_version_leaves_the_current_one(clean_registry):
    registry.register_definition(pain_scale("2.0"))
    registry.register_definition(pain_scale("1.0"), current=False)
    assert INSTRUMENTS["worst_pain"].version == "2.0"


def test_an_unknown_instrument_is_named():
    with pytest.raises(KeyError, match="unknown instrument 'sf36'; known: eq5d3l, nrs11"):
        registry.definition_for("sf36")


def test_a_definition_built_in_code_equals_its_file():
    odi = INSTRUMENTS["odi"]
    assert parse_definition(definition_to_dict(odi)) == odi
    assert dataclasses.replace(odi, scores=()).scores == odi.scores  # derived from score_defs
