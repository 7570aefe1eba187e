"""What the planner asks of a row's geometry: its length, its direction, its comuna.

Lengths are geodesic on WGS84, in metres as spans store them; the comuna is found in PostGIS,
within a tolerance for substations drawn just outside every boundary.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, LineString
from django.db import connection
from pyproj import Geod

from geo.models import Comuna

GEOD = Geod(ellps="WGS84")


def geodesic_length(line: LineString) -> float:
    lons, lats = zip(*line.coords, strict=True)
    return GEOD.line_length(lons, lats)


def reversed_line(line: GEOSGeometry) -> GEOSGeometry:
    return LineString(list(reversed(line.coords)), srid=line.srid)


def locate_comuna(point: GEOSGeometry, tolerance_m: float) -> tuple[int | None, float]:
    """The comuna containing the point (lowest code when boundaries overlap), else the nearest
    one within the tolerance, with its distance."""
    found = (
        Comuna.objects.filter(boundary__covers=point).order_by("code").values_list("id", flat=True)
    ).first()
    if found is not None:
        return found, 0.0
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT id, ST_Distance(boundary::geography, ST_GeomFromEWKT(%s)::geography) AS d
              FROM geo_comuna
             WHERE boundary IS NOT NULL
               AND ST_DWithin(boundary::geography, ST_GeomFromEWKT(%s)::geography, %s)
             ORDER BY d, code LIMIT 1
            """,
            [point.ewkt, point.ewkt, tolerance_m],
        )
        row = cur.fetchone()
    return (row[0], row[1]) if row else (None, 0.0)
