"""Statistics against hand-worked values and textbook examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outcomes.analysis.stats import (
    chi_square,
    describe,
    fisher_exact,
    mann_whitney,
    mean_ci,
    welch_t,
)


def test_describe_matches_a_hand_worked_sample():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5; squared deviations sum to 32, so SD = sqrt(32/7).
    s = describe([2, 4, 4, 4, 5, 5, 7, 9])
    assert s.n == 8
    assert s.mean == 5
    assert s.sd == pytest.approx(math.sqrt(32 / 7))
    # Type-7 quartiles: position 1 + 0.25 * 7 = 2.75 -> 4 + 0.75 * 0 = 4; median 4.5;
    # position 6.25 -> 5 + 0.25 * (7 - 5) = 5.5.
    assert (s.q1, s.median, s.q3) == (4, 4.5, 5.5)


def test_an_empty_sample_has_no_statistics_and_one_value_has_no_sd():
    assert describe([]).mean is None
    one = describe([3])
    assert one.mean == 3 and one.sd is None
    assert mean_ci([3]) == (None, None)


def test_the_ci_of_a_mean_uses_students_t():
    # 1..5: mean 3, SD sqrt(2.5), SEM sqrt(0.5); t(0.975, 4) = 2.776445 (t table).
    low, high = mean_ci([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(0.5)
    assert low == pytest.approx(3 - half, abs=1e-5)
    assert high == pytest.approx(3 + half, abs=1e-5)


def test_fishers_exact_test_on_the_lady_tasting_tea():
    # Fisher's tea-tasting table [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857.
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)


def test_fishers_exact_test_on_a_hand_computed_extreme_table():
    # [[4, 0], [0, 4]]: P(table) = 1 / C(8, 4) = 1/70; the mirror table adds another 1/70.
    assert fisher_exact(4, 4, 0, 4) == pytest.approx(2 / 70)


def test_welch_t_against_a_hand_computation():
    a, b = [1, 2, 3, 4, 5], [2, 4, 6, 8, 10]
    # means 3 and 6; variances 2.5 and 10; se = sqrt(2.5/5 + 10/5) = sqrt(2.5)
    t = (3 - 6) / math.sqrt(2.5)
    df = 2.5**2 / ((0.5**2) / 4 + (2**2) / 4)
    from scipy.stats import t as student

    expected = 2 * student.sf(abs(t), df)
    assert welch_t(a, b) == pytest.approx(expected)


def test_mann_whitney_on_fully_separated_small_samples_is_exact():
    # U = 0 with n = m = 3: exact two-sided p = 2 / C(6, 3) = 0.1.
    assert mann_whitney([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)


def test_tests_without_enough_data_give_none_not_a_number():
    assert welch_t([1], [2, 3]) is None
    assert mann_whitney([], [1]) is None
    assert fisher_exact(0, 0, 1, 2) is None
    assert chi_square(0, 0, 1, 2) is None


def test_chi_square_with_yates_correction_by_hand():
    # [[10, 20], [20, 10]]: expected 15 each; Yates: sum (|O-E| - 0.5)^2 / E = 4 * 4.5^2/15.
    statistic = 4 * 4.5**2 / 15
    from scipy.stats import chi2

    assert chi_square(10, 30, 20, 30) == pytest.approx(chi2.sf(statistic, 1))


def test_logistic_regression_on_one_binary_predictor_gives_the_log_odds_ratio():
    # With one binary predictor the maximum-likelihood slope is log((a*d)/(b*c)) of the
    # 2x2 table and its SE is sqrt(1/a + 1/b + 1/c + 1/d) (Woolf), exactly.
    from outcomes.analysis.stats import logistic_regression

    a, b, c, d = 12, 8, 5, 15  # exposed: 12 yes / 8 no; unexposed: 5 yes / 15 no
    rows = [[1]] * (a + b) + [[0]] * (c + d)
    outcome = [1] * a + [0] * b + [1] * c + [0] * d
    fit = logistic_regression(rows, outcome, ["exposed"], min_events_per_term=5)
    assert fit.coefficients[1] == pytest.approx(math.log((a * d) / (b * c)))
    assert fit.standard_errors[1] == pytest.approx(math.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    assert fit.coefficients[0] == pytest.approx(math.log(c / d))
    assert fit.odds_ratios()[1] == pytest.approx((a * d) / (b * c))


def test_logistic_regression_refuses_separated_or_constant_data():
    from outcomes.analysis.stats import logistic_regression

    assert logistic_regression([[0], [0], [1], [1]] * 3, [0, 0, 1, 1] * 3, ["x"]) is None
    assert logistic_regression([[0], [1]] * 5, [1, 1] * 5, ["x"]) is None


def test_mann_whitney_from_ranks_matches_scipys_asymptotic_method():
    from scipy.stats import mannwhitneyu, rankdata

    from outcomes.analysis.stats import mann_whitney_from_ranks

    a = [1.5, 2.0, 2.0, 3.5, 4.0, 4.0, 5.0, 6.5, 7.0, 8.0]
    b = [2.0, 3.0, 4.0, 4.5, 6.0, 7.5, 8.0, 9.0, 9.5, 10.0, 11.0]
    ranks = rankdata(a + b)
    _, counts = np.unique(a + b, return_counts=True)
    tie_term = float(sum(c**3 - c for c in counts))
    ours = mann_whitney_from_ranks(len(a), len(b), float(sum(ranks[:len(a)])), tie_term)
    assert ours == pytest.approx(mannwhitneyu(a, b, alternative="two-sided",
                                              method="asymptotic").pvalue, rel=1e-12)


def test_welch_from_summary_statistics_equals_welch_on_the_data():
    from scipy.stats import ttest_ind

    from outcomes.analysis.stats import describe, welch_t_from

    a, b = [3.0, 4.5, 5.0, 7.0], [1.0, 1.5, 2.0, 2.5, 6.0]
    x, y = describe(a), describe(b)
    assert welch_t_from((x.n, x.mean, x.sd), (y.n, y.mean, y.sd)) == pytest.approx(
        ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
