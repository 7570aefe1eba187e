from __future__ import annotations

from django.contrib import admin

from core.admin import LargeTableMixin, MonthFilter
from demand.models import MonthlyDemand


class AssetFilter(admin.SimpleListFilter):
    title = "activo"
    parameter_name = "asset"

    def lookups(self, request, model_admin):
        return [("feeder", "Alimentadores"), ("transformer", "Transformadores")]

    def queryset(self, request, queryset):
        if self.value() == "feeder":
            return queryset.filter(feeder__isnull=False)
        if self.value() == "transformer":
            return queryset.filter(transformer__isnull=False)
        return queryset


@admin.register(MonthlyDemand)
class MonthlyDemandAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = [
        "month", "feeder", "transformer", "max_kw", "min_kw", "excludes_load_transfer", "computed",
    ]  # fmt: skip
    list_filter = [MonthFilter, AssetFilter, "excludes_load_transfer", "computed"]
    list_select_related = ["feeder", "transformer"]
    search_fields = ["=feeder__code", "=transformer__code", "=transformer__plate"]
    autocomplete_fields = ["feeder"]
    raw_id_fields = ["transformer"]
    ordering = ["-month"]
    fields = [
        "feeder", "transformer", "month", "max_kw", "min_kw", "excludes_load_transfer", "computed",
        "as_of",
    ]  # fmt: skip
