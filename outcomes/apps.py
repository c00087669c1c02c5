from django.contrib.admin.apps import AdminConfig


class OutcomesAdminConfig(AdminConfig):
    """Django's admin, on a site that asks for the second factor when a study requires it."""

    default_site = "outcomes.admin_site.OutcomesAdminSite"
