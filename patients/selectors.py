"""Reads for the coordinator's workspace, scoped to the user's sites.

Every selector returns a queryset (or a dict) built so that a page costs a fixed
number of queries whatever the cohort size: related rows are joined or
annotated, never fetched per row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Lower, Replace
from django.shortcuts import get_object_or_404

from outcomes.alerts.models import AnswerAlert
from outcomes.followups.cadence import next_send, reminder_plan
from outcomes.followups.models import Reminder, TimePoint, Visit
from outcomes.followups.schedule import Window
from outcomes.instruments.stored import definitions_of

from .models import Arm, Contact, Enrolment, Site, Study


def sites_of(user) -> QuerySet[Site]:
    """Return the sites whose patients ``user`` may see (every site for superusers)."""
    if user.is_superuser:
        return Site.objects.all()
    return Site.objects.filter(staff=user)


def studies_for(user) -> QuerySet[Study]:
    return Study.objects.filter(sites__in=sites_of(user)).distinct().order_by("code")


def study_for(user, code: str) -> Study:
    """Return the study ``code`` if the user works at one of its sites; 404 otherwise."""
    return get_object_or_404(studies_for(user), code=code)


def enrolments_for(user, study: Study) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(study=study, site__in=sites_of(user))


def enrolment_for(user, study: Study, patient_code: str) -> Enrolment:
    """Return one enrolment in the user's scope, or 404 (never 403: no hint it exists)."""
    return get_object_or_404(
        enrolments_for(user, study).select_related("patient", "arm", "site", "study"),
        patient__code=patient_code,
    )


ALERTS_SHOWN = 25
"""The answers needing attention listed on the dashboard at once (the oldest first)."""


def _alert_rows(alerts: QuerySet[AnswerAlert]) -> QuerySet[AnswerAlert]:
    return (alerts.select_related("enrolment__patient", "visit__timepoint", "instrument",
                                  "acknowledged_by")
            .defer("instrument__definition", "instrument__licence", "instrument__source"))


def alerts_needing_attention(user, study: Study) -> QuerySet[AnswerAlert]:
    """Return the study's unacknowledged answer alerts at the user's sites, oldest first.

    Each with its patient, visit, time point and questionnaire, for a row that needs no
    query of its own (the staff message and the answer's label are on the alert).
    """
    return _alert_rows(AnswerAlert.objects.filter(
        enrolment__study=study, enrolment__site__in=sites_of(user),
        acknowledged_at__isnull=True,
    )).order_by("raised_at", "pk")


def patient_alerts(enrolment: Enrolment) -> QuerySet[AnswerAlert]:
    """Return every answer alert of one patient, acknowledged or not, newest first."""
    return _alert_rows(AnswerAlert.objects.filter(enrolment=enrolment)).order_by(
        "-raised_at", "-pk")


def alert_for(user, study: Study, alert_id: int) -> AnswerAlert:
    """Return one alert of the study in the user's scope, or 404."""
    return get_object_or_404(
        AnswerAlert.objects.select_related("enrolment__patient"),
        pk=alert_id, enrolment__study=study, enrolment__site__in=sites_of(user))


@dataclass(frozen=True)
class Worklist:
    code: str
    label: str
    help: str


WORKLISTS = (
    Worklist("overdue", "Overdue", "Window open, past the target date, not completed."),
    Worklist("due", "Due", "Window open now, not completed."),
    Worklist("missed", "Missed", "Window closed without an answer."),
    Worklist("upcoming", "Next 14 days", "Window opens within two weeks."),
    Worklist("failed", "Failed reminders", "A reminder gave up: check the contact details."),
)


def _worklist_filter(name: str, today: dt.date) -> Q:
    open_now = Q(status__in=[Visit.Status.SCHEDULED, Visit.Status.OPEN],
                 window_open_date__lte=today, window_close_date__gte=today)
    return {
        "due": open_now,
        "overdue": open_now & Q(target_date__lt=today),
        "missed": Q(status=Visit.Status.MISSED),
        "upcoming": Q(status=Visit.Status.SCHEDULED, window_open_date__gt=today,
                      window_open_date__lte=today + dt.timedelta(days=14)),
        "failed": Q(Exists(Reminder.objects.filter(visit=OuterRef("pk"),
                                                   status=Reminder.Status.FAILED))),
    }[name]


