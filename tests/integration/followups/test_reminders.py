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
    assert m1.reminders.count() == 1  # nothing even planned after the completion
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
    assert run(INDEX + dt.timedelta(days=85))["planned"] == 1  # after a ten-day outage
    assert run(INDEX + dt.timedelta(days=85))["planned"] == 0
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


def test_a_stalled_send_that_fails_late_leaves_the_retry_time_another_workers_failure_set(
    enrolment, stalling, settings,
):
    opened = at_noon(INDEX + dt.timedelta(days=23))
    reminder = planned_invitation(opened.date())
    taken_over = stale(opened, settings)

    def another_worker_takes_over_and_fails_too():
        stalling(lambda: None, deliver=False)
        run_reminders(now=taken_over)

    stalling(another_worker_takes_over_and_fails_too, deliver=False)

    assert send_reminder(reminder.pk, now=opened) == "retry"

    # The other worker's failure was the reminder's second attempt: retried 10 minutes
    # later (5 minutes, doubled), not 5 minutes after the stalled worker's claim.
    reminder.refresh_from_db()
    assert (reminder.status, reminder.next_attempt_at) == (
        "pending", taken_over + dt.timedelta(minutes=10))
    assert run_reminders(now=taken_over + dt.timedelta(minutes=1))[0].sent == 0
    assert run_reminders(now=taken_over + dt.timedelta(minutes=10))[0].sent == 1


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
    # The second send is still going: a periodic run now must find nothing to send.
    assert run_reminders(now=taken_over + dt.timedelta(minutes=1))[0].sent == 0
    go_on["took-over"].set()
    join_all([took_over])

    assert outcomes == {"stalled": "retry", "took-over": "sent"}
    reminder.refresh_from_db()
    assert (reminder.status, reminder.sent_at) == (Reminder.Status.SENT, taken_over)
    run_reminders(now=opened + dt.timedelta(days=1))
    assert len(mail.outbox) == 1


# The boundaries of SPEC section 5 and of the retry settings (README: REMINDER_MAX_ATTEMPTS
# 4, REMINDER_CLAIM_TIMEOUT_MINUTES 15), each worked out by hand. The 1-month window of
# an index date of 15 Jan 2026 runs from day 23 to day 44: 7 Feb to 28 Feb 2026.
M1_OPENS, M1_CLOSES = dt.date(2026, 2, 7), dt.date(2026, 2, 28)


def test_a_visit_opens_on_its_first_day_and_is_missed_the_day_after_its_last(enrolment):
    m1 = enrolment.visits.get(timepoint__code="m1")
    states = {}
    for day in (M1_OPENS - dt.timedelta(days=1), M1_OPENS, M1_CLOSES,
                M1_CLOSES + dt.timedelta(days=1)):
        run(day)
        m1.refresh_from_db()
        states[day.isoformat()] = m1.status
    assert states == {"2026-02-06": "scheduled", "2026-02-07": "open", "2026-02-28": "open",
                      "2026-03-01": "missed"}


def test_after_an_outage_until_the_last_day_of_a_window_it_opens_and_its_last_call_goes(
    enrolment,
):
    # Nothing ran from 8 Jan to 28 Feb: the one run opens the window on its last day and
    # sends the latest message due, the last call (due 26 Feb, 2 days before the close).
    m1 = enrolment.visits.get(timepoint__code="m1")
    run(M1_CLOSES)
    m1.refresh_from_db()
    assert m1.status == Visit.Status.OPEN
    assert kinds(m1) == ["last_call"]


def test_a_window_that_opened_and_closed_while_nothing_ran_is_missed_with_nothing_sent(
    enrolment,
):
    m1 = enrolment.visits.get(timepoint__code="m1")
    run(M1_CLOSES + dt.timedelta(days=1))
    m1.refresh_from_db()
    assert m1.status == Visit.Status.MISSED
    assert not m1.reminders.exists()


@pytest.mark.parametrize(("utc", "sent"), [
    ((6, 59), False), ((7, 0), True), ((18, 59), True), ((19, 0), False),
])
def test_quiet_hours_run_from_eight_in_the_evening_to_eight_in_the_morning_study_time(
    enrolment, study, utc, sent,
):
    # A study on Madrid time, UTC+1 in February: 08:00 there is 07:00 UTC, 20:00 is 19:00.
    study.time_zone = "Europe/Madrid"
    study.save(update_fields=["time_zone"])
    report, _ids = run_reminders(now=dt.datetime.combine(M1_OPENS, dt.time(*utc), tzinfo=dt.UTC))
    assert (report.quiet_studies, len(mail.outbox)) == (([], 1) if sent else (["BMC-LBP"], 0))


