"""The study's results (SPEC sections 8 and 9): the tables a paper would print.

Everything is computed from stored scores and stored responder verdicts, so the
page, the ``results`` command and the exports agree to the last digit.

1. Scores (the study's own: those of the instruments its schedule asks, and opioid
   use): per arm and time point that asks for the score (as the tidy file has it: no
   row where its instrument is not scheduled), n, mean with its 95% CI, SD, median and
   quartiles;
   change from baseline (follow-up minus baseline, patients with both) with its 95% CI.
2. Responders: per arm, follow-up time point and rule, responders among the evaluable
   (complete case: baseline and time point both scored, verdict reached), as percent
   with Wilson's 95% CI; and intention to treat: among the allocated patients whose
   visit is due (its window has closed, or it has data), missing counted as
   non-responder. ``pending`` patients (visit not yet due) are left out of the ITT
   denominator and counted apart; withdrawn patients stay in it.
3. Comparisons of every arm with the study's reference arm (``selectors.reference_arm``)
   at each follow-up time point: for each rule, the difference in percentage points
   (complete case, Newcombe 95% CI), risk ratio (Katz) and odds ratio (Woolf) with 95%
   CIs, Fisher's exact p; for each score, the difference in mean change (Welch 95% CI
   and t-test), the baseline-adjusted difference (ANCOVA, OLS) with 95% CI and p, and
   the Mann-Whitney U test of the changes (exact or normal approximation, named in
   ``test``). The study's primary comparisons come first, ``primary: true``; no p-value
   is adjusted for multiple comparisons (``p_adjusted: false``), so every other one is
   exploratory.
4. Baseline characteristics by arm (Table 1, ``computation.baseline_characteristics``):
   patients, age, sex, BMI, baseline opioid use (any; the dose among users) and each
   score at baseline.
5. The MCID estimated from the study's own data (``mcid_estimates``,
   ``computation.mcid_estimates``): per score and follow-up, the mean change among the
   patients an anchor scheduled there (the PGIC: a score whose definition has an
   ``anchor``) counts as improved, with its t 95% CI; half the baseline SD; the SEM from
   Cronbach's alpha at baseline; and the threshold of the study's first points rule on
   the score (``rule_threshold``), for comparison.
"""

from __future__ import annotations

import datetime as dt

from outcomes.csvfiles import csv_text
from outcomes.followups.models import TimePoint

from . import stats
from .computation import McidPlan
from .selectors import (
    allocation,
    asked_at,
    primary_comparisons,
    reference_arm,
    scores_of,
    status_reasons,
    study_schedule,
)
from .tables import OPIOID, reliability_specs, result_tables, scored_items


