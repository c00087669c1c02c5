"""The audit trail: who changed or viewed what, when, before and after, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import formats, timezone


class AuditRecord(models.Model):
    """One change to (or disclosure of) clinical or personal data. Never edited or deleted."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        CORRECT = "correct", "Corrected"
        VOID = "void", "Voided"
        STATUS = "status", "Status changed"
        VIEW = "view", "Viewed"
        EXPORT = "export", "Exported"
        SIGN_OFF = "sign_off", "Signed off"
        DELETE = "delete", "Deleted"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=100, blank=True,
        help_text="Who acted when it was not a staff user: 'patient link', 'import', 'system'.",
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True, help_text="field: [before, after]")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        at = formats.date_format(timezone.localtime(self.at), "DATETIME_FORMAT")
        return f"{at} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise PermissionError("Audit records are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit records are never deleted.")
