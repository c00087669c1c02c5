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


def test_mann_whitney_on_fully_separated_small_samples_is_exact_and_says_so():
    # U = 0 with n = m = 3: exact two-sided p = 2 / C(6, 3) = 0.1.
    found = mann_whitney([1, 2, 3], [4, 5, 6])
    assert found.p_value == pytest.approx(0.1) and found.method == "exact"


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
    from outcomes.analysis.stats import LogisticFit, logistic_regression

    a, b, c, d = 12, 8, 5, 15  # exposed: 12 yes / 8 no; unexposed: 5 yes / 15 no
    rows = [[1]] * (a + b) + [[0]] * (c + d)
    outcome = [1] * a + [0] * b + [1] * c + [0] * d
    fit = logistic_regression(rows, outcome, ["exposed"], min_events_per_term=5)
    assert isinstance(fit, LogisticFit)
    assert fit.coefficients[1] == pytest.approx(math.log((a * d) / (b * c)))
    assert fit.standard_errors[1] == pytest.approx(math.sqrt(1 / a + 1 / b + 1 / c + 1 / d))
    assert fit.coefficients[0] == pytest.approx(math.log(c / d))
    assert fit.odds_ratios()[1] == pytest.approx((a * d) / (b * c))


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


# --- proportions: published worked examples, then statsmodels on the same numbers ------

# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of
# seven methods. Stat Med 1998;17:857-872, Table I, method 3 (Wilson score, no continuity
# correction), to 4 decimals.
WILSON_TABLE_I = [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                  (0, 20, 0.0000, 0.1611), (1, 29, 0.0061, 0.1718), (29, 29, 0.8830, 1.0)]

# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890, Table II, method 10 (the hybrid
# score interval), examples (a) to (h), to 4 decimals. (56/70 - 48/80 is 0.2000, not the
# 0.1750 one brief quoted; its interval is 0.0524 to 0.3339.)
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062), (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775), (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000), (10, 10, 0, 10, 0.6075, 1.0000),
]


@pytest.mark.parametrize(("k", "n", "low", "high"), WILSON_TABLE_I)
def test_the_wilson_interval_reproduces_newcombes_table_i(k, n, low, high):
    from outcomes.analysis.stats import wilson_interval

    assert wilson_interval(k, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(k, n) for k, n, _, _ in WILSON_TABLE_I] + [(3, 7)])
def test_the_wilson_interval_equals_statsmodels(k, n):
    from statsmodels.stats.proportion import proportion_confint

    from outcomes.analysis.stats import wilson_interval

    assert wilson_interval(k, n) == pytest.approx(
        proportion_confint(k, n, method="wilson"), rel=1e-12, abs=1e-15)
    assert wilson_interval(0, 0) == (None, None)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2", "low", "high"), NEWCOMBE_TABLE_II)
def test_the_difference_of_proportions_reproduces_newcombes_table_ii(k1, n1, k2, n2, low,
                                                                    high):
    from outcomes.analysis.stats import newcombe_difference

    found = newcombe_difference(k1, n1, k2, n2)
    assert found.estimate == pytest.approx(k1 / n1 - k2 / n2)
    assert (found.low, found.high) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"),
                         [row[:4] for row in NEWCOMBE_TABLE_II] + [(24, 36, 3, 38)])
def test_the_difference_of_proportions_equals_statsmodels_newcomb(k1, n1, k2, n2):
    from statsmodels.stats.proportion import confint_proportions_2indep

    from outcomes.analysis.stats import newcombe_difference

    found = newcombe_difference(k1, n1, k2, n2)
    expected = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    assert (found.low, found.high) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert newcombe_difference(1, 2, 0, 0) is None


def test_risk_and_odds_ratios_reproduce_bland_and_altmans_worked_example():
    # Bland JM, Altman DG. Statistics notes: the odds ratio. BMJ 2000;320:1468. Hay fever
    # in 11-year-olds with eczema 141/561, without 928/14453: risk ratio 3.91, odds ratio
    # 4.89. The intervals by hand: SE(ln OR) = √(1/141 + 1/420 + 1/928 + 1/13525) =
    # 0.10308, so exp(1.58776 ± 1.95996 × 0.10308) = 4.00 to 5.99; SE(ln RR) =
    # √(1/141 - 1/561 + 1/928 - 1/14453) = 0.07929, so 3.35 to 4.57.
    from outcomes.analysis.stats import odds_ratio, risk_ratio

    rr, odds = risk_ratio(141, 561, 928, 14453), odds_ratio(141, 561, 928, 14453)
    assert round(rr.estimate, 2) == 3.91 and round(odds.estimate, 2) == 4.89
    assert (round(odds.low, 2), round(odds.high, 2)) == (4.00, 5.99)
    assert (round(rr.low, 2), round(rr.high, 2)) == (3.35, 4.57)
    assert not rr.corrected and not odds.corrected


