"""IdleSessionTimeout: the sessions of SEC auditors, customers (client, EG) and staff end after
settings.SESSION_IDLE_MINUTES without a request; their cookie also ends with the browser
(accounts.apps sets both up at login). Public accounts keep Django's two-week session.

The last request's time is kept in the session and written at most once a minute, so a
browsing user costs one session write a minute rather than one a request. Vector tiles
(namespace "tiles") are skipped: a tile is one SQL statement that checks the session row
itself (accounts.sessions); reading the session here would double it. Tiles neither refresh
nor check the idle time; the next page, search or API call does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

IDLE_KEY = "_idle_last_activity"  # epoch seconds of the last request, for idle-limited sessions
REFRESH_SECONDS = 60


def idle_limited(user) -> bool:
    """Whether `user`'s sessions end with the browser and after the idle time: SEC, client,
    EG and staff; not the public profile (nor planners, unless they are staff)."""
    return bool(user.is_staff or user.is_sec or user.is_customer)


def start_idle_limit(request: HttpRequest) -> None:
    """At login: a browser-session cookie, and the idle clock started."""
    request.session.set_expiry(0)
    request.session[IDLE_KEY] = int(time.time())


class IdleSessionTimeout:
    exempt_namespaces = frozenset({"tiles"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> None:
        match = request.resolver_match
        if match is not None and self.exempt_namespaces.intersection(match.namespaces):
            return None
        session = request.session
        last = session.get(IDLE_KEY)
        if last is None:
            return None
        now = int(time.time())
        if now - last > settings.SESSION_IDLE_MINUTES * 60:
            # The view then answers as it does to anyone not logged in (the login page, 401).
            logout(request)
            if not request.path_info.startswith("/api/"):
                messages.info(request, "Su sesión terminó por inactividad; ingrese nuevamente.")
        elif now - last >= REFRESH_SECONDS:
            session[IDLE_KEY] = now
        return None
