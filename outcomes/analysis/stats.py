"""Descriptive statistics, effect sizes and between-arm tests on plain numbers (no Django).

Each formula is written here once; the results feed it from whichever database reads
the data. Conventions, chosen to match what a statistician would compute by hand:

- SD is the sample standard deviation (n - 1 denominator); undefined for n < 2.
- Quartiles use linear interpolation between order statistics (numpy's default,
  R's type 7).
- The 95% CI of a mean (or mean change) uses Student's t with n - 1 degrees of freedom.
- Proportions: Wilson's score interval for one arm; between arms (arm - reference) the
  difference with Newcombe's hybrid score interval (Newcombe 1998, method 10), the risk
  ratio with the log (Katz) interval, the odds ratio with the logit (Woolf) interval,
  and Fisher's exact test (two-sided). A table with a zero cell gets 0.5 added to each
  of its four cells for the risk and odds ratios (Haldane-Anscombe; ``corrected`` says
  so); the difference and Fisher's p use the counts as they are.
- Continuous: the difference in means with Welch's interval (unequal variances,
  Welch-Satterthwaite degrees of freedom) and its t-test; the baseline-adjusted
  difference by ANCOVA (ordinary least squares, follow-up = intercept + arm +
  baseline) with its t interval and p; the Mann-Whitney U test, exact for small samples
  without ties, otherwise the normal approximation with tie and continuity correction
  (scipy's own choice), and the result says which.
- Logistic regression by Newton-Raphson with Wald p-values and odds-ratio intervals;
  refused, with the reason, when the data cannot support it (too few events, no
  variation, collinear terms, or separation, checked by linear programming).

Every test is two-sided. Without enough data a function returns None, not NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

LEVEL = 0.95


def _scipy_stats():
    """``scipy.stats``, imported on first use, not at start-up: importing it takes one to
    three seconds and about 100 MiB, which every web, worker and command process would
    otherwise pay though only the results need it."""
    from scipy import stats

    return stats


def normal_quantile(level: float = LEVEL) -> float:
    """Return z such that a standard normal variable lies within ±z with ``level``
    probability (1.959964 for 95%)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


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


def mean_ci(values: Sequence[float], level: float = LEVEL) -> tuple[float | None, float | None]:
    """Return the t-based confidence interval of the mean (None when n < 2)."""
    summary = describe(values)
    return mean_ci_from(summary.n, summary.mean, summary.sd, level)


def mean_ci_from(n: int, mean: float | None, sd: float | None,
                 level: float = LEVEL) -> tuple[float | None, float | None]:
    """Return the t-based confidence interval of a mean from n, mean and SD."""
    if n < 2 or mean is None or sd is None:
        return None, None
    sem = sd / math.sqrt(n)
    if sem == 0:
        return mean, mean
    half = float(_scipy_stats().t.ppf(0.5 + level / 2, n - 1)) * sem
    return mean - half, mean + half


# --- proportions ---------------------------------------------------------------------


