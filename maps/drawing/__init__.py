"""The maps of the detail pages: the asset with its surroundings (`layers`), drawn as Leaflet
(`leaflet`) or as a static SVG for the PDFs (`svg`), with the symbols of `style`."""

from __future__ import annotations

from maps.drawing import layers as drawing_layers
from maps.drawing.features import MapFeature, MapLayer
from maps.drawing.layers import feeder_layers, substation_layers, transformer_layers
from maps.drawing.leaflet import render_interactive
from maps.drawing.svg import render_static_svg


def map_context(layers_for: str, asset, pdf_mode: bool, title: str = "") -> dict:
    """The page's map: Leaflet on screen, the static SVG in a PDF. `layers_for` names one of
    the `*_layers` functions of maps.drawing.layers."""
    layers = getattr(drawing_layers, layers_for)(asset, for_print=pdf_mode)
    if pdf_mode:
        return {"map_static": render_static_svg(layers, title=title)}
    return {"map_html": render_interactive(layers)}


__all__ = [
    "MapFeature",
    "MapLayer",
    "feeder_layers",
    "map_context",
    "render_interactive",
    "render_static_svg",
    "substation_layers",
    "transformer_layers",
]