def worklist_counts(user, study: Study, today: dt.date) -> dict[str, int]:
    """Return the size of every worklist in one query."""
    visits = Visit.objects.filter(enrolment__study=study, enrolment__site__in=sites_of(user),
                                  enrolment__status=Enrolment.Status.ACTIVE)
    return visits.aggregate(**{
        w.code: Count("pk", filter=_worklist_filter(w.code, today)) for w in WORKLISTS
    })


def worklist(user, study: Study, name: str, today: dt.date) -> QuerySet[Visit]:
    """Return the visits of one worklist, with patient, arm, site, time point and reminders.

    Each visit is annotated with its last reminder (any kind), its last scheduled one
    (not sent again by staff: where the cadence stands) and how many were sent; turn a
    page of them into rows with ``worklist_rows``.
    """
    last = Reminder.objects.filter(visit=OuterRef("pk")).order_by("-created_at", "-pk")
    scheduled = last.exclude(kind=Reminder.Kind.MANUAL)
    visits = (
        Visit.objects.filter(enrolment__study=study, enrolment__site__in=sites_of(user))
        .filter(_worklist_filter(name, today))
        .select_related("enrolment__patient", "enrolment__arm", "enrolment__site", "timepoint")
        .annotate(
            last_reminder_kind=Subquery(last.values("kind")[:1]),
            last_reminder_status=Subquery(last.values("status")[:1]),
            last_scheduled_kind=Subquery(scheduled.values("kind")[:1]),
            last_scheduled_status=Subquery(scheduled.values("status")[:1]),
            reminders_sent=Count("reminders", filter=Q(reminders__status=Reminder.Status.SENT)),
        )
    )
    if name != "missed":
        visits = visits.filter(enrolment__status=Enrolment.Status.ACTIVE)
    order = {"missed": "-window_close_date", "upcoming": "window_open_date"}.get(
        name, "window_close_date")
    return visits.order_by(order, "enrolment__patient__code")


@dataclass(frozen=True)
class WorklistRow:
    """One visit of a worklist with its reminders in words."""

    visit: Visit
    sent: str
    """How many reminders went: "None sent yet", "2 sent"."""
    last: str
    """The last one and what became of it: "Reminder 1: failed (gave up)"; "" if none."""
    next_date: dt.date | None
    """When the next planned reminder goes (today when one is due now); None if none."""
    next_today: bool


WAITING = (Reminder.Status.PENDING, Reminder.Status.SENDING)


def worklist_rows(visits: Sequence[Visit], *, study: Study, today: dt.date) -> list[WorklistRow]:
    """Return a page of ``worklist`` visits as rows, with no query of their own.

    The next send comes from the study's cadence (``cadence.next_send``) and the visit's
    last scheduled reminder: one still waiting goes today; none for a visit that is
    not open or scheduled, or a patient who is not active (no message goes to them).
    """
    from outcomes.followups.reminders import cadence_of

    cadence = cadence_of(study)
    kinds, statuses = dict(Reminder.Kind.choices), dict(Reminder.Status.choices)
    rows = []
    for visit in visits:
        next_date = None
        if (visit.enrolment.status == Enrolment.Status.ACTIVE
                and visit.status in (Visit.Status.SCHEDULED, Visit.Status.OPEN)):
            if visit.last_scheduled_status in WAITING:
                next_date = today
            else:
                window = Window(visit.window_open_date, visit.target_date,
                                visit.window_close_date)
                next_date = next_send(reminder_plan(window, cadence), today=today,
                                      close_date=visit.window_close_date,
                                      created=visit.last_scheduled_kind)
        last = ""
        if visit.last_reminder_kind:
            last = (f"{kinds.get(visit.last_reminder_kind, visit.last_reminder_kind)}: "
                    f"{statuses.get(visit.last_reminder_status, '').lower()}")
        rows.append(WorklistRow(
            visit=visit,
            sent=f"{visit.reminders_sent} sent" if visit.reminders_sent else "None sent yet",
            last=last, next_date=next_date, next_today=next_date == today,
        ))
    return rows


