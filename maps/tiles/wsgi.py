"""The tile fast path: a WSGI application in front of Django's handler (portal.wsgi) that
answers a plain tile request itself, with one SQL statement and a handful of Python lines.

A map view fetches dozens of tiles, and a tile's SQL takes about a millisecond; Django's request
cycle around it, even past the middleware (maps.tiles.middleware), cost a quarter of that again:
the request object, the URL resolver, the response object and its header conversions. Here, for
a GET or HEAD of a well-formed tile address (maps.tiles.urls, under the tiles' prefix) with a
session cookie whose login this process has read before (accounts.sessions.remembered_login),
the answer is the tile statement with the login check (maps.tiles.cache.fetch) and a status and
header list built as the view, TileShortcut and SecurityMiddleware build them
(maps.tiles.responses): the same status, headers and body. A tile it renders is stored after
the answer has been sent, with others in one statement (maps.tiles.cache: store_later, flush):
the store is off the tile's way to the browser.

Everything else goes to Django unchanged, and so gets the answer it always got: no cookie, a
cookie PostgreSQL cannot store, a session this process has not read yet or whose row changed, an
inactive user or a session hash that no longer matches (Django's path flushes the session), an
unknown layer, an address off the pyramid, another method, a plain-HTTP request where
SECURE_SSL_REDIRECT applies, and an exception in the statement (Django's path runs it again and
answers, and logs, as it does any error; the fast path only logs a warning).

The database connection is handled as Django's handler does it: request_started is sent before
the statement and request_finished when the server closes the response (close_old_connections
both times: CONN_MAX_AGE, a connection left unusable by an error, autocommit), with the same
sender. When the fast path hands a request over after its statement, it sends request_finished
first, and Django's handler starts the request again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core import signals
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from accounts.sessions import SessionLogin, login_holds, remembered_login
from core.middleware import unstorable
from maps.tiles import cache, services
from maps.tiles.responses import (
    policy_headers,
    security_headers,
    status_line,
    tile_answer,
    tile_prefix,
)
from network.layers import layer_code

logger = logging.getLogger(__name__)

# <layer>/<z>/<x>/<y>.mvt after the prefix, as maps.tiles.urls has it; a minus sign (a bad
# address, 400) is left to Django.
ADDRESS = re.compile(r"([^/]+)/([0-9]{1,12})/([0-9]{1,12})/([0-9]{1,12})\.mvt")

StartResponse = Callable[[str, list[tuple[str, str]]], object]


class _Scheme:
    """HttpRequest.scheme over a WSGI environ (SECURE_PROXY_SSL_HEADER, wsgi.url_scheme)."""

    __slots__ = ("META",)
    scheme = HttpRequest.scheme

    def __init__(self, environ: dict) -> None:
        self.META = environ

    def _get_scheme(self) -> str:
        return self.META.get("wsgi.url_scheme", "http")


class _Body(list):
    """The response body. The server closes it once it has sent it: the tile, if rendered
    here, joins those waiting to be stored, and they are written if there are enough of them
    (maps.tiles.cache: store_later, flush); then the request ends, as closing Django's
    response ends it."""

    __slots__ = ("sender", "rendered")

    def close(self) -> None:
        try:
            if self.rendered is not None:
                cache.store_later(*self.rendered)
            cache.flush()
        except Exception as error:  # the tiles have been answered: they are only not cached
            logger.warning("tile fast path, tiles not stored: %r", error)
        finally:
            signals.request_finished.send(sender=self.sender)


class TileFastPath:
    """Wraps a WSGI application (Django's handler): tiles answered here, the rest there."""

    def __init__(self, application: Callable) -> None:
        self.application = application
        # The signals go out with the sender Django's handler gives them.
        self.sender = type(application)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.application(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return body

    def answer(self, environ: dict) -> tuple[str, list[tuple[str, str]], _Body] | None:
        """(status, headers, body) of a plain tile request, or None for Django to answer."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        path = environ.get("PATH_INFO", "")
        prefix = tile_prefix()
        if not path.startswith(prefix):
            return None
        found = ADDRESS.fullmatch(path, len(prefix))
        if found is None:
            return None
        key = parse_cookie(environ.get("HTTP_COOKIE", "")).get(settings.SESSION_COOKIE_NAME)
        if not key or unstorable(key):
            return None
        login = remembered_login(key)
        layer = layer_code(found[1])
        z, x, y = int(found[2]), int(found[3]), int(found[4])
        if login is None or layer is None or not services.valid_address(z, x, y):
            return None
        secure = _Scheme(environ).scheme == "https"
        if settings.SECURE_SSL_REDIRECT and not secure:
            return None  # SecurityMiddleware's redirect
        signals.request_started.send(sender=self.sender, environ=environ)
        try:
            answer = self._tile(environ, login, layer, z, x, y, secure)
        except Exception as error:  # Django's path runs it again, and answers as it does
            logger.warning("tile fast path, handed over to Django: %r", error)
            answer = None
        if answer is None:
            signals.request_finished.send(sender=self.sender)
        return answer

    def _tile(
        self, environ: dict, login: SessionLogin, layer: str, z: int, x: int, y: int, secure: bool
    ) -> tuple[str, list[tuple[str, str]], _Body] | None:
        fetched = cache.fetch(layer, z, x, y, login=login, defer_store=True)
        if fetched is None or not fetched.is_active or not login_holds(login, fetched.password):
            return None  # a changed session or a failed login: Django's path reads it again
        status, data, headers = tile_answer(
            fetched.etag, fetched.data, environ.get("HTTP_IF_NONE_MATCH", "")
        )
        headers += policy_headers()
        headers.append(("Content-Length", str(len(data))))
        headers += security_headers(secure)
        body = _Body((data,))
        body.sender = self.sender
        body.rendered = (layer, z, x, y, fetched) if fetched.epoch is not None else None
        return status_line(status), headers, body
