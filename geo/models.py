from __future__ import annotations

from django.contrib.gis.db import models
from django.db.models import Q

from portal.models import Dated


class Region(Dated):
    code = models.CharField("código CUT", max_length=2, unique=True)
    name = models.CharField("nombre", max_length=100)
    utm_zone = models.PositiveSmallIntegerField(
        "huso UTM de presentación",
        default=19,
        help_text="Huso (sur) en que se muestran las coordenadas de la región: 18 o 19.",
    )
    boundary = models.MultiPolygonField("límite", srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "región"
        verbose_name_plural = "regiones"
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{2}$"), name="region_code_cut"),
            models.CheckConstraint(condition=Q(utm_zone__in=[18, 19]), name="region_utm_zone"),
        ]

    def __str__(self) -> str:
        return self.name


class Comuna(Dated):
    code = models.CharField("código CUT", max_length=5, unique=True)
    name = models.CharField("nombre", max_length=100)
    region = models.ForeignKey(
        Region, verbose_name="región", on_delete=models.PROTECT, related_name="comunas"
    )
    province = models.CharField("provincia", max_length=100, blank=True)
    boundary = models.MultiPolygonField("límite", srid=4326, null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "comuna"
        verbose_name_plural = "comunas"
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{5}$"), name="comuna_code_cut"),
        ]

    def __str__(self) -> str:
        return self.name


class TileCache(models.Model):
    """A rendered vector tile, kept until the topology under it changes (geo.tiles.cache).

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
        verbose_name = "tesela en caché"
        verbose_name_plural = "teselas en caché"

    def __str__(self) -> str:
        return f"{self.layer}/{self.z}/{self.x}/{self.y}"
