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


def test_table_1_is_numpys_and_the_statistics_modules_on_each_arm():
    import statistics

    rng = np.random.default_rng(7)
    n = 90
    arm = rng.integers(0, 3, n)
    sex = rng.integers(0, 3, n)  # female, male, unknown
    age = np.round(rng.normal(55, 12, n))
    bmi = np.round(rng.normal(28, 5, n), 1)
    dose = rng.choice([0.0, 0.0, 15.0, 30.0, 45.0, 90.0], n)
    age[::11], bmi[::7], dose[::5] = np.nan, np.nan, np.nan  # unknown for some
    cohort = Cohort(np.arange(500, 500 + n), arm, sex, np.column_stack([age, bmi, dose]),
                    arm_codes=ARMS, sex_codes=["female", "male", "unknown"])
    data = StudyColumns(cohort=cohort, baseline="baseline")
    odi = np.round(rng.normal(45, 12, n), 1)
    has = rng.random(n) > 0.25
    order = rng.permutation(n)
    at = order[has[order]]
    data.scores[("baseline", "odi")] = (at, odi[at])
    data.scores[("m3", "odi")] = (at, odi[at] - 5)  # not baseline: not in Table 1
    rows = compute(data, [], baseline_scores=["odi", "nrs"]).baseline_characteristics

    def row(arm_code, characteristic, **keys):
        (found,) = [r for r in rows if r["arm"] == arm_code
                    and r["characteristic"] == characteristic
                    and all(r.get(k) == v for k, v in keys.items())]
        return found

    def assert_continuous(found, values, of):
        values = [float(v) for v in values]
        assert (found["n"], found["missing"]) == (len(values), of - len(values))
        assert found["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert found["sd"] == pytest.approx(statistics.stdev(values), rel=1e-12)
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert (found["q1"], found["median"], found["q3"]) == pytest.approx(
            (q1, median, q3), rel=1e-12)

    for k, name in enumerate(ARMS):
        mine = arm == k
        allocated = int(mine.sum())
        assert row(name, "patients")["n"] == allocated
        assert_continuous(row(name, "age"), [a for a in age[mine] if a == a], allocated)
        assert_continuous(row(name, "bmi"), [b for b in bmi[mine] if b == b], allocated)
        for s, level in enumerate(["female", "male", "unknown"]):
            found = row(name, "sex", level=level)
            hits = sum(1 for x in sex[mine] if x == s)
            assert (found["count"], found["n"]) == (hits, allocated)
            assert found["percent"] == pytest.approx(100 * hits / allocated)
        known = [d for d in dose[mine] if d == d]
        users = [d for d in known if d > 0]
        opioid = row(name, "opioid_any")
        assert (opioid["count"], opioid["n"], opioid["missing"]) == (
            len(users), len(known), allocated - len(known))
        assert opioid["percent"] == pytest.approx(100 * len(users) / len(known))
        assert_continuous(row(name, "opioid_mme_users"), users, len(users))
        assert_continuous(row(name, "score", score="odi"), odi[mine & has], allocated)
        nothing = row(name, "score", score="nrs")  # scheduled, never answered
        assert (nothing["n"], nothing["missing"], nothing["mean"]) == (0, allocated, None)
    assert [r["characteristic"] for r in rows if r["arm"] == "BMC"] == [
        "patients", "age", "sex", "sex", "sex", "bmi", "opioid_any", "opioid_mme_users",
        "score", "score"]
