"""The portal's grids as downloadable tables: the same rows, in the same order, as the pages.

Each grid is read with the query of its page, through the same QuerySet methods
(`Substation.objects.of_comuna`, `Feeder.objects.of_substation`, `network.models.feeder_assets`
…, as `portal.views.LocationSearchView.grid` and `FeederDetailView.asset_search` call them),
unpaginated: a download holds every row of the grid, not the
page on screen. Its columns are the page's columns first, then a few more a spreadsheet or a
GIS wants (UTM coordinates, dates, links to the detail pages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.http import HttpRequest
from django.urls import reverse

from geo.lib.utm import DATUM
from network import layers
from network.api.serializers import PRECISION, GeoJSONFromSQL, PointGeometry
from network.models import Feeder, Substation, Transformer, feeder_assets

HISTORY_MONTHS = 12  # as the page shows
_point = PointGeometry()
_sql = GeoJSONFromSQL()


def _geometry(value):
    """A GEOS point, or GeoJSON text that PostGIS wrote (lines, outlines)."""
    return (
        _sql.to_representation(value)
        if isinstance(value, str | None)
        else _point.to_representation(value)
    )


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    value: Callable[[Any], Any]
    in_csv: bool = True


@dataclass
class Grid:
    """Rows of one grid with their columns; `features()` is its GeoJSON."""

    name: str
    filename: str
    columns: list[Column]
    rows: Iterable
    geometry: Callable[[Any], Any]
    meta: dict = field(default_factory=dict)

    @property
    def csv_columns(self) -> list[tuple[str, str]]:
        return [(c.key, c.label) for c in self.columns if c.in_csv]

    def feature_collection(self) -> dict:
        features = [
            {
                "type": "Feature",
                "id": row.pk,
                "geometry": _geometry(self.geometry(row)),
                "properties": {c.key: c.value(row) for c in self.columns},
            }
            for row in self.rows
        ]
        return {"type": "FeatureCollection", "grid": self.name, **self.meta, "features": features}


def _utm(obj):
    # Rows come with their región's zone (`with_utm_zone()`); one projection per row.
    if not hasattr(obj, "_utm"):
        obj._utm = obj.utm
    return obj._utm


UTM_COLUMNS = [
    Column("utm_x", "X UTM (m)", lambda o: round(_utm(o).x, 2)),
    Column("utm_y", "Y UTM (m)", lambda o: round(_utm(o).y, 2)),
    Column("datum", "Datum", lambda o: DATUM),
    Column("utm_zone", "Huso", lambda o: _utm(o).zone_label),
]


def _link(request: HttpRequest, name: str) -> Callable[[Any], str]:
    return lambda obj: request.build_absolute_uri(reverse(name, args=[obj.pk]))


def substations_of_comuna(request: HttpRequest, region, comuna) -> Grid:
    """BUSCAR at level comuna: the substations of the comuna, by id."""
    rows = Substation.objects.of_comuna(comuna).with_utm_zone()
    return Grid(
        name=layers.SUBSTATIONS.slug,
        filename=f"subestaciones-comuna-{comuna.code}",
        columns=[
            Column("code", "Id subestación", lambda s: s.code),
            Column("name", "Nombre subestación", lambda s: s.name),
            Column("comuna", "Comuna", lambda s: comuna.name),
            Column("region", "Región", lambda s: region.name),
            Column("high_voltage_kv", "Tensión AT (kV)", lambda s: s.high_voltage_kv),
            *UTM_COLUMNS,
            Column("as_of", "Fecha de actualización", lambda s: s.as_of),
            Column("detail_url", "Detalle", _link(request, "network:substation")),
        ],
        rows=rows,
        geometry=lambda s: s.location,
        meta={"region": region.code, "comuna": comuna.code},
    )


def feeders_of_substation(request: HttpRequest, region, comuna, substation) -> Grid:
    """BUSCAR at level subestación: its feeders by name, each with its transformers."""
    rows = (
        Feeder.objects.of_substation(substation)
        .with_transformer_codes()
        .defer("outline")
        .annotate(outline_geojson=AsGeoJSON("outline", precision=PRECISION))
    )
    return Grid(
        name=layers.FEEDERS.slug,
        filename=f"alimentadores-{substation.code}",
        columns=[
            Column("code", "Id alimentador", lambda f: f.code),
            Column("name", "Nombre", lambda f: f.name),
            Column("kind", "Tipo", lambda f: f.get_kind_display()),
            Column(
                "transformers",
                "Transformadores",
                lambda f: [t.code for t in f.transformers.all()],
            ),
            Column("substation", "Subestación", lambda f: substation.name),
            Column("as_of", "Fecha de actualización", lambda f: f.as_of),
            Column("detail_url", "Detalle", _link(request, "network:feeder")),
        ],
        rows=rows,
        geometry=lambda f: f.outline_geojson,
        meta={"region": region.code, "comuna": comuna.code, "substation": substation.pk},
    )


def transformers_of_feeder(request: HttpRequest, region, comuna, feeder, only=None) -> Grid:
    """BUSCAR at level alimentador: its transformers by id (one, when the cascade named it)."""
    rows = Transformer.objects.of_feeder(feeder).order_by("code").with_utm_zone()
    if only is not None:
        rows = rows.filter(pk=only.pk)
    return Grid(
        name=layers.TRANSFORMERS.slug,
        filename=f"transformadores-{feeder.code}",
        columns=[
            Column("code", "Id transformador", lambda t: t.code),
            Column("name", "Nombre transformador", lambda t: t.name),
            Column("plate", "Placa", lambda t: t.plate),
            Column("capacity_kva", "Capacidad (kVA)", lambda t: t.capacity_kva),
            Column("feeder", "Alimentador", lambda t: feeder.name),
            *UTM_COLUMNS,
            Column("as_of", "Fecha de actualización", lambda t: t.as_of),
            Column("detail_url", "Detalle", _link(request, "network:transformer")),
        ],
        rows=rows,
        geometry=lambda t: t.location,
        meta={"region": region.code, "comuna": comuna.code, "feeder": feeder.pk},
    )


def location_grid(request: HttpRequest, data: dict) -> Grid:
    """The grid LocationSearchView shows for a valid LocationForm's cleaned data."""
    region, comuna = data["region"], data["comuna"]
    substation, feeder = data.get("subestacion"), data.get("alimentador")
    if feeder:
        return transformers_of_feeder(request, region, comuna, feeder, data.get("transformador"))
    if substation:
        return feeders_of_substation(request, region, comuna, substation)
    return substations_of_comuna(request, region, comuna)


