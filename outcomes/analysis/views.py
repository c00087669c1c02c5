"""The study's results page and its downloads (same numbers as the ``results`` command)."""

from __future__ import annotations

import datetime as dt
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
from .charts import line_chart_svg
from .exports import EXPORTS, IDENTIFIED_EXPORTS, LABELLED_EXPORTS, write_labelled
from .page import results_page as page_content
from .results import results_csv, study_results
from .selectors import completed_responses, patient_outcomes, rule_labels, study_rules


@requires(VIEW_RESULTS)
def results_page(request, code: str):
    """The study's results as a paper prints them (``page``): the primary comparisons
    first, the flow of patients, Table 1, Table 2, charts, then every table in full,
    collapsed; JSON and CSV downloads of the same numbers.

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
    content = page_content(results, result_names(study))
    # Safe: the charts module escapes every piece of text it writes into an SVG.
    content["flow"]["svg"] = mark_safe(content["flow"]["svg"])
    for chart in content["charts"]:
        chart["svg"] = mark_safe(chart["svg"])
    return render(request, "analysis/results.html", {
        "study": study, "results": results, **content,
        "today": dt.date.fromisoformat(results["today"]),
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
    """The words a person reads for the codes in the results: time points, arms, rules
    (with their definitions, for the charts' MCID lines), sexes and enrolment statuses."""
    from outcomes.followups.models import TimePoint
    from patients.models import Enrolment, Patient

    rules = study_rules(study.pk)
    return {"timepoints": dict(TimePoint.objects.filter(study=study)
                               .values_list("code", "label")),
            "arms": dict(study.arms.values_list("code", "name")),
            "rules": {code: rule["label"] for code, rule in rules.items()},
            "rule_defs": rules,
            "sexes": dict(Patient.Sex.choices),
            "statuses": dict(Enrolment.Status.choices)}


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
    for row in outcomes["scores"]:
        # Safe: line_chart_svg escapes every piece of text it writes.
        row["svg"] = mark_safe(line_chart_svg(
            f"{row['title']} for {enrolment.patient.code}", row["timepoints"], row["values"],
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
