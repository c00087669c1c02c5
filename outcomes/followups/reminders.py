"""Reminders: plan what is due, claim each message once, send it, record every attempt.

The schedule lives in the database, never in the broker: a run asks "what is due
as of now?", so a run missed while the broker or worker was down catches up on
the next one, and a backlog sends only the latest message of each visit.

Exactly once: a ``Reminder`` row per (visit, kind) is created at most once (a
unique constraint), and claimed by a conditional UPDATE (``pending`` to
``sending``) before anything is sent, so two workers, a retried task or beat
firing twice cannot send it twice. The visit is re-checked at the moment of
sending, and the message is rendered then, never earlier.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from patients.models import Contact, Enrolment, Study

from .cadence import (
    Cadence,
    due_kind,
    in_quiet_hours,
    quiet_hours_end,
    reminder_plan,
)
from .channels import ChannelError, PermanentChannelError, send_email, send_sms
from .links import survey_url
from .models import Reminder, ReminderAttempt, Visit
from .schedule import Window, in_sentence, visit_name

logger = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one reminder run did (or, dry, would do)."""

    opened: int = 0
    missed: int = 0
    planned_count: int = 0
    keep_planned: bool = False  # list each planned message (the command prints them)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # patient, tp, kind
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    quiet_studies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "opened": self.opened, "missed": self.missed, "planned": self.planned_count,
            "sent": self.sent, "failed": self.failed, "skipped": self.skipped,
            "quiet_studies": self.quiet_studies,
        }


def cadence_of(study: Study) -> Cadence:
    return Cadence(
        reminder_days=tuple(study.reminder_days or ()),
        last_call_days_before_close=study.last_call_days_before_close,
        quiet_start_hour=study.quiet_hours_start,
        quiet_end_hour=study.quiet_hours_end,
    )


def local_now(study: Study, now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(study.time_zone))


def refresh_visit_statuses(*, study: Study, today: dt.date) -> tuple[int, int]:
    """Open the visits whose window has opened and mark missed those whose window closed."""
    visits = Visit.objects.filter(enrolment__study=study)
    opened = visits.filter(
        status=Visit.Status.SCHEDULED, window_open_date__lte=today, window_close_date__gte=today,
    ).update(status=Visit.Status.OPEN)
    missed = visits.filter(
        status__in=[Visit.Status.SCHEDULED, Visit.Status.OPEN], window_close_date__lt=today,
    ).update(status=Visit.Status.MISSED)
    return opened, missed


PLAN_CHUNK = 5000


def plan_reminders(*, study: Study, today: dt.date, dry_run: bool = False,
                   report: RunReport) -> int:
    """Create the pending reminder due today for each open visit; return how many.

    Only visits of active enrolments with an open, incomplete window are
    considered; a kind already created for a visit is never created again (unless
    it was cancelled: paused since, or the visit moved), and
    after an outage only the latest due kind is created (the backlog goes once).
    Visits are read in chunks by primary key, so memory stays flat as the
    cohort grows.
    """
    cadence = cadence_of(study)
    visits = Visit.objects.filter(
        enrolment__study=study,
        enrolment__status=Enrolment.Status.ACTIVE,
        status__in=[Visit.Status.SCHEDULED, Visit.Status.OPEN],
        window_open_date__lte=today,
        window_close_date__gte=today,
    ).order_by("pk")
    created = 0
    last_pk = 0
    while True:
        rows = list(visits.filter(pk__gt=last_pk).values_list(
            "pk", "window_open_date", "target_date", "window_close_date",
            "enrolment__patient__code", "timepoint__code",
            "enrolment__patient__contact__preferred_channel",
        )[:PLAN_CHUNK])
        if not rows:
            return created
        last_pk = rows[-1][0]
        already = set(
            Reminder.objects.filter(visit_id__in=[row[0] for row in rows])
            .exclude(kind=Reminder.Kind.MANUAL).exclude(status=Reminder.Status.CANCELLED)
            .values_list("visit_id", "kind")
        )
        new = []
        for pk, open_date, target, close_date, patient, tp, channel in rows:
            kind = due_kind(reminder_plan(Window(open_date, target, close_date), cadence), today)
            if kind is None or (pk, kind) in already:
                continue
            report.planned_count += 1
            if report.keep_planned:
                report.planned.append((patient, tp, kind))
            new.append(Reminder(visit_id=pk, kind=kind,
                                channel=channel or Contact.Channel.EMAIL))
        if not dry_run and new:
            Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
        created += len(new)


