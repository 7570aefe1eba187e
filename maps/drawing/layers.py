"""What the maps of the detail pages show: the asset with its surroundings, read in a few
queries; geometry work (merging a feeder's spans into lines, simplifying them, distances in
metres) happens in PostGIS. Colours and symbols come from the layer registry
(network.layers)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.contrib.gis.db.models import LineStringField, PointField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import TextField, Value
from django.db.models.functions import Cast
from django.urls import NoReverseMatch, reverse

from maps.drawing.features import (
    PRECISION,
    MapFeature,
    MapLayer,
    degrees_per_metre,
    source_of,
)
from network import layers as registry
from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer

SURROUNDINGS_M = 400


def substation_layers(substation: Substation, *, for_print: bool = False) -> list[MapLayer]:
    """The substation and one generalised line per feeder (not its thousands of spans).

    Transformers are left to the feeder maps: at this scale they would be a cloud of dots.
    `for_print`: for the static map, which draws lines and poles from their `source` in SQL,
    so their features carry no GeoJSON (see _geojson).
    """
    lines = _generalised_feeders("f.substation_id = %s", [substation.pk], for_print)
    layers = [
        MapLayer(
            name=f"Alimentador {code} {name}",
            kind="line",
            color=registry.FEEDER_PALETTE[i % len(registry.FEEDER_PALETTE)],
            weight=3,
            features=[
                MapFeature(label=f"Alimentador {code} {name}", url=_url("feeder", pk), geojson=geom)
            ],
            source=_outline_source([pk]),
        )
        for i, (pk, code, name, geom) in enumerate(lines)
    ]
    layers.append(_substation_layer(substation))
    return layers


def feeder_layers(feeder: Feeder, *, for_print: bool = False) -> list[MapLayer]:
    """All the feeder's spans, poles, transformers and equipment, its substation (and purchase
    node, for a sub-feeder), and the other feeders that cross its extent (generalised, as
    context)."""
    spans = Span.objects.filter(feeder=feeder).order_by("pk")
    poles = Pole.objects.filter(feeder=feeder).order_by("pk")
    transformers = Transformer.objects.filter(feeder=feeder).order_by("pk")
    equipment = Equipment.objects.filter(feeder=feeder).order_by("pk")
    others = _generalised_feeders(
        "f.id <> %s AND f.outline && (SELECT outline FROM network_feeder WHERE id = %s)",
        [feeder.pk, feeder.pk],
        for_print,
    )
    layers = [_others_layer(others)] if others else []
    layers += [
        _span_layer(spans, for_print),
        _pole_layer(poles, for_print),
        *_equipment_layers(equipment),
        _transformer_layer(transformers),
    ]
    if feeder.purchase_node_id:
        # A sub-feeder starts at its purchase node, which may be far from the substation.
        node = Pole.objects.get(pk=feeder.purchase_node_id)
        layers.append(
            MapLayer(
                name="Punto de compra",
                kind="point",
                color=registry.PURCHASE_NODE_COLOR,
                shape="diamond",
                size=14,
                features=[MapFeature(node.location, f"Punto de compra: poste {node.plate}")],
            )
        )
    substation = Substation.objects.get(pk=feeder.substation_id)
    layers.append(_substation_layer(substation, fit=not feeder.purchase_node_id))
    return [layer for layer in layers if layer.features]


def transformer_layers(
    transformer: Transformer, radius_m: float = SURROUNDINGS_M, *, for_print: bool = False
) -> list[MapLayer]:
    """The transformer and everything within `radius_m` metres; its feeder's line and its
    substation as context (drawn, but the map is framed on the surroundings)."""
    centre = transformer.location

    def near(model, field_name: str, line: bool = False):
        geography = (LineStringField if line else PointField)(geography=True, srid=4326)
        return (
            model.objects.filter(**{f"{field_name}__bboverlaps": _bbox_around(centre, radius_m)})
            .annotate(_geog=Cast(field_name, geography))
            .filter(_geog__dwithin=(centre, D(m=radius_m)))
            .order_by("pk")
        )

    feeder = Feeder.objects.select_related("substation").get(pk=transformer.feeder_id)
    line = _generalised_feeders("f.id = %s", [feeder.pk], for_print)
    layers = [
        MapLayer(
            name=f"Alimentador {feeder.code} (trazado general)",
            kind="line",
            color=registry.CONTEXT_COLOR,
            weight=5,
            opacity=0.45,
            fit=False,
            features=[
                MapFeature(label=f"Alimentador {c} {n}", url=_url("feeder", pk), geojson=g)
                for pk, c, n, g in line
            ],
            source=_outline_source([pk for pk, *_ in line]),
        ),
        MapLayer(
            name=f"Entorno de {_num(radius_m, 0)} m",
            kind="line",
            color="#555555",
            weight=1,
            dash="4 4",
            features=[MapFeature(_circle(centre, radius_m))],
        ),
        _span_layer(near(Span, "geom", line=True), for_print),
        _pole_layer(near(Pole, "location"), for_print),
        *_equipment_layers(near(Equipment, "location")),
        _transformer_layer(near(Transformer, "location").exclude(pk=transformer.pk)),
        MapLayer(
            name=f"Transformador {transformer.code}",
            kind="point",
            color="#ff6f00",
            shape="triangle",
            size=18,
            features=[
                MapFeature(
                    transformer.location,
                    f"Transformador {transformer.code} · {_kva(transformer.capacity_kva)} · "
                    f"poste {transformer.pole.plate}",
                    _url("transformer", transformer.pk),
                )
            ],
        ),
        _substation_layer(feeder.substation, fit=False),
    ]
    return [layer for layer in layers if layer.features]


def _span_layer(spans, for_print: bool = False) -> MapLayer:
    return MapLayer(
        name=registry.SPANS.legend,
        kind=registry.SPANS.kind,
        color=registry.SPANS.color,
        weight=registry.SPANS.weight,
        source=source_of(spans, "geom"),
        features=[
            MapFeature(label=f"Vano {code} · {_num(length)} m", geojson=geojson)
            for code, length, geojson in spans.annotate(
                geojson=_geojson("geom", for_print)
            ).values_list("code", "length_m", "geojson")
        ],
    )


def _pole_layer(poles, for_print: bool = False) -> MapLayer:
    return MapLayer(
        name=registry.POLES.legend,
        kind=registry.POLES.kind,
        color=registry.POLES.color,
        size=registry.POLES.size,
        min_zoom=registry.POLES.min_zoom,  # below it a feeder's poles (~50 m apart) hide its spans
        source=source_of(poles, "location"),
        features=[
            MapFeature(label=f"Poste {plate}", geojson=geojson)
            for plate, geojson in poles.annotate(
                geojson=_geojson("location", for_print)
            ).values_list("plate", "geojson")
        ],
    )


def _transformer_layer(transformers) -> MapLayer:
    return MapLayer(
        name=registry.TRANSFORMERS.legend,
        kind=registry.TRANSFORMERS.kind,
        color=registry.TRANSFORMERS.color,
        shape=registry.TRANSFORMERS.shape,
        size=registry.TRANSFORMERS.size,
        source=source_of(transformers, "location"),
        features=[
            MapFeature(geom, f"Transformador {code} · {_kva(kva)}", _url("transformer", pk))
            for pk, code, kva, geom in transformers.values_list(
                "pk", "code", "capacity_kva", "location"
            )
        ],
    )


def _equipment_layers(equipment) -> list[MapLayer]:
    return equipment_layers(
        (kind, MapFeature(geom, f"{Equipment.Kind(kind).label} {code}"))
        for code, kind, geom in equipment.values_list("code", "kind", "location")
    )


def equipment_layers(
    features: Iterable[tuple[str, MapFeature]],
    size: float = registry.EQUIPMENT.size,
    fit: bool = True,
) -> list[MapLayer]:
    """One layer per equipment category, in the legend's fixed order, from (kind, feature)
    pairs; colours and shapes from the registry."""
    by_category: dict[str, list[MapFeature]] = {}
    for kind, feature in features:
        category = Equipment.CATEGORY_OF[Equipment.Kind(kind)]
        by_category.setdefault(category, []).append(feature)
    layers = []
    for category in Equipment.Category:
        if category in by_category:
            color, shape = registry.EQUIPMENT_STYLE[category]
            layers.append(
                MapLayer(
                    name=category.label,
                    kind="point",
                    color=color,
                    shape=shape,
                    size=size,
                    fit=fit,
                    features=by_category[category],
                )
            )
    return layers


def _substation_layer(substation: Substation, fit: bool = True) -> MapLayer:
    return MapLayer(
        name=registry.SUBSTATIONS.legend,
        kind=registry.SUBSTATIONS.kind,
        color=registry.SUBSTATIONS.color,
        shape=registry.SUBSTATIONS.shape,
        size=registry.SUBSTATIONS.size,
        fit=fit,
        features=[
            MapFeature(
                substation.location,
                f"Subestación {substation.code} {substation.name}",
                _url("substation", substation.pk),
            )
        ],
    )


def _others_layer(others: list[tuple[int, str, str, str]]) -> MapLayer:
    return MapLayer(
        name="Otros alimentadores",
        kind="line",
        color=registry.CONTEXT_COLOR,
        weight=2,
        dash="6 4",
        fit=False,
        features=[
            MapFeature(label=f"Alimentador {c} {n}", url=_url("feeder", pk), geojson=g)
            for pk, c, n, g in others
        ],
        source=_outline_source([pk for pk, *_ in others]),
    )


def _generalised_feeders(
    where: str, params: list, for_print: bool = False
) -> list[tuple[int, str, str, str | None]]:
    """(pk, code, name, GeoJSON line) per feeder, from its stored outline (spans merged and
    simplified, network.services.outline); no GeoJSON `for_print` (a feeder's crossing
    feeders are a megabyte of it, which the static map, drawn from `source`, never reads)."""
    geojson = "NULL" if for_print else f"ST_AsGeoJSON(f.outline, {PRECISION})"
    sql = f"""
        SELECT f.id, f.code, f.name, {geojson}
          FROM network_feeder f
         WHERE f.outline IS NOT NULL AND {where}
         ORDER BY f.code
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _geojson(field_name: str, for_print: bool):
    """The GeoJSON of a layer's features for the interactive map; none for the static map,
    which draws the layer from its `source` in SQL."""
    if for_print:
        return Value(None, output_field=TextField())
    return AsGeoJSON(field_name, precision=PRECISION)


