"""Generalised feeder lines: each feeder's spans merged and simplified, stored on the feeder.

Maps that show many feeders at once (a substation, the neighbours of a feeder, low-zoom tiles)
read these instead of merging thousands of spans on every request.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

# Metres on the ground (Web Mercator is close enough at this scale for a drawing tolerance).
OUTLINE_TOLERANCE_M = 10.0


def refresh_outlines(feeder_ids: Iterable[int] | None = None) -> int:
    """Recompute the outline of the given feeders (all when None); return how many changed."""
    ids = None if feeder_ids is None else sorted(set(feeder_ids))
    if ids == []:
        return 0
    where = "" if ids is None else "WHERE s.feeder_id = ANY(%(ids)s)"
    sql = f"""
        WITH merged AS (
            SELECT s.feeder_id, ST_Multi(ST_Transform(ST_Simplify(ST_Transform(
                       ST_LineMerge(ST_Collect(s.geom ORDER BY s.id)), 3857), %(tol)s, true), 4326))
                   AS outline
              FROM network_span s {where}
             GROUP BY s.feeder_id
        )
        UPDATE network_feeder f SET outline = merged.outline
          FROM merged WHERE merged.feeder_id = f.id
    """
    with connection.cursor() as cur:
        cur.execute(sql, {"tol": OUTLINE_TOLERANCE_M, "ids": ids})
        changed = cur.rowcount
        if ids is not None:
            # A feeder left without spans has no outline.
            cur.execute(
                "UPDATE network_feeder f SET outline = NULL WHERE f.id = ANY(%s) AND NOT EXISTS "
                "(SELECT 1 FROM network_span s WHERE s.feeder_id = f.id)",
                [ids],
            )
            changed += cur.rowcount
    return changed
