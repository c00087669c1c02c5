"""The numbers behind the study's results, computed in Python or with PostgreSQL's help.

A cell is (arm, time point, score). ``results`` needs, for every cell, the summary
(n, mean, SD, quartiles), the change from baseline (n, mean, SD), and between the
first two arms the Mann-Whitney p-value of the changes; then the verdicts counted
per arm, time point, rule and verdict, the visits per arm, time point and state
(the flow), and the responder rates and regressions by covariate. Both providers
return the same ``Tables``:

- ``python_tables`` reads every row through the ORM (any database; the reference);
- ``postgres_tables`` lets PostgreSQL hand over whole columns at once: one row per
  group holding every patient's value, packed as binary (``float8send``), read into
  numpy. Scores come from ``VisitScores`` (one row per visit with data, written with
  the scores), so no query joins scores to responses, visits and enrolments; order
  statistics and ranks are numpy's, the same functions as the reference. Values are
  the same floats as in Python; sums may differ in the last bits because the
  summation order differs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction

from . import stats
from .covariates import VerdictColumns, regressions, regressions_of, subgroups, subgroups_of
from .selectors import (
    RESULT_SCORES,
    primary_verdicts_with_covariates,
    score_rows,
    verdict_counts,
    visit_flow,
)

Cell = tuple[str, str, str]  # arm, time point, score
EVALUABLE = ("responder", "non_responder")


@dataclass
class Tables:
    summaries: dict[Cell, stats.Summary] = field(default_factory=dict)
    changes: dict[Cell, tuple[int, float | None, float | None]] = field(default_factory=dict)
    mann_whitney: dict[tuple[str, str], float | None] = field(default_factory=dict)
    # Patients per (arm, time point, rule, verdict), for the evaluable verdicts.
    verdicts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    flow: dict[tuple[str, str, str], int] = field(default_factory=dict)
    subgroups: list[dict] = field(default_factory=list)
    regressions: list[dict] = field(default_factory=list)


def result_tables(study, *, arms: list[str], baseline: str | None) -> Tables:
    """Return the tables from PostgreSQL's columns where available, else from Python."""
    if connection.vendor == "postgresql":
        return postgres_tables(study, arms=arms, baseline=baseline)
    return python_tables(study, arms=arms, baseline=baseline)


def python_tables(study, *, arms: list[str], baseline: str | None) -> Tables:
    values: dict[Cell, dict[int, float]] = defaultdict(dict)
    for row in score_rows(study):
        values[(row.arm, row.timepoint, row.score)][row.enrolment_id] = row.value
    tables = Tables()
    deltas: dict[Cell, list[float]] = {}
    for (arm, tp, code), at in values.items():
        tables.summaries[(arm, tp, code)] = stats.describe(list(at.values()))
        if baseline and tp != baseline:
            base = values.get((arm, baseline, code), {})
            delta = [at[pk] - base[pk] for pk in at if pk in base]
            deltas[(arm, tp, code)] = delta
            summary = stats.describe(delta)
            tables.changes[(arm, tp, code)] = (summary.n, summary.mean, summary.sd)
    if len(arms) >= 2:
        a, b = arms[0], arms[1]
        for tp, code in {(tp, code) for (_, tp, code) in deltas}:
            tables.mann_whitney[(tp, code)] = stats.mann_whitney(
                deltas.get((a, tp, code), []), deltas.get((b, tp, code), []))
    tables.verdicts = {key: n for key, n in verdict_counts(study).items()
                       if key[3] in EVALUABLE}
    tables.flow = visit_flow(study)
    rows = primary_verdicts_with_covariates(study)
    tables.subgroups, tables.regressions = subgroups(rows), regressions(rows)
    return tables


# Each query returns a few rows per group (time point, rule, arm), each holding whole
# columns packed by string_agg: int8send / float8send are big-endian 8-byte values, and
# NaN stands for null. Rows within one group come in the same order in every aggregate.
# Arms, time points and rules travel as ids, mapped to codes in Python: joining their
# tables to millions of rows only to carry a code along costs more than the scan.
_ENROLMENTS_SQL = """
SELECT en.arm_id, arm.code, p.sex, string_agg(int8send(en.id), ''),
       string_agg(float8send(COALESCE(p.age_at_enrolment::float8, 'NaN'))
                  || float8send(COALESCE(p.bmi::float8, 'NaN'))
                  || float8send(COALESCE(p.baseline_opioid_mme::float8, 'NaN')), '')
  FROM patients_enrolment en
  JOIN patients_arm arm ON arm.id = en.arm_id
  JOIN patients_patient p ON p.id = en.patient_id
 WHERE en.study_id = %(study)s
 GROUP BY en.arm_id, arm.code, p.sex
"""

