"""The pieces every map of the detail pages is made of: features, layers, and the local
metric scale the SVG frame and the surroundings' box both need."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.gis.geos import GEOSGeometry

PRECISION = 6  # decimals of a degree: ~0.1 m


class MapFeature:
    """One feature: a GEOS geometry (SRID 4326), or GeoJSON straight from SQL, which is much
    cheaper for the hundreds of spans and poles of a feeder than walking GEOS coordinates."""

    __slots__ = ("_geometry", "geojson", "label", "url")

    def __init__(
        self,
        geometry: GEOSGeometry | None = None,
        label: str = "",
        url: str = "",
        geojson: str | None = None,
    ):
        self._geometry = geometry
        self.geojson = geojson
        self.label = label
        self.url = url

    @property
    def geometry(self) -> GEOSGeometry | None:
        if self._geometry is None and self.geojson is not None:
            self._geometry = GEOSGeometry(self.geojson, srid=4326)
        return self._geometry

    def __repr__(self) -> str:
        return f"MapFeature({self.label!r})"


@dataclass
class MapLayer:
    name: str  # legend label
    kind: str  # "line" | "point"
    color: str
    features: list[MapFeature] = field(default_factory=list)
    shape: str = "circle"  # points: circle | square | diamond | triangle
    size: float = 8  # points: symbol diameter in px
    weight: float = 2  # lines: stroke width in px
    dash: str = ""  # lines: SVG/Leaflet dash array, e.g. "6 4"
    opacity: float = 1.0
    fit: bool = True  # False: context drawn but not used to frame the map
    visible: bool = True  # interactive map: shown when the page opens
    min_zoom: int = 0  # interactive map: hidden below this zoom (dense layers)
    # Static map: the same features as one SELECT of a `geom` column (SRID 4326) with its
    # parameters, so that PostGIS frames, clips and simplifies them to print resolution
    # instead of Python walking thousands of geometries. None: drawn from `features`.
    source: tuple[str, list] | None = None


def source_of(queryset, field_name: str) -> tuple[str, list]:
    """A layer's `source`: the geometry column of a queryset's rows, as SQL."""
    sql, params = queryset.order_by().values(field_name).query.sql_with_params()
    return f"SELECT {field_name} AS geom FROM ({sql}) rows", list(params)


def ordered(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """Lines under points; otherwise the caller's order."""
    return [layer for layer in layers if layer.kind != "point"] + [
        layer for layer in layers if layer.kind == "point"
    ]


WGS84_A = 6378137.0
WGS84_E2 = 0.00669437999014


def degrees_per_metre(lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude per metre at `lat` (WGS84 radii of curvature)."""
    phi = math.radians(lat)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    prime_vertical = WGS84_A / math.sqrt(w)
    return (
        math.degrees(1 / (prime_vertical * math.cos(phi))),
        math.degrees(1 / meridional),
    )
