"""The server-side tile cache: rendered tiles in the `geo_tilecache` table (geo.models.TileCache).

A table rather than Django's cache framework because invalidation is spatial: after an edit,
every cached tile whose envelope (with the buffer it is rendered with) touches the edited area
must go, at every zoom, and in a table that is one indexed DELETE over ranges of x and y per
zoom. It is shared by every server process, survives restarts, and is UNLOGGED (no WAL).

A look-up, and on a miss the render and the store, are one statement. Tiles deeper than
CACHE_MAX_ZOOM are not stored: they are cheap (a few hundred rows) and there are millions.

The tile fast path (maps.tiles.wsgi), what the servers answer most tiles with, takes the store
off the tile's way: its statement looks the tile up or renders it (RENDER), and the tiles it
rendered are kept in the process (`store_later`) and written a batch at a time (`flush`, one
INSERT for up to FLUSH_TILES tiles) when the server closes a response, after sending it. Each
rendered tile carries the cache's epoch, a sequence every invalidation advances before it
deletes (`invalidate_area`, `clear`): a batch stores only the tiles rendered since the last
invalidation began, so a tile rendered before an edit and still waiting is dropped, not stored
stale. Waiting tiles of a process that stops are lost: they are rendered again when asked for.

Known limit: a tile rendered from a snapshot taken just before an edit commits, and stored just
after that edit's `invalidate_area` ran, stays stale until the next edit there (a window of one
render, milliseconds). `clear()` empties the cache, e.g. after a bulk import.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from accounts.sessions import SessionLogin, login_row, login_sql
from maps.tiles import services

CACHE_MAX_ZOOM = 16

# One statement, one round trip: the cached tile if there is one, otherwise the tile rendered
# and stored. `stored` runs its SELECT only when `hit` is empty (a one-time filter: the layer
# subqueries are not evaluated on a hit); OFFSET 0 keeps that SELECT a subquery, or the
# planner would inline it and render the tile twice, once for md5() and once for the data.
# A statement that writes never runs in parallel, so no SET is needed for the serial plan
# (services.SERIAL). `{gate}` optionally adds a condition to both (the user's row, see
# `fetch`); `{result}` is the final SELECT.
HIT = """{account}hit AS MATERIALIZED (
        SELECT etag, data FROM geo_tilecache
         WHERE z = %(z)s AND x = %(x)s AND y = %(y)s AND layer = %(layer)s{gate}
    )"""
MISSED = "({select} WHERE NOT EXISTS (SELECT FROM hit){gate} OFFSET 0) tile"
FETCH = f"""
    WITH {HIT}, stored AS (
        INSERT INTO geo_tilecache (layer, z, x, y, etag, data, created)
        SELECT %(layer)s, %(z)s, %(x)s, %(y)s, md5(tile.data), tile.data, now()
          FROM {MISSED}
        ON CONFLICT (z, x, y, layer)
        DO UPDATE SET etag = EXCLUDED.etag, data = EXCLUDED.data, created = EXCLUDED.created
        RETURNING etag, data
    )
    {{result}}
"""
TILE = "SELECT etag, data FROM hit UNION ALL SELECT etag, data FROM stored"
ACCOUNT = "account AS MATERIALIZED ({login}), "
ACCOUNT_GATE = " AND EXISTS (SELECT FROM account WHERE is_active)"
ACCOUNT_RESULT = """SELECT account.password, account.is_active, tile.etag, tile.data{extra}
      FROM account LEFT JOIN ({tile}) tile ON true"""

# The look-up, or on a miss the render, without the store (the fast path's: `store_later`):
# `epoch` is the cache's epoch for a rendered tile, NULL for a cached one. The same look-up
# and render on a miss as FETCH's (HIT, MISSED).
EPOCH = "maps_tile_epoch"  # a sequence (maps migration 0002)
RENDER = f"""
    WITH {HIT}, rendered AS (
        SELECT md5(tile.data) AS etag, tile.data FROM {MISSED}
    )
    {{result}}
