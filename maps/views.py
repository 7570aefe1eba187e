"""The map-first search (SPEC, public profile point 8): the whole network on vector tiles.

`MapView` is the page: the map (static/js/mapfirst.js over /tiles/red/…), layer switcher,
legend, click to inspect, search box, distance tool. Its permalink is the page's own query
string (`lat`, `lon`, `z`, `sel=<kind>:<pk>`), so IMPRIMIR prints the view and GUARDAR renders
that same view on the server as a static map. `map_search` answers the search box in JSON.
`feeder_kmz` downloads a feeder's KMZ plan (SPEC point 4).

Beyond the network (network.layers.OVERLAYS): región and comuna boundaries under it, the poles
coloured by available capacity over it; and the search box reads coordinates too (decimal,
degrees-minutes-seconds, UTM: maps.lib.coordinates), answering the point with the poles
nearest it and their capacity.
"""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Q
from django.http import FileResponse, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from accounts.pages import PortalPage, log_access
from capacity.models import Criterion, PoleCapacity
from capacity.services.query import CLASSES, capacity_class, freshness
from core import pdf
from core.numbers import number
from geo.lib.utm import to_utm
from maps import services
from maps.drawing import render_static_svg
from maps.kmz import CONTENT_TYPE, is_stale, kmz_path, write_kmz
from maps.lib import coordinates
from maps.tiles import services as tiles
from maps.tiles.snapshot import view_bbox, view_layers
from network import layers as registry
from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer

# Search-box terms: identifiers, plates, customer numbers, and substation or feeder names.
TERM = re.compile(r"^[\w .,'()/-]{1,60}$")
CHILE = (-75.7, -55.9, -66.4, -17.5)  # framing when there is no network at all

# Kinds as the access log and the permalink name them -> tile layer.
LAYER_OF = {kind: code for code, kind in registry.KIND_OF_LAYER.items()}


def _style(layer: registry.Layer) -> dict:
    """How the map script draws a layer (the legend reads the same entry)."""
    if layer.kind == "line":
        return {"kind": "line", "color": layer.color, "weight": layer.weight}
    return {"kind": "point", "color": layer.color, "radius": layer.radius}


def _entry(layer: registry.Layer) -> dict:
    """A layer as the map script and the legend read it."""
    return {
        "name": layer.code,
        "label": layer.name,
        "minZoom": layer.min_zoom,
        "maxZoom": layer.max_zoom,
        **_style(layer),
    }


def _tile_url(name: str) -> str:
    url = reverse("tiles:tile", args=[name, 0, 0, 0])
    return url.replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")


def _capacity_config() -> dict:
    """The capacity layer's classes (capacity.services.query.CLASSES: thresholds and labels)
    and the words its popups use."""
    classes = [
        {"code": code, "label": label, "low": low, "high": high,
         "color": registry.CAPACITY_COLORS[code]}
        for code, label, low, high in CLASSES
    ]  # fmt: skip
    classes.append(
        {
            "code": registry.CAPACITY_NO_DATA,
            "label": "Sin datos suficientes",
            "low": None,
            "high": None,
            "color": registry.CAPACITY_COLORS[registry.CAPACITY_NO_DATA],
        }
    )
    return {
        "classes": classes,
        "criteria": dict(Criterion.choices),
        "units": {c.value: PoleCapacity(criterion=c.value).limit_unit for c in Criterion},
        "limits": dict(PoleCapacity.Limit.choices),
        "noData": {"sin_datos": "Sin datos suficientes", "sin_calculo": "Sin cálculo de capacidad"},
    }


POINT_ZOOM = {"subestacion": 14, "transformador": 17, "poste": 18, "equipo": 17, "vano": 17}


def _detail_pattern(name: str) -> str:
    return reverse(f"network:{name}", args=[0]).replace("/0/", "/{id}/")


def _asset_url(feeder_id: int, kind: str, code: str) -> str:
    """The feeder's page with its pole, span or equipment search filled in (annex fig. 11)."""
    query = urlencode({"tipo": kind, "id": code})
    return f"{reverse('network:feeder', args=[feeder_id])}?{query}#buscar-activo"


def _result(kind: str, pk: int, label: str, geom: GEOSGeometry, url: str, as_of=None) -> dict:
    if geom.geom_type == "Point":
        point = geom
    elif geom.geom_type == "LineString":
        point = geom.interpolate_normalized(0.5)
    else:
        point = geom.point_on_surface
    west, south, east, north = geom.extent
    return {
        "kind": kind,
        "layer": LAYER_OF[kind],
        "id": pk,
        "label": label,
        "lon": round(point.x, 7),
        "lat": round(point.y, 7),
        "bbox": [round(v, 7) for v in (west, south, east, north)],
        "zoom": POINT_ZOOM.get(kind),
        "url": url,
        "as_of": as_of.strftime("%d/%m/%Y") if as_of else None,
    }


