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

from .library import load, score
from .promis_eap import published_table
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
    return published_table(CALIBRATION, items, first)


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
