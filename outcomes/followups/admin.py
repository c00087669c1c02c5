from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import get_language_info

from outcomes.admin_scope import LabelledInlineFormSet, ScopedAdmin, ScopedTabularInline

from .labels import translated_label
from .models import Reminder, TimePoint, TimePointInstrument, Visit


class TimePointInstrumentFormSet(LabelledInlineFormSet):
    """A time point's instruments, checked together: one version of each questionnaire.

    The rows as they will be after saving count: a row deleted and another version
    added in the same form replace the version (allowed), as does changing a row's
    instrument; two rows asking versions of one questionnaire are refused, the later
    one naming the version the time point asks already.
    """

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.instance.versions_checked_together = True
        return form

    def clean(self):
        super().clean()
        from outcomes.instruments.scheduled import second_version_message

        shown = {form.instance.pk for form in self.initial_forms}
        asked = {}  # instrument code -> the Instrument row asked
        if self.instance.pk is not None:  # rows this form does not show stay as they are
            for row in (TimePointInstrument.objects.filter(timepoint_id=self.instance.pk)
                        .exclude(pk__in=shown).select_related("instrument")):
                asked.setdefault(row.instrument.code, row.instrument)
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or self._should_delete_form(form) or data.get("instrument") is None:
                continue
            instrument = data["instrument"]
            first = asked.setdefault(instrument.code, instrument)
            if first != instrument:  # the same one twice: validate_unique says so
                form.add_error("instrument", second_version_message(first, self.instance))


class TimePointInstrumentInline(ScopedTabularInline):
    model = TimePointInstrument
    formset = TimePointInstrumentFormSet
    extra = 0


PATIENT_LABEL = "patient_label__"
"""Field-name prefix of the time point form's names for patients, one per language."""


class TimePointForm(forms.ModelForm):
    """A time point, with its name for patients (``TimePoint.patient_labels``) a text
    box per interface language: empty reads the label, translated where the catalogue
    can say it (the box's placeholder shows what patients then read)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = (self.instance.patient_labels
                  if isinstance(self.instance.patient_labels, dict) else {})
        for code, _ in settings.LANGUAGES:
            language = get_language_info(code)["name"]  # in English, as the staff pages are
            # What an empty box gives (never the name stored in it).
            automatic = translated_label(self.instance.label, code) if self.instance.label else ""
            self.fields[PATIENT_LABEL + code] = forms.CharField(
                label=f"Name for patients ({language})", required=False, max_length=100,
                initial=stored.get(code, ""),
                widget=forms.TextInput(attrs={"placeholder": automatic} if automatic else {}),
                help_text=(f"What reminders and the patient's pages call this time point for "
                           f"a patient who reads {language}. Empty: "
                           + (f"“{automatic}”, from the label." if automatic else
                              "the label, translated where it is Baseline or a number of "
                              "days, weeks, months or years.")),
            )

    def clean(self):
        cleaned = super().clean()
        self.instance.patient_labels = {
            code: cleaned[PATIENT_LABEL + code].strip() for code, _ in settings.LANGUAGES
            if (cleaned.get(PATIENT_LABEL + code) or "").strip()}
        return cleaned


@admin.register(TimePoint)
class TimePointAdmin(ScopedAdmin):
    form = TimePointForm
    ordering = ("study__code", "target_day")
    list_display = ("code", "study", "label", "target_day", "window_before_days",
                    "window_after_days", "is_baseline")
    list_filter = ("study",)
    inlines = [TimePointInstrumentInline]
    exclude = ("patient_labels",)

    def get_fieldsets(self, request, obj=None):
        """The model's fields, then "Names for patients": a box per interface language."""
        (name, options), *rest = super().get_fieldsets(request, obj)
        own = tuple(options["fields"])  # the model's: the names are the form's own fields
        names = tuple(PATIENT_LABEL + code for code, _ in settings.LANGUAGES)
        if not self.has_change_permission(request, obj):
            return ((name, {**options, "fields": own}), *rest)
        return ((name, {**options, "fields": own}),
                ("Names for patients", {"fields": names, "description": (
                    "Reminders and the patient's pages name the time point in the patient's "
                    "language.")}), *rest)

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The names for patients are the form's own fields, not the model's.
        if kwargs.get("fields") is not None:
            kwargs["fields"] = [name for name in kwargs["fields"]
                                if not name.startswith(PATIENT_LABEL)]
        return super().get_form(request, obj, change, **kwargs)


class ReminderInline(ScopedTabularInline):
    model = Reminder
    extra = 0
    readonly_fields = ("kind", "channel", "status", "claimed_at", "sent_at", "attempts",
                       "last_error")
    can_delete = False


@admin.register(Visit)
class VisitAdmin(ScopedAdmin):
    ordering = ("enrolment__study__code", "enrolment__patient__code", "target_date")
    list_display = ("enrolment", "timepoint", "target_date", "window_open_date",
                    "window_close_date", "status", "completed_at")
    list_filter = ("status", "timepoint__code", "enrolment__study")
    search_fields = ("enrolment__patient__code",)
    list_select_related = ("enrolment__patient", "enrolment__arm", "timepoint")
    # Dates move with the index date (patient page); completion comes from the responses.
    readonly_fields = ("enrolment", "timepoint", "target_date", "window_open_date",
                       "window_close_date", "status", "completed_at", "token_created_at")
    date_hierarchy = "target_date"
    inlines = [ReminderInline]


@admin.register(Reminder)
class ReminderAdmin(ScopedAdmin):
    list_display = ("visit", "kind", "channel", "status", "sent_at", "attempts")
    list_filter = ("status", "kind", "channel")
    search_fields = ("visit__enrolment__patient__code",)
    list_select_related = ("visit__enrolment__patient", "visit__timepoint")