def _substation(s: Substation) -> dict:
    url = reverse("network:substation", args=[s.pk])
    label = f"Subestación {s.code} {s.name}"
    return _result("subestacion", s.pk, label, s.location, url, s.as_of)


def _feeder(f: Feeder) -> dict:
    geom = f.outline or Substation.objects.get(pk=f.substation_id).location
    url = reverse("network:feeder", args=[f.pk])
    return _result("alimentador", f.pk, f"Alimentador {f.code} {f.name}", geom, url, f.as_of)


def _transformer(t: Transformer) -> dict:
    label = f"Transformador {t.code} · placa {t.plate}"
    url = reverse("network:transformer", args=[t.pk])
    return _result("transformador", t.pk, label, t.location, url, t.as_of)


def _pole(p: Pole) -> dict:
    label = f"Poste {p.plate} · alimentador {p.feeder.code}"
    url = _asset_url(p.feeder_id, "poste", p.plate)
    return _result("poste", p.pk, label, p.location, url, p.as_of)


def _span(s: Span) -> dict:
    label = f"Vano {s.code} · alimentador {s.feeder.code}"
    url = _asset_url(s.feeder_id, "vano", s.code)
    return _result("vano", s.pk, label, s.geom, url, s.as_of)


def _equipment(e: Equipment) -> dict:
    label = f"{e.get_kind_display()} {e.code} · alimentador {e.feeder.code}"
    url = _asset_url(e.feeder_id, "equipo", e.code)
    return _result("equipo", e.pk, label, e.location, url, e.as_of)


# --- coordinates ----------------------------------------------------------------------------

POINT_KIND = "punto"  # a coordinate typed in the search box: no asset, no `sel`


def _near_pole(p: services.NearPole) -> dict:
    capacity = None
    if p.remaining_mw is not None:
        capacity = {
            "remaining_mw": round(p.remaining_mw, 3),
            "hosting_mw": round(p.hosting_mw, 3),
            "class": capacity_class(p.remaining_mw),
            "criterion": p.criterion,
            "criterion_label": p.criterion_label,
            "run": services.run_label(p.run_id, p.run_started),
            "stale": p.stale,
        }
    return {
        "id": p.id,
        "plate": p.plate,
        "lon": round(p.lon, 7),
        "lat": round(p.lat, 7),
        "distance_m": round(p.distance_m, 1),
        "feeder": {"id": p.feeder_id, "code": p.feeder_code},
        "as_of": p.as_of.strftime("%d/%m/%Y"),
        "url": _asset_url(p.feeder_id, "poste", p.plate),
        "capacity": capacity,
        "no_data": p.no_data,
    }


def point_result(point: coordinates.Coordinate) -> dict:
    """The search box's answer for a coordinate: the map's result (kind `punto`), framing the
    point and its nearest poles, and those poles with their distance and capacity."""
    utm = to_utm(point.lon, point.lat)
    near = services.nearest_poles(point.lon, point.lat)
    lons = [point.lon, *(p.lon for p in near)]
    lats = [point.lat, *(p.lat for p in near)]
    km = number(services.NEAREST_RADIUS_M / 1000, 0)
    if near:
        message = (
            f"{len(near)} poste{'s' if len(near) > 1 else ''} más cercano"
            f"{'s' if len(near) > 1 else ''} a menos de {km} km."
        )
    else:
        message = f"No hay postes a menos de {km} km de este punto."
    return {
        "kind": POINT_KIND,
        "layer": registry.POLES.code,
        "id": None,
        "label": f"Punto {point.label}",
        "lon": round(point.lon, 7),
        "lat": round(point.lat, 7),
        "bbox": [round(v, 7) for v in (min(lons), min(lats), max(lons), max(lats))],
        # One pole, or none: its street; more: the frame around them (the script's fitBounds).
        "zoom": 17 if len(near) <= 1 else None,
        "url": "",
        "point": {
            "lat": round(point.lat, 7),
            "lon": round(point.lon, 7),
            "form": point.form,
            "utm": {
                "zone": utm.zone_label,
                "easting": round(utm.x),
                "northing": round(utm.y),
            },
        },
        "nearest": [_near_pole(p) for p in near],
        "radius_m": services.NEAREST_RADIUS_M,
        "message": message,
    }


def _coordinate(term: str) -> dict | None:
    """The point `term` writes (as point_result), None when it is not a coordinate; raises
    coordinates.CoordinateError for a malformed one or one out of Chile."""
    point = coordinates.parse(term)
    return point_result(point) if point else None


