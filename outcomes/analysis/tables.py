"""The study's data read as columns, for ``computation.compute``: two fetchers, one result.

Both fetchers return the same ``StudyColumns`` (the enrolments with their covariates,
each score at each time point, the opioid doses, the visits counted by state, the
evaluable verdicts counted, and the primary rules' verdicts), so every figure is
computed once, in ``computation``:

- ``orm_columns`` reads through the ORM, row by row (SQLite, and any database);
- ``postgres_columns`` lets PostgreSQL hand over whole columns at once: one row per
  group holding every patient's value, packed as binary (``float8send``), read into
  numpy without a Python object per value.

Scores are the study's own (``selectors.study_scores``: the instruments its schedule
asks), whatever the instrument, read from ``VisitScores`` (one row per visit with data,
every numeric score by key, written with the scores), so no query joins scores to
responses, visits and enrolments: the ORM's fetcher reads its ``values`` map,
PostgreSQL's the same numbers as the row's float array (``instruments.slots``). Values
are the float of each stored exact value.

For Cronbach's alpha (the SEM of ``computation.mcid_estimates``) both need each score's
item variances and the variance of their total over the complete baseline answers
(``ReliabilitySpec``): the ORM's fetcher reads the answers row by row, PostgreSQL's
reads the running sums a trigger keeps as responses are written
(``instruments.reliability``), so no answer is read (but for a score whose versions the
sums do not list: its answers, in one aggregate).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q

from outcomes.followups.models import TimePoint, Visit
from outcomes.instruments.models import ResponderRule, ResponderStatus, Response, VisitScores
from outcomes.instruments.reliability import item_variances, scored_items, split_specs
from patients.models import Enrolment

from . import stats
from .computation import Cohort, McidPlan, Pair, StudyColumns, Tables, compute
from .covariates import VerdictColumns

EVALUABLE = ("responder", "non_responder")
OPIOID = "opioid_mme"


def result_tables(study, *, arms: list[str], scores: list[str], pairs: list[Pair],
                  today: dt.date, timepoints=None, rules=None,
                  reliability: Sequence[ReliabilitySpec] = (),
                  mcid: McidPlan | None = None) -> Tables:
    """Return the study's tables, read by the fetcher its database needs.

    ``timepoints`` ((id, code, is baseline), ...) and ``rules`` ((id, code, is primary:
    in one of the study's primary comparisons), ...) are the study's, read here unless
    the caller already has them; ``reliability`` the scores whose baseline items are
    read for Cronbach's alpha, ``mcid`` what the MCID estimates cover."""
    fetch = postgres_columns if connection.vendor == "postgresql" else orm_columns
    return compute(fetch(study, arms=arms, scores=scores, today=today,
                         timepoints=timepoints, rules=rules, reliability=reliability),
                   pairs, baseline_scores=[code for code in scores if code != OPIOID],
                   mcid=mcid)


@dataclass(frozen=True)
class ReliabilitySpec:
    """The items of one score as scored, for Cronbach's alpha: ``items`` are (item code,
    {answer: value} or None) in the score's order, the map where the score recodes or
    reverses the item; ``instruments`` the ids of the instrument versions whose responses
    give the score over these items."""

    score: str
    instruments: tuple[int, ...]
    items: tuple[tuple[str, tuple[tuple[int, int], ...] | None], ...]

    def values(self, answers) -> list[float] | None:
        """Return the items' values in one response's answers, or None if one is blank."""
        row = []
        for code, mapping in self.items:
            value = answers.get(code)
            if value is None or isinstance(value, bool):
                return None
            if mapping is not None:
                value = dict(mapping).get(int(value))
                if value is None:
                    return None
            row.append(float(value))
        return row


def reliability_specs(schedule, scores: Sequence[str]) -> list[ReliabilitySpec]:
    """Return the ``ReliabilitySpec`` of each of ``scores`` with two items or more.

    ``schedule`` is (instrument id, definition), ... in schedule order: a score's items
    are those of the first version that gives it; another version giving it over other
    items (a correction) is left out of its alpha."""
    found = []
    for key in scores:
        items, instruments = None, []
        for pk, definition in schedule:
            if key not in {s.key for s in definition.score_defs} or pk in instruments:
                continue
            mine = scored_items(definition, key)
            if items is None:
                items = mine
            if mine == items:
                instruments.append(pk)
        if items is not None and len(items) >= 2:
            found.append(ReliabilitySpec(key, tuple(instruments), items))
    return found


class _Study:
    """The small maps both fetchers share: time points and rules by id."""

    def __init__(self, study, scores: list[str], timepoints=None, rules=None):
        if timepoints is None:
            timepoints = list(TimePoint.objects.filter(study=study)
                              .values_list("pk", "code", "is_baseline"))
        self.tp_code = {pk: code for pk, code, _ in timepoints}
        self.baselines = [pk for pk, _, is_baseline in timepoints if is_baseline]
        self.baseline = next((code for _, code, is_baseline in timepoints if is_baseline),
                             None)
        if rules is None:
            from patients.models import PrimaryComparison

            rules = list(ResponderRule.objects.filter(study=study).annotate(
                primary=Exists(PrimaryComparison.objects.filter(rule=OuterRef("pk"))))
                .values_list("pk", "code", "primary"))
        self.rule_code = {pk: code for pk, code, _ in rules}
        self.primary = [pk for pk, _, is_primary in rules if is_primary]
        self.columns = [code for code in scores if code != OPIOID]  # in VisitScores.values
        self.opioid = OPIOID in scores


def _add(found: dict, key, cohort: Cohort, ids, values, at=None) -> None:
    """Store a column, keeping the study's patients with a value. ``at``: the ids'
    positions in the cohort, when the caller has them (one time point's scores share
    their ids)."""
    at = cohort.positions(np.asarray(ids, dtype=np.int64)) if at is None else at
    values = np.asarray(values, dtype=np.float64)
    keep = (at >= 0) & ~np.isnan(values)
    if keep.any():
        found[key] = (at[keep], values[keep])


def _opioid_column(found: dict, key, cohort: Cohort, ids, doses, *, baseline: bool) -> None:
    """The doses recorded at a time point; at baseline, the enrolment record's dose
    where the visit has none."""
    at = cohort.positions(np.asarray(ids, dtype=np.int64))
    doses = np.asarray(doses, dtype=np.float64)
    mine = at >= 0
    at, doses = at[mine], doses[mine]
    if baseline:
        doses = np.where(np.isnan(doses), cohort.covariates[at, 2], doses)
    _add(found, key, cohort, cohort.ids[at], doses)


def _count_visits(counts: dict, rows, cohort: Cohort, maps: _Study,
                  with_data: dict[int, np.ndarray]) -> None:
    """Count ``_FLOW_SQL``'s visits by (arm, time point, state, due) into ``counts``:
    the state is "with_data" for a visit whose enrolment ``with_data`` lists at its time
    point (the visits with a VisitScores row), else the visit's status."""
    arms = len(cohort.arm_codes)
    for tp, status, due, packed in rows:
        ids = _ints(packed)
        at = cohort.positions(ids)
        mine = at >= 0
        has_data = np.isin(ids[mine], with_data.get(tp, ()))
        arm = cohort.arm[at[mine]]
        for state, chosen in (("with_data", has_data), (status, ~has_data)):
            for k, n in enumerate(np.bincount(arm[chosen], minlength=arms).tolist()):
                if n:
                    key = (cohort.arm_codes[k], maps.tp_code[tp], state, bool(due))
                    counts[key] = counts.get(key, 0) + n


def _verdict_columns(groups, cohort: Cohort, maps: _Study) -> VerdictColumns:
    """Gather the evaluable verdicts of the primary rules with each patient's covariates.

    ``groups`` yields ``(time point id, rule id, verdict, enrolment ids)``."""
    tp_index = {pk: i for i, pk in enumerate(maps.tp_code)}
    rule_index = {pk: i for i, pk in enumerate(maps.rule_code)}
    at, tps, rules, responder = ([np.zeros(0, np.int64)], [np.zeros(0, np.int64)],
                                 [np.zeros(0, np.int64)], [np.zeros(0, bool)])
    for tp, rule, verdict, ids in groups:
        found = cohort.positions(np.asarray(ids, dtype=np.int64))
        found = found[found >= 0]
        at.append(found)
        tps.append(np.full(len(found), tp_index[tp]))
        rules.append(np.full(len(found), rule_index[rule]))
        responder.append(np.full(len(found), verdict == "responder"))
    positions = np.concatenate(at)
    covariates = cohort.covariates[positions]
    return VerdictColumns(
        arm_codes=cohort.arm_codes, timepoint_codes=list(maps.tp_code.values()),
        rule_codes=list(maps.rule_code.values()), sex_codes=cohort.sex_codes,
        arm=cohort.arm[positions], timepoint=np.concatenate(tps),
        rule=np.concatenate(rules), responder=np.concatenate(responder),
        sex=cohort.sex[positions], age=covariates[:, 0], bmi=covariates[:, 1],
        opioid=covariates[:, 2],
    )


def _float(value) -> float:
    return np.nan if value is None else float(value)


# --- the ORM's fetcher -----------------------------------------------------------------


def orm_columns(study, *, arms: list[str], scores: list[str], today: dt.date,
                timepoints=None, rules=None,
                reliability: Sequence[ReliabilitySpec] = ()) -> StudyColumns:
    """Read the study's columns through the ORM, one row at a time (any database)."""
    maps = _Study(study, scores, timepoints, rules)
    enrolments = list(Enrolment.objects.filter(study=study).values_list(
        "pk", "arm__code", "patient__sex", "patient__age_at_enrolment", "patient__bmi",
        "patient__baseline_opioid_mme"))
    sex_codes = sorted({row[2] for row in enrolments})
    cohort = Cohort(
        [row[0] for row in enrolments], [arms.index(row[1]) for row in enrolments],
        [sex_codes.index(row[2]) for row in enrolments],
        [[_float(row[3]), _float(row[4]), _float(row[5])] for row in enrolments],
        arm_codes=arms, sex_codes=sex_codes)
    data = StudyColumns(cohort=cohort, baseline=maps.baseline)
    if maps.columns:
        by_tp: dict[int, list] = defaultdict(list)
        for row in VisitScores.objects.filter(timepoint_id__in=list(maps.tp_code)).values_list(
                "enrolment_id", "timepoint_id", "values").iterator(chunk_size=20000):
            by_tp[row[1]].append(row)
        for tp, rows in by_tp.items():
            ids = [row[0] for row in rows]
            at = cohort.positions(np.asarray(ids, dtype=np.int64))
            for code in maps.columns:
                _add(data.scores, (maps.tp_code[tp], code), cohort, ids,
                     [_float(row[2].get(code)) for row in rows], at)
    if maps.opioid:
        doses: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
        for enrolment, tp, mme in Visit.objects.filter(
            Q(status=Visit.Status.COMPLETED, opioid_mme__isnull=False)
            | Q(timepoint_id__in=maps.baselines), timepoint_id__in=list(maps.tp_code),
        ).values_list("enrolment_id", "timepoint_id", "opioid_mme").iterator(chunk_size=20000):
            doses[tp][0].append(enrolment)
            doses[tp][1].append(_float(mme))
        for tp, (ids, values) in doses.items():
            _opioid_column(data.scores, (maps.tp_code[tp], OPIOID), cohort, ids, values,
                           baseline=tp in maps.baselines)
    with_data = VisitScores.objects.filter(visit=OuterRef("pk"))
    for arm, tp, status, has_data, due, n in (
        Visit.objects.filter(enrolment__study=study)
        .annotate(has_data=Exists(with_data),
                  due=ExpressionWrapper(Q(window_close_date__lt=today),
                                        output_field=BooleanField()))
        .values_list("enrolment__arm__code", "timepoint_id", "status", "has_data", "due")
        .annotate(n=Count("pk")).order_by()
    ):
        key = (arm, maps.tp_code[tp], "with_data" if has_data else status, bool(due))
        data.visits[key] = data.visits.get(key, 0) + n
    for arm, tp, rule, verdict, n in (
        ResponderStatus.objects.filter(enrolment__study=study, verdict__in=EVALUABLE)
        .values_list("enrolment__arm__code", "timepoint_id", "rule_id", "verdict")
        .annotate(n=Count("pk")).order_by()
    ):
        data.verdicts[(arm, maps.tp_code[tp], maps.rule_code[rule], verdict)] = n
    groups: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    if maps.primary:
        for enrolment, tp, rule, verdict in ResponderStatus.objects.filter(
            enrolment__study=study, rule_id__in=maps.primary, verdict__in=EVALUABLE,
        ).values_list("enrolment_id", "timepoint_id", "rule_id", "verdict").iterator(
                chunk_size=20000):
            groups[(tp, rule, verdict)].append(enrolment)
    data.primary = _verdict_columns(((tp, rule, verdict, ids)
                                     for (tp, rule, verdict), ids in groups.items()),
                                    cohort, maps)
    if reliability and maps.baselines:
        by_instrument: dict[int, list[ReliabilitySpec]] = defaultdict(list)
        for spec in reliability:
            for pk in spec.instruments:
                by_instrument[pk].append(spec)
        complete: dict[str, list[list[float]]] = {spec.score: [] for spec in reliability}
        for instrument, answers in Response.objects.filter(
            visit__timepoint_id__in=maps.baselines, state=Response.State.COMPLETED,
            instrument_id__in=list(by_instrument),
        ).values_list("instrument_id", "answers").iterator(chunk_size=20000):
            for spec in by_instrument[instrument]:
                row = spec.values(answers or {})
                if row is not None:
                    complete[spec.score].append(row)
        for spec in reliability:
            data.reliability[spec.score] = stats.item_variances(
                np.asarray(complete[spec.score], dtype=float).reshape(-1, len(spec.items)))
    return data


# --- PostgreSQL's fetcher --------------------------------------------------------------

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

# The visits with data at each time point (their enrolment ids: the flow's "with data"),
# and each score read from the visit's array of numbers at the key's slot (a parameter:
# ``score_0``, ...; the slot is read once per statement), which a trigger writes from the
# jsonb map as the row is (``instruments.slots``): the float the map's exact decimal
# rounds to, as reading the map would give, without converting a decimal per value. A
# key the visit lacks, or no visit has, reads NaN.
_SCORES_SQL = """
SELECT vs.timepoint_id, string_agg(int8send(vs.enrolment_id), ''){columns}
  FROM instruments_visitscores vs
 WHERE vs.timepoint_id = ANY(%(timepoints)s)
 GROUP BY vs.timepoint_id
"""
_SCORE_SQL = """float8send(COALESCE(vs.numbers[(
    SELECT s.id::int FROM instruments_scoreslot s WHERE s.key = %(score_{n})s)], 'NaN'))"""

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

# The visits of the study's time points, grouped by time point, state and whether the
# window has closed (before the study's today: due), each group's enrolment ids packed: a
# visit is "with data" when it has a VisitScores row, which the scores' statement has
# already listed by time point (a visit is one enrolment at one time point), so neither
# the enrolments nor the scores are joined here; the arm is the cohort's.
_FLOW_SQL = """
SELECT v.timepoint_id, v.status, v.window_close_date < %(today)s,
       string_agg(int8send(v.enrolment_id), '')
  FROM followups_visit v
 WHERE v.timepoint_id = ANY(%(timepoints)s)
 GROUP BY 1, 2, 3
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


# Cronbach's alpha of a score whose versions the running sums do not list
# (``instruments.reliability``: a version stored by code that bypasses the services,
# until ``rebuild_reliability_sums``), from the answers: the completed baseline
# responses of the scores' instruments read once (``answers``), then per score
# (``{scores}``: a subquery each, three columns) the items of its instrument versions'
# responses, each item's value as scored (read by key, through its recoding map where it
# has one: a jsonb parameter); a response is complete for a score when the items' total
# is not null. Per score: the complete responses, the sum of the items' sample variances
# and the total's. OFFSET 0 keeps each subquery whole: flattened, the planner would read
# every item again for the total and for each aggregate.
_RELIABILITY_SQL = """
WITH answers AS MATERIALIZED (
    SELECT r.instrument_id, r.answers
      FROM instruments_response r
      JOIN followups_visit v ON v.id = r.visit_id
     WHERE v.timepoint_id = ANY(%(baselines)s) AND r.state = 'completed'
       AND r.instrument_id = ANY(%(instruments)s))
SELECT * FROM {scores}
"""
_RELIABILITY_SCORE_SQL = """(
    SELECT count(*), {item_variances}, var_samp(total)
      FROM (SELECT *, {total} AS total
              FROM (SELECT {items} FROM answers r
                     WHERE r.instrument_id = ANY(%(ids_{j})s) OFFSET 0) items
            OFFSET 0) complete
     WHERE total IS NOT NULL) score_{j}"""


def reliability_sql(specs: Sequence[ReliabilitySpec]) -> tuple[str, dict]:
    """Return ``_RELIABILITY_SQL`` for ``specs`` and its parameters."""
    scores, params = [], {}
    for j, spec in enumerate(specs):
        params[f"ids_{j}"] = list(spec.instruments)
        items, names = [], []
        for i, (code, mapping) in enumerate(spec.items):
            params[f"item_{j}_{i}"] = code
            value = f"(r.answers ->> %(item_{j}_{i})s)"
            if mapping is not None:
                params[f"map_{j}_{i}"] = json.dumps({str(a): b for a, b in mapping})
                value = f"(%(map_{j}_{i})s::jsonb ->> {value})"
            items.append(f"{value}::float8 AS s{i}")
            names.append(f"s{i}")
        scores.append(_RELIABILITY_SCORE_SQL.format(
            j=j, items=", ".join(items), total=" + ".join(names),
            item_variances=" + ".join(f"var_samp({n})" for n in names)))
    return _RELIABILITY_SQL.format(scores=", ".join(scores)), params


def _ints(packed) -> np.ndarray:
    return np.frombuffer(packed, dtype=">i8").astype(np.int64)


def _floats(packed, width: int = 1) -> np.ndarray:
    values = np.frombuffer(packed, dtype=">f8").astype(np.float64)
    return values if width == 1 else values.reshape(-1, width)


def packed_cohort(rows, arms: list[str]) -> tuple[Cohort, dict[int, str]]:
    """Return the cohort from ``_ENROLMENTS_SQL``'s rows, and arm codes by arm id."""
    arm_code = {arm_id: code for arm_id, code, _, _, _ in rows}
    sex_codes = sorted({sex for _, _, sex, _, _ in rows})
    ids, arm, sex = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    covariates = [np.zeros((0, 3))]
    for _, code, sex_code, packed_ids, packed_covariates in rows:
        group = _ints(packed_ids)
        ids.append(group)
        arm.append(np.full(len(group), arms.index(code)))
        sex.append(np.full(len(group), sex_codes.index(sex_code)))
        covariates.append(_floats(packed_covariates, 3))
    return Cohort(np.concatenate(ids), np.concatenate(arm), np.concatenate(sex),
                  np.concatenate(covariates), arm_codes=arms, sex_codes=sex_codes), arm_code


def postgres_columns(study, *, arms: list[str], scores: list[str], today: dt.date,
                     timepoints=None, rules=None,
                     reliability: Sequence[ReliabilitySpec] = ()) -> StudyColumns:
    """Read the study's columns from PostgreSQL, packed: a few rows per statement."""
    maps = _Study(study, scores, timepoints, rules)
    params = {"study": study.pk, "timepoints": list(maps.tp_code),
              "baselines": maps.baselines, "primary": maps.primary, "today": today}
    # One transaction for its settings (until it ends, or the outer transaction does): the
    # hashes over 100,000 patients' rows fit in memory, and each statement runs once, so
    # compiling it (JIT) would cost more than it saves. At READ COMMITTED each statement
    # sees its own snapshot: a patient enrolled between the enrolments' read and a later
    # one has no position (-1) in the columns and is left out of this run's tables.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        cursor.execute(_ENROLMENTS_SQL, params)
        cohort, arm_code = packed_cohort(cursor.fetchall(), arms)
        data = StudyColumns(cohort=cohort, baseline=maps.baseline)
        columns = " || ".join(_SCORE_SQL.format(n=n) for n in range(len(maps.columns)))
        cursor.execute(_SCORES_SQL.format(
            columns=f", string_agg({columns}, '')" if columns else ""), {
            **params, **{f"score_{n}": code for n, code in enumerate(maps.columns)}})
        with_data = {}
        for tp, ids, *values in cursor.fetchall():
            ids = with_data[tp] = _ints(ids)
            if maps.columns:
                values = _floats(values[0], len(maps.columns))
                at = cohort.positions(ids)
                for j, code in enumerate(maps.columns):
                    _add(data.scores, (maps.tp_code[tp], code), cohort, ids, values[:, j], at)
        if maps.opioid:
            cursor.execute(_OPIOIDS_SQL, params)
            for tp, ids, values in cursor.fetchall():
                _opioid_column(data.scores, (maps.tp_code[tp], OPIOID), cohort, _ints(ids),
                               _floats(values), baseline=tp in maps.baselines)
        cursor.execute(_FLOW_SQL, params)
        _count_visits(data.visits, cursor.fetchall(), cohort, maps, with_data)
        cursor.execute(_VERDICTS_SQL, params)
        for arm, tp, rule, verdict, n in cursor.fetchall():
            data.verdicts[(arm_code[arm], maps.tp_code[tp], maps.rule_code[rule],
                           verdict)] = n
        primary_rows = []
        if maps.primary:
            cursor.execute(_PRIMARY_VERDICTS_SQL, params)
            primary_rows = cursor.fetchall()
        if reliability and maps.baselines:
            # Running sums the database keeps as responses are written (instruments'
            # ``reliability``): a few rows, however many answers; a score whose versions
            # they do not list, from its answers.
            listed, unlisted = split_specs(cursor, reliability)
            data.reliability.update(item_variances(cursor, listed, maps.baselines))
            if unlisted:
                sql, extra = reliability_sql(unlisted)
                cursor.execute(sql, {**params, **extra, "instruments": sorted(
                    {pk for spec in unlisted for pk in spec.instruments})})
                found = cursor.fetchone()
                for j, spec in enumerate(unlisted):
                    n, item_sum, total = found[3 * j: 3 * j + 3]
                    data.reliability[spec.score] = stats.ItemVariances(
                        int(n), len(spec.items),
                        None if item_sum is None else float(item_sum),
                        None if total is None else float(total))
    data.primary = _verdict_columns(((tp, rule, verdict, _ints(packed))
                                     for tp, rule, verdict, packed in primary_rows),
                                    cohort, maps)
    return data
