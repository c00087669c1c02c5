"""Descriptive statistics and between-arm tests on plain numbers (scipy; no Django).

Conventions, chosen to match what a statistician would compute by hand:
- SD is the sample standard deviation (n - 1 denominator); undefined for n < 2.
- Quartiles use linear interpolation between order statistics (numpy's default,
  R's type 7).
- The 95% CI of a mean change uses Student's t with n - 1 degrees of freedom.
- Proportions: Fisher's exact test (two-sided); continuous: Welch's t-test
  (unequal variances) and the Mann-Whitney U test (two-sided, scipy's default
  method choice). A test needs at least two values (or one patient) per arm,
  otherwise its p-value is None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _scipy_stats():
    """``scipy.stats``, imported on first use, not at start-up: importing it takes one to
    three seconds and about 100 MiB, which every web, worker and command process would
    otherwise pay though only the results need it."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None


def describe(values: Sequence[float]) -> Summary:
    """Return n, mean, SD, median and quartiles of ``values``."""
    data = np.asarray(values, dtype=float)
    n = int(data.size)
    if n == 0:
        return Summary(0, None, None, None, None, None)
    q1, median, q3 = np.percentile(data, [25, 50, 75])
    sd = float(np.std(data, ddof=1)) if n > 1 else None
    return Summary(n, float(np.mean(data)), sd, float(median), float(q1), float(q3))


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float | None, float | None]:
    """Return the t-based confidence interval of the mean (None when n < 2)."""
    summary = describe(values)
    return mean_ci_from(summary.n, summary.mean, summary.sd, level)


def mean_ci_from(n: int, mean: float | None, sd: float | None,
                 level: float = 0.95) -> tuple[float | None, float | None]:
    """Return the t-based confidence interval of a mean from n, mean and SD."""
    if n < 2 or mean is None or sd is None:
        return None, None
    sem = sd / math.sqrt(n)
    if sem == 0:
        return mean, mean
    half = float(_scipy_stats().t.ppf(0.5 + level / 2, n - 1)) * sem
    return mean - half, mean + half


def welch_t(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Return the two-sided p-value of Welch's t-test, or None without enough data."""
    x, y = describe(a), describe(b)
    return welch_t_from((x.n, x.mean, x.sd), (y.n, y.mean, y.sd))


def welch_t_from(a: tuple[int, float | None, float | None],
                 b: tuple[int, float | None, float | None]) -> float | None:
    """Return Welch's two-sided p-value from each arm's (n, mean, SD)."""
    (n1, m1, s1), (n2, m2, s2) = a, b
    if n1 < 2 or n2 < 2 or s1 is None or s2 is None:
        return None
    if s1 == 0 and s2 == 0:
        return None  # no variance in either arm: the t statistic is undefined
    result = _scipy_stats().ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False)
    p = float(result.pvalue)
    return None if math.isnan(p) else p


def mann_whitney_from_ranks(n1: int, n2: int, rank_sum_1: float,
                            tie_term: float) -> float | None:
    """Return the two-sided Mann-Whitney p-value from rank sums, as scipy's asymptotic
    method computes it (tie correction and continuity correction)."""
    if n1 < 1 or n2 < 1:
        return None
    u1 = rank_sum_1 - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    if spread == 0:
        return None
    p = 2 * float(_scipy_stats().norm.sf((u - n1 * n2 / 2 - 0.5) / spread))
    return min(max(p, 0.0), 1.0)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Return the two-sided p-value of the Mann-Whitney U test, or None without data."""
    if len(a) < 1 or len(b) < 1:
        return None
    p = float(_scipy_stats().mannwhitneyu(np.asarray(a, float), np.asarray(b, float),
                               alternative="two-sided").pvalue)
    return None if math.isnan(p) else p


def fisher_exact(yes_a: int, n_a: int, yes_b: int, n_b: int) -> float | None:
    """Return the two-sided p-value of Fisher's exact test on a 2x2 table."""
    if n_a < 1 or n_b < 1:
        return None
    table = [[yes_a, n_a - yes_a], [yes_b, n_b - yes_b]]
    return float(_scipy_stats().fisher_exact(table, alternative="two-sided").pvalue)


def chi_square(yes_a: int, n_a: int, yes_b: int, n_b: int) -> float | None:
    """Return the p-value of Pearson's chi-square test (Yates-corrected, as scipy does)."""
    if n_a < 1 or n_b < 1:
        return None
    table = np.array([[yes_a, n_a - yes_a], [yes_b, n_b - yes_b]])
    if (table.sum(axis=0) == 0).any():
        return None
    return float(_scipy_stats().chi2_contingency(table).pvalue)


@dataclass(frozen=True)
class LogisticFit:
    names: tuple[str, ...]
    coefficients: tuple[float, ...]
    standard_errors: tuple[float, ...]
    p_values: tuple[float, ...]
    n: int

    def odds_ratios(self) -> tuple[float, ...]:
        return tuple(math.exp(b) for b in self.coefficients)


def logistic_regression(rows: Sequence[Sequence[float]], outcome: Sequence[int],
                        names: Sequence[str], *, max_iter: int = 50,
                        min_events_per_term: int = 10) -> LogisticFit | None:
    """Fit P(outcome = 1) = logistic(b0 + b . x) by Newton-Raphson (IRLS); Wald p-values.

    Returns None when the data cannot support a fit: fewer than ``min_events_per_term``
    events (of the rarer outcome) per predictor, no variation in the outcome, or
    separation (coefficients diverge).
    """
    y = np.asarray(outcome, dtype=float)
    x = np.column_stack([np.ones(len(y)), np.asarray(rows, dtype=float).reshape(len(y), -1)])
    k = x.shape[1]
    if y.size == 0 or y.min() == y.max():
        return None
    if min(y.sum(), y.size - y.sum()) < min_events_per_term * (k - 1):
        return None
    beta = np.zeros(k)
    with np.errstate(over="ignore"):
        return _irls(x, y, beta, names, max_iter)


def _irls(x, y, beta, names, max_iter) -> LogisticFit | None:
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-x @ beta))
        weights = p * (1 - p)
        hessian = x.T @ (x * weights[:, None])
        try:
            step = np.linalg.solve(hessian, x.T @ (y - p))
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    else:
        return None
    if np.max(np.abs(beta)) > 15:  # separation: the likelihood has no finite maximum
        return None
    p = 1 / (1 + np.exp(-x @ beta))
    covariance = np.linalg.inv(x.T @ (x * (p * (1 - p))[:, None]))
    se = np.sqrt(np.diag(covariance))
    pvalues = 2 * _scipy_stats().norm.sf(np.abs(beta / se))
    return LogisticFit(("intercept", *names), tuple(map(float, beta)), tuple(map(float, se)),
                       tuple(map(float, pvalues)), len(y))
