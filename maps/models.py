"""The server-side cache of rendered vector tiles."""

from __future__ import annotations

from django.db import models


class TileCache(models.Model):
    """A rendered vector tile, kept until the topology under it changes (maps.tiles.cache).

    The tile's address is the primary key (z, x, y first: invalidation deletes ranges of x and
    y at each zoom). The table is UNLOGGED (see the migration): a cache, which a crash may empty.
    """

    pk = models.CompositePrimaryKey("z", "x", "y", "layer")
    layer = models.CharField("capa", max_length=20)
    z = models.PositiveSmallIntegerField("zoom")
    x = models.PositiveIntegerField("columna")
    y = models.PositiveIntegerField("fila")
    etag = models.CharField("ETag", max_length=40)
    data = models.BinaryField("tesela MVT")
    created = models.DateTimeField("generada", auto_now_add=True)

    class Meta:
        # Created by the geo app before the maps app existed; the table keeps its name.
        db_table = "geo_tilecache"
        verbose_name = "tesela en caché"
        verbose_name_plural = "teselas en caché"

    def __str__(self) -> str:
        return f"{self.layer}/{self.z}/{self.x}/{self.y}"