def patient_visits(enrolment: Enrolment) -> QuerySet[Visit]:
    """Return a patient's visits with their reminders, in schedule order."""
    return (
        Visit.objects.filter(enrolment=enrolment).select_related("timepoint")
        .prefetch_related("reminders__tries").order_by("target_date")
    )


def contact_of(enrolment: Enrolment) -> Contact | None:
    return Contact.objects.filter(patient_id=enrolment.patient_id).first()


def withdrawal_consequences(enrolment: Enrolment) -> list[str]:
    """Say what withdrawing ``enrolment`` would do, sentence by sentence (two queries).

    What ``services.set_enrolment_status`` does: the visits still to come or open are
    closed (not applicable), the messages waiting to go are cancelled, no more are sent
    and the patient's links stop working; completed and missed visits stay.
    """
    from outcomes.followups.schedule import visit_name

    closing = [visit_name(label).removesuffix(" visit") for label in Visit.objects.filter(
        enrolment=enrolment, status__in=[Visit.Status.SCHEDULED, Visit.Status.OPEN],
    ).order_by("target_date").values_list("timepoint__label", flat=True)]
    waiting = Reminder.objects.filter(visit__enrolment=enrolment,
                                      status=Reminder.Status.PENDING).count()
    said = []
    if closing:
        names = (closing[0] if len(closing) == 1
                 else f"{', '.join(closing[:-1])} and {closing[-1]}")
        said.append(f"The {names} visit{'s' if len(closing) > 1 else ''} will be closed "
                    "(marked not applicable).")
    else:
        said.append("No visit is open or still to come, so none is closed.")
    said.append("Completed and missed visits stay as they are, with their answers.")
    if waiting:
        said.append(f"{waiting} message{'s' if waiting != 1 else ''} waiting to go will be "
                    "cancelled, and no more reminders or links will be sent.")
    else:
        said.append("No more reminders or links will be sent.")
    said.append("The patient's link will stop working.")
    said.append("A withdrawal cannot be undone here.")
    return said


HISTORY_LIMIT = 100
"""The patient page shows this many of the latest changes (the admin keeps them all)."""


def _keyed(queryset: QuerySet) -> QuerySet:
    """Annotate each row's primary key as text, as audit records name their object."""
    return queryset.annotate(key=Cast("pk", CharField()))


