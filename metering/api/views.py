"""JSON API of demand response (use case 8), mounted at /api/rd/ (namespace "dr").

- POST mensajes/: a DR message as JSON (or as CIM XML with Content-Type application/xml),
  taken by the same service as the files (`metering.services.dr`). Only accounts with the
  permission metering.ingest_dr_messages (the aggregator's or head-end's integration account).
- GET programas/, eventos/, estados/ (each device in each event), participacion/ (the CIS
  CSV): the SEC profile, planners, and accounts given metering.view_drevent (the CIS).
- GET mensajes/: what became of each message, for the same readers and the integration account.

Customers appear by their customer number only: never name, RUT, e-mail or phone.
"""

from __future__ import annotations

import io
from datetime import date

import django_filters
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import AccessLogged
from core.api.pagination import IdCursorPagination, NumberPagination
from metering.api.permissions import CanIngestDr, CanReadDr, ReadsOrIngests
from metering.api.serializers import (
    RESULT,
    EventSerializer,
    MessageSerializer,
    ProgramSerializer,
    TargetSerializer,
    with_state_counts,
)
from metering.cim import DEPTH_REASON
from metering.models import DrEvent, DrEventTarget, DrMessage, DrProgram
from metering.services.dr import (
    DUPLICATE,
    MAX_MESSAGE_BYTES,
    participation_targets,
    participations,
    receive_json,
    receive_xml,
    write_participation_csv,
)
from network.api.filters import StrictBooleanFilter

CODE = r"[^/]+"


class MessageJSONParser(JSONParser):
    """DRF's JSON parser, with a nesting too deep for Python's own parser (it recurses) refused
    as a 400. Shallower messages deeper than MAX_DEPTH are refused by `receive_json`."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"Mensaje JSON con {DEPTH_REASON}.") from None


class XMLMessageParser(BaseParser):
    """A CIM EventMessage, passed on as bytes: `metering.cim` reads it safely."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        data = stream.read(MAX_MESSAGE_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_MESSAGE_BYTES:
            raise ParseError(f"Mensaje de más de {MAX_MESSAGE_BYTES // 2**20} MB.")
        return data


class TextXMLMessageParser(XMLMessageParser):
    media_type = "text/xml"


# Filters ----------------------------------------------------------------------------------


