"""Reads for follow-ups: a patient's current visit, a time point's instruments."""

from __future__ import annotations

import datetime as dt

from .models import TimePointInstrument, Visit

# {time point id: (instruments_version, instruments)}: one process's copy (see below).
_instruments: dict[int, tuple[int, tuple]] = {}


def timepoint_instruments(timepoint) -> tuple:
    """Return the ``Instrument`` rows a time point asks, in the patient's order.

    Read from the database once per process and version: ``timepoint`` must have been
    read in the current request, since its ``instruments_version`` says whether the
    process's copy is still the time point's list (every change bumps it).
    """
    cached = _instruments.get(timepoint.pk)
    if cached is not None and cached[0] == timepoint.instruments_version:
        return cached[1]
    found = tuple(
        item.instrument for item in TimePointInstrument.objects.filter(timepoint_id=timepoint.pk)
        .select_related("instrument").order_by("order")
    )
    if found:  # a time point being set up has none yet: never keep that
        _instruments[timepoint.pk] = (timepoint.instruments_version, found)
    return found


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
