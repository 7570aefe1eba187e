"""The one registry of the map layers: code name, Spanish name, colour, legend label, symbol
and zoom range of every layer the portal draws.

Pure data, kept in the network app so that both the app that draws the network (maps: the
vector tiles, the map page's legend and script, the detail pages' Leaflet and static SVG maps,
the KMZ plans' styles) and the grid downloads of network.api.grids (their names) read it.

`code` is the English name inside the tiles and in the map script; `slug` is the Spanish name
the README documents for the tile URLs (/tiles/vanos/…). Both are accepted in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ZOOM = 22


@dataclass(frozen=True)
class Layer:
    code: str  # inside the tile, in the map script, in the cache
    slug: str  # Spanish, in the documented tile URLs
    name: str  # Spanish name: layer switcher, KMZ folder
    legend: str  # legend label
    kind: str  # "line" | "point"
    color: str  # CSS #rrggbb
    min_zoom: int
    max_zoom: int = MAX_ZOOM
    shape: str = "circle"  # points: circle | square | diamond | triangle
    size: float = 8  # points: symbol diameter (px) on the detail maps
    radius: float = 4  # points: circle radius (px) on the map page
    weight: float = 2  # lines: stroke width (px)


# Drawing order: lines under points, the substations on top.
FEEDERS = Layer("feeders", "alimentadores", "Alimentadores", "Alimentadores", "line", "#1f77b4",
                6, 13, weight=2.5)  # fmt: skip
SPANS = Layer("spans", "vanos", "Vanos", "Vanos", "line", "#1f5fa8", 14, weight=2)
POLES = Layer("poles", "postes", "Postes", "Postes", "point", "#4a4a4a", 15, size=3.5,
              radius=2.5)  # fmt: skip
TRANSFORMERS = Layer("transformers", "transformadores", "Transformadores de distribución",
                     "Transformadores", "point", "#ef8a00", 13, shape="triangle", size=11,
                     radius=5)  # fmt: skip
EQUIPMENT = Layer("equipment", "equipos", "Equipos", "Equipos", "point", "#c62828", 13,
                  shape="square", size=10, radius=4.5)  # fmt: skip
SUBSTATIONS = Layer("substations", "subestaciones", "Subestaciones", "Subestación", "point",
                    "#111111", 0, shape="square", size=16, radius=7)  # fmt: skip

LAYERS: dict[str, Layer] = {
    layer.code: layer for layer in (FEEDERS, SPANS, POLES, TRANSFORMERS, EQUIPMENT, SUBSTATIONS)
}
COMPOSITE = "red"  # every layer shown at the zoom, in one tile; the same word in both languages

# Layers of the map page only, over and under the network (not in the admin widget, the detail
# maps or the KMZ plans). Región and comuna boundaries under the network; their names (`places`,
# switched with the boundaries) and the poles coloured by available capacity over it. Comuna
# lines from z8, their names from z11, where most are legible.
BOUNDARIES = Layer("boundaries", "limites", "Regiones y comunas", "Límite regional", "line",
                   "#7b5ea7", 3, weight=1.6)  # fmt: skip
PLACES = Layer("places", "nombres", "Nombres de regiones y comunas", "Nombres", "point",
               "#3f3356", 5, radius=0)  # fmt: skip
# From z14, with the spans: a feeder's dots then show where along it a PMGD still fits.
CAPACITY = Layer("capacity", "capacidad", "Capacidad disponible", "Capacidad disponible",
                 "point", "#2e7d32", 14, radius=4)  # fmt: skip
OVERLAYS: dict[str, Layer] = {layer.code: layer for layer in (BOUNDARIES, CAPACITY, PLACES)}
COMUNA_COLOR = "#a393c4"
COMUNA_LINE_ZOOM = 8
COMUNA_LABEL_ZOOM = 11
REGION_LABEL_MAX_ZOOM = 10
# Drawn with another layer and switched with it: not in the switcher nor in the legend.
PART_OF = {PLACES.code: BOUNDARIES.code}
# The overlays' tiles: the boundaries under the network's, capacity and names over them.
UNDERLAY = BOUNDARIES.code
OVERLAY = "capas"
COMPOSITES: dict[str, tuple[str, ...]] = {
    COMPOSITE: tuple(LAYERS),
    OVERLAY: (CAPACITY.code, PLACES.code),
}
# Available capacity classes (the codes of capacity.services.query.CLASSES, which holds the
# thresholds) -> colour. Poles without a result (their feeder lacks data, or was not computed)
# are grey: never coloured as if they had capacity.
CAPACITY_NO_DATA = "sin_datos"
CAPACITY_COLORS: dict[str, str] = {
    "baja": "#d32f2f",
    "media": "#f0a202",
    "alta": "#2e7d32",
    CAPACITY_NO_DATA: "#9e9e9e",
}

CODE_OF_SLUG = {layer.slug: code for code, layer in (LAYERS | OVERLAYS).items()}

# The access log's and the permalinks' word for an asset -> its layer.
KIND_OF_LAYER = {
    "substations": "subestacion",
    "feeders": "alimentador",
    "transformers": "transformador",
    "poles": "poste",
    "spans": "vano",
    "equipment": "equipo",
}


# Equipment categories (network.models.Equipment.Category values) -> (colour, shape); shapes
# tell them apart in black-and-white prints too.
EQUIPMENT_STYLE: dict[str, tuple[str, str]] = {
    "proteccion": ("#c62828", "square"),
    "maniobra": ("#6a1b9a", "diamond"),
    "compensacion": ("#2e7d32", "circle"),
    "regulacion": ("#00838f", "triangle"),
    "autotransformador": ("#ad1457", "triangle"),
}
# One colour per feeder of a substation's map; the first is the feeders' layer colour.
FEEDER_PALETTE = (
    FEEDERS.color, "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79",
)  # fmt: skip
CONTEXT_COLOR = "#8c8c8c"  # generalised feeders drawn as context
SELECTED_COLOR = "#ffd400"
PURCHASE_NODE_COLOR = "#111111"


def layer_code(name: str) -> str | None:
    """The code of a layer named in a URL by its code or its Spanish slug (or a composite);
    None for a name we do not know."""
    if name in LAYERS or name in OVERLAYS or name in COMPOSITES:
        return name
    return CODE_OF_SLUG.get(name)


def hex_rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
