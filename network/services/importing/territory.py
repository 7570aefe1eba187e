"""Where a distributor's network may lie: its comunas, else Chile.

The territory of a distributor is the comunas (with a boundary) that hold its stored
substations, customers or feeders, and the comunas that touch them (networks cross comuna
lines). A distributor with nothing stored yet, or whose comunas have no boundary, gets Chile:
the boundaries of every stored región and comuna, or, when none is loaded, the envelopes of
continental Chile and its islands below. A point within `margin_m` of the territory is inside.

Points are tested in PostGIS, a few hundred at a time (a layer's sample), never feature by
feature in Python; the territory's extent serves for the cheap per-row test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

Box = tuple[float, float, float, float]  # lon min, lat min, lon max, lat max
Point = tuple[float, float]

# Chile without boundaries loaded (generous by design: the check is for exports that land in
# the ocean, in Antarctica or on another continent, not for a border dispute). The Chilean
# Antarctic Territory is left out: no distribution network is imported there.
CHILE_ENVELOPES: tuple[tuple[str, Box], ...] = (
    ("Chile continental e islas costeras, de Arica a Diego Ramírez", (-76.0, -56.6, -66.0, -17.3)),
    ("archipiélago Juan Fernández e islas Desventuradas", (-81.0, -34.0, -78.5, -26.1)),
    ("Rapa Nui e isla Salas y Gómez", (-109.6, -27.4, -105.2, -26.3)),
)
# Degrees that certainly cover `margin_m` metres at Chile's latitudes (1° of longitude is
# 62 km at 56° S), for the bounding-box prefilter of the metric test.
METRES_PER_DEGREE_LOWER_BOUND = 50_000.0


@dataclass(frozen=True)
class Territory:
    label: str  # as the messages name it: "las comunas de OBERRHEIN (…)", "Chile (…)"
    comunas: tuple[int, ...] | None  # comuna ids; None: every stored boundary
    boxes: tuple[Box, ...]  # only without any stored boundary
    extent: Box  # around everything, margin included
    margin_m: float

    @property
    def margin_deg(self) -> float:
        return self.margin_m / METRES_PER_DEGREE_LOWER_BOUND

    def touches(self, box: Box) -> bool:
        """The cheap test of one feature: does its box reach the territory's extent (or, for
        the envelopes, one of them)?"""
        boxes = self.boxes or (self.extent,)
        return any(_overlap(box, other) for other in boxes)

    def inside(self, points: Sequence[Point]) -> list[bool]:
        """Which points lie in the territory or within the margin of it."""
        if self.boxes:
            return [_valid(p) and any(_overlap((*p, *p), b) for b in self.boxes) for p in points]
        chosen = [(i, p) for i, p in enumerate(points) if _valid(p)]
        result = [False] * len(points)
        if not chosen:
            return result
        for i in self._inside_sql([p for _, p in chosen]):
            result[chosen[i - 1][0]] = True
        return result

    def _inside_sql(self, points: list[Point]) -> list[int]:
        params = {
            "xs": [p[0] for p in points],
            "ys": [p[1] for p in points],
            "deg": self.margin_deg,
            "m": self.margin_m,
            "ids": list(self.comunas or ()),
        }

        def near(table: str, only_ids: bool) -> str:
            restrict = "AND b.id = ANY(%(ids)s)" if only_ids else ""
            return f"""
                EXISTS (SELECT 1 FROM {table} b
                         WHERE b.boundary IS NOT NULL {restrict}
                           AND b.boundary && ST_Expand(p.g, %(deg)s)
                           AND CASE WHEN ST_Intersects(b.boundary, p.g) THEN true
                                    ELSE ST_DWithin(b.boundary::geography, p.g::geography, %(m)s)
                               END)"""

        tests = [near("geo_comuna", self.comunas is not None)]
        if self.comunas is None:
            tests.append(near("geo_region", False))
        sql = f"""
            WITH p AS (
                SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
                  FROM unnest(%(xs)s::float8[], %(ys)s::float8[]) WITH ORDINALITY AS t(x, y, i)
            )
            SELECT i FROM p WHERE {" OR ".join(tests)}
        """
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return [row[0] for row in cur.fetchall()]


def _valid(point: Point) -> bool:
    x, y = point
    return x == x and y == y and -180 <= x <= 180 and -90 <= y <= 90


def _overlap(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def territory_of(distributor_code: str, margin_m: float) -> Territory:
    """The territory a distributor's import must land in (see the module's docstring)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH d AS (SELECT id FROM network_distributor WHERE code = %(code)s),
            own AS (
                SELECT comuna_id AS id FROM network_substation WHERE distributor_id IN (SELECT id FROM d)
                UNION
                SELECT comuna_id FROM network_customer WHERE distributor_id IN (SELECT id FROM d)
                UNION
                SELECT c.id FROM network_feeder f JOIN geo_comuna c
                    ON c.boundary && f.outline AND ST_Intersects(c.boundary, f.outline)
                 WHERE f.distributor_id IN (SELECT id FROM d) AND f.outline IS NOT NULL
            ),
            mine AS (SELECT c.id, c.name, c.boundary FROM geo_comuna c
                      WHERE c.id IN (SELECT id FROM own) AND c.boundary IS NOT NULL)
            SELECT n.id, n.id IN (SELECT id FROM mine), n.name
              FROM geo_comuna n
             WHERE n.boundary IS NOT NULL
               AND EXISTS (SELECT 1 FROM mine m
                            WHERE m.boundary && n.boundary AND ST_Intersects(m.boundary, n.boundary))
             ORDER BY n.name
            """,  # noqa: E501
            {"code": distributor_code},
        )
        rows = cur.fetchall()
    deg = margin_m / METRES_PER_DEGREE_LOWER_BOUND
    if rows:
        ids = tuple(row[0] for row in rows)
        own = [row[2] for row in rows if row[1]]
        names = ", ".join(own[:5]) + (f" y {len(own) - 5} más" if len(own) > 5 else "")
        label = (
            f"el territorio de {distributor_code} (sus comunas {names} y las vecinas, "
            f"más {margin_m:.0f} m)"
        )
        return Territory(label, ids, (), _extent("geo_comuna", ids, deg), margin_m)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM geo_region WHERE boundary IS NOT NULL), "
            "(SELECT count(*) FROM geo_comuna WHERE boundary IS NOT NULL)"
        )
        regions, comunas = cur.fetchone()
    if regions or comunas:
        label = (
            f"Chile (los límites cargados: {regions} regiones y {comunas} comunas, más "
            f"{margin_m:.0f} m)"
        )
        boxes = [
            b for b in (_extent("geo_region", None, deg), _extent("geo_comuna", None, deg)) if b
        ]
        extent = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        return Territory(label, None, (), extent, margin_m)
    label = "Chile (continente e islas; no hay límites de regiones ni comunas cargados)"
    boxes = tuple(box for _, box in CHILE_ENVELOPES)
    extent = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    return Territory(label, None, boxes, extent, margin_m)


def _extent(table: str, ids: tuple[int, ...] | None, deg: float) -> Box | None:
    where = "boundary IS NOT NULL" + (" AND id = ANY(%s)" if ids is not None else "")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            f"FROM (SELECT ST_Extent(boundary) AS e FROM {table} WHERE {where}) s",
            [list(ids)] if ids is not None else [],
        )
        row = cur.fetchone()
    if row is None or row[0] is None:
        return None
    return (row[0] - deg, row[1] - deg, row[2] + deg, row[3] + deg)
