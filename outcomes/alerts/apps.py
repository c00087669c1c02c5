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
    from outcomes.periodic import ensure_periodic_task

    from .tasks import PERIODIC_TASK_NAME

    ensure_periodic_task(
        name=PERIODIC_TASK_NAME, using=using, task="outcomes.alerts.tasks.notify_pending_alerts",
        minutes=5,
        description="Email the coordinators of any answer alert not yet "
        "notified (one queued at commit but lost while the broker was down, say).",
    )
