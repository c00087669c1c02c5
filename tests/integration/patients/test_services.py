"""Enrolment status: a withdrawal closes the patient's visits to come at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Reminder, Visit
from outcomes.followups.reminders import resend_link
from patients.services import set_enrolment_status
from tests.factories import enrol
from tests.threads import at_once, join_all

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


def lock_at_once(sql: str, *params):
    """A call that takes a row lock from another connection at once, or fails."""
    from django.db import connection

    def lock():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql + " NOWAIT", params)
    return lock


def submit_can_go_on(enrolment):
    # What a submit takes while it holds its visit's lock: the foreign key check of
    # its responder upsert on the enrolment; and what every patient's work shares.
    return (
        lock_at_once("SELECT 1 FROM patients_enrolment WHERE id = %s FOR KEY SHARE",
                     enrolment.pk),
        lock_at_once("SELECT 1 FROM patients_study WHERE id = %s FOR UPDATE",
                     enrolment.study_id),
        lock_at_once("SELECT 1 FROM followups_timepoint WHERE study_id = %s FOR UPDATE",
                     enrolment.study_id),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["withdraw", "resend", "move"])
def test_a_change_in_progress_lets_a_submit_check_its_enrolment(study, change):
    # A withdrawal holds the enrolment and waits for the visits; a submit holds its visit
    # and checks its foreign key to the enrolment. With FOR UPDATE on the enrolment the
    # two waited for each other (a deadlock, one of them failed); FOR NO KEY UPDATE does not.
    from django.db import connection

    from outcomes.followups.services import change_index_date

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this in its PostgreSQL pass")
    enrolment = enrol(study, "S-2", index_date=TODAY, today=TODAY,
                      contact={"email": "s2@example.org"})
    actor = User.objects.create_user("coord-lock")
    with transaction.atomic():
        if change == "withdraw":
            set_enrolment_status(enrolment=enrolment, status="withdrawn", reason="moved abroad",
                                 actor=actor)
        elif change == "resend":
            resend_link(visit=enrolment.visits.get(timepoint__code="baseline"), actor=actor)
        else:
            change_index_date(enrolment=enrolment, index_date=TODAY + dt.timedelta(days=2),
                              reason="wrong date entered", today=TODAY)
        assert at_once(*submit_can_go_on(enrolment)) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_and_a_submit_at_the_same_moment_both_go_through(study):
    # The submit locks its visit, the withdrawal the enrolment and then waits for that
    # visit; the submit then checks its foreign key to the enrolment. Before, PostgreSQL
    # found a deadlock here and failed the withdrawal.
    import threading
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this in its PostgreSQL pass")
    enrolment = enrol(study, "S-3", index_date=TODAY, today=TODAY)
    visit = enrolment.visits.get(timepoint__code="baseline")
    actor = User.objects.create_user("coord-race")
    errors = []
    visit_locked = threading.Event()

    def submit():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM followups_visit WHERE id = %s FOR UPDATE",
                               [visit.pk])
                visit_locked.set()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:  # until the withdrawal waits for the visit
                    cursor.execute("SELECT pg_stat_clear_snapshot()")  # else frozen here
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                   "wait_event_type = 'Lock' AND datname = current_database()")
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.02)
                cursor.execute("SELECT 1 FROM patients_enrolment WHERE id = %s FOR KEY SHARE",
                               [enrolment.pk])
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def withdraw():
        visit_locked.wait(20)
        try:
            set_enrolment_status(enrolment=enrolment, status="withdrawn", reason="moved abroad",
                                 actor=actor)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, daemon=True),
               threading.Thread(target=withdraw, daemon=True)]
    for thread in threads:
        thread.start()
    join_all(threads)
    assert errors == []
    enrolment.refresh_from_db()
    assert enrolment.status == "withdrawn"
