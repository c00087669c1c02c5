"""The project's periodic tasks, created in django-celery-beat once (after ``migrate``).

Each app that has one connects ``post_migrate`` to a seeder that calls
``ensure_periodic_task``; an administrator's later edits (another interval, disabled)
survive, as the task is only created when no task of that name exists.
"""

from __future__ import annotations


def ensure_periodic_task(*, name: str, task: str, minutes: int, description: str,
                         using: str = "default") -> None:
    """Create the periodic task ``name`` running ``task`` every ``minutes``, unless a
    task of that name exists already."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.using(using).filter(name=name).exists():
        return
    every, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=minutes, period=IntervalSchedule.MINUTES,
    )
    PeriodicTask.objects.using(using).create(name=name, task=task, interval=every,
                                             description=description)
