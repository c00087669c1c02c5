"""Responder rates by covariate and logistic regressions, within arms (SPEC section 8).

One input, whichever database it was read from: the evaluable verdicts of the study's
primary rules as columns (``VerdictColumns``: numpy arrays, one entry per verdict), so
100,000 patients' verdicts are tallied without a Python loop per row. The tests check
the tallies against a plain count and the regressions against statsmodels.

Bands (a cut belongs to the band above it): age <50, 50-64, 65+ (years at enrolment);
BMI <25, 25-29.9, 30+ (kg/m²); baseline opioid use none (0 MME/day) or any.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import stats

AGE_BANDS = ((50, 65), ("<50", "50-64", "65+"))
BMI_BANDS = ((25, 30), ("<25", "25-29.9", "30+"))
TERMS = ("age", "male", "bmi", "opioid_any")


@dataclass(frozen=True)
class VerdictColumns:
    """Evaluable verdicts (responder or not) as columns, one entry per verdict.

    ``arm``, ``timepoint``, ``rule`` and ``sex`` index the matching ``*_codes``;
    ``age``, ``bmi`` and ``opioid`` are floats with NaN where unknown.
    """

    arm_codes: list[str]
    timepoint_codes: list[str]
    rule_codes: list[str]
    sex_codes: list[str]
    arm: np.ndarray
    timepoint: np.ndarray
    rule: np.ndarray
    responder: np.ndarray  # bool
    sex: np.ndarray
    age: np.ndarray
    bmi: np.ndarray
    opioid: np.ndarray

    def groups(self):
        """Yield ``(arm, time point, rule, row indices)`` for each group with verdicts."""
        key = (self.arm * len(self.timepoint_codes) + self.timepoint) * len(self.rule_codes) \
            + self.rule
        if not len(key):
            return
        order = np.argsort(key, kind="stable")
        keys, starts = np.unique(key[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        for k, start, end in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            rest, rule = divmod(k, len(self.rule_codes))
            arm, tp = divmod(rest, len(self.timepoint_codes))
            yield (self.arm_codes[arm], self.timepoint_codes[tp], self.rule_codes[rule],
                   order[start:end])


def _bands(values: np.ndarray, cuts, labels) -> tuple[np.ndarray, list[str]]:
    """Return each value's band (an index into the labels), as ``levels`` bands them."""
    codes = np.searchsorted(np.asarray(cuts, dtype=float), values, side="right")
    codes[np.isnan(values)] = len(labels)
    return codes, [*labels, "unknown"]


def subgroups_of(columns: VerdictColumns) -> list[dict]:
    """Responder rate by age group, sex, BMI class and baseline opioid use, within each arm,
    for each primary rule and follow-up time point (complete case)."""
    opioid = np.where(np.isnan(columns.opioid), 0, np.where(columns.opioid == 0, 1, 2))
    factors = {
        "age": _bands(columns.age, *AGE_BANDS),
        "sex": (columns.sex, columns.sex_codes),
        "bmi": _bands(columns.bmi, *BMI_BANDS),
        "opioid": (opioid, ["unknown", "none", "any"]),
    }
    tally: dict[tuple, list[int]] = {}
    for arm, tp, rule, rows in columns.groups():
        responder = columns.responder[rows]
        for factor, (codes, labels) in factors.items():
            n = np.bincount(codes[rows], minlength=len(labels))
            yes = np.bincount(codes[rows], weights=responder, minlength=len(labels))
            for label, count, hits in zip(labels, n.tolist(), yes.tolist(), strict=True):
                if count:
                    tally[(arm, tp, rule, factor, label)] = [int(hits), count]
    return _subgroup_rows(tally)


def regressions_of(columns: VerdictColumns) -> list[dict]:
    """Within each arm, for each primary rule and time point: logistic regression of
    responding on age (years), sex (male), BMI and any baseline opioid use, over the
    patients with all four known; where the data do not allow a fit, ``fitted`` is false
    and ``reason`` says why."""
    male, female = (np.isin(columns.sex, [i for i, code in enumerate(columns.sex_codes)
                                          if code == sex]) for sex in ("male", "female"))
    complete = (~np.isnan(columns.age) & ~np.isnan(columns.bmi) & ~np.isnan(columns.opioid)
                & (male | female))
    data = {}
    for arm, tp, rule, rows in columns.groups():
        rows = rows[complete[rows]]
        if len(rows):
            data[(arm, tp, rule)] = rows
    result = []
    for key, rows in sorted(data.items()):
        covariates = np.column_stack([columns.age[rows], male[rows].astype(float),
                                      columns.bmi[rows], (columns.opioid[rows] > 0) * 1.0])
        result.append(_fit(key, covariates, columns.responder[rows].astype(int)))
    return result


def _subgroup_rows(tally: dict[tuple, list[int]]) -> list[dict]:
    return [
        {"arm": arm, "timepoint": tp, "rule": rule, "factor": factor, "level": level,
         "responders": yes, "evaluable": n, "percent": 100 * yes / n}
        for (arm, tp, rule, factor, level), (yes, n) in sorted(tally.items())
    ]


def _fit(key: tuple[str, str, str], covariates, outcome) -> dict:
    arm, tp, rule = key
    fit = stats.logistic_regression(covariates, outcome, TERMS)
    row = {"arm": arm, "timepoint": tp, "rule": rule, "n": len(outcome),
           "fitted": isinstance(fit, stats.LogisticFit), "test": "wald", "reason": "",
           "terms": []}
    if isinstance(fit, stats.NotFitted):
        row["reason"] = fit.reason
        return row
    for name, b, se, p, (low, high) in zip(fit.names, fit.coefficients, fit.standard_errors,
                                           fit.p_values, fit.odds_ratio_intervals(),
                                           strict=True):
        if name != "intercept":
            row["terms"].append({"term": name, "coefficient": b, "se": se,
                                 "odds_ratio": math.exp(b), "odds_ratio_ci_low": low,
                                 "odds_ratio_ci_high": high, "p_value": p, "test": "wald"})
    return row