def study_results(study, *, today: dt.date | None = None) -> dict:
    """Return the results of ``study`` in the JSON shape of SPEC section 9, as of
    ``today`` (the study's today by default): what is due is decided on that date."""
    from outcomes.followups.services import study_today

    today = today or study_today(study)
    timepoints = list(TimePoint.objects.filter(study=study).order_by("target_day"))
    baseline = next((tp.code for tp in timepoints if tp.is_baseline), None)
    follow_ups = [tp.code for tp in timepoints if tp.code != baseline]
    own_arms = list(study.arms.order_by("order", "code").values_list("pk", "code"))
    allocated = allocation(study, own_arms)
    arms = list(allocated)
    reference = reference_arm(study, own_arms)
    pairs = [(arm, reference) for arm in arms if arm != reference] if reference else []
    schedule = study_schedule(study.pk)
    definitions = list({pk: definition for _, pk, definition in schedule}.items())
    score_codes = scores_of([definition for _, definition in definitions])
    primary = primary_comparisons(study)
    # The primary rules (of the subgroups and regressions): those of the study's primary
    # comparisons, at whichever time point.
    primary_rules = {rule for rule, _ in primary}
    rule_defs = list(study.responder_rules.order_by("order", "code").values_list(
        "pk", "code", "score", "kind", "threshold"))
    rule_rows = [(pk, code, code in primary_rules) for pk, code, *_ in rule_defs]
    rules = [code for _, code, _ in rule_rows]
    plan = mcid_plan(schedule, definitions, score_codes, timepoints, follow_ups)
    tables = result_tables(study, arms=arms, scores=score_codes, pairs=pairs, today=today,
                           timepoints=[(tp.pk, tp.code, tp.is_baseline) for tp in timepoints],
                           rules=rule_rows, mcid=plan,
                           reliability=reliability_specs(definitions, plan.scores))
    empty = stats.describe([])
    asked = asked_at(schedule, timepoints)

    scores = []
    for arm in arms:
        for tp in timepoints:
            for code in score_codes:
                if code not in asked[tp.code]:
                    continue  # its instrument is not asked there: no row, not n 0
                summary = tables.summaries.get((arm, tp.code, code), empty)
                mean_low, mean_high = stats.mean_ci_from(summary.n, summary.mean, summary.sd)
                entry = {"arm": arm, "timepoint": tp.code, "score": code, "n": summary.n,
                         "mean": summary.mean, "sd": summary.sd, "median": summary.median,
                         "q1": summary.q1, "q3": summary.q3,
                         "mean_ci_low": mean_low, "mean_ci_high": mean_high}
                if baseline and tp.code != baseline:
                    n, mean, sd = tables.changes.get((arm, tp.code, code), (0, None, None))
                    low, high = stats.mean_ci_from(n, mean, sd)
                    entry.update(change_n=n, change_mean=mean, change_sd=sd,
                                 change_ci_low=low, change_ci_high=high)
                scores.append(entry)

    responders = []
    counts: dict[tuple[str, str, str], tuple[int, int]] = {}
    for arm in arms:
        for tp in follow_ups:
            pending = tables.pending(arm, tp)
            due = allocated[arm] - pending
            for rule in rules:
                yes = tables.verdicts.get((arm, tp, rule, "responder"), 0)
                evaluable = yes + tables.verdicts.get((arm, tp, rule, "non_responder"), 0)
                counts[(arm, tp, rule)] = (yes, evaluable)
                low, high = stats.wilson_interval(yes, evaluable)
                responders.append({
                    "arm": arm, "timepoint": tp, "rule": rule, "responders": yes,
                    "evaluable": evaluable, "allocated": allocated[arm],
                    "percent": 100 * yes / evaluable if evaluable else None,
                    "ci_low": None if low is None else 100 * low,
                    "ci_high": None if high is None else 100 * high,
                    "pending": pending, "itt_denominator": due,
                    "percent_itt": 100 * yes / due if due else None,
                })

    comparisons = []
    for tp in follow_ups:
        for arm, ref in pairs:
            for rule in rules:
                comparisons.append(_proportion(tp, rule, arm, ref, counts[(arm, tp, rule)],
                                               counts[(ref, tp, rule)], (rule, tp) in primary))
            for code in score_codes:
                if code in asked[tp]:
                    comparisons.extend(_changes(tables, tp, code, arm, ref))
    comparisons.sort(key=lambda row: primary.index((row["measure"], row["timepoint"]))
                     if row["primary"] else len(primary))  # stable: the rest keep order
    return {
        "study": study.code,
        "arms": arms,
        "reference_arm": reference,
        "timepoints": [tp.code for tp in timepoints],
        "today": today.isoformat(),
        "allocated": allocated,
        "scores": scores,
        "responders": responders,
        "comparisons": comparisons,
        "primary_comparisons": [{"rule": rule, "timepoint": tp} for rule, tp in primary],
        "flow": flow(study, arms, timepoints, allocated, tables.flow),
        "subgroups": tables.subgroups,
        "regressions": tables.regressions,
        "baseline_characteristics": tables.baseline_characteristics,
        "mcid_estimates": [{**row, **rule_threshold(row["score"], rule_defs, primary)}
                           for row in tables.mcid],
    }


