"""Admin of the network model, for the planners who maintain the topology.

Poles, spans, transformers and customers count in the millions nationally: their foreign keys
are raw ids or autocompletes (never a <select> of every row), their lists never count the
whole table, their filters only query small tables or fixed choices, and they are ordered by
(distributor, code), the unique index, so a page never sorts the whole table.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.db.models import Q
from stdnum.cl import rut as rut_lib

from core.admin import LargeTableMixin, MonthFilter
from geo.admin import MapAdmin, UtmMixin
from network.models import (
    Customer,
    Distributor,
    Equipment,
    EquipmentSetting,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)

DATED = ("Actualización", {"fields": ["as_of"]})


class PhasesFilter(admin.SimpleListFilter):
    # Fixed choices: listing the distinct values would scan every span.
    title = "cantidad de fases"
    parameter_name = "phases"

    def lookups(self, request, model_admin):
        return [("1", "1"), ("2", "2"), ("3", "3")]

    def queryset(self, request, queryset):
        return queryset.filter(phases=self.value()) if self.value() else queryset


@admin.register(Distributor)
class DistributorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rut", "synthetic", "as_of"]
    list_display_links = ["code", "name"]
    list_filter = ["synthetic"]
    search_fields = ["code", "name", "rut"]
    ordering = ["code"]


class PowerTransformerInline(admin.TabularInline):
    model = PowerTransformer
    fields = ["code", "name", "capacity_mva", "primary_kv", "secondary_kv", "as_of"]
    extra = 0


@admin.register(Substation)
class SubstationAdmin(UtmMixin, MapAdmin):
    list_display = ["code", "name", "distributor", "comuna", "high_voltage_kv", "as_of"]
    list_display_links = ["code", "name"]
    list_filter = ["distributor", "comuna__region"]
    list_select_related = ["distributor", "comuna"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["comuna"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["code"]
    inlines = [PowerTransformerInline]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "name", "comuna", "high_voltage_kv"]}),
        ("Ubicación", {"fields": ["location", "utm_coordinates"]}),
        DATED,
    ]


@admin.register(PowerTransformer)
class PowerTransformerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "substation", "capacity_mva", "primary_kv", "secondary_kv"]
    list_display_links = ["code", "name"]
    list_filter = ["substation__distributor"]
    list_select_related = ["substation"]
    search_fields = ["code", "name", "substation__code", "substation__name"]
    autocomplete_fields = ["substation"]
    ordering = ["substation__code", "code"]


@admin.register(Feeder)
class FeederAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = [
        "code", "name", "kind", "substation", "distributor", "owner",
        "nominal_voltage_kv", "capacity_a", "as_of",
    ]  # fmt: skip
    list_display_links = ["code", "name"]
    list_filter = ["kind", "distributor", "substation__comuna__region"]
    list_select_related = ["substation", "distributor", "owner"]
    search_fields = ["code", "name", "substation__code", "substation__name"]
    autocomplete_fields = ["substation"]
    raw_id_fields = ["purchase_node"]
    ordering = ["distributor_id", "code"]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "name", "substation", "kind"]}),
        ("Subalimentador", {"fields": ["owner", "purchase_node"]}),
        (
            "Características",
            {"fields": ["nominal_voltage_kv", "capacity_a", "power_kva", "short_circuit_kva"]},
        ),
        DATED,
    ]


@admin.register(Pole)
class PoleAdmin(LargeTableMixin, UtmMixin, MapAdmin):
    list_display = ["plate", "feeder", "distributor", "mt_voltage_kv", "bt_voltage_v", "vnr"]
    list_filter = ["distributor", "feeder__substation__comuna__region"]
    list_select_related = ["feeder", "distributor", "vnr"]
    search_fields = ["plate"]
    identifier_fields = ("plate",)
    autocomplete_fields = ["feeder", "vnr"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "plate"]
    fieldsets = [
        (None, {"fields": ["distributor", "plate", "feeder", "vnr"]}),
        ("Características", {"fields": ["mt_voltage_kv", "bt_voltage_v", "material", "height_m"]}),
        ("Ubicación", {"fields": ["location", "utm_coordinates"]}),
        DATED,
    ]


@admin.register(Span)
class SpanAdmin(LargeTableMixin, MapAdmin):
    list_display = [
        "code", "feeder", "from_pole", "to_pole", "length_m", "phases",
        "conductor_material", "capacity_a",
    ]  # fmt: skip
    list_filter = ["distributor", PhasesFilter]
    list_select_related = ["feeder", "from_pole", "to_pole"]
    search_fields = ["code"]
    identifier_fields = ("code",)
    autocomplete_fields = ["feeder", "vnr"]
    raw_id_fields = ["from_pole", "to_pole"]
    ordering = ["distributor_id", "code"]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "feeder", "from_pole", "to_pole", "vnr"]}),
        (
            "Conductor",
            {
                "fields": [
                    "length_m",
                    "conductor_material",
                    "conductor_insulation",
                    "capacity_a",
                    "phases",
                ]
            },
        ),
        ("Trazado", {"fields": ["geom"]}),
        DATED,
    ]


class EquipmentSettingInline(admin.TabularInline):
    model = EquipmentSetting
    fields = [
        "month", "capacity_a", "capacity_kva", "connection", "operating_mode",
        "voltage_setpoints", "transformation_ratio",
    ]  # fmt: skip
    extra = 1


@admin.register(Equipment)
class EquipmentAdmin(LargeTableMixin, UtmMixin, MapAdmin):
    list_display = [
        "code", "kind", "feeder", "pole", "capacity_a", "capacity_kva", "operating_mode", "as_of",
    ]  # fmt: skip
    list_filter = ["kind", "distributor"]
    list_select_related = ["feeder", "pole"]
    search_fields = ["code"]
    identifier_fields = ("code",)
    autocomplete_fields = ["feeder", "vnr"]
    raw_id_fields = ["pole"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "code"]
    inlines = [EquipmentSettingInline]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "kind", "feeder", "pole", "vnr"]}),
        (
            "Características (vigentes)",
            {
                "fields": [
                    "capacity_a",
                    "capacity_kva",
                    "connection",
                    "operating_mode",
                    "voltage_setpoints",
                    "transformation_ratio",
                ]
            },
        ),
        ("Ubicación", {"fields": ["location", "utm_coordinates"]}),
        DATED,
    ]


@admin.register(EquipmentSetting)
class EquipmentSettingAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = [
        "equipment", "month", "capacity_a", "capacity_kva", "connection", "operating_mode",
    ]  # fmt: skip
    list_select_related = ["equipment"]
    list_filter = [MonthFilter, "equipment__kind", "equipment__distributor"]
    search_fields = ["equipment__code"]
    identifier_fields = ("equipment__code",)
    raw_id_fields = ["equipment"]
    ordering = ["-equipment_id", "-month"]


@admin.register(Transformer)
class TransformerAdmin(LargeTableMixin, UtmMixin, MapAdmin):
    list_display = [
        "code", "plate", "name", "feeder", "kind", "phases", "capacity_kva", "smmc", "as_of",
    ]  # fmt: skip
    list_display_links = ["code", "plate"]
    list_filter = ["distributor", "kind", "phases", "smmc"]
    list_select_related = ["feeder"]
    search_fields = ["code", "plate", "name"]
    identifier_fields = ("code", "plate")
    autocomplete_fields = ["feeder", "vnr"]
    raw_id_fields = ["pole"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "code"]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "plate", "name", "feeder", "pole", "vnr"]}),
        (
            "Características",
            {
                "fields": [
                    "kind",
                    "phases",
                    "capacity_kva",
                    "connection",
                    "primary_kv",
                    "secondary_v",
                    "smmc",
                ]
            },
        ),
        ("Ubicación", {"fields": ["location", "utm_coordinates"]}),
        DATED,
    ]


RUT_LIKE = re.compile(r"^[0-9][0-9.]{0,10}-?[0-9kK]$")


def candidate_ruts(term: str) -> list[str]:
    """Normalized RUTs ("12345678-5") a search term may mean, typed with or without the check
    digit, dots or dash."""
    ruts = []
    if RUT_LIKE.match(term) and rut_lib.is_valid(term):
        compact = rut_lib.compact(term)
        ruts.append(f"{compact[:-1]}-{compact[-1]}")
    if term.isdigit() and len(term) <= 8:
        ruts.append(f"{int(term)}-{rut_lib.calc_check_digit(term)}")
    return ruts


@admin.register(Customer)
class CustomerAdmin(LargeTableMixin, UtmMixin, MapAdmin):
    list_display = ["number", "name", "rut", "address", "comuna", "transformer", "is_eg"]
    list_display_links = ["number", "name"]
    list_filter = ["distributor", "is_eg", "eg_technology", "comuna__region"]
    list_select_related = ["comuna", "transformer"]
    search_fields = ["=number", "=rut", "name", "address"]
    autocomplete_fields = ["comuna"]
    raw_id_fields = ["transformer"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "number"]
    fieldsets = [
        (None, {"fields": ["distributor", "number", "rut", "name", "email", "phone"]}),
        ("Servicio", {"fields": ["address", "comuna", "billing_day", "service_capacity_kw"]}),
        ("Red", {"fields": ["transformer", "location", "utm_coordinates"]}),
        (
            "Generación (EG)",
            {"fields": ["is_eg", "eg_capacity_kw", "eg_technology", "eg_connected_on"]},
        ),
        DATED,
    ]

    def get_search_results(self, request, queryset, search_term):
        # A customer number or a RUT however it is typed ("12.345.678-5", "12345678") is an
        # exact match on its column; only words search names and addresses.
        term = search_term.strip()
        ruts = candidate_ruts(term)
        if ruts:
            return queryset.filter(Q(number=term) | Q(rut__in=ruts)), False
        return super().get_search_results(request, queryset, search_term)
