"""Subgroups and regressions from columns equal the row-by-row reference."""

from __future__ import annotations

import random

import numpy as np
import pytest

from outcomes.analysis.covariates import (
    VerdictColumns,
    levels,
    regressions,
    regressions_of,
    subgroups,
    subgroups_of,
)

ARMS, TPS, RULES, SEXES = ["BMC", "CONTROL"], ["m3", "m12"], ["nrs_2pt", "primary"], [
    "female", "male", "other"]


def cohort(n: int, seed: int = 7) -> list[tuple]:
    """Rows as the reference reads them: (arm, tp, rule, verdict, sex, age, bmi, opioid)."""
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
        verdict = rng.choices(["responder", "non_responder", "not_evaluable"],
                              [np.exp(score), 1, 0.3])[0]
        rows.append((arm, tp, rule, verdict, sex, age, bmi, opioid))
    return rows


def columns_of(rows: list[tuple]) -> VerdictColumns:
    kept = [r for r in rows if r[3] != "not_evaluable"]

    def nan(values):
        return np.array([np.nan if v is None else float(v) for v in values])

    return VerdictColumns(
        arm_codes=ARMS, timepoint_codes=TPS, rule_codes=RULES, sex_codes=SEXES,
        arm=np.array([ARMS.index(r[0]) for r in kept], dtype=np.int64),
        timepoint=np.array([TPS.index(r[1]) for r in kept], dtype=np.int64),
        rule=np.array([RULES.index(r[2]) for r in kept], dtype=np.int64),
        responder=np.array([r[3] == "responder" for r in kept], dtype=bool),
        sex=np.array([SEXES.index(r[4]) for r in kept], dtype=np.int64),
        age=nan(r[5] for r in kept), bmi=nan(r[6] for r in kept),
        opioid=nan(r[7] for r in kept),
    )


def test_bands_split_where_the_reference_does():
    # The cut belongs to the upper band: 50 is "50-64", BMI 25.0 is "25-29.9".
    assert levels("male", 49, 24.9, 0)["age"] == "<50"
    assert levels("male", 50, 25.0, 0) == {"age": "50-64", "sex": "male", "bmi": "25-29.9",
                                           "opioid": "none"}
    assert levels("other", None, None, None) == {"age": "unknown", "sex": "other",
                                                 "bmi": "unknown", "opioid": "unknown"}


def test_subgroups_from_columns_equal_the_reference():
    rows = cohort(3000)
    assert subgroups_of(columns_of(rows)) == subgroups(rows)


def test_regressions_from_columns_equal_the_reference():
    rows = cohort(6000)
    reference, fast = regressions(rows), regressions_of(columns_of(rows))
    assert [r["fitted"] for r in reference].count(True) >= 2  # some groups are fitted
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        assert {k: mine[k] for k in ("arm", "timepoint", "rule", "n", "fitted")} == {
            k: theirs[k] for k in ("arm", "timepoint", "rule", "n", "fitted")}
        for a, b in zip(mine["terms"], theirs["terms"], strict=True):
            assert a["term"] == b["term"]
            for key in ("coefficient", "se", "odds_ratio", "p_value"):
                assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12), key


def test_no_verdicts_give_no_rows():
    rows = [("BMC", "m3", "primary", "not_evaluable", "male", 50, 25.0, 0)]
    columns = columns_of(rows)
    assert subgroups_of(columns) == subgroups(rows) == []
    assert regressions_of(columns) == regressions(rows) == []
