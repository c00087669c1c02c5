"""The study's results page and its downloads (same numbers as the ``results`` command)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe

from outcomes.audit.models import AuditRecord
from outcomes.audit.services import record_change
from patients.models import Procedure
from patients.selectors import enrolment_for, study_for

from .charts import line_chart_svg
from .exports import EXPORTS
from .results import results_csv, study_results
from .selectors import patient_outcomes


@login_required
def results_page(request, code: str):
    """Scores, responders and between-arm tests, arm against arm; JSON and CSV downloads."""
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
    if fmt in EXPORTS:
        record_change(obj=study, action="export", actor=request.user, reason=f"{fmt} export")
        response = HttpResponse(EXPORTS[fmt](study), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{study.code}-{fmt}.csv"'
        return response
    return render(request, "analysis/results.html", {"study": study, "results": results})


@login_required
def patient_outcomes_page(request, code: str, patient_code: str):
    """A clinician's view of one patient: scores, changes, verdicts, charts, procedure."""
    study = study_for(request.user, code)
    enrolment = enrolment_for(request.user, study, patient_code)
    if request.method == "POST":
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
    })
