"""Admin of the quality of supply: planned outages (planners enter them, with their reason;
who and when is recorded), outage events (read-only but for marking them planned) and
interruptions (read-only)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.utils import timezone

from core.months import month_start, months_between
from outages.models import Interruption, OutageEvent, PlannedOutage, ReliabilityIndex
from outages.services.rebuild import replan

MINUTE = timedelta(minutes=1)


def _replan_months(obj: PlannedOutage) -> list:
    return months_between(month_start(obj.starts_at), month_start(obj.ends_at))


@admin.register(PlannedOutage)
class PlannedOutageAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "ends_at", "feeder", "transformer", "reason", "created_by"]
    list_select_related = ["feeder", "transformer", "created_by"]
    search_fields = ["reason", "feeder__code", "feeder__name", "transformer__code"]
    raw_id_fields = ["feeder", "transformer"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "starts_at"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        previous = PlannedOutage.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        months = set(_replan_months(obj)) | set(_replan_months(previous) if previous else [])
        for month in sorted(months):
            replan(month)
        self.message_user(
            request,
            "Eventos e índices recalculados para " + ", ".join(f"{m:%Y-%m}" for m in months),
            messages.SUCCESS,
        )

    def delete_model(self, request, obj):
        months = _replan_months(obj)
        super().delete_model(request, obj)
        for month in months:
            replan(month)

    def delete_queryset(self, request, queryset):
        months = {m for obj in queryset for m in _replan_months(obj)}
        super().delete_queryset(request, queryset)
        for month in sorted(months):
            replan(month)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutageEvent)
class OutageEventAdmin(ReadOnly):
    list_display = [
        "started_at",
        "ended_at",
        "kind",
        "feeder",
        "transformer",
        "customers",
        "customer_minutes",
        "planned",
    ]
    list_filter = ["kind", "month", ("planned", admin.EmptyFieldListFilter)]
    list_select_related = ["feeder", "transformer", "planned"]
    search_fields = ["feeder__code", "feeder__name", "transformer__code"]
    date_hierarchy = "started_at"
    raw_id_fields = ["feeder", "transformer", "planned"]
    actions = ["mark_planned"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Only through the action, which needs the right to enter planned outages.
        return False

    @admin.action(description="Marcar como programada (motivo: mantenimiento programado)")
    def mark_planned(self, request, queryset):
        if not request.user.has_perm("outages.add_plannedoutage"):
            self.message_user(request, "Sin permiso para registrar interrupciones programadas.",
                              messages.ERROR)  # fmt: skip
            return
        months = set()
        for event in queryset.select_related("feeder"):
            plan = PlannedOutage.objects.create(
                feeder=event.feeder,
                transformer=event.transformer,
                starts_at=event.started_at,
                # A zero-minute event still gets a window that ends after it starts.
                ends_at=max(event.ended_at or timezone.now(), event.started_at + MINUTE),
                reason=f"Mantenimiento programado (marcado desde el evento {event.pk})",
                created_by=request.user,
            )
            months.update(_replan_months(plan))
        for month in sorted(months):
            replan(month)
        self.message_user(
            request,
            f"{queryset.count()} eventos marcados como programados; corrija el motivo en "
            "Interrupciones programadas.",
            messages.SUCCESS,
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("outages.add_plannedoutage"):
            actions.pop("mark_planned", None)
        return actions


@admin.register(Interruption)
class InterruptionAdmin(ReadOnly):
    list_display = ["started_at", "ended_at", "minutes", "source", "excluded", "transformer",
                    "customer_number", "event"]  # fmt: skip
    list_filter = ["source", "excluded", "month"]
    list_select_related = ["transformer", "customer", "event"]
    search_fields = ["customer__number", "transformer__code", "meter__serial"]
    raw_id_fields = ["event", "meter", "customer", "transformer", "feeder"]
    show_full_result_count = False

    @admin.display(description="cliente")
    def customer_number(self, obj) -> str:
        # A customer is a number tied to a transformer here: no name, RUT or address.
        return obj.customer.number


@admin.register(ReliabilityIndex)
class ReliabilityIndexAdmin(ReadOnly):
    list_display = ["month", "level", "feeder", "comuna", "distributor", "customers_served",
                    "saifi", "saidi"]  # fmt: skip
    list_filter = ["level", "month"]
    list_select_related = ["feeder", "comuna", "distributor"]
    raw_id_fields = ["feeder", "comuna", "distributor"]
