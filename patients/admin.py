from django import forms
from django.contrib import admin
from django.db import models

from outcomes.admin_scope import ScopedAdmin, ScopedStackedInline, ScopedTabularInline
from outcomes.followups.models import TimePoint
from outcomes.instruments.scheduled import blank_scores

from .models import (
    Arm,
    Contact,
    Enrolment,
    InjectedStructure,
    Patient,
    PrimaryComparison,
    Procedure,
    Site,
    Study,
)


class ArmInline(ScopedStackedInline):
    """Stacked: an arm's description is a paragraph, too wide for a table's cell."""

    model = Arm
    extra = 0
    fields = (("code", "order"), "name", "receives_procedure", "description")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}


class TimePointInline(ScopedTabularInline):
    model = TimePoint
    extra = 0
    fields = ("code", "label", "target_day", "window_before_days", "window_after_days",
              "is_baseline")
    show_change_link = True


class PrimaryComparisonInline(ScopedTabularInline):
    model = PrimaryComparison
    extra = 0
    fields = ("rule", "timepoint", "order")


BLANKS_ALLOWED = "max_missing__"
"""Field-name prefix of the study form's blanks allowed, one number per score."""


class StudyForm(forms.ModelForm):
    """A study, its blanks allowed per score (``Study.max_missing``) a number each.

    One field for each score of the study's scheduled instruments that counts its
    items, labelled with its name, from 0 to one fewer than its items; empty keeps
    what the score's definition allows. The numbers given become the mapping.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.max_missing if isinstance(self.instance.max_missing, dict) else {}
        self.blank_scores = blank_scores(self.instance)
        for score in self.blank_scores:
            self.fields[BLANKS_ALLOWED + score.key] = forms.IntegerField(
                label=f"{score.choice_label}: items that may be left blank",
                required=False, min_value=0, max_value=score.blanks_limit,
                initial=stored.get(score.key),
                widget=forms.NumberInput(attrs={"placeholder": score.default_max_missing}),
                help_text=f"Of its {score.items} items ({score.instrument}), 0 to "
                          f"{score.blanks_limit}. With more left blank the score is not "
                          f"scorable. Empty: {score.default_max_missing}, as its definition "
                          f"allows.",
            )

    def clean(self):
        cleaned = super().clean()
        setting = {}
        for score in self.blank_scores:
            value = cleaned.get(BLANKS_ALLOWED + score.key)
            if value is not None:
                setting[score.key] = value
        self.instance.max_missing = setting
        return cleaned


@admin.register(Study)
class StudyAdmin(ScopedAdmin):
    form = StudyForm
    list_display = ("code", "title", "protocol_reference", "time_zone", "created_at")
    search_fields = ("code", "title", "protocol_reference")
    # Checkboxes, not filter_horizontal: its widget puts aria-label on a plain <span>
    # (axe: aria-prohibited-attr), and a study has a handful of these.
    checkbox_fields = ("sites",)
    inlines = [ArmInline, TimePointInline, PrimaryComparisonInline]
    fieldsets = (
        (None, {"fields": ("code", "title", "protocol_reference", "description", "sites")}),
        ("Access", {"fields": ("require_two_factor",)}),
        ("Scoring", {"fields": ()}),
        ("Results", {"fields": ("reference_arm",)}),
        ("Reminders", {"fields": ("time_zone", "reminder_days", "last_call_days_before_close",
                                  "quiet_hours_start", "quiet_hours_end")}),
        ("Contact shown to patients", {"fields": ("contact_name", "contact_email",
                                                  "contact_phone")}),
    )

    def get_fieldsets(self, request, obj=None):
        """The Scoring section: a number per score that counts its items, or why none."""
        scores = blank_scores(obj) if obj is not None else []
        if not scores:
            scoring = {"fields": (), "description": (
                "Blanks allowed per score: set here once the study's time points schedule "
                "an instrument whose score counts its items.")}
        elif self.has_change_permission(request, obj):
            scoring = {"fields": tuple(BLANKS_ALLOWED + score.key for score in scores),
                       "description": "How many items each score may leave blank before it "
                                      "is not scorable: its responder rules are then not "
                                      "evaluable at that visit."}
        else:
            scoring = {"fields": ("blanks_allowed",)}
        return tuple((name, scoring if name == "Scoring" else options)
                     for name, options in self.fieldsets)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The blanks-allowed fields are the form's own, not the model's.
        if kwargs.get("fields") is not None:
            kwargs["fields"] = [name for name in kwargs["fields"]
                                if not name.startswith(BLANKS_ALLOWED)
                                and name != "blanks_allowed"]
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ("blanks_allowed",) if not self.has_change_permission(request, obj) else ()

    @admin.display(description="Blanks allowed per score")
    def blanks_allowed(self, obj):
        setting = obj.max_missing or {}
        return "; ".join(
            f"{score.choice_label}: {setting.get(score.key, score.default_max_missing)}"
            for score in blank_scores(obj)) or "—"


@admin.register(Site)
class SiteAdmin(ScopedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")
    # Checkboxes, not filter_horizontal: its widget puts aria-label on a plain <span>
    # (axe: aria-prohibited-attr), and a study has a handful of these.
    checkbox_fields = ("staff",)

    def get_fields(self, request, obj=None):
        # Site membership opens the site's patients and files: only an administrator
        # grants it. Everyone else sees who is on the staff, and cannot change it.
        if request.user.is_superuser:
            return ("code", "name", "staff")
        return ("code", "name", "staff_list")

    def get_readonly_fields(self, request, obj=None):
        return () if request.user.is_superuser else ("staff_list",)

    @admin.display(description="Staff")
    def staff_list(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return ", ".join(user.get_username() for user in obj.staff.order_by("username")) or "—"


@admin.register(Arm)
class ArmAdmin(ScopedAdmin):
    ordering = ("study__code", "order", "code")
    list_display = ("code", "name", "study", "receives_procedure")
    list_filter = ("study",)
    search_fields = ("code", "name")


class EnrolmentInline(ScopedTabularInline):
    model = Enrolment
    extra = 0
    fields = ("study", "arm", "site", "enrolled_date", "index_date", "status", "status_reason")
    # Status and index date change with a reason, on the patient's page.
    readonly_fields = ("study", "arm", "site", "enrolled_date", "index_date", "status",
                       "status_reason")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ContactInline(ScopedStackedInline):
    model = Contact
    extra = 0
    can_delete = False


@admin.register(Patient)
class PatientAdmin(ScopedAdmin):
    audit_views = True  # the contact details are on this page
    ordering = ("study__code", "code")
    list_display = ("code", "study", "sex", "age_at_enrolment", "bmi", "baseline_opioid_mme")
    list_filter = ("study", "sex")
    search_fields = ("code",)
    list_select_related = ("study",)
    inlines = [EnrolmentInline, ContactInline]


class InjectedStructureInline(ScopedTabularInline):
    model = InjectedStructure
    extra = 0


class ProcedureInline(ScopedStackedInline):
    model = Procedure
    extra = 0
    show_change_link = True
    can_delete = False


@admin.register(Enrolment)
class EnrolmentAdmin(ScopedAdmin):
    ordering = ("study__code", "patient__code")
    list_display = ("patient", "study", "arm", "site", "enrolled_date", "index_date", "status")
    list_filter = ("study", "arm", "site", "status")
    search_fields = ("patient__code",)
    list_select_related = ("patient", "study", "arm", "site")
    autocomplete_fields = ("patient",)
    inlines = [ProcedureInline]

    def get_readonly_fields(self, request, obj=None):
        # Once enrolled: status and index date change with a reason on the patient's page.
        if obj is None:
            return ()
        return ("study", "patient", "index_date", "status", "status_reason")


@admin.register(Procedure)
class ProcedureAdmin(ScopedAdmin):
    ordering = ("enrolment__patient__code", "procedure_date")
    list_display = ("enrolment", "procedure_date", "total_nucleated_cells", "cfu_f",
                    "cd34_cells", "platelets", "mri_change")
    list_filter = ("mri_change", "enrolment__study")
    search_fields = ("enrolment__patient__code",)
    list_select_related = ("enrolment__patient", "enrolment__arm")
    inlines = [InjectedStructureInline]