def test_a_reminder_whose_send_comes_up_in_quiet_hours_waits_and_no_attempt_is_counted(
    enrolment,
):
    # Planned at 19:59 (the study keeps UTC); its task runs at 20:00, in quiet hours.
    run_reminders(now=dt.datetime.combine(M1_OPENS, dt.time(19, 59), tzinfo=dt.UTC), send=False)
    reminder = Reminder.objects.get()
    assert send_reminder(reminder.pk, now=dt.datetime.combine(M1_OPENS, dt.time(20),
                                                              tzinfo=dt.UTC)) == "quiet"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.claimed_at) == ("pending", 0, None)
    assert mail.outbox == [] and not reminder.tries.exists()
    next_morning = dt.datetime.combine(M1_OPENS + dt.timedelta(days=1), dt.time(8), tzinfo=dt.UTC)
    run_reminders(now=next_morning)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.sent_at) == ("sent", 1, next_morning)


@pytest.mark.parametrize(("age", "offered_again"), [
    (dt.timedelta(minutes=14, seconds=59), False),
    (dt.timedelta(minutes=15), False),
    (dt.timedelta(minutes=15, seconds=1), True),
])
def test_a_claim_is_offered_again_only_once_older_than_fifteen_minutes(enrolment, age,
                                                                       offered_again):
    opened = at_noon(M1_OPENS)
    reminder = planned_invitation(M1_OPENS)
    assert claim(reminder.pk, now=opened)  # and its worker dies
    report, _ids = run_reminders(now=opened + age)
    reminder.refresh_from_db()
    assert (report.sent, reminder.status) == ((1, "sent") if offered_again else (0, "sending"))
    assert len(mail.outbox) == report.sent


def test_a_failed_send_is_retried_after_5_10_and_20_minutes_and_given_up_after_the_fourth(
    enrolment, settings,
):
    # Backoff: 5 minutes, doubling after each failure (README); 4 attempts in all.
    settings.EMAIL_BACKEND = "tests.integration.followups.failing_backend.FailingBackend"
    first = at_noon(M1_OPENS)
    run_reminders(now=first)
    reminder = Reminder.objects.get()
    for attempts, due in ((1, first + dt.timedelta(minutes=5)),
                          (2, first + dt.timedelta(minutes=5 + 10)),
                          (3, first + dt.timedelta(minutes=5 + 10 + 20))):
        run_reminders(now=due - dt.timedelta(seconds=1))  # not yet
        reminder.refresh_from_db()
        assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == (
            "pending", attempts, due)
        run_reminders(now=due)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == ("failed", 4, None)
    assert list(reminder.tries.values_list("outcome", flat=True)) == ["error"] * 4


def test_a_send_that_cannot_succeed_gives_up_at_the_first_attempt(study, settings):
    # Text messages with no provider configured: trying again cannot help.
    settings.SMS_BACKEND = ""
    enrol(study, "R-3", index_date=INDEX, today=INDEX - dt.timedelta(days=7),
          contact={"mobile": "+34600000000", "preferred_channel": "sms", "full_name": "Sam"})
    run_reminders(now=at_noon(M1_OPENS))
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts, reminder.next_attempt_at) == ("failed", 1, None)
    assert "no text message provider" in reminder.last_error


def test_a_patient_paused_after_a_reminder_was_planned_does_not_get_it(enrolment):
    from patients.services import set_enrolment_status

    reminder = planned_invitation(M1_OPENS)
    set_enrolment_status(enrolment=enrolment, status="paused", reason="in hospital", actor=None)
    report, _ids = run_reminders(now=at_noon(M1_OPENS) + dt.timedelta(hours=1))
    assert (report.sent, report.skipped) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.CANCELLED
    assert reminder.tries.get().detail == "the patient is paused"
    assert mail.outbox == []


def test_a_retry_that_comes_up_after_the_window_closed_is_not_sent(enrolment, settings):
    # The last call fails on 28 Feb, the window's last day; its retry comes up on 1 Mar.
    settings.EMAIL_BACKEND = "tests.integration.followups.failing_backend.FailingBackend"
    run(M1_CLOSES)
    reminder = Reminder.objects.get(kind="last_call")
    assert reminder.status == "pending"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run(M1_CLOSES + dt.timedelta(days=1))
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.CANCELLED
    assert reminder.tries.last().detail == "the window is closed"
    assert mail.outbox == []


def test_a_link_resent_before_its_window_opens_is_not_sent(enrolment,
                                                        django_capture_on_commit_callbacks):
    # The page offers "send the link again" only for an open visit, but the link of a
    # visit not open yet would not work (SPEC 6: valid while the window is open).
    from django.contrib.auth.models import User
    from django.core.exceptions import ValidationError

    from outcomes.followups.reminders import resend_link

    m1 = enrolment.visits.get(timepoint__code="m1")
    before = at_noon(M1_OPENS - dt.timedelta(days=1))
    # The resend itself refuses, saying why (a stale page or a forged POST), so nothing
    # is promised that would be cancelled unseen later.
    with time_machine.travel(before, tick=False), \
            django_capture_on_commit_callbacks(execute=True), \
            pytest.raises(ValidationError, match="not open yet"):
        resend_link(visit=m1, actor=User.objects.create_user("c"), now=before)
    assert not Reminder.objects.filter(kind="manual").exists()
    assert mail.outbox == []
