"""EQ-5D-3L index values against the published value sets.

UK: Dolan P. Med Care 1997;35:1095-1108 (TTO decrements: constant 0.081; MO 0.069/0.314;
SC 0.104/0.214; UA 0.036/0.094; PD 0.123/0.386; AD 0.071/0.236; N3 0.269).
US: Shaw JW, Johnson JA, Coons SJ. Med Care 2005;43:203-220 (D1 model), whose paper
reports 11121 = 0.827, 22112 = 0.759, 33113 = 0.102 and 33333 = -0.109.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from outcomes.instruments.scoring import ScoringError, score
from outcomes.instruments.scoring.eq5d import index_uk, index_us

DIMS = ("mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression")
ALL_STATES = ["".join(s) for s in itertools.product("123", repeat=5)]


def answers(state: str, vas: int | None = None) -> dict:
    result = {d: int(c) for d, c in zip(DIMS, state, strict=True)}
    if vas is not None:
        result["vas"] = vas
    return result


@pytest.mark.parametrize(("state", "expected"), [
    ("11111", Fraction(1)),
    ("11112", Fraction("0.848")),   # 1 - 0.081 - 0.071
    ("11121", Fraction("0.796")),   # 1 - 0.081 - 0.123
    ("21111", Fraction("0.850")),   # 1 - 0.081 - 0.069
    ("22222", Fraction("0.516")),   # 1 - 0.081 - 0.069 - 0.104 - 0.036 - 0.123 - 0.071
    ("11113", Fraction("0.414")),   # 1 - 0.081 - 0.236 - 0.269 (N3)
    ("33333", Fraction("-0.594")),  # the value set's minimum
])
def test_uk_index_is_one_minus_the_dolan_decrements(state, expected):
    assert index_uk(state) == expected


@pytest.mark.parametrize(("state", "published"), [
    ("11121", 0.827), ("22112", 0.759), ("33113", 0.102), ("33333", -0.109),
])
def test_us_index_matches_the_values_shaw_published(state, published):
    assert float(index_us(state)) == pytest.approx(published, abs=0.0005)


def test_us_11111_is_exactly_one():
    assert index_us("11111") == 1


def test_score_returns_the_state_both_indexes_and_the_vas():
    result = score("eq5d3l", answers("21232", vas=55))
    assert result["eq5d_state"] == "21232"
    # UK: 1 - 0.081 - 0.069 - 0.036 - 0.386 - 0.071 - 0.269 (N3, PD at level 3)
    assert result["eq5d_index_uk"] == Fraction("0.088")
    assert result["eq5d_index_us"] == index_us("21232")
    assert result["eq5d_vas"] == 55


def test_the_vas_may_be_left_out_but_no_dimension_may():
    assert score("eq5d3l", answers("11111"))["eq5d_vas"] is None
    partial = answers("11111")
    del partial["anxiety_depression"]
    with pytest.raises(ScoringError) as error:
        score("eq5d3l", partial)
    assert error.value.item == "anxiety_depression"


@pytest.mark.parametrize(("item", "value"), [("mobility", 0), ("mobility", 4), ("vas", 101),
                                             ("vas", -1), ("self_care", "2")])
def test_out_of_range_levels_and_vas_are_refused_by_item(item, value):
    bad = {**answers("11111", vas=50), item: value}
    with pytest.raises(ScoringError) as error:
        score("eq5d3l", bad)
    assert error.value.item == item


def test_every_one_of_the_243_states_scores_within_the_value_sets_range():
    uk = {state: index_uk(state) for state in ALL_STATES}
    us = {state: index_us(state) for state in ALL_STATES}
    assert min(uk.values()) == uk["33333"] == Fraction("-0.594")
    assert max(uk.values()) == 1 and [s for s, v in uk.items() if v == 1] == ["11111"]
    assert min(us.values()) == us["33333"]
    assert [s for s, v in us.items() if v == 1] == ["11111"]
    assert all(v < 1 for s, v in us.items() if s != "11111")


def test_a_worse_level_on_one_dimension_never_raises_the_uk_index():
    for state in ALL_STATES:
        for position, level in enumerate(state):
            if level != "3":
                worse = state[:position] + str(int(level) + 1) + state[position + 1:]
                assert index_uk(worse) <= index_uk(state)


def test_an_exact_change_of_0_074_is_not_lost_to_floating_point():
    # SPEC 3: 0.590 - 0.516 in floats is 0.07399999999999995 and would miss the MID.
    assert float(Fraction("0.590")) - float(Fraction("0.516")) < 0.074
    assert Fraction("0.590") - index_uk("22222") == Fraction("0.074")


# Shaw JW, Johnson JA, Coons SJ. Med Care 2005;43:203-220, table 3 (the D1 model), the
# coefficients as SPEC 3.3 prints them, in full precision: level 2 and level 3 of each
# dimension, then D1, I2 squared, I3 and I3 squared.
SHAW_LEVELS = {"mobility": ("0.146016", "0.557685"), "self_care": ("0.1753425", "0.4711896"),
               "usual_activities": ("0.1397295", "0.3742594"),
               "pain_discomfort": ("0.1728907", "0.5371011"),
               "anxiety_depression": ("0.156223", "0.4501876")}
SHAW_D1, SHAW_I2_SQUARED, SHAW_I3, SHAW_I3_SQUARED = ("-0.1395949", "0.0106868",
                                                      "-0.1215579", "-0.0147963")


def shaw_index(state: str) -> Fraction:
    """SPEC 3.3's formula, written out again: 1 - (level terms + D1 D1 + I2² I2² + I3 I3
    + I3² I3²), D1 = max(0, dimensions at 2 or 3 - 1), I2 = max(0, at 2 - 1),
    I3 = max(0, at 3 - 1)."""
    levels = [int(c) for c in state]
    total = sum((Fraction(SHAW_LEVELS[d][level - 2])
                 for d, level in zip(DIMS, levels, strict=True) if level > 1), Fraction(0))
    at2, at3 = levels.count(2), levels.count(3)
    d1, i2, i3 = max(0, at2 + at3 - 1), max(0, at2 - 1), max(0, at3 - 1)
    total += (Fraction(SHAW_D1) * d1 + Fraction(SHAW_I2_SQUARED) * i2 ** 2
              + Fraction(SHAW_I3) * i3 + Fraction(SHAW_I3_SQUARED) * i3 ** 2)
    return 1 - total


def test_every_us_index_is_exactly_shaws_d1_model():
    # Exact, not to 0.0005: a coefficient changed in its fourth decimal changes some
    # state's index, and this catches it.
    assert {s: index_us(s) for s in ALL_STATES} == {s: shaw_index(s) for s in ALL_STATES}
