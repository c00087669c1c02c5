"""The study's results page and its downloads (same numbers as the ``results`` command)."""

from __future__ import annotations

import json
import os
import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from outcomes.access import (
    CORRECT_RESPONSE,
    EXPORT_DATA,
    EXPORT_IDENTIFIED,
    SIGN_OFF,
    VIEW_OUTCOMES,
    VIEW_RESULTS,
    requires,
)
from outcomes.audit.models import AuditRecord
from outcomes.audit.services import record_change
from patients.models import Procedure
from patients.selectors import enrolment_for, enrolments_for, study_for

from . import wording
from .charts import line_chart_svg, lines_chart_svg
from .exports import EXPORTS, IDENTIFIED_EXPORTS, LABELLED_EXPORTS, write_labelled
from .results import results_csv, study_results
from .selectors import completed_responses, patient_outcomes, rule_labels


@requires(VIEW_RESULTS)
def results_page(request, code: str):
    """Scores, responders and between-arm tests, arm against arm; JSON and CSV downloads.

    These are aggregates (no patient appears); patient-level files are ``export``'s.
    """
    study = study_for(request.user, code)
    results = study_results(study)
    fmt = request.GET.get("format")
    if fmt == "json":
        response = HttpResponse(json.dumps(results, allow_nan=False),
                                content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{study.code}-results.json"'
        return response
    if fmt == "csv":
        response = HttpResponse(results_csv(results), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{study.code}-results.csv"'
        return response
    names = result_names(study)
    return render(request, "analysis/results.html", {
        "study": study, "results": results, "charts": result_charts(study, results, names),
        "tables": result_rows(results, names),
    })


@requires(EXPORT_DATA)
def export(request, code: str, kind: str, suffix: str = "csv"):
    """A patient-level file: de-identified for data managers, or identified (logged).

    The CSV files stream as they are read (the user's sites only, chosen in SQL); the
    SPSS and Stata files are written whole, then sent. Every download is an audit
    record: who took which file of which study.
    """
    study = study_for(request.user, code)
    if kind in IDENTIFIED_EXPORTS:
        if not request.user.has_perm(EXPORT_IDENTIFIED):
            raise PermissionDenied
        build = IDENTIFIED_EXPORTS[kind]
    elif kind in EXPORTS or kind in LABELLED_EXPORTS:
        build = EXPORTS.get(kind)
    else:
        raise Http404("No such export.")
    if suffix != LABELLED_EXPORTS.get(kind, "csv"):
        raise Http404("No such export.")
    enrolments = enrolments_for(request.user, study)
    record_change(obj=study, action="export", actor=request.user, reason=f"{kind} export")
    filename = f"{study.code}-{kind}.{suffix}"
    if build is None:
        with tempfile.NamedTemporaryFile(suffix=f".{suffix}", delete=False) as handle:
            path = handle.name
        try:
            write_labelled(study, enrolments, path, kind)
            response = FileResponse(open(path, "rb"), as_attachment=True,  # noqa: SIM115
                                    filename=filename,
                                    content_type="application/octet-stream")
        finally:
            os.unlink(path)  # the open file stays readable until the response closes it
    else:
        response = StreamingHttpResponse(
            (chunk.encode() for chunk in build(study, enrolments)),
            content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def result_names(study) -> dict:
    """The words a person reads for the codes in the results: time points, arms, rules."""
    from outcomes.followups.models import TimePoint

    return {"timepoints": dict(TimePoint.objects.filter(study=study)
                               .values_list("code", "label")),
            "arms": dict(study.arms.values_list("code", "name")),
            "rules": rule_labels(study.pk)}


def _interval(low, high, decimals: int = 1, unit: str = "") -> str:
    if low is None or high is None:
        return ""
    return f"{wording.number(low, decimals)}{unit} to {wording.number(high, decimals)}{unit}"


def result_rows(results: dict, names: dict) -> dict:
    """The results' rows as the page shows them: labels for codes, numbers rounded the
    one way (SPEC 7), each cell's unrounded value kept for its ``data-value``."""
    tp = names["timepoints"]
    arm = names["arms"]
    rules = names["rules"]

    def measure(code: str) -> str:
        return rules.get(code) or wording.score_title(code)

    responders = [{
        **r, "rule_label": rules.get(r["rule"], r["rule"]),
        "timepoint_label": tp.get(r["timepoint"], r["timepoint"]),
        "arm_label": arm.get(r["arm"], r["arm"]),
        "percent_text": wording.percent(r["percent"], 1),
        "ci_text": _interval(r["ci_low"], r["ci_high"], 1, "%"),
        "percent_itt_text": wording.percent(r["percent_itt"], 1),
    } for r in results["responders"]]
    scores = [{
        **s, "score_label": wording.score_title(s["score"]),
        "timepoint_label": tp.get(s["timepoint"], s["timepoint"]),
        "arm_label": arm.get(s["arm"], s["arm"]),
        "mean_text": wording.score_value(s["score"], s["mean"]),
        "sd_text": wording.score_value(s["score"], s["sd"]),
        "median_text": wording.score_value(s["score"], s["median"]),
        "iqr_text": "—" if s["q1"] is None else
        f'{wording.score_value(s["score"], s["q1"])} to {wording.score_value(s["score"], s["q3"])}',
        "change_text": "" if s.get("change_mean") is None
        else wording.score_change(s["score"], s["change_mean"]),
        "change_ci_text": _interval(s.get("change_ci_low"), s.get("change_ci_high"),
                                    wording.spec_of(s["score"]).decimals),
    } for s in results["scores"]]
    comparisons = []
    for c in results["comparisons"]:
        if c["kind"] == "proportion":
            effect = ("" if c["difference"] is None else
                      f'{wording.signed(c["difference"])} points '
                      f'({_interval(c["difference_ci_low"], c["difference_ci_high"])}); '
                      f'risk ratio {wording.number(c["risk_ratio"], 2)} '
                      f'({_interval(c["risk_ratio_ci_low"], c["risk_ratio_ci_high"], 2)}); '
                      f'odds ratio {wording.number(c["odds_ratio"], 2)} '
                      f'({_interval(c["odds_ratio_ci_low"], c["odds_ratio_ci_high"], 2)})'
                      + ("; 0.5 added to each cell (a zero cell)"
                         if c["zero_cell_correction"] else ""))
            counts = (f'{c["responders"]}/{c["evaluable"]} vs '
                      f'{c["reference_responders"]}/{c["reference_evaluable"]}')
            adjusted = ""
        else:
            decimals = wording.spec_of(c["measure"]).decimals
            effect = ("" if c["difference"] is None else
                      f'{wording.signed(c["difference"], decimals)} '
                      f'({_interval(c["difference_ci_low"], c["difference_ci_high"], decimals)})')
            counts = f'n = {c["change_n"]} vs {c["reference_change_n"]}'
            adjusted = ("" if c["adjusted_difference"] is None else
                        f'{wording.signed(c["adjusted_difference"], decimals)} '
                        f'({_interval(c["adjusted_ci_low"], c["adjusted_ci_high"], decimals)}),'
                        f' p {wording.p_value(c["adjusted_p_value"])}')
        comparisons.append({
            **c, "timepoint_label": tp.get(c["timepoint"], c["timepoint"]),
            "measure_label": measure(c["measure"]),
            "arms_label": f'{arm.get(c["arm"], c["arm"])} vs '
                          f'{arm.get(c["reference_arm"], c["reference_arm"])}',
            "test_label": wording.TESTS.get(c["test"], c["test"]),
            "counts_text": counts, "effect_text": effect, "adjusted_text": adjusted,
            "p_text": wording.p_value(c["p_value"]),
            "role": "Primary" if c["primary"] else "Exploratory (p unadjusted)",
        })
    flow = [{**f, "arm_label": arm.get(f["arm"], f["arm"]),
             "cells": [{**t, "timepoint_label": tp.get(t["timepoint"], t["timepoint"])}
                       for t in f["timepoints"]]} for f in results["flow"]]
    subgroups = [{**g, "arm_label": arm.get(g["arm"], g["arm"]),
                  "timepoint_label": tp.get(g["timepoint"], g["timepoint"]),
                  "rule_label": rules.get(g["rule"], g["rule"]),
                  "percent_text": wording.percent(g["percent"], 1)}
                 for g in results["subgroups"]]
    regressions = [{**r, "arm_label": arm.get(r["arm"], r["arm"]),
                    "timepoint_label": tp.get(r["timepoint"], r["timepoint"]),
                    "rule_label": rules.get(r["rule"], r["rule"]),
                    "terms": [{**t, "term_label": wording.TERMS.get(t["term"], t["term"]),
                               "odds_ratio_text": f'{wording.number(t["odds_ratio"], 2)} '
                               f'({_interval(t["odds_ratio_ci_low"], t["odds_ratio_ci_high"], 2)})',
                               "p_text": wording.p_value(t["p_value"])}
                              for t in r["terms"]]}
                   for r in results["regressions"]]
    return {"responders": responders, "scores": scores, "comparisons": comparisons,
            "flow": flow, "subgroups": subgroups, "regressions": regressions,
            "timepoint_labels": [tp.get(code, code) for code in results["timepoints"]],
            "allocated": [(arm.get(code, code), n) for code, n in results["allocated"].items()],
            "reference_label": arm.get(results["reference_arm"], results["reference_arm"])}


def result_charts(study, results, names: dict) -> list[dict]:
    """Mean with 95% CI by arm for each of the study's scores, and responder percent by
    arm per primary rule, each with n under every point and its numbers in a table."""
    tps = results["timepoints"]
    arm_names = names["arms"]
    labels = names["rules"]
    names = names["timepoints"]
    charts = []
    for code in {s["score"]: None for s in results["scores"]}:
        spec = wording.spec_of(code)
        series, counts, table = {}, {}, []
        for arm in results["arms"]:
            by_tp = {s["timepoint"]: s for s in results["scores"]
                     if s["arm"] == arm and s["score"] == code}
            points = [by_tp.get(tp) for tp in tps]
            label = arm_names.get(arm, arm)
            series[label] = [(p["mean"], p["mean_ci_low"], p["mean_ci_high"])
                             if p and p["n"] else None for p in points]
            counts[label] = [p["n"] if p else 0 for p in points]
            table.append({"arm": label, "cells": [
                {"n": p["n"] if p else 0,
                 "mean": wording.score_value(code, p["mean"]) if p and p["n"] else "—",
                 "ci": (f'{wording.score_value(code, p["mean_ci_low"])} to '
                        f'{wording.score_value(code, p["mean_ci_high"])}')
                 if p and p["n"] and p["mean_ci_low"] is not None else ""}
                for p in points]})
        if not any(c for row in counts.values() for c in row):
            continue
        present = [v[0] for row in series.values() for v in row if v]
        high = spec.high if spec.high is not None else max([*present, 1.0])
        low = spec.low if spec.low is not None else 0
        title = f"{wording.score_title(code)}: mean and 95% CI by arm"
        # Safe: lines_chart_svg escapes every piece of text it writes.
        charts.append({"title": title, "kind": "mean", "table": table,
                       "columns": [names.get(tp, tp) for tp in tps],
                       "svg": mark_safe(lines_chart_svg(
                           title, [names.get(tp, tp) for tp in tps], series,
                           low=low, high=high, counts=counts))})
    follow_ups = [tp for tp in tps if any(r["timepoint"] == tp for r in results["responders"])]
    for rule in {row["rule"]: None for row in results["primary_comparisons"]}:
        series, counts, table = {}, {}, []
        for arm in results["arms"]:
            rows = [next((r for r in results["responders"] if r["arm"] == arm
                          and r["timepoint"] == tp and r["rule"] == rule), None)
                    for tp in follow_ups]
            label = arm_names.get(arm, arm)
            series[label] = [r["percent"] if r else None for r in rows]
            counts[label] = [r["evaluable"] if r else 0 for r in rows]
            table.append({"arm": label, "cells": [
                {"n": r["evaluable"] if r else 0,
                 "mean": wording.percent(r["percent"]) if r and r["percent"] is not None
                 else "—",
                 "ci": f'{r["responders"]} of {r["evaluable"]}' if r else ""}
                for r in rows]})
        title = f"{labels[rule]}: responders (% of evaluable) by arm"
        charts.append({"title": title, "kind": "percent", "table": table,
                       "columns": [names.get(tp, tp) for tp in follow_ups],
                       "svg": mark_safe(lines_chart_svg(
                           title, [names.get(tp, tp) for tp in follow_ups], series,
                           low=0, high=100, counts=counts))})
    return charts


@requires(VIEW_OUTCOMES)
def patient_outcomes_page(request, code: str, patient_code: str):
    """A clinician's view of one patient: scores, changes, verdicts, charts, procedure."""
    study = study_for(request.user, code)
    enrolment = enrolment_for(request.user, study, patient_code)
    if request.method == "POST":
        if not request.user.has_perm(SIGN_OFF):
            raise PermissionDenied
        record_change(obj=enrolment, action="sign_off", actor=request.user,
                      reason=request.POST.get("note", "")[:500])
        messages.success(request, "Review signed off.")
        return redirect("patients:outcomes", code=code, patient_code=patient_code)
    outcomes = patient_outcomes(enrolment)
    labels = [tp.label for tp in outcomes["timepoints"]]
    for row in outcomes["scores"]:
        # Safe: line_chart_svg escapes every piece of text it writes.
        row["svg"] = mark_safe(line_chart_svg(
            f"{row['title']} for {enrolment.patient.code}", labels, row["values"],
            low=row["low"], high=row["high"], reference=row["reference"]))
    return render(request, "analysis/patient.html", {
        "study": study,
        "enrolment": enrolment,
        "outcomes": outcomes,
        "procedures": Procedure.objects.filter(enrolment=enrolment)
        .prefetch_related("structures"),
        "sign_offs": AuditRecord.objects.filter(
            object_type="patients.enrolment", object_id=str(enrolment.pk), action="sign_off",
        ).select_related("actor")[:5],
        "responses": (completed_responses(enrolment)
                      if request.user.has_perm(CORRECT_RESPONSE) else None),
    })


@requires(VIEW_OUTCOMES)
def responder_list_page(request, code: str):
    """Who reached the rule's threshold at a time point, who lost it; by arm and rule."""
    from django.core.paginator import Paginator

    from outcomes.followups.models import TimePoint

    from .selectors import (
        VERDICT_FILTERS,
        change_header,
        earlier_verdicts,
        responder_list,
        responder_rows,
    )

    study = study_for(request.user, code)
    rules = list(study.responder_rules.order_by("order", "code"))
    timepoints = list(TimePoint.objects.filter(study=study, is_baseline=False)
                      .order_by("target_day"))
    rule_codes = [r.code for r in rules]
    tp_codes = [tp.code for tp in timepoints]
    rule = request.GET.get("rule") if request.GET.get("rule") in rule_codes else (
        "primary" if "primary" in rule_codes else (rule_codes or [""])[0])
    timepoint = request.GET.get("timepoint") if request.GET.get("timepoint") in tp_codes else (
        tp_codes[-1] if tp_codes else "")
    arm = request.GET.get("arm", "")
    verdict = request.GET.get("verdict", "")
    statuses = responder_list(study, enrolments_for(request.user, study), rule=rule,
                              timepoint=timepoint, arm=arm, verdict=verdict)
    page = Paginator(statuses, 50).get_page(request.GET.get("page"))
    chosen = next((r for r in rules if r.code == rule), None)
    labels = rule_labels(study.pk)
    return render(request, "analysis/responders.html", {
        "study": study, "rules": [{"code": r.code, "label": labels[r.code]} for r in rules],
        "timepoints": timepoints, "arms": study.arms.all(),
        "rule": chosen, "rule_label": labels.get(rule, ""), "timepoint": timepoint,
        "timepoint_label": next((tp.label for tp in timepoints if tp.code == timepoint), ""),
        "arm": arm, "verdict": verdict,
        "verdicts": [(v, wording.VERDICTS[v]) for v in VERDICT_FILTERS], "page": page,
        "rows": responder_rows(list(page), chosen, earlier_verdicts(list(page))),
        "change_header": change_header(chosen),
    })
