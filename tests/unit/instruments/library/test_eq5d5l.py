"""EQ-5D-5L: the US 2019 value set (Pickard et al.) and the UK crosswalk (van Hout et al. 2012).

How each of the file's 3125-state tables is checked (every state, not a sample):

US (``eq5d5l_index_us``):
1. recomputed exactly from Pickard 2019's published level decrements (``PICKARD_2019``,
   kept here as literals; 1 minus the decrements, no constant) - every state must equal;
2. the EuroQol group's own 3125-state US table (the ``eq5dsuite`` package's value sets):
   its sum and position-weighted sum (``EUROQOL_US_CHECKSUMS``) must equal the file's, so a
   changed or swapped state fails; plus
3. the values the ``eq5d`` R package documents in its tests, and the set's published range.

UK crosswalk (``eq5d5l_index_uk_cw``):
1. the EuroQol crosswalk index value table as carried by a second package (``valueEQ5D``):
   sum and position-weighted sum must equal the file's (the ``eq5d`` package's copy, the
   file's source, agrees with it in all 3125 states);
2. recomputed from van Hout 2012's response-mapping probabilities (``VAN_HOUT_2012``,
   P(3L level | 5L level) per dimension) and the UK EQ-5D-3L TTO value set (Dolan 1997,
   SPEC 3.3): every state within 0.0006 of the published table (the published values
   were computed at a precision this reconstruction does not reproduce; 2933 of 3125
   states agree to the third decimal); plus
3. the values the ``eq5d`` R package documents, and the UK 3L set's range (-0.594 to 1).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from .library import load, raw, score

FILE = "eq5d5l.json"
DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort",
              "anxiety_depression")
STATES = ["".join(s) for s in itertools.product("12345", repeat=5)]

PICKARD_2019 = {
    "mobility": ("0.096", "0.122", "0.237", "0.322"),
    "self_care": ("0.089", "0.107", "0.220", "0.261"),
    "usual_activities": ("0.068", "0.101", "0.255", "0.255"),
    "pain_discomfort": ("0.060", "0.098", "0.318", "0.414"),
    "anxiety_depression": ("0.057", "0.123", "0.299", "0.321"),
}
"""Pickard 2019 (Value Health 22:931-941), main model: decrements for levels 2-5."""

EUROQOL_US_CHECKSUMS = (Fraction(5885, 8), Fraction(3109155, 4))
"""Sum, and sum of (1-based position in 11111..55555 order) x value, of the EuroQol US table."""

VALUEEQ5D_CROSSWALK_CHECKSUMS = (Fraction(573997, 1000), Fraction(64785737, 125))
"""The same two sums over the UK column of the crosswalk table carried by ``valueEQ5D``."""

VAN_HOUT_2012 = (
    # Rows: dimension x 3L level (MO1-3, SC1-3, UA1-3, PD1-3, AD1-3); columns: 5L levels 1-5.
    (1, 0.17734724292101342, 0, 0, 0),
    (0, 0.8226527570789866, 1, 0.9278846153846154, 0),
    (0, 0, 0, 0.07211538461538461, 1),
    (1, 0.1673469387755102, 0, 0, 0),
    (0, 0.8326530612244898, 1, 0.7569444444444444, 0),
    (0, 0, 0, 0.24305555555555555, 1),
    (1, 0.19781553398058252, 0, 0, 0),
    (0, 0.8021844660194175, 1, 0.6715686274509803, 0),
    (0, 0, 0, 0.3284313725490196, 1),
    (1, 0.1988689915174364, 0, 0, 0),
    (0, 0.8011310084825636, 1, 0.6005025125628141, 0),
    (0, 0, 0, 0.39949748743718594, 1),
    (1, 0.20660377358490567, 0, 0, 0),
    (0, 0.7933962264150943, 1, 0.5093167701863354, 0),
    (0, 0, 0, 0.4906832298136646, 1),
)

DOLAN_1997 = {"constant": "0.081", "n3": "0.269", "levels": (
    ("0.069", "0.314"), ("0.104", "0.214"), ("0.036", "0.094"), ("0.123", "0.386"),
    ("0.071", "0.236"))}
"""UK EQ-5D-3L TTO model (Dolan 1997, as SPEC 3.3 gives it)."""


def table(key: str) -> dict[str, Fraction]:
    entry = next(s for s in raw(FILE)["scores"] if s["key"] == key)
    return {state: Fraction(str(value)) for state, value in entry["table"].items()}


def checksums(values: dict[str, Fraction]) -> tuple[Fraction, Fraction]:
    return (sum(values[s] for s in STATES),
            sum((n + 1) * values[s] for n, s in enumerate(STATES)))


def dolan_uk(state3: tuple[int, ...]) -> Fraction:
    if all(level == 1 for level in state3):
        return Fraction(1)
    total = Fraction(DOLAN_1997["constant"])
    for level, (two, three) in zip(state3, DOLAN_1997["levels"], strict=True):
        total += Fraction({1: "0", 2: two, 3: three}[level])
    if 3 in state3:
        total += Fraction(DOLAN_1997["n3"])
    return 1 - total


def answers(state: str, vas: int | None = 70) -> dict[str, int | None]:
    return {**dict(zip(DIMENSIONS, map(int, state), strict=True)), "vas": vas}


def test_the_file_parses_with_five_dimensions_at_five_levels_and_an_optional_vas():
    defn = load(FILE)
    assert [i.code for i in defn.items] == [*DIMENSIONS, "vas"]
    assert all([o.value for o in defn.item(d).options] == [1, 2, 3, 4, 5] for d in DIMENSIONS)
    assert not defn.item("vas").required


def test_only_labels_are_shipped_and_the_licence_says_so():
    licence = raw(FILE)["licence"]
    assert "labels only" in licence and "EuroQol" in licence


def test_every_us_state_is_1_minus_pickards_decrements():
    us = table("eq5d5l_index_us")
    assert sorted(us) == STATES
    for state in STATES:
        expected = 1 - sum((Fraction(PICKARD_2019[d][int(level) - 2])
                            for d, level in zip(DIMENSIONS, state, strict=True)
                            if level != "1"),
                           Fraction(0))
        assert us[state] == expected, state


def test_the_us_table_matches_the_euroqol_groups_table():
    assert checksums(table("eq5d5l_index_us")) == EUROQOL_US_CHECKSUMS


@pytest.mark.parametrize(("state", "value"), [
    # The eq5d R package's documented US values, and Pickard 2019's range ends.
    ("11111", "1"), ("21111", "0.904"), ("12111", "0.911"), ("11211", "0.932"),
    ("11121", "0.940"), ("11112", "0.943"), ("21354", "0.090"), ("55555", "-0.573"),
])
def test_published_us_values(state, value):
    assert score(FILE, answers(state))["eq5d5l_index_us"] == Fraction(value)


def test_the_crosswalk_table_matches_a_second_copy_of_the_euroqol_table():
    cw = table("eq5d5l_index_uk_cw")
    assert sorted(cw) == STATES
    assert checksums(cw) == VALUEEQ5D_CROSSWALK_CHECKSUMS


def test_the_crosswalk_is_van_houts_mapping_onto_dolans_uk_values():
    cw = table("eq5d5l_index_uk_cw")
    values3 = {s: float(dolan_uk(s)) for s in itertools.product((1, 2, 3), repeat=5)}
    agree = 0
    for state in STATES:
        levels5 = [int(c) - 1 for c in state]
        expected = 0.0
        for state3, value in values3.items():
            p = 1.0
            for d, (l3, l5) in enumerate(zip(state3, levels5, strict=True)):
                p *= VAN_HOUT_2012[3 * d + l3 - 1][l5]
            expected += p * value
        assert abs(float(cw[state]) - expected) < 0.0006, state
        agree += round(expected, 3) == float(cw[state])
    assert agree >= 2933


@pytest.mark.parametrize(("state", "value"), [
    # The eq5d R package's documented UK crosswalk values; 55555 is the UK 3L minimum.
    ("11111", "1"), ("11221", "0.795"), ("44441", "0.226"), ("44525", "0.004"),
    ("55555", "-0.594"),
])
def test_published_crosswalk_values(state, value):
    assert score(FILE, answers(state))["eq5d5l_index_uk_cw"] == Fraction(value)


def test_the_vas_is_reported_as_given_and_a_blank_vas_leaves_the_index_scored():
    assert score(FILE, answers("21354", vas=65))["eq5d5l_vas"] == 65
    result = score(FILE, answers("21354", vas=None))
    assert result["eq5d5l_index_us"] == Fraction("0.090")
    assert not isinstance(result["eq5d5l_vas"], Fraction | int)
