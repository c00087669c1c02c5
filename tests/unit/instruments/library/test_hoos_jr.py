"""HOOS, JR. (Lyman et al., Clin Orthop Relat Res 2016;474(6):1472-1482): the raw sum of
six answers (0 none .. 4 extreme, raw 0-24) converted to an interval score, 0 total hip
disability to 100 perfect hip health, by the HSS conversion table.

What every cell of ``hoos_jr.json`` is checked against:

1. ``PUBLISHED``: the HSS table as transcribed in Stanford CHOIR's total joint registry
   (``chamtrain/choir-d``, ``src/main/java/edu/stanford/registry/server/shc/totaljoint/
   TotalJointSurveyService.java``, ``HoosJRScoreTable``, commit 408fec1c), written out
   here row by row, apart from the file. The file has exactly these rows.
2. ``SECOND``: the one cell of a second, independent source (one app's sample output,
   recorded in the catalogue README): raw 6 = 70.426.
3. Its shape: 100 at raw 0 (every answer "None"), 0 at raw 24 (every answer "Extreme"),
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

FILE = "hoos_jr.json"
ITEMS = ["stairs", "uneven_surface", "rising", "bending", "lying_in_bed", "sitting"]

PUBLISHED = {
    0: "100.000",
    1: "92.340",
    2: "85.257",
    3: "80.550",
    4: "76.776",
    5: "73.472",
    6: "70.426",
    7: "67.516",
    8: "64.664",
    9: "61.815",
    10: "58.930",
    11: "55.985",
    12: "52.965",
    13: "49.858",
    14: "46.652",
    15: "43.335",
    16: "39.902",
    17: "36.363",
    18: "32.735",
    19: "29.009",
    20: "25.103",
    21: "20.805",
    22: "15.633",
    23: "8.104",
    24: "0.000",
}
"""Check 1: raw sum -> interval score, the HSS HOOS, JR. table as CHOIR transcribes it."""

SECOND = {6: "70.426"}
"""Check 2: the cell a second, independent source gives."""


def differing_rows(table: dict[int, Fraction]) -> set[int]:
    """Return the raw sums whose value differs from the published row (or has none)."""
    published = {r: Fraction(v) for r, v in PUBLISHED.items()}
    return {r for r in table.keys() | published.keys() if table.get(r) != published.get(r)}


def test_six_items_each_answered_none_to_extreme_scored_0_to_4():
    defn = load(FILE)
    assert [item.code for item in defn.items] == ITEMS
    for item in defn.items:
        assert [(o.value, o.label) for o in item.options] == [
            (0, "None"), (1, "Mild"), (2, "Moderate"), (3, "Severe"), (4, "Extreme")]
        assert item.required


def test_every_row_of_the_table_is_the_published_one_and_there_is_no_other():
    assert differing_rows(table_of(FILE, "hoosjr_interval")) == set()
    assert sorted(table_of(FILE, "hoosjr_interval")) == list(range(25))


@pytest.mark.parametrize("row", sorted(PUBLISHED))
def test_a_change_to_any_one_cell_is_caught(row):
    table = table_of(FILE, "hoosjr_interval")
    table[row] += Fraction(1, 1000)
    assert differing_rows(table) == {row}


def test_the_second_source_agrees():
    table = table_of(FILE, "hoosjr_interval")
    assert {r: table[r] for r in SECOND} == {r: Fraction(v) for r, v in SECOND.items()}


@pytest.mark.parametrize("total", sorted(PUBLISHED))
def test_every_raw_sum_scores_to_its_published_interval_score(total):
    answers = summing_to(ITEMS, total, high=4)
    result = score(FILE, answers)
    assert result["hoosjr_raw"] == total
    assert result["hoosjr_interval"] == Fraction(PUBLISHED[total])


def test_no_hip_problem_at_all_is_100_and_every_answer_extreme_is_0():
    assert score(FILE, dict.fromkeys(ITEMS, 0))["hoosjr_interval"] == 100
    assert score(FILE, dict.fromkeys(ITEMS, 4))["hoosjr_interval"] == 0


@pytest.mark.parametrize(("answers", "total", "interval"), [
    # every answer "Mild": 6 x 1 = 6
    ([1, 1, 1, 1, 1, 1], 6, "70.426"),
    # every answer "Moderate": 6 x 2 = 12
    ([2, 2, 2, 2, 2, 2], 12, "52.965"),
    # stairs 2, uneven surface 2, rising 2, bending 3, lying in bed 1, sitting 1:
    # 2 + 2 + 2 + 3 + 1 + 1 = 11
    ([2, 2, 2, 3, 1, 1], 11, "55.985"),
    # every answer "Extreme" but sitting "Severe": 5 x 4 + 3 = 23
    ([4, 4, 4, 4, 4, 3], 23, "8.104"),
    # one "Mild" answer: 1
    ([1, 0, 0, 0, 0, 0], 1, "92.340"),
])
def test_a_full_answer_set_summed_by_hand_gives_the_published_score(answers, total, interval):
    result = score(FILE, dict(zip(ITEMS, answers, strict=True)))
    assert (result["hoosjr_raw"], result["hoosjr_interval"]) == (total, Fraction(interval))


def test_the_score_falls_at_every_step_from_100_to_0():
    table = table_of(FILE, "hoosjr_interval")
    values = [table[r] for r in range(25)]
    assert values[0] == 100 and values[-1] == 0
    assert all(a > b for a, b in pairwise(values))


def test_higher_is_better_and_only_the_interval_score_is_reported():
    defn = load(FILE)
    assert [s.key for s in defn.scores] == ["hoosjr_interval"]
    assert defn.scores[0].direction == "higher_is_better"
    assert [s.key for s in defn.score_defs] == ["hoosjr_raw", "hoosjr_interval"]


@pytest.mark.parametrize("blank", ITEMS)
def test_a_blank_item_is_not_scorable_naming_it(blank):
    # The table converts a complete raw sum: no rule for a missing answer was found.
    answers = dict.fromkeys(ITEMS, 1) | {blank: None}
    with pytest.raises(NotScorable) as caught:
        score(FILE, answers)
    assert caught.value.item == blank
    assert caught.value.why == (f"{blank} unanswered; the table converts the sum of all 6 "
                                "answers, so none may be missing")


def test_a_study_cannot_allow_a_blank_item():
    with pytest.raises(ValueError, match="hoosjr_raw"):
        score(FILE, dict.fromkeys(ITEMS, 1), max_missing={"hoosjr_raw": 1})


def test_only_labels_are_shipped_and_the_licence_says_where_the_survey_is():
    licence = raw(FILE)["licence"]
    assert "labels only" in licence.lower()
    assert "Hospital for Special Surgery" in licence and "hss.edu" in licence