def _sources():
    """(kind, queryset, describe) in the order a term is tried."""
    return [
        ("subestacion", Substation.objects.all(), _substation),
        ("alimentador", Feeder.objects.all(), _feeder),
        ("transformador", Transformer.objects.all(), _transformer),
        ("poste", Pole.objects.select_related("feeder"), _pole),
        ("vano", Span.objects.select_related("feeder"), _span),
        ("equipo", Equipment.objects.select_related("feeder"), _equipment),
    ]


def locate(term: str) -> dict | None:
    """The asset an id, plate or name stands for; a customer number gives its transformer.

    Identifiers are stored in capitals, so the term is matched exactly once upper-cased (the
    indexes serve that); names, in few rows, ignoring case. For a customer number, only the
    transformer that feeds the service point is answered: nothing of the customer leaves here.
    """
    code, name = term.strip().upper(), term.strip()
    tries = {
        "subestacion": Q(code=code) | Q(name__iexact=name),
        "alimentador": Q(code=code) | Q(name__iexact=name),
        "transformador": Q(code=code) | Q(plate=code),
        "poste": Q(plate=code),
        "vano": Q(code=code),
        "equipo": Q(code=code),
    }
    for kind, queryset, to_result in _sources():
        found = queryset.filter(tries[kind]).order_by("pk").first()
        if found:
            return to_result(found)
    transformer = Transformer.objects.serving(term).order_by("pk").first()
    return _transformer(transformer) if transformer else None


def describe(kind: str, pk: int) -> dict | None:
    """The asset of the permalink's `sel=<kind>:<pk>`."""
    for name, queryset, to_result in _sources():
        if name == kind:
            found = queryset.filter(pk=pk).first()
            return to_result(found) if found else None
    return None


def _selection(raw: str) -> tuple[str, int] | None:
    kind, _, pk = raw.partition(":")
    if kind in LAYER_OF and pk.isdigit() and len(pk) <= 12:
        return kind, int(pk)
    return None


def _unauthenticated() -> JsonResponse:
    return JsonResponse({"error": "Debe ingresar para consultar la red."}, status=401)


@require_safe
def map_search(request: HttpRequest) -> JsonResponse:
    """`?q=<id, plate or customer number>` or `?sel=<kind>:<pk>` → {kind, layer, id, label, lon,
    lat, bbox, zoom, url}; 404 when nothing matches, 400 for a malformed term."""
    if not request.user.is_authenticated:
        return _unauthenticated()
    if "sel" in request.GET:
        selection = _selection(request.GET["sel"])
        if selection is None:
            return JsonResponse({"error": "Selección no válida."}, status=400)
        result = describe(*selection)
        if result is None:
            return JsonResponse({"error": "El activo ya no existe."}, status=404)
        log_access(request, selection[0], result["label"])
        return JsonResponse(result)
    term = request.GET.get("q", "").strip()
    try:
        point = _coordinate(term)
    except coordinates.CoordinateError as error:
        point, problem = None, str(error)
    else:
        problem = None
    if point is not None:
        log_access(request, "busqueda", f"mapa: {term[:80]}")
        return JsonResponse(point)
    if not TERM.match(term):
        return JsonResponse(
            {"error": problem or "Escriba un id, una placa, un número de cliente (hasta 60 "
             "caracteres) o una coordenada."},
            status=400,
        )  # fmt: skip
    log_access(request, "busqueda", f"mapa: {term}")
    result = locate(term)
    if result is None:
        # A term that looked like a coordinate and is no asset: the coordinate's problem.
        if problem:
            return JsonResponse({"error": problem}, status=400)
        return JsonResponse({"error": f"No se encontró «{term}»."}, status=404)
    return JsonResponse(result)


def _number(raw: str | None, low: float, high: float) -> float | None:
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and low <= value <= high else None


