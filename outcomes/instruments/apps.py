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
    from .services import sync_instruments

    if using == "default":
        sync_instruments()
