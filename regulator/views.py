"""The regulator data service's pages: the volume estimate of the initial load (§6.1) for SEC,
and the contract's JSON Schemas, published for anyone who builds a receiver."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.urls import reverse

from accounts.pages import PortalPage
from accounts.permissions import sees_regulator_deliveries
from regulator import contract, volume
from regulator.models import Batch

ESTIMATE_CACHE_SECONDS = 3600
SCHEMA_MEDIA_TYPE = "application/schema+json"


def _schema_names() -> list[str]:
    return sorted(
        path.name.removesuffix(".schema.json") for path in contract.SCHEMA_DIR.glob("*.schema.json")
    )


class VolumeView(PortalPage):
    """Estimated size of the initial load, entity by entity: records and bytes (JSON Lines,
    gzip), from a serialised sample; recomputed at most once an hour."""

    template_name = "regulator/volume.html"
    page_title = "Volumen estimado de la carga inicial"
    pdf_name = "volumen_carga_inicial"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (user.is_sec or user.is_planner):
            raise PermissionDenied("El volumen de la carga inicial es del perfil SEC.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        estimate = cache.get("regulator:volume")
        if estimate is None:
            estimate = volume.estimate_volume().as_dict()
            cache.set("regulator:volume", estimate, ESTIMATE_CACHE_SECONDS)
        context["estimate"] = estimate
        context["sample"] = volume.DEFAULT_SAMPLE
        context["schemas_url"] = reverse("regulator:schemas")
        return context


def schemas(request):
    """The contract's schemas, by name, with their URLs (everyone: they hold no data)."""
    return JsonResponse(
        {
            "version": contract.CONTRACT_VERSION,
            "schemas": {
                name: request.build_absolute_uri(reverse("regulator:schema", args=[name]))
                for name in _schema_names()
            },
        }
    )


def schema(request, name: str):
    if name not in _schema_names():
        raise Http404("No existe ese esquema.")
    path = contract.SCHEMA_DIR / f"{name}.schema.json"
    return FileResponse(path.open("rb"), content_type=SCHEMA_MEDIA_TYPE)


class DeliveriesView(PortalPage):
    """What was cut for SEC and what became of it: batch by batch, its size, whether SEC
    acknowledged it and how, the push attempts and the alarm of a receiver that keeps
    failing (SEC and planners; no records, only counts and errors)."""

    template_name = "regulator/deliveries.html"
    page_title = "Entregas a la SEC"
    pdf_name = "entregas_sec"
    SHOWN = 200

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not sees_regulator_deliveries(user):
            raise PermissionDenied("Las entregas a la SEC son de los perfiles SEC y planificador.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batches = Batch.objects.order_by("-number")
        context["batches"] = list(batches.prefetch_related("attempts")[: self.SHOWN])
        context["total"] = batches.count()
        context["alarms"] = [b for b in batches.filter(alarm=True, acknowledged_at__isnull=True)]
        context["pending"] = batches.filter(acknowledged_at__isnull=True).count()
        context["push_url"] = bool(settings.REGULATOR_PUSH_URL)
        return context
