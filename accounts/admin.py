from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AccessLog, User
from core.admin import EstimatedCountPaginator

PROFILE = ("Perfil en el portal", {"fields": ["profile", "rut", "customer"]})


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username", "email", "first_name", "last_name", "profile", "rut", "customer", "is_staff",
    ]  # fmt: skip
    list_filter = ["profile", "is_staff", "is_superuser", "is_active", "groups"]
    list_select_related = ["customer"]
    search_fields = ["username", "email", "first_name", "last_name", "rut", "customer__number"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    fieldsets = [*BaseUserAdmin.fieldsets, PROFILE]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, PROFILE]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """The access trail, read-only: nobody adds, edits or deletes an access from here."""

    list_display = ["at", "user", "kind", "reference", "path", "ip"]
    # The date filter offers fixed ranges (today, 7 days, month, year); a date hierarchy
    # would scan the whole trail for its distinct dates.
    list_filter = ["kind", "at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    # The trail grows without end: no full counts, no facet counts.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