def patient_history(enrolment: Enrolment, *, show_contact: bool,
                    limit: int = HISTORY_LIMIT) -> list:
    """Return the changes to a patient's record, newest first, in words, from one query.

    The audit records of the enrolment (enrolled, status, index date, sign-off), of the
    patient and contact details (names of the fields changed, and their values only
    with ``show_contact``), of each visit (moved, closed, reopened, a paper form
    entered, a link stopped or sent again) and of each response (voided, corrected,
    rescored, answered by link). Left out: disclosures (views, exports), the drafts a
    patient saves on the way, and the records a paper entry writes per questionnaire
    (its visit's record says it all). Each record's visit and instrument are read in
    the same query.
    """
    from outcomes.audit.models import AuditRecord
    from outcomes.instruments.models import Instrument, Response

    from .history import Change, actor_name, history_lines

    visits = _keyed(Visit.objects.filter(enrolment_id=enrolment.pk))
    responses = _keyed(Response.objects.filter(visit__enrolment_id=enrolment.pk))
    contacts = _keyed(Contact.objects.filter(patient_id=enrolment.patient_id))
    of_response = Q(object_type="instruments.response")
    answered_by_link = Q(action="update", changes__has_key="state", actor__isnull=True)
    records = (
        AuditRecord.objects.filter(
            Q(object_type="patients.enrolment", object_id=str(enrolment.pk))
            | Q(object_type="patients.patient", object_id=str(enrolment.patient_id),
                action="update")
            | Q(object_type="patients.contact", object_id__in=contacts.values("key"))
            | Q(object_type="followups.visit", object_id__in=visits.values("key"))
            | (of_response & Q(object_id__in=responses.values("key"))
               & (Q(action__in=["void", "correct"])
                  | Q(action="update", changes__has_key="scores") | answered_by_link))
        )
        .exclude(action__in=["view", "export"])
        .select_related("actor")
        .annotate(
            visit_label=Case(
                When(object_type="followups.visit", then=Subquery(
                    visits.filter(key=OuterRef("object_id")).values("timepoint__label")[:1])),
                When(of_response, then=Subquery(
                    responses.filter(key=OuterRef("object_id"))
                    .values("visit__timepoint__label")[:1])),
                default=Value(""),
            ),
            instrument_code=Case(When(of_response, then=Subquery(
                responses.filter(key=OuterRef("object_id")).values("instrument__code")[:1])),
                default=Value("")),
            instrument_pk=Case(When(of_response, then=Subquery(
                responses.filter(key=OuterRef("object_id")).values("instrument_id")[:1])),
                default=None),
            instrument_name=Case(When(of_response, then=Subquery(
                responses.filter(key=OuterRef("object_id"))
                .values("instrument__short_title")[:1])), default=Value("")),
        )
        .order_by("-at", "-pk")[:limit]
    )
    # The versions the patient's responses were answered on (one query, whatever the
    # history's length; their files are read once per process): a correction's
    # questions are numbered as the version answered asks them.
    answered = definitions_of(Instrument.objects.filter(
        responses__visit__enrolment_id=enrolment.pk).distinct().defer("definition"))
    return history_lines((
        Change(object_type=record.object_type, action=record.action,
               changes=record.changes or {}, reason=record.reason,
               who=actor_name(record.actor, record.actor_label), at=record.at,
               visit_label=record.visit_label or "", instrument=record.instrument_code or "",
               instrument_name=record.instrument_name or "",
               definition=answered.get(record.instrument_pk))
        for record in records
    ), show_contact=show_contact)


NO_CONTACT_LABEL = "No contact details"


def completion_by_channel(user, study: Study) -> list[dict]:
    """Return, per time point and reminder channel, visits completed among those decided.

    A visit is decided once completed or missed; the rate is completed / decided. Time
    points and channels are named in words ("1 month", "Text message").
    """
    rows = (
        Visit.objects.filter(enrolment__study=study, enrolment__site__in=sites_of(user),
                             status__in=[Visit.Status.COMPLETED, Visit.Status.MISSED])
        .values("timepoint__label", "timepoint__target_day",
                "enrolment__patient__contact__preferred_channel")
        .annotate(decided=Count("pk"),
                  completed=Count("pk", filter=Q(status=Visit.Status.COMPLETED)))
        .order_by("timepoint__target_day", "enrolment__patient__contact__preferred_channel")
    )
    channels = dict(Contact.Channel.choices)
    return [
        {
            "timepoint": row["timepoint__label"],
            "channel": channels.get(row["enrolment__patient__contact__preferred_channel"],
                                    NO_CONTACT_LABEL),
            "decided": row["decided"],
            "completed": row["completed"],
            "percent": 100 * row["completed"] / row["decided"] if row["decided"] else None,
        }
        for row in rows
    ]


def response_history(response) -> list:
    """Return the changes to one response, newest first, in words (the correction page).

    ``response`` is read with its visit's time point and its instrument. The drafts
    a patient saves on the way are left out, as on the patient page. A correction's
    questions are numbered and named as the version answered asks them.
    """
    from outcomes.audit.services import history
    from outcomes.instruments.stored import maybe_definition_of

    from .history import Change, actor_name, history_lines

    answered = maybe_definition_of(response.instrument)
    return history_lines((
        Change(object_type=record.object_type, action=record.action,
               changes=record.changes or {}, reason=record.reason,
               who=actor_name(record.actor, record.actor_label), at=record.at,
               visit_label=response.visit.timepoint.label, instrument=response.instrument.code,
               instrument_name=response.instrument.short_title, definition=answered)
        for record in history(response).exclude(action__in=["view", "export"])
        if not (record.action == "update" and set(record.changes or {}) == {"answers"})
    ), show_contact=False)


