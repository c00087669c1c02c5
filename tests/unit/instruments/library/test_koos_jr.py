"""KOOS, JR. (Lyman et al., Clin Orthop Relat Res 2016;474(6):1461-1471): the raw sum of
seven answers (0 none .. 4 extreme, raw 0-28) converted to an interval score, 0 total knee
disability to 100 perfect knee health, by the HSS conversion table.

What every cell of ``koos_jr.json`` is checked against:

1. ``PUBLISHED``: the HSS table as transcribed in Stanford CHOIR's total joint registry
   (``chamtrain/choir-d``, ``src/main/java/edu/stanford/registry/server/shc/totaljoint/
   TotalJointSurveyService.java``, ``KoosJRScoreTable``, commit 408fec1c), written out
   here row by row, apart from the file. The file has exactly these rows.
2. ``SECOND``: the one cell of a second, independent source (an app's own test of its
   KOOS JR scoring): raw 7 = 68.284.
3. Its shape: 100 at raw 0 (every answer "None"), 0 at raw 28 (every answer "Extreme"),
   falling at every step.

The answer sets below are summed by hand in their comments; the engine's result is
compared with the published row for that sum, never with its own output.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, raw, score, summing_to, table_of

FILE = "koos_jr.json"
ITEMS = ["stiffness", "twisting", "straightening", "stairs", "standing", "rising", "bending"]

PUBLISHED = {
    0: "100.000",
    1: "91.975",
    2: "84.600",
    3: "79.914",
    4: "76.332",
    5: "73.342",
    6: "70.704",
    7: "68.284",
    8: "65.994",
    9: "63.776",
    10: "61.583",
    11: "59.381",
    12: "57.140",
    13: "54.840",
    14: "52.465",
    15: "50.012",
    16: "47.487",
    17: "44.905",
    18: "42.281",
    19: "39.625",
    20: "36.931",
    21: "34.174",
    22: "31.307",
    23: "28.251",
    24: "24.875",
    25: "20.941",
    26: "15.939",
    27: "8.291",
    28: "0.000",
}
"""Check 1: raw sum -> interval score, the HSS KOOS, JR. table as CHOIR transcribes it."""

SECOND = {7: "68.284"}
"""Check 2: the cell a second, independent source gives."""


def differing_rows(table: dict[int, Fraction]) -> set[int]:
    """Return the raw sums whose value differs from the published row (or has none)."""
    published = {r: Fraction(v) for r, v in PUBLISHED.items()}
    return {r for r in table.keys() | published.keys() if table.get(r) != published.get(r)}


def test_seven_items_each_answered_none_to_extreme_scored_0_to_4():
    defn = load(FILE)
    assert [item.code for item in defn.items] == ITEMS
    for item in defn.items:
        assert [(o.value, o.label) for o in item.options] == [
            (0, "None"), (1, "Mild"), (2, "Moderate"), (3, "Severe"), (4, "Extreme")]
        assert item.required


def test_every_row_of_the_table_is_the_published_one_and_there_is_no_other():
    assert differing_rows(table_of(FILE, "koosjr_interval")) == set()
    assert sorted(table_of(FILE, "koosjr_interval")) == list(range(29))


@pytest.mark.parametrize("row", sorted(PUBLISHED))
def test_a_change_to_any_one_cell_is_caught(row):
    table = table_of(FILE, "koosjr_interval")
    table[row] += Fraction(1, 1000)
    assert differing_rows(table) == {row}


def test_the_second_source_agrees():
    table = table_of(FILE, "koosjr_interval")
    assert {r: table[r] for r in SECOND} == {r: Fraction(v) for r, v in SECOND.items()}


@pytest.mark.parametrize("total", sorted(PUBLISHED))
def test_every_raw_sum_scores_to_its_published_interval_score(total):
    answers = summing_to(ITEMS, total, high=4)
    result = score(FILE, answers)
    assert result["koosjr_raw"] == total
    assert result["koosjr_interval"] == Fraction(PUBLISHED[total])


def test_no_knee_problem_at_all_is_100_and_every_answer_extreme_is_0():
    assert score(FILE, dict.fromkeys(ITEMS, 0))["koosjr_interval"] == 100
    assert score(FILE, dict.fromkeys(ITEMS, 4))["koosjr_interval"] == 0


@pytest.mark.parametrize(("answers", "total", "interval"), [
    # stiffness 1, twisting 0, straightening 2, stairs 1, standing 0, rising 2, bending 1:
    # 1 + 0 + 2 + 1 + 0 + 2 + 1 = 7
    ([1, 0, 2, 1, 0, 2, 1], 7, "68.284"),
    # every answer "Moderate": 7 x 2 = 14
    ([2, 2, 2, 2, 2, 2, 2], 14, "52.465"),
    # 2 + 2 + 1 + 3 + 2 + 2 + 3 = 15
    ([2, 2, 1, 3, 2, 2, 3], 15, "50.012"),
    # every answer "Extreme" but bending "Severe": 6 x 4 + 3 = 27
    ([4, 4, 4, 4, 4, 4, 3], 27, "8.291"),
    # one "Mild" answer: 1
    ([0, 0, 0, 0, 0, 0, 1], 1, "91.975"),
])
def test_a_full_answer_set_summed_by_hand_gives_the_published_score(answers, total, interval):
    result = score(FILE, dict(zip(ITEMS, answers, strict=True)))
    assert (result["koosjr_raw"], result["koosjr_interval"]) == (total, Fraction(interval))


def test_the_score_falls_at_every_step_from_100_to_0():
    table = table_of(FILE, "koosjr_interval")
    values = [table[r] for r in range(29)]
    assert values[0] == 100 and values[-1] == 0
    assert all(a > b for a, b in pairwise(values))


def test_higher_is_better_and_only_the_interval_score_is_reported():
    defn = load(FILE)
    assert [s.key for s in defn.scores] == ["koosjr_interval"]
    assert defn.scores[0].direction == "higher_is_better"
    assert [s.key for s in defn.score_defs] == ["koosjr_raw", "koosjr_interval"]


@pytest.mark.parametrize("blank", ITEMS)
def test_a_blank_item_is_not_scorable_naming_it(blank):
    # The table converts a complete raw sum: no rule for a missing answer was found.
    answers = dict.fromkeys(ITEMS, 1) | {blank: None}
    with pytest.raises(NotScorable) as caught:
        score(FILE, answers)
    assert caught.value.item == blank
    assert caught.value.why == (f"{blank} unanswered; the table converts the sum of all 7 "
                                "answers, so none may be missing")


def test_a_study_cannot_allow_a_blank_item():
    with pytest.raises(ValueError, match="koosjr_raw"):
        score(FILE, dict.fromkeys(ITEMS, 1), max_missing={"koosjr_raw": 1})


def test_only_labels_are_shipped_and_the_licence_says_where_the_survey_is():
    licence = raw(FILE)["licence"]
    assert "labels only" in licence.lower()
    assert "Hospital for Special Surgery" in licence and "hss.edu" in licence
