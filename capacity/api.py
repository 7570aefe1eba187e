"""REST API of the capacity results, mounted at /api/capacidad/ (namespace "capacity-api").

Every registered profile reads them, as it reads the network they are derived from; each
value names the run that computed it and its date, and says it is indicative. The downloads
are streamed row by row from a server-side cursor: the whole network, uncapped, in flat
memory.
"""

from __future__ import annotations

import json

import django_filters
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import F, QuerySet
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from accounts.api import AccessLogged
from accounts.permissions import SeesCapacity, sees_capacity_missing_data
from capacity.models import Criterion, PoleCapacity
from capacity.services.query import capacity_class, feeder_view
from core.api.pagination import FeatureCursorPagination
from core.api.renderers import GeoJSONRenderer, csv_lines
from network.api.serializers import PointGeometry
from network.models import Feeder, Pole

CHUNK = 5000
INDICATIVE = (
    "Valores indicativos (IEC 60909 y capacidad de conexión estimada); no reemplazan el "
    "estudio de conexión. Método: docs/capacity.md."
)


class PoleCapacityFilter(django_filters.FilterSet):
    alimentador = django_filters.NumberFilter(
        field_name="feeder_id", help_text="Id del alimentador."
    )
    disponible_min = django_filters.NumberFilter(
        field_name="capacity__remaining_mw",
        lookup_expr="gte",
        help_text="Capacidad disponible mínima (MW).",
    )

    class Meta:
        model = Pole
        fields = ["alimentador", "disponible_min"]


def _cap(name: str, help_text: str, kind=serializers.FloatField, **extra):
    return kind(source=f"capacity.{name}", read_only=True, help_text=help_text, **extra)


class PoleCapacitySerializer(GeoFeatureModelSerializer):
    """Cortocircuito y capacidad indicativa de conexión en un poste (id del poste)."""

    location = PointGeometry()
    feeder_code = serializers.CharField(
        source="feeder.code", read_only=True, help_text="Id del alimentador."
    )
    distance_km = _cap("distance_km", "Distancia a la subestación por la red (km).")
    ik3_max_ka = _cap("ik3_max_ka", "Ik''3 máxima, IEC 60909 (kA).")
    ik3_min_ka = _cap("ik3_min_ka", "Ik''3 mínima (kA).")
    ik1_min_ka = _cap("ik1_min_ka", "Ik''1 mínima, falla a tierra (kA).")
    scc_mva = _cap("scc_mva", "Potencia de cortocircuito trifásica máxima (MVA).")
    hosting_mw = _cap("hosting_mw", "Capacidad indicativa de conexión (MW).")
    criterion = _cap("criterion", "Criterio limitante.", serializers.CharField)
    criterion_label = _cap("get_criterion_display", "Criterio limitante.", serializers.CharField)
    limit_kind = _cap(
        "limit_kind", "Elemento limitante: poste, vano o transformador.", serializers.CharField
    )
    limit_code = _cap("limit_code", "Id del elemento limitante.", serializers.CharField)
    limit_value = _cap("limit_value", "Valor del criterio en el límite.")
    limit_unit = _cap("limit_unit", "Unidad de limit_value.", serializers.CharField)
    base_voltage_pu = _cap("base_voltage_pu", "Tensión a demanda mínima, sin la inyección (pu).")
    downstream_mw = _cap(
        "downstream_mw", "Generación conectada y en cola aguas abajo de la restricción (MW)."
    )
    remaining_mw = _cap("remaining_mw", "Capacidad disponible (MW).")
    capacity_class = serializers.SerializerMethodField(help_text="baja, media o alta.")
    run = _cap("run_id", "Id del cálculo.", serializers.IntegerField)
    run_date = _cap("run.started_at", "Fecha del cálculo.", serializers.DateTimeField)
    stale = serializers.SerializerMethodField(
        help_text="La topología del alimentador cambió después del cálculo."
    )
    indicative = serializers.SerializerMethodField()

    class Meta:
        model = Pole
        geo_field = "location"
        fields = (
            "id", "plate", "feeder", "feeder_code", "distance_km", "ik3_max_ka", "ik3_min_ka",
            "ik1_min_ka", "scc_mva", "hosting_mw", "criterion", "criterion_label", "limit_kind",
            "limit_code", "limit_value", "limit_unit", "base_voltage_pu", "downstream_mw",
            "remaining_mw", "capacity_class", "run", "run_date", "stale", "indicative",
            "as_of", "location",
        )  # fmt: skip

    @extend_schema_field(OpenApiTypes.STR)
    def get_capacity_class(self, obj) -> str | None:
        return capacity_class(obj.capacity.remaining_mw)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_stale(self, obj) -> bool:
        return bool(getattr(obj, "feeder_stale", False))

    @extend_schema_field(OpenApiTypes.STR)
    def get_indicative(self, obj) -> str:
        return INDICATIVE


