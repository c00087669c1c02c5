"""PROMIS Short Form v1.0 Pain Interference 6a: raw score 6-30 -> T-score (SE).

The file's table is COMPUTED, not transcribed: no transcription of the HealthMeasures 6a
table could be found (the catalogue README says what was searched). What every cell of
``promis_pi6a_v1_0.json`` is checked against:

1. ``CALIBRATION``: the six items' graded-response calibrations (slope, four thresholds,
   logistic metric), PROMIS Pain Interference item bank v1.0, as generated from the
   Assessment Center form OID 0CC98AD0-9D47-49F5-9132-5826D0E4980C into Stanford CHOIR
   (chamtrain/choir-d, commit 408fec1c21f6682473a72aa8b36ec95240b3cf68,
   src/main/java/edu/stanford/survey/server/promis/PromisShortFormV10PainInterference6a.java),
   written out again below. Every T and SE cell equals the EAP summed-score table
   recomputed from them by ``promis_eap`` (the method that reproduces every published
   PROMIS-29 cell it is checked on).
2. The four items the 6a shares with PROMIS-29's Pain Interference 4a (PAININ9, 22, 31,
   34) have the calibrations ``test_promis29.py`` checks, and recomputed alone they give
   the published 4a table (the HealthMeasures manual's, as PROMIS-29 ships it), cell for
   cell, T and SE. So CHOIR's copy is right for those four; PAININ12 and PAININ36 rest on
   CHOIR alone and on check 3.
3. The one published 6a cell found: raw 15 -> T 58.6, the CMS ACCESS Model API FHIR
   implementation guide v0.9.12, example QuestionnaireResponse
   ``PROMISPainInterferenceSFExample`` (answers 2, 2, 3, 2, 3, 3). The same guide's own
   lookup table (41.6 at raw 6 ... 56.3 at raw 15 ... 90.5 at raw 30) contradicts that
   example and the calibrations in every row, and is not used.

Not checked: any other cell against HealthMeasures' published 6a table.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, raw, score, table_of
from .promis_eap import eap_summed_score_table
from .test_promis29 import CALIBRATION as PROMIS29_CALIBRATION
from .test_promis29 import FILE as PROMIS29_FILE
from .test_promis29 import MANUAL as PROMIS29_MANUAL

FILE = "promis_pi6a_v1_0.json"
RAW = range(6, 31)

ITEMS = ["painin9", "painin22", "painin31", "painin34", "painin12", "painin36"]
"""The form's order (the CMS ACCESS guide's Questionnaire for LOINC panel 90973-9,
"PROMIS short form - pain interference 6a - version 1.0": pi6a-1 ... pi6a-6)."""

CALIBRATION = {
    "painin9": (6.53406, (0.1579, 0.8959, 1.4377, 2.0103)),
    "painin22": (5.3971, (0.1709, 0.8366, 1.3266, 1.9589)),
    "painin31": (5.90514, (0.473, 1.0094, 1.5063, 2.077)),
    "painin34": (4.92619, (0.1771, 0.8447, 1.363, 1.9795)),
    "painin12": (5.29892, (0.1808, 0.8281, 1.2865, 1.8824)),
    "painin36": (5.69697, (0.3417, 0.959, 1.4786, 2.036)),
}
"""Check 1: (slope, thresholds) per item, from the CHOIR file named above (values only)."""

SHARED_WITH_4A = ["painin9", "painin22", "painin31", "painin34"]


def recomputed(items=ITEMS, first=6) -> dict[int, tuple[Fraction, Fraction]]:
    """Return {raw: (T, SE)} recomputed from ``CALIBRATION``, rounded to 0.1 as published."""
    rows = eap_summed_score_table([CALIBRATION[code] for code in items])
    return {first + n: (Fraction(f"{t:.1f}"), Fraction(f"{se:.1f}"))
            for n, (t, se) in enumerate(rows)}


def cells_differing(t_table, se_table) -> set[tuple[str, int]]:
    """Return the (T or SE, raw) cells of the given tables that the recomputation does not give."""
    expected = recomputed()
    keys = set(t_table) | set(se_table) | set(expected)
    return ({("T", r) for r in keys if t_table.get(r) != expected.get(r, (None,))[0]}
            | {("SE", r) for r in keys if se_table.get(r) != expected.get(r, (None, None))[1]})


def test_the_file_parses_with_the_six_items_in_form_order_answered_1_to_5():
    defn = load(FILE)
    assert [i.code for i in defn.items] == ITEMS
    for item in defn.items:
        assert [(o.value, o.label) for o in item.options] == [
            (1, "Not at all"), (2, "A little bit"), (3, "Somewhat"), (4, "Quite a bit"),
            (5, "Very much")]


def test_the_shared_items_are_worded_as_promis29_ships_them():
    ours = {i.code: i for i in load(FILE).items}
    theirs = {i.code: i for i in load(PROMIS29_FILE).items}
    for code in SHARED_WITH_4A:
        assert ours[code].text == theirs[code].text
        assert ours[code].options == theirs[code].options
    assert ours["painin12"].text == ("In the past 7 days: How much did pain interfere with "
                                     "the things you usually do for fun?")
    assert ours["painin36"].text == ("In the past 7 days: How much did pain interfere with "
                                     "your enjoyment of social activities?")


def test_the_tables_cover_raw_6_to_30_and_every_cell_is_the_recomputation():
    t_table, se_table = table_of(FILE, "pi6a_t"), table_of(FILE, "pi6a_se")
    assert sorted(t_table) == sorted(se_table) == list(RAW)
    assert cells_differing(t_table, se_table) == set()


def test_a_one_cell_change_to_the_table_is_caught():
    t_table, se_table = table_of(FILE, "pi6a_t"), table_of(FILE, "pi6a_se")
    for raw_score in RAW:
        bumped = t_table | {raw_score: t_table[raw_score] + Fraction(1, 10)}
        assert cells_differing(bumped, se_table) == {("T", raw_score)}
        bumped = se_table | {raw_score: se_table[raw_score] - Fraction(1, 10)}
        assert cells_differing(t_table, bumped) == {("SE", raw_score)}
    assert cells_differing(t_table | {31: Fraction(80)}, se_table) == {("T", 31)}


def test_the_four_shared_items_have_promis29s_pain_interference_calibrations():
    assert sorted(CALIBRATION[code] for code in SHARED_WITH_4A) == sorted(
        PROMIS29_CALIBRATION["pi"])


def test_the_four_shared_items_alone_give_the_published_4a_table():
    # HealthMeasures' Pain Interference 4a v1.0 table, raw 4-20 (as test_promis29 has it).
    t_cells, se_cells = (cells.split() for cells in PROMIS29_MANUAL["pi"])
    four = recomputed(SHARED_WITH_4A, first=4)
    assert [four[r][0] for r in range(4, 21)] == [Fraction(c) for c in t_cells]
    assert [four[r][1] for r in range(4, 21)] == [Fraction(c) for c in se_cells]


def test_the_published_example_raw_15_is_t_58_6():
    # CMS ACCESS Model API FHIR guide v0.9.12, PROMISPainInterferenceSFExample:
    # 2 + 2 + 3 + 2 + 3 + 3 = 15 -> T 58.6.
    answers = dict(zip(ITEMS, [2, 2, 3, 2, 3, 3], strict=True))
    result = score(FILE, answers)
    assert (result["pi6a_raw"], result["pi6a_t"]) == (15, Fraction("58.6"))


@pytest.mark.parametrize(("values", "raw_score"), [
    ([1, 1, 1, 1, 1, 1], 6),        # no interference: the floor
    ([5, 5, 5, 5, 5, 5], 30),       # "Very much" throughout: the ceiling
    ([1, 2, 3, 4, 5, 1], 16),
    ([3, 3, 3, 3, 3, 3], 18),
    ([5, 4, 4, 5, 3, 4], 25),
    ([2, 1, 1, 1, 1, 1], 7),
])
def test_answers_are_summed_and_the_sum_looked_up_with_its_se(values, raw_score):
    result = score(FILE, dict(zip(ITEMS, values, strict=True)))
    t, se = recomputed()[raw_score]
    assert (result["pi6a_raw"], result["pi6a_t"], result["pi6a_se"]) == (raw_score, t, se)


def test_the_endpoints_are_the_recomputations_41_1_and_76_3():
    t_table = table_of(FILE, "pi6a_t")
    assert (t_table[6], t_table[30]) == (Fraction("41.1"), Fraction("76.3"))


def test_more_interference_is_a_higher_t_score_at_every_step():
    t_table = table_of(FILE, "pi6a_t")
    assert all(t_table[r] < t_table[r + 1] for r in range(6, 30))
    directions = {s["key"]: s.get("direction") for s in raw(FILE)["scores"]}
    assert directions["pi6a_t"] == "lower_is_better"


@pytest.mark.parametrize("blank", ITEMS)
def test_a_blank_item_is_not_scorable_naming_it(blank):
    # The table converts the sum of all six answers (docs/instruments.md: a lookup needs
    # every item), as PROMIS-29's domains in this catalogue do: no proration.
    answers = dict(zip(ITEMS, [2, 2, 3, 2, 3, 3], strict=True)) | {blank: None}
    with pytest.raises(NotScorable) as caught:
        score(FILE, answers)
    assert caught.value.item == blank
    assert caught.value.why == (f"{blank} unanswered; the table converts the sum of all 6 "
                                "answers, so none may be missing")


def test_a_study_cannot_allow_a_blank_item():
    with pytest.raises(ValueError, match="pi6a_raw"):
        score(FILE, dict.fromkeys(ITEMS, 1), max_missing={"pi6a_raw": 1})
