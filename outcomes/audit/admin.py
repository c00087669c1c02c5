from django.contrib import admin

from .models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Read-only: the audit log cannot be edited from the app."""

    list_display = ("at", "action", "object_type", "object_repr", "actor", "actor_label", "reason")
    list_filter = ("action", "object_type")
    search_fields = ("object_repr", "object_id", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("actor",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _register_audited_user_admin() -> None:
    """Roles (groups) and the superuser flag are access grants: audit their changes."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.admin import UserAdmin

    from outcomes.admin_scope import ScopedAdmin

    user_model = get_user_model()

    class AuditedUserAdmin(ScopedAdmin, UserAdmin):
        pass

    if admin.site.is_registered(user_model):
        admin.site.unregister(user_model)
    admin.site.register(user_model, AuditedUserAdmin)


_register_audited_user_admin()
