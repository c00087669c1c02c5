"""Celery tasks: thin wrappers over the reminder service, taking ids only."""

from __future__ import annotations

from celery import shared_task

from .reminders import run_reminders, send_reminder

PERIODIC_TASK_NAME = "Send due reminders"


@shared_task(acks_late=True, ignore_result=True)
def send_due_reminders() -> dict:
    """Beat's "look now": update visit statuses, plan due reminders, queue one task each."""
    report, ids = run_reminders(send=False)
    for reminder_id in ids.iterator(chunk_size=2000):
        send_reminder_task.delay(reminder_id)
    return report.as_dict()


@shared_task(acks_late=True, ignore_result=True)
def send_reminder_task(reminder_id: int) -> str:
    """Send one reminder; safe to run twice (the database claim lets one through)."""
    return send_reminder(reminder_id)
