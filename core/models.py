"""Abstract bases shared by the apps: the date of the data, and the located asset with its
QuerySet (the style of saleor's core/models.py: an abstract model ships its own QuerySet)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F
from django.utils import timezone


class Dated(models.Model):
    """Every record carries the date its data was last updated ("fecha de actualización")."""

    as_of = models.DateField("fecha de actualización", default=timezone.localdate, db_index=False)

    class Meta:
        abstract = True


class AssetQuerySet(models.QuerySet):
    def with_place(self) -> AssetQuerySet:
        """The row's comuna and región read in the same query, without their boundaries
        (megabytes that no list or detail page draws)."""
        region = self.model.region_path
        comuna = region.rsplit("__", 1)[0]
        return self.select_related(region).defer(f"{comuna}__boundary", f"{region}__boundary")

    def with_utm_zone(self) -> AssetQuerySet:
        """Each row carries its región's presentation zone, read in the same SQL (no query per
        row to walk up to the región)."""
        return self.annotate(region_utm_zone=F(f"{self.model.region_path}__utm_zone"))


class Asset(Dated):
    """A dated row with a location inside a región.

    `region_path` is the lookup from the row to its región; `region_zone` reads the annotation
    of `with_utm_zone()` when the list asked for it, and walks the relations otherwise.
    """

    region_path: ClassVar[str] = ""

    objects = AssetQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def region_zone(self) -> int | None:
        zone = getattr(self, "region_utm_zone", None)
        if zone is not None:
            return zone
        target = self
        for step in self.region_path.split("__"):
            target = getattr(target, step, None)
            if target is None:
                return None
        self.region_utm_zone = target.utm_zone
        return target.utm_zone
