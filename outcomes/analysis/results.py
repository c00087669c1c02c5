"""The study's results (SPEC sections 8 and 9): the tables a paper would print.

Everything is computed from stored scores and stored responder verdicts, so the
page, the ``results`` command and the tidy export agree to the last digit.

1. Scores: per arm and time point, n, mean, SD, median and quartiles of each
   score; change from baseline (follow-up minus baseline, patients with both)
   with its 95% CI.
2. Responders: per arm, follow-up time point and rule, responders among the
   evaluable (complete case: baseline and time point both scored, verdict
   reached) and among the allocated (intention to treat: missing = non-responder).
3. Comparisons between the first two arms: Fisher's exact test on responder
   proportions (complete case); Welch's t-test and Mann-Whitney U on changes.
"""

from __future__ import annotations

from outcomes.csvfiles import csv_text
from outcomes.followups.models import TimePoint

from . import stats
from .selectors import RESULT_SCORES, allocation, status_reasons
from .tables import result_tables

SCORE_CODES = (*RESULT_SCORES, "opioid_mme")


def study_results(study) -> dict:
    """Return the results of ``study`` in the JSON shape of SPEC section 9."""
    timepoints = list(TimePoint.objects.filter(study=study).order_by("target_day"))
    baseline = next((tp.code for tp in timepoints if tp.is_baseline), None)
    allocated = allocation(study)
    arms = list(allocated)
    tables = result_tables(study, arms=arms, baseline=baseline)
    empty = stats.describe([])

    scores = []
    for arm in arms:
        for tp in timepoints:
            for code in SCORE_CODES:
                summary = tables.summaries.get((arm, tp.code, code), empty)
                mean_low, mean_high = stats.mean_ci_from(summary.n, summary.mean, summary.sd)
                entry = {"arm": arm, "timepoint": tp.code, "score": code, "n": summary.n,
                         "mean": summary.mean, "sd": summary.sd, "median": summary.median,
                         "q1": summary.q1, "q3": summary.q3,
                         "mean_ci_low": mean_low, "mean_ci_high": mean_high}
                if baseline and tp.code != baseline:
                    n, mean, sd = tables.changes.get((arm, tp.code, code), (0, None, None))
                    low, high = stats.mean_ci_from(n, mean, sd)
                    entry.update(change_n=n, change_mean=mean,
                                 change_ci_low=low, change_ci_high=high)
                scores.append(entry)

    verdicts = tables.verdicts
    rules = list(study.responder_rules.order_by("order", "code").values_list("code", flat=True))

    responders, counts = [], {}
    for arm in arms:
        for tp in timepoints:
            if tp.code == baseline:
                continue
            for rule in rules:
                yes = verdicts.get((arm, tp.code, rule, "responder"), 0)
                evaluable = yes + verdicts.get((arm, tp.code, rule, "non_responder"), 0)
                n = allocated[arm]
                counts[(arm, tp.code, rule)] = (yes, evaluable)
                responders.append({
                    "arm": arm, "timepoint": tp.code, "rule": rule, "responders": yes,
                    "evaluable": evaluable, "allocated": n,
                    "percent": 100 * yes / evaluable if evaluable else None,
                    "percent_itt": 100 * yes / n if n else None,
                })

    comparisons = []
    if len(arms) >= 2:
        a, b = arms[0], arms[1]
        for tp in timepoints:
            if tp.code == baseline:
                continue
            for rule in rules:
                (ya, na), (yb, nb) = counts[(a, tp.code, rule)], counts[(b, tp.code, rule)]
                comparisons.append({
                    "timepoint": tp.code, "measure": rule, "kind": "proportion",
                    "test": "fisher", "p_value": stats.fisher_exact(ya, na, yb, nb),
                    "arms": [a, b],
                })
            for code in SCORE_CODES:
                none = (0, None, None)
                welch = stats.welch_t_from(tables.changes.get((a, tp.code, code), none),
                                           tables.changes.get((b, tp.code, code), none))
                mwu = tables.mann_whitney.get((tp.code, code))
                for test, p_value in (("welch_t", welch), ("mann_whitney", mwu)):
                    comparisons.append({
                        "timepoint": tp.code, "measure": code, "kind": "change", "test": test,
                        "p_value": p_value, "arms": [a, b],
                    })
    return {
        "study": study.code,
        "arms": arms,
        "timepoints": [tp.code for tp in timepoints],
        "allocated": allocated,
        "scores": scores,
        "responders": responders,
        "comparisons": comparisons,
        "flow": flow(study, arms, timepoints, allocated, tables.flow),
        "subgroups": tables.subgroups,
        "regressions": tables.regressions,
    }


def flow(study, arms, timepoints, allocated, counts) -> list[dict]:
    """CONSORT-style flow: allocated; per time point, visits with data (analysed), missed
    and pending; patients no longer active, with reasons."""
    reasons = status_reasons(study)
    rows = []
    for arm in arms:
        entry = {"arm": arm, "allocated": allocated[arm], "timepoints": [],
                 "left": [{"status": st, "reason": reason or "(no reason given)", "n": n}
                          for a, st, reason, n in reasons if a == arm]}
        for tp in timepoints:
            entry["timepoints"].append({
                "timepoint": tp.code,
                "with_data": counts.get((arm, tp.code, "with_data"), 0),
                "missed": counts.get((arm, tp.code, "missed"), 0),
                "pending": counts.get((arm, tp.code, "scheduled"), 0)
                + counts.get((arm, tp.code, "open"), 0),
                "not_applicable": counts.get((arm, tp.code, "not_applicable"), 0),
            })
        rows.append(entry)
    return rows


def results_csv(results: dict) -> str:
    """Return the three tables as one long CSV with a ``table`` column."""
    columns = ["table", "arm", "timepoint", "score", "rule", "measure", "kind", "test", "n",
               "mean", "sd", "median", "q1", "q3", "change_n", "change_mean",
               "change_ci_low", "change_ci_high", "responders", "evaluable", "allocated",
               "percent", "percent_itt", "p_value"]
    return csv_text(columns, ({"table": table, **row}
                              for table in ("scores", "responders", "comparisons")
                              for row in results[table]), ignore_extra=True)