def _outline_source(pks: list[int]) -> tuple[str, list]:
    return "SELECT outline AS geom FROM network_feeder WHERE id = ANY(%s)", [pks]


def _bbox_around(centre: Point, metres: float) -> Polygon:
    """A lon/lat box a little larger than `metres` around `centre`: the GiST index prefilter."""
    dlon, dlat = degrees_per_metre(centre.y)
    margin = 1.01
    return Polygon.from_bbox(
        (
            centre.x - metres * dlon * margin,
            centre.y - metres * dlat * margin,
            centre.x + metres * dlon * margin,
            centre.y + metres * dlat * margin,
        )
    )


def _circle(centre: Point, metres: float) -> GEOSGeometry:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Buffer(ST_GeogFromText(%s), %s, 'quad_segs=16')::geometry",
            [centre.ewkt, metres],
        )
        return GEOSGeometry(cur.fetchone()[0])


def _url(name: str, pk: int) -> str:
    try:
        return reverse(f"network:{name}", args=[pk])
    except NoReverseMatch:
        return ""


def _kva(value: Decimal) -> str:
    return f"{_num(value, 0 if value == int(value) else 1)} kVA"


def _num(value, decimals: int = 1) -> str:
    """A figure as Chileans write it (1.234,5), like the templates' `num` filter."""
    text = f"{Decimal(value):,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")
