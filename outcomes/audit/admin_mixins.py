"""Admin pages that write the audit trail, like the app's own pages do.

An administrator's edit of clinical or personal data in the admin is recorded with
its before and after values; opening a record that shows identifying data is
recorded as a view; clinical records are never deleted from the admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from .services import record_change, snapshot


class AuditedAdmin(admin.ModelAdmin):
    #: Record who opened a record of this model (identifying data).
    audit_views = False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.audit_views and request.method == "GET":
            obj = self.get_object(request, object_id)
            # Only a page the user may see is a disclosure: a refused one (403) is not.
            if obj is not None and self.has_view_or_change_permission(request, obj):
                record_change(obj=obj, action="view", actor=request.user, reason="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        before = {}
        if change and obj.pk is not None:
            stored = type(obj).objects.filter(pk=obj.pk).first()
            before = snapshot(stored) if stored is not None else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_change(obj=obj, action="update" if change else "create",
                          actor=request.user, before=before, after=snapshot(obj),
                          reason="admin")

    def save_formset(self, request, form, formset, change):
        """Inline rows (contact details, injected structures): audited one by one."""
        befores = {}
        for inline_form in formset.forms:
            instance = inline_form.instance
            if instance.pk is not None and inline_form.has_changed():
                stored = type(instance).objects.filter(pk=instance.pk).first()
                if stored is not None:
                    befores[instance.pk] = snapshot(stored)
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for instance in formset.new_objects:
                record_change(obj=instance, action="create", actor=request.user,
                              after=snapshot(instance), reason="admin")
            for instance, _fields in formset.changed_objects:
                record_change(obj=instance, action="update", actor=request.user,
                              before=befores.get(instance.pk, {}), after=snapshot(instance),
                              reason="admin")
            for instance in formset.deleted_objects:
                record_change(obj=instance, action="delete", actor=request.user,
                              before=snapshot(instance), reason="admin")
