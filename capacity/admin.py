"""Admin of the capacity app: the connection queue planners keep, and the runs and feeder
states they read (what a feeder without enough data lacks)."""

from __future__ import annotations

from django.contrib import admin, messages

from capacity.models import ConnectionRequest, FeederCapacity, Run
from capacity.tasks import recompute_later
from core.admin import LargeTableMixin


@admin.register(ConnectionRequest)
class ConnectionRequestAdmin(admin.ModelAdmin):
    list_display = ["public_id", "state", "submitted_on", "mw", "feeder", "pole", "technology",
                    "as_of"]  # fmt: skip
    list_filter = ["state", "distributor", "technology"]
    list_select_related = ["feeder", "pole"]
    search_fields = ["public_id", "pole__plate", "feeder__code"]
    autocomplete_fields = ["feeder"]
    raw_id_fields = ["pole"]
    ordering = ["-submitted_on", "public_id"]
    fieldsets = [
        (None, {"fields": ["distributor", "public_id", "state", "submitted_on"]}),
        ("Proyecto", {"fields": ["mw", "technology", "feeder", "pole"]}),
        ("Actualización", {"fields": ["as_of"]}),
    ]

    def save_model(self, request, obj, form, change):
        before = None
        if change:
            before = (
                ConnectionRequest.objects.filter(pk=obj.pk)
                .values_list("feeder_id", flat=True)
                .first()
            )
        super().save_model(request, obj, form, change)
        # The capacity left behind the constraint changes with the queue.
        recompute_later({obj.feeder_id, before}, trigger="cola de conexión modificada")

    def delete_model(self, request, obj):
        feeder = obj.feeder_id
        super().delete_model(request, obj)
        recompute_later({feeder}, trigger="cola de conexión modificada")

    def delete_queryset(self, request, queryset):
        feeders = set(queryset.values_list("feeder_id", flat=True))
        super().delete_queryset(request, queryset)
        recompute_later(feeders, trigger="cola de conexión modificada")


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(ReadOnly):
    list_display = ["pk", "started_at", "scope", "trigger", "status", "feeders", "poles",
                    "without_data", "seconds"]  # fmt: skip
    list_filter = ["status", "scope"]
    ordering = ["-started_at"]
    fields = ["started_at", "finished_at", "scope", "trigger", "status", "feeders", "poles",
              "without_data", "seconds", "parameters", "error"]  # fmt: skip


@admin.register(FeederCapacity)
class FeederCapacityAdmin(LargeTableMixin, ReadOnly):
    list_display = ["feeder", "status", "stale", "run", "computed_at", "min_load_kw"]
    list_filter = ["status", "stale"]
    list_select_related = ["feeder", "run"]
    search_fields = ["feeder__code", "feeder__name"]
    ordering = ["feeder__code"]
    fields = ["feeder", "status", "missing_list", "stale", "run", "computed_at", "min_load_kw"]
    raw_id_fields = ["feeder", "run"]
    readonly_fields = ["missing_list"]
    actions = ["recompute"]

    @admin.display(description="datos faltantes")
    def missing_list(self, obj: FeederCapacity) -> str:
        return "\n".join(obj.missing) or "—"

    @admin.action(description="Recalcular ahora los alimentadores seleccionados")
    def recompute(self, request, queryset):
        ids = list(queryset.values_list("feeder_id", flat=True))
        recompute_later(ids, trigger=f"recálculo pedido por {request.user.get_username()}")
        self.message_user(
            request, f"Recálculo de {len(ids)} alimentadores encolado.", messages.SUCCESS
        )
