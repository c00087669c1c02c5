"""The study's results page and its downloads (same numbers as the ``results`` command)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
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
from patients.selectors import enrolment_for, sites_of, study_for

from .charts import line_chart_svg, lines_chart_svg
from .exports import EXPORTS, IDENTIFIED_EXPORTS
from .results import results_csv, study_results
from .selectors import completed_responses, patient_outcomes


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
    return render(request, "analysis/results.html", {
        "study": study, "results": results, "charts": result_charts(study, results),
    })


@requires(EXPORT_DATA)
def export(request, code: str, kind: str):
    """A patient-level CSV: de-identified for data managers, or identified (logged).

    Every download is an audit record: who took which file of which study.
    """
    study = study_for(request.user, code)
    if kind in IDENTIFIED_EXPORTS:
        if not request.user.has_perm(EXPORT_IDENTIFIED):
            raise PermissionDenied
        build = IDENTIFIED_EXPORTS[kind]
    elif kind in EXPORTS:
        build = EXPORTS[kind]
    else:
        raise Http404("No such export.")
    body = build(study, sites_of(request.user))
    record_change(obj=study, action="export", actor=request.user, reason=f"{kind} export")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.code}-{kind}.csv"'
    response["Cache-Control"] = "no-store"
    return response


CHART_RANGES = {"odi": (0, 100), "nrs": (0, 10), "eq5d_index_uk": (-0.6, 1),
                "eq5d_index_us": (-0.2, 1), "eq5d_vas": (0, 100), "gph_t": (10, 70),
                "gmh_t": (10, 70)}


def result_charts(study, results) -> list[dict]:
    """Mean with 95% CI by arm for each score, and responder percent by arm per primary rule."""
    tps = results["timepoints"]
    charts = []
    for code, (low, high) in CHART_RANGES.items():
        series = {}
        for arm in results["arms"]:
            by_tp = {s["timepoint"]: s for s in results["scores"]
                     if s["arm"] == arm and s["score"] == code}
            series[arm] = [(by_tp[tp]["mean"], by_tp[tp]["mean_ci_low"],
                            by_tp[tp]["mean_ci_high"]) if by_tp[tp]["n"] else None
                           for tp in tps]
        # Safe: lines_chart_svg escapes every piece of text it writes.
        charts.append({"title": f"{code}: mean and 95% CI by arm",
                       "svg": mark_safe(lines_chart_svg(f"{code} by arm", tps, series,
                                                        low=low, high=high))})
    follow_ups = [tp for tp in tps if any(r["timepoint"] == tp for r in results["responders"])]
    for rule in study.responder_rules.filter(is_primary=True).order_by("order"):
        series = {arm: [next((r["percent"] for r in results["responders"]
                              if r["arm"] == arm and r["timepoint"] == tp
                              and r["rule"] == rule.code), None) for tp in follow_ups]
                  for arm in results["arms"]}
        charts.append({"title": f"{rule.code}: responders (% of evaluable) by arm",
                       "svg": mark_safe(lines_chart_svg(f"{rule.code} responders by arm",
                                                        follow_ups, series, low=0, high=100))})
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
    labels = [tp.code for tp in outcomes["timepoints"]]
    for row in outcomes["scores"]:
        # Safe: line_chart_svg escapes every piece of text it writes.
        row["svg"] = mark_safe(line_chart_svg(
            f"{row['label']} for {enrolment.patient.code}", labels, row["values"],
            low=row["low"], high=row["high"]))
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
    from patients.selectors import enrolments_for

    from .selectors import VERDICT_FILTERS, earlier_verdicts, responder_list

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
    history = earlier_verdicts(list(page))
    for status in page:
        status.trajectory = history.get(status.enrolment_id, [])
    return render(request, "analysis/responders.html", {
        "study": study, "rules": rules, "timepoints": timepoints, "arms": study.arms.all(),
        "rule": next((r for r in rules if r.code == rule), None), "timepoint": timepoint,
        "arm": arm, "verdict": verdict, "verdicts": VERDICT_FILTERS, "page": page,
    })