class CanceledFilter(StrictBooleanFilter):
    """true: the canceled events; false: the others; anything else a 400 (django-filter's
    BooleanFilter takes `-1` or `quizás` as no filter without a word)."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__isnull": value.lower() not in ("true", "1")})


class EventFilterSet(django_filters.FilterSet):
    programa = django_filters.CharFilter(field_name="program__code", label="Código del programa.")
    desde = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__gte", label="Comienzan desde (AAAA-MM-DD)."
    )
    hasta = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__lte", label="Comienzan hasta (AAAA-MM-DD)."
    )
    cancelado = CanceledFilter("canceled_at", help_text="Cancelados (true) o no (false).")

    class Meta:
        model = DrEvent
        fields: list[str] = []


class TargetFilterSet(django_filters.FilterSet):
    evento = django_filters.CharFilter(
        field_name="event__correlation_id", label="CorrelationID del evento."
    )
    programa = django_filters.CharFilter(
        field_name="event__program__code", label="Código del programa."
    )
    estado = django_filters.ChoiceFilter(
        field_name="state", choices=DrEventTarget.State.choices, label="Estado."
    )
    cliente = django_filters.CharFilter(field_name="customer__number", label="Número de cliente.")
    dispositivo = django_filters.CharFilter(
        field_name="device__mrid", label="mRID del dispositivo."
    )

    class Meta:
        model = DrEventTarget
        fields: list[str] = []


class MessageFilterSet(django_filters.FilterSet):
    correlation_id = django_filters.CharFilter(label="CorrelationID.")
    resultado = django_filters.ChoiceFilter(
        field_name="outcome", choices=DrMessage.Outcome.choices, label="Resultado."
    )
    noun = django_filters.CharFilter(label="Sustantivo (Noun).")

    class Meta:
        model = DrMessage
        fields: list[str] = []


# Views ------------------------------------------------------------------------------------


class Logged(AccessLogged):
    # The access log names what a detail read showed (AccessLogged reads `_logged_instance`).
    log_name = "rd"

    def get_object(self):
        self._logged_instance = super().get_object()
        return self._logged_instance

    def access_reference(self, request) -> str:
        instance = getattr(self, "_logged_instance", None)
        if instance is not None:
            return f"RD {instance._meta.model_name} {instance}"
        return super().access_reference(request)


class DrReadOnly(Logged, viewsets.ReadOnlyModelViewSet):
    permission_classes = [CanReadDr]


@extend_schema_view(
    list=extend_schema(summary="Programas de respuesta a la demanda (CPP y DLC)"),
    retrieve=extend_schema(summary="Un programa DR"),
)
class ProgramViewSet(DrReadOnly):
    """Programas CPP y DLC."""

    serializer_class = ProgramSerializer
    pagination_class = NumberPagination
    lookup_field = "code"
    lookup_value_regex = CODE

    def get_queryset(self) -> QuerySet:
        today = timezone.localdate()
        active = Q(enrollments__valid_from__lte=today) & (
            Q(enrollments__valid_to__isnull=True) | Q(enrollments__valid_to__gte=today)
        )
        return DrProgram.objects.annotate(
            enrolled_customers=Count("enrollments__customer", filter=active, distinct=True)
        ).order_by("code")


@extend_schema_view(
    list=extend_schema(summary="Eventos DR con la cuenta de dispositivos por estado"),
    retrieve=extend_schema(summary="Un evento DR (por CorrelationID)"),
)
class EventViewSet(DrReadOnly):
    """Eventos DR, del más reciente al más antiguo."""

    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = NumberPagination
    lookup_field = "correlation_id"
    lookup_value_regex = CODE

    def get_queryset(self) -> QuerySet:
        events = DrEvent.objects.select_related("program").order_by("-starts_at", "-id")
        return with_state_counts(events)


@extend_schema_view(
    list=extend_schema(summary="Estado de cada dispositivo HAN en cada evento"),
    retrieve=extend_schema(summary="Un dispositivo en un evento"),
)
class TargetViewSet(DrReadOnly):
    """Cada dispositivo de cada evento: enviado, recibido, participa o se excluye."""

    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    pagination_class = IdCursorPagination
    cursor_ordering = ("id",)
    list_kind = detail_kind = "cliente"
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self) -> QuerySet:
        return DrEventTarget.objects.annotate(
            event_correlation_id=F("event__correlation_id"),
            program_code=F("event__program__code"),
            device_mrid=F("device__mrid"),
            device_kind=F("device__kind"),
            customer_number=F("customer__number"),
        )


@extend_schema_view(
    list=extend_schema(summary="Mensajes DR recibidos y su resultado"),
    retrieve=extend_schema(summary="Un mensaje DR (por MessageID)"),
)
class MessageViewSet(Logged, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Mensajes DR: enviarlos (cuentas de integración) y ver qué se hizo con cada uno."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilterSet
    pagination_class = IdCursorPagination
    cursor_ordering = ("-id",)
    parser_classes = [MessageJSONParser, XMLMessageParser, TextXMLMessageParser]
    lookup_field = "message_id"
    lookup_value_regex = CODE

    def get_permissions(self):
        if self.request is not None and self.request.method == "POST":
            return [CanIngestDr()]
        return [ReadsOrIngests()]

    def get_queryset(self) -> QuerySet:
        return DrMessage.objects.all()

    @extend_schema(
        summary="Enviar un mensaje DR (JSON o CIM XML)",
        description='JSON: `{"header": {verb, noun, messageId, correlationId, timestamp, '
        'source}, "payload": {<Noun>: …}}` con el payload del mensaje CIM '
        "(docs/dr_messages.md); o el EventMessage CIM con `Content-Type: application/xml`. "
        "201: recibido (aplicado, en parte o pendiente); 200: duplicado, no cambió nada; "
        "400: rechazado, con cada problema y su elemento.",
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/xml": OpenApiTypes.STR,
        },
        responses={201: RESULT, 200: RESULT, 400: RESULT, 413: OpenApiResponse(RESULT)},
    )
    def create(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_MESSAGE_BYTES:
            return Response(
                {"detail": f"Mensaje de más de {MAX_MESSAGE_BYTES // 2**20} MB."},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        origin = f"api:{request.user.get_username()}"
        data = request.data
        if isinstance(data, bytes):
            result = receive_xml(data, origin=origin)
        else:
            result = receive_json(data, origin=origin)
        if result.outcome == DUPLICATE:
            code = status.HTTP_200_OK
        elif result.outcome == DrMessage.Outcome.REJECTED:
            code = status.HTTP_400_BAD_REQUEST
        else:
            code = status.HTTP_201_CREATED
        return Response(result.as_dict(), status=code)


class ParticipationView(AccessLogged, APIView):
    """Participación por cliente y evento para el CIS (CSV)."""

    permission_classes = [CanReadDr]
    list_kind = "cliente"
    log_name = "participacion rd"

    @extend_schema(
        summary="Participación por cliente y evento, para el CIS (CSV)",
        description="Una fila por cliente y evento: número de cliente, programa, evento, "
        "periodo, dispositivos, estado final, acuse y respuesta. UTF-8 con BOM, separador "
        "«;», fechas ISO 8601 con desfase. El estado del cliente es su respuesta más reciente "
        "desde cualquiera de sus dispositivos.",
        parameters=[
            OpenApiParameter("programa", str, description="Código del programa."),
            OpenApiParameter("desde", date, description="Eventos que comienzan desde."),
            OpenApiParameter("hasta", date, description="Eventos que comienzan hasta."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="Parámetros no válidos."),
        },
    )
    def get(self, request):
        params = {}
        for name in ("desde", "hasta"):
            raw = request.query_params.get(name, "").strip()
            try:
                params[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                return Response({name: ["Use una fecha AAAA-MM-DD."]}, status=400)
        program = request.query_params.get("programa", "").strip() or None
        out = io.StringIO()
        write_participation_csv(
            out, participations(participation_targets(program, params["desde"], params["hasta"]))
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="participacion_rd.csv"'
        return response
