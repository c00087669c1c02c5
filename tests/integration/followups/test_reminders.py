"""Reminders walked through 13 months with ``send_reminders --as-of`` (SPEC section 5)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from outcomes.followups.models import Reminder, ReminderAttempt, Visit
from outcomes.followups.reminders import claim, run_reminders, send_reminder
from outcomes.instruments.services import save_answers, submit_visit
from tests.factories import enrol

INDEX = dt.date(2026, 1, 15)
CONTACT = {"email": "p@example.org", "preferred_channel": "email", "full_name": "Pat"}


def run(day: dt.date, *extra: str) -> dict:
    out = StringIO()
    call_command("send_reminders", "--as-of", day.isoformat(), *extra, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def walk(start: dt.date, days: int):
    for n in range(days):
        yield start + dt.timedelta(days=n)


def kinds(visit: Visit) -> list[str]:
    return list(visit.reminders.filter(status="sent").order_by("sent_at")
                .values_list("kind", flat=True))


def answer_visit(visit: Visit) -> None:
    from tests.integration.survey.conftest import PAGES

    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    submit_visit(visit=visit)


@pytest.fixture
def enrolment(study):
    return enrol(study, "R-1", index_date=INDEX, today=INDEX - dt.timedelta(days=7),
                 contact=CONTACT)


def test_a_silent_patient_gets_every_message_once_and_every_visit_is_missed(enrolment):
    for day in walk(INDEX - dt.timedelta(days=7), 13 * 31 + 7):  # thirteen months
        run(day)
    visits = {v.timepoint.code: v for v in enrolment.visits.select_related("timepoint")}
    for code in ("m1", "m3", "m6", "m12"):
        assert kinds(visits[code]) == ["invitation", "reminder_1", "reminder_2", "last_call"]
        assert visits[code].status == Visit.Status.MISSED
    # Baseline opened at enrolment (7 days before the index date), closes day +7.
    assert kinds(visits["baseline"])[0] == "invitation"
    assert Reminder.objects.filter(status="sent").count() == len(mail.outbox)
    # Each (visit, kind) at most once.
    assert Reminder.objects.count() == len(set(Reminder.objects.values_list("visit", "kind")))


def test_the_m3_messages_go_on_the_spec_days(enrolment):
    m3 = enrolment.visits.get(timepoint__code="m3")  # window day 76 to day 104
    for day in walk(INDEX + dt.timedelta(days=70), 40):
        run(day)
    sent = {r.kind: r.sent_at.date() for r in m3.reminders.all()}
    assert sent == {
        "invitation": INDEX + dt.timedelta(days=76),
        "reminder_1": INDEX + dt.timedelta(days=79),
        "reminder_2": INDEX + dt.timedelta(days=83),
        "last_call": INDEX + dt.timedelta(days=102),
    }


def test_a_patient_who_answers_gets_no_more_reminders_for_that_visit(enrolment):
    m1 = enrolment.visits.get(timepoint__code="m1")  # window day 23 to day 44
    for day in walk(INDEX + dt.timedelta(days=20), 5):
        run(day)
    assert kinds(m1) == ["invitation"]
    answer_visit(m1)
    for day in walk(INDEX + dt.timedelta(days=25), 30):
        run(day)
    m1.refresh_from_db()
    assert kinds(m1) == ["invitation"]
    assert m1.status == Visit.Status.COMPLETED


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)  # the demo study keeps UTC


@pytest.mark.parametrize("claimed", [False, True], ids=["planned", "claimed-by-a-worker-that-died"])
def test_a_visit_completed_with_its_window_open_gets_no_reminder_already_planned(enrolment,
                                                                                 claimed):
    # The 1-month window: 15 Jan + 23..44 days = 7 Feb..28 Feb 2026. The invitation is
    # planned on 7 Feb (and maybe claimed by a worker that then died); the patient answers
    # on 8 Feb, before it goes. At the moment of sending the window is still open and the
    # patient active: only the completion says the message is no longer needed.
    m1 = enrolment.visits.get(timepoint__code="m1")
    opened = at_noon(INDEX + dt.timedelta(days=23))
    run_reminders(now=opened, send=False)
    reminder = Reminder.objects.get(visit=m1)
    if claimed:
        assert claim(reminder.pk, now=opened)
    answered = opened + dt.timedelta(days=1)
    with time_machine.travel(answered, tick=False):
        answer_visit(m1)
    assert m1.window_open_date < answered.date() < m1.window_close_date

    report, _ids = run_reminders(now=answered + dt.timedelta(hours=1))

    assert (report.sent, report.skipped) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.CANCELLED
    attempt = ReminderAttempt.objects.get(reminder=reminder)
    assert (attempt.outcome, attempt.detail) == ("skipped", "the visit is completed")
    assert mail.outbox == []


def test_a_paused_patient_gets_nothing_until_resumed(enrolment):
    enrolment.status = "paused"
    enrolment.status_reason = "in hospital"
    enrolment.save()
    for day in walk(INDEX + dt.timedelta(days=20), 15):
        run(day)
    assert mail.outbox == []
    enrolment.status = "active"
    enrolment.save()
    run(INDEX + dt.timedelta(days=36))
    assert [m.subject for m in mail.outbox] == ["Reminder: your 1 month questionnaire"]


def test_after_an_outage_the_backlog_goes_once_not_once_per_missed_run(enrolment):
    m3 = enrolment.visits.get(timepoint__code="m3")
    run(INDEX + dt.timedelta(days=85))  # first run after a ten-day outage
    run(INDEX + dt.timedelta(days=85))
    assert kinds(m3) == ["reminder_2"]
    assert len(mail.outbox) == 1


def test_dry_run_lists_and_changes_nothing(enrolment):
    out = StringIO()
    call_command("send_reminders", "--as-of", (INDEX + dt.timedelta(days=23)).isoformat(),
                 "--dry-run", stdout=out)
    assert "would send invitation R-1 m1" in out.getvalue()
    assert not Reminder.objects.exists()
    assert mail.outbox == []


def test_the_message_holds_the_link_and_the_clinic_never_clinical_data(enrolment):
    run(INDEX + dt.timedelta(days=23))
    message = mail.outbox[0]
    assert message.to == ["p@example.org"]
    assert "http://testserver/s/" in message.body
    assert "Outcomes Research Clinic" in message.body
    assert "until 28 February 2026 (21 days left)" in message.body
    for clinical in ("ODI", "pain", "BMC", "R-1"):
        assert clinical not in message.body


def test_a_mail_server_failure_is_recorded_and_retried_never_reported_as_sent(enrolment,
                                                                          settings):
    settings.EMAIL_BACKEND = "tests.integration.followups.failing_backend.FailingBackend"
    day = INDEX + dt.timedelta(days=23)
    run(day)
    reminder = Reminder.objects.get()
    assert reminder.status == "pending" and reminder.sent_at is None
    assert "SMTPServerDisconnected" in reminder.last_error
    assert reminder.tries.get().outcome == "error"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(day + dt.timedelta(days=1))
    reminder.refresh_from_db()
    assert reminder.status == "sent"
    assert list(reminder.tries.values_list("outcome", flat=True)) == ["error", "sent"]


def test_a_failing_address_gives_up_visibly_after_the_last_attempt(enrolment, settings):
    settings.EMAIL_BACKEND = "tests.integration.followups.failing_backend.FailingBackend"
    settings.REMINDER_MAX_ATTEMPTS = 3
    for day in walk(INDEX + dt.timedelta(days=23), 3):
        run(day)
    reminder = Reminder.objects.get(kind="invitation")
    assert reminder.status == "failed"
    assert reminder.attempts == 3


def test_a_claimed_reminder_cannot_be_claimed_again(enrolment):
    run(INDEX + dt.timedelta(days=23), "--dry-run")
    _, pending = run_reminders(now=dt.datetime.combine(INDEX + dt.timedelta(days=23),
                                                       dt.time(12), tzinfo=dt.UTC), send=False)
    ids = list(pending)
    now = dt.datetime.now(dt.UTC)
    assert claim(ids[0], now=now) is True
    assert claim(ids[0], now=now) is False
    assert send_reminder(ids[0]) == "claimed-elsewhere"


def test_quiet_hours_hold_messages_until_morning(enrolment):
    evening = dt.datetime.combine(INDEX + dt.timedelta(days=23), dt.time(21), tzinfo=dt.UTC)
    report, _ids = run_reminders(now=evening)
    assert report.quiet_studies == ["BMC-LBP"] and mail.outbox == []
    morning = evening + dt.timedelta(hours=12)
    run_reminders(now=morning)
    assert len(mail.outbox) == 1


def test_an_index_date_change_moves_the_unsent_reminders(enrolment):
    from outcomes.followups.services import change_index_date

    later = INDEX + dt.timedelta(days=14)
    change_index_date(enrolment=enrolment, index_date=later, reason="procedure postponed",
                      today=INDEX)
    run(INDEX + dt.timedelta(days=23))
    assert mail.outbox == []
    run(later + dt.timedelta(days=23))
    assert len(mail.outbox) == 1


def test_a_link_resent_in_quiet_hours_waits_for_their_end_and_then_goes_once(
    enrolment, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import User

    from outcomes.followups.reminders import resend_link

    baseline = enrolment.visits.get(timepoint__code="baseline")  # open from 8 Jan
    late = dt.datetime(2026, 1, 16, 22, 30, tzinfo=dt.UTC)  # the study keeps UTC
    with django_capture_on_commit_callbacks(execute=True) as queued:
        resend = resend_link(visit=baseline, actor=User.objects.create_user("c"), now=late)
    assert queued == []  # nothing for a worker to do before the morning
    assert resend.held_until == dt.datetime(2026, 1, 17, 8, tzinfo=dt.UTC)
    assert resend.when() == "tomorrow at 08:00"
    manual = Reminder.objects.filter(visit=baseline, kind="manual")
    for now in (late + dt.timedelta(minutes=30), dt.datetime(2026, 1, 17, 7, 59, tzinfo=dt.UTC)):
        run_reminders(now=now)
        assert manual.get().status == "pending"
    run_reminders(now=dt.datetime(2026, 1, 17, 8, tzinfo=dt.UTC))
    run_reminders(now=dt.datetime(2026, 1, 17, 8, 5, tzinfo=dt.UTC))
    assert manual.get().status == "sent"
    assert manual.get().tries.count() == 1


# A worker whose send stalls past the claim timeout looks like a worker that died: the
# next run offers its reminder again (release_stale_claims) and another worker may take
# it over. Whatever the stalled send then gives must not undo what the other one did,
# nor let the reminder go twice.


@pytest.fixture
def stalling(settings, monkeypatch):
    from .stalling_backend import StallingBackend

    settings.EMAIL_BACKEND = "tests.integration.followups.stalling_backend.StallingBackend"
    monkeypatch.setattr(StallingBackend, "stalls", {})

    def stall(during, *, deliver: bool, thread: str = "MainThread") -> None:
        StallingBackend.stalls[thread] = (during, deliver)

    return stall


def stale(claimed_at: dt.datetime, settings) -> dt.datetime:
    """Return the first moment the periodic run takes a claim made at ``claimed_at`` as dead."""
    return claimed_at + dt.timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES, seconds=1)


def planned_invitation(day: dt.date) -> Reminder:
    run_reminders(now=at_noon(day), send=False)
    return Reminder.objects.get()  # on day 23 only the 1-month visit is open


def test_a_stalled_send_that_fails_late_leaves_the_reminder_another_worker_sent(
    enrolment, stalling, settings,
):
    opened = at_noon(INDEX + dt.timedelta(days=23))
    reminder = planned_invitation(opened.date())
    taken_over = stale(opened, settings)
    sent_meanwhile = []

    def another_worker_takes_over():
        sent_meanwhile.append(run_reminders(now=taken_over)[0].sent)

    stalling(another_worker_takes_over, deliver=False)

    assert send_reminder(reminder.pk, now=opened) == "retry"

    assert sent_meanwhile == [1]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent_at) == (Reminder.Status.SENT, taken_over)
    run_reminders(now=opened + dt.timedelta(days=1))
    assert len(mail.outbox) == 1


def test_a_stalled_send_that_succeeds_after_its_claim_was_released_is_not_sent_again(
    enrolment, stalling, settings,
):
    opened = at_noon(INDEX + dt.timedelta(days=23))
    reminder = planned_invitation(opened.date())
    offered_again = stale(opened, settings)
    queued_again = []

    def the_periodic_task_offers_it_again():  # it queues the reminder; the task runs later
        queued_again.extend(run_reminders(now=offered_again, send=False)[1])

    stalling(the_periodic_task_offers_it_again, deliver=True)

    assert send_reminder(reminder.pk, now=opened) == "sent"

    assert queued_again == [reminder.pk]
    assert send_reminder(reminder.pk, now=offered_again) == "claimed-elsewhere"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent_at) == (Reminder.Status.SENT, opened)
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_stalled_send_that_fails_late_leaves_alone_the_send_another_worker_has_in_progress(
    study, stalling, settings,
):
    # Two workers, each in its own thread and connection, in this order: the first
    # claims and stalls; the claim goes stale and is released; the second claims and is
    # mid-send when the first one's server drops. The first's outcome belongs to a
    # claim that is no longer the reminder's: the second's send must be the one recorded.
    import threading

    from django.db import connection

    from outcomes.followups.reminders import release_stale_claims
    from tests.threads import join_all

    enrol(study, "R-2", index_date=INDEX, today=INDEX - dt.timedelta(days=7), contact=CONTACT)
    opened = at_noon(INDEX + dt.timedelta(days=23))
    reminder = planned_invitation(opened.date())
    taken_over = stale(opened, settings)
    in_send = {"stalled": threading.Event(), "took-over": threading.Event()}
    go_on = {"stalled": threading.Event(), "took-over": threading.Event()}
    for name, deliver in (("stalled", False), ("took-over", True)):
        stalling(lambda name=name: (in_send[name].set(), go_on[name].wait(10)),
                 deliver=deliver, thread=name)
    outcomes = {}

    def worker(name: str, now: dt.datetime) -> threading.Thread:
        def run():
            try:
                outcomes[name] = send_reminder(reminder.pk, now=now)
            finally:
                connection.close()
        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    stalled = worker("stalled", opened)
    assert in_send["stalled"].wait(10)
    assert release_stale_claims(now=taken_over) == 1
    took_over = worker("took-over", taken_over)
    assert in_send["took-over"].wait(10)
    go_on["stalled"].set()
    join_all([stalled])
    go_on["took-over"].set()
    join_all([took_over])

    assert outcomes == {"stalled": "retry", "took-over": "sent"}
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent_at) == (Reminder.Status.SENT, taken_over)
    run_reminders(now=opened + dt.timedelta(days=1))
    assert len(mail.outbox) == 1