@extend_schema_view(
    list=extend_schema(summary="Capacidad indicativa por poste (GeoJSON, paginada con cursor)"),
    retrieve=extend_schema(summary="Capacidad indicativa en un poste (id del poste)"),
)
class PoleCapacityViewSet(AccessLogged, viewsets.ReadOnlyModelViewSet):
    """Cortocircuito IEC 60909 (Ik''3 máx./mín., Ik''1 mín., Scc) y capacidad indicativa de
    conexión en cada poste, con su criterio y elemento limitante, la generación conectada y
    en cola aguas abajo, la capacidad disponible y el cálculo que la produjo. Los postes de
    un alimentador sin datos suficientes no tienen valores."""

    serializer_class = PoleCapacitySerializer
    permission_classes = [SeesCapacity]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PoleCapacityFilter
    renderer_classes = [JSONRenderer, GeoJSONRenderer, BrowsableAPIRenderer]
    pagination_class = FeatureCursorPagination
    cursor_ordering = ("id",)
    lookup_value_regex = r"[0-9]+"
    detail_kind = "poste"
    basename = "capacidad"

    def get_queryset(self) -> QuerySet:
        return (
            Pole.objects.filter(capacity__isnull=False)
            .select_related("capacity__run", "feeder")
            .annotate(feeder_stale=F("feeder__capacity__stale"))
        )

    def get_object(self):
        try:
            self._logged_instance = super().get_object()
        except Http404:
            pk = self.kwargs.get("pk")
            raise NotFound(f"No hay capacidad calculada para el poste con id {pk}.") from None
        return self._logged_instance


class FeederCapacityView(AccessLogged, APIView):
    """Estado del cálculo de un alimentador, su resumen y su cola de conexión."""

    permission_classes = [SeesCapacity]
    detail_kind = "alimentador"
    log_name = "capacidad"

    @extend_schema(
        summary="Capacidad de un alimentador: estado, resumen, generación conectada y en cola",
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No existe.")},
    )
    def get(self, request, pk: int):
        feeder = Feeder.objects.filter(pk=pk).first()
        if feeder is None:
            raise NotFound(f"No se encontró alimentador con id {pk}.")
        self._logged_instance = feeder
        view = feeder_view(feeder)
        state = view.state
        body = {
            "feeder": feeder.pk,
            "feeder_code": feeder.code,
            "status": state.status if state else None,
            "status_label": state.get_status_display() if state else "Sin calcular",
            "stale": state.stale if state else None,
            "run": view.run.pk if view.run else None,
            "run_date": view.run.started_at.isoformat() if view.run else None,
            "poles": view.poles,
            "hosting_min_mw": view.hosting_min,
            "hosting_max_mw": view.hosting_max,
            "remaining_max_mw": view.remaining_max,
            "poles_by_class": view.classes,
            "connected_eg_mw": round(view.connected_eg_mw, 3),
            "connected_pmgd_mw": round(view.connected_pmgd_mw, 3),
            "queued_mw": round(view.queued_mw, 3),
            "requests": [
                {
                    "public_id": r.public_id,
                    "state": r.state,
                    "state_label": r.get_state_display(),
                    "submitted_on": r.submitted_on.isoformat(),
                    "mw": float(r.mw),
                    "pole": r.pole.plate,
                    "technology": r.technology,
                }
                for r in view.requests
            ],  # fmt: skip
            "indicative": INDICATIVE,
        }
        if sees_capacity_missing_data(request.user) and state is not None:
            body["missing"] = state.missing  # what to fix, for those who maintain the data
        return Response(body)


