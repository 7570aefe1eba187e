"""GET /tiles/<layer>/<z>/<x>/<y>.mvt: a vector tile for the map page (geo.tiles.services).

Same rule as the pages: only a logged-in user sees network data. Tiles are fetched by the
map's script, so an anonymous request gets 401 rather than a redirect to the login page (a
login page would be read as a broken tile). Tiles are not written to the access log: one map
view fetches dozens of them; the map page and its searches are logged instead.

An unknown layer is 404; a zoom, column or row outside the tile pyramid is 400. A tile with
nothing in it is 204 (no body). Every tile carries a strong ETag (MD5 of its bytes) and
`Cache-Control: private, max-age=300`: the browser keeps it five minutes, then revalidates
with If-None-Match and gets 304 until the topology under it changes.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from geo.tiles import cache, services

CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "private, max-age=300"


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    candidates = (t.strip().removeprefix("W/") for t in header.split(","))
    return etag in candidates


@require_safe
def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(
            "Debe ingresar para consultar la red.", status=401, content_type="text/plain"
        )
    if layer not in services.LAYER_NAMES:
        return HttpResponse(
            f"Capa desconocida: {layer[:30]}", status=404, content_type="text/plain"
        )
    if not services.valid_address(z, x, y):
        return HttpResponse(
            f"Tesela fuera de rango: {z}/{x}/{y}"[:80], status=400, content_type="text/plain"
        )
    etag, data = cache.get_or_render(layer, z, x, y)
    quoted = f'"{etag}"'
    if _matches(request.headers.get("If-None-Match", ""), quoted):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, status=200 if data else 204, content_type=CONTENT_TYPE)
        if not data:
            del response["Content-Type"]
    response["ETag"] = quoted
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Cookie"])
    return response
