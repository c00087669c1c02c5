"""KOOS, JR. and HOOS, JR., the knee and hip forms of one design (Lyman et al., Clin Orthop
Relat Res 2016;474(6): KOOS, JR. 1461-1471, HOOS, JR. 1472-1482): the raw sum of seven
(knee, raw 0-28) or six (hip, raw 0-24) answers, 0 none .. 4 extreme, converted to an
interval score, 0 total joint disability to 100 perfect joint health, by the HSS
conversion table of each.

Every test runs on both forms (``KOOS_JR``, ``HOOS_JR``, with their own constants). What
every cell of ``koos_jr.json`` and ``hoos_jr.json`` is checked against:

1. ``published``: the HSS table as transcribed in Stanford CHOIR's total joint registry
   (``chamtrain/choir-d``, ``src/main/java/edu/stanford/registry/server/shc/totaljoint/
   TotalJointSurveyService.java``, ``KoosJRScoreTable`` and ``HoosJRScoreTable``, commit
   408fec1c), written out here row by row, apart from the files. Each file has exactly
   these rows.
2. ``second``: the one cell of a second, independent source: for the KOOS, JR. an app's
   own test of its KOOS JR scoring, raw 7 = 68.284; for the HOOS, JR. one app's sample
   output, recorded in the catalogue README, raw 6 = 70.426.
3. Its shape: 100 at raw 0 (every answer "None"), 0 at the highest raw sum (every
   answer "Extreme"), falling at every step.

The answer sets below are summed by hand in their comments; the engine's result is
compared with the published row for that sum, never with its own output.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, raw, score, summing_to, table_of


@dataclass(frozen=True)
class Form:
    """One of the two forms: its file, score keys, items and the sources' values."""

    name: str
    file: str
    raw_key: str
    interval_key: str
    items: list[str]
    raw_max: int
    published: dict[int, str]
    """Check 1: raw sum -> interval score, the HSS table as CHOIR transcribes it."""
    second: dict[int, str]
    """Check 2: the cell a second, independent source gives."""
    by_hand: list[tuple[list[int], int, str]]
    """Full answer sets (in item order), their sums worked by hand, the published score."""

    def __str__(self) -> str:
        return self.name


KOOS_JR = Form(
    name="koos_jr",
    file="koos_jr.json",
    raw_key="koosjr_raw",
    interval_key="koosjr_interval",
    items=["stiffness", "twisting", "straightening", "stairs", "standing", "rising",
           "bending"],
    raw_max=28,
    published={
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
    },
    second={7: "68.284"},
    by_hand=[
        # stiffness 1, twisting 0, straightening 2, stairs 1, standing 0, rising 2,
        # bending 1: 1 + 0 + 2 + 1 + 0 + 2 + 1 = 7
        ([1, 0, 2, 1, 0, 2, 1], 7, "68.284"),
        # every answer "Moderate": 7 x 2 = 14
        ([2, 2, 2, 2, 2, 2, 2], 14, "52.465"),
        # 2 + 2 + 1 + 3 + 2 + 2 + 3 = 15
        ([2, 2, 1, 3, 2, 2, 3], 15, "50.012"),
        # every answer "Extreme" but bending "Severe": 6 x 4 + 3 = 27
        ([4, 4, 4, 4, 4, 4, 3], 27, "8.291"),
        # one "Mild" answer: 1
        ([0, 0, 0, 0, 0, 0, 1], 1, "91.975"),
    ],
)

HOOS_JR = Form(
    name="hoos_jr",
    file="hoos_jr.json",
    raw_key="hoosjr_raw",
    interval_key="hoosjr_interval",
    items=["stairs", "uneven_surface", "rising", "bending", "lying_in_bed", "sitting"],
    raw_max=24,
    published={
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
    },
    second={6: "70.426"},
    by_hand=[
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
    ],
)

FORMS = [KOOS_JR, HOOS_JR]
each_form = pytest.mark.parametrize("form", FORMS, ids=str)


def per_form(values):
    """Parametrize over (form, value) for each form's own ``values(form)``, e.g. its rows."""
    return [pytest.param(form, value, id=f"{form}-{value}")
            for form in FORMS for value in values(form)]


def differing_rows(form: Form, table: dict[int, Fraction]) -> set[int]:
    """Return the raw sums whose value differs from the published row (or has none)."""
    published = {r: Fraction(v) for r, v in form.published.items()}
    return {r for r in table.keys() | published.keys() if table.get(r) != published.get(r)}