def wilson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float | None, float | None]:
    """Return Wilson's score interval for the proportion k/n (0-1), None when n = 0.

    Wilson EB. J Am Stat Assoc 1927;22:209-212; Newcombe RG. Stat Med 1998;17:857-872,
    method 3: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    """
    if n < 1:
        return None, None
    z = normal_quantile(level)
    p = k / n
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / scale
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding must not cross it.
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval (and, where one goes with it, a p)."""

    estimate: float
    low: float
    high: float
    p_value: float | None = None


def newcombe_difference(k1: int, n1: int, k2: int, n2: int,
                        level: float = LEVEL) -> Estimate | None:
    """Return p1 - p2 (proportions, 0-1) with Newcombe's hybrid score interval.

    Newcombe RG. Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Stat Med 1998;17:873-890, method 10: with each arm's
    Wilson interval (l, u), the difference d = p1 - p2 runs from
    d - √((p1 - l1)² + (u2 - p2)²) to d + √((u1 - p1)² + (p2 - l2)²).
    """
    if n1 < 1 or n2 < 1:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p1 - p2
    return Estimate(d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2))


@dataclass(frozen=True)
class Ratio:
    estimate: float
    low: float
    high: float
    corrected: bool  # 0.5 added to every cell of a table with a zero cell


def _cells(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float, float, bool]:
    cells = (k1, n1 - k1, k2, n2 - k2)
    if 0 in cells:
        return (*(c + 0.5 for c in cells), True)
    return (*(float(c) for c in cells), False)


def risk_ratio(k1: int, n1: int, k2: int, n2: int, level: float = LEVEL) -> Ratio | None:
    """Return (k1/n1) / (k2/n2) with the log (Katz) interval.

    Katz D, Baptista J, Azen SP, Pike MC. Biometrics 1978;34:469-474:
    SE(ln RR) = √(1/a - 1/(a+b) + 1/c - 1/(c+d)). A zero cell: see the module docstring.
    """
    if n1 < 1 or n2 < 1:
        return None
    a, b, c, d, corrected = _cells(k1, n1, k2, n2)
    log_rr = math.log((a / (a + b)) / (c / (c + d)))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    z = normal_quantile(level)
    return Ratio(math.exp(log_rr), math.exp(log_rr - z * se), math.exp(log_rr + z * se),
                 corrected)


def odds_ratio(k1: int, n1: int, k2: int, n2: int, level: float = LEVEL) -> Ratio | None:
    """Return the odds ratio (a d) / (b c) with the logit (Woolf) interval.

    Woolf B. Ann Hum Genet 1955;19:251-253: SE(ln OR) = √(1/a + 1/b + 1/c + 1/d).
    A zero cell: see the module docstring.
    """
    if n1 < 1 or n2 < 1:
        return None
    a, b, c, d, corrected = _cells(k1, n1, k2, n2)
    log_or = math.log((a * d) / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = normal_quantile(level)
    return Ratio(math.exp(log_or), math.exp(log_or - z * se), math.exp(log_or + z * se),
                 corrected)


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


# --- continuous ----------------------------------------------------------------------

Moments = tuple[int, float | None, float | None]  # n, mean, SD


def welch_difference(a: Moments, b: Moments, level: float = LEVEL) -> Estimate | None:
    """Return mean(a) - mean(b) with Welch's t interval and two-sided p, from each arm's
    (n, mean, SD); None with fewer than two values in an arm or no variance in either.

    Welch BL. Biometrika 1947;34:28-35: SE = √(s1²/n1 + s2²/n2), degrees of freedom
    SE⁴ / ((s1²/n1)²/(n1 - 1) + (s2²/n2)²/(n2 - 1)).
    """
    (n1, m1, s1), (n2, m2, s2) = a, b
    if n1 < 2 or n2 < 2 or s1 is None or s2 is None or m1 is None or m2 is None:
        return None
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    if v1 + v2 == 0:
        return None  # no variance in either arm: the t statistic is undefined
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
    t = _scipy_stats().t
    d = float(m1) - float(m2)
    half = float(t.ppf(0.5 + level / 2, df)) * se
    return Estimate(d, d - half, d + half, float(2 * t.sf(abs(d) / se, df)))


def welch_t(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Return the two-sided p-value of Welch's t-test, or None without enough data."""
    x, y = describe(a), describe(b)
    found = welch_difference((x.n, x.mean, x.sd), (y.n, y.mean, y.sd))
    return found.p_value if found else None


@dataclass(frozen=True)
class Adjusted:
    """The arm's coefficient of an ANCOVA: follow-up = b0 + b1 arm + b2 baseline."""

    estimate: float
    low: float
    high: float
    p_value: float
    n: int
    slope: float  # b2, the follow-up's slope on baseline