@pytest.mark.parametrize("table", [(141, 561, 928, 14453), (24, 36, 3, 38), (7, 34, 1, 34)])
def test_risk_and_odds_ratios_equal_statsmodels(table):
    from statsmodels.stats.contingency_tables import Table2x2

    from outcomes.analysis.stats import odds_ratio, risk_ratio

    k1, n1, k2, n2 = table
    oracle = Table2x2(np.array([[k1, n1 - k1], [k2, n2 - k2]]))
    rr, odds = risk_ratio(*table), odds_ratio(*table)
    assert (rr.estimate, rr.low, rr.high) == pytest.approx(
        (oracle.riskratio, *oracle.riskratio_confint()), rel=1e-12)
    assert (odds.estimate, odds.low, odds.high) == pytest.approx(
        (oracle.oddsratio, *oracle.oddsratio_confint()), rel=1e-12)


def test_a_zero_cell_adds_one_half_to_every_cell_of_the_ratios():
    # 0/10 responders against 3/10: Haldane-Anscombe, 0.5 in each of the four cells,
    # RR = (0.5/11) / (3.5/11) = 1/7 and OR = (0.5 × 7.5) / (10.5 × 3.5) = 5/49.
    from statsmodels.stats.contingency_tables import Table2x2

    from outcomes.analysis.stats import newcombe_difference, odds_ratio, risk_ratio

    rr, odds = risk_ratio(0, 10, 3, 10), odds_ratio(0, 10, 3, 10)
    assert rr.corrected and odds.corrected
    assert rr.estimate == pytest.approx(1 / 7) and odds.estimate == pytest.approx(5 / 49)
    oracle = Table2x2(np.array([[0.5, 10.5], [3.5, 7.5]]))
    assert (rr.low, rr.high) == pytest.approx(oracle.riskratio_confint(), rel=1e-12)
    assert (odds.low, odds.high) == pytest.approx(oracle.oddsratio_confint(), rel=1e-12)
    # The difference uses the counts as they are: 0 - 30 points.
    assert newcombe_difference(0, 10, 3, 10).estimate == pytest.approx(-0.3)


# --- continuous -------------------------------------------------------------------------

# Student's sleep data (Cushny & Peebles 1905; Student 1908), extra hours of sleep under
# two drugs; R's t.test(extra ~ group, data = sleep) prints Welch's t = -1.8608,
# df = 17.776, p-value = 0.07939, 95 percent confidence interval -3.3654832 0.2054832.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def moments(values):
    summary = describe(values)
    return summary.n, summary.mean, summary.sd


def test_welchs_difference_reproduces_r_on_students_sleep_data():
    from outcomes.analysis.stats import welch_difference

    found = welch_difference(moments(SLEEP_1), moments(SLEEP_2))
    assert found.estimate == pytest.approx(0.75 - 2.33)
    assert (found.low, found.high) == pytest.approx((-3.3654832, 0.2054832), abs=5e-8)
    assert found.p_value == pytest.approx(0.07939, abs=5e-6)