# The patient list (SPEC section 7): one row per patient, one cell per time point.

# Characters people type inside phone numbers ("+34 612-345 678", "(555) 0100").
PHONE_SEPARATORS = (" ", "-", "(", ")", ".")
_PHONE_QUERY = re.compile(r"^\+?\d{3,}$")


def phone_digits(text: str) -> str:
    """Return ``text`` without the separators people type inside phone numbers."""
    for separator in PHONE_SEPARATORS:
        text = text.replace(separator, "")
    return text


def _normalised_mobile():
    expression = F("patient__contact__mobile")
    for separator in PHONE_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression


def patient_list(
    user, study: Study, *, q: str = "", arm: Arm | None = None, site: Site | None = None,
    status: str = "", visit_state: str = "", search_contact: bool = False,
    with_contact_name: bool = False,
) -> QuerySet[Enrolment]:
    """Return the study's enrolments in the user's sites, searched and filtered, by code.

    ``q`` matches the patient's study code (case-insensitive, anywhere in it) and,
    with ``search_contact`` (coordinators only), the contact's full name, email and
    mobile, the mobile ignoring spaces, dashes, dots and brackets. ``visit_state``
    keeps patients with at least one visit in that state. ``with_contact_name``
    annotates ``contact_name`` (one column of the contact, nothing else of it).
    """
    enrolments = enrolments_for(user, study).select_related("patient", "arm", "site")
    q = q.strip()
    if q:
        match = Q(patient__code__icontains=q)
        if search_contact:
            match |= (Q(patient__contact__full_name__icontains=q)
                      | Q(patient__contact__email__icontains=q))
            digits = phone_digits(q)
            if _PHONE_QUERY.match(digits):
                enrolments = enrolments.alias(mobile_digits=_normalised_mobile())
                match |= Q(mobile_digits__contains=digits)
        enrolments = enrolments.filter(match)
    if arm is not None:
        enrolments = enrolments.filter(arm=arm)
    if site is not None:
        enrolments = enrolments.filter(site=site)
    if status:
        enrolments = enrolments.filter(status=status)
    if visit_state:
        enrolments = enrolments.filter(Exists(
            Visit.objects.filter(enrolment=OuterRef("pk"), status=visit_state)))
    if with_contact_name:
        enrolments = enrolments.annotate(contact_name=F("patient__contact__full_name"))
    # Case-insensitive, the same on every database (SQLite would put "lb-2" after "XK-1").
    return enrolments.order_by(Lower("patient__code"), "patient__code", "pk")


def schedule_of(study: Study) -> list[TimePoint]:
    """Return the study's time points in schedule order (target day after the index date)."""
    return list(TimePoint.objects.filter(study=study).order_by("target_day", "pk"))


@dataclass(frozen=True)
class GridCell:
    """One visit's state in the patient list; ``state`` is empty when there is no visit."""

    timepoint: TimePoint
    state: str
    label: str


@dataclass(frozen=True)
class PatientRow:
    enrolment: Enrolment
    cells: tuple[GridCell, ...]


NO_VISIT_LABEL = "No visit"


def patient_grid(enrolments: Sequence[Enrolment],
                 timepoints: Sequence[TimePoint]) -> list[PatientRow]:
    """Return one row per enrolment with one cell per time point, from one query.

    The visits of all the given enrolments are read at once, keyed by enrolment
    and time point, so the grid costs one query whatever the page holds.
    """
    ids = [enrolment.pk for enrolment in enrolments]
    states: dict[tuple[int, int], str] = {
        (enrolment_id, timepoint_id): state
        for enrolment_id, timepoint_id, state in Visit.objects.filter(enrolment_id__in=ids)
        .order_by().values_list("enrolment_id", "timepoint_id", "status")
    } if ids else {}
    labels = dict(Visit.Status.choices)
    rows = []
    for enrolment in enrolments:
        cells = []
        for timepoint in timepoints:
            state = states.get((enrolment.pk, timepoint.pk), "")
            cells.append(GridCell(timepoint, state, labels.get(state, NO_VISIT_LABEL)))
        rows.append(PatientRow(enrolment, tuple(cells)))
    return rows
