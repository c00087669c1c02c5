"""Per-cell score statistics for the results, computed in Python or by PostgreSQL.

A cell is (arm, time point, score). ``results`` needs, for every cell, the summary
(n, mean, SD, quartiles), the change from baseline (n, mean, SD), and between the
first two arms the Mann-Whitney p-value of the changes. Both providers return the
same ``Tables``:

- ``python_tables`` reads every score row (any database; the reference);
- ``postgres_tables`` lets PostgreSQL aggregate (count, avg, stddev_samp,
  percentile_cont, ranks), so 100,000 patients never cross the wire. Values are
  the same floats as in Python (exact strings parsed by the same IEEE rules);
  sums may differ in the last bits because the summation order differs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from . import stats
from .selectors import RESULT_SCORES, score_rows

Cell = tuple[str, str, str]  # arm, time point, score


@dataclass
class Tables:
    summaries: dict[Cell, stats.Summary] = field(default_factory=dict)
    changes: dict[Cell, tuple[int, float | None, float | None]] = field(default_factory=dict)
    mann_whitney: dict[tuple[str, str], float | None] = field(default_factory=dict)


def score_tables(study, *, arms: list[str], baseline: str | None) -> Tables:
    """Return the tables from PostgreSQL's aggregates where available, else from Python."""
    if connection.vendor == "postgresql" and baseline:
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
    return tables


# Exact strings ("36.5", "320/9") become the same float8 Python's float() would give:
# strtod for decimals, and one correctly rounded division for fractions.
_VALUES_SQL = """
SELECT v.enrolment_id AS e, arm.code AS arm, tp.code AS tp, sc.code AS code,
       CASE WHEN strpos(sc.exact, '/') > 0
            THEN split_part(sc.exact, '/', 1)::float8 / split_part(sc.exact, '/', 2)::float8
            ELSE sc.exact::float8 END AS x
  FROM instruments_score sc
  JOIN instruments_response r ON r.id = sc.response_id
  JOIN followups_visit v ON v.id = r.visit_id
  JOIN followups_timepoint tp ON tp.id = v.timepoint_id
  JOIN patients_enrolment en ON en.id = v.enrolment_id
  JOIN patients_arm arm ON arm.id = en.arm_id
 WHERE en.study_id = %(study)s AND r.state = 'completed' AND sc.code = ANY(%(codes)s)
UNION ALL
SELECT v.enrolment_id, arm.code, tp.code, 'opioid_mme',
       COALESCE(v.opioid_mme, CASE WHEN tp.is_baseline THEN p.baseline_opioid_mme END)::float8
  FROM followups_visit v
  JOIN followups_timepoint tp ON tp.id = v.timepoint_id
  JOIN patients_enrolment en ON en.id = v.enrolment_id
  JOIN patients_arm arm ON arm.id = en.arm_id
  JOIN patients_patient p ON p.id = en.patient_id
 WHERE en.study_id = %(study)s
   AND (v.status = 'completed' OR tp.is_baseline)
   AND COALESCE(v.opioid_mme, CASE WHEN tp.is_baseline THEN p.baseline_opioid_mme END)
       IS NOT NULL
"""

_CHANGES_SQL = """
SELECT f.e, f.arm, f.tp, f.code, f.x - b.x AS d
  FROM results_s f JOIN results_s b
    ON b.e = f.e AND b.code = f.code AND b.tp = %(baseline)s
 WHERE f.tp <> %(baseline)s
"""


def postgres_tables(study, *, arms: list[str], baseline: str) -> Tables:
    params = {"study": study.pk, "codes": list(RESULT_SCORES), "baseline": baseline,
              "arms": arms[:2]}
    tables = Tables()
    # The values and the changes are computed once, into temporary tables that vanish
    # with the transaction; every aggregate below reads them.
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped explicitly too: inside an outer transaction ON COMMIT comes later.
        cursor.execute("DROP TABLE IF EXISTS results_s, results_c")
        cursor.execute(f"CREATE TEMP TABLE results_s ON COMMIT DROP AS {_VALUES_SQL}", params)
        cursor.execute(f"CREATE TEMP TABLE results_c ON COMMIT DROP AS {_CHANGES_SQL}", params)
        cursor.execute("ANALYZE results_s; ANALYZE results_c")
        cursor.execute("""
            SELECT arm, tp, code, count(*), avg(x), stddev_samp(x),
                   percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY x)
              FROM results_s GROUP BY arm, tp, code""")
        for arm, tp, code, n, mean, sd, (q1, median, q3) in cursor.fetchall():
            tables.summaries[(arm, tp, code)] = stats.Summary(n, mean, sd, median, q1, q3)
        cursor.execute("""
            SELECT arm, tp, code, count(*), avg(d), stddev_samp(d)
              FROM results_c GROUP BY arm, tp, code""")
        for arm, tp, code, n, mean, sd in cursor.fetchall():
            tables.changes[(arm, tp, code)] = (n, mean, sd)
        if len(arms) < 2:
            cursor.execute("DROP TABLE results_s, results_c")
            return tables
        # Average ranks of the changes over both arms, per (time point, score).
        cursor.execute("""WITH r AS (
                SELECT arm, tp, code,
                       rank() OVER (PARTITION BY tp, code ORDER BY d)
                       + (count(*) OVER (PARTITION BY tp, code, d) - 1) / 2.0 AS rk
                  FROM results_c WHERE arm = ANY(%(arms)s))
            SELECT arm, tp, code, count(*), sum(rk) FROM r GROUP BY arm, tp, code""", params)
        ranks = {(arm, tp, code): (n, float(total)) for arm, tp, code, n, total in
                 cursor.fetchall()}
        cursor.execute("""
            SELECT tp, code, sum(n * n * n - n), max(n) FROM (
                SELECT tp, code, d, count(*)::float8 AS n FROM results_c
                 WHERE arm = ANY(%(arms)s)
                 GROUP BY tp, code, d) g GROUP BY tp, code""", params)
        ties = {(tp, code): (float(term), largest) for tp, code, term, largest in
                cursor.fetchall()}
        a, b = arms[0], arms[1]
        small = []
        for (tp, code), (tie_term, largest) in ties.items():
            n1, r1 = ranks.get((a, tp, code), (0, 0.0))
            n2, _ = ranks.get((b, tp, code), (0, 0.0))
            if (n1 > 8 and n2 > 8) or largest > 1 or not (n1 and n2):
                # scipy's "auto" method is asymptotic here: the same formula.
                tables.mann_whitney[(tp, code)] = stats.mann_whitney_from_ranks(
                    n1, n2, r1, tie_term)
            else:
                small.append((tp, code))
        if small:
            # Small samples without ties take scipy's exact distribution: few rows.
            cursor.execute("""
                SELECT arm, tp, code, d FROM results_c
                 WHERE arm = ANY(%(arms)s) AND (tp, code) IN (SELECT * FROM unnest(
                       %(small_tp)s::text[], %(small_code)s::text[]))""",
                           {**params, "small_tp": [t for t, _ in small],
                            "small_code": [c for _, c in small]})
            found: dict[Cell, list[float]] = defaultdict(list)
            for arm, tp, code, d in cursor.fetchall():
                found[(arm, tp, code)].append(d)
            for tp, code in small:
                tables.mann_whitney[(tp, code)] = stats.mann_whitney(
                    found.get((a, tp, code), []), found.get((b, tp, code), []))
        cursor.execute("DROP TABLE results_s, results_c")
    return tables