def test_the_two_forms_are_the_files_and_tables_of_the_papers():
    # The constants themselves: 7 knee items summing to 28, 6 hip items to 24, a row for
    # every sum from 0 up.
    assert (len(KOOS_JR.items), KOOS_JR.raw_max) == (7, 28)
    assert (len(HOOS_JR.items), HOOS_JR.raw_max) == (6, 24)
    for form in FORMS:
        assert sorted(form.published) == list(range(form.raw_max + 1))


@each_form
def test_each_item_is_answered_none_to_extreme_scored_0_to_4(form):
    defn = load(form.file)
    assert [item.code for item in defn.items] == form.items
    for item in defn.items:
        assert [(o.value, o.label) for o in item.options] == [
            (0, "None"), (1, "Mild"), (2, "Moderate"), (3, "Severe"), (4, "Extreme")]
        assert item.required


@each_form
def test_every_row_of_the_table_is_the_published_one_and_there_is_no_other(form):
    assert differing_rows(form, table_of(form.file, form.interval_key)) == set()
    assert sorted(table_of(form.file, form.interval_key)) == list(range(form.raw_max + 1))


@pytest.mark.parametrize(("form", "row"), per_form(lambda form: sorted(form.published)))
def test_a_change_to_any_one_cell_is_caught(form, row):
    table = table_of(form.file, form.interval_key)
    table[row] += Fraction(1, 1000)
    assert differing_rows(form, table) == {row}


@each_form
def test_the_second_source_agrees(form):
    table = table_of(form.file, form.interval_key)
    assert {r: table[r] for r in form.second} == {
        r: Fraction(v) for r, v in form.second.items()}


@pytest.mark.parametrize(("form", "total"), per_form(lambda form: sorted(form.published)))
def test_every_raw_sum_scores_to_its_published_interval_score(form, total):
    answers = summing_to(form.items, total, high=4)
    result = score(form.file, answers)
    assert result[form.raw_key] == total
    assert result[form.interval_key] == Fraction(form.published[total])


@each_form
def test_no_joint_problem_at_all_is_100_and_every_answer_extreme_is_0(form):
    assert score(form.file, dict.fromkeys(form.items, 0))[form.interval_key] == 100
    assert score(form.file, dict.fromkeys(form.items, 4))[form.interval_key] == 0


@pytest.mark.parametrize(("form", "answers", "total", "interval"), [
    pytest.param(form, answers, total, interval, id=f"{form}-{total}")
    for form in FORMS for answers, total, interval in form.by_hand])
def test_a_full_answer_set_summed_by_hand_gives_the_published_score(form, answers, total,
                                                                    interval):
    result = score(form.file, dict(zip(form.items, answers, strict=True)))
    assert (result[form.raw_key], result[form.interval_key]) == (total, Fraction(interval))


@each_form
def test_the_score_falls_at_every_step_from_100_to_0(form):
    table = table_of(form.file, form.interval_key)
    values = [table[r] for r in range(form.raw_max + 1)]
    assert values[0] == 100 and values[-1] == 0
    assert all(a > b for a, b in pairwise(values))


@each_form
def test_higher_is_better_and_only_the_interval_score_is_reported(form):
    defn = load(form.file)
    assert [s.key for s in defn.scores] == [form.interval_key]
    assert defn.scores[0].direction == "higher_is_better"
    assert [s.key for s in defn.score_defs] == [form.raw_key, form.interval_key]


@pytest.mark.parametrize(("form", "blank"), per_form(lambda form: form.items))
def test_a_blank_item_is_not_scorable_naming_it(form, blank):
    # The table converts a complete raw sum: no rule for a missing answer was found.
    answers = dict.fromkeys(form.items, 1) | {blank: None}
    with pytest.raises(NotScorable) as caught:
        score(form.file, answers)
    assert caught.value.item == blank
    assert caught.value.why == (f"{blank} unanswered; the table converts the sum of all "
                                f"{len(form.items)} answers, so none may be missing")


@each_form
def test_a_study_cannot_allow_a_blank_item(form):
    with pytest.raises(ValueError, match=form.raw_key):
        score(form.file, dict.fromkeys(form.items, 1), max_missing={form.raw_key: 1})


@each_form
def test_only_labels_are_shipped_and_the_licence_says_where_the_survey_is(form):
    licence = raw(form.file)["licence"]
    assert "labels only" in licence.lower()
    assert "Hospital for Special Surgery" in licence and "hss.edu" in licence
