from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "outcomes.alerts"
    label = "alerts"
    verbose_name = "Answers needing attention"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_seed_periodic_task, sender=self)


def _seed_periodic_task(sender, using="default", **kwargs) -> None:
    """Create the catch-up run in django-celery-beat once; later edits by an admin survive."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from .tasks import PERIODIC_TASK_NAME

    if PeriodicTask.objects.using(using).filter(name=PERIODIC_TASK_NAME).exists():
        return
    every, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=5, period=IntervalSchedule.MINUTES,
    )
    PeriodicTask.objects.using(using).create(
        name=PERIODIC_TASK_NAME, task="outcomes.alerts.tasks.notify_pending_alerts",
        interval=every, description="Email the coordinators of any answer alert not yet "
        "notified (one queued at commit but lost while the broker was down, say).",
    )
