"""The map widget of the admin: OpenLayers from our static files, nothing from the internet."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.forms import OSMWidget
from django.forms.renderers import TemplatesSetting

# Santiago, at a zoom where a comuna fills the map.
CHILE_LON = -70.65
CHILE_LAT = -33.45
CHILE_ZOOM = 11

# The default form renderer only looks in apps' templates; the widget's template lives in
# the project's templates/ directory, which the TEMPLATES setting knows about.
_renderer = TemplatesSetting()


class MapWidget(OSMWidget):
    """GeoDjango's OpenLayers widget with the vendored OpenLayers and an offline base layer.

    The base layer is the XYZ source of settings.MAP_BASE_LAYER_URL when set; otherwise a
    graticule drawn in the browser, so an offline installation fetches nothing.
    """

    template_name = "gis/map_widget.html"
    default_lon = CHILE_LON
    default_lat = CHILE_LAT
    default_zoom = CHILE_ZOOM

    class Media:
        # Replace, not extend, the parent's media: it points at a CDN.
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["base_layer_url"] = settings.MAP_BASE_LAYER_URL
        context["base_layer_attribution"] = settings.MAP_BASE_LAYER_ATTRIBUTION
        return context

    def render(self, name, value, attrs=None, renderer=None):
        return super().render(name, value, attrs, renderer=_renderer)
