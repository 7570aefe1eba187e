"""Query filters of the API: bbox, región, comuna, substation, feeder and each entity's own.

A malformed value is refused by the filter's form field and a well-formed value that names
nothing (región "99") by the filter itself: both answer 400 with a Spanish message under the
parameter's name, never an empty list that looks like "no data" and never a 500.
"""

from __future__ import annotations

import math
import re

import django_filters
from django.contrib.gis.geos import Polygon
from django.core.validators import RegexValidator
from django.db.models import Model, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework_gis.filters import InBBoxFilter

from accounts.lib import RutError, normalize_rut
from demand.models import MonthlyDemand
from geo.models import Comuna, Region
from network.models import (
    Customer,
    Equipment,
    Feeder,
    Pole,
    Span,
    Substation,
    Transformer,
)
from vnr.models import VnrCode

IDENTIFIER = RegexValidator(
    re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$"),
    "Use solo letras, números, puntos, guiones y barras (máximo 30 caracteres).",
)
REGION_CODE = RegexValidator(
    re.compile(r"^[0-9]{2}$"), "La región se indica por su código CUT de 2 dígitos (p. ej. 13)."
)
COMUNA_CODE = RegexValidator(
    re.compile(r"^[0-9]{5}$"),
    "La comuna se indica por su código CUT de 5 dígitos (p. ej. 13101).",
)
BOOLEAN = RegexValidator(
    re.compile(r"^(true|false|1|0)$", re.IGNORECASE), "Use true o false (o 1 o 0)."
)


class BBoxFilter(InBBoxFilter):
    """`in_bbox=min_lon,min_lat,max_lon,max_lat` (WGS84 degrees), refused clearly when odd."""

    message = (
        "in_bbox debe tener 4 números separados por comas: longitud mínima, latitud mínima, "
        "longitud máxima y latitud máxima (WGS84), p. ej. in_bbox=-70.70,-33.50,-70.60,-33.40."
    )

    def get_filter_bbox(self, request):
        raw = request.query_params.get(self.bbox_param)
        if raw is None or raw.strip() == "":
            return None
        parts = raw.split(",")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise ValidationError({self.bbox_param: [self.message]}) from None
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise ValidationError({self.bbox_param: [self.message]})
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValidationError(
                {
                    self.bbox_param: [
                        "in_bbox fuera de rango: las longitudes van de -180 a 180 y las "
                        "latitudes de -90 a 90, y cada mínimo debe ser menor que su máximo."
                    ]
                }
            )
        bbox = Polygon.from_bbox((min_lon, min_lat, max_lon, max_lat))
        bbox.srid = 4326
        return bbox

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "bbox_filter_field", None):
            return []
        (parameter,) = super().get_schema_operation_parameters(view)
        parameter["description"] = (
            "Rectángulo en grados WGS84: in_bbox=min_lon,min_lat,max_lon,max_lat."
        )
        parameter["example"] = [-70.70, -33.50, -70.60, -33.40]
        parameter["schema"].pop("example", None)
        return [parameter]


def _refuse(param: str, message: str):
    raise ValidationError({param: [message]})


def _one_of(qs: QuerySet, path: str, ids: list[int]) -> QuerySet:
    """`path` in `ids`; one id on a direct foreign key is written as a range on purpose.

    With `comuna_id = 7`, PostgreSQL takes the cursor's ORDER BY comuna_id, id for ORDER BY id
    and may walk the primary key past a million rows looking for comuna 7 (160 ms for the
    customers of a comuna at national scale); `comuna_id BETWEEN 7 AND 7` keeps it on the
    comuna_id index (2 ms). See network/api/pagination.py.
    """
    if len(ids) == 1 and "__" not in path:
        return qs.filter(**{f"{path}__gte": ids[0], f"{path}__lte": ids[0]})
    return qs.filter(**{f"{path}__in": ids})


