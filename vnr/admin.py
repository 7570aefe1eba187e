from __future__ import annotations

from django.contrib import admin

from core.admin import LargeTableMixin
from vnr.models import COST_FIELDS, VnrCode


@admin.register(VnrCode)
class VnrCodeAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ["code", "description", "unit", "total_sin_derechos", "as_of"]
    list_filter = ["unit"]
    search_fields = ["code", "description"]
    ordering = ["code"]
    fieldsets = [
        (None, {"fields": ["code", "description", "unit", "as_of"]}),
        ("Costos (pesos chilenos)", {"fields": list(COST_FIELDS)}),
    ]
