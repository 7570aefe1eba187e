"""The demo data set's own small geography, so a clone of the repository alone gets a working demo.

Real CUT codes and names; the boundaries are not the official ones: each comuna is the Voronoi
cell of its approximate centre, clipped to a box around its región. Import the real boundaries
with `import_boundaries` for anything beyond a demo.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction
from shapely import MultiPoint, box, voronoi_polygons
from shapely.geometry import Point

from geo.lib.utm import REGION_ZONES
from geo.models import Comuna, Region

# code, name, bounding box (west, south, east, north)
REGIONS = [
    ("05", "Región de Valparaíso", (-71.72, -33.13, -71.30, -32.95)),
    ("13", "Región Metropolitana de Santiago", (-70.85, -33.68, -70.45, -33.36)),
]

# code, name, provincia, approximate centre (lon, lat)
COMUNAS = [
    ("05101", "Valparaíso", "Valparaíso", -71.62, -33.05),
    ("05109", "Viña del Mar", "Valparaíso", -71.54, -33.02),
    ("05801", "Quilpué", "Marga Marga", -71.44, -33.05),
    ("05804", "Villa Alemana", "Marga Marga", -71.37, -33.04),
    ("13101", "Santiago", "Santiago", -70.65, -33.45),
    ("13123", "Providencia", "Santiago", -70.61, -33.43),
    ("13120", "Ñuñoa", "Santiago", -70.60, -33.46),
    ("13114", "Las Condes", "Santiago", -70.54, -33.41),
    ("13110", "La Florida", "Santiago", -70.58, -33.53),
    ("13119", "Maipú", "Santiago", -70.76, -33.51),
    ("13201", "Puente Alto", "Cordillera", -70.58, -33.61),
]


def _as_multipolygon(shape) -> MultiPolygon:
    geom = GEOSGeometry(memoryview(shape.wkb), srid=4326)
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon(geom, srid=4326)


@transaction.atomic
def ensure_demo_geography() -> list[Comuna]:
    """Create the demo regiones and comunas that are missing; never touch existing ones."""
    comunas = []
    for code, name, bbox in REGIONS:
        frame = box(*bbox)
        members = [c for c in COMUNAS if c[0][:2] == code]
        cells = voronoi_polygons(MultiPoint([(c[3], c[4]) for c in members]), extend_to=frame)
        region, _ = Region.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "utm_zone": REGION_ZONES[code],
                "boundary": _as_multipolygon(frame),
            },
        )
        for comuna_code, comuna_name, province, lon, lat in members:
            cell = next(g for g in cells.geoms if g.contains(Point(lon, lat)))
            comuna, _ = Comuna.objects.get_or_create(
                code=comuna_code,
                defaults={
                    "name": comuna_name,
                    "region": region,
                    "province": province,
                    "boundary": _as_multipolygon(cell.intersection(frame)),
                },
            )
            comunas.append(comuna)
    return comunas
