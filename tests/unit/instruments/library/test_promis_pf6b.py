"""PROMIS Short Form v1.2 Physical Function 6b: raw score 6-30 -> T-score (SE).

The file's table is COMPUTED, not transcribed: no transcription of the HealthMeasures 6b
table (v1.2 or v2.0) could be found, nor the v2.0 bank's calibrations (the catalogue
README says what was searched). What every cell of ``promis_pf6b_v1_2.json`` is checked
against:

1. ``CALIBRATION``: the six items' graded-response calibrations (slope, four thresholds,
   logistic metric), PROMIS Physical Function item bank v1.2, as generated from the
   Assessment Center form OID 55299025-097B-4086-86EF-68F362FA34AC into Stanford CHOIR
   (chamtrain/choir-d, commit 408fec1c21f6682473a72aa8b36ec95240b3cf68,
   src/main/java/edu/stanford/survey/server/promis/PromisShortFormOneTwoPhysicalFunction6b.java),
   written out again below. Every T and SE cell equals the EAP summed-score table
   recomputed from them by ``promis_eap`` (the method that reproduces every published
   PROMIS-29 cell it is checked on).
2. The four items the 6b shares with a Physical Function 4a (PFA11, PFA21, PFA23, PFA53)
   have, in CHOIR, the same calibrations in the v1.0 4a form (OID
   C81F5920-D9DB-48F7-A0AD-A6F2A4BF6D36), this v1.2 6b form and the v1.2 bank (OID
   56296D2D-C919-40F1-AFC7-6F544FCA7772). Recomputed alone, they give ``PF_4A_V1``, the
   Physical Function column of two public PROMIS-29 transcriptions (an R package's data
   script and a study's scoring script, found by exact-string search; the search names
   neither repository), cell for cell, all 17 T cells. That column is not the v2.0 4a
   table PROMIS-29 v2.1 ships (22.5 at raw 4, not 22.9): apparently the retired v1.0 4a.
   So CHOIR's copy is right for those four; PFC12 and PFB1 rest on CHOIR alone and on
   check 3. No published SE for them was found.
3. The one published 6b cell found: raw 17 -> T 36.8, the CMS ACCESS Model API FHIR
   implementation guide v0.9.6, example QuestionnaireResponse
   ``PROMISPhysicalFunctionExample`` (answers 4, 3, 3, 4, 1, 2; LOINC 76804-4, "PROMIS
   short form - physical function 6b - version 1.2"), the same example as the PACIO Sample
   Data Depot's ``PROMISPhysicalFunctionExample1`` (paciowg/sample-data-fsh,
   input/fsh/EX_jd1_questionnaire-promis-pf.fsh). That file's own lookup table (16.2 at
   raw 6 ... 47.7 at raw 17 ... 99.7 at raw 30) contradicts the example and the
   calibrations in every row, and is not used.

Not checked: any cell against HealthMeasures' published 6b table; any SE cell against a
published one.
"""

from __future__ import annotations

from fractions import Fraction

from .library import exact, load, score
from .promis_eap import published_table
from .test_promis29 import FILE as PROMIS29_FILE
from .test_promis29 import MANUAL as PROMIS29_MANUAL

FILE = "promis_pf6b_v1_2.json"
RAW = range(6, 31)

ITEMS = ["pfa11", "pfa21", "pfa23", "pfa53", "pfc12", "pfb1"]
"""The form's order (the CMS ACCESS guide's Questionnaire for LOINC panel 76804-4:
pf6b-1 ... pf6b-6; CHOIR lists PFB1 before PFC12, which a sum does not see)."""

ABLE = [(5, "Without any difficulty"), (4, "With a little difficulty"),
        (3, "With some difficulty"), (2, "With much difficulty"), (1, "Unable to do")]
LIMITED = [(5, "Not at all"), (4, "Very little"), (3, "Somewhat"), (2, "Quite a lot"),
           (1, "Cannot do")]

