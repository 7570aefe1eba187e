"""Admin of demand response.

Programs, enrollments and HAN devices are master data kept here by hand. What came in
messages (prices, events, device states, responses, the messages themselves) is read-only:
it changes only by receiving messages, so that the state of a device always follows from them.
Customers are shown by number and chosen by raw id (there are millions).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import LargeTableMixin
from metering.models import (
    DeviceResponse,
    DrEvent,
    DrEventTarget,
    DrMessage,
    DrProgram,
    HanDevice,
    PriceNotification,
    ProgramEnrollment,
)

DATED = ("Actualización", {"fields": ["as_of"]})


class ReadOnly:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DrProgram)
class DrProgramAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "critical_price_clp_kwh", "incentive_clp_kwh", "as_of"]
    list_display_links = ["code", "name"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "tariff"]}),
        (
            "Precios (CLP/kWh)",
            {"fields": ["base_price_clp_kwh", "critical_price_clp_kwh", "incentive_clp_kwh"]},
        ),
        DATED,
    ]


@admin.register(ProgramEnrollment)
class ProgramEnrollmentAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ["customer", "program", "valid_from", "valid_to"]
    list_filter = ["program"]
    list_select_related = ["customer", "program"]
    search_fields = ["=customer__number"]
    raw_id_fields = ["customer"]
    ordering = ["customer_id", "program_id", "valid_from"]
    fieldsets = [(None, {"fields": ["customer", "program", "valid_from", "valid_to"]}), DATED]


@admin.register(HanDevice)
class HanDeviceAdmin(LargeTableMixin, admin.ModelAdmin):
    list_display = ["mrid", "kind", "customer", "active", "as_of"]
    list_filter = ["kind", "active"]
    list_select_related = ["customer"]
    search_fields = ["=mrid", "=customer__number"]
    raw_id_fields = ["customer"]
    ordering = ["mrid"]
    fieldsets = [(None, {"fields": ["mrid", "customer", "kind", "active"]}), DATED]


@admin.register(PriceNotification)
class PriceNotificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["correlation_id", "program", "starts_at", "ends_at", "price_clp_kwh"]
    list_filter = ["program"]
    list_select_related = ["program"]
    search_fields = ["=correlation_id", "=mrid"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["message"]


@admin.register(DrEvent)
class DrEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "correlation_id",
        "program",
        "signal",
        "starts_at",
        "ends_at",
        "canceled_at",
        "devices",
    ]
    list_filter = ["program", "signal"]
    list_select_related = ["program"]
    search_fields = ["=correlation_id", "=mrid"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["message", "cancel_message"]

    @admin.display(description="dispositivos")
    def devices(self, event: DrEvent) -> str:
        # A link, not an inline: one event may reach thousands of devices.
        url = reverse("admin:metering_dreventtarget_changelist")
        return format_html('<a href="{}?event__id__exact={}">ver estados</a>', url, event.pk)


@admin.register(DrEventTarget)
class DrEventTargetAdmin(ReadOnly, LargeTableMixin, admin.ModelAdmin):
    list_display = ["event", "device", "customer", "state", "acknowledged_at", "answered_at"]
    list_filter = ["state", "event__program"]
    list_select_related = ["event", "device", "customer"]
    search_fields = ["=event__correlation_id", "=device__mrid", "=customer__number"]
    raw_id_fields = ["event", "device", "customer", "ack_response", "answer_response"]
    ordering = ["-id"]


@admin.register(DeviceResponse)
class DeviceResponseAdmin(ReadOnly, LargeTableMixin, admin.ModelAdmin):
    list_display = ["correlation_id", "device", "kind", "at", "status", "reason"]
    list_filter = ["status", "kind"]
    list_select_related = ["device"]
    search_fields = ["=correlation_id", "=device__mrid", "=message_key"]
    raw_id_fields = ["message", "device", "target", "notification"]
    ordering = ["-id"]


@admin.register(DrMessage)
class DrMessageAdmin(ReadOnly, LargeTableMixin, admin.ModelAdmin):
    list_display = ["message_id", "correlation_id", "noun", "verb", "received_at", "outcome"]
    list_filter = ["outcome", "noun", "channel"]
    search_fields = ["=message_id", "=correlation_id"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-id"]
