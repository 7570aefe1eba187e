from __future__ import annotations

from django.contrib.gis.db import models
from django.db.models import Q

from core.models import Asset, Dated
from geo.lib.utm import UtmPoint, point_to_utm


class BoundaryQuerySet(models.QuerySet):
    def with_boundary(self) -> BoundaryQuerySet:
        return self.defer(None)


class BoundaryManager(models.Manager.from_queryset(BoundaryQuerySet)):
    """Boundaries weigh megabytes and lists never draw them: they are left out unless asked
    (`.with_boundary()`, or reading the field, which loads it)."""

    def get_queryset(self) -> BoundaryQuerySet:
        return super().get_queryset().defer("boundary")


class LocatedAsset(Asset):
    """An asset with a `location` point, shown in UTM in its región's presentation zone."""

    class Meta:
        abstract = True

    @property
    def utm(self) -> UtmPoint | None:
        return point_to_utm(self.location, self.region_zone)


class Region(Dated):
    code = models.CharField("código CUT", max_length=2, unique=True)
    name = models.CharField("nombre", max_length=100)
    utm_zone = models.PositiveSmallIntegerField(
        "huso UTM de presentación",
        default=19,
        help_text="Huso (sur) en que se muestran las coordenadas de la región: 18 o 19.",
    )
    boundary = models.MultiPolygonField("límite", srid=4326, null=True, blank=True)

    objects = BoundaryManager()

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

    objects = BoundaryManager()

    class Meta:
        ordering = ["code"]
        verbose_name = "comuna"
        verbose_name_plural = "comunas"
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{5}$"), name="comuna_code_cut"),
        ]

    def __str__(self) -> str:
        return self.name
