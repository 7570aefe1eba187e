"""The map-first search (SPEC, public profile point 8): the whole network on vector tiles.

`MapView` is the page: the map (static/js/mapfirst.js over /tiles/red/…), layer switcher,
legend, click to inspect, search box, distance tool. Its permalink is the page's own query
string (`lat`, `lon`, `z`, `sel=<kind>:<pk>`), so IMPRIMIR prints the view and GUARDAR renders
that same view on the server as a static map. `map_search` answers the search box in JSON.
`feeder_kmz` downloads a feeder's KMZ plan (SPEC point 4).
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
from core import pdf
from maps.drawing import render_static_svg
from maps.kmz import CONTENT_TYPE, is_stale, kmz_path, write_kmz
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


POINT_ZOOM = {"subestacion": 14, "transformador": 17, "poste": 18, "equipo": 17, "vano": 17}


def _detail_pattern(name: str) -> str:
    return reverse(f"network:{name}", args=[0]).replace("/0/", "/{id}/")


def _asset_url(feeder_id: int, kind: str, code: str) -> str:
    """The feeder's page with its pole, span or equipment search filled in (annex fig. 11)."""
    query = urlencode({"tipo": kind, "id": code})
    return f"{reverse('network:feeder', args=[feeder_id])}?{query}#buscar-activo"


def _result(kind: str, pk: int, label: str, geom: GEOSGeometry, url: str) -> dict:
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
    }


def _substation(s: Substation) -> dict:
    url = reverse("network:substation", args=[s.pk])
    return _result("subestacion", s.pk, f"Subestación {s.code} {s.name}", s.location, url)


def _feeder(f: Feeder) -> dict:
    geom = f.outline or Substation.objects.get(pk=f.substation_id).location
    url = reverse("network:feeder", args=[f.pk])
    return _result("alimentador", f.pk, f"Alimentador {f.code} {f.name}", geom, url)


def _transformer(t: Transformer) -> dict:
    label = f"Transformador {t.code} · placa {t.plate}"
    url = reverse("network:transformer", args=[t.pk])
    return _result("transformador", t.pk, label, t.location, url)


def _pole(p: Pole) -> dict:
    label = f"Poste {p.plate} · alimentador {p.feeder.code}"
    return _result("poste", p.pk, label, p.location, _asset_url(p.feeder_id, "poste", p.plate))


def _span(s: Span) -> dict:
    label = f"Vano {s.code} · alimentador {s.feeder.code}"
    return _result("vano", s.pk, label, s.geom, _asset_url(s.feeder_id, "vano", s.code))


def _equipment(e: Equipment) -> dict:
    label = f"{e.get_kind_display()} {e.code} · alimentador {e.feeder.code}"
    return _result("equipo", e.pk, label, e.location, _asset_url(e.feeder_id, "equipo", e.code))


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
    if not TERM.match(term):
        return JsonResponse(
            {"error": "Escriba un id, una placa o un número de cliente (hasta 60 caracteres)."},
            status=400,
        )
    log_access(request, "busqueda", f"mapa: {term}")
    result = locate(term)
    if result is None:
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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        selected, message = None, ""
        query = params.get("q", "").strip()
        if query:
            selected = locate(query) if TERM.match(query) else None
            message = selected["label"] if selected else f"No se encontró «{query[:60]}»."
        elif params.get("sel"):
            selection = _selection(params["sel"])
            selected = describe(*selection) if selection else None
        extent = Substation.objects.aggregate(extent=Extent("location"))["extent"] or CHILE
        view = self.view()
        layers = [
            {
                "name": layer.name,
                "label": layer.label,
                "minZoom": layer.min_zoom,
                "maxZoom": layer.max_zoom,
                **_style(registry.LAYERS[layer.name]),
            }
            for layer in tiles.LAYERS.values()
        ]
        config = {
            "tiles": reverse("tiles:tile", args=[tiles.COMPOSITE, 0, 0, 0]).replace(
                "/0/0/0.mvt", "/{z}/{x}/{y}.mvt"
            ),
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
        }
        context.update(
            config=config,
            layers=layers,
            equipment_legend=[
                (category.label, registry.EQUIPMENT_STYLE[category][0])
                for category in Equipment.Category
            ],
            query=query,
            message=message,
            selected=selected,
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
