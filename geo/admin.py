"""Admin of the geography, and the map and UTM bases of every map-bearing admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from geo.models import Comuna, Region
from geo.widgets import MapWidget


class MapAdmin(GISModelAdmin):
    """Every geometry field edits on the offline OpenLayers map of geo.widgets."""

    gis_widget = MapWidget


class UtmMixin:
    """Shows the stored point the way Chilean users read it (x, y, datum, zone)."""

    @admin.display(description="coordenadas UTM")
    def utm_coordinates(self, obj) -> str:
        utm = obj.utm if obj is not None and obj.pk else None
        return str(utm) if utm else "—"


@admin.register(Region)
class RegionAdmin(MapAdmin):
    list_display = ["code", "name", "utm_zone", "as_of"]
    list_display_links = ["code", "name"]
    list_filter = ["utm_zone"]
    search_fields = ["code", "name"]
    ordering = ["code"]


@admin.register(Comuna)
class ComunaAdmin(MapAdmin):
    list_display = ["code", "name", "province", "region", "as_of"]
    list_display_links = ["code", "name"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["code", "name", "province"]
    ordering = ["code"]
