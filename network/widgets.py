"""The admin's map widget for the network's assets: the stored network drawn around the asset
being edited, from our own vector tiles (maps.tiles, the map page's /tiles/red/…), so a planner
moving a pole sees the spans, poles and transformers it sits among."""

from __future__ import annotations

import json

from django.urls import reverse

from geo.widgets import MapWidget
from network import layers as registry

# The tiles hold every layer from its min zoom on; past this zoom the browser enlarges the
# last tiles it fetched instead of asking for more (the poles appear at 15).
OVERLAY_MAX_ZOOM = 16


def network_overlay() -> dict:
    """What static/js/map_widget.js needs to draw the network: tile URL and layer styles."""
    tiles = reverse("tiles:tile", args=[registry.COMPOSITE, 0, 0, 0])
    return {
        "tiles": tiles.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt"),
        "maxZoom": OVERLAY_MAX_ZOOM,
        "layers": {
            layer.code: {
                "kind": layer.kind,
                "color": layer.color,
                "radius": layer.radius,
                "weight": layer.weight,
            }
            for layer in registry.LAYERS.values()
        },
    }


class NetworkMapWidget(MapWidget):
    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # Inside a <script type="application/json">: nothing may close the element.
        context["network_overlay"] = json.dumps(network_overlay()).replace("<", "\\u003c")
        return context