def ancova(follow_up: Sequence[float], baseline: Sequence[float], in_arm: Sequence[bool],
           level: float = LEVEL) -> Adjusted | None:
    """Return the baseline-adjusted difference (arm - reference) by ordinary least squares.

    ``in_arm`` is true for the arm's patients, false for the reference arm's; each has
    both values. Vickers AJ, Altman DG. BMJ 2001;323:1123-1124. The model follow-up =
    b0 + b1 arm + b2 baseline has the closed form of the analysis of covariance
    (Snedecor & Cochran, Statistical Methods, ch. 18), computed from within-arm sums
    (a few passes over the data, no matrix of 100,000 rows):

    1. Within each arm, centre baseline x and follow-up y on the arm's means; pool the
       sums Sxx, Sxy, Syy over both arms.
    2. b2 = Sxy / Sxx; b1 = (ȳ1 - ȳ0) - b2 (x̄1 - x̄0).
    3. s² = (Syy - b2 Sxy) / (n - 3); Var(b1) = s² (1/n1 + 1/n0 + (x̄1 - x̄0)² / Sxx).
    4. t interval and two-sided p on n - 3 degrees of freedom.

    None with fewer than 4 patients, an empty arm, or a baseline that does not vary
    within the arms (the model is then singular).
    """
    y = np.asarray(follow_up, dtype=float)
    x = np.asarray(baseline, dtype=float)
    g = np.asarray(in_arm, dtype=bool)
    n = int(y.size)
    n1 = int(g.sum())
    n0 = n - n1
    if n < 4 or n1 == 0 or n0 == 0:
        return None
    sums = []
    for mine in (g, ~g):
        xs, ys = x[mine], y[mine]
        mx, my = float(xs.mean()), float(ys.mean())
        dx, dy = xs - mx, ys - my
        # Element-wise sums, not BLAS dot products: on a busy machine a threaded BLAS
        # call over 50,000 values can wait far longer than it computes.
        sums.append((mx, my, float(np.sum(dx * dx)), float(np.sum(dx * dy)),
                     float(np.sum(dy * dy))))
    (mx1, my1, *within1), (mx0, my0, *within0) = sums
    sxx, sxy, syy = (a + b for a, b in zip(within1, within0, strict=True))
    if sxx <= 1e-12 * float(np.sum(x * x)):
        return None
    slope = sxy / sxx
    estimate = (my1 - my0) - slope * (mx1 - mx0)
    sigma2 = max(syy - slope * sxy, 0.0) / (n - 3)
    se = math.sqrt(sigma2 * (1 / n1 + 1 / n0 + (mx1 - mx0) ** 2 / sxx))
    if se == 0:
        return Adjusted(estimate, estimate, estimate, 0.0 if estimate else 1.0, n, slope)
    t = _scipy_stats().t
    half = float(t.ppf(0.5 + level / 2, n - 3)) * se
    return Adjusted(estimate, estimate - half, estimate + half,
                    float(2 * t.sf(abs(estimate) / se, n - 3)), n, slope)


@dataclass(frozen=True)
class RankTest:
    p_value: float
    method: str  # "exact" or "normal" (approximation)


