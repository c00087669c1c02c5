"""Writes for answer alerts: raised when a response is stored completed, acknowledged by
staff, and notified by email (at most once, claimed in the database first).

Each raise and acknowledgement is audited in the same transaction; the email is queued
with ``transaction.on_commit`` so that no worker reads an alert that was rolled back.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from outcomes.audit.models import AuditRecord
from outcomes.audit.services import new_record, record_change, snapshot
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.models import exact_of
from outcomes.instruments.scoring.alerts import RaisedAlert, alerts_raised

from .models import AnswerAlert

logger = logging.getLogger(__name__)

AUDITED = ("response_id", "key", "value", "answer", "message", "raised_at")
ACKNOWLEDGED = ("acknowledged_at", "acknowledged_by_id", "note")
COORDINATOR_PERMISSION = ("patients", "manage_enrolment")
"""Who is told: the site's staff who enrol and follow its patients (the coordinators)."""
MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = dt.timedelta(minutes=30)


class AlreadyAcknowledged(Exception):
    """Someone acknowledged the alert first (another tab, another coordinator)."""


def _queue_notification(alert_ids: list[int]) -> None:
    from .tasks import notify_alert_task

    for alert_id in alert_ids:
        notify_alert_task.delay(alert_id)


def new_alerts(response, raised: Iterable[RaisedAlert], *, at: dt.datetime) -> list[AnswerAlert]:
    """Return unsaved alert rows for ``response`` (whose visit is loaded), one per alert."""
    return [
        AnswerAlert(
            response=response, visit_id=response.visit_id,
            enrolment_id=response.visit.enrolment_id, instrument_id=response.instrument_id,
            key=found.alert.key, value=exact_of(found.value), answer=found.shown[:200],
            message=found.alert.staff_message[:300], raised_at=at,
        )
        for found in raised
    ]


def raise_alerts(*, response, definition: InstrumentDefinition, values: Mapping[str, object],
                 at: dt.datetime | None = None, actor=None, actor_label: str = "",
                 unless: Mapping[str, str] | None = None) -> list[AnswerAlert]:
    """Raise the alerts ``response``'s answers and scores ``values`` meet; audit each.

    Idempotent: an alert this response raised already is not raised again (the unique
    constraint on response and key backs this up). ``unless`` maps alert keys to the
    exact value a response this one corrects raised them with: raised again only with
    another value. Each new alert's email is queued on commit.
    """
    if not definition.alerts:
        return []
    raised = alerts_raised(definition, response.answers, values)
    if unless:
        raised = [found for found in raised
                  if unless.get(found.alert.key) != exact_of(found.value)]
    if not raised:
        return []
    have = set(AnswerAlert.objects.filter(response=response).values_list("key", flat=True))
    wanted = [found for found in raised if found.alert.key not in have]
    created = []
    for alert in new_alerts(response, wanted, at=at or timezone.now()):
        alert.save()
        record_change(obj=alert, action="create", actor=actor, actor_label=actor_label,
                      after=snapshot(alert, AUDITED), reason="answer alert raised")
        created.append(alert)
    if created:
        ids = [alert.pk for alert in created]
        transaction.on_commit(functools.partial(_queue_notification, ids))
    return created


def alert_records(alerts: list[AnswerAlert], *, actor_label: str) -> list[AuditRecord]:
    """Return the audit records of alerts written in bulk (by an import)."""
    return [new_record(obj=alert, action="create", actor_label=actor_label,
                       after=snapshot(alert, AUDITED), reason="answer alert raised")
            for alert in alerts]


def queue_notifications(alert_ids: list[int]) -> None:
    """Queue the emails of alerts written in bulk, once the transaction commits."""
    if alert_ids:
        transaction.on_commit(functools.partial(_queue_notification, list(alert_ids)))


def alerts_after_correction(*, original, replacement, definition: InstrumentDefinition,
                            values: Mapping[str, object], actor) -> list[AnswerAlert]:
    """Carry a response's alerts through its correction.

    1. The replacement raises what its answers meet, unless the original raised the
       same alert with the same value (nothing new to see).
    2. An alert of the original that the corrected answers no longer meet stays as it
       is (it was raised, and someone may have acted on it), with a note saying so.
    """
    old = {alert.key: alert for alert in AnswerAlert.objects.filter(response=original)}
    created = raise_alerts(response=replacement, definition=definition, values=values,
                           actor=actor, unless={key: a.value for key, a in old.items()})
    still = {found.alert.key for found in alerts_raised(definition, replacement.answers, values)}
    when = timezone.localtime().date().isoformat()
    for key, alert in old.items():
        if key in still or alert.correction_note:
            continue
        before = {"correction_note": alert.correction_note}
        alert.correction_note = (f"Corrected on {when}: the corrected answers no longer "
                                 "raise this alert.")
        alert.save(update_fields=["correction_note"])
        record_change(obj=alert, action="update", actor=actor, before=before,
                      after={"correction_note": alert.correction_note},
                      reason="response corrected")
    return created


