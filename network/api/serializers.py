"""GeoJSON features of the network entities (djangorestframework-gis).

Related codes (feeder code, VNR code, región…) come as annotations of the view's queryset
(`network.api.views`), never as related objects: one query per page, and the comuna and
región boundaries, megabytes each, are never read. Coordinates are rounded to 6 decimals
(about 10 cm), UTM to the centimetre.
"""

from __future__ import annotations

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from demand.models import MonthlyDemand
from geo.lib.utm import DATUM
from geo.models import Comuna, Region
from network.models import (
    Customer,
    Equipment,
    EquipmentSetting,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from vnr.models import VnrCode

PRECISION = 6


# Schema descriptions come from docstrings (inherited ones too): the bases below keep their
# notes in comments, and each concrete serializer says in Spanish what it is.


class NumbersAsNumbers:
    # Decimal model fields come out as JSON numbers, not strings (DRF's default).

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if issubclass(field_class, serializers.DecimalField):
            kwargs["coerce_to_string"] = False
        return field_class, kwargs


class Feature(NumbersAsNumbers, GeoFeatureModelSerializer):
    pass


def code(source: str | None, help_text: str, null: bool = False) -> serializers.CharField:
    """A related code annotated on the queryset (`source` None: named as the field)."""
    extra = {"source": source} if source else {}
    return serializers.CharField(read_only=True, allow_null=null, help_text=help_text, **extra)


def ref(source: str, help_text: str, null: bool = False) -> serializers.IntegerField:
    return serializers.IntegerField(
        source=source, read_only=True, allow_null=null, help_text=help_text
    )


@extend_schema_field({"type": "object", "description": "Geometría GeoJSON."})
class GeoJSONFromSQL(serializers.Field):
    # A geometry PostGIS already wrote as GeoJSON (ST_AsGeoJSON, annotated by the view): for
    # lines and boundaries this is several times cheaper than GEOS plus rounding in Python.
    # The schema of the feature's geometry still comes from the model field (Meta.geo_field).

    def __init__(self, **kwargs):
        super().__init__(read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return json.loads(value) if value else None


class PointGeometry(GeometryField):
    # A point written straight from its coordinates: GeometryField goes through OGR twice per
    # feature, which was 60 % of the time of a page of poles.

    def __init__(self, **kwargs):
        super().__init__(precision=PRECISION, **kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return {
            "type": "Point",
            "coordinates": [round(value.x, PRECISION), round(value.y, PRECISION)],
        }


class LocatedFeature(Feature):
    # A point with its UTM presentation in the zone of its región (SPEC "Network model"). The
    # queryset reads the zone with `with_utm_zone()`; UTM is computed once a row (`Asset.utm`).

    location = PointGeometry()
    utm_x = serializers.SerializerMethodField(help_text="Coordenada UTM este (m).")
    utm_y = serializers.SerializerMethodField(help_text="Coordenada UTM norte (m).")
    utm_zone = serializers.SerializerMethodField(help_text="Huso UTM, p. ej. 19S.")
    datum = serializers.SerializerMethodField(help_text="Datum de las coordenadas UTM.")

    UTM_FIELDS = ("utm_x", "utm_y", "utm_zone", "datum")

    def _utm(self, obj):
        if not hasattr(obj, "_utm"):
            obj._utm = obj.utm
        return obj._utm

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_utm_x(self, obj) -> float | None:
        utm = self._utm(obj)
        return round(utm.x, 2) if utm else None

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_utm_y(self, obj) -> float | None:
        utm = self._utm(obj)
        return round(utm.y, 2) if utm else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_utm_zone(self, obj) -> str | None:
        utm = self._utm(obj)
        return utm.zone_label if utm else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_datum(self, obj) -> str:
        return DATUM


class PowerTransformerSerializer(NumbersAsNumbers, serializers.ModelSerializer):
    """Transformador de poder AT/MT de una subestación."""

    class Meta:
        model = PowerTransformer
        fields = ("code", "name", "capacity_mva", "primary_kv", "secondary_kv", "as_of")


class SubstationSerializer(LocatedFeature):
    """Subestación con sus transformadores AT/MT; UTM en el huso de su región."""

    distributor = code("distributor_code", "Código de la empresa distribuidora.")
    comuna = code("comuna_code", "Código CUT de la comuna.")
    comuna_name = code(None, "Nombre de la comuna.")
    region = code("region_code", "Código CUT de la región.")
    power_transformers = PowerTransformerSerializer(many=True, read_only=True)

    class Meta:
        model = Substation
        geo_field = "location"
        fields = (
            "id", "code", "name", "distributor", "comuna", "comuna_name", "region",
            "high_voltage_kv", "power_transformers", *LocatedFeature.UTM_FIELDS, "as_of",
            "location",
        )  # fmt: skip


class FeederSerializer(Feature):
    """Alimentador o subalimentador; la geometría es su trazado generalizado."""

    outline = GeoJSONFromSQL(source="outline_geojson")
    substation = ref("substation_id", "Id de la subestación.")
    substation_code = code(None, "Id (código) de la subestación.")
    distributor = code("distributor_code", "Código de la empresa distribuidora.")
    owner = code("owner_code", "Distribuidora propietaria (solo subalimentadores).", null=True)
    purchase_node = code(
        "purchase_node_plate", "Poste del punto de compra (solo subalimentadores).", null=True
    )
    comuna = code("comuna_code", "Código CUT de la comuna de la subestación.")
    region = code("region_code", "Código CUT de la región.")

    class Meta:
        model = Feeder
        geo_field = "outline"
        fields = (
            "id", "code", "name", "kind", "substation", "substation_code", "distributor",
            "owner", "purchase_node", "nominal_voltage_kv", "capacity_a", "power_kva",
            "short_circuit_kva", "comuna", "region", "as_of", "outline",
        )  # fmt: skip


class SpanSerializer(Feature):
    """Vano: el conductor entre dos nodos; longitud en metros reales."""

    geom = GeoJSONFromSQL(source="geom_geojson")
    feeder = ref("feeder_id", "Id del alimentador.")
    feeder_code = code(None, "Id (código) del alimentador.")
    from_pole = code(
        "from_pole_plate", "Placa del nodo origen; vacío: sale de la subestación.", null=True
    )
    to_pole = code("to_pole_plate", "Placa del nodo destino.")
    vnr = code("vnr_code", "Código VNR.")

    class Meta:
        model = Span
        geo_field = "geom"
        fields = (
            "id", "code", "feeder", "feeder_code", "from_pole", "to_pole", "length_m",
            "conductor_material", "conductor_insulation", "capacity_a", "phases", "vnr",
            "as_of", "geom",
        )  # fmt: skip


class PoleSerializer(LocatedFeature):
    """Poste; UTM en el huso de su región."""

    feeder = ref("feeder_id", "Id del alimentador.")
    feeder_code = code(None, "Id (código) del alimentador.")
    vnr = code("vnr_code", "Código VNR.")

    class Meta:
        model = Pole
        geo_field = "location"
        fields = (
            "id", "plate", "feeder", "feeder_code", "mt_voltage_kv", "bt_voltage_v",
            "material", "height_m", "vnr", *LocatedFeature.UTM_FIELDS, "as_of", "location",
        )  # fmt: skip


class EquipmentSettingSerializer(serializers.ModelSerializer):
    """Ajustes de un equipo en un mes."""

    class Meta:
        model = EquipmentSetting
        fields = (
            "month", "capacity_a", "capacity_kva", "connection", "operating_mode",
            "voltage_setpoints", "transformation_ratio", "as_of",
        )  # fmt: skip


class EquipmentSerializer(LocatedFeature):
    """Equipo: protección, maniobra, compensación, regulador de tensión o autotransformador."""

    feeder = ref("feeder_id", "Id del alimentador.")
    feeder_code = code(None, "Id (código) del alimentador.")
    pole = code("pole_plate", "Placa del poste donde está instalado.", null=True)
    category = serializers.CharField(read_only=True, help_text="Familia del equipo.")
    vnr = code("vnr_code", "Código VNR.")

    class Meta:
        model = Equipment
        geo_field = "location"
        fields = (
            "id", "code", "kind", "category", "feeder", "feeder_code", "pole", "capacity_a",
            "capacity_kva", "connection", "operating_mode", "voltage_setpoints",
            "transformation_ratio", "vnr", *LocatedFeature.UTM_FIELDS, "as_of", "location",
        )  # fmt: skip


class EquipmentDetailSerializer(EquipmentSerializer):
    """Equipo con el historial mensual de sus ajustes (anexo §2.3), el más reciente primero."""

    history = EquipmentSettingSerializer(many=True, read_only=True)

    class Meta(EquipmentSerializer.Meta):
        fields = (*EquipmentSerializer.Meta.fields[:-1], "history", "location")


class TransformerSerializer(LocatedFeature):
    """Transformador de distribución MT/BT; su número es la placa del poste."""

    feeder = ref("feeder_id", "Id del alimentador.")
    feeder_code = code(None, "Id (código) del alimentador.")
    pole = code("pole_plate", "Placa del poste (número del transformador).")
    vnr = code("vnr_code", "Código VNR.")

    class Meta:
        model = Transformer
        geo_field = "location"
        fields = (
            "id", "code", "plate", "name", "feeder", "feeder_code", "pole", "capacity_kva",
            "connection", "primary_kv", "secondary_v", "kind", "phases", "vnr", "smmc",
            *LocatedFeature.UTM_FIELDS, "as_of", "location",
        )  # fmt: skip


class CustomerSerializer(LocatedFeature):
    """Cliente (punto de servicio): datos personales, solo para el perfil SEC."""

    comuna = code("comuna_code", "Código CUT de la comuna.")
    transformer = ref("transformer_id", "Id del transformador que lo alimenta.")
    transformer_code = code(None, "Id (código) del transformador.")

    class Meta:
        model = Customer
        geo_field = "location"
        fields = (
            "id", "number", "rut", "name", "email", "phone", "address", "comuna",
            "billing_day", "service_capacity_kw", "transformer", "transformer_code", "is_eg",
            "eg_capacity_kw", "eg_technology", "eg_connected_on", *LocatedFeature.UTM_FIELDS,
            "as_of", "location",
        )  # fmt: skip


class RegionSerializer(Feature):
    """Región; la geometría (límite simplificado) solo con ?boundary=1."""

    boundary = GeoJSONFromSQL(source="simplified")

    class Meta:
        model = Region
        geo_field = "boundary"
        fields = ("id", "code", "name", "utm_zone", "as_of", "boundary")


class ComunaSerializer(Feature):
    """Comuna; la geometría (límite simplificado) solo con ?boundary=1."""

    boundary = GeoJSONFromSQL(source="simplified")
    region = code("region_code", "Código CUT de la región.")

    class Meta:
        model = Comuna
        geo_field = "boundary"
        fields = ("id", "code", "name", "region", "province", "as_of", "boundary")


class VnrCodeSerializer(NumbersAsNumbers, serializers.ModelSerializer):
    """Código VNR y sus costos unitarios en pesos chilenos (anexo §2.5)."""

    class Meta:
        model = VnrCode
        fields = (
            "id", "code", "description", "unit", "recargos_1", "montaje", "stotal_1", "ing_gg",
            "stotal_2", "int_int", "total_sin_derechos", "as_of",
        )  # fmt: skip


class MonthlyDemandSerializer(NumbersAsNumbers, serializers.ModelSerializer):
    """Demanda máxima y mínima de un alimentador o de un transformador en un mes."""

    feeder = ref("feeder_id", "Id del alimentador (demanda de un alimentador).", null=True)
    feeder_code = code(None, "Id (código) del alimentador.", null=True)
    transformer = ref(
        "transformer_id", "Id del transformador (demanda de un transformador).", null=True
    )
    transformer_code = code(None, "Id (código) del transformador.", null=True)

    class Meta:
        model = MonthlyDemand
        fields = (
            "id", "feeder", "feeder_code", "transformer", "transformer_code", "month",
            "max_kw", "min_kw", "excludes_load_transfer", "as_of",
        )  # fmt: skip