@extend_schema_field(OpenApiTypes.STR)
class RegionFilter(django_filters.CharFilter):
    """A región by CUT code; `path` leads from the filtered model to its Region."""

    def __init__(self, path: str, **kwargs):
        kwargs.setdefault("help_text", "Código CUT de la región (2 dígitos), p. ej. 13.")
        super().__init__(field_name=path, validators=[REGION_CODE], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        pk = Region.objects.filter(code=value).values_list("pk", flat=True).first()
        if pk is None:
            _refuse("region", f"No existe la región {value}.")
        return qs.filter(**{self.field_name: pk})


@extend_schema_field(OpenApiTypes.STR)
class ComunaFilter(django_filters.CharFilter):
    def __init__(self, path: str, **kwargs):
        kwargs.setdefault("help_text", "Código CUT de la comuna (5 dígitos), p. ej. 13101.")
        super().__init__(field_name=path, validators=[COMUNA_CODE], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        pk = Comuna.objects.filter(code=value).values_list("pk", flat=True).first()
        if pk is None:
            _refuse("comuna", f"No existe la comuna {value}.")
        return _one_of(qs, self.field_name, [pk])


@extend_schema_field(OpenApiTypes.STR)
class AssetFilter(django_filters.CharFilter):
    """A substation, feeder or transformer given by its numeric id or by its code.

    Codes are unique per distributor only, so a code may name several rows: all of them match.
    """

    def __init__(self, path: str, model: type[Model], param: str, label: str, **kwargs):
        # Not `self.model`: the FilterSet sets that to the filtered model.
        self.target, self.param, self.noun = model, param, label
        described = f"Id numérico o código de {label}.".replace(" de el ", " del ")
        kwargs.setdefault("help_text", described)
        super().__init__(field_name=path, validators=[IDENTIFIER], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        where = Q(pk=int(value)) if value.isdigit() else Q(code=value.upper())
        ids = list(self.target.objects.filter(where).values_list("pk", flat=True)[:50])
        if not ids:
            _refuse(self.param, f"No existe {self.noun} «{value}».")
        return _one_of(qs, self.field_name, ids)


@extend_schema_field(OpenApiTypes.STR)
class ExactFilter(django_filters.CharFilter):
    """An identifier compared in upper case, as the portal's searches do (index-friendly)."""

    def __init__(self, field_name: str, **kwargs):
        super().__init__(field_name=field_name, validators=[IDENTIFIER], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return qs.filter(**{self.field_name: value.upper()}) if value else qs


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.CharFilter):
    """true/false/1/0; anything else is a 400 rather than silently ignored."""

    def __init__(self, field_name: str, **kwargs):
        super().__init__(field_name=field_name, validators=[BOOLEAN], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        return qs.filter(**{self.field_name: value.lower() in ("true", "1")})


class FeederHungFilterSet(django_filters.FilterSet):
    """The location filters of an asset that hangs from a feeder."""

    region = RegionFilter("feeder__substation__comuna__region")
    comuna = ComunaFilter("feeder__substation__comuna")
    substation = AssetFilter("feeder__substation", Substation, "substation", "la subestación")
    feeder = AssetFilter("feeder", Feeder, "feeder", "el alimentador")


class SubstationFilterSet(django_filters.FilterSet):
    region = RegionFilter("comuna__region")
    comuna = ComunaFilter("comuna")
    code = ExactFilter("code", help_text="Id de la subestación (exacto).")

    class Meta:
        model = Substation
        fields: list[str] = []


class FeederFilterSet(django_filters.FilterSet):
    region = RegionFilter("substation__comuna__region")
    comuna = ComunaFilter("substation__comuna")
    substation = AssetFilter("substation", Substation, "substation", "la subestación")
    code = ExactFilter("code", help_text="Id del alimentador (exacto).")
    kind = django_filters.ChoiceFilter(choices=Feeder.Kind.choices, help_text="Tipo.")

    class Meta:
        model = Feeder
        fields: list[str] = []


class SpanFilterSet(FeederHungFilterSet):
    code = ExactFilter("code", help_text="Id del vano (exacto).")
    vnr = ExactFilter("vnr__code", help_text="Código VNR (exacto).")

    class Meta:
        model = Span
        fields: list[str] = []


class PoleFilterSet(FeederHungFilterSet):
    plate = ExactFilter("plate", help_text="Placa del poste (exacta).")
    vnr = ExactFilter("vnr__code", help_text="Código VNR (exacto).")

    class Meta:
        model = Pole
        fields: list[str] = []


class EquipmentFilterSet(FeederHungFilterSet):
    code = ExactFilter("code", help_text="Id del equipo (exacto).")
    kind = django_filters.ChoiceFilter(choices=Equipment.Kind.choices, help_text="Tipo.")
    category = django_filters.ChoiceFilter(
        choices=Equipment.Category.choices,
        method="filter_category",
        help_text="Familia de equipos (protección, maniobra, compensación…).",
    )

    class Meta:
        model = Equipment
        fields: list[str] = []

    def filter_category(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        kinds = [kind for kind, category in Equipment.CATEGORY_OF.items() if category == value]
        return qs.filter(kind__in=kinds)


class TransformerFilterSet(FeederHungFilterSet):
    code = ExactFilter("code", help_text="Id del transformador (exacto).")
    plate = ExactFilter("plate", help_text="Placa del transformador (exacta).")
    pole = ExactFilter("pole__plate", help_text="Placa del poste donde está (exacta).")
    customer = django_filters.CharFilter(
        method="filter_customer",
        validators=[IDENTIFIER],
        help_text="Número de cliente: su transformador (nunca datos del cliente).",
    )
    kind = django_filters.ChoiceFilter(choices=Transformer.Kind.choices, help_text="Tipo.")
    smmc = StrictBooleanFilter("smmc", help_text="Con monitoreo SMMC.")

    class Meta:
        model = Transformer
        fields: list[str] = []

    def filter_customer(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # As the portal's simple search (annex §2.4): only the transformer leaves the query.
        return qs.filter(pk__in=Customer.objects.filter(number=value).values("transformer_id"))


class DemandFilterSet(django_filters.FilterSet):
    feeder = AssetFilter("feeder", Feeder, "feeder", "el alimentador")
    transformer = AssetFilter("transformer", Transformer, "transformer", "el transformador")
    since = django_filters.DateFilter(
        field_name="month", lookup_expr="gte", help_text="Desde este mes (AAAA-MM-DD)."
    )
    until = django_filters.DateFilter(
        field_name="month", lookup_expr="lte", help_text="Hasta este mes (AAAA-MM-DD)."
    )

    class Meta:
        model = MonthlyDemand
        fields: list[str] = []


class RegionFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(validators=[REGION_CODE], help_text="Código CUT.")

    class Meta:
        model = Region
        fields: list[str] = []


class ComunaFilterSet(django_filters.FilterSet):
    region = RegionFilter("region")
    code = django_filters.CharFilter(validators=[COMUNA_CODE], help_text="Código CUT.")

    class Meta:
        model = Comuna
        fields: list[str] = []


class VnrFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(
        lookup_expr="iexact", validators=[IDENTIFIER], help_text="Código VNR."
    )

    class Meta:
        model = VnrCode
        fields: list[str] = []


@extend_schema_field(OpenApiTypes.STR)
class RutFilter(django_filters.CharFilter):
    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        try:
            rut = normalize_rut(value[:20])
        except RutError as error:
            _refuse("rut", str(error))
        return qs.filter(rut=rut)


class CustomerFilterSet(django_filters.FilterSet):
    region = RegionFilter("comuna__region")
    comuna = ComunaFilter("comuna")
    feeder = AssetFilter("transformer__feeder", Feeder, "feeder", "el alimentador")
    transformer = AssetFilter("transformer", Transformer, "transformer", "el transformador")
    number = django_filters.CharFilter(validators=[IDENTIFIER], help_text="Número de cliente.")
    rut = RutFilter(help_text="RUT del cliente, escrito de cualquier forma usual.")
    is_eg = StrictBooleanFilter("is_eg", help_text="Con generación (EG).")

    class Meta:
        model = Customer
        fields: list[str] = []
