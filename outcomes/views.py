"""Project-level pages."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patients.selectors import studies_for


def home(request: HttpRequest) -> HttpResponse:
    """Show the studies (to staff) or a pointer to the login page."""
    studies = []
    if request.user.is_authenticated:
        studies = list(
            studies_for(request.user)
            .annotate(patient_count=Count("patients", distinct=True))
            .prefetch_related("arms")
            .order_by("code")
        )
        for study in studies:
            study.arm_codes = ", ".join(arm.code for arm in study.arms.all())
    return render(request, "home.html", {"studies": studies})
