"""Admin: meters, the OBIS and CIM catalogs, ingest runs and VEE reports (staff only); load
transfers (planners too: accounts.services.PLANNER_EXTRA_MODELS)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from metering.models import (
    Alarm,
    BackupComparison,
    EnergyBalance,
    IngestRun,
    LoadTransfer,
    Meter,
    MeterEventType,
    ObisCode,
    ReadingRevision,
    ReadingType,
    ValidationDay,
    VeeEdit,
    VirtualTerm,
)
from metering.services import virtual


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = [
        "serial", "kind", "virtual", "backup_for", "customer", "transformer", "feeder",
        "installed_on",
    ]  # fmt: skip
    list_select_related = ["customer", "transformer", "feeder", "backup_for"]
    list_filter = ["kind", "virtual"]
    search_fields = ["serial", "customer__number", "transformer__code", "feeder__code"]
    raw_id_fields = ["customer", "transformer", "feeder", "backup_for"]


class VirtualTermForm(forms.ModelForm):
    class Meta:
        model = VirtualTerm
        fields = ["channel", "source", "sign", "valid_from", "valid_to"]

    def clean(self):
        data = super().clean()
        channel, source = data.get("channel"), data.get("source")
        if channel is None or source is None or data.get("valid_from") is None:
            return data
        term = virtual.Term(source, data["sign"], data["valid_from"], data.get("valid_to"))
        overlapping = VirtualTerm.objects.filter(channel=channel, source=source).exclude(
            pk=self.instance.pk
        )
        for other in overlapping:
            if virtual.overlaps(other.valid_from, other.valid_to, term.valid_from, term.valid_to):
                raise forms.ValidationError(
                    f"{source.meter.serial} ya es término de este canal entre el "
                    f"{other.valid_from:%d/%m/%Y} y el "
                    f"{other.valid_to:%d/%m/%Y}" if other.valid_to else
                    f"{source.meter.serial} ya es término de este canal desde el "
                    f"{other.valid_from:%d/%m/%Y}"
                )  # fmt: skip
        try:
            virtual.check_terms(channel, [term])
        except virtual.DefinitionError as error:
            raise forms.ValidationError(str(error).capitalize() + ".") from None
        return data


@admin.register(VirtualTerm)
class VirtualTermAdmin(admin.ModelAdmin):
    """Planners maintain the virtual meters' formulas term by term (a CSV:
    manage.py import_virtual_meters). The values are computed after the next ingest or the
    daily task."""

    form = VirtualTermForm
    list_display = ["channel", "sign", "source", "valid_from", "valid_to"]
    list_select_related = ["channel__meter", "source__meter"]
    raw_id_fields = ["channel", "source"]
    search_fields = ["channel__meter__serial", "source__meter__serial"]
    date_hierarchy = "valid_from"


@admin.register(ObisCode)
class ObisCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit", "cumulative"]
    search_fields = ["code", "name"]


@admin.register(ReadingType)
class ReadingTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit", "interval_minutes", "obis"]
    list_select_related = ["obis"]
    search_fields = ["code", "name", "obis__code"]


@admin.register(MeterEventType)
class MeterEventTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category"]
    list_filter = ["category"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnly):
    list_display = [
        "file_name",
        "started_at",
        "status",
        "values_read",
        "inserted",
        "corrected",
        "rejected",
    ]
    list_filter = ["status", "file_format"]
    search_fields = ["file_name", "message_id", "correlation_id", "sha256", "correction"]


@admin.register(ReadingRevision)
class ReadingRevisionAdmin(ReadOnly):
    """What corrections replaced (metering.services.ingest.corrections): never edited."""

    list_display = ["channel", "ts", "previous_value", "value", "run", "reason", "revised_at"]
    list_select_related = ["channel__meter", "channel__reading_type", "run"]
    list_filter = ["register"]
    date_hierarchy = "revised_at"
    raw_id_fields = ["channel", "run", "previous_run"]
    search_fields = ["channel__meter__serial", "reason", "run__file_name"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ValidationDay)
class ValidationDayAdmin(ReadOnly):
    list_display = ["channel", "day", "expected", "received", "missing", "estimated"]
    list_select_related = ["channel__meter", "channel__reading_type"]
    date_hierarchy = "day"
    raw_id_fields = ["channel"]


@admin.register(LoadTransfer)
class LoadTransferAdmin(admin.ModelAdmin):
    """Edited by planners; each change computes the demand of the months it touches again
    (metering.signals)."""

    list_display = ["feeder", "transformer", "starts_at", "ends_at", "reason"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["feeder", "transformer"]
    search_fields = ["feeder__code", "transformer__code", "reason"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._announce(request, obj)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._announce(request, obj)

    def _announce(self, request, transfer: LoadTransfer) -> None:
        """Which months the change computes again (metering.signals sets them)."""
        months = getattr(transfer, "demand_months", set())
        if months:
            names = ", ".join(f"{month:%m-%Y}" for month in sorted(months))
            self.message_user(request, f"Se calcula de nuevo la demanda mensual de: {names}.")


@admin.register(EnergyBalance)
class EnergyBalanceAdmin(ReadOnly):
    list_display = ["transformer", "month", "supplied_kwh", "metered_kwh", "loss_pct", "flagged"]
    list_filter = ["flagged", "month"]
    raw_id_fields = ["transformer"]
    list_select_related = ["transformer"]
    search_fields = ["transformer__code"]


@admin.register(Alarm)
class AlarmAdmin(ReadOnly):
    list_display = ["kind", "meter", "started_at", "ended_at", "detail"]
    list_filter = ["kind"]
    raw_id_fields = ["meter"]
    list_select_related = ["meter"]
    search_fields = ["meter__serial"]


@admin.register(BackupComparison)
class BackupComparisonAdmin(ReadOnly):
    list_display = [
        "channel", "day", "main_kwh", "backup_kwh", "difference_pct", "max_interval_difference",
        "flagged",
    ]  # fmt: skip
    list_filter = ["flagged"]
    list_select_related = ["channel__meter"]
    raw_id_fields = ["channel", "backup_channel"]
    date_hierarchy = "day"
    search_fields = ["channel__meter__serial"]


@admin.register(VeeEdit)
class VeeEditAdmin(ReadOnly):
    """The planners' VEE edits, as made on the VEE page: never changed or deleted."""

    list_display = ["channel", "ts", "action", "previous_value", "value", "reason", "user"]
    list_filter = ["action"]
    list_select_related = ["channel__meter", "user"]
    raw_id_fields = ["channel", "user"]
    search_fields = ["channel__meter__serial", "reason", "user__username"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
