from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User

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
