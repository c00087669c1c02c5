"""Writes to studies and patients: enrolment, with its visits and audit record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from outcomes.audit.services import record_change, snapshot
from outcomes.followups.services import schedule_visits

from .models import Arm, Contact, Enrolment, Patient, Site, Study


@transaction.atomic
def enrol_patient(
    *,
    study: Study,
    code: str,
    arm: Arm,
    site: Site,
    enrolled_date: dt.date,
    index_date: dt.date,
    actor=None,
    actor_label: str = "",
    contact: dict[str, Any] | None = None,
    today: dt.date | None = None,
    **demographics: Any,
) -> Enrolment:
    """Create a patient, enrol them in ``arm`` at ``site`` and schedule their visits.

    Raises ``ValidationError`` if the arm is of another study, and
    ``IntegrityError`` if the code is already used in the study.
    """
    patient = Patient(study=study, code=code, **demographics)
    patient.full_clean()
    patient.save()
    enrolment = Enrolment(
        study=study, patient=patient, arm=arm, site=site,
        enrolled_date=enrolled_date, index_date=index_date,
    )
    enrolment.full_clean()
    enrolment.save()
    if contact:
        details = Contact(patient=patient, **contact)
        details.full_clean()
        details.save()
    schedule_visits(enrolment=enrolment, today=today)
    record_change(
        obj=patient, action="create", actor=actor, actor_label=actor_label,
        after=snapshot(patient),
    )
    record_change(
        obj=enrolment, action="create", actor=actor, actor_label=actor_label,
        after=snapshot(enrolment),
    )
    return enrolment


@transaction.atomic
def set_enrolment_status(*, enrolment: Enrolment, status: str, reason: str, actor) -> Enrolment:
    """Pause, resume, withdraw or complete an enrolment, with a reason, audited.

    A paused or withdrawn patient gets no reminder: pending ones are cancelled
    when they come up for sending, because the status is re-checked then.
    Withdrawing also closes the patient's visits still to come or open at once
    (``_close_open_visits``): a withdrawn patient is never re-activated.
    """
    if status not in Enrolment.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    if not reason.strip() and status != Enrolment.Status.ACTIVE:
        raise ValidationError({"reason": "Say why (kept in the audit history)."})
    # NO KEY: a submit holds its visit's lock while its responder upsert checks the
    # foreign key to this row (FOR KEY SHARE); a plain FOR UPDATE would make it wait
    # while the withdrawal below waits for the visit: a deadlock.
    locked = Enrolment.objects.select_for_update(no_key=True).get(pk=enrolment.pk)
    before = snapshot(locked, ["status", "status_reason"])
    if locked.status == Enrolment.Status.WITHDRAWN and status != Enrolment.Status.WITHDRAWN:
        raise ValidationError({"status": "A withdrawn patient cannot be re-activated here."})
    locked.status = status
    locked.status_reason = reason.strip()
    locked.save(update_fields=["status", "status_reason"])
    record_change(obj=locked, action="status", actor=actor, before=before,
                  after=snapshot(locked, ["status", "status_reason"]), reason=reason.strip())
    if status == Enrolment.Status.WITHDRAWN:
        _close_open_visits(enrolment=locked, reason=reason.strip(), actor=actor)
    return locked


def _close_open_visits(*, enrolment: Enrolment, reason: str, actor) -> list:
    """Make the enrolment's scheduled and open visits not applicable, and stop its messages.

    Completed and missed visits stay as they are. Each closed visit is audited
    with the withdrawal's reason; every reminder still pending for the patient
    is cancelled. Call inside the withdrawal's transaction.
    """
    from outcomes.followups.models import Reminder, Visit

    # of=self: the time point rows are shared by every patient of the study.
    visits = list(
        Visit.objects.select_for_update(of=("self",)).filter(
            enrolment=enrolment, status__in=[Visit.Status.SCHEDULED, Visit.Status.OPEN],
        ).select_related("timepoint", "enrolment__patient")  # for the audit's description
    )
    for visit in visits:
        before = snapshot(visit, ["status"])
        visit.status = Visit.Status.NOT_APPLICABLE
        visit.save(update_fields=["status"])
        record_change(obj=visit, action="update", actor=actor, before=before,
                      after=snapshot(visit, ["status"]), reason=f"withdrawn: {reason}")
    Reminder.objects.filter(
        visit__enrolment=enrolment, status=Reminder.Status.PENDING,
    ).update(status=Reminder.Status.CANCELLED, last_error="the patient is withdrawn")
    return visits
CONTACT_FIELDS = ("full_name", "email", "mobile", "preferred_channel", "language")


@transaction.atomic
def update_contact(*, patient: Patient, actor, **fields: Any) -> Contact:
    """Set a patient's contact details, creating them if the patient has none; audited.

    Only the fields given change (any of ``CONTACT_FIELDS``). Raises ``ValidationError``
    naming the field when the details do not hold together (an email address is needed
    for email reminders, a mobile number for text messages) and changes nothing.
    Reminders still waiting to be sent go by the new preferred channel.
    """
    from outcomes.followups.models import Reminder

    unknown = sorted(set(fields) - set(CONTACT_FIELDS))
    if unknown:
        raise TypeError(f"not contact details: {', '.join(unknown)}")
    contact = Contact.objects.select_for_update().filter(patient=patient).first()
    created = contact is None
    if created:
        contact = Contact(patient=patient)
    before = {} if created else snapshot(contact, CONTACT_FIELDS)
    for name, value in fields.items():
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.full_clean()
    after = snapshot(contact, CONTACT_FIELDS)
    if after == before:
        return contact
    contact.save()
    record_change(obj=contact, action="create" if created else "update", actor=actor,
                  before=before, after=after)
    Reminder.objects.filter(
        visit__enrolment__patient=patient, status=Reminder.Status.PENDING,
    ).exclude(channel=contact.preferred_channel).update(channel=contact.preferred_channel)
    return contact
