"""What a tile answer is made of, shared by the tile view (maps.tiles.views), the middleware
that answers tiles past the session and auth chain (maps.tiles.middleware) and the WSGI fast
path in front of Django (maps.tiles.wsgi), so that the three give the same status, headers
and body: the view's headers (`tile_answer`), then the policy headers of the skipped middleware
and Content-Length (`policy_headers`), then SecurityMiddleware's (`security_headers`).

The policy and security headers depend on settings only; they are built once per process (once
more after a settings change, as in tests) with the middleware's own code.
"""

from __future__ import annotations

import functools
from http.client import responses

from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.urls import get_script_prefix, reverse

CONTENT_TYPE = "application/vnd.mapbox-vector-tile"
CACHE_CONTROL = "private, max-age=300"


def matches(header: str, etag: str) -> bool:
    """Whether an If-None-Match header holds the (quoted) `etag`, weak or strong, or is "*"."""
    if header.strip() == "*":
        return True
    candidates = (t.strip().removeprefix("W/") for t in header.split(","))
    return etag in candidates


def tile_answer(etag: str, data: bytes, if_none_match: str) -> tuple[int, bytes, list]:
    """(status, body, the view's headers in order) for a tile `data` with MD5 `etag`: 304 when
    If-None-Match holds the ETag, 204 (no body, no Content-Type) for an empty tile, else 200.
    A 304 carries the Content-Type Django gives a response without one, as it always did."""
    quoted = f'"{etag}"'
    if matches(if_none_match, quoted):
        status, body, content_type = 304, b"", f"text/html; charset={settings.DEFAULT_CHARSET}"
    elif data:
        status, body, content_type = 200, data, CONTENT_TYPE
    else:
        status, body, content_type = 204, b"", None
    headers = [("ETag", quoted), ("Cache-Control", CACHE_CONTROL), ("Vary", "Cookie")]
    if content_type is not None:
        headers.insert(0, ("Content-Type", content_type))
    return status, body, headers


def status_line(status: int) -> str:
    """The WSGI status line, as Django's WSGIHandler writes it."""
    return f"{status} {responses.get(status, 'Unknown Status Code')}"


@functools.cache
def tile_prefix() -> str:
    """The path, under the site's root, where portal.urls mounts the tiles ("/tiles/"), as the
    request's path_info starts (without the script name)."""
    path = reverse("tiles:tile", kwargs={"layer": "L", "z": 0, "x": 0, "y": 0})
    path = "/" + path[len(get_script_prefix()) :]
    return path[: path.index("/L/") + 1]


@functools.cache
def policy_headers() -> tuple[tuple[str, str], ...]:
    """The headers the skipped middleware gives every tile response (none sets them): the
    Content-Security-Policy and its report-only twin as CSPMiddleware builds them for a
    response without overrides or nonce, Permissions-Policy (core.middleware.PermissionsPolicy)
    and X-Frame-Options (XFrameOptionsMiddleware). Content-Length (CommonMiddleware) follows."""
    headers = {
        "Content-Security-Policy": build_policy(),
        "Content-Security-Policy-Report-Only": build_policy(report_only=True),
        "Permissions-Policy": getattr(settings, "PERMISSIONS_POLICY", ""),
        "X-Frame-Options": getattr(settings, "X_FRAME_OPTIONS", "DENY").upper(),
    }
    return tuple((name, value) for name, value in headers.items() if value)


class _Probe(HttpRequest):
    def __init__(self, secure: bool) -> None:
        super().__init__()
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


@functools.cache
def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """What SecurityMiddleware adds to a response of ours (none sets these headers), for a
    request over HTTPS or not: computed by SecurityMiddleware itself, on an empty response."""
    response = HttpResponse()
    before = set(response.headers)
    SecurityMiddleware(lambda request: response).process_response(_Probe(secure), response)
    return tuple((name, value) for name, value in response.items() if name not in before)


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    tile_prefix.cache_clear()
    policy_headers.cache_clear()
    security_headers.cache_clear()
