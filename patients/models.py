"""Studies, sites, arms, patients, their contact details, enrolments and procedures.

Clinical data (``Patient``) and identifying data (``Contact``) live in separate
tables so that exports and clinician pages never touch the second one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from outcomes.validators import code_validator  # migrations name it patients.models.code_validator

# Study dates (enrolment, index, completion) are checked against a plausible range:
# a typo like 0206 or 9999 would otherwise schedule visits centuries away.
STUDY_DATE_RANGE = (dt.date(1990, 1, 1), dt.date(2100, 12, 31))
study_date_validators = [
    MinValueValidator(STUDY_DATE_RANGE[0], f"A study date is on or after {STUDY_DATE_RANGE[0]}."),
    MaxValueValidator(STUDY_DATE_RANGE[1], f"A study date is on or before {STUDY_DATE_RANGE[1]}."),
]


class Site(models.Model):
    """A place where patients are enrolled; staff are scoped to sites."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="sites",
        help_text="Staff who see this site's patients.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Study(models.Model):
    """A prospective outcome study: its arms, schedule, rules and reminder settings."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    title = models.CharField(max_length=300)
    protocol_reference = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    sites = models.ManyToManyField(Site, related_name="studies", blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC",
        help_text="IANA time zone used for windows, reminders and quiet hours.",
    )
    # SPEC 3.6/3.7: per score, the items that may be blank before it is not scorable.
    max_missing = models.JSONField(
        "blanks allowed per score", default=dict, blank=True,
        help_text='Score key to the items it may leave blank, e.g. {"odi": 0}; a score '
        "left out allows what its instrument's definition does.",
    )
    # Reminder cadence (SPEC section 5): all editable per study.
    reminder_days = models.JSONField(
        default=list, blank=True,
        help_text="Days after the window opens on which reminders are sent, e.g. [3, 7].",
    )
    last_call_days_before_close = models.PositiveSmallIntegerField(default=2)
    quiet_hours_start = models.PositiveSmallIntegerField(
        default=20, validators=[MaxValueValidator(23)],
        help_text="Hour (0-23) from which no message is sent.",
    )
    quiet_hours_end = models.PositiveSmallIntegerField(
        default=8, validators=[MaxValueValidator(23)],
        help_text="Hour (0-23) from which messages may be sent again.",
    )
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=50, blank=True)
    require_two_factor = models.BooleanField(
        default=False,
        help_text="Staff of this study must confirm a one-time code (TOTP) after logging in.",
    )
    reference_arm = models.ForeignKey(
        "Arm", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The control arm every other arm is compared with in the results. "
        "When empty: the last arm in display order.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["code"]
        # What the staff roles are made of (outcomes.access.ROLES).
        permissions = [
            ("view_worklist", "See the worklists and patient pages of one's sites"),
            ("manage_enrolment", "Enrol patients, change status and index date, resend links"),
            ("view_contact_details", "See patients' contact details"),
            ("view_outcomes", "See patients' scores and responder status"),
            ("sign_off", "Sign off a patient's outcome review"),
            ("view_results", "See the study's results arm against arm"),
            ("export_data", "Download de-identified patient-level exports"),
            ("export_identified", "Download the identified export"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        from zoneinfo import available_timezones

        if self.time_zone not in available_timezones():
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."})
        problems = self.reminder_problems()
        if problems:
            raise ValidationError(problems)
        if self.reference_arm_id and self.reference_arm.study_id != self.pk:
            raise ValidationError({"reference_arm": "The reference arm must be one of this "
                                                    "study's arms."})
        from outcomes.instruments.scheduled import max_missing_problems

        problems = max_missing_problems(self, self.max_missing)
        if problems:
            raise ValidationError({"max_missing": problems})


    def reminder_problems(self, windows: dict[str, int] | None = None) -> dict[str, list[str]]:
        """Return what is wrong with the reminder settings, by field (``cadence_problems``).

        Against ``windows`` (visit name to the days its window is open), by default the
        study's saved time points'.
        """
        from outcomes.followups.cadence import cadence_problems
        from outcomes.followups.schedule import visit_name

        if windows is None:
            windows = {} if self.pk is None else {
                visit_name(tp.label): tp.window_before_days + tp.window_after_days
                for tp in self.timepoints.all()}
        return cadence_problems(self.reminder_days, self.last_call_days_before_close, windows)


class Arm(models.Model):
    """A study's group, e.g. ``BMC`` (treatment) and ``CONTROL``."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="arms")
    code = models.CharField(max_length=32, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    receives_procedure = models.BooleanField(
        default=False, help_text="Patients in this arm have a procedure record.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="patients_arm_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study.code}/{self.code}"


class PrimaryComparison(models.Model):
    """A comparison the study designated in advance as primary: a responder rule at a time
    point (SPEC section 8, multiplicity). Every other p-value is exploratory."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE,
                              related_name="primary_comparisons")
    rule = models.ForeignKey("instruments.ResponderRule", on_delete=models.CASCADE,
                             related_name="+")
    timepoint = models.ForeignKey("followups.TimePoint", on_delete=models.CASCADE,
                                  related_name="+", verbose_name="time point")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "rule", "timepoint"],
                                    name="patients_primarycomparison_once"),
        ]

    def __str__(self) -> str:
        return f"{self.study}: {self.rule.code} at {self.timepoint.code}"

    def clean(self) -> None:
        errors = {}
        if self.rule_id and self.study_id and self.rule.study_id != self.study_id:
            errors["rule"] = "The rule belongs to another study."
        if self.timepoint_id and self.study_id and self.timepoint.study_id != self.study_id:
            errors["timepoint"] = "The time point belongs to another study."
        if errors:
            raise ValidationError(errors)


class Patient(models.Model):
    """A pseudonymous study participant: clinical and demographic data only."""

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Unknown"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="patients")
    code = models.CharField(
        "study code", max_length=32, validators=[code_validator],
        help_text="Pseudonymous code, unique in the study. Never a name.",
    )
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    date_of_birth = models.DateField(null=True, blank=True)
    age_at_enrolment = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(130)],
        help_text="Whole years; used when the date of birth is not recorded.",
    )
    height_cm = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("40")), MaxValueValidator(Decimal("260"))],
    )
    weight_kg = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("10")), MaxValueValidator(Decimal("400"))],
    )
    bmi = models.DecimalField(
        "BMI at baseline", max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("10")), MaxValueValidator(Decimal("90"))],
    )
    pain_duration_months = models.PositiveSmallIntegerField(null=True, blank=True)
    baseline_opioid_mme = models.DecimalField(
        "baseline opioid use (MME/day)", max_digits=7, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="patients_patient_code_unique"),
            models.CheckConstraint(
                condition=Q(bmi__isnull=True) | Q(bmi__gte=10, bmi__lte=90),
                name="patients_patient_bmi_range",
            ),
            models.CheckConstraint(
                condition=Q(baseline_opioid_mme__isnull=True) | Q(baseline_opioid_mme__gte=0),
                name="patients_patient_opioid_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        if self.bmi is None and self.height_cm and self.weight_kg:
            self.bmi = bmi_from(self.weight_kg, self.height_cm)
        super().save(*args, **kwargs)


def bmi_from(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    """Return the body-mass index, kg/m², to one decimal."""
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.1"))


class Contact(models.Model):
    """How to reach a patient: identifying data, shown to coordinators only."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="contact")
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    mobile = models.CharField(max_length=32, blank=True)
    preferred_channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.EMAIL,
    )
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default="en",
    )

    def __str__(self) -> str:
        return f"Contact for {self.patient}"

    def clean(self) -> None:
        if self.preferred_channel == self.Channel.EMAIL and not self.email:
            raise ValidationError({"email": "An email address is needed for email reminders."})
        if self.preferred_channel == self.Channel.SMS and not self.mobile:
            raise ValidationError({"mobile": "A mobile number is needed for text reminders."})


