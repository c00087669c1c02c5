"""Subgroups and regressions from columns, against a plain count and statsmodels."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from outcomes.analysis.covariates import VerdictColumns, regressions_of, subgroups_of

ARMS, TPS, RULES, SEXES = ["BMC", "CONTROL"], ["m3", "m12"], ["nrs_2pt", "primary"], [
    "female", "male", "other"]


def cohort(n: int, seed: int = 7) -> list[tuple]:
    """Evaluable verdicts: (arm, tp, rule, responded, sex, age, bmi, opioid)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        arm, tp, rule = rng.choice(ARMS), rng.choice(TPS), rng.choice(RULES)
        age = rng.choice([None, *range(30, 80)])
        bmi = rng.choice([None, 24.9, 25.0, 29.9, 30.0, *(18 + i / 10 for i in range(200))])
        opioid = rng.choice([None, 0, 0, 15, 30.5])
        sex = rng.choice(SEXES)
        # Responding depends on the covariates, so the regressions have something to find.
        score = 0.8 * (arm == "BMC") - 0.02 * ((age or 55) - 55) + 0.5 * (sex == "male")
        rows.append((arm, tp, rule, rng.random() < np.exp(score) / (1 + np.exp(score)),
                     sex, age, bmi, opioid))
    return rows


def columns_of(rows: list[tuple]) -> VerdictColumns:
    def nan(values):
        return np.array([np.nan if v is None else float(v) for v in values])

    return VerdictColumns(
        arm_codes=ARMS, timepoint_codes=TPS, rule_codes=RULES, sex_codes=SEXES,
        arm=np.array([ARMS.index(r[0]) for r in rows], dtype=np.int64),
        timepoint=np.array([TPS.index(r[1]) for r in rows], dtype=np.int64),
        rule=np.array([RULES.index(r[2]) for r in rows], dtype=np.int64),
        responder=np.array([r[3] for r in rows], dtype=bool),
        sex=np.array([SEXES.index(r[4]) for r in rows], dtype=np.int64),
        age=nan(r[5] for r in rows), bmi=nan(r[6] for r in rows),
        opioid=nan(r[7] for r in rows),
    )


def band_by_hand(factor: str, value) -> str:
    """SPEC 8's bands, written out: age <50, 50-64, 65+; BMI <25, 25-29.9, 30+."""
    if value is None:
        return "unknown"
    if factor == "age":
        return "<50" if value < 50 else "50-64" if value < 65 else "65+"
    if factor == "bmi":
        return "<25" if value < 25 else "25-29.9" if value < 30 else "30+"
    return "none" if value == 0 else "any"


def test_subgroups_are_the_plain_count_of_each_band():
    rows = cohort(3000)
    tally: Counter = Counter()
    for arm, tp, rule, responded, sex, age, bmi, opioid in rows:
        for factor, level in (("age", band_by_hand("age", age)), ("sex", sex),
                              ("bmi", band_by_hand("bmi", bmi)),
                              ("opioid", band_by_hand("opioid", opioid))):
            tally[(arm, tp, rule, factor, level, "n")] += 1
            tally[(arm, tp, rule, factor, level, "yes")] += responded
    found = subgroups_of(columns_of(rows))
    assert len(found) == len([k for k in tally if k[-1] == "n"])
    for row in found:
        key = (row["arm"], row["timepoint"], row["rule"], row["factor"], row["level"])
        assert (row["responders"], row["evaluable"]) == (tally[(*key, "yes")],
                                                         tally[(*key, "n")])
        assert row["percent"] == pytest.approx(100 * row["responders"] / row["evaluable"])


@pytest.mark.parametrize(("factor", "below", "at", "levels"), [
    ("age", 49, 50, ("<50", "50-64")), ("age", 64, 65, ("50-64", "65+")),
    ("bmi", 24.9, 25.0, ("<25", "25-29.9")), ("bmi", 29.9, 30.0, ("25-29.9", "30+")),
])
def test_each_cut_belongs_to_the_band_above_it(factor, below, at, levels):
    def row(value):
        age, bmi = (value, 27.0) if factor == "age" else (55, value)
        return ("BMC", "m3", "primary", True, "male", age, bmi, 0)

    found = {r["level"]: r["evaluable"] for r in subgroups_of(columns_of([row(below), row(at)]))
             if r["factor"] == factor}
    assert found == {levels[0]: 1, levels[1]: 1}


def test_regressions_from_columns_equal_statsmodels_logit_in_each_group():
    import statsmodels.api as sm

    rows = cohort(6000)
    found = regressions_of(columns_of(rows))
    complete = [r for r in rows if None not in r[5:] and r[4] in ("female", "male")]
    groups = sorted({r[:3] for r in complete})
    assert [(r["arm"], r["timepoint"], r["rule"]) for r in found] == groups
    fitted = [r for r in found if r["fitted"]]
    assert len(fitted) >= 2
    for result in fitted:
        mine = [r for r in complete if r[:3] == (result["arm"], result["timepoint"],
                                                 result["rule"])]
        x = np.array([[r[5], r[4] == "male", r[6], r[7] > 0] for r in mine], dtype=float)
        y = np.array([r[3] for r in mine], dtype=float)
        oracle = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
        assert result["n"] == len(mine) and result["test"] == "wald"
        assert [t["term"] for t in result["terms"]] == ["age", "male", "bmi", "opioid_any"]
        for j, term in enumerate(result["terms"], start=1):
            assert term["coefficient"] == pytest.approx(oracle.params[j], rel=1e-7)
            assert term["p_value"] == pytest.approx(oracle.pvalues[j], rel=1e-6)
            low, high = np.exp(oracle.conf_int()[j])
            assert (term["odds_ratio_ci_low"], term["odds_ratio_ci_high"]) == pytest.approx(
                (low, high), rel=1e-6)


def test_a_regression_not_fitted_gives_its_reason():
    rows = [("BMC", "m3", "primary", i % 3 == 0, "male", 50 + i % 20, 25.0, 0)
            for i in range(30)]
    (result,) = regressions_of(columns_of(rows))
    assert result["fitted"] is False and result["terms"] == []
    assert result["reason"].startswith("too few events: 10 of the rarer outcome, 40 needed")


def test_no_verdicts_give_no_rows():
    columns = columns_of([])
    assert subgroups_of(columns) == [] and regressions_of(columns) == []
