"""Responder rates by covariate and logistic regressions, within arms (SPEC section 8).

Two inputs, one output. ``subgroups`` and ``regressions`` take one tuple per verdict
``(arm, time point, rule, verdict, sex, age, bmi, opioid)``: the reference, used on
SQLite. ``subgroups_of`` and ``regressions_of`` take the same data as columns
(``VerdictColumns``: numpy arrays, one entry per verdict), so 100,000 patients'
verdicts are tallied without a Python loop per row; PostgreSQL's path uses them.
Both give the same rows in the same order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from . import stats

AGE_BANDS = ((50, 65), ("<50", "50-64", "65+"))
BMI_BANDS = ((25, 30), ("<25", "25-29.9", "30+"))
TERMS = ("age", "male", "bmi", "opioid_any")


def levels(sex, age, bmi, opioid) -> dict[str, str]:
    """Return the level of each factor: age group, sex, BMI class, baseline opioid use."""
    def band(value, cuts, labels):
        if value is None:
            return "unknown"
        for cut, label in zip(cuts, labels, strict=False):
            if value < cut:
                return label
        return labels[-1]

    return {
        "age": band(age, *AGE_BANDS),
        "sex": sex,
        "bmi": band(bmi, *BMI_BANDS),
        "opioid": "unknown" if opioid is None else ("none" if opioid == 0 else "any"),
    }


def subgroups(rows: list[tuple]) -> list[dict]:
    """Responder rate by age group, sex, BMI class and baseline opioid use, within each arm,
    for the study's primary rules at each follow-up time point (complete case)."""
    tally: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for arm, tp, rule, verdict, sex, age, bmi, opioid in rows:
        if verdict == "not_evaluable":
            continue
        for factor, level in levels(sex, age, bmi, opioid).items():
            cell = tally[(arm, tp, rule, factor, level)]
            cell[0] += verdict == "responder"
            cell[1] += 1
    return _subgroup_rows(tally)


def regressions(rows: list[tuple]) -> list[dict]:
    """Within each arm, for each primary rule and time point: logistic regression of
    responding on age, sex (male), BMI and any baseline opioid use, where the data allow
    (at least 10 events of the rarer outcome per predictor; otherwise ``fitted`` is false)."""
    data: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for arm, tp, rule, verdict, sex, age, bmi, opioid in rows:
        if verdict == "not_evaluable" or None in (age, bmi, opioid) or sex not in ("female",
                                                                               "male"):
            continue
        covariates, outcome = data[(arm, tp, rule)]
        covariates.append([float(age), 1.0 if sex == "male" else 0.0, float(bmi),
                           1.0 if opioid > 0 else 0.0])
        outcome.append(1 if verdict == "responder" else 0)
    return [_fit(key, covariates, outcome) for key, (covariates, outcome) in sorted(data.items())]


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
    """``subgroups`` over ``VerdictColumns``."""
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
    """``regressions`` over ``VerdictColumns``."""
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
    return {
        "arm": arm, "timepoint": tp, "rule": rule, "n": len(outcome),
        "fitted": fit is not None,
        "terms": [] if fit is None else [
            {"term": name, "coefficient": b, "se": se, "odds_ratio": math.exp(b), "p_value": p}
            for name, b, se, p in zip(fit.names, fit.coefficients, fit.standard_errors,
                                      fit.p_values, strict=True) if name != "intercept"
        ],
    }
