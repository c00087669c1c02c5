"""The MCID from a study's own data: Cronbach's alpha, the SEM, half an SD, the anchor.

Alpha is checked against a published worked example and against the covariance-matrix
form of the coefficient (a different formula: k/(k-1) x (1 - trace(C) / sum(C))); the
anchor-based estimate against scipy's t interval on changes recomputed from raw values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from outcomes.analysis import stats, wording
from outcomes.analysis.computation import Cohort, McidPlan, StudyColumns, compute
from outcomes.instruments.definitions.base import Anchor

# "Survey reliability", thinkdeeply.cc (CC BY 4.0): ten people, four 1-5 Likert items;
# item variances 0.6778, 0.989, 0.6222, 1.344; alpha 0.674 by hand and by R's psych.
PUBLISHED = np.array([
    [3, 3, 3, 3], [3, 3, 4, 3], [3, 3, 3, 1], [5, 4, 4, 5], [2, 1, 4, 4],
    [4, 4, 4, 5], [3, 2, 3, 3], [3, 4, 3, 3], [4, 2, 2, 3], [3, 3, 2, 3],
])


def covariance_alpha(matrix: np.ndarray) -> float:
    """Alpha from the covariance matrix: k/(k-1) x (1 - trace(C) / sum of every entry)."""
    c = np.cov(matrix, rowvar=False)
    k = c.shape[0]
    return k / (k - 1) * (1 - np.trace(c) / c.sum())


def test_alpha_of_the_published_example_is_0_674():
    found = stats.item_variances(PUBLISHED)
    assert (found.n, found.items) == (10, 4)
    assert found.item_variance_sum == pytest.approx(0.6778 + 0.989 + 0.6222 + 1.344,
                                                    abs=0.001)
    assert stats.cronbach_alpha(found) == pytest.approx(0.674, abs=0.0005)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(2, 8), st.integers(0, 10_000))
def test_alpha_is_the_covariance_matrix_form(patients, items, seed):
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(patients, 1))
    matrix = np.clip(np.round(2 + trait + rng.normal(size=(patients, items))), 0, 4)
    expected = covariance_alpha(matrix)
    found = stats.cronbach_alpha(stats.item_variances(matrix))
    if not np.isfinite(expected) or np.var(matrix.sum(axis=1)) == 0:
        assert found is None
    else:
        assert found == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_alpha_needs_two_items_two_patients_and_a_varying_total():
    assert stats.cronbach_alpha(stats.item_variances(np.array([[1], [2], [3]]))) is None
    assert stats.cronbach_alpha(stats.item_variances(np.array([[1, 2]]))) is None
    # Totals all 4: no variance to explain.
    assert stats.cronbach_alpha(stats.item_variances(np.array([[1, 3], [2, 2], [3, 1]]))) \
        is None


def test_the_sem_is_the_sd_times_the_root_of_one_minus_alpha():
    # Wyrwich 1999: SEM = SD x sqrt(1 - r). SD 10 and r 0.91 give 3.
    assert stats.standard_error_of_measurement(10.0, 0.91) == pytest.approx(3.0)
    assert stats.standard_error_of_measurement(None, 0.9) is None
    assert stats.standard_error_of_measurement(10.0, None) is None


def test_an_alpha_of_0_or_below_gives_no_sem_and_the_page_says_why():
    # Items that pull apart (answers in opposite directions): alpha below 0, and
    # SD x sqrt(1 - alpha) would exceed the SD itself, which is no MCID.
    found = stats.item_variances(np.array([[1, 3], [2, 1], [3, 2], [1, 2]]))
    alpha = stats.cronbach_alpha(found)
    assert alpha is not None and alpha < 0
    assert stats.standard_error_of_measurement(10.0, alpha) is None
    assert stats.standard_error_of_measurement(10.0, 0.0) is None
    assert stats.standard_error_of_measurement(10.0, 0.01) == pytest.approx(10 * 0.99 ** 0.5)
    row = {"sem": None, "items": 2, "alpha": alpha, "alpha_n": 4, "baseline_sd": 10.0}
    assert wording.sem_text("odi", row) == (
        f"Not estimable: Cronbach's α is {wording.number(alpha, 2)} (n 4), 0 or below, so "
        "the questions do not measure one thing in these patients.")


# A study of 8 patients: ODI at baseline and 3 months, PGIC at 3 months (1 very much
# improved ... 7 very much worse). Patient 7 has no baseline ODI, patient 8 no PGIC.
BASE = [40.0, 52.0, 36.0, 60.0, 44.0, 48.0, None, 30.0]
M3 = [20.0, 30.0, 30.0, 58.0, 40.0, 50.0, 10.0, 28.0]
PGIC = [1, 2, 3, 4, 2, 6, 1, None]
PGIC_ANCHOR = Anchor("much improved or better", upto=2)


# ODI's ten items at baseline (five patients answered every one): what the fetchers
# read for alpha.
ODI_ITEMS = np.array([[2, 2, 3, 1, 2, 2, 2, 2, 3, 1], [3, 2, 3, 3, 2, 3, 2, 3, 2, 3],
                      [1, 2, 2, 2, 1, 2, 2, 2, 2, 2], [3, 3, 4, 3, 3, 3, 2, 3, 3, 3],
                      [2, 2, 3, 2, 2, 2, 3, 2, 2, 2]])


def small_study(anchor_values=PGIC) -> StudyColumns:
    n = len(BASE)
    cohort = Cohort(np.arange(500, 500 + n), np.arange(n) % 2, np.zeros(n, np.int64),
                    np.full((n, 3), np.nan), arm_codes=["BMC", "CONTROL"],
                    sex_codes=["female"])
    data = StudyColumns(cohort=cohort, baseline="baseline")
    for key, tp, values in (("odi", "baseline", BASE), ("odi", "m3", M3),
                            ("pgic_rating", "m3", anchor_values)):
        at = np.array([i for i, v in enumerate(values) if v is not None], np.int64)[::-1]
        data.scores[(tp, key)] = (at, np.array([values[i] for i in at], float))
    data.reliability["odi"] = stats.item_variances(ODI_ITEMS)
    return data


def plan(**anchors) -> McidPlan:
    return McidPlan(scores=["odi"], items={"odi": 10}, follow_ups=["m3"],
                    anchors=anchors or {"pgic_rating": PGIC_ANCHOR},
                    anchors_at={"m3": list(anchors or ["pgic_rating"])})


def test_the_anchor_based_mcid_is_the_mean_change_of_the_improved_with_scipys_interval():
    (row,) = compute(small_study(), [], mcid=plan()).mcid
    # Improved (PGIC 1 or 2): patients 1, 2, 5 and 7; 7 has no baseline ODI.
    changes = [M3[i] - BASE[i] for i in (0, 1, 4)]  # -20, -22, -4
    mean = float(np.mean(changes))
    low, high = sps.t.interval(0.95, len(changes) - 1, loc=mean, scale=sps.sem(changes))
    assert (row["score"], row["timepoint"], row["anchor"]) == ("odi", "m3", "pgic_rating")
    assert (row["anchor_answered"], row["anchor_improved"], row["anchor_n"]) == (7, 4, 3)
    assert row["anchor_mean_change"] == pytest.approx(-46 / 3)
    assert (row["anchor_ci_low"], row["anchor_ci_high"]) == (pytest.approx(low),
                                                             pytest.approx(high))
    assert row["anchor_label"] == "much improved or better"


def test_a_higher_is_better_anchor_counts_the_values_from_its_cut_off():
    # The same ratings turned round (8 - PGIC: 7 very much improved), improved from 6.
    turned = [None if v is None else 8 - v for v in PGIC]
    (row,) = compute(small_study(turned), [],
                     mcid=plan(pgic_rating=Anchor("improved", from_=6))).mcid
    assert (row["anchor_n"], row["anchor_mean_change"]) == (3, pytest.approx(-46 / 3))


def test_half_the_baseline_sd_and_the_sem_pool_every_arm():
    (row,) = compute(small_study(), [], mcid=plan()).mcid
    baseline = [v for v in BASE if v is not None]
    sd = float(np.std(baseline, ddof=1))
    assert (row["baseline_n"], row["baseline_sd"]) == (7, pytest.approx(sd))
    assert row["half_sd"] == pytest.approx(sd / 2)
    alpha = covariance_alpha(ODI_ITEMS)
    assert (row["alpha"], row["alpha_n"], row["items"]) == (pytest.approx(alpha), 5, 10)
    assert row["sem"] == pytest.approx(sd * math.sqrt(1 - alpha))


def test_a_single_item_score_has_no_sem_and_a_time_point_without_anchor_says_none():
    data = small_study()
    del data.reliability["odi"]
    (row,) = compute(data, [], mcid=McidPlan(scores=["odi"], items={"odi": 1},
                                            follow_ups=["m3"])).mcid
    assert (row["items"], row["alpha"], row["sem"]) == (1, None, None)
    assert row["half_sd"] is not None
    assert (row["anchor"], row["anchor_n"], row["anchor_mean_change"]) == (None, 0, None)
