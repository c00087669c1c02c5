from django.contrib import admin

from outcomes.admin_scope import ScopedAdmin, ScopedTabularInline

from .models import Reminder, TimePoint, TimePointInstrument, Visit


class TimePointInstrumentInline(ScopedTabularInline):
    model = TimePointInstrument
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