_SCORES_SQL = """
SELECT vs.timepoint_id, string_agg(int8send(vs.enrolment_id), ''),
       string_agg({columns}, '')
  FROM instruments_visitscores vs
 WHERE vs.timepoint_id = ANY(%(timepoints)s)
 GROUP BY vs.timepoint_id
""".format(columns=" || ".join(f"float8send(COALESCE(vs.{code}, 'NaN'))"
                                for code in RESULT_SCORES))

# The opioid dose recorded at completed visits, and at baseline visits (with or without
# data) for the patients whose dose comes from the enrolment record: NaN here, filled in
# from the enrolment columns. numeric to float8 rounds correctly, as float(Decimal) does.
_OPIOIDS_SQL = """
SELECT v.timepoint_id, string_agg(int8send(v.enrolment_id), ''),
       string_agg(float8send(COALESCE(v.opioid_mme::float8, 'NaN')), '')
  FROM followups_visit v
 WHERE v.timepoint_id = ANY(%(timepoints)s)
   AND ((v.status = 'completed' AND v.opioid_mme IS NOT NULL)
        OR v.timepoint_id = ANY(%(baselines)s))
 GROUP BY v.timepoint_id
"""

# A visit has a VisitScores row exactly when it has a completed response: "with data".
_FLOW_SQL = """
SELECT en.arm_id, v.timepoint_id, v.status, vs.visit_id IS NOT NULL, count(*)
  FROM followups_visit v
  JOIN patients_enrolment en ON en.id = v.enrolment_id
  LEFT JOIN instruments_visitscores vs ON vs.visit_id = v.id
 WHERE en.study_id = %(study)s
 GROUP BY 1, 2, 3, 4
"""

_VERDICTS_SQL = """
SELECT en.arm_id, rs.timepoint_id, rs.rule_id, rs.verdict, count(*)
  FROM instruments_responderstatus rs
  JOIN patients_enrolment en ON en.id = rs.enrolment_id
 WHERE en.study_id = %(study)s AND rs.verdict IN ('responder', 'non_responder')
 GROUP BY 1, 2, 3, 4
"""

_PRIMARY_VERDICTS_SQL = """
SELECT rs.timepoint_id, rs.rule_id, rs.verdict, string_agg(int8send(rs.enrolment_id), '')
  FROM instruments_responderstatus rs
 WHERE rs.rule_id = ANY(%(primary)s) AND rs.verdict IN ('responder', 'non_responder')
 GROUP BY 1, 2, 3
"""


def _ints(packed) -> np.ndarray:
    return np.frombuffer(packed, dtype=">i8").astype(np.int64)


def _floats(packed, width: int = 1) -> np.ndarray:
    values = np.frombuffer(packed, dtype=">f8").astype(np.float64)
    return values if width == 1 else values.reshape(-1, width)


