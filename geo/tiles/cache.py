"""The server-side tile cache: rendered tiles in the `geo_tilecache` table (geo.models.TileCache).

A table rather than Django's cache framework because invalidation is spatial: after an edit,
every cached tile whose envelope (with the buffer it is rendered with) touches the edited area
must go, at every zoom, and in a table that is one indexed DELETE over ranges of x and y per
zoom. It is shared by every server process, survives restarts, and is UNLOGGED (no WAL).

A miss renders and stores the tile in one statement. Tiles deeper than CACHE_MAX_ZOOM are not
stored: they are cheap (a few hundred rows) and there are millions of them.

Known limit: a tile rendered from a snapshot taken just before an edit commits, and stored just
after that edit's `invalidate_area` ran, stays stale until the next edit there (a window of one
render, milliseconds). `clear()` empties the cache, e.g. after a bulk import.
"""

from __future__ import annotations

import hashlib

from django.db import connection

from geo.tiles import services

CACHE_MAX_ZOOM = 16

LOOKUP = "SELECT etag, data FROM geo_tilecache WHERE z = %s AND x = %s AND y = %s AND layer = %s"
STORE = """
    WITH tile AS MATERIALIZED ({select})
    INSERT INTO geo_tilecache (layer, z, x, y, etag, data, created)
    SELECT %(layer)s, %(z)s, %(x)s, %(y)s, md5(tile.data), tile.data, now() FROM tile
    ON CONFLICT (z, x, y, layer)
    DO UPDATE SET etag = EXCLUDED.etag, data = EXCLUDED.data, created = EXCLUDED.created
    RETURNING etag, data
"""


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def get_or_render(layer: str, z: int, x: int, y: int) -> tuple[str, bytes]:
    """(etag, tile): from the cache, or rendered (and stored, down to CACHE_MAX_ZOOM)."""
    if z > CACHE_MAX_ZOOM or not services.layers_at(layer, z):
        data = services.render(layer, z, x, y)
        return etag_of(data), data
    with connection.cursor() as cur:
        cur.execute(LOOKUP, [z, x, y, layer])
        row = cur.fetchone()
        if row is None:
            select, params = services.tile_sql(layer, z, x, y)
            cur.execute(STORE.format(select=select), {**params, "layer": layer})
            row = cur.fetchone()
    return row[0], bytes(row[1])


def invalidate_area(bbox: tuple[float, float, float, float]) -> int:
    """Delete every cached tile, of every layer and zoom, whose envelope (grown by the tile
    buffer) touches the lon/lat box (west, south, east, north); return how many went."""
    clauses, params = [], []
    for z in range(CACHE_MAX_ZOOM + 1):
        found = services.tile_range(bbox, z)
        if found is None:
            continue
        x0, y0, x1, y1 = found
        clauses.append("(z = %s AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s)")
        params += [z, x0, x1, y0, y1]
    if not clauses:
        return 0
    with connection.cursor() as cur:
        cur.execute("DELETE FROM geo_tilecache WHERE " + " OR ".join(clauses), params)
        return cur.rowcount


def clear() -> int:
    """Empty the cache (after a bulk import or a new data set); return how many tiles went."""
    with connection.cursor() as cur:
        cur.execute("DELETE FROM geo_tilecache")
        return cur.rowcount
