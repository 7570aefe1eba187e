"""TileCache moved from geo to maps (geo 0005, maps 0001): the table and its rows stay."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db

BEFORE = [("geo", "0004_tile_cache_lz4"), ("maps", None)]
AFTER = [("geo", "0005_tile_cache_to_maps"), ("maps", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets)


def test_the_moved_tile_cache_keeps_its_table_and_rows():
    state = migrate(BEFORE)
    old = state.apps.get_model("geo", "TileCache")
    assert old._meta.db_table == "geo_tilecache"
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO geo_tilecache (layer, z, x, y, etag, data, created)"
            " VALUES ('red', 3, 2, 4, 'abc', '\\x1a02'::bytea, now())"
        )

    state = migrate(AFTER)
    moved = state.apps.get_model("maps", "TileCache")
    assert moved._meta.db_table == "geo_tilecache"
    row = moved.objects.get(layer="red", z=3, x=2, y=4)
    assert (row.etag, bytes(row.data)) == ("abc", b"\x1a\x02")
    with pytest.raises(LookupError):
        state.apps.get_model("geo", "TileCache")
    with connection.cursor() as cur:
        cur.execute("SELECT relpersistence FROM pg_class WHERE relname = 'geo_tilecache'")
        assert cur.fetchone() == ("u",)  # still UNLOGGED, as geo 0003 made it
