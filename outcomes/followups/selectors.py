"""Reads for follow-ups: a patient's current visit."""

from __future__ import annotations

import datetime as dt

from .models import Visit


def current_visit(enrolment, *, today: dt.date) -> Visit | None:
    """Return the visit open today (not completed), else the next one to open, else None."""
    visits = list(
        Visit.objects.filter(enrolment=enrolment).select_related("timepoint")
        .order_by("window_open_date")
    )
    for visit in visits:
        if visit.status == Visit.Status.COMPLETED:
            continue
        if visit.window_open_date <= today <= visit.window_close_date:
            return visit
    return next((v for v in visits if v.window_open_date > today), None)
