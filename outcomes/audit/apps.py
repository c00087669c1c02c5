from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "outcomes.audit"
    label = "audit"
    verbose_name = "Audit trail"
