from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "outcomes.followups"
    label = "followups"
    verbose_name = "Schedule, visits and reminders"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

        from . import signals
        from .models import TimePoint, TimePointInstrument

        post_migrate.connect(_seed_periodic_task, sender=self)
        post_save.connect(signals.item_saved_or_deleted, sender=TimePointInstrument)
        post_delete.connect(signals.item_saved_or_deleted, sender=TimePointInstrument)
        m2m_changed.connect(signals.instruments_changed, sender=TimePoint.instruments.through)


def _seed_periodic_task(sender, using="default", **kwargs) -> None:
    """Create the reminder run in django-celery-beat once; later edits by an admin survive."""
    from outcomes.periodic import ensure_periodic_task

    from .tasks import PERIODIC_TASK_NAME

    ensure_periodic_task(
        name=PERIODIC_TASK_NAME, using=using, task="outcomes.followups.tasks.send_due_reminders",
        minutes=15,
        description="Open and close visit windows; send due invitations and "
        "reminders. Each run catches up on anything a missed run left.",
    )
