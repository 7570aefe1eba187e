"""GET /tiles/<layer>/<z>/<x>/<y>.mvt: a vector tile for the map page (maps.tiles.services).

Same rule as the pages: only a logged-in user sees network data. Tiles are fetched by the
map's script, so an anonymous request gets 401 rather than a redirect to the login page (a
login page would be read as a broken tile). The view does not touch `request.user`: the
tile's own statement checks the session row and reads the user's row, and the view applies
get_user's checks to it (accounts.sessions), so a cached tile is one statement. Nor does the
request go through the session, auth and message middleware: maps.tiles.middleware answers it
first; and under a server (portal.wsgi) a plain tile request does not reach Django at all:
maps.tiles.wsgi answers it with the same statement and the same headers
(maps.tiles.responses). Tiles are not written to the access log: one map view fetches dozens
of them; the map page and its searches are logged instead.

An unknown layer is 404; a zoom, column or row outside the tile pyramid is 400. A tile with
nothing in it is 204 (no body). Every tile carries a strong ETag (MD5 of its bytes) and
`Cache-Control: private, max-age=300`: the browser keeps it five minutes, then revalidates
with If-None-Match and gets 304 until the topology under it changes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from accounts.sessions import load_login, login_is_valid, recent_login
from maps.tiles import cache, services
from maps.tiles.responses import tile_answer
from network.layers import layer_code


def _unauthorized() -> HttpResponse:
    return HttpResponse(
        "Debe ingresar para consultar la red.", status=401, content_type="text/plain"
    )


@require_safe
def tile(request: HttpRequest, layer: str, z: int, x: int, y: int) -> HttpResponse:
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return _unauthorized()
    # Spanish or English names (network.layers); one cache entry either way.
    name = layer_code(layer)
    if name is None:
        return HttpResponse(
            f"Capa desconocida: {layer[:30]}", status=404, content_type="text/plain"
        )
    layer = name
    if not services.valid_address(z, x, y):
        return HttpResponse(
            f"Tesela fuera de rango: {z}/{x}/{y}"[:80], status=400, content_type="text/plain"
        )
    # The login this process read last time for this session, checked against the session row
    # in the tile's statement; read again from the session if that row changed.
    login = recent_login(request)
    fetched = cache.fetch(layer, z, x, y, login=login) if login else None
    if fetched is None:
        login = load_login(request)
        if login is None:
            return _unauthorized()
        fetched = cache.fetch(layer, z, x, y, login=login)
    if fetched is None or not login_is_valid(request, login, fetched.password, fetched.is_active):
        return _unauthorized()
    status, body, headers = tile_answer(
        fetched.etag, fetched.data, request.headers.get("If-None-Match", "")
    )
    response = HttpResponse(body, status=status)
    del response["Content-Type"]
    for name, value in headers:
        response[name] = value
    return response
