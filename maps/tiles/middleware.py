"""TileShortcut: a vector tile request goes straight to the tile view, past the middleware that
has nothing to do for it.

A map view fetches dozens of tiles, and a cached tile is one SQL statement of about 0.1 ms;
the full middleware chain around it cost more than that (the message storage, built for every
request, alone about 0.1 ms). For tiles, the middleware after this one in settings.MIDDLEWARE
does nothing: the view checks the login in its own statement (maps.tiles.views) and never
reads `request.user`; tiles are exempt from the idle timeout (accounts.middleware); a GET
needs no CSRF check; a tile page has no messages and no login form (axes). So this one,
placed just before SessionMiddleware, answers a path under the tiles' prefix itself:

- the session as SessionMiddleware sets it up (lazy: nothing is read unless the view does) and
  its response handling (a flushed session's cookie is deleted);
- the headers the skipped middleware would add: `X-Frame-Options` (XFrameOptionsMiddleware)
  and `Content-Length` (CommonMiddleware).

The middleware before it still runs: the security headers, the Content-Security-Policy and
Permissions-Policy, the refusal of unstorable input. A path under the prefix that is not a
tile address goes down the usual chain (its 404 page is the site's).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, reverse

URLCONF = "maps.tiles.urls"


class TileShortcut:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.sessions = SessionMiddleware(get_response)
        self.prefix: str | None = None

    def _prefix(self) -> str:
        # Where portal.urls mounts the tiles, read once the URLconf is loaded.
        if self.prefix is None:
            path = reverse("tiles:tile", kwargs={"layer": "L", "z": 0, "x": 0, "y": 0})
            self.prefix = path[: path.index("/L/") + 1]
        return self.prefix

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        prefix = self._prefix()
        if not path.startswith(prefix):
            return self.get_response(request)
        try:
            match = get_resolver(URLCONF).resolve("/" + path[len(prefix) :])
        except Resolver404:
            return self.get_response(request)
        self.sessions.process_request(request)
        response = match.func(request, *match.args, **match.kwargs)
        response = self.sessions.process_response(request, response)
        if "X-Frame-Options" not in response:
            response["X-Frame-Options"] = getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()
        if not response.streaming and "Content-Length" not in response:
            response.headers["Content-Length"] = str(len(response.content))
        return response
