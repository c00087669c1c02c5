"""Celery tasks of the instruments app."""

from __future__ import annotations

from celery import shared_task

PERIODIC_TASK_NAME = "Fold the running sums behind Cronbach's alpha"


@shared_task(acks_late=True, ignore_result=True)
def fold_reliability_sums() -> bool:
    """Replace each key's rows of ``ReliabilitySums`` by their sum (the trigger appends a
    row per key and statement): what the results would do on their next read. Skips when
    another fold runs; safe to run twice. Returns whether it folded."""
    from django.db import connection, transaction

    from .reliability import fold_all

    if connection.vendor != "postgresql":
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        return fold_all(cursor)
