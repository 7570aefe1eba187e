"""REST API of the network model: GeoJSON lists and details, grid downloads, schema and docs.

Access rules are the pages' (SPEC "Who uses it"): every registered profile reads all network
data; customers' personal data is for the SEC profile only. Anonymous requests get 403. Every
successful read is written to the access log, one row per request.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON, GeoFunc
from django.db.models import F, Prefetch, QuerySet
from django.http import Http404
from django.templatetags.static import static
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from knox.views import LoginView as KnoxLoginView
from rest_framework import serializers, viewsets
from rest_framework.exceptions import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AccessLogged
from accounts.permissions import IsSecAuditor
from accounts.services import revoke_api_tokens
from core.api.pagination import (
    FeatureCursorPagination,
    FeaturePagination,
    IdCursorPagination,
    NumberPagination,
)
from core.api.renderers import CSVRenderer, GeoJSONRenderer
from demand.models import MonthlyDemand
from geo.models import Comuna, Region
from network.api import filters, grids
from network.api import serializers as api
from network.forms import FeederAssetSearchForm, LocationForm
from network.models import (
    Customer,
    Equipment,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from vnr.models import VnrCode

PRECISION = api.PRECISION  # decimals of a degree: ~10 cm
BOUNDARY_PRECISION = 5
# Tolerance of ?boundary=1 (degrees): ~1 km for regions, ~100 m for comunas.
REGION_TOLERANCE = 0.01
COMUNA_TOLERANCE = 0.001


class ReadOnlyApi(AccessLogged, viewsets.ReadOnlyModelViewSet):
    filter_backends = [DjangoFilterBackend, filters.BBoxFilter]
    renderer_classes = [JSONRenderer, GeoJSONRenderer, BrowsableAPIRenderer]
    lookup_value_regex = r"[0-9]+"
    pagination_class = FeatureCursorPagination
    # See network/api/pagination.py: assets page along their feeder.
    cursor_ordering = ("feeder_id", "id")

    def get_object(self):
        try:
            self._logged_instance = super().get_object()
        except Http404:
            noun = self.get_queryset().model._meta.verbose_name
            raise NotFound(f"No se encontró {noun} con id {self.kwargs.get('pk')}.") from None
        return self._logged_instance


def _asset_annotations() -> dict:
    """The code of the feeder an asset hangs from."""
    return {"feeder_code": F("feeder__code")}


@extend_schema_view(
    list=extend_schema(summary="Subestaciones (GeoJSON, paginadas por número)"),
    retrieve=extend_schema(summary="Una subestación con sus transformadores AT/MT"),
)
class SubstationViewSet(ReadOnlyApi):
    """Subestaciones de la red: ubicación, comuna, región y transformadores AT/MT."""

    serializer_class = api.SubstationSerializer
    filterset_class = filters.SubstationFilterSet
    pagination_class = FeaturePagination
    bbox_filter_field = "location"
    detail_kind = "subestacion"

    def get_queryset(self) -> QuerySet:
        return (
            Substation.objects.annotate(
                distributor_code=F("distributor__code"),
                comuna_code=F("comuna__code"),
                comuna_name=F("comuna__name"),
                region_code=F("comuna__region__code"),
            )
            .with_utm_zone()
            .prefetch_related(
                Prefetch("power_transformers", PowerTransformer.objects.order_by("code"))
            )
            .order_by("code", "id")
        )


@extend_schema_view(
    list=extend_schema(summary="Alimentadores y subalimentadores (trazado generalizado)"),
    retrieve=extend_schema(summary="Un alimentador"),
)
class FeederViewSet(ReadOnlyApi):
    """Alimentadores y subalimentadores, con su trazado generalizado como geometría."""

    serializer_class = api.FeederSerializer
    filterset_class = filters.FeederFilterSet
    pagination_class = FeaturePagination
    bbox_filter_field = "outline"
    bbox_filter_include_overlapping = True
    detail_kind = "alimentador"

    def get_queryset(self) -> QuerySet:
        return (
            Feeder.objects.defer("outline")
            .annotate(
                outline_geojson=AsGeoJSON("outline", precision=PRECISION),
                substation_code=F("substation__code"),
                distributor_code=F("distributor__code"),
                owner_code=F("owner__code"),
                purchase_node_plate=F("purchase_node__plate"),
                comuna_code=F("substation__comuna__code"),
                region_code=F("substation__comuna__region__code"),
            )
            .order_by("code", "id")
        )


@extend_schema_view(
    list=extend_schema(summary="Vanos (paginados con cursor)"),
    retrieve=extend_schema(summary="Un vano"),
)
class SpanViewSet(ReadOnlyApi):
    """Vanos: nodos, longitud, conductor, capacidad, fases y código VNR."""

    serializer_class = api.SpanSerializer
    filterset_class = filters.SpanFilterSet
    bbox_filter_field = "geom"
    bbox_filter_include_overlapping = True
    detail_kind = "vano"

    def get_queryset(self) -> QuerySet:
        return Span.objects.defer("geom").annotate(
            geom_geojson=AsGeoJSON("geom", precision=PRECISION),
            feeder_code=F("feeder__code"),
            from_pole_plate=F("from_pole__plate"),
            to_pole_plate=F("to_pole__plate"),
            vnr_code=F("vnr__code"),
        )


@extend_schema_view(
    list=extend_schema(summary="Postes (paginados con cursor)"),
    retrieve=extend_schema(summary="Un poste"),
)
class PoleViewSet(ReadOnlyApi):
    """Postes: placa, ubicación (también en UTM), tensiones y código VNR."""

    serializer_class = api.PoleSerializer
    filterset_class = filters.PoleFilterSet
    bbox_filter_field = "location"
    detail_kind = "poste"

    def get_queryset(self) -> QuerySet:
        # The page's read (`listed()`); the cursor pagination sets the order.
        return Pole.objects.listed().with_utm_zone().annotate(**_asset_annotations())


@extend_schema_view(
    list=extend_schema(summary="Equipos (paginados con cursor)"),
    retrieve=extend_schema(summary="Un equipo con su historial mensual de ajustes"),
)
class EquipmentViewSet(ReadOnlyApi):
    """Equipos de protección, maniobra, compensación y regulación."""

    filterset_class = filters.EquipmentFilterSet
    bbox_filter_field = "location"
    detail_kind = "equipo"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return api.EquipmentDetailSerializer
        return api.EquipmentSerializer

    def get_queryset(self) -> QuerySet:
        rows = (
            Equipment.objects.listed()
            .with_utm_zone()
            .annotate(**_asset_annotations(), pole_plate=F("pole__plate"))
        )
        return rows.with_history() if self.action == "retrieve" else rows


@extend_schema_view(
    list=extend_schema(summary="Transformadores de distribución (paginados con cursor)"),
    retrieve=extend_schema(summary="Un transformador de distribución"),
)
class TransformerViewSet(ReadOnlyApi):
    """Transformadores de distribución; nunca revela datos de clientes."""

    serializer_class = api.TransformerSerializer
    filterset_class = filters.TransformerFilterSet
    bbox_filter_field = "location"
    detail_kind = "transformador"

    def get_queryset(self) -> QuerySet:
        return (
            Transformer.objects.listed()
            .with_utm_zone()
            .annotate(**_asset_annotations(), pole_plate=F("pole__plate"))
        )


@extend_schema_view(
    list=extend_schema(
        summary="Clientes (solo perfil SEC)",
        description="Datos personales: responde 403 a todo perfil que no sea SEC.",
    ),
    retrieve=extend_schema(summary="Un cliente (solo perfil SEC)"),
)
class CustomerViewSet(ReadOnlyApi):
    """Clientes con sus datos personales: solo para el perfil SEC."""

    serializer_class = api.CustomerSerializer
    filterset_class = filters.CustomerFilterSet
    permission_classes = [IsAuthenticated, IsSecAuditor]
    bbox_filter_field = "location"
    list_kind = detail_kind = "cliente"
    cursor_ordering = ("comuna_id", "id")

    def get_queryset(self) -> QuerySet:
        return (
            Customer.objects.visible_to(self.request.user)
            .annotate(comuna_code=F("comuna__code"), transformer_code=F("transformer__code"))
            .with_utm_zone()
        )


class SimplifyPreserveTopology(GeoFunc):
    function = "ST_SimplifyPreserveTopology"
    output_field = GeometryField(srid=4326)


class Multi(GeoFunc):
    # A simplified single-part boundary would come back as a Polygon; the schema says Multi.
    function = "ST_Multi"
    output_field = GeometryField(srid=4326)


BOUNDARY_PARAMETER = OpenApiParameter(
    "boundary",
    OpenApiTypes.BOOL,
    description="Con 1 (o true), incluye el límite simplificado como geometría; "
    "sin él, la geometría es null (los límites completos pesan megabytes).",
)


class BoundaryMixin:
    tolerance = REGION_TOLERANCE

    def wants_boundary(self) -> bool:
        raw = self.request.query_params.get("boundary", "").strip().lower()
        if raw in ("", "0", "false"):
            return False
        if raw in ("1", "true"):
            return True
        raise ValidationError({"boundary": ["Use boundary=1 (o true) para incluir el límite."]})

    def with_boundary(self, rows: QuerySet) -> QuerySet:
        rows = rows.defer("boundary")
        if self.wants_boundary():
            rows = rows.annotate(
                simplified=AsGeoJSON(
                    Multi(SimplifyPreserveTopology("boundary", self.tolerance)),
                    precision=BOUNDARY_PRECISION,
                )
            )
        return rows


@extend_schema_view(
    list=extend_schema(summary="Regiones", parameters=[BOUNDARY_PARAMETER]),
    retrieve=extend_schema(summary="Una región", parameters=[BOUNDARY_PARAMETER]),
)
class RegionViewSet(BoundaryMixin, ReadOnlyApi):
    """Regiones de Chile por código CUT."""

    serializer_class = api.RegionSerializer
    filterset_class = filters.RegionFilterSet
    pagination_class = FeaturePagination
    bbox_filter_field = "boundary"
    bbox_filter_include_overlapping = True

    def get_queryset(self) -> QuerySet:
        return self.with_boundary(Region.objects.order_by("code"))


@extend_schema_view(
    list=extend_schema(summary="Comunas", parameters=[BOUNDARY_PARAMETER]),
    retrieve=extend_schema(summary="Una comuna", parameters=[BOUNDARY_PARAMETER]),
)
class ComunaViewSet(BoundaryMixin, ReadOnlyApi):
    """Comunas de Chile por código CUT."""

    serializer_class = api.ComunaSerializer
    filterset_class = filters.ComunaFilterSet
    pagination_class = FeaturePagination
    bbox_filter_field = "boundary"
    bbox_filter_include_overlapping = True
    tolerance = COMUNA_TOLERANCE

    def get_queryset(self) -> QuerySet:
        rows = Comuna.objects.annotate(region_code=F("region__code")).order_by("code")
        return self.with_boundary(rows)


@extend_schema_view(
    list=extend_schema(summary="Códigos VNR y sus costos (anexo §2.5)"),
    retrieve=extend_schema(summary="Un código VNR"),
)
class VnrCodeViewSet(ReadOnlyApi):
    """Códigos VNR con sus siete costos (anexo §2.5)."""

    serializer_class = api.VnrCodeSerializer
    filterset_class = filters.VnrFilterSet
    filter_backends = [DjangoFilterBackend]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    pagination_class = NumberPagination
    list_kind = detail_kind = "vnr"
    queryset = VnrCode.objects.order_by("code")


@extend_schema_view(
    list=extend_schema(
        summary="Demandas mensuales máxima y mínima de alimentadores y transformadores",
        description="Filtre por `feeder` o `transformer`; las cifras excluyen los periodos "
        "de traspaso de carga cuando `excludes_load_transfer` es verdadero.",
    ),
    retrieve=extend_schema(summary="Una demanda mensual"),
)
class MonthlyDemandViewSet(ReadOnlyApi):
    """Demandas mensuales máxima y mínima (kW)."""

    serializer_class = api.MonthlyDemandSerializer
    filterset_class = filters.DemandFilterSet
    filter_backends = [DjangoFilterBackend]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    pagination_class = IdCursorPagination
    cursor_ordering = ("id",)

    def get_queryset(self) -> QuerySet:
        return MonthlyDemand.objects.annotate(
            feeder_code=F("feeder__code"), transformer_code=F("transformer__code")
        )


# Grid downloads ---------------------------------------------------------------------------


def _form_errors(form) -> dict:
    return {
        ("non_field_errors" if name == "__all__" else name): [e["message"] for e in errors]
        for name, errors in form.errors.get_json_data().items()
    }


GRID_RESPONSES = {
    (200, "application/geo+json"): OpenApiResponse(
        OpenApiTypes.OBJECT, description="FeatureCollection con las filas de la grilla."
    ),
    (200, "text/csv"): OpenApiResponse(
        OpenApiTypes.STR,
        description="CSV para Excel: UTF-8 con BOM, separador «;», coma decimal.",
    ),
    (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT),
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Parámetros no válidos."),
}


class GridView(AccessLogged, APIView):
    # A portal grid as a download: GeoJSON by default, `?format=csv` for Excel.

    renderer_classes = [GeoJSONRenderer, CSVRenderer, JSONRenderer]
    log_name = "grilla"

    def respond(self, grid: grids.Grid) -> Response:
        self.csv_columns = grid.csv_columns
        self.filename = grid.filename
        return Response(grid.feature_collection())

    def finalize_response(self, request, response, *args, **kwargs):
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and isinstance(renderer, CSVRenderer):
            # Errors read better as JSON than as a one-column spreadsheet.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        filename = getattr(self, "filename", None)
        if filename and response.status_code == 200:
            extension = "csv" if isinstance(request.accepted_renderer, CSVRenderer) else "geojson"
            response["Content-Disposition"] = f'attachment; filename="{filename}.{extension}"'
        return response


class LocationGridView(GridView):
    @extend_schema(
        summary="Grilla de BUSCAR UBICACIÓN (descarga CSV o GeoJSON)",
        description="Los mismos parámetros que la página /red/buscar/: con región y comuna, "
        "las subestaciones de la comuna; con subestación, sus alimentadores; con alimentador, "
        "sus transformadores. Todas las filas de la grilla, sin paginar.",
        parameters=[
            OpenApiParameter("region", str, required=True, description="Código CUT región."),
            OpenApiParameter("comuna", str, required=True, description="Código CUT comuna."),
            OpenApiParameter("subestacion", int, description="Id de la subestación."),
            OpenApiParameter("alimentador", int, description="Id del alimentador."),
            OpenApiParameter("transformador", int, description="Id del transformador."),
            OpenApiParameter("format", str, enum=["geojson", "csv", "json"]),
        ],
        responses=GRID_RESPONSES,
    )
    def get(self, request):
        form = LocationForm(request.GET)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        return self.respond(grids.location_grid(request, form.cleaned_data))


class FeederAssetGridView(GridView):
    @extend_schema(
        summary="Grilla de postes, vanos o equipos de un alimentador (CSV o GeoJSON)",
        description="Los mismos parámetros que la búsqueda del detalle del alimentador: "
        "`tipo` (poste, vano o equipo) e `id` (inicio del identificador; vacío: todos).",
        parameters=[
            OpenApiParameter(
                "tipo",
                str,
                required=True,
                enum=["poste", "vano", "equipo"],
                description="Qué activos del alimentador listar.",
            ),
            OpenApiParameter("id", str, description="Comienzo del identificador."),
            OpenApiParameter("format", str, enum=["geojson", "csv", "json"]),
        ],
        responses={**GRID_RESPONSES, 404: OpenApiResponse(description="No existe.")},
    )
    def get(self, request, pk: int):
        feeder = (
            Feeder.objects.select_related("substation__comuna__region")
            .defer("substation__comuna__boundary", "substation__comuna__region__boundary")
            .filter(pk=pk)
            .first()
        )
        if feeder is None:
            raise NotFound(f"No se encontró alimentador con id {pk}.")
        form = FeederAssetSearchForm(request.GET)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        kind, term = form.cleaned_data["tipo"], form.cleaned_data["id"].strip()
        return self.respond(grids.feeder_asset_grid(feeder, kind, term))


# Token, schema and docs -------------------------------------------------------------------


class TokenView(KnoxLoginView):
    """Los tokens de API del usuario (django-rest-knox): POST entrega uno nuevo, que vence;
    DELETE revoca todos. Un cambio o restablecimiento de clave también los revoca."""

    permission_classes = [IsAuthenticated]

    def get_token_ttl(self) -> timedelta:
        # SEC reads customers' personal data: its tokens live shorter.
        hours = (
            settings.API_TOKEN_HOURS_SEC if self.request.user.is_sec else settings.API_TOKEN_HOURS
        )
        return timedelta(hours=hours)

    @extend_schema(
        summary="Obtener un token de API",
        description="Requiere una sesión iniciada: un token no emite otro, así que vence "
        "cuando dice `expiry` (antes para el perfil SEC). Use el token en la cabecera "
        "`Authorization: Token <clave>`.",
        request=None,
        responses=inline_serializer(
            "ApiToken", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
        ),
    )
    def post(self, request, format=None):
        # Not knox's post(): handing out a token is no login (no user_logged_in, so neither
        # last_login nor axes' records move).
        if request.auth is not None:
            raise PermissionDenied("Un token no puede emitir otro: inicie sesión en el portal.")
        instance, token = self.create_token()
        return self.get_post_response(request, token, instance)

    @extend_schema(summary="Revocar los tokens de API", request=None, responses={204: None})
    def delete(self, request, format=None):
        revoke_api_tokens(request.user)
        return Response(status=204)


class SchemaView(SpectacularAPIView):
    permission_classes = [IsAuthenticated]


class DocsView(SpectacularSwaggerView):
    # Swagger UI from our own static files (static/vendor/swagger-ui): works offline.

    permission_classes = [IsAuthenticated]
    url_name = "api:schema"
    title = "API de la red de distribución"

    @staticmethod
    def _swagger_ui_resource(filename):
        return static(f"vendor/swagger-ui/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return static("vendor/swagger-ui/favicon-32x32.png")

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        ui = spectacular_settings.SWAGGER_UI_SETTINGS
        if isinstance(ui, dict):
            # No validator badge: it would send the schema to a public service.
            response.data["settings"] = json.dumps({**ui, "validatorUrl": None})
        return response

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated | PermissionDenied) and not (
            self.request.user and self.request.user.is_authenticated
        ):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
