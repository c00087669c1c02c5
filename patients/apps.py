from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Studies and patients"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_roles_after_migrate, sender=self)


def _roles_after_migrate(sender, using="default", **kwargs) -> None:
    """Keep the role groups' permissions in step with ``outcomes.access.ROLES``."""
    from outcomes.access import ensure_roles

    if using == "default":
        ensure_roles()