def release_stale_claims(*, now: dt.datetime) -> int:
    """Offer again reminders claimed by a worker that died before recording the outcome."""
    limit = now - dt.timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES)
    return Reminder.objects.filter(status=Reminder.Status.SENDING, claimed_at__lt=limit).update(
        status=Reminder.Status.PENDING, last_error="the worker stopped mid-send; offered again",
    )


def pending_reminder_ids(*, now: dt.datetime):
    """Return the ids of reminders waiting to be sent (new, or due for a retry), lazily."""
    return (
        Reminder.objects.filter(status=Reminder.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk").values_list("pk", flat=True)
    )


def claim(reminder_id: int, *, now: dt.datetime) -> bool:
    """Claim a pending reminder for sending; True for exactly one caller."""
    return Reminder.objects.filter(pk=reminder_id, status=Reminder.Status.PENDING).update(
        status=Reminder.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1,
    ) == 1


def _finish(reminder: Reminder, *, status: str, now: dt.datetime, outcome: str,
            detail: str = "", next_attempt_at: dt.datetime | None = None) -> None:
    """Record an attempt; move the reminder to ``status`` only while the claim is still ours.

    A send that outlives the claim timeout looks like a dead worker's: the periodic
    run offers the reminder again and another worker may claim it. This worker's
    outcome then belongs to a claim that is no longer the reminder's, so it must not
    touch the other worker's claim or outcome (a failure put back to pending would
    send the reminder again). One exception: a message that went while the reminder
    waits, offered again and not yet claimed, is recorded as sent, else it would go twice.
    """
    # claimed_at tells claims apart: a new one is made only once the last is stale.
    ours = Q(status=Reminder.Status.SENDING, claimed_at=reminder.claimed_at)
    if status == Reminder.Status.SENT:
        ours |= Q(status=Reminder.Status.PENDING)
    with transaction.atomic():
        Reminder.objects.filter(ours, pk=reminder.pk).update(
            status=status, sent_at=now if status == Reminder.Status.SENT else None,
            last_error=detail[:2000] if outcome == ReminderAttempt.Outcome.ERROR else "",
            next_attempt_at=next_attempt_at,
        )
        ReminderAttempt.objects.create(reminder=reminder, at=now, outcome=outcome, detail=detail)


def render_message(visit: Visit, kind: str, *, today: dt.date,
                   channel: str = "email") -> dict[str, str]:
    """Render a reminder now, from the visit as it is now: link, window, days left.

    In the patient's language (their contact's, else English): its words and its date.
    """
    study = visit.enrolment.study
    contact = getattr(visit.enrolment.patient, "contact", None)
    language = getattr(contact, "language", None) or "en"
    with translation.override(language):
        context = {
            "kind": kind,
            "clinic": study.contact_name or settings.CLINIC_NAME,
            # "3 meses", not the study team's "3 months" (TimePoint.patient_label).
            "timepoint": in_sentence(visit.timepoint.patient_label(language)),
            # The patient's language's one date format (outcomes/formats): 28 February
            # 2026, 28 de febrero de 2026; as the patient's pages write it.
            "close_date": formats.date_format(visit.window_close_date),
            "days_left": max(0, (visit.window_close_date - today).days),
            "link": survey_url(visit=visit),
            "contact": study.contact_phone or study.contact_email,
        }
        if channel == Reminder.Channel.SMS:
            return {"sms": render_to_string("followups/messages/sms.txt", context).strip()}
        return {
            "subject": render_to_string("followups/messages/subject.txt", context).strip(),
            "email": render_to_string("followups/messages/email.txt", context).strip() + "\n",
        }


def send_reminder(reminder_id: int, *, now: dt.datetime | None = None) -> str:
    """Claim, re-check, render and send one reminder; return what happened.

    Returns ``"claimed-elsewhere"`` when another worker has it (nothing done),
    ``"skipped"`` when the visit no longer needs it, ``"quiet"`` when it is
    quiet hours (released for later), ``"sent"``, ``"retry"`` or ``"failed"``.
    """
    now = now or timezone.now()
    if not claim(reminder_id, now=now):
        return "claimed-elsewhere"
    reminder = Reminder.objects.select_related(
        "visit__enrolment__study", "visit__enrolment__patient__contact", "visit__timepoint",
    ).get(pk=reminder_id)
    visit = reminder.visit
    study = visit.enrolment.study
    local = local_now(study, now)
    today = local.date()
    reason = _no_longer_needed(visit, today)
    if reason:
        _finish(reminder, status=Reminder.Status.CANCELLED, now=now,
                outcome=ReminderAttempt.Outcome.SKIPPED, detail=reason)
        return "skipped"
    if in_quiet_hours(local, cadence_of(study)):
        Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
            status=Reminder.Status.PENDING, attempts=F("attempts") - 1, claimed_at=None,
        )
        return "quiet"
    contact = getattr(visit.enrolment.patient, "contact", None)
    try:
        message = render_message(visit, reminder.kind, today=today, channel=reminder.channel)
        if reminder.channel == Reminder.Channel.SMS:
            provider_id = send_sms(to=getattr(contact, "mobile", ""), body=message["sms"])
        else:
            provider_id = send_email(to=getattr(contact, "email", ""),
                                     subject=message["subject"], body=message["email"])
    except ChannelError as error:
        attempts = reminder.attempts
        if attempts >= settings.REMINDER_MAX_ATTEMPTS or isinstance(error, PermanentChannelError):
            _finish(reminder, status=Reminder.Status.FAILED, now=now,
                    outcome=ReminderAttempt.Outcome.ERROR, detail=str(error))
            logger.warning("reminder %s gave up after %s attempts: %s", reminder.pk, attempts,
                           error)
            return "failed"
        backoff = dt.timedelta(minutes=5 * 2 ** (attempts - 1))
        _finish(reminder, status=Reminder.Status.PENDING, now=now,
                outcome=ReminderAttempt.Outcome.ERROR, detail=str(error),
                next_attempt_at=now + backoff)
        return "retry"
    _finish(reminder, status=Reminder.Status.SENT, now=now, outcome=ReminderAttempt.Outcome.SENT,
            detail=provider_id or "")
    return "sent"