def _poles(feeder: Feeder, term: str) -> Grid:
    return Grid(
        name=layers.POLES.slug,
        filename=f"postes-{feeder.code}",
        columns=[
            Column("plate", "Placa poste", lambda p: p.plate),
            *UTM_COLUMNS,
            Column("mt_voltage_kv", "Tensión media (kV)", lambda p: p.mt_voltage_kv),
            Column("bt_voltage_v", "Tensión baja (V)", lambda p: p.bt_voltage_v),
            Column("vnr", "Código VNR", lambda p: p.vnr_code),
            Column("as_of", "Fecha de actualización", lambda p: p.as_of),
        ],
        rows=feeder_assets(feeder, "poste", term),
        geometry=lambda p: p.location,
    )


def _spans(feeder: Feeder, term: str) -> Grid:
    # The lines go out as GeoJSON written by PostGIS, not through GEOS.
    rows = (
        feeder_assets(feeder, "vano", term)
        .defer("geom")
        .annotate(geom_geojson=AsGeoJSON("geom", precision=PRECISION))
    )
    head = f"S/E {feeder.substation.name}"
    return Grid(
        name=layers.SPANS.slug,
        filename=f"vanos-{feeder.code}",
        columns=[
            Column("code", "Id vano", lambda s: s.code),
            Column("from_pole", "Nodo origen", lambda s: s.from_plate or head),
            Column("to_pole", "Nodo destino", lambda s: s.to_plate),
            Column("length_m", "Longitud (m)", lambda s: s.length_m),
            Column("conductor_material", "Material conductor", lambda s: s.conductor_material),
            Column("conductor_insulation", "Aislación conductor", lambda s: s.conductor_insulation),
            Column("vnr", "Código VNR", lambda s: s.vnr_code),
            Column("capacity_a", "Capacidad conductor (A)", lambda s: s.capacity_a),
            Column("phases", "Fases", lambda s: s.phases),
            Column("as_of", "Fecha de actualización", lambda s: s.as_of),
        ],
        rows=rows,
        geometry=lambda s: s.geom_geojson,
    )


def _history(equipment) -> list[dict]:
    return [
        {
            "month": h.month,
            "capacity_a": h.capacity_a,
            "capacity_kva": h.capacity_kva,
            "connection": h.connection,
            "operating_mode": h.operating_mode,
            "voltage_setpoints": h.voltage_setpoints,
            "transformation_ratio": h.transformation_ratio,
        }
        for h in equipment.history[:HISTORY_MONTHS]
    ]


def _equipment(feeder: Feeder, term: str) -> Grid:
    return Grid(
        name=layers.EQUIPMENT.slug,
        filename=f"equipos-{feeder.code}",
        columns=[
            Column("code", "Id equipo", lambda e: e.code),
            Column("kind", "Tipo equipo", lambda e: e.get_kind_display()),
            Column("capacity_a", "Capacidad (A)", lambda e: e.capacity_a),
            Column("capacity_kva", "Capacidad (kVA)", lambda e: e.capacity_kva),
            Column("connection", "Conexión", lambda e: e.connection),
            Column("operating_mode", "Modo operación", lambda e: e.operating_mode),
            Column("voltage_setpoints", "Consignas de tensión", lambda e: e.voltage_setpoints),
            Column(
                "transformation_ratio", "Razón de transformación", lambda e: e.transformation_ratio
            ),
            Column("vnr", "Código VNR", lambda e: e.vnr_code),
            *UTM_COLUMNS,
            Column("as_of", "Fecha de actualización", lambda e: e.as_of),
            Column("history", "Historial mensual", _history, in_csv=False),
        ],
        rows=feeder_assets(feeder, "equipo", term),
        geometry=lambda e: e.location,
    )


def feeder_asset_grid(feeder: Feeder, kind: str, term: str) -> Grid:
    """FeederDetailView's search: poles, spans or equipment of the feeder whose id starts so."""
    if kind == "poste":
        grid = _poles(feeder, term)
    elif kind == "vano":
        grid = _spans(feeder, term)
    else:
        grid = _equipment(feeder, term)
    if term:
        grid.filename += "-" + "".join(c if c.isalnum() else "-" for c in term.upper())
    grid.meta = {"feeder": feeder.pk, "tipo": kind, "id": term}
    return grid
