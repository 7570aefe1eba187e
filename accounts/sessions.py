"""Sessions in the database, read with one plain SQL statement, and the login check of
django.contrib.auth.get_user for views that read the user's row in their own statement.

`SessionStore` is Django's database session store (`SESSION_ENGINE = "accounts.sessions"`)
whose load skips the ORM: every request that touches the session reads it, and the ORM's
query building costs more than the look-up (0.38 ms against 0.17 ms on the bench machine).

The vector tile endpoint answers dozens of requests per map view and must stay close to the
cost of its own SQL, so a cached tile is one statement in all: it checks the login in the
statement that reads the tile (maps/tiles/cache.py). For that:

- `load_login` reads the session (one query, the first time a process sees it) and returns a
  `SessionLogin`: the session key, the session row's data as stored, and the user's id,
  backend and session hash decoded from it. The process remembers it (`recent_login`).
- `login_sql()` selects the user's password hash and active flag, and nothing unless the session
  row still exists, has not expired and still holds exactly that data. Any change to the
  session (logout, a new login, an updated hash after a password change) makes it select
  nothing, and the view reads the session again.
- `login_is_valid` applies get_user's checks to that row: an active user (ModelBackend), and
  a session hash that matches the password (a password change ends the other sessions), the
  SECRET_KEY_FALLBACKS accepted.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

RECENT_LOGINS = 10_000  # sessions a process remembers (each a few hundred bytes)


class SessionStore(DatabaseSessionStore):
    raw_data: str | None = None  # the row's session_data, as stored, once loaded

    def load(self) -> dict:
        model = self.get_model_class()
        table = model._meta.db_table
        with connections[router.db_for_read(model)].cursor() as cur:
            cur.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, timezone.now()],
            )
            row = cur.fetchone()
        if row is None:
            self._session_key = None
            return {}
        self.raw_data = row[0]
        return self.decode(row[0])


@dataclass(frozen=True)
class SessionLogin:
    session_key: str
    session_data: str  # as stored in the session row
    user_id: int
    auth_hash: str | None

    def params(self) -> dict:
        return {
            "login_user": self.user_id,
            "login_session_key": self.session_key,
            "login_session_data": self.session_data,
        }


def login_sql() -> str:
    """The user's password hash and active flag, selected only while the session row still
    holds the login (parameters: SessionLogin.params())."""
    users = get_user_model()._meta.db_table
    sessions = SessionStore.get_model_class()._meta.db_table
    return f"""SELECT password, is_active FROM {users}
         WHERE id = %(login_user)s AND EXISTS (
               SELECT FROM {sessions}
                WHERE session_key = %(login_session_key)s
                  AND session_data = %(login_session_data)s AND expire_date > now())"""


class _Recent:
    """The logins this process has read, by session key, the oldest dropped past a bound."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.logins: OrderedDict[str, SessionLogin] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> SessionLogin | None:
        with self.lock:
            return self.logins.get(key)

    def put(self, login: SessionLogin) -> None:
        with self.lock:
            self.logins[login.session_key] = login
            while len(self.logins) > self.size:
                self.logins.popitem(last=False)

    def forget(self, key: str) -> None:
        with self.lock:
            self.logins.pop(key, None)


_recent = _Recent(RECENT_LOGINS)


def recent_login(request: HttpRequest) -> SessionLogin | None:
    """The login this process last read for the request's session cookie, unverified."""
    return remembered_login(request.COOKIES.get(settings.SESSION_COOKIE_NAME))


def remembered_login(session_key: str | None) -> SessionLogin | None:
    """The login this process last read for the session `session_key`, unverified."""
    return _recent.get(session_key) if session_key else None


def load_login(request: HttpRequest) -> SessionLogin | None:
    """The login held by the request's session, read from the database: None for a session
    that does not exist, has expired, holds no login or a login by a backend that is no
    longer configured. Not yet a proof of login: check the user's row with login_is_valid."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if key:
        _recent.forget(key)
    session = request.session
    try:
        raw_id = session[SESSION_KEY]
        backend = session[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS or session.raw_data is None:
        return None
    try:
        user_id = get_user_model()._meta.pk.to_python(raw_id)
    except Exception:  # a malformed id: no user
        return None
    auth_hash = session.get(HASH_SESSION_KEY)
    login = SessionLogin(session.session_key, session.raw_data, user_id, auth_hash)
    _recent.put(login)
    return login


def login_is_valid(
    request: HttpRequest, login: SessionLogin, password: str, is_active: bool
) -> bool:
    """Whether `login` still logs its user in, given the user's password hash and active flag
    read with login_sql() (so the session still holds `login`). A session whose hash no longer
    matches is flushed, as get_user does. (On a match with a fallback key get_user also renews
    the session's hash; the next page view does that.)"""
    if not is_active:
        return False
    if login_holds(login, password):
        return True
    _recent.forget(login.session_key)
    request.session.flush()
    return False


def login_holds(login: SessionLogin, password: str) -> bool:
    """Whether the session hash of `login` matches the user's password hash `password` (under
    SECRET_KEY or one of SECRET_KEY_FALLBACKS); no side effect (see login_is_valid)."""
    return bool(login.auth_hash) and _hash_matches(
        login.auth_hash, password, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS)
    )


# Remembered: a tile request would otherwise build a user and compute an HMAC per key, for the
# same answer every time. The keys are part of the cache key, so a new SECRET_KEY is new work.
@functools.lru_cache(maxsize=RECENT_LOGINS)
def _hash_matches(auth_hash: str, password: str, secret: str, fallbacks: tuple[str, ...]) -> bool:
    user = get_user_model()(password=password)  # the hashes read the password only
    return constant_time_compare(auth_hash, user.get_session_auth_hash()) or any(
        constant_time_compare(auth_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    )


def login_row(login: SessionLogin) -> tuple[str, bool] | None:
    """The user's password hash and active flag, or None if the session no longer holds
    `login` or the user is gone (login_sql() on its own)."""
    with connections["default"].cursor() as cur:
        cur.execute(login_sql(), login.params())
        return cur.fetchone()