def mcid_plan(schedule, definitions, score_codes, timepoints, follow_ups) -> McidPlan:
    """What the MCID estimates cover: every result score but opioid use and the anchors,
    at every follow-up; the anchors (scores whose definition has an ``anchor``) the
    study asks at each follow-up."""
    anchors = {spec.key: spec.anchor for _, definition in definitions
               for spec in definition.scores if spec.anchor is not None}
    code_of = {tp.pk: tp.code for tp in timepoints}
    anchors_at: dict[str, list[str]] = {}
    for tp, _, definition in schedule:
        for spec in definition.scores:
            if spec.anchor is not None and spec.key not in anchors_at.setdefault(
                    code_of[tp], []):
                anchors_at[code_of[tp]].append(spec.key)
    scores = [code for code in score_codes if code != OPIOID and code not in anchors]
    items = {}
    for code in scores:
        definition = next(d for _, d in definitions if code in d.output_keys)
        items[code] = len(scored_items(definition, code))
    return McidPlan(scores=scores, items=items, follow_ups=follow_ups, anchors=anchors,
                    anchors_at=anchors_at)


def rule_threshold(score: str, rule_defs, primary) -> dict:
    """The MCID the study's responder rules use for ``score``: the threshold of its first
    rule in points (a primary comparison's first, then in the rules' order); a rule in
    percent is not on the score's scale and is passed over."""
    first = {code: n for n, (code, _) in enumerate(primary)}
    ordered = sorted(rule_defs, key=lambda r: first.get(r[1], len(first)))  # stable
    for _, code, rule_score, kind, threshold in ordered:
        if rule_score == score and kind == "points" and threshold is not None:
            return {"rule": code, "rule_threshold": float(threshold)}
    return {"rule": None, "rule_threshold": None}


def _proportion(tp: str, rule: str, arm: str, ref: str, mine: tuple[int, int],
                theirs: tuple[int, int], primary: bool) -> dict:
    """One rule's comparison of an arm with the reference arm (complete case)."""
    (yes, n), (ref_yes, ref_n) = mine, theirs
    difference = stats.newcombe_difference(yes, n, ref_yes, ref_n)
    rr = stats.risk_ratio(yes, n, ref_yes, ref_n)
    odds = stats.odds_ratio(yes, n, ref_yes, ref_n)
    return {
        "timepoint": tp, "measure": rule, "kind": "proportion", "arm": arm,
        "reference_arm": ref, "arms": [arm, ref], "test": "fisher",
        "p_value": stats.fisher_exact(yes, n, ref_yes, ref_n),
        "primary": primary, "p_adjusted": False,
        "responders": yes, "evaluable": n,
        "reference_responders": ref_yes, "reference_evaluable": ref_n,
        "difference": None if difference is None else 100 * difference.estimate,
        "difference_ci_low": None if difference is None else 100 * difference.low,
        "difference_ci_high": None if difference is None else 100 * difference.high,
        "risk_ratio": rr and rr.estimate, "risk_ratio_ci_low": rr and rr.low,
        "risk_ratio_ci_high": rr and rr.high,
        "odds_ratio": odds and odds.estimate, "odds_ratio_ci_low": odds and odds.low,
        "odds_ratio_ci_high": odds and odds.high,
        "zero_cell_correction": bool(rr and rr.corrected),
    }


def _changes(tables, tp: str, code: str, arm: str, ref: str) -> list[dict]:
    """One score's comparisons of an arm with the reference arm: Welch's t-test and the
    Mann-Whitney U test of the changes, each row with the same effect sizes."""
    none = (0, None, None)
    mine, theirs = tables.changes.get((arm, tp, code), none), tables.changes.get(
        (ref, tp, code), none)
    welch = stats.welch_difference(mine, theirs)
    adjusted = tables.ancova.get((arm, ref, tp, code))
    ranks = tables.mann_whitney.get((arm, ref, tp, code))
    effect = {
        "change_n": mine[0], "reference_change_n": theirs[0],
        "difference": welch and welch.estimate, "difference_ci_low": welch and welch.low,
        "difference_ci_high": welch and welch.high,
        "adjusted_difference": adjusted and adjusted.estimate,
        "adjusted_ci_low": adjusted and adjusted.low,
        "adjusted_ci_high": adjusted and adjusted.high,
        "adjusted_p_value": adjusted and adjusted.p_value,
        "adjusted_n": adjusted.n if adjusted else 0, "adjusted_test": "ancova",
    }
    if welch is None and mine[0] and theirs[0]:
        # Too few to estimate the spread, but both arms have changes: the difference in
        # means is still the difference in means.
        effect["difference"] = mine[1] - theirs[1]
    rows = []
    for test, p in (("welch_t", welch and welch.p_value),
                    (f"mann_whitney_{ranks.method}" if ranks else "mann_whitney",
                     ranks and ranks.p_value)):
        rows.append({"timepoint": tp, "measure": code, "kind": "change", "arm": arm,
                     "reference_arm": ref, "arms": [arm, ref], "test": test, "p_value": p,
                     "primary": False, "p_adjusted": False, **effect})
    return rows