def test_welchs_difference_equals_statsmodels_and_scipy():
    from scipy.stats import ttest_ind
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    from outcomes.analysis.stats import welch_difference

    a, b = [3.0, 4.5, 5.0, 7.0, -1.0], [1.0, 1.5, 2.0, 2.5, 6.0, 0.5]
    found = welch_difference(moments(a), moments(b))
    oracle = CompareMeans(DescrStatsW(a), DescrStatsW(b))
    assert (found.low, found.high) == pytest.approx(oracle.tconfint_diff(usevar="unequal"),
                                                    rel=1e-12)
    assert found.p_value == pytest.approx(ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
    assert welch_difference((1, 2.0, None), moments(b)) is None
    assert welch_difference((3, 2.0, 0.0), (4, 1.0, 0.0)) is None


def ancova_by_hand(arm_x, arm_y, ref_x, ref_y):
    """The textbook ANCOVA (Snedecor & Cochran, Statistical Methods, 8th ed., ch. 18) in
    exact fractions: the pooled within-arm slope b = Sxy / Sxx, the adjusted difference
    (ȳ1 - ȳ0) - b (x̄1 - x̄0) and its variance s² (1/n1 + 1/n0 + (x̄1 - x̄0)² / Sxx),
    s² = (Syy - b Sxy) / (n - 3)."""
    from fractions import Fraction as F

    groups = [([F(v) for v in arm_x], [F(v) for v in arm_y]),
              ([F(v) for v in ref_x], [F(v) for v in ref_y])]
    sxx = sxy = syy = F(0)
    means = []
    for xs, ys in groups:
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        means.append((mx, my))
        sxx += sum((x - mx) ** 2 for x in xs)
        sxy += sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        syy += sum((y - my) ** 2 for y in ys)
    b = sxy / sxx
    (mx1, my1), (mx0, my0) = means
    n = len(arm_x) + len(ref_x)
    s2 = (syy - b * sxy) / (n - 3)
    variance = s2 * (F(1, len(arm_x)) + F(1, len(ref_x)) + (mx1 - mx0) ** 2 / sxx)
    return (my1 - my0) - b * (mx1 - mx0), variance, b


def test_ancova_reproduces_the_textbook_formula_worked_by_hand():
    from scipy.stats import t

    from outcomes.analysis.stats import ancova

    arm_x, arm_y = [40, 52, 31, 60, 45], [22, 30, 15, 41, 20]
    ref_x, ref_y = [42, 55, 38, 50, 47, 36], [38, 49, 30, 47, 40, 33]
    estimate, variance, slope = ancova_by_hand(arm_x, arm_y, ref_x, ref_y)
    found = ancova(arm_y + ref_y, arm_x + ref_x, [True] * 5 + [False] * 6)
    assert found.estimate == pytest.approx(float(estimate), rel=1e-12)
    assert found.slope == pytest.approx(float(slope), rel=1e-12)
    half = t.ppf(0.975, 11 - 3) * math.sqrt(variance)
    assert (found.low, found.high) == pytest.approx(
        (float(estimate) - half, float(estimate) + half), rel=1e-12)
    assert found.p_value == pytest.approx(
        2 * t.sf(abs(float(estimate)) / math.sqrt(variance), 8), rel=1e-9)
    assert found.n == 11


def test_ancova_equals_statsmodels_ols_on_the_same_data():
    import statsmodels.api as sm

    from outcomes.analysis.stats import ancova

    rng = np.random.default_rng(11)
    baseline = rng.normal(45, 12, 300)
    arm = rng.random(300) < 0.5
    follow_up = 8 + 0.6 * baseline - 9 * arm + rng.normal(0, 8, 300)
    found = ancova(follow_up, baseline, arm)
    fit = sm.OLS(follow_up, sm.add_constant(np.column_stack([arm * 1.0, baseline]))).fit()
    low, high = fit.conf_int()[1]
    assert (found.estimate, found.low, found.high) == pytest.approx(
        (fit.params[1], low, high), rel=1e-10)
    assert found.p_value == pytest.approx(fit.pvalues[1], rel=1e-8)
    assert found.slope == pytest.approx(fit.params[2], rel=1e-10)


def test_ancova_needs_both_arms_and_a_baseline_that_varies():
    from outcomes.analysis.stats import ancova

    assert ancova([1, 2, 3, 4], [1, 2, 3, 5], [True] * 4) is None  # no reference arm
    assert ancova([1, 2, 3, 4], [5, 5, 5, 5], [True, False, True, False]) is None
    assert ancova([1, 2, 3], [1, 2, 4], [True, False, True]) is None  # n - 3 = 0


def test_mann_whitney_with_ties_uses_the_normal_approximation_and_says_so():
    from scipy.stats import mannwhitneyu

    a, b = [1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0, 5.0]
    found = mann_whitney(a, b)
    assert found.method == "normal"
    assert found.p_value == pytest.approx(
        mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue, rel=1e-12)


def test_mann_whitney_on_large_samples_equals_scipys_asymptotic_test():
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(5)
    for a, b in ((np.round(rng.normal(0, 3, 400)), np.round(rng.normal(1, 3, 300))),
                 (rng.normal(0, 1, 50), rng.normal(0.3, 1, 60))):
        found = mann_whitney(a, b)
        assert found.method == "normal"
        assert found.p_value == pytest.approx(
            mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-12)
    assert mann_whitney([4.0, 4.0], [4.0]).p_value == 1.0  # one value throughout


# --- logistic regression ----------------------------------------------------------------


def logistic_cohort(n, seed, intercept, slopes):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(25, 85, n), rng.integers(0, 2, n),
                         np.round(rng.uniform(18, 40, n), 1), rng.integers(0, 2, n)])
    eta = intercept + x @ np.asarray(slopes)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return x, y