class _Enrolments:
    """The study's enrolments as columns: arm (index into ``arms``), sex (index into
    ``sex_codes``) and covariates (age, BMI, baseline opioid dose; NaN if unknown)."""

    def __init__(self, rows, arms: list[str]):
        self.arm_code = {arm_id: code for arm_id, code, _, _, _ in rows}
        self.sex_codes = sorted({sex for _, _, sex, _, _ in rows})
        ids, arm, sex = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        covariates = [np.zeros((0, 3))]
        for _, arm_code, sex_code, packed_ids, packed_covariates in rows:
            group = _ints(packed_ids)
            ids.append(group)
            arm.append(np.full(len(group), arms.index(arm_code)))
            sex.append(np.full(len(group), self.sex_codes.index(sex_code)))
            covariates.append(_floats(packed_covariates, 3))
        self.ids, self.arm, self.sex, self.covariates = (
            np.concatenate(column) for column in (ids, arm, sex, covariates))
        # Ids to positions by one array lookup where the ids are dense enough (they are
        # in a database of a few studies); by binary search otherwise.
        self._low, self._lookup, self._order = 0, None, None
        if len(self.ids) and self.ids.max() - self.ids.min() < 8 * len(self.ids) + 100_000:
            self._low = int(self.ids.min())
            self._lookup = np.full(int(self.ids.max()) - self._low + 2, -1, np.int64)
            self._lookup[self.ids - self._low] = np.arange(len(self.ids))  # last: not found
        else:
            self._order = np.argsort(self.ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Return each id's position in the columns, or -1 if not one of the study's."""
        if self._lookup is not None:
            offset = ids - self._low
            outside = (offset < 0) | (offset >= len(self._lookup) - 1)
            return self._lookup[np.where(outside, len(self._lookup) - 1, offset)]
        if not len(self.ids):
            return np.full(len(ids), -1, np.int64)
        ordered = self.ids[self._order]
        at = np.minimum(np.searchsorted(ordered, ids), len(ordered) - 1)
        return np.where(ordered[at] == ids, self._order[at], -1)


def postgres_tables(study, *, arms: list[str], baseline: str | None) -> Tables:
    from outcomes.followups.models import TimePoint
    from outcomes.instruments.models import ResponderRule

    timepoints = list(TimePoint.objects.filter(study=study)
                      .values_list("pk", "code", "is_baseline"))
    tp_code = {pk: code for pk, code, _ in timepoints}
    rules = list(ResponderRule.objects.filter(study=study).values_list("pk", "code",
                                                                         "is_primary"))
    rule_code = {pk: code for pk, code, _ in rules}
    params = {"study": study.pk, "timepoints": list(tp_code),
              "baselines": [pk for pk, _, is_baseline in timepoints if is_baseline],
              "primary": [pk for pk, _, primary in rules if primary]}
    # One transaction for its settings (until it ends, or the outer transaction does): the
    # hashes over 100,000 patients' rows fit in memory, and each statement runs once, so
    # compiling it (JIT) would cost more than it saves. At READ COMMITTED each statement
    # sees its own snapshot: a patient enrolled between the enrolments' read and a later
    # one has no position (-1) in the columns and is left out of this run's tables.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(_ENROLMENTS_SQL, params)
        enrolments = _Enrolments(cursor.fetchall(), arms)
        cursor.execute(_SCORES_SQL, params)
        columns = {}
        for tp, ids, values in cursor.fetchall():
            at = enrolments.positions(_ints(ids))
            mine = at >= 0
            at, values = at[mine], _floats(values, len(RESULT_SCORES))[mine]
            for j, code in enumerate(RESULT_SCORES):
                present = ~np.isnan(values[:, j])
                if present.any():
                    columns[(tp_code[tp], code)] = (at[present], values[present, j])
        cursor.execute(_OPIOIDS_SQL, params)
        for tp, ids, values in cursor.fetchall():
            at = enrolments.positions(_ints(ids))
            at, values = at[at >= 0], _floats(values)[at >= 0]
            if tp in params["baselines"]:
                values = np.where(np.isnan(values), enrolments.covariates[at, 2], values)
            present = ~np.isnan(values)
            if present.any():
                columns[(tp_code[tp], "opioid_mme")] = (at[present], values[present])
        cursor.execute(_FLOW_SQL, params)
        flow_rows = cursor.fetchall()
        cursor.execute(_VERDICTS_SQL, params)
        verdict_rows = cursor.fetchall()
        primary_rows = []
        if params["primary"]:
            cursor.execute(_PRIMARY_VERDICTS_SQL, params)
            primary_rows = cursor.fetchall()
    tables = _score_tables(columns, enrolments, arms, baseline)
    for arm, tp, status, with_data, n in flow_rows:
        key = (enrolments.arm_code[arm], tp_code[tp], "with_data" if with_data else status)
        tables.flow[key] = tables.flow.get(key, 0) + n
    tables.verdicts = {(enrolments.arm_code[arm], tp_code[tp], rule_code[rule], verdict): n
                       for arm, tp, rule, verdict, n in verdict_rows}
    verdicts = _verdict_columns(primary_rows, enrolments, arms, tp_code, rule_code)
    tables.subgroups, tables.regressions = subgroups_of(verdicts), regressions_of(verdicts)
    return tables


def _score_tables(columns, enrolments: _Enrolments, arms: list[str],
                  baseline: str | None) -> Tables:
    """Compute summaries, changes and Mann-Whitney p-values as ``python_tables`` does.

    ``columns`` maps (time point, score) to the enrolments' positions and their values.
    """
    tables = Tables()
    for (tp, code), (at, values) in columns.items():
        arm = enrolments.arm[at]
        for k, name in enumerate(arms):
            mine = values[arm == k]
            if len(mine):
                tables.summaries[(name, tp, code)] = stats.describe(mine)
    if not baseline:
        return tables
    for (tp, code), (at, values) in columns.items():
        if tp == baseline:
            continue
        base = np.full(len(enrolments.ids), np.nan)
        base_at, base_values = columns.get((baseline, code),
                                           (np.zeros(0, np.int64), np.zeros(0)))
        base[base_at] = base_values
        delta = values - base[at]  # NaN where the patient has no baseline value
        paired = ~np.isnan(delta)
        arm, delta_arm, delta = enrolments.arm[at], enrolments.arm[at[paired]], delta[paired]
        deltas = {}
        for k, name in enumerate(arms):
            if not (arm == k).any():
                continue  # no cell: python_tables has no change for it either
            deltas[k] = delta[delta_arm == k]
            summary = stats.describe(deltas[k])
            tables.changes[(name, tp, code)] = (summary.n, summary.mean, summary.sd)
        if len(arms) >= 2 and deltas:
            tables.mann_whitney[(tp, code)] = _mann_whitney(
                deltas.get(0, np.zeros(0)), deltas.get(1, np.zeros(0)))
    return tables


def _mann_whitney(a: np.ndarray, b: np.ndarray) -> float | None:
    """Return ``stats.mann_whitney(a, b)``, from numpy's ranks when scipy would use the
    normal approximation anyway (both samples over 8, or any tie)."""
    if not len(a) or not len(b):
        return None
    pooled = np.sort(np.concatenate([a, b]))
    starts = np.flatnonzero(np.concatenate([[True], pooled[1:] != pooled[:-1]]))
    runs = np.diff(np.append(starts, len(pooled)))
    if len(runs) == 1 or (min(len(a), len(b)) <= 8 and runs.max() == 1):
        # Small samples without ties take scipy's exact distribution; one value tied
        # throughout has no spread (scipy reports p = 1).
        return stats.mann_whitney(a, b)
    # The average rank of a value: positions left + 1 ... right of its run, 1-based.
    # (Sorted, the values of a are looked up in order: many times faster.)
    a = np.sort(a)
    twice = np.searchsorted(pooled, a, "left") + np.searchsorted(pooled, a, "right") + 1
    tie_term = float(np.sum(runs.astype(np.float64) ** 3 - runs))
    return stats.mann_whitney_from_ranks(len(a), len(b), float(twice.sum()) / 2, tie_term)


def _verdict_columns(rows, enrolments: _Enrolments, arms, tp_code, rule_code
                     ) -> VerdictColumns:
    """Gather the evaluable verdicts of the primary rules with each patient's covariates."""
    tp_index = {pk: i for i, pk in enumerate(tp_code)}
    rule_index = {pk: i for i, pk in enumerate(rule_code)}
    at, tps, rules, responder = ([np.zeros(0, np.int64)], [np.zeros(0, np.int64)],
                                 [np.zeros(0, np.int64)], [np.zeros(0, bool)])
    for tp, rule, verdict, packed in rows:
        found = enrolments.positions(_ints(packed))
        found = found[found >= 0]
        at.append(found)
        tps.append(np.full(len(found), tp_index[tp]))
        rules.append(np.full(len(found), rule_index[rule]))
        responder.append(np.full(len(found), verdict == "responder"))
    at = np.concatenate(at)
    covariates = enrolments.covariates[at]
    return VerdictColumns(
        arm_codes=arms, timepoint_codes=list(tp_code.values()),
        rule_codes=list(rule_code.values()), sex_codes=enrolments.sex_codes,
        arm=enrolments.arm[at], timepoint=np.concatenate(tps), rule=np.concatenate(rules),
        responder=np.concatenate(responder), sex=enrolments.sex[at],
        age=covariates[:, 0], bmi=covariates[:, 1], opioid=covariates[:, 2],
    )
