"""What the map page reads beyond its tiles: the poles nearest a point typed in the search box,
with their available capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from capacity.models import Criterion, FeederCapacity, PoleCapacity, Run

NEAREST_POLES = 10
NEAREST_RADIUS_M = 5000
# Candidates taken through the GiST index by planar distance in degrees, then ordered by their
# distance in metres: a degree of longitude is shorter than one of latitude (cos 56° = 0.56 at
# Cabo de Hornos), so the nearest in degrees are not quite the nearest in metres.
CANDIDATES = 4


@dataclass(frozen=True)
class NearPole:
    id: int
    plate: str
    lon: float
    lat: float
    distance_m: float
    feeder_id: int
    feeder_code: str
    as_of: date
    status: str | None  # the feeder's FeederCapacity.Status, None when never computed
    stale: bool
    remaining_mw: float | None
    hosting_mw: float | None
    criterion: str | None
    run_id: int | None
    run_started: datetime | None

    @property
    def criterion_label(self) -> str | None:
        return Criterion(self.criterion).label if self.criterion else None

    @property
    def no_data(self) -> str | None:
        """Why the pole has no capacity value: the feeder lacks data, or was not computed."""
        if self.remaining_mw is not None:
            return None
        if self.status == FeederCapacity.Status.MISSING:
            return "Sin datos suficientes"
        return "Sin cálculo de capacidad"


def nearest_sql() -> str:
    """The statement of nearest_poles: the candidates by a KNN scan (`<->` against a constant
    point, which the GiST index of network_pole.location answers), then metres."""
    fc, pc, run = (m._meta.db_table for m in (FeederCapacity, PoleCapacity, Run))
    here = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
    return f"""
        WITH near AS (
            SELECT p.id, p.plate, p.location, p.feeder_id, p.as_of,
                   ST_Distance(p.location::geography, {here}::geography) AS metres
              FROM (SELECT id, plate, location, feeder_id, as_of FROM network_pole
                     ORDER BY location <-> {here} LIMIT %(candidates)s) p
        )
        SELECT n.id, n.plate, ST_X(n.location), ST_Y(n.location), n.metres, n.feeder_id,
               f.code, n.as_of, fc.status, COALESCE(fc.stale, false),
               c.remaining_mw, c.hosting_mw, c.criterion, c.run_id, r.started_at
          FROM near n
          JOIN network_feeder f ON f.id = n.feeder_id
          LEFT JOIN {fc} fc ON fc.feeder_id = n.feeder_id
          LEFT JOIN {pc} c ON c.pole_id = n.id AND fc.status = %(ok)s
          LEFT JOIN {run} r ON r.id = c.run_id
         WHERE n.metres <= %(radius)s
         ORDER BY n.metres, n.id
         LIMIT %(limit)s
    """


def nearest_params(lon: float, lat: float, limit: int, radius_m: float) -> dict:
    return {
        "lon": lon,
        "lat": lat,
        "candidates": limit * CANDIDATES,
        "radius": radius_m,
        "limit": limit,
        "ok": FeederCapacity.Status.OK.value,
    }


def nearest_poles(
    lon: float, lat: float, limit: int = NEAREST_POLES, radius_m: float = NEAREST_RADIUS_M
) -> list[NearPole]:
    """The `limit` poles nearest the point within `radius_m`, nearest first, with their
    capacity; one statement (nearest_sql)."""
    with connection.cursor() as cur:
        cur.execute(nearest_sql(), nearest_params(lon, lat, limit, radius_m))
        return [NearPole(*row) for row in cur.fetchall()]


def run_label(run_id: int | None, started: datetime | None) -> str | None:
    """«Cálculo N del dd/mm/aaaa», as the capacity pages name a run."""
    if run_id is None or started is None:
        return None
    return f"Cálculo {run_id} del {timezone.localtime(started):%d/%m/%Y}"