CALIBRATION = {
    "pfa11": (4.83487, (-1.9837, -1.5298, -1.1056, -0.4545)),
    "pfa21": (4.23685, (-1.885, -1.4805, -1.0464, -0.3953)),
    "pfa23": (4.28753, (-1.9146, -1.5792, -1.1944, -0.6814)),
    "pfa53": (4.43957, (-2.546, -1.9738, -1.4509, -0.8195)),
    "pfc12": (4.68283, (-1.4213, -0.9182, -0.3854, 0.0586)),
    "pfb1": (4.38889, (-2.4474, -1.6384, -1.076, -0.632)),
}
"""Check 1: (slope, thresholds) per item, from the CHOIR file named above (values only)."""

SHARED_WITH_4A = ["pfa11", "pfa21", "pfa23", "pfa53"]

PF_4A_V1 = ("22.9 26.9 29.1 30.7 32.1 33.3 34.4 35.6 36.7 37.9 39.1 40.4 41.8 43.4 45.3 "
            "48.0 56.9")
"""Check 2: the Physical Function 4a T-scores, raw 4 to 20, as both PROMIS-29
transcriptions give them (their other six domains are the v2.1 manual's)."""


def recomputed(items=ITEMS, first=6) -> dict[int, tuple[Fraction, Fraction]]:
    """Return {raw: (T, SE)} recomputed from ``CALIBRATION``, rounded to 0.1 as published."""
    return published_table(CALIBRATION, items, first)


def test_the_file_parses_with_the_six_items_in_form_order_and_their_answers():
    defn = load(FILE)
    assert [i.code for i in defn.items] == ITEMS
    for item in defn.items:
        expected = LIMITED if item.code in ("pfc12", "pfb1") else ABLE
        assert [(o.value, o.label) for o in item.options] == expected


def test_the_shared_items_are_worded_as_promis29_ships_them():
    ours = {i.code: i for i in load(FILE).items}
    theirs = {i.code: i for i in load(PROMIS29_FILE).items}
    for code in SHARED_WITH_4A:
        assert ours[code].text == theirs[code].text
        assert ours[code].options == theirs[code].options
    # As CHOIR, the CMS ACCESS guide and the PACIO sample data word them.
    assert ours["pfc12"].text == ("Does your health now limit you in doing two hours of "
                                  "physical labor?")
    assert ours["pfb1"].text == ("Does your health now limit you in doing moderate work "
                                 "around the house like vacuuming, sweeping floors or "
                                 "carrying in groceries?")


def test_the_four_shared_items_alone_give_the_published_v1_0_4a_table():
    four = recomputed(SHARED_WITH_4A, first=4)
    assert [four[r][0] for r in range(4, 21)] == exact(PF_4A_V1.split())


def test_these_are_not_the_v2_0_calibrations_promis29_is_scored_by():
    # PROMIS-29 v2.1's Physical Function 4a v2.0 table differs from the v1.0 one (and from
    # these calibrations) in 13 of 17 cells, by up to 0.4 (22.5, not 22.9, at raw 4).
    v2 = exact(PROMIS29_MANUAL["pf"][0].split())
    v1 = exact(PF_4A_V1.split())
    differing = [r for r, a, b in zip(range(4, 21), v1, v2, strict=True) if a != b]
    assert len(differing) == 13 and max(abs(a - b) for a, b in zip(v1, v2, strict=True)) == \
        Fraction("0.4")


def test_the_published_example_raw_17_is_t_36_8():
    # CMS ACCESS Model API FHIR guide v0.9.6, PROMISPhysicalFunctionExample:
    # 4 + 3 + 3 + 4 + 1 + 2 = 17 -> T 36.8.
    answers = dict(zip(ITEMS, [4, 3, 3, 4, 1, 2], strict=True))
    result = score(FILE, answers)
    assert (result["pf6b_raw"], result["pf6b_t"]) == (17, Fraction("36.8"))