def _no_longer_needed(visit: Visit, today: dt.date) -> str:
    if visit.status == Visit.Status.COMPLETED or visit.completed_at is not None:
        return "the visit is completed"
    if visit.enrolment.status != Enrolment.Status.ACTIVE:
        return f"the patient is {visit.enrolment.status}"
    if not visit.window_open_date <= today <= visit.window_close_date:
        return "the window is closed"
    return ""


def run_reminders(*, now: dt.datetime | None = None, dry_run: bool = False,
                  send: bool = True, keep_planned: bool = False):
    """One reminder run over every study: statuses, plan, then (optionally) send inline.

    Returns the report and the (lazy) ids of pending reminders; with
    ``send=False`` the caller fans them out (the periodic task queues one task each).
    """
    now = now or timezone.now()
    report = RunReport(keep_planned=keep_planned or dry_run)
    for study in Study.objects.all():
        local = local_now(study, now)
        today = local.date()
        if not dry_run:
            opened, missed = refresh_visit_statuses(study=study, today=today)
            report.opened += opened
            report.missed += missed
        if in_quiet_hours(local, cadence_of(study)):
            report.quiet_studies.append(study.code)
            continue
        plan_reminders(study=study, today=today, dry_run=dry_run, report=report)
    if dry_run:
        return report, []
    release_stale_claims(now=now)
    ids = pending_reminder_ids(now=now)
    if send:
        for reminder_id in list(ids):
            outcome = send_reminder(reminder_id, now=now)
            report.sent += outcome == "sent"
            report.failed += outcome in ("failed", "retry")
            report.skipped += outcome == "skipped"
    return report, ids


def queue_reminder(reminder_id: int) -> None:
    """Queue one reminder's send now; if the broker is down, leave it to the next run.

    The reminder is already a pending row, so the periodic run sends it once the
    broker is back. Failing the coordinator's page instead would invite a second
    click, and so a second message.
    """
    from kombu.exceptions import OperationalError

    from .tasks import send_reminder_task

    try:
        send_reminder_task.delay(reminder_id)
    except OperationalError as error:
        logger.warning("broker unavailable (%s): reminder %s waits for the next reminder run",
                       error, reminder_id)


