"""TileShortcut: a vector tile request goes straight to the tile view, past the middleware that
has nothing to do for it.

A map view fetches dozens of tiles, and a cached tile is one SQL statement of about 0.1 ms;
the middleware chain around it cost more than that (the message storage built for every
request about 0.1 ms, the Content-Security-Policy built for every response about 0.05 ms).
For a tile the rest of the chain does nothing: the view checks the login in its own statement
(maps.tiles.views) and never reads `request.user`; tiles are exempt from the idle timeout
(accounts.middleware); a GET needs no CSRF check; a tile has no messages and no login form
(axes). So this middleware, placed right after SecurityMiddleware, answers a path under the
tiles' prefix itself, with what the skipped middleware would have given the request and the
response:

- the session as SessionMiddleware sets it up (lazy: nothing is read unless the view does) and
  its response handling (a flushed session's cookie is deleted);
- the policy headers: `Content-Security-Policy` (and its report-only twin) as CSPMiddleware
  builds them for a response without overrides or nonce, which a tile never has, built once
  per process; `Permissions-Policy` (core.middleware.PermissionsPolicy); `X-Frame-Options`
  (XFrameOptionsMiddleware); `Content-Length` (CommonMiddleware);
- RejectUnstorableInput's guard, for the one input a tile sends to the database, the session
  cookie: one PostgreSQL cannot store is no session (the view answers 401). A path that holds
  such a character goes down the usual chain, to its 400.

A path under the prefix that is not a tile address goes down the usual chain too (its 404 page
is the site's).

In production a plain tile request does not get here: maps.tiles.wsgi answers it in front of
Django's handler, with the same headers (maps.tiles.responses). What reaches this middleware is
the rest: the first tile of a session in a process, a changed session, a failed login, a bad
address, and every request made through Django's test client.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from core.middleware import unstorable
from maps.tiles.responses import policy_headers, tile_prefix

URLCONF = "maps.tiles.urls"


class TileShortcut:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.sessions = SessionMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        prefix = tile_prefix()
        if not path.startswith(prefix) or unstorable(path):
            return self.get_response(request)
        try:
            match = get_resolver(URLCONF).resolve("/" + path[len(prefix) :])
        except Resolver404:
            return self.get_response(request)
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if cookie is not None and unstorable(cookie):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        self.sessions.process_request(request)
        response = match.func(request, *match.args, **match.kwargs)
        response = self.sessions.process_response(request, response)
        for name, value in policy_headers():
            if name not in response:
                response[name] = value
        if not response.streaming and "Content-Length" not in response:
            response.headers["Content-Length"] = str(len(response.content))
        return response