def mann_whitney_from_ranks(n1: int, n2: int, rank_sum_1: float,
                            tie_term: float) -> float | None:
    """Return the two-sided Mann-Whitney p-value from rank sums by the normal
    approximation, as scipy's asymptotic method computes it (tie correction
    Σ(t³ - t), continuity correction 0.5)."""
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


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> RankTest | None:
    """Return the two-sided Mann-Whitney U test of a against b, naming its method.

    Exact (scipy's exact distribution of U) when the smaller sample has at most 8 values
    and no value is tied, else the normal approximation from the ranks, from one sort of
    the pooled values (fast for 100,000 patients) - the choice scipy itself makes. One
    value tied throughout has no spread: p = 1, as scipy reports.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        return None
    pooled = np.sort(np.concatenate([a, b]))
    starts = np.flatnonzero(np.concatenate([[True], pooled[1:] != pooled[:-1]]))
    runs = np.diff(np.append(starts, len(pooled)))
    if len(runs) == 1:
        return RankTest(1.0, "normal")
    if min(len(a), len(b)) <= 8 and runs.max() == 1:
        p = _scipy_stats().mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue
        return RankTest(float(p), "exact")
    # The average rank of a value: positions left + 1 ... right of its run, 1-based.
    # (Sorted, the values of a are looked up in order: many times faster.)
    a = np.sort(a)
    twice = np.searchsorted(pooled, a, "left") + np.searchsorted(pooled, a, "right") + 1
    tie_term = float(np.sum(runs.astype(np.float64) ** 3 - runs))
    p = mann_whitney_from_ranks(len(a), len(b), float(twice.sum()) / 2, tie_term)
    return None if p is None else RankTest(p, "normal")


# --- reliability and the MCID's distribution-based estimates --------------------------


@dataclass(frozen=True)
class ItemVariances:
    """What Cronbach's alpha needs from a score's complete answers: ``n`` patients who
    answered every one of its ``items`` (k) items, the sum of the items' sample variances
    and the sample variance of their total (each with the n - 1 denominator)."""

    n: int
    items: int
    item_variance_sum: float | None
    total_variance: float | None


def item_variances(answers: np.ndarray) -> ItemVariances:
    """Return the item variances of a patients x items matrix of complete answers."""
    data = np.asarray(answers, dtype=float)
    n, k = data.shape if data.ndim == 2 else (0, 0)
    if n < 2:
        return ItemVariances(n, k, None, None)
    return ItemVariances(n, k, float(np.var(data, axis=0, ddof=1).sum()),
                         float(np.var(data.sum(axis=1), ddof=1)))


def cronbach_alpha(found: ItemVariances) -> float | None:
    """Return Cronbach's alpha, k / (k - 1) x (1 - Σ item variances / variance of the
    total); None for fewer than two items or two patients, or a total that never varies.

    Cronbach LJ. Coefficient alpha and the internal structure of tests. Psychometrika
    1951;16:297-334. Items as scored (after recoding and reversing), raw: a score looked
    up from their sum (a T-score) is judged by the reliability of that sum.
    """
    k = found.items
    if (k < 2 or found.n < 2 or found.total_variance is None
            or found.item_variance_sum is None or found.total_variance <= 0):
        return None
    return k / (k - 1) * (1 - found.item_variance_sum / found.total_variance)


def standard_error_of_measurement(sd: float | None, alpha: float | None) -> float | None:
    """Return SEM = SD x √(1 - reliability) (Wyrwich KW, Tierney WM, Wolinsky FD. J Clin
    Epidemiol 1999;52:861-873: one SEM as a distribution-based MCID); None without an SD
    or an alpha, and None for an alpha of 0 or below: the items do not measure one thing
    in these patients, so there is no reliability to take (the formula would give an SEM
    as large as the SD, or larger)."""
    if sd is None or alpha is None or alpha <= 0:
        return None
    return sd * math.sqrt(1 - alpha)


#: The share of the baseline SD taken as a distribution-based MCID: Norman GR, Sloan JA,
#: Wyrwich KW. Med Care 2003;41:582-592 ("half a standard deviation").
HALF_SD = 0.5


# --- logistic regression -------------------------------------------------------------


@dataclass(frozen=True)
class LogisticFit:
    names: tuple[str, ...]
    coefficients: tuple[float, ...]
    standard_errors: tuple[float, ...]
    p_values: tuple[float, ...]  # Wald, two-sided
    n: int

    def odds_ratios(self) -> tuple[float, ...]:
        return tuple(math.exp(b) for b in self.coefficients)

    def odds_ratio_intervals(self, level: float = LEVEL) -> tuple[tuple[float, float], ...]:
        """Return each term's Wald interval on the odds-ratio scale, exp(b ± z SE)."""
        z = normal_quantile(level)
        return tuple((math.exp(b - z * se), math.exp(b + z * se))
                     for b, se in zip(self.coefficients, self.standard_errors, strict=True))


@dataclass(frozen=True)
class NotFitted:
    reason: str  # in words, for the page: "too few events: 12 of the rarer outcome, ..."
    n: int