class MapView(PortalPage):
    template_name = "portal/map.html"
    access_kind = "mapa"
    pdf_name = "mapa-red"
    page_title = "Mapa de la red"

    def reference(self) -> str:
        params = self.request.GET
        return " ".join(f"{k}={params[k]}" for k in ("q", "sel", "z", "lat", "lon") if k in params)

    def view(self) -> dict | None:
        """The permalink's view, when it is a real one."""
        params = self.request.GET
        lat = _number(params.get("lat"), -tiles.MAX_LATITUDE, tiles.MAX_LATITUDE)
        lon = _number(params.get("lon"), -180, 180)
        z = _number(params.get("z"), 0, 19)
        if lat is None or lon is None or z is None:
            return None
        return {"lat": lat, "lon": lon, "z": int(z)}

    @staticmethod
    def found(query: str) -> tuple[dict | None, str]:
        """The search in the address (a coordinate, or an id): (result, status line)."""
        try:
            point = _coordinate(query)
        except coordinates.CoordinateError as error:
            point, problem = None, str(error)
        else:
            problem = None
        if point is not None:
            return point, f"{point['label']}: {point['message']}"
        selected = locate(query) if TERM.match(query) else None
        if selected:
            return selected, selected["label"]
        return None, problem or f"No se encontró «{query[:60]}»."

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        selected, message = None, ""
        query = params.get("q", "").strip()
        if query:
            selected, message = self.found(query)
        elif params.get("sel"):
            selection = _selection(params["sel"])
            selected = describe(*selection) if selection else None
        extent = Substation.objects.aggregate(extent=Extent("location"))["extent"] or CHILE
        view = self.view()
        layers = [_entry(registry.LAYERS[code]) for code in tiles.NETWORK]
        overlays = [
            {**_entry(layer), "partOf": registry.PART_OF.get(layer.code)}
            for layer in registry.OVERLAYS.values()
        ]
        config = {
            "tiles": _tile_url(tiles.COMPOSITE),
            "underlay": _tile_url(registry.UNDERLAY),
            "overlay": _tile_url(registry.OVERLAY),
            "overlays": overlays,
            "capacity": _capacity_config(),
            "boundaries": {
                "comunaColor": registry.COMUNA_COLOR,
                "comunaLineZoom": registry.COMUNA_LINE_ZOOM,
                "comunaLabelZoom": registry.COMUNA_LABEL_ZOOM,
            },
            "search": reverse("maps:search"),
            "base": (
                {
                    "url": settings.MAP_BASE_LAYER_URL,
                    "attribution": settings.MAP_BASE_LAYER_ATTRIBUTION,
                }
                if settings.MAP_BASE_LAYER_URL
                else None
            ),
            "layers": layers,
            "palette": list(registry.FEEDER_PALETTE),
            "equipment": {
                kind.value: {
                    "label": kind.label,
                    "category": Equipment.CATEGORY_OF[kind].label,
                    "color": registry.EQUIPMENT_STYLE[Equipment.CATEGORY_OF[kind]][0],
                }
                for kind in Equipment.Kind
            },
            "feederKinds": dict(Feeder.Kind.choices),
            "urls": {
                "substations": _detail_pattern("substation"),
                "feeders": _detail_pattern("feeder"),
                "transformers": _detail_pattern("transformer"),
            },
            "extent": [round(v, 6) for v in extent],
            "view": view,
            "selected": selected,
            "query": query,
        }
        context.update(
            config=config,
            layers=layers,
            overlays=[entry for entry in overlays if not entry["partOf"]],
            capacity_legend=config["capacity"]["classes"],
            boundaries=config["boundaries"],
            equipment_legend=[
                (category.label, registry.EQUIPMENT_STYLE[category][0])
                for category in Equipment.Category
            ],
            query=query,
            message=message,
            selected=selected,
            point=selected if selected and selected["kind"] == POINT_KIND else None,
            nearest_poles=services.NEAREST_POLES,
            nearest_km=services.NEAREST_RADIUS_M // 1000,
            cap_freshness=freshness(),  # the banner of a late or failed capacity run
        )
        if pdf.wants_pdf(self.request):
            context.update(self.snapshot(view, selected, extent))
        return context

    def snapshot(self, view: dict | None, selected: dict | None, extent) -> dict:
        """GUARDAR: the view as a static map (the detail maps' SVG, with legend and scale)."""
        if view is None and selected is not None:
            zoom = selected["zoom"] or 15
            view = {"lat": selected["lat"], "lon": selected["lon"], "z": zoom}
        if view is None:
            bbox, z = tuple(extent), tiles.LAYERS["feeders"].min_zoom
        else:
            bbox, z = view_bbox(view["lon"], view["lat"], view["z"]), view["z"]
        layers = view_layers(bbox, z, selected)
        title = selected["label"] if selected else "Mapa de la red"
        return {
            "map_static": render_static_svg(layers, title=title),
            "view_zoom": z,
            "view_bbox": [round(v, 5) for v in bbox],
        }


@require_safe
@login_required
def feeder_kmz(request: HttpRequest, pk: int) -> FileResponse:
    """The stored plan; built first when it is missing or older than the feeder's data."""
    feeder = get_object_or_404(Feeder.objects.only("pk", "code"), pk=pk)
    path = write_kmz(feeder) if is_stale(feeder) else kmz_path(feeder)
    log_access(request, "kmz", feeder.code)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"alimentador-{feeder.code}.kmz",
        content_type=CONTENT_TYPE,
    )
