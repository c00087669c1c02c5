"""The study's results page and its downloads (same numbers as the ``results`` command)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from patients.selectors import study_for

from .results import results_csv, study_results


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
    return render(request, "analysis/results.html", {"study": study, "results": results})
