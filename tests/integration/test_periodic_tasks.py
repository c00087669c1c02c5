"""The periodic tasks exist after ``migrate``, and an administrator's edits survive it."""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from outcomes.alerts import tasks as alert_tasks
from outcomes.followups import tasks as reminder_tasks
from outcomes.instruments import tasks as instrument_tasks
from outcomes.periodic import ensure_periodic_task

pytestmark = pytest.mark.django_db


def test_migrate_created_the_reminder_run_and_the_alert_catch_up():
    tasks = {t.name: (t.task, t.interval.every, t.interval.period)
             for t in PeriodicTask.objects.select_related("interval")}
    assert tasks[reminder_tasks.PERIODIC_TASK_NAME] == (
        "outcomes.followups.tasks.send_due_reminders", 15, IntervalSchedule.MINUTES)
    assert tasks[alert_tasks.PERIODIC_TASK_NAME] == (
        "outcomes.alerts.tasks.notify_pending_alerts", 5, IntervalSchedule.MINUTES)
    assert tasks[instrument_tasks.PERIODIC_TASK_NAME] == (
        "outcomes.instruments.tasks.fold_reliability_sums", 60, IntervalSchedule.MINUTES)


def test_an_administrators_edit_survives_the_next_migrate():
    task = PeriodicTask.objects.get(name=reminder_tasks.PERIODIC_TASK_NAME)
    task.enabled = False
    task.interval = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.MINUTES)
    task.save()
    ensure_periodic_task(name=reminder_tasks.PERIODIC_TASK_NAME,
                         task="outcomes.followups.tasks.send_due_reminders", minutes=15,
                         description="again")
    task.refresh_from_db()
    assert (task.enabled, task.interval.every) == (False, 30)
    assert task.description != "again"
    assert PeriodicTask.objects.filter(name=reminder_tasks.PERIODIC_TASK_NAME).count() == 1
