"""Answers needing attention: an alert a completed response raised, until staff see it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AnswerAlert(models.Model):
    """One alert of an instrument's definition (its ``alerts``) raised by one response.

    Raised once per response and alert key (the unique constraint is the backstop for a
    double submit or a retried task), whenever a response is stored completed: by link,
    by staff entry, by import, or by a correction. ``value`` is the exact value that
    raised it and ``answer`` that value as people read it (the option's label, "Several
    days", or a score as pages round it); ``message`` the definition's staff message.
    Acknowledging records who, when and an optional note. ``notification`` is the email
    to the site's coordinators, claimed before it is sent so that it goes at most once.
    """

    class Notification(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        NO_RECIPIENT = "no_recipient", "Nobody to send to"
        FAILED = "failed", "Failed"

    response = models.ForeignKey(
        "instruments.Response", on_delete=models.PROTECT, related_name="alerts",
    )
    # The response's own visit, enrolment and instrument, copied for the worklists.
    visit = models.ForeignKey("followups.Visit", on_delete=models.PROTECT, related_name="+")
    enrolment = models.ForeignKey(
        "patients.Enrolment", on_delete=models.PROTECT, related_name="answer_alerts",
    )
    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.PROTECT, related_name="+",
    )
    key = models.CharField(max_length=32, help_text="The alert's key in the definition file.")
    # Unbounded, as Score.exact is.
    value = models.TextField(help_text="The exact value that raised it.")
    answer = models.CharField(max_length=200, help_text="That value as people read it.")
    message = models.CharField(max_length=300, help_text="What the definition tells staff.")
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(blank=True, help_text="The acknowledging staff member's note.")
    correction_note = models.TextField(
        blank=True, help_text="Set when a correction of the response no longer raises it.",
    )
    notification = models.CharField(max_length=12, choices=Notification.choices,
                                    default=Notification.PENDING)
    notify_claimed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_attempts = models.PositiveSmallIntegerField(default=0)
    notify_error = models.TextField(blank=True)

    class Meta:
        ordering = ["raised_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "key"],
                                    name="alerts_answeralert_once_per_response"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_by__isnull=False),
                name="alerts_answeralert_acknowledged_names_who",
            ),
        ]
        indexes = [models.Index(fields=["enrolment", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.key} for response {self.response_id}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None
