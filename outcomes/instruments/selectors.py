"""Reads for instruments: scores by time point and responder rules as pure values."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from .models import ResponderRule, Response, Score
from .responders import Combinator, CombinedRule, Direction, SimpleRule, ThresholdKind


def rules_with_ids(study_id: int) -> tuple[tuple[SimpleRule | CombinedRule, ...], dict[str, int]]:
    """Return the study's pure rules, in display order, and each rule's row id by code."""
    rows = ResponderRule.objects.filter(study_id=study_id).prefetch_related("parts")
    rules: list[SimpleRule | CombinedRule] = []
    ids: dict[str, int] = {}
    for row in rows:
        ids[row.code] = row.pk
        if row.is_combination:
            rules.append(
                CombinedRule(
                    code=row.code,
                    combinator=Combinator(row.kind),
                    parts=tuple(part.code for part in row.parts.all()),
                    description=row.description,
                )
            )
        else:
            rules.append(
                SimpleRule(
                    code=row.code,
                    score=row.score,
                    direction=Direction(row.direction),
                    kind=ThresholdKind(row.kind),
                    threshold=Fraction(str(row.threshold)),
                    description=row.description,
                )
            )
    return tuple(rules), ids


def scores_by_timepoint(enrolment) -> dict[int, dict[str, Fraction]]:
    """Return ``{timepoint_id: {score_code: exact value}}`` from completed responses."""
    rows = Score.objects.filter(
        response__visit__enrolment=enrolment,
        response__state=Response.State.COMPLETED,
    ).values_list("response__visit__timepoint_id", "code", "exact")
    result: dict[int, dict[str, Fraction]] = defaultdict(dict)
    for timepoint_id, code, exact in rows:
        result[timepoint_id][code] = Fraction(exact)
    return result


@dataclass(frozen=True)
class StaffEntry:
    """How a visit's form typed in by staff got there: for the patient and outcomes pages."""

    visit_id: int
    timepoint: str
    source: str
    source_label: str
    entered_by: str
    entered_date: dt.date
    answered_date: dt.date
    out_of_window: bool


def staff_entries(enrolment) -> dict[int, StaffEntry]:
    """Return ``{visit id: StaffEntry}`` for the enrolment's paper and telephone forms.

    One query. The first form entered at a visit speaks for it (the instruments of a
    visit are entered together); a corrected form still says who first typed it in.
    Dates are in the study's time zone.
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(enrolment.study.time_zone)
    labels = dict(Response.Source.choices)
    rows = (
        Response.objects.filter(
            visit__enrolment=enrolment, source__in=Response.STAFF_SOURCES,
            state__in=[Response.State.COMPLETED, Response.State.CORRECTED],
            entered_at__isnull=False,
        )
        .order_by("visit__timepoint__target_day", "pk")
        .values_list("visit_id", "visit__timepoint__label", "source", "entered_by__username",
                     "entered_by__first_name", "entered_by__last_name", "entered_at",
                     "completed_at", "out_of_window")
    )
    entries: dict[int, StaffEntry] = {}
    for visit, label, source, username, first, last, entered, completed, late in rows:
        entries.setdefault(visit, StaffEntry(
            visit_id=visit, timepoint=label, source=source, source_label=labels[source],
            entered_by=f"{first} {last}".strip() or username,
            entered_date=entered.astimezone(tz).date(),
            answered_date=completed.astimezone(tz).date(), out_of_window=late,
        ))
    return entries
