"""Enrolment status: a withdrawal closes the patient's visits to come at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Reminder, Visit
from outcomes.followups.reminders import resend_link
from patients.services import set_enrolment_status
from tests.factories import enrol

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def coordinator():
    return User.objects.create_user("coord")


@pytest.fixture
def enrolment(study):
    # Index 100 days ago: baseline missed (closed on day 7), 1 month done (days 23-44),
    # 3 months open (days 76-104), 6 and 12 months still to come.
    enrolment = enrol(study, "S-1", index_date=TODAY - dt.timedelta(days=100), today=TODAY,
                      contact={"email": "s1@example.org"})
    Visit.objects.filter(enrolment=enrolment, timepoint__code="m1").update(
        status=Visit.Status.COMPLETED, completed_at=dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))
    return enrolment


def statuses(enrolment) -> dict[str, str]:
    return dict(enrolment.visits.values_list("timepoint__code", "status"))


def test_withdrawing_closes_the_visits_to_come_and_open_and_cancels_their_reminders(
    enrolment, coordinator
):
    m3 = enrolment.visits.get(timepoint__code="m3")
    assert statuses(enrolment) == {"baseline": "missed", "m1": "completed", "m3": "open",
                                   "m6": "scheduled", "m12": "scheduled"}
    pending = Reminder.objects.create(visit=m3, kind="invitation", channel="email")
    sent = Reminder.objects.create(visit=m3, kind="manual", channel="email", status="sent")

    set_enrolment_status(enrolment=enrolment, status="withdrawn", reason="moved abroad",
                         actor=coordinator)

    assert statuses(enrolment) == {"baseline": "missed", "m1": "completed",
                                   "m3": "not_applicable", "m6": "not_applicable",
                                   "m12": "not_applicable"}
    ids = dict(enrolment.visits.values_list("timepoint__code", "pk"))
    records = AuditRecord.objects.filter(object_type="followups.visit", actor=coordinator)
    reason = "withdrawn: moved abroad"
    assert {r.object_id: (r.changes, r.reason) for r in records} == {
        str(ids["m3"]): ({"status": ["open", "not_applicable"]}, reason),
        str(ids["m6"]): ({"status": ["scheduled", "not_applicable"]}, reason),
        str(ids["m12"]): ({"status": ["scheduled", "not_applicable"]}, reason),
    }
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert (pending.status, sent.status) == ("cancelled", "sent")


def test_pausing_leaves_the_visits_as_they_are(enrolment, coordinator):
    before = statuses(enrolment)
    set_enrolment_status(enrolment=enrolment, status="paused", reason="in hospital",
                         actor=coordinator)
    assert statuses(enrolment) == before


@pytest.mark.parametrize(("status", "reason", "message"), [
    ("withdrawn", "moved abroad",
     "S-1 is withdrawn from the study: no more messages are sent."),
    ("paused", "in hospital",
     "Contact with S-1 is paused: resume the patient to send the link again."),
])
def test_a_link_is_not_sent_again_to_a_patient_who_is_not_active(enrolment, coordinator, status,
                                                                reason, message):
    m3 = enrolment.visits.get(timepoint__code="m3")
    set_enrolment_status(enrolment=enrolment, status=status, reason=reason, actor=coordinator)
    with pytest.raises(ValidationError) as refused:
        resend_link(visit=m3, actor=coordinator)
    assert refused.value.messages == [message]
    assert not Reminder.objects.filter(visit=m3, kind="manual").exists()
