"""The schedule (time points), each patient's visits, and the reminders that chase them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import formats, timezone

from outcomes.validators import code_validator


def new_version() -> int:
    """Return a random version stamp (62 bits: never equal to an earlier one in practice)."""
    return secrets.randbits(62)


class TimePoint(models.Model):
    """A schedule entry of a study: target day after the index date, window, instruments."""

    study = models.ForeignKey(
        "patients.Study", on_delete=models.CASCADE, related_name="timepoints",
    )
    code = models.CharField(max_length=32, validators=[code_validator],
                            help_text="e.g. baseline, m1, m3, m6, m12")
    label = models.CharField(
        max_length=100,
        help_text="The study team's name for it, e.g. 3 months. Patients read it in their "
                  "language: see Names for patients on the time point's page.")
    patient_labels = models.JSONField(
        default=dict, blank=True,
        help_text="What reminders and the patient's pages call it, by language code, e.g. "
                  '{"es": "3 meses"}. A language without one reads the label translated '
                  "where it is Baseline or a number of days, weeks, months or years, else "
                  "the label as it is.")
    target_day = models.IntegerField(help_text="Days after the index date.")
    window_before_days = models.PositiveIntegerField(default=0)
    window_after_days = models.PositiveIntegerField(default=0)
    is_baseline = models.BooleanField(
        default=False, help_text="Changes and responder status are measured from this one.",
    )
    instruments = models.ManyToManyField(
        "instruments.Instrument", through="TimePointInstrument", related_name="timepoints",
    )
    # A new random value whenever this time point's instruments change (signals.py), so
    # a process may keep the list it read for as long as it sees the same value here
    # (selectors.timepoint_instruments). Random, not a counter: a row id reused after a
    # rollback or a flush never meets an old list. A raw queryset update() of
    # TimePointInstrument rows bypasses the signals: call signals.instruments_changed_for.
    instruments_version = models.BigIntegerField(default=new_version, editable=False)

    class Meta:
        ordering = ["study_id", "target_day"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "code"], name="followups_timepoint_code_unique",
            ),
            models.UniqueConstraint(
                fields=["study"], condition=Q(is_baseline=True),
                name="followups_timepoint_one_baseline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study.code}/{self.code}"

    def clean(self) -> None:
        languages = dict(settings.LANGUAGES)
        if not isinstance(self.patient_labels, dict) or not all(
                code in languages and isinstance(name, str)
                for code, name in self.patient_labels.items()):
            raise ValidationError({"patient_labels": (
                "A name per language, by its code (" + ", ".join(languages)
                + '), e.g. {"es": "3 meses"}.')})
        # The study's reminders must fit this window (Study.clean checks them against the
        # saved time points; this, a time point changed or added, the study's inline too).
        from .schedule import visit_name

        before, after = self.window_before_days, self.window_after_days
        if self.study_id is None or type(before) is not int or type(after) is not int:
            return
        study = self.study
        own = study.reminder_problems({visit_name(self.label or self.code): before + after})
        theirs = study.reminder_problems({})
        window = [m for field, messages in own.items() for m in messages
                  if m not in theirs.get(field, [])]
        if window:
            raise ValidationError({"window_after_days": [
                f"The window is too short for the study's reminders. {m}" for m in window]})

    def patient_label(self, language: str) -> str:
        """Return what a patient reading ``language`` calls this time point ("3 meses").

        The name the data manager gave for that language, else the label translated
        where the catalogue can say it (``labels.translated_label``), else the label.
        """
        from .labels import translated_label

        given = self.patient_labels.get(language) if isinstance(self.patient_labels, dict) else ""
        return (given or "").strip() or translated_label(self.label, language)


class TimePointInstrumentQuerySet(models.QuerySet):
    """Fills ``instrument_code`` on rows made in bulk (``bulk_create`` skips ``save``).

    ``timepoint.instruments.add()`` makes its rows with ``bulk_create`` too.
    """

    def bulk_create(self, objs, *args, **kwargs):
        from outcomes.instruments.models import Instrument

        objs = list(objs)
        codes = dict(Instrument.objects.using(self.db)
                     .filter(pk__in={row.instrument_id for row in objs})
                     .values_list("pk", "code"))
        for row in objs:
            row.instrument_code = codes.get(row.instrument_id, row.instrument_code)
        return super().bulk_create(objs, *args, **kwargs)


class TimePointInstrument(models.Model):
    """An instrument asked at a time point, in the order the patient sees it.

    A time point asks one version of a questionnaire: two versions of one code would
    each give the same score keys, and every reader (visit scores, exports, results)
    keeps one of them. ``instrument_code`` repeats the instrument's code so that the
    database refuses a second version too; moving a time point to a new version is
    changing its row's instrument.
    """

    timepoint = models.ForeignKey(TimePoint, on_delete=models.CASCADE, related_name="items")
    instrument = models.ForeignKey("instruments.Instrument", on_delete=models.PROTECT)
    instrument_code = models.CharField(
        max_length=32, editable=False,
        help_text="The instrument's code (kept from it on save): one version per time point.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    objects = TimePointInstrumentQuerySet.as_manager()

    class Meta:
        ordering = ["timepoint_id", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["timepoint", "instrument"], name="followups_timepointinstrument_unique",
            ),
            models.UniqueConstraint(
                fields=["timepoint", "instrument_code"],
                name="followups_timepointinstrument_one_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.timepoint} · {self.instrument}"

    def save(self, *args, **kwargs):
        if self.instrument_id is not None:
            self.instrument_code = self.instrument.code
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "instrument" in update_fields:
                kwargs["update_fields"] = {*update_fields, "instrument_code"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        # An instrument without questions gave the patient's link a server error. No
        # database constraint can look into another table's JSON, so this check, the
        # seed's (services.ensure_schedule) and the system check instruments.E003 guard it.
        from outcomes.instruments.scheduled import has_items, no_items_message

        if self.instrument_id is not None and not has_items(self.instrument):
            raise ValidationError({"instrument": no_items_message(self.instrument)})
        # The admin's inline checks its rows together (a row deleted and one added in
        # the same form replace a version): it sets this flag on each of its forms.
        if not getattr(self, "versions_checked_together", False):
            other = self.other_version()
            if other is not None:
                from outcomes.instruments.scheduled import second_version_message

                raise ValidationError({"instrument": second_version_message(
                    other.instrument, self.timepoint)})

    def other_version(self) -> TimePointInstrument | None:
        """The row of this time point asking another version of this instrument, if any."""
        if self.instrument_id is None or self.timepoint_id is None:
            return None
        return (TimePointInstrument.objects.filter(
            timepoint_id=self.timepoint_id, instrument__code=self.instrument.code)
            .exclude(pk=self.pk).select_related("instrument").first())


class Visit(models.Model):
    """One patient at one time point: dates, window, status and the private link."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        MISSED = "missed", "Missed"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    enrolment = models.ForeignKey(
        "patients.Enrolment", on_delete=models.PROTECT, related_name="visits",
    )
    timepoint = models.ForeignKey(TimePoint, on_delete=models.PROTECT, related_name="visits")
    target_date = models.DateField()
    window_open_date = models.DateField()
    window_close_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    completed_at = models.DateTimeField(null=True, blank=True)
    opioid_mme = models.DecimalField(
        "opioid use (MME/day)", max_digits=7, decimal_places=2, null=True, blank=True,
    )
    # The private link (see links.py): the token is an HMAC of this random nonce
    # under SECRET_KEY; only the nonce and a SHA-256 hash of the token are stored.
    token_nonce = models.CharField(max_length=32, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    token_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["enrolment_id", "target_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "timepoint"], name="followups_visit_once_per_timepoint",
            ),
            models.CheckConstraint(
                condition=Q(window_open_date__lte=F("target_date"))
                & Q(target_date__lte=F("window_close_date")),
                name="followups_visit_window_contains_target",
            ),
            models.CheckConstraint(
                condition=Q(opioid_mme__isnull=True) | Q(opioid_mme__gte=0),
                name="followups_visit_opioid_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "window_open_date"]),
            models.Index(fields=["status", "window_close_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment.patient} @ {self.timepoint.code}"

    def clean(self) -> None:
        if (
            self.window_open_date and self.window_close_date
            and self.window_open_date > self.window_close_date
        ):
            raise ValidationError("The window opens after it closes.")

    def accepts_entry(self, today) -> bool:
        """True if staff may type in a paper or telephone form for this visit on ``today``.

        From the day its window opens, late forms included, until it is completed;
        never for a visit marked not applicable.
        """
        return (self.status not in (self.Status.COMPLETED, self.Status.NOT_APPLICABLE)
                and self.window_open_date <= today)


class Reminder(models.Model):
    """One message of one kind for one visit; each (visit, kind) is sent at most once."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        REMINDER_1 = "reminder_1", "Reminder 1"
        REMINDER_2 = "reminder_2", "Reminder 2"
        REMINDER_3 = "reminder_3", "Reminder 3"
        REMINDER_4 = "reminder_4", "Reminder 4"
        REMINDER_5 = "reminder_5", "Reminder 5"
        LAST_CALL = "last_call", "Last call"
        MANUAL = "manual", "Sent again by staff"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        CANCELLED = "cancelled", "Cancelled"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="reminders")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["visit_id", "kind"]
        constraints = [
            # Each scheduled kind at most once per visit; a coordinator may resend by hand.
            # A cancelled one (the patient paused, the visit moved) does not count: the
            # next run may plan that kind again when the visit needs it once more.
            models.UniqueConstraint(
                fields=["visit", "kind"], condition=~Q(kind="manual") & ~Q(status="cancelled"),
                name="followups_reminder_once",
            ),
        ]
        indexes = [models.Index(fields=["status", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.visit}"


class ReminderAttempt(models.Model):
    """One try at sending a reminder, with its outcome: the coordinator's evidence."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        ERROR = "error", "Error"
        SKIPPED = "skipped", "Skipped (no longer needed)"

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["reminder_id", "at"]

    def __str__(self) -> str:
        at = formats.date_format(timezone.localtime(self.at), "DATETIME_FORMAT")
        return f"{self.reminder} at {at}: {self.outcome}"