COLUMNS = [
    ("pole__plate", "Placa poste"), ("feeder__code", "Id alimentador"),
    ("distance_km", "Distancia a la subestación (km)"), ("ik3_max_ka", "Ik''3 máx. (kA)"),
    ("ik3_min_ka", "Ik''3 mín. (kA)"), ("ik1_min_ka", "Ik''1 mín. (kA)"),
    ("scc_mva", "Scc (MVA)"), ("hosting_mw", "Capacidad indicativa (MW)"),
    ("criterion", "Criterio limitante"), ("limit_kind", "Elemento limitante"),
    ("limit_code", "Id elemento limitante"), ("limit_value", "Valor en el límite"),
    ("downstream_mw", "Generación conectada y en cola aguas abajo (MW)"),
    ("remaining_mw", "Capacidad disponible (MW)"), ("run_id", "Cálculo"),
    ("run__started_at", "Fecha del cálculo"), ("feeder__capacity__stale", "Desactualizado"),
]  # fmt: skip


class CapacityDownloadView(AccessLogged, APIView):
    """Toda la capacidad por poste (o la de un alimentador) en CSV o GeoJSON, sin tope."""

    permission_classes = [SeesCapacity]
    log_name = "capacidad (descarga)"

    @extend_schema(
        summary="Descarga completa de la capacidad por poste (CSV o GeoJSON, en flujo)",
        parameters=[
            OpenApiParameter(
                "formato", str, enum=["csv", "geojson"], description="Por omisión csv."
            ),
            OpenApiParameter("alimentador", int, description="Solo este alimentador."),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/geo+json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request):
        fmt = request.GET.get("formato", "csv")
        if fmt not in ("csv", "geojson"):
            raise ValidationError({"formato": ["Debe ser csv o geojson."]})
        rows = PoleCapacity.objects.order_by("pole_id")
        name = "capacidad-red"
        feeder = request.GET.get("alimentador")
        if feeder:
            code = (
                Feeder.objects.filter(pk=int(feeder)).values_list("code", flat=True).first()
                if feeder.isdigit() and len(feeder) <= 18  # beyond bigint: no such feeder
                else None
            )
            if code is None:
                raise NotFound(f"No se encontró alimentador con id {feeder}.")
            rows = rows.filter(feeder_id=int(feeder))
            name = f"capacidad-alimentador-{code}"
        keys = [key for key, _ in COLUMNS]
        stamp = timezone.localdate().isoformat()
        if fmt == "csv":
            values = _labelled(rows.values_list(*keys).iterator(chunk_size=CHUNK), keys)
            response = StreamingHttpResponse(
                csv_lines([header for _, header in COLUMNS], values),
                content_type="text/csv; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
            return response
        values = rows.annotate(geometry=AsGeoJSON("pole__location", precision=7)).values_list(
            *keys, "geometry"
        )
        response = StreamingHttpResponse(
            _geojson(values.iterator(chunk_size=CHUNK)), content_type="application/geo+json"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.geojson"'
        return response


def _labelled(rows, keys):
    """Criterion and limiting element by their Spanish labels, for the spreadsheet."""
    criterion, kind = keys.index("criterion"), keys.index("limit_kind")
    criteria, kinds = dict(Criterion.choices), dict(PoleCapacity.Limit.choices)
    for row in rows:
        row = list(row)
        row[criterion] = criteria.get(row[criterion], row[criterion])
        row[kind] = kinds.get(row[kind], row[kind])
        yield row


def _geojson(rows):
    yield '{"type":"FeatureCollection","indicative":' + json.dumps(INDICATIVE) + ',"features":['
    first = True
    for row in rows:
        *values, geometry = row
        properties = {}
        for (key, _), value in zip(COLUMNS, values, strict=True):
            name = key.replace("__", "_")
            properties[name] = value.isoformat() if hasattr(value, "isoformat") else value
        properties["capacity_class"] = capacity_class(properties["remaining_mw"])
        feature = {"type": "Feature", "geometry": json.loads(geometry), "properties": properties}
        yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False)
        first = False
    yield "]}"