def logistic_regression(rows: Sequence[Sequence[float]], outcome: Sequence[int],
                        names: Sequence[str], *, max_iter: int = 50,
                        min_events_per_term: int = 10) -> LogisticFit | NotFitted:
    """Fit P(outcome = 1) = logistic(b0 + b . x) by Newton-Raphson (IRLS); Wald p-values.

    1. Refuse without variation in the outcome, or with fewer than
       ``min_events_per_term`` events of the rarer outcome per predictor.
    2. Iterate Newton's method from b = 0 until no coefficient moves by 1e-10.
    3. If it did not converge, the information matrix became singular, or a fitted
       probability is within 1e-9 of 0 or 1, ask a linear program whether the data are
       separated (then the likelihood has no finite maximum and there is no fit);
       otherwise report that it did not converge or that the terms are collinear.
    4. Wald standard errors from the inverse information matrix, two-sided p.
    """
    y = np.asarray(outcome, dtype=float)
    n = int(y.size)
    x = np.column_stack([np.ones(n), np.asarray(rows, dtype=float).reshape(n, -1)])
    k = x.shape[1]
    if n == 0:
        return NotFitted("no patients", 0)
    events = int(y.sum())
    if events in (0, n):
        return NotFitted("no variation: every patient "
                         + ("responded" if events else "did not respond"), n)
    rarer, needed = min(events, n - events), min_events_per_term * (k - 1)
    if rarer < needed:
        return NotFitted(f"too few events: {rarer} of the rarer outcome, {needed} needed "
                         f"({min_events_per_term} per term)", n)
    beta = np.zeros(k)
    converged = singular = False
    with np.errstate(over="ignore"):
        for _ in range(max_iter):
            p = 1 / (1 + np.exp(-x @ beta))
            information = x.T @ (x * (p * (1 - p))[:, None])
            try:
                step = np.linalg.solve(information, x.T @ (y - p))
            except np.linalg.LinAlgError:
                singular = True
                break
            beta = beta + step
            if np.max(np.abs(step)) < 1e-10:
                converged = True
                break
        p = 1 / (1 + np.exp(-x @ beta))
    extreme = bool(np.any(np.minimum(p, 1 - p) < 1e-9))
    if not converged or extreme:
        if separated(x, y):
            return NotFitted("separation: a combination of the terms predicts the outcome "
                             "perfectly, so the odds ratios have no finite estimate", n)
        if singular:
            return NotFitted("collinear terms: one is constant or a combination of others",
                             n)
        if not converged:
            return NotFitted(f"did not converge in {max_iter} iterations", n)
    information = x.T @ (x * (p * (1 - p))[:, None])
    try:
        covariance = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return NotFitted("collinear terms: one is constant or a combination of others", n)
    se = np.sqrt(np.diag(covariance))
    pvalues = 2 * _scipy_stats().norm.sf(np.abs(beta / se))
    return LogisticFit(("intercept", *names), tuple(map(float, beta)), tuple(map(float, se)),
                       tuple(map(float, pvalues)), n)


def separated(x: np.ndarray, y: np.ndarray) -> bool:
    """Return True if the outcome is completely or quasi-completely separated by the
    columns of ``x`` (the intercept included).

    Albert A, Anderson JA. Biometrika 1984;71:1-10: the maximum-likelihood estimate
    exists if and only if no b other than 0 has s_i x_i . b >= 0 for every patient i,
    where s_i = +1 for an event and -1 otherwise. Konis K (2007, the safeBinaryRegression
    package) finds such a b by linear programming: maximise Σ s_i x_i . b subject to
    s_i x_i . b >= 0 and -1 <= b <= 1; a positive maximum is a separating direction. The
    columns are scaled to at most 1 in absolute value first, and the direction found is
    checked without the solver's tolerance: every s_i x_i . b at or above zero, to 1e-6
    of the largest.
    """
    from scipy.optimize import linprog

    scale = np.max(np.abs(x), axis=0)
    scale[scale == 0] = 1
    signed = (x / scale) * np.where(y > 0.5, 1.0, -1.0)[:, None]
    k = x.shape[1]
    found = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(signed)),
                    bounds=[(-1, 1)] * k, method="highs")
    if found.status != 0 or -found.fun <= 0:
        return False
    margins = signed @ found.x
    top = float(margins.max())
    return top > 1e-9 and float(margins.min()) >= -1e-6 * top