@transaction.atomic
def acknowledge_alert(*, alert: AnswerAlert, actor, note: str = "") -> AnswerAlert:
    """Record that ``actor`` has seen ``alert`` and acted, with an optional note; audited.

    Raises ``AlreadyAcknowledged`` when someone did first (their note stands).
    """
    now = timezone.now()
    note = (note or "").strip()
    claimed = AnswerAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor, note=note)
    if claimed != 1:
        raise AlreadyAcknowledged(f"alert {alert.pk} was acknowledged already")
    before = snapshot(alert, ACKNOWLEDGED)
    alert.acknowledged_at, alert.acknowledged_by, alert.note = now, actor, note
    record_change(obj=alert, action="update", actor=actor, before=before,
                  after=snapshot(alert, ACKNOWLEDGED), reason="answer alert acknowledged")
    return alert


# -- the email ---------------------------------------------------------------------------


def recipients_of(alert: AnswerAlert) -> list[str]:
    """Return who is told of ``alert``: the coordinators of the patient's site.

    Active staff of the site holding the coordinator's permission (through their role
    or their own), with an email address; where none has one, the study's contact
    address (the study team's, which the patient's pages show).
    """
    app_label, codename = COORDINATOR_PERMISSION
    holds = (Q(groups__permissions__codename=codename,
               groups__permissions__content_type__app_label=app_label)
             | Q(user_permissions__codename=codename,
                 user_permissions__content_type__app_label=app_label))
    users = (get_user_model().objects.filter(holds, sites=alert.enrolment.site_id,
                                             is_active=True)
             .exclude(email="").values_list("email", flat=True).distinct())
    emails = sorted(set(users))
    if not emails and alert.enrolment.study.contact_email:
        emails = [alert.enrolment.study.contact_email]
    return emails


def alert_email(alert: AnswerAlert) -> tuple[str, str]:
    """Return the subject and body: the study code and a link, nothing about the patient.

    An email can be forwarded, misaddressed or read over a shoulder: it names no
    patient, no questionnaire and no answer. The workspace, behind a login, does.
    """
    study = alert.enrolment.study
    link = settings.SITE_URL + reverse("patients:dashboard", kwargs={"code": study.code})
    subject = f"{study.code}: an answer needing attention"
    body = (f"A patient in study {study.code} has an answer needing attention.\n\n"
            f"Please sign in and open the study's workspace to see it:\n{link}\n\n"
            "This email says nothing more on purpose; the workspace shows who and what, "
            "and where to acknowledge it.\n")
    return subject, body


def _finish(alert_id: int, claimed_at: dt.datetime, **fields) -> bool:
    """Record the outcome, only while the claim is still ours (see ``release_stale``)."""
    return AnswerAlert.objects.filter(
        pk=alert_id, notification=AnswerAlert.Notification.SENDING,
        notify_claimed_at=claimed_at,
    ).update(**fields) == 1


def notify_alert(alert_id: int, *, now: dt.datetime | None = None) -> str:
    """Claim and send one alert's email; return what happened.

    ``"claimed-elsewhere"`` (sent, being sent, or given up: nothing done), ``"sent"``,
    ``"no-recipient"``, ``"retry"`` (put back for the next periodic run) or
    ``"failed"`` (gave up after ``MAX_ATTEMPTS``). The claim is a conditional UPDATE:
    of two workers given the same alert, one sends.
    """
    now = now or timezone.now()
    claimed = AnswerAlert.objects.filter(
        pk=alert_id, notification=AnswerAlert.Notification.PENDING,
    ).update(notification=AnswerAlert.Notification.SENDING, notify_claimed_at=now,
             notify_attempts=F("notify_attempts") + 1)
    if claimed != 1:
        return "claimed-elsewhere"
    alert = AnswerAlert.objects.select_related("enrolment__study").get(pk=alert_id)
    to = recipients_of(alert)
    if not to:
        _finish(alert_id, now, notification=AnswerAlert.Notification.NO_RECIPIENT,
                notify_error="no coordinator of the site has an email address, and the "
                             "study has no contact email")
        logger.warning("answer alert %s: nobody to email", alert_id)
        return "no-recipient"
    subject, body = alert_email(alert)
    try:
        EmailMessage(subject=subject, body=body, to=to).send(fail_silently=False)
    except Exception as error:  # smtplib, socket and backend errors alike
        gave_up = alert.notify_attempts >= MAX_ATTEMPTS
        _finish(alert_id, now, notify_error=f"{type(error).__name__}: {error}"[:2000],
                notification=(AnswerAlert.Notification.FAILED if gave_up
                              else AnswerAlert.Notification.PENDING))
        logger.warning("answer alert %s email failed (attempt %s): %s", alert_id,
                       alert.notify_attempts, error)
        return "failed" if gave_up else "retry"
    _finish(alert_id, now, notification=AnswerAlert.Notification.SENT, notified_at=now,
            notify_error="")
    return "sent"


def release_stale(*, now: dt.datetime | None = None) -> int:
    """Put back claims older than ``CLAIM_TIMEOUT`` (a worker that died mid-send)."""
    now = now or timezone.now()
    return AnswerAlert.objects.filter(
        notification=AnswerAlert.Notification.SENDING,
        notify_claimed_at__lt=now - CLAIM_TIMEOUT,
    ).update(notification=AnswerAlert.Notification.PENDING, notify_claimed_at=None)


def pending_alert_ids():
    return AnswerAlert.objects.filter(
        notification=AnswerAlert.Notification.PENDING).values_list("pk", flat=True)
