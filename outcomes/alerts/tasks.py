"""Celery tasks: thin wrappers over the alert email service, taking ids only."""

from __future__ import annotations

from celery import shared_task

from .services import notify_alert, pending_alert_ids, release_stale

PERIODIC_TASK_NAME = "Email answer alerts not yet notified"


@shared_task(acks_late=True, ignore_result=True)
def notify_alert_task(alert_id: int) -> str:
    """Email one alert's coordinators; safe to run twice (the database claim lets one by)."""
    return notify_alert(alert_id)


@shared_task(acks_late=True, ignore_result=True)
def notify_pending_alerts() -> int:
    """Beat's "look now": queue every alert whose email has not gone (and stale claims)."""
    release_stale()
    count = 0
    for alert_id in pending_alert_ids().iterator(chunk_size=2000):
        notify_alert_task.delay(alert_id)
        count += 1
    return count
