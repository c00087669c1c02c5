"""Reminders through a real Celery worker on the real Redis broker, on PostgreSQL."""

from __future__ import annotations

import pytest

from outcomes.followups.models import Reminder, ReminderAttempt
from outcomes.followups.tasks import send_due_reminders, send_reminder_task

from .conftest import cohort, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_worker_runs_the_periodic_reminder_task_end_to_end(study, workers):
    cohort(study, 3)
    workers.start("w1")
    workers.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 3,
             message="three invitations sent by the worker")
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"invitation"}
    assert workers.mail_count() == 3


def test_two_workers_and_a_doubled_beat_send_no_reminder_twice(study, workers):
    cohort(study, 40)
    workers.start("w1", concurrency=2)
    workers.start("w2", concurrency=2)
    # Beat fires twice at once, and every reminder task is also queued a second time.
    workers.enqueue(send_due_reminders)
    workers.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 40, timeout=90,
             message="forty invitations sent")
    for reminder_id in Reminder.objects.values_list("pk", flat=True):
        workers.enqueue(send_reminder_task, reminder_id)
    wait_for(lambda: workers.mail_count() >= 40, message="mail written")
    import time

    time.sleep(3)  # let any duplicate in flight land before counting
    assert Reminder.objects.count() == 40
    assert ReminderAttempt.objects.filter(outcome="sent").count() == 40
    assert workers.mail_count() == 40
