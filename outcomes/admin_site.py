"""The admin site: Django's, plus the second factor where a study requires one."""

from __future__ import annotations

from django.contrib import admin

from outcomes.access import needs_second_factor, redirect_to_second_factor


class OutcomesAdminSite(admin.AdminSite):
    site_header = "Outcomes administration"
    site_title = "Outcomes"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not needs_second_factor(request.user)

    def login(self, request, extra_context=None):
        # A logged-in staff member stopped only by the second factor goes to confirm it.
        if request.user.is_authenticated and request.user.is_staff and needs_second_factor(
            request.user,
        ):
            return redirect_to_second_factor(request)
        return super().login(request, extra_context)
