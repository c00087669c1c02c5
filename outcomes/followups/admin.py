from django.contrib import admin

from outcomes.admin_scope import LabelledInlineFormSet, ScopedAdmin, ScopedTabularInline

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


@admin.register(TimePoint)
class TimePointAdmin(ScopedAdmin):
    ordering = ("study__code", "target_day")
    list_display = ("code", "study", "label", "target_day", "window_before_days",
                    "window_after_days", "is_baseline")
    list_filter = ("study",)
    inlines = [TimePointInstrumentInline]


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
