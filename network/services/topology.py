"""One place where a topology change reaches everything derived from it.

Planners' edits (admin, through signals), imports and the seed call these functions; they
refresh the feeders' generalised outlines, drop the cached vector tiles over the area that
changed, and schedule the feeders' KMZ plans for regeneration once the change is committed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from network.services.outline import refresh_outlines

BBox = tuple[float, float, float, float]


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


def topology_changed(feeder_ids: Iterable[int], bbox: BBox | None = None) -> None:
    """Feeders whose spans, poles, equipment or transformers changed (and the area touched)."""
    ids = {pk for pk in feeder_ids if pk is not None}
    if not ids and bbox is None:
        return
    before = feeders_extent(ids)
    refresh_outlines(ids)
    area = union(union(before, feeders_extent(ids)), bbox)

    from geo.kmz import regenerate_later
    from geo.tiles.cache import invalidate_area

    if area is not None:
        invalidate_area(area)
    if ids:
        regenerate_later(ids)


def network_replaced() -> None:
    """The whole network was reloaded (seed): every cached tile and plan is out of date.

    Plans are deleted rather than rebuilt: thousands of feeders would take minutes, and the
    download view builds a missing plan on demand (`export_kmz --all` builds them all).
    """
    from geo.tiles.cache import invalidate_area

    invalidate_area((-180.0, -90.0, 180.0, 90.0))
    for path in settings.KMZ_DIR.glob("*.kmz"):
        path.unlink(missing_ok=True)
