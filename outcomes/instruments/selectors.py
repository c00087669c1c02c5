"""Reads for instruments: scores by time point and responder rules as pure values."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from django.db.models import OuterRef, Subquery

from .models import ResponderRule, Response
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


@dataclass
class TimepointScores:
    """An enrolment's stored scores at each time point, and why any are not scorable."""

    values: dict[int, dict[str, Fraction]] = field(default_factory=lambda: defaultdict(dict))
    """``{timepoint_id: {score_code: exact value}}``"""
    not_scorable: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    """``{timepoint_id: {score_code: reason}}`` (SPEC 3.7)"""


# Stored exact values recur (a few hundred ODI, EQ-5D and T-score values): parse each once.
_fraction = functools.lru_cache(maxsize=65536)(Fraction)


def timepoint_scores(enrolment_ids: Iterable[int]) -> dict[int, TimepointScores]:
    """Return each enrolment's ``TimepointScores`` from its completed responses.

    One query whatever the number of enrolments (chunk large sets at the caller).
    """
    result: dict[int, TimepointScores] = defaultdict(TimepointScores)
    rows = Response.objects.filter(
        visit__enrolment_id__in=list(enrolment_ids), state=Response.State.COMPLETED,
    ).values_list("visit__enrolment_id", "visit__timepoint_id", "not_scorable",
                  "scores__code", "scores__exact")
    for enrolment_id, timepoint_id, not_scorable, code, exact in rows:
        scores = result[enrolment_id]
        if not_scorable:
            scores.not_scorable[timepoint_id].update(not_scorable)
        if code is not None:
            scores.values[timepoint_id][code] = _fraction(exact)
    return result


@dataclass(frozen=True)
class StaffEntry:
    """How a visit's form typed in by staff got there: for the patient and outcomes pages."""

    timepoint: str
    source: str
    source_label: str
    entered_by: str
    entered_date: dt.date
    answered_date: dt.date
    out_of_window: bool


# Each column of a visit's first paper or telephone form, as ``entry_<name>``.
_ENTRY_COLUMNS = {"source": "source", "username": "entered_by__username",
                  "first_name": "entered_by__first_name", "last_name": "entered_by__last_name",
                  "entered_at": "entered_at", "completed_at": "completed_at",
                  "out_of_window": "out_of_window"}
ENTRY_FIELDS = tuple(f"entry_{name}" for name in _ENTRY_COLUMNS)


def staff_entry_columns() -> dict[str, Subquery]:
    """Annotations for a ``Visit`` queryset: its first form typed in by staff, if any.

    In the same query as the visits (no query of its own). The first form entered at a
    visit speaks for it (a visit's instruments are entered together); a corrected one
    still says who first typed it in.
    """
    first = Response.objects.filter(
        visit=OuterRef("pk"), source__in=Response.STAFF_SOURCES,
        state__in=[Response.State.COMPLETED, Response.State.CORRECTED],
        entered_at__isnull=False,
    ).order_by("pk")
    return {f"entry_{name}": Subquery(first.values(path)[:1])
            for name, path in _ENTRY_COLUMNS.items()}


def staff_entry(columns: Mapping[str, object], *, timepoint: str,
                time_zone: str) -> StaffEntry | None:
    """Return the ``StaffEntry`` of a visit read with ``staff_entry_columns``, or None.

    ``columns`` maps ``ENTRY_FIELDS`` to their values; dates are in the study's zone.
    """
    from zoneinfo import ZoneInfo

    source = columns["entry_source"]
    if not source:
        return None
    tz = ZoneInfo(time_zone)
    name = f"{columns['entry_first_name'] or ''} {columns['entry_last_name'] or ''}".strip()
    return StaffEntry(
        timepoint=timepoint, source=source, source_label=Response.Source(source).label,
        entered_by=name or columns["entry_username"] or "",
        entered_date=columns["entry_entered_at"].astimezone(tz).date(),
        answered_date=columns["entry_completed_at"].astimezone(tz).date(),
        out_of_window=bool(columns["entry_out_of_window"]),
    )


def void_consequence(response: Response, *, today: dt.date) -> str:
    """Say what voiding ``response`` does to its visit, before the data manager confirms.

    The same state ``void_response`` will set (``schedule.state_after_void``): "The
    3-month visit will be open again, and the patient's link will work until 15 July
    2026.", "... will be marked missed: its window closed on ...". ``response`` is read
    with its visit, time point and enrolment.
    """
    from django.utils import formats

    from outcomes.followups.models import Visit
    from outcomes.followups.schedule import VisitState, Window, state_after_void, visit_name

    visit = response.visit
    enrolment = visit.enrolment
    name = visit_name(visit.timepoint.label)
    if visit.status != Visit.Status.COMPLETED:
        return (f"The {name} is not complete, so it stays "
                f"{visit.get_status_display().lower()}.")
    window = Window(visit.window_open_date, visit.target_date, visit.window_close_date)
    state = state_after_void(window, today=today,
                             withdrawn=enrolment.status == enrolment.Status.WITHDRAWN)
    opens, closes = (formats.date_format(day) for day in (window.open_date, window.close_date))
    if state == VisitState.NOT_APPLICABLE:
        return (f"The {name} will be marked not applicable: the patient is withdrawn, so it "
                "will not be asked again.")
    if state == VisitState.MISSED:
        return f"The {name} will be marked missed: its window closed on {closes}."
    if state == VisitState.SCHEDULED:
        return f"The {name} will be scheduled again: its window opens on {opens}."
    if enrolment.status == enrolment.Status.ACTIVE:
        return (f"The {name} will be open again, and the patient's link will work until "
                f"{closes}.")
    return (f"The {name} will be open again until {closes}; the patient's status is "
            f"{enrolment.get_status_display().lower()}, so no reminder goes and the link "
            "does not work until they are active again.")