"""
RENDERED = (
    "SELECT etag, data, NULL::bigint AS epoch FROM hit"
    f" UNION ALL SELECT etag, data, (SELECT last_value FROM {EPOCH}) FROM rendered"
)
# A batch of rendered tiles, stored if no invalidation began since they were rendered; a row
# stored meanwhile (by another process) is kept.
STORE_BATCH = f"""
    INSERT INTO geo_tilecache (layer, z, x, y, etag, data, created)
    SELECT t.layer, t.z, t.x, t.y, t.etag, t.data, now()
      FROM unnest(%(layer)s::varchar[], %(z)s::smallint[], %(x)s::int[], %(y)s::int[],
                  %(etag)s::varchar[], %(data)s::bytea[], %(epoch)s::bigint[])
           AS t(layer, z, x, y, etag, data, epoch)
     WHERE t.epoch = (SELECT last_value FROM {EPOCH})
    ON CONFLICT (z, x, y, layer) DO NOTHING
"""
ADVANCE_EPOCH = f"SELECT nextval('{EPOCH}')"
FLUSH_TILES = 16  # tiles written by one INSERT
FLUSH_SECONDS = 1.0  # or fewer, once the oldest has waited this long


@dataclass(frozen=True)
class Fetched:
    etag: str
    data: bytes
    password: str = ""  # with a user: the user's password hash and active flag
    is_active: bool = False
    epoch: int | None = None  # rendered by fetch(..., defer_store=True): for store_later


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class _PreparedDebugWrapper(CursorDebugWrapper):
    # Django reads the executed text back from client-side cursors only; log the statement.
    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def _prepared_cursor() -> CursorWrapper:
    """A cursor whose statements PostgreSQL prepares (portal.settings: prepare_threshold, and
    plan_cache_mode for their generic plan): parameters bound on the server, so the text of a
    tile statement is the same for every tile of a layer and zoom, and is planned once per
    database connection instead of once per tile. Wrapped like Django's cursors (errors,
    query logging in tests and DEBUG)."""
    connection.ensure_connection()
    wrapper = _PreparedDebugWrapper if connection.queries_logged else CursorWrapper
    return wrapper(psycopg.Cursor(connection.connection), connection)


def fetch(
    layer: str,
    z: int,
    x: int,
    y: int,
    login: SessionLogin | None = None,
    defer_store: bool = False,
) -> Fetched | None:
    """The tile from the cache, or rendered (and stored, down to CACHE_MAX_ZOOM).

    With `login`, the user's password hash and active flag come back with it, read in the
    same statement (accounts.sessions: login_sql, login_is_valid), and nothing is rendered
    unless the session still holds the login and the user is active; None when the session
    no longer holds the login or the user is gone. A cached tile is one round trip, a missing
    one too. With `defer_store`, a tile rendered here is not stored: it comes back with the
    cache's epoch, for `store_later`.
    """
    if z > CACHE_MAX_ZOOM or not services.layers_at(layer, z):
        account = None
        if login is not None:
            account = login_row(login)
            if account is None:
                return None
            if not account[1]:
                return Fetched("", b"", *account)
        data = services.render(layer, z, x, y)
        return Fetched(etag_of(data), data, *(account or ()))
    params = {**services.tile_params(z, x, y), "layer": layer}
    if login is not None:
        params.update(login.params())
    sql = statement(layer, z, login is not None, defer_store)
    with _prepared_cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        return None
    epoch = row[-1] if defer_store else None
    if login is None:
        return Fetched(row[0], bytes(row[1]), epoch=epoch)
    password, is_active, etag, data = row[:4]
    return Fetched(etag or "", bytes(data or b""), password, is_active, epoch)


class _Waiting:
    """Tiles rendered by this process and not yet stored: (layer, z, x, y, etag, data, epoch)."""

    def __init__(self) -> None:
        self.tiles: list[tuple[str, int, int, int, str, bytes, int]] = []
        self.since = 0.0  # when the oldest was added (time.monotonic)
        self.lock = threading.Lock()


_waiting = _Waiting()


def store_later(layer: str, z: int, x: int, y: int, fetched: Fetched) -> None:
    """Keep a tile `fetch(..., defer_store=True)` rendered for the next `flush`."""
    if fetched.epoch is None:
        return  # a cached tile, or none
    with _waiting.lock:
        if not _waiting.tiles:
            _waiting.since = time.monotonic()
        _waiting.tiles.append((layer, z, x, y, fetched.etag, fetched.data, fetched.epoch))


def flush(force: bool = False) -> int:
    """Store the waiting tiles in one statement once there are FLUSH_TILES of them, or the
    oldest has waited FLUSH_SECONDS (or now, with `force`); those rendered before an
    invalidation began are dropped. Returns how many were stored."""
    with _waiting.lock:
        tiles = _waiting.tiles
        if not tiles or not (
            force or len(tiles) >= FLUSH_TILES or time.monotonic() - _waiting.since >= FLUSH_SECONDS
        ):
            return 0
        _waiting.tiles = []
    columns = ("layer", "z", "x", "y", "etag", "data", "epoch")
    params = {name: [tile[k] for tile in tiles] for k, name in enumerate(columns)}
    with connection.cursor() as cur:
        cur.execute(STORE_BATCH, params)
        return cur.rowcount


def drop_waiting() -> None:
    """Forget the waiting tiles (tests: each starts without another's)."""
    with _waiting.lock:
        _waiting.tiles = []


@functools.lru_cache(maxsize=1024)
def statement(layer: str, z: int, with_login: bool, deferred: bool = False) -> str:
    """The text of the tile statement of `layer` at zoom `z` (the same for every tile there:
    the address is a parameter), built once per process rather than once per tile; `deferred`:
    without the store (RENDER)."""
    select, _params = services.tile_sql(layer, z, 0, 0)
    template, tile = (RENDER, RENDERED) if deferred else (FETCH, TILE)
    if not with_login:
        return template.format(account="", gate="", select=select, result=tile)
    return template.format(
        account=ACCOUNT.format(login=login_sql()),
        gate=ACCOUNT_GATE,
        select=select,
        result=ACCOUNT_RESULT.format(tile=tile, extra=", tile.epoch" if deferred else ""),
    )


def get_or_render(layer: str, z: int, x: int, y: int) -> tuple[str, bytes]:
    """(etag, tile): from the cache, or rendered (and stored, down to CACHE_MAX_ZOOM)."""
    fetched = fetch(layer, z, x, y)
    return fetched.etag, fetched.data


def invalidate_area(
    bbox: tuple[float, float, float, float],
    layers: Iterable[str] | None = None,
    min_zoom: int = 0,
) -> int:
    """Delete every cached tile, of every layer (or of `layers` only) and zoom (from
    `min_zoom`), whose envelope (grown by the tile buffer) touches the lon/lat box (west,
    south, east, north); return how many went."""
    clauses, params = [], []
    for z in range(min_zoom, CACHE_MAX_ZOOM + 1):
        found = services.tile_range(bbox, z)
        if found is None:
            continue
        x0, y0, x1, y1 = found
        clauses.append("(z = %s AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s)")
        params += [z, x0, x1, y0, y1]
    if not clauses:
        return 0
    sql = "DELETE FROM geo_tilecache WHERE (" + " OR ".join(clauses) + ")"
    if layers is not None:
        sql += " AND layer = ANY(%s)"
        params.append(sorted(set(layers)))
    with connection.cursor() as cur:
        cur.execute(ADVANCE_EPOCH)  # before the delete: no tile rendered until now is stored
        cur.execute(sql, params)
        return cur.rowcount


def layers_holding(code: str) -> list[str]:
    """The tile layers whose tiles hold the layer `code`: itself and the composites with it."""
    return [code, *(name for name, codes in services.COMPOSITES.items() if code in codes)]


def clear() -> int:
    """Empty the cache (after a bulk import or a new data set); return how many tiles went."""
    with connection.cursor() as cur:
        cur.execute(ADVANCE_EPOCH)
        cur.execute("DELETE FROM geo_tilecache")
        return cur.rowcount