def flow(study, arms, timepoints, allocated, counts) -> list[dict]:
    """CONSORT-style flow: allocated; per time point, visits with data (analysed), due
    without data (missed, or not applicable after withdrawal) and not yet due (pending);
    patients no longer active, with reasons."""
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
                "pending": counts.get((arm, tp.code, "pending"), 0),
                "not_applicable": counts.get((arm, tp.code, "not_applicable"), 0),
            })
        rows.append(entry)
    return rows


#: The CSV's columns: every key of every table's rows (SPEC section 9), one table a block.
CSV_COLUMNS = [
    "table", "arm", "reference_arm", "timepoint", "score", "rule", "measure", "kind", "test",
    "primary", "p_adjusted", "p_value",
    # scores
    "n", "mean", "mean_ci_low", "mean_ci_high", "sd", "median", "q1", "q3",
    "change_n", "change_mean", "change_sd", "change_ci_low", "change_ci_high",
    # responders
    "responders", "evaluable", "allocated", "percent", "ci_low", "ci_high", "pending",
    "itt_denominator", "percent_itt",
    # comparisons
    "reference_responders", "reference_evaluable", "reference_change_n",
    "difference", "difference_ci_low", "difference_ci_high",
    "risk_ratio", "risk_ratio_ci_low", "risk_ratio_ci_high",
    "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high", "zero_cell_correction",
    "adjusted_difference", "adjusted_ci_low", "adjusted_ci_high", "adjusted_p_value",
    "adjusted_n", "adjusted_test",
    # flow, subgroups, regressions
    "with_data", "missed", "not_applicable", "factor", "level", "fitted", "reason", "term",
    "coefficient", "se",
    # baseline characteristics (also n, mean, sd, median, q1, q3, percent, level, score)
    "characteristic", "unit", "count", "missing",
    # MCID estimates (also score, timepoint, rule)
    "anchor", "anchor_label", "anchor_answered", "anchor_improved", "anchor_n",
    "anchor_mean_change", "anchor_sd_change", "anchor_ci_low", "anchor_ci_high",
    "baseline_n", "baseline_sd", "half_sd", "items", "alpha", "alpha_n", "sem",
    "rule_threshold",
]


def csv_rows(results: dict):
    """Yield every row of every table, flat, with its ``table``."""
    for table in ("scores", "responders", "comparisons"):
        for row in results[table]:
            yield {"table": table, **row}
    for entry in results["flow"]:
        for cell in entry["timepoints"]:
            yield {"table": "flow", "arm": entry["arm"], "allocated": entry["allocated"],
                   **cell}
    for row in results["subgroups"]:
        yield {"table": "subgroups", **row}
    for row in results["regressions"]:
        head = {"table": "regressions", **{k: v for k, v in row.items() if k != "terms"}}
        if not row["terms"]:
            yield head
        for term in row["terms"]:
            yield {**head, **term}
    for row in results["baseline_characteristics"]:
        yield {"table": "baseline_characteristics", **row}
    for row in results["mcid_estimates"]:
        yield {"table": "mcid_estimates", **row}


def results_csv(results: dict) -> str:
    """Return every table as one long CSV with a ``table`` column."""
    return csv_text(CSV_COLUMNS, csv_rows(results), ignore_extra=True)