def test_logistic_regression_equals_statsmodels_logit_with_two_sided_wald_p_values():
    import statsmodels.api as sm

    from outcomes.analysis.stats import LogisticFit, logistic_regression

    x, y = logistic_cohort(800, 3, -1.0, [0.03, 0.5, -0.04, 0.4])
    fit = logistic_regression(x, y, ["age", "male", "bmi", "opioid_any"])
    oracle = sm.Logit(y, sm.add_constant(x.astype(float))).fit(disp=0)
    assert isinstance(fit, LogisticFit)
    assert fit.coefficients == pytest.approx(tuple(oracle.params), rel=1e-8)
    assert fit.standard_errors == pytest.approx(tuple(oracle.bse), rel=1e-8)
    assert fit.p_values == pytest.approx(tuple(oracle.pvalues), rel=1e-7)
    intervals = np.exp(oracle.conf_int())
    assert np.allclose(fit.odds_ratio_intervals(), intervals, rtol=1e-7, atol=0)


def test_a_good_fit_with_a_large_intercept_is_not_mistaken_for_separation():
    # BMI in kg/m² puts the intercept near -20: a matter of units, not of separation.
    import statsmodels.api as sm

    from outcomes.analysis.stats import LogisticFit, logistic_regression

    x, y = logistic_cohort(1500, 8, -20.0, [0.0, 0.0, 0.7, 0.0])
    fit = logistic_regression(x, y, ["age", "male", "bmi", "opioid_any"])
    assert isinstance(fit, LogisticFit), fit
    assert abs(fit.coefficients[0]) > 15
    oracle = sm.Logit(y, sm.add_constant(x.astype(float))).fit(disp=0)
    assert fit.coefficients == pytest.approx(tuple(oracle.params), rel=1e-7)


def test_separated_data_with_enough_events_are_refused_for_separation():
    from outcomes.analysis.stats import NotFitted, logistic_regression

    x, _ = logistic_cohort(400, 4, 0.0, [0.0, 0.0, 0.0, 0.0])
    complete = (x[:, 0] >= 55).astype(int)  # age alone decides: complete separation
    quasi = complete.copy()
    quasi[x[:, 0] == 55] = np.arange((x[:, 0] == 55).sum()) % 2  # ties at the cut
    for outcome in (complete, quasi):
        assert min(outcome.sum(), len(outcome) - outcome.sum()) >= 40  # enough events
        fit = logistic_regression(x, outcome, ["age", "male", "bmi", "opioid_any"])
        assert isinstance(fit, NotFitted)
        assert fit.reason.startswith("separation"), fit.reason


def test_regressions_the_data_cannot_support_say_why():
    from outcomes.analysis.stats import NotFitted, logistic_regression

    few = logistic_regression([[0], [0], [1], [1]] * 3, [0, 0, 1, 1] * 3, ["x"])
    assert isinstance(few, NotFitted) and few.reason == (
        "too few events: 6 of the rarer outcome, 10 needed (10 per term)")
    constant = logistic_regression([[0], [1]] * 5, [1, 1] * 5, ["x"])
    assert constant.reason == "no variation: every patient responded"
    x, y = logistic_cohort(300, 2, 0.0, [0.0, 0.0, 0.0, 0.0])
    x[:, 1] = 1  # every patient male: the sex term is the intercept again
    collinear = logistic_regression(x, y, ["age", "male", "bmi", "opioid_any"])
    assert isinstance(collinear, NotFitted) and collinear.reason.startswith("collinear")
