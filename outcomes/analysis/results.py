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

import csv
import io
from collections import defaultdict

from outcomes.followups.models import TimePoint

from . import stats
from .selectors import RESULT_SCORES, allocation, score_rows, verdict_counts

SCORE_CODES = (*RESULT_SCORES, "opioid_mme")


def study_results(study) -> dict:
    """Return the results of ``study`` in the JSON shape of SPEC section 9."""
    timepoints = list(TimePoint.objects.filter(study=study).order_by("target_day"))
    baseline = next((tp.code for tp in timepoints if tp.is_baseline), None)
    allocated = allocation(study)
    arms = list(allocated)
    values: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)
    for row in score_rows(study):
        values[(row.arm, row.timepoint, row.score)][row.enrolment_id] = row.value

    scores, changes = [], {}
    for arm in arms:
        for tp in timepoints:
            for code in SCORE_CODES:
                at = values.get((arm, tp.code, code), {})
                summary = stats.describe(list(at.values()))
                entry = {"arm": arm, "timepoint": tp.code, "score": code, "n": summary.n,
                         "mean": summary.mean, "sd": summary.sd, "median": summary.median,
                         "q1": summary.q1, "q3": summary.q3}
                if baseline and tp.code != baseline:
                    base = values.get((arm, baseline, code), {})
                    delta = [at[pk] - base[pk] for pk in at if pk in base]
                    changes[(arm, tp.code, code)] = delta
                    low, high = stats.mean_ci(delta)
                    entry.update(change_n=len(delta),
                                 change_mean=stats.describe(delta).mean,
                                 change_ci_low=low, change_ci_high=high)
                scores.append(entry)

    verdicts = verdict_counts(study)
    rules = list(study.responder_rules.order_by("order", "code").values_list("code", flat=True))

    responders, counts = [], {}
    for arm in arms:
        for tp in timepoints:
            if tp.code == baseline:
                continue
            for rule in rules:
                yes = verdicts.get((arm, tp.code, rule, "responder"), 0)
                evaluable = yes + verdicts.get((arm, tp.code, rule, "non_responder"), 0)
                n = len(allocated[arm])
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
                da, db = changes.get((a, tp.code, code), []), changes.get((b, tp.code, code), [])
                for test, fn in (("welch_t", stats.welch_t), ("mann_whitney", stats.mann_whitney)):
                    comparisons.append({
                        "timepoint": tp.code, "measure": code, "kind": "change", "test": test,
                        "p_value": fn(da, db), "arms": [a, b],
                    })
    return {
        "study": study.code,
        "arms": arms,
        "timepoints": [tp.code for tp in timepoints],
        "allocated": {arm: len(ids) for arm, ids in allocated.items()},
        "scores": scores,
        "responders": responders,
        "comparisons": comparisons,
    }


def results_csv(results: dict) -> str:
    """Return the three tables as one long CSV with a ``table`` column."""
    out = io.StringIO()
    columns = ["table", "arm", "timepoint", "score", "rule", "measure", "kind", "test", "n",
               "mean", "sd", "median", "q1", "q3", "change_n", "change_mean",
               "change_ci_low", "change_ci_high", "responders", "evaluable", "allocated",
               "percent", "percent_itt", "p_value"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for table in ("scores", "responders", "comparisons"):
        for row in results[table]:
            writer.writerow({"table": table, **{k: ("" if v is None else v)
                                                for k, v in row.items()}})
    return out.getvalue()