def when_phrase(at: dt.datetime, *, now: dt.datetime) -> str:
    """Return when ``at`` comes, seen from ``now`` (both wall clock in one zone), in words.

    "at 08:00" the same day, "tomorrow at 08:00" the next, else "on 3 March at 08:00":
    the day and the clock in the active language's formats (outcomes/formats).
    """
    days = (at.date() - now.date()).days
    clock = formats.time_format(at, "TIME_FORMAT")
    if days == 0:
        return f"at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {formats.date_format(at, 'MONTH_DAY_FORMAT')} at {clock}"


@dataclass(frozen=True)
class Resend:
    """A link sent again: its reminder, and when quiet hours hold it back until (else None).

    ``held_until`` and ``requested_at`` are the study's wall-clock time.
    """

    reminder: Reminder
    requested_at: dt.datetime
    held_until: dt.datetime | None

    def when(self) -> str:
        """Return when the held link goes, in words: "at 08:00", "tomorrow at 08:00"."""
        return when_phrase(self.held_until, now=self.requested_at) if self.held_until else ""


def resend_link(*, visit: Visit, actor, now: dt.datetime | None = None) -> Resend:
    """Send the visit's link again now, at a coordinator's request (audited as a reminder).

    1. Refused (``ValidationError``) unless the patient is active: a withdrawn
       patient gets no more messages, a paused one none until resumed; and unless the
       visit is open (its link opens; the send would be cancelled otherwise).
    2. In the study's quiet hours the reminder waits, due when they end; the
       periodic run sends it then. Otherwise it is queued at once.
    """
    from outcomes.audit.services import record_change

    now = now or timezone.now()
    with transaction.atomic():
        # Locked: a withdrawal in progress either comes first (and this is refused)
        # or after (and cancels the pending reminder this creates). of=self: not the
        # study's row, which every patient's work reads; NO KEY: a submit's responder
        # upsert (FOR KEY SHARE here) goes on while this waits for its visit.
        enrolment = (
            Enrolment.objects.select_for_update(of=("self",), no_key=True)
            .select_related("study", "patient").get(pk=visit.enrolment_id)
        )
        refusal = _resend_refusal(enrolment) or _visit_refusal(
            Visit.objects.select_related("timepoint").get(pk=visit.pk))
        if refusal:
            raise ValidationError(refusal)
        study = enrolment.study
        local = local_now(study, now)
        held_until = quiet_hours_end(local, cadence_of(study))
        contact = Contact.objects.filter(patient_id=enrolment.patient_id).first()
        reminder = Reminder.objects.create(
            visit=visit, kind=Reminder.Kind.MANUAL, requested_by=actor,
            channel=getattr(contact, "preferred_channel", "") or Contact.Channel.EMAIL,
            next_attempt_at=held_until,
        )
        record_change(obj=visit, action="update", actor=actor, reason="link sent again",
                      after={"reminder": reminder.pk})
        if held_until is None:
            transaction.on_commit(lambda: queue_reminder(reminder.pk))
    return Resend(reminder=reminder, requested_at=local, held_until=held_until)


def _visit_refusal(visit: Visit) -> str:
    """Why a link cannot go for ``visit`` (read now): only an open visit's link opens."""
    if visit.status == Visit.Status.OPEN:
        return ""
    name = visit_name(visit.timepoint.label)
    return {
        Visit.Status.COMPLETED: f"The {name} is completed: there is no link to send.",
        Visit.Status.SCHEDULED: f"The {name} is not open yet: its link goes when it opens.",
        Visit.Status.MISSED: f"The {name} is closed (missed): its link no longer opens.",
    }.get(visit.status, f"The {name} is {visit.get_status_display().lower()}: "
                        "there is no link to send.")


def _resend_refusal(enrolment: Enrolment) -> str:
    code = enrolment.patient.code
    if enrolment.status == Enrolment.Status.WITHDRAWN:
        return f"{code} is withdrawn from the study: no more messages are sent."
    if enrolment.status == Enrolment.Status.PAUSED:
        return f"Contact with {code} is paused: resume the patient to send the link again."
    if enrolment.status != Enrolment.Status.ACTIVE:
        return (f"{code} is {enrolment.get_status_display().lower()}: "
                "no more messages are sent.")
    return ""
