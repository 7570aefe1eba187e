"""UTM presentation of stored WGS84 points, the way Chilean users read coordinates.

Continental Chile is presented in zone 18S or 19S by region (a utility's convention, kept on
`Region.utm_zone`); official CDEC-SIC data, for instance, keeps Biobío in 19S although it lies
west of 72°W. Islands far off the continent use their natural zone (Rapa Nui: 12S).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyproj import Transformer

DATUM = "WGS84"

# Presentation zone of each región by CUT code. Regions from Arica to La Araucanía are
# presented in 19S; Los Ríos, Los Lagos and Aysén in 18S; Magallanes in 19S.
REGION_ZONES: dict[str, int] = {
    "15": 19, "01": 19, "02": 19, "03": 19, "04": 19, "05": 19, "13": 19, "06": 19,
    "07": 19, "16": 19, "08": 19, "09": 19, "14": 18, "10": 18, "11": 18, "12": 19,
}  # fmt: skip

# West of this longitude a point is off the continent (Juan Fernández, San Félix, Rapa Nui)
# and gets its natural zone whatever its región says.
CONTINENT_WEST_LIMIT = -76.0


@dataclass(frozen=True)
class UtmPoint:
    x: float
    y: float
    zone: int
    south: bool = True
    datum: str = DATUM

    @property
    def zone_label(self) -> str:
        return f"{self.zone}{'S' if self.south else 'N'}"

    def __str__(self) -> str:
        return f"{self.x:.1f} E, {self.y:.1f} N, {self.datum}, huso {self.zone_label}"


def natural_zone(lon: float) -> int:
    return min(60, max(1, int((lon + 180) // 6) + 1))


def presentation_zone(lon: float, region_zone: int | None = None) -> int:
    if region_zone and lon >= CONTINENT_WEST_LIMIT:
        return region_zone
    return natural_zone(lon)


@lru_cache(maxsize=16)
def utm_transformer(zone: int, south: bool) -> Transformer:
    """The WGS84 → UTM transformer of a zone (cached); for batches of points."""
    epsg = (32700 if south else 32600) + zone
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def to_utm(lon: float, lat: float, zone: int | None = None) -> UtmPoint:
    """Project a WGS84 lon/lat onto UTM; `zone` None means the natural zone of `lon`."""
    zone = zone or natural_zone(lon)
    south = lat < 0
    x, y = utm_transformer(zone, south).transform(lon, lat)
    return UtmPoint(x=x, y=y, zone=zone, south=south)


def point_to_utm(point, region_zone: int | None = None) -> UtmPoint | None:
    """UTM of a GEOS point (SRID 4326) in the presentation zone of its región."""
    if point is None:
        return None
    return to_utm(point.x, point.y, presentation_zone(point.x, region_zone))
