"""People words and one number format (SPEC 7), checked against SPEC's own examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes.analysis import wording


def test_score_titles_say_the_range_and_which_way_is_better():
    # SPEC 7's example, word for word.
    assert wording.score_title("odi") == "ODI (0-100, lower is better)"
    assert wording.score_title("eq5d_index_uk") == (
        "EQ-5D index (UK) (\u22120.594 to 1, higher is better)")
    assert wording.score_title("opioid_mme") == "Opioid use (MME/day) (lower is better)"


@pytest.mark.parametrize(("rule", "label"), [
    # SPEC 7: "ODI improved by 10 points or more".
    ({"score": "odi", "direction": "decrease", "kind": "points", "threshold": "10.000000"},
     "ODI improved by 10 points or more"),
    ({"score": "odi", "direction": "decrease", "kind": "percent", "threshold": "30"},
     "ODI improved by 30% or more"),
    ({"score": "nrs", "direction": "decrease", "kind": "points", "threshold": "1"},
     "NRS pain improved by 1 point or more"),
    ({"score": "eq5d_index_uk", "direction": "increase", "kind": "points",
      "threshold": "0.074000"}, "EQ-5D index (UK) improved by 0.074 or more"),
    ({"score": "gmh_t", "direction": "increase", "kind": "points", "threshold": "5"},
     "PROMIS mental health (T-score) improved by 5 points or more"),
    # Against the score's grain, the words say what happened, not "improved".
    ({"score": "gph_t", "direction": "decrease", "kind": "points", "threshold": "5"},
     "PROMIS physical health (T-score) fell by 5 points or more"),
])
def test_a_rule_reads_as_a_sentence(rule, label):
    assert wording.simple_rule_label(**rule) == label


def test_combinations_name_their_parts_and_nest():
    rules = [
        {"code": "a", "score": "odi", "direction": "decrease", "kind": "points",
         "threshold": 10, "parts": []},
        {"code": "b", "score": "nrs", "direction": "decrease", "kind": "points",
         "threshold": 2, "parts": []},
        {"code": "both", "score": "", "direction": "", "kind": "all", "threshold": None,
         "parts": ["a", "b"]},
        {"code": "outer", "score": "", "direction": "", "kind": "any", "threshold": None,
         "parts": ["both", "a", "b"]},
    ]
    labels = wording.rule_labels(rules)
    assert labels["both"] == ("Both: ODI improved by 10 points or more and NRS pain improved "
                              "by 2 points or more")
    assert labels["outer"].startswith("Any of: Both: ODI")


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("odi", Fraction(124, 3), "41.3"),  # never a raw fraction (issue 14: "124/3")
    ("odi", 32, "32.0"),
    ("eq5d_index_uk", -0.5943, "\u22120.594"),
    ("nrs", None, "—"),
    ("odi", -0.04, "0.0"),  # never "-0.0"
])
def test_scores_at_their_display_precision(key, value, shown):
    assert wording.score_value(key, value) == shown


def test_changes_carry_their_sign():
    assert wording.score_change("odi", -12.5) == "\u221212.5"
    assert wording.score_change("odi", 3) == "+3.0"
    assert wording.score_change("odi", 0) == "0.0"
    assert wording.score_change("eq5d_index_uk", Fraction(74, 1000)) == "+0.074"


def test_p_values_to_three_decimals_and_below_one_in_a_thousand():
    assert wording.p_value(0.0000012) == "<0.001"
    assert wording.p_value(0.001) == "0.001"
    assert wording.p_value(0.04449) == "0.044"
    assert wording.p_value(None) == "—"
