"""PROMIS Global Health v1.2 scoring (Hays 2009; HealthMeasures scoring manual)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.instruments.definitions import definition_for
from outcomes.instruments.scoring import ScoringError, score
from outcomes.instruments.scoring.base import from_v1_0

# The tables and the pain rescoring the engine scores by, as library/promis_gh.json has
# them: raw score -> (T-score, SE) per scale, and global07r's recode.
PROMIS = definition_for("promis_gh")


def t_table(scale):
    t = dict(PROMIS.score(f"{scale}_t").table)
    se = dict(PROMIS.score(f"{scale}_se").table)
    return {raw: (t[raw], se[raw]) for raw in t}


GPH_T, GMH_T = t_table("gph"), t_table("gmh")
PAIN = dict(dict(PROMIS.score("gph_raw").recode)["global07r"])

BEST = {"global01": 5, "global02": 5, "global03": 5, "global04": 5, "global05": 5,
        "global09r": 5, "global06": 5, "global10r": 5, "global08r": 5, "global07r": 0}


@pytest.mark.parametrize(("pain", "rescored"), [(0, 5), (1, 4), (3, 4), (4, 3), (6, 3),
                                                (7, 2), (9, 2), (10, 1)])
def test_pain_is_rescored_to_five_levels(pain, rescored):
    assert PAIN[pain] == rescored


def test_the_best_answers_give_raw_20_and_the_table_maximum():
    result = score("promis_gh", BEST)
    assert result["gph_raw"] == result["gmh_raw"] == 20
    assert result["gph_t"] == Fraction("67.7") and result["gph_se"] == Fraction("5.9")
    assert result["gmh_t"] == Fraction("67.6") and result["gmh_se"] == Fraction("5.3")


def test_a_hand_worked_answer_set():
    answers = {"global01": 3, "global02": 3, "global03": 2, "global04": 4, "global05": 3,
               "global09r": 2, "global06": 3, "global10r": 4, "global08r": 3, "global07r": 6}
    result = score("promis_gh", answers)
    # GPH: global03 2 + global06 3 + pain 6 -> 3 + global08r 3 = 11 -> T 37.4 (SE 4.1).
    assert (result["gph_raw"], result["gph_t"], result["gph_se"]) == (
        11, Fraction("37.4"), Fraction("4.1"))
    # GMH: global02 3 + global04 4 + global05 3 + global10r 4 = 14 -> T 48.3 (SE 3.7).
    assert (result["gmh_raw"], result["gmh_t"], result["gmh_se"]) == (
        14, Fraction("48.3"), Fraction("3.7"))
    assert (result["global01"], result["global09r"]) == (3, 2)


def test_the_worst_answers_give_raw_4_and_the_table_minimum():
    worst = {k: 1 for k in BEST} | {"global07r": 10}
    result = score("promis_gh", worst)
    assert (result["gph_raw"], result["gph_t"]) == (4, Fraction("16.2"))
    assert (result["gmh_raw"], result["gmh_t"]) == (4, Fraction("21.2"))


def test_a_scale_missing_one_item_is_not_prorated_while_the_other_is_scored():
    answers = {**BEST, "global06": None}
    result = score("promis_gh", answers)
    assert result["gph_raw"] is None and result["gph_t"] is None and result["gph_se"] is None
    assert result["gmh_t"] == Fraction("67.6")


def test_nothing_answered_is_an_error():
    with pytest.raises(ScoringError) as error:
        score("promis_gh", {})
    assert str(error.value) == "promis_gh: no items answered"


@pytest.mark.parametrize(("item", "value"), [("global01", 0), ("global01", 6),
                                             ("global07r", 11), ("global08r", True)])
def test_out_of_range_answers_name_the_item(item, value):
    with pytest.raises(ScoringError) as error:
        score("promis_gh", {**BEST, item: value})
    assert error.value.item == item


def test_v1_0_data_reverse_global08_and_global10():
    converted = from_v1_0({"global08": 1, "global10": 2, "global01": 4})
    assert converted == {"global08r": 5, "global10r": 4, "global01": 4}


def test_t_scores_rise_strictly_with_the_raw_score():
    for table in (GPH_T, GMH_T):
        raws = sorted(table)
        assert raws == list(range(4, 21))
        ts = [table[r][0] for r in raws]
        assert all(a < b for a, b in itertools.pairwise(ts))


@given(st.fixed_dictionaries({k: st.integers(0, 10) if k == "global07r"
                              else st.integers(1, 5) for k in BEST}))
def test_any_complete_answers_give_raw_scores_4_to_20(answers):
    result = score("promis_gh", answers)
    assert 4 <= result["gph_raw"] <= 20 and 4 <= result["gmh_raw"] <= 20
    assert result["gph_t"] == GPH_T[result["gph_raw"]][0]


# SPEC 3.4's table, from the HealthMeasures PROMIS Global Health scoring manual (v1.2):
# raw score -> (GPH T, SE, GMH T, SE). Every row is checked, exactly.
MANUAL = """
4 16.2 4.8 21.2 4.6
5 19.9 4.7 25.1 4.1
6 23.5 4.5 28.4 3.9
7 26.7 4.3 31.3 3.7
8 29.6 4.2 33.8 3.7
9 32.4 4.2 36.3 3.7
10 34.9 4.1 38.8 3.6
11 37.4 4.1 41.1 3.6
12 39.8 4.1 43.5 3.6
13 42.3 4.2 45.8 3.6
14 44.9 4.3 48.3 3.7
15 47.7 4.4 50.8 3.7
16 50.8 4.6 53.3 3.7
17 54.1 4.7 56.0 3.8
18 57.7 4.9 59.0 3.9
19 61.9 5.2 62.5 4.2
20 67.7 5.9 67.6 5.3
"""


@pytest.mark.parametrize("line", MANUAL.strip().splitlines())
def test_every_row_of_both_t_score_tables_is_the_manuals(line):
    raw, gph_t, gph_se, gmh_t, gmh_se = line.split()
    assert GPH_T[int(raw)] == (Fraction(gph_t), Fraction(gph_se))
    assert GMH_T[int(raw)] == (Fraction(gmh_t), Fraction(gmh_se))
