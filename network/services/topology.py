"""One place where a topology change is announced to everything derived from it.

Planners' edits (admin, through network.handlers), imports and the seed call these functions;
they send network.signals.topology_changed or network_replaced. The receivers refresh the
feeders' generalised outlines (network.handlers), drop the cached vector tiles over the area
that changed and schedule the feeders' KMZ plans for regeneration (maps.handlers).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from network.models import Feeder
from network.signals import network_replaced, topology_changed

BBox = tuple[float, float, float, float]
WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)


def feeders_extent(feeder_ids: Iterable[int]) -> BBox | None:
    """The lon/lat box around the feeders' outlines and substations."""
    ids = sorted(set(feeder_ids))
    if not ids:
        return None
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
                SELECT ST_Extent(g) AS e FROM (
                    SELECT f.outline AS g FROM network_feeder f WHERE f.id = ANY(%s)
                    UNION ALL
                    SELECT s.location FROM network_substation s
                      JOIN network_feeder f ON f.substation_id = s.id WHERE f.id = ANY(%s)
                ) parts
            ) box
            """,
            [ids, ids],
        )
        row = cur.fetchone()
    return None if row is None or row[0] is None else tuple(row)


def union(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def announce_change(feeder_ids: Iterable[int], bbox: BBox | None = None) -> None:
    """Feeders whose spans, poles, equipment or transformers changed (and the area touched)."""
    ids = frozenset(pk for pk in feeder_ids if pk is not None)
    if not ids and bbox is None:
        return
    # The outlines before the change: the receivers refresh them, and the area they covered
    # must be redrawn too.
    area = union(feeders_extent(ids), bbox)
    topology_changed.send(sender=Feeder, feeder_ids=ids, area=area)


def announce_replaced() -> None:
    """The whole network was reloaded (seed)."""
    network_replaced.send(sender=Feeder)
