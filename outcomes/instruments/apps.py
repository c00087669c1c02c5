from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "outcomes.instruments"
    label = "instruments"
    verbose_name = "Instruments and scores"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401  (registers the system checks)

        post_migrate.connect(_sync_after_migrate, sender=self)


def _sync_after_migrate(sender, using="default", **kwargs) -> None:
    """Keep the instrument rows in step with their definitions after every migrate."""
    from outcomes.periodic import ensure_periodic_task

    from .services import sync_instruments
    from .tasks import PERIODIC_TASK_NAME

    if using == "default":
        sync_instruments()
    ensure_periodic_task(
        name=PERIODIC_TASK_NAME, using=using,
        task="outcomes.instruments.tasks.fold_reliability_sums", minutes=60,
        description="Add up the rows the responses' trigger appends to the running sums "
        "behind Cronbach's alpha (PostgreSQL; the results also do it when they find many).")
