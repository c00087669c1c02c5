from django.contrib.admin.apps import AdminConfig


class OutcomesAdminConfig(AdminConfig):
    """Django's admin, on a site that asks for the second factor when a study requires it."""

    default_site = "outcomes.admin_site.OutcomesAdminSite"

    def ready(self) -> None:
        super().ready()
        from outcomes import checks  # noqa: F401  (the project's deployment checks)