class Enrolment(models.Model):
    """A patient in one arm of a study at one site, with the index date."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMPLETED = "completed", "Completed"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="enrolments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrolments")
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="enrolments")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="enrolments")
    enrolled_date = models.DateField(validators=study_date_validators)
    index_date = models.DateField(
        validators=study_date_validators,
        help_text="Procedure date (treatment arm) or start of conventional care; "
        "the schedule counts from it.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study_id", "patient__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "patient"], name="patients_enrolment_once_per_study",
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | ~Q(status_reason=""),
                name="patients_enrolment_withdrawal_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["study", "status"])]

    def __str__(self) -> str:
        return f"{self.patient} in {self.arm}"

    def clean(self) -> None:
        errors = {}
        if self.arm_id and self.study_id and self.arm.study_id != self.study_id:
            errors["arm"] = "The arm belongs to another study."
        if self.patient_id and self.study_id and self.patient.study_id != self.study_id:
            errors["patient"] = "The patient belongs to another study."
        if errors:
            raise ValidationError(errors)

    @property
    def receives_reminders(self) -> bool:
        return self.status == self.Status.ACTIVE


class Procedure(models.Model):
    """The treatment-arm injection: date, structures and bone-marrow-concentrate measures."""

    class MriChange(models.TextChoices):
        IMPROVED = "improved", "Improved"
        UNCHANGED = "unchanged", "Unchanged"
        WORSE = "worse", "Worse"
        NOT_DONE = "not_done", "Not done"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="procedures")
    procedure_date = models.DateField()
    volume_ml = models.DecimalField(
        "injected volume (mL)", max_digits=6, decimal_places=2, null=True, blank=True,
    )
    total_nucleated_cells = models.DecimalField(
        "total nucleated cells (×10⁶)", max_digits=12, decimal_places=2, null=True, blank=True,
    )
    cfu_f = models.DecimalField(
        "CFU-F (colonies per 10⁶ cells)", max_digits=12, decimal_places=2, null=True, blank=True,
    )
    cd34_cells = models.DecimalField(
        "CD34+ cells (×10⁶)", max_digits=12, decimal_places=3, null=True, blank=True,
    )
    platelets = models.DecimalField(
        "platelets (×10⁹/L)", max_digits=12, decimal_places=2, null=True, blank=True,
    )
    mri_findings = models.TextField("post-procedure MRI findings", blank=True)
    mri_change = models.CharField(
        max_length=10, choices=MriChange.choices, default=MriChange.NOT_DONE,
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["enrolment_id", "procedure_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_nucleated_cells__isnull=True) | Q(total_nucleated_cells__gte=0),
                name="patients_procedure_cells_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Procedure for {self.enrolment.patient} on {self.procedure_date}"


class InjectedStructure(models.Model):
    """One spinal structure injected during a procedure."""

    class Structure(models.TextChoices):
        INTRADISCAL = "intradiscal", "Intradiscal"
        FACET = "facet", "Facet joint"
        NERVE_ROOT = "nerve_root", "Nerve root (transforaminal)"
        SACROILIAC = "sacroiliac", "Sacroiliac joint"

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        BILATERAL = "bilateral", "Bilateral"
        MIDLINE = "midline", "Midline / not applicable"

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="structures")
    structure = models.CharField(max_length=16, choices=Structure.choices)
    level = models.CharField(max_length=16, blank=True, help_text="e.g. L4-L5, L5-S1")
    side = models.CharField(max_length=10, choices=Side.choices, default=Side.MIDLINE)

    class Meta:
        ordering = ["procedure_id", "structure", "level"]

    def __str__(self) -> str:
        return f"{self.get_structure_display()} {self.level}".strip()
