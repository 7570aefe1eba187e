"""Admin of the network model, for the planners who maintain the topology.

Customers' personal data is not theirs (SPEC): the customer admin shows it only to the staff
with `network.view_customer_personal_data`, and logs every view.

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

from accounts.permissions import sees_customer_personal_data
from accounts.services import log_access
from core.admin import LargeTableMixin, MonthFilter
from geo.admin import MapAdmin, UtmMixin
from network.models import (
    ConductorType,
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
from network.widgets import NetworkMapWidget

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


class NetworkMapAdmin(MapAdmin):
    """The network's assets edit on the map with the stored network drawn around them."""

    gis_widget = NetworkMapWidget


class PowerTransformerInline(admin.TabularInline):
    model = PowerTransformer
    fields = ["code", "name", "capacity_mva", "primary_kv", "secondary_kv", "as_of"]
    extra = 0


@admin.register(Substation)
class SubstationAdmin(UtmMixin, NetworkMapAdmin):
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
        (
            "Red aguas arriba (cortocircuito, IEC 60909)",
            {
                "fields": ["scc_max_mva", "scc_min_mva", "scc_rx", "scc_x0x1", "scc_r0x0"],
                "description": "Potencia de cortocircuito en la barra MT, máxima y mínima, "
                "con la que se calculan el cortocircuito y la capacidad en cada poste.",
            },
        ),
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
class PoleAdmin(LargeTableMixin, UtmMixin, NetworkMapAdmin):
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
class SpanAdmin(LargeTableMixin, NetworkMapAdmin):
    list_display = [
        "code", "feeder", "from_pole", "to_pole", "length_m", "phases",
        "conductor_material", "capacity_a",
    ]  # fmt: skip
    list_filter = ["distributor", PhasesFilter]
    list_select_related = ["feeder", "from_pole", "to_pole"]
    search_fields = ["code"]
    identifier_fields = ("code",)
    autocomplete_fields = ["feeder", "vnr", "conductor_type"]
    raw_id_fields = ["from_pole", "to_pole"]
    ordering = ["distributor_id", "code"]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "feeder", "from_pole", "to_pole", "vnr"]}),
        (
            "Conductor",
            {
                "fields": [
                    "length_m",
                    "conductor_type",
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


@admin.register(ConductorType)
class ConductorTypeAdmin(admin.ModelAdmin):
    list_display = [
        "code", "name", "material", "section_mm2", "insulation", "r20_ohm_km", "r_op_ohm_km",
        "x_ohm_km", "ampacity_a", "as_of",
    ]  # fmt: skip
    list_filter = ["material", "insulation"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "material", "section_mm2", "insulation"]}),
        (
            "Secuencia positiva (Ω/km)",
            {"fields": ["r20_ohm_km", "operating_temp_c", "r_op_ohm_km", "x_ohm_km"]},
        ),
        ("Secuencia cero (Ω/km)", {"fields": ["r0_ohm_km", "x0_ohm_km"]}),
        ("Capacidad", {"fields": ["ampacity_a"]}),
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
class EquipmentAdmin(LargeTableMixin, UtmMixin, NetworkMapAdmin):
    list_display = [
        "code", "kind", "feeder", "pole", "capacity_a", "capacity_kva", "operating_mode", "as_of",
    ]  # fmt: skip
    list_filter = ["kind", "distributor"]
    list_select_related = ["feeder", "pole"]
    search_fields = ["code"]
    identifier_fields = ("code",)
    autocomplete_fields = ["feeder", "vnr"]
    raw_id_fields = ["pole", "span"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "code"]
    inlines = [EquipmentSettingInline]
    fieldsets = [
        (None, {"fields": ["distributor", "code", "kind", "feeder", "pole", "span", "vnr"]}),
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
class TransformerAdmin(LargeTableMixin, UtmMixin, NetworkMapAdmin):
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
                    "vector_group",
                    "vk_percent",
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


# What a user without the personal-data permission (a planner) sees of a customer: a number
# tied to a transformer (SPEC), with the network facts of its service point (comuna, connection
# capacity, EG plant). Not who the customer is (RUT, name, email, phone, address), nor where the
# service point lies: with the number, that point locates the home as well as the address does,
# and the transformer already places the customer in the network. Nor the CIS's billing day.
NETWORK_FIELDSETS = [
    (None, {"fields": ["distributor", "number"]}),
    ("Servicio", {"fields": ["comuna", "service_capacity_kw", "tariff"]}),
    ("Red", {"fields": ["transformer"]}),
    (
        "Generación (EG)",
        {"fields": ["is_eg", "eg_capacity_kw", "eg_technology", "eg_connected_on"]},
    ),
    DATED,
]
# Of those, planners edit the topology: which transformer feeds the customer (and the date of
# that change). The rest comes from the CIS and the connection process.
NETWORK_EDITABLE = ("transformer", "as_of")
NETWORK_FIELDS = [name for _, options in NETWORK_FIELDSETS for name in options["fields"]]
# The changelist's URL filters by these alone (?id__in= is how the admin links rows).
NETWORK_LOOKUPS = frozenset([*NETWORK_FIELDS, "id", "pk"])


@admin.register(Customer)
class CustomerAdmin(LargeTableMixin, UtmMixin, NetworkMapAdmin):
    """Everything to the staff who may see customers' personal data (customer service,
    superusers; accounts.permissions.sees_customer_personal_data); a number tied to a
    transformer to the others (planners), who cannot add or delete customers either: the CIS
    creates and removes them. Every list and change page viewed is in the access log."""

    list_display = ["number", "name", "rut", "address", "comuna", "transformer", "is_eg"]
    list_display_links = ["number", "name"]
    list_filter = ["distributor", "tariff", "is_eg", "eg_technology", "comuna__region"]
    list_select_related = ["comuna", "transformer"]
    search_fields = ["=number", "=rut", "name", "address"]
    autocomplete_fields = ["comuna"]
    raw_id_fields = ["transformer"]
    readonly_fields = ["utm_coordinates"]
    ordering = ["distributor_id", "number"]
    fieldsets = [
        (None, {"fields": ["distributor", "number", "rut", "name", "email", "phone"]}),
        (
            "Servicio",
            {"fields": ["address", "comuna", "billing_day", "service_capacity_kw", "tariff"]},
        ),
        ("Red", {"fields": ["transformer", "location", "utm_coordinates"]}),
        (
            "Generación (EG)",
            {"fields": ["is_eg", "eg_capacity_kw", "eg_technology", "eg_connected_on"]},
        ),
        DATED,
    ]

    def get_list_display(self, request):
        if sees_customer_personal_data(request.user):
            return self.list_display
        return ["number", "comuna", "transformer", "service_capacity_kw", "is_eg"]

    def get_list_display_links(self, request, list_display):
        if sees_customer_personal_data(request.user):
            return self.list_display_links
        return ["number"]

    def get_search_fields(self, request):
        return self.search_fields if sees_customer_personal_data(request.user) else ["=number"]

    def get_fieldsets(self, request, obj=None):
        if sees_customer_personal_data(request.user):
            return self.fieldsets
        return NETWORK_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        if sees_customer_personal_data(request.user):
            return self.readonly_fields
        return [name for name in NETWORK_FIELDS if name not in NETWORK_EDITABLE]

    def lookup_allowed(self, lookup, value, request=None):
        # The changelist filters by any column named in its URL (?rut__startswith=1): a way to
        # guess personal data one character at a time.
        hidden = lookup.split("__", 1)[0] not in NETWORK_LOOKUPS
        if hidden and (request is None or not sees_customer_personal_data(request.user)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        # A new customer needs its RUT, name and address.
        return sees_customer_personal_data(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return sees_customer_personal_data(request.user) and super().has_delete_permission(
            request, obj
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not sees_customer_personal_data(request.user):
            # The customer number alone, as typed or upper-cased, on its own index.
            if not term:
                return queryset, False
            return queryset.filter(number__in={term, term.upper()}), False
        # A customer number or a RUT however it is typed ("12.345.678-5", "12345678") is an
        # exact match on its column; only words search names and addresses.
        ruts = candidate_ruts(term)
        if ruts:
            return queryset.filter(Q(number=term) | Q(rut__in=ruts)), False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if response.status_code == 200:
            log_access(request, "cliente", f"admin lista: {request.GET.urlencode()}")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        customer = (getattr(response, "context_data", None) or {}).get("original")
        if response.status_code == 200 and customer is not None:
            log_access(request, "cliente", f"admin: {customer.number}")
        return response
