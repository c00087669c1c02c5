"""``compute``: every figure from the study's columns, against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from outcomes.analysis.computation import Cohort, StudyColumns, compute

ARMS = ["BMC", "SALINE", "CONTROL"]


def three_arm_study(seed: int = 1) -> tuple[StudyColumns, dict]:
    """120 patients in three arms, ODI at baseline and m3 (some missing either)."""
    rng = np.random.default_rng(seed)
    n = 120
    ids = np.arange(1000, 1000 + n)
    arm = np.arange(n) % 3
    cohort = Cohort(ids, arm, np.zeros(n, np.int64), np.full((n, 3), np.nan),
                    arm_codes=ARMS, sex_codes=["female"])
    base = np.round(rng.normal(45, 12, n), 1)
    later = np.round(base - np.array([15, 6, 3])[arm] + rng.normal(0, 8, n), 1)
    has_base, has_later = rng.random(n) > 0.1, rng.random(n) > 0.2
    data = StudyColumns(cohort=cohort, baseline="baseline")
    # Columns come in any order: the fetchers do not sort them.
    order = rng.permutation(n)
    for tp, values, present in (("baseline", base, has_base), ("m3", later, has_later)):
        at = order[present[order]]
        data.scores[(tp, "odi")] = (at, values[at])
    return data, {"arm": arm, "base": base, "later": later, "has_base": has_base,
                  "has_later": has_later}


def test_summaries_and_changes_are_numpys_on_each_arm():
    data, raw = three_arm_study()
    tables = compute(data, [("BMC", "CONTROL"), ("SALINE", "CONTROL")])
    for k, name in enumerate(ARMS):
        mine = raw["has_later"] & (raw["arm"] == k)
        values = raw["later"][mine]
        summary = tables.summaries[(name, "m3", "odi")]
        assert summary.n == len(values)
        assert summary.mean == pytest.approx(values.mean(), rel=1e-12)
        assert summary.sd == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert (summary.q1, summary.median, summary.q3) == pytest.approx(
            tuple(np.percentile(values, [25, 50, 75])), rel=1e-12)
        both = mine & raw["has_base"]
        change = raw["later"][both] - raw["base"][both]
        n, mean, sd = tables.changes[(name, "m3", "odi")]
        assert (n, mean, sd) == (len(change), pytest.approx(change.mean(), rel=1e-12),
                                 pytest.approx(change.std(ddof=1), rel=1e-12))


def test_every_arm_is_compared_with_the_reference_arm_by_ranks_and_by_ancova():
    data, raw = three_arm_study()
    pairs = [("BMC", "CONTROL"), ("SALINE", "CONTROL")]
    tables = compute(data, pairs)
    both = raw["has_later"] & raw["has_base"]
    reference = both & (raw["arm"] == 2)
    for k, (name, ref) in enumerate(pairs):
        mine = both & (raw["arm"] == k)
        change = raw["later"] - raw["base"]
        ranks = tables.mann_whitney[(name, ref, "m3", "odi")]
        assert ranks.method == "normal"
        assert ranks.p_value == pytest.approx(sps.mannwhitneyu(
            change[mine], change[reference], alternative="two-sided").pvalue, rel=1e-12)
        rows = mine | reference
        design = sm.add_constant(np.column_stack([mine[rows] * 1.0, raw["base"][rows]]))
        fit = sm.OLS(raw["later"][rows], design).fit()
        adjusted = tables.ancova[(name, ref, "m3", "odi")]
        assert (adjusted.estimate, adjusted.p_value) == pytest.approx(
            (fit.params[1], fit.pvalues[1]), rel=1e-8)
        assert (adjusted.low, adjusted.high) == pytest.approx(tuple(fit.conf_int()[1]),
                                                              rel=1e-10)
        assert adjusted.n == rows.sum()
    assert ("SALINE", "BMC", "m3", "odi") not in tables.ancova  # only against the reference


def test_a_visit_not_yet_due_is_pending_whatever_its_status_and_a_due_one_is_not():
    data, _ = three_arm_study()
    data.visits = {
        ("BMC", "m12", "with_data", False): 3,  # answered early: due
        ("BMC", "m12", "with_data", True): 5,
        ("BMC", "m12", "open", False): 7,  # window open: pending
        ("BMC", "m12", "scheduled", False): 11,
        ("BMC", "m12", "not_applicable", False): 2,  # withdrawn, window still ahead
        ("BMC", "m12", "not_applicable", True): 4,  # withdrawn, window closed: due
        ("BMC", "m12", "missed", True): 6,
        ("BMC", "m12", "open", True): 1,  # closed yesterday, not yet marked missed
    }
    tables = compute(data, [])
    assert tables.pending("BMC", "m12") == 7 + 11 + 2
    assert tables.flow == {("BMC", "m12", "with_data"): 8, ("BMC", "m12", "pending"): 20,
                           ("BMC", "m12", "not_applicable"): 4,
                           ("BMC", "m12", "missed"): 7}
    assert tables.pending("CONTROL", "m12") == 0
