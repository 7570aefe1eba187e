"""The tile fast path in front of Django's handler (maps.tiles.wsgi, portal.wsgi.application):
a plain tile gets the same status, headers and body as through Django, everything else is
Django's answer, and the database connection is handled as Django's handler handles it."""

from __future__ import annotations

import contextlib
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from accounts.models import User
from maps.models import TileCache
from maps.tiles import cache, services
from maps.tiles.wsgi import TileFastPath
from network.models import Substation
from portal.wsgi import application, django_application

EMPTY = "/tiles/red/14/0/0.mvt"  # over the Pacific: nothing in it


def tile_path(z: int = 12, layer: str = "red") -> str:
    substation = Substation.objects.order_by("pk").first()
    tx, ty = services.lonlat_to_tile(substation.location.x, substation.location.y, z)
    return f"/tiles/{layer}/{z}/{int(tx)}/{int(ty)}.mvt"


def cookie_of(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@contextlib.contextmanager
def in_test_transaction():
    """As Django's test client does: the test's transaction is no connection to close."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def test_transaction_kept():
    with in_test_transaction():
        yield


def call(app, path: str, cookie: str = "", method: str = "GET", **environ):
    """(status, headers, body, answered by the fast path) of one request through `app`."""
    extra = {"HTTP_COOKIE": cookie} if cookie else {}
    env = getattr(RequestFactory(), method.lower())(path, **extra).environ
    env["wsgi.input"] = io.BytesIO(b"")
    env.update(environ)
    started = []
    body = app(env, lambda status, headers: started.append((status, headers)))
    try:
        data = b"".join(body)
    finally:
        body.close()
    status, headers = started[0]
    return status, headers, data, type(body).__name__ == "_Body"


def both(path: str, cookie: str, apps=(django_application, application), **environ):
    """The answer through Django alone, then through the fast path; the second from the fast
    path itself (the login read by the first)."""
    slow = call(apps[0], path, cookie, **environ)
    fast = call(apps[1], path, cookie, **environ)
    return slow, fast


def new_apps() -> tuple[WSGIHandler, TileFastPath]:
    """Django's handler and the fast path built anew: SecurityMiddleware reads its settings
    when the handler is built."""
    handler = WSGIHandler()
    return handler, TileFastPath(handler)


@pytest.mark.django_db
@pytest.mark.usefixtures("test_transaction_kept")
class TestSameAnswer:
    def test_a_tile_cold_and_warm(self, public_client, demo_network):
        path = tile_path()
        cookie = cookie_of(public_client)
        slow = call(django_application, path, cookie)
        z, x, y = (int(part) for part in path.removesuffix(".mvt").split("/")[-3:])
        TileCache.objects.filter(layer="red", z=z, x=x, y=y).delete()
        fast_cold = call(application, path, cookie)
        fast_warm = call(application, path, cookie)
        assert slow[0] == "200 OK" and slow[2]
        assert fast_cold[3] and fast_warm[3]
        assert fast_cold[:3] == slow[:3]
        assert fast_warm[:3] == slow[:3]
        assert dict(slow[1])["Content-Type"] == "application/vnd.mapbox-vector-tile"

    def test_an_empty_tile_is_204_alike(self, public_client, demo_network):
        slow, fast = both(EMPTY, cookie_of(public_client))
        assert slow[0] == "204 No Content" and slow[2] == b""
        assert fast[3]
        assert fast[:3] == slow[:3]

    def test_a_304_alike(self, public_client, demo_network):
        path = tile_path()
        cookie = cookie_of(public_client)
        etag = dict(call(django_application, path, cookie)[1])["ETag"]
        for header in (etag, f'W/"x", {etag}', "*"):
            slow, fast = both(path, cookie, HTTP_IF_NONE_MATCH=header)
            assert slow[0] == "304 Not Modified"
            assert fast[3]
            assert fast[:3] == slow[:3]
        slow, fast = both(path, cookie, HTTP_IF_NONE_MATCH='"another"')
        assert fast[3] and slow[0] == "200 OK" and fast[:3] == slow[:3]

    def test_a_head_request_alike(self, public_client, demo_network):
        path = tile_path()
        cookie = cookie_of(public_client)
        call(django_application, path, cookie)
        slow = call(django_application, path, cookie, method="HEAD")
        fast = call(application, path, cookie, method="HEAD")
        assert fast[3] and fast[:3] == slow[:3]

    @override_settings(SECURE_HSTS_SECONDS=3600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
    def test_over_https_the_hsts_header_alike(self, public_client, demo_network):
        apps = new_apps()
        slow, fast = both(
            tile_path(), cookie_of(public_client), apps, **{"wsgi.url_scheme": "https"}
        )
        assert dict(slow[1])["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
        assert fast[3] and fast[:3] == slow[:3]
        slow, fast = both(tile_path(), cookie_of(public_client), apps)
        assert "Strict-Transport-Security" not in dict(fast[1])
        assert fast[3] and fast[:3] == slow[:3]

    @override_settings(SECURE_SSL_REDIRECT=True)
    def test_a_plain_http_request_is_redirected_by_django(self, public_client, demo_network):
        slow, fast = both(tile_path(), cookie_of(public_client), new_apps())
        assert slow[0].startswith("301")
        assert not fast[3] and fast[:3] == slow[:3]

    def test_the_tile_headers_are_those_of_the_test_client_path(self, public_client, demo_network):
        path = tile_path()
        through_client = public_client.get(path)
        with in_test_transaction():  # the test client connected close_old_connections again
            fast = call(application, path, cookie_of(public_client))
        assert fast[3]
        assert fast[2] == through_client.content
        assert fast[1] == list(through_client.items())

    def test_a_spanish_layer_name_alike(self, public_client, demo_network):
        slow, fast = both(tile_path(layer="subestaciones"), cookie_of(public_client))
        assert slow[0] == "200 OK"
        assert fast[3] and fast[:3] == slow[:3]


@pytest.mark.django_db
@pytest.mark.usefixtures("test_transaction_kept")
class TestHandedToDjango:
    def known(self, client: Client) -> str:
        """The client's cookie, its login read by this process (a tile through Django)."""
        cookie = cookie_of(client)
        assert call(application, EMPTY, cookie)[0] == "204 No Content"
        assert call(application, EMPTY, cookie)[3]
        return cookie

    def test_anonymous_401(self, demo_network):
        slow, fast = both(tile_path(), "")
        assert slow[0].startswith("401")
        assert not fast[3] and fast[:3] == slow[:3]

    def test_an_unknown_session_401(self, demo_network):
        slow, fast = both(tile_path(), f"{settings.SESSION_COOKIE_NAME}=nosuchsession0123456789")
        assert slow[0].startswith("401")
        assert not fast[3] and fast[:3] == slow[:3]

    def test_a_cookie_postgresql_cannot_store_401(self, demo_network):
        slow, fast = both(tile_path(), f"{settings.SESSION_COOKIE_NAME}=abc\x00def")
        assert slow[0].startswith("401")
        assert not fast[3] and fast[:3] == slow[:3]

    def test_an_expired_session_401(self, public_client, demo_network):
        cookie = self.known(public_client)
        Session.objects.filter(session_key=public_client.session.session_key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        status, _headers, _body, fast = call(application, tile_path(), cookie)
        assert status.startswith("401") and not fast

    def test_another_users_session_after_a_new_login_401(self, public_client, demo_network):
        cookie = self.known(public_client)
        session = public_client.session
        session[SESSION_KEY] = str(User.objects.create_user("otro", "o@example.cl", "x").pk)
        session.save()
        status, _headers, _body, fast = call(application, tile_path(), cookie)
        assert status.startswith("401") and not fast

    def test_an_inactive_user_401(self, public_client, demo_network):
        cookie = self.known(public_client)
        User.objects.filter(pk=public_client.session[SESSION_KEY]).update(is_active=False)
        status, _headers, _body, fast = call(application, tile_path(), cookie)
        assert status.startswith("401") and not fast

    def test_a_changed_password_401_and_the_cookie_deleted(self, public_client, demo_network):
        cookie = self.known(public_client)
        user = User.objects.get(pk=public_client.session[SESSION_KEY])
        user.set_password("otra-clave-nueva-2026")
        user.save()
        status, headers, _body, fast = call(application, tile_path(), cookie)
        assert status.startswith("401") and not fast
        deleted = [value for name, value in headers if name == "Set-Cookie"]
        assert deleted and deleted[0].strip().startswith(f'{settings.SESSION_COOKIE_NAME}=""')

    def test_a_forged_session_hash_401(self, public_client, demo_network):
        cookie = self.known(public_client)
        session = public_client.session
        session[HASH_SESSION_KEY] = "0" * 64
        session.save()
        status, _headers, _body, fast = call(application, tile_path(), cookie)
        assert status.startswith("401") and not fast

    @pytest.mark.parametrize(
        "path",
        [
            "/tiles/clientes/10/300/600.mvt",  # unknown layer: 404
            "/tiles/red/23/0/0.mvt",  # out of range: 400
            "/tiles/red/2/4/0.mvt",
            "/tiles/red/3/-1/0.mvt",
            "/tiles/red/14/999999999999/0.mvt",
            "/tiles/red/12/0/0",  # no tile address: the site's 404
            "/tiles/%00/12/0/0.mvt",  # the site's 400
        ],
    )
    def test_bad_addresses_alike(self, public_client, demo_network, path):
        cookie = self.known(public_client)
        slow, fast = both(path, cookie)
        assert slow[0][:3] in ("400", "404")
        assert not fast[3]
        if dict(slow[1])["Content-Type"].startswith("text/html"):
            # The site's page: a CSRF token of its own in each (its form, its cookie).
            assert fast[0] == slow[0]
            assert [name for name, _ in fast[1]] == [name for name, _ in slow[1]]
        else:
            assert fast[:3] == slow[:3]

    def test_post_405(self, public_client, demo_network):
        cookie = self.known(public_client)
        slow = call(django_application, tile_path(), cookie, method="POST")
        fast = call(application, tile_path(), cookie, method="POST")
        assert slow[0].startswith("405")
        assert not fast[3] and fast[:3] == slow[:3]

    def test_other_paths_go_to_django(self, public_client, demo_network):
        cookie = self.known(public_client)
        status, _headers, _body, fast = call(application, "/", cookie)
        assert status.startswith("200") and not fast


# --- the database connection: real transactions, signals connected, as in production --------


def _session_cookie() -> tuple[str, User]:
    user = User.objects.create_user("teselas", "t@example.cl", "clave-segura-123")
    client = Client()
    client.force_login(user)
    return cookie_of(client), user


@pytest.mark.django_db(transaction=True)
def test_the_connection_is_in_a_good_state_after_a_fast_path_request():
    cookie, _user = _session_cookie()
    call(application, EMPTY, cookie)  # the login read by this process
    status, _headers, _body, fast = call(application, EMPTY, cookie)
    assert status == "204 No Content" and fast
    assert connection.connection is not None  # kept (CONN_MAX_AGE)
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert not connection.errors_occurred and connection.is_usable()


@pytest.mark.django_db(transaction=True)
def test_an_obsolete_connection_is_closed_at_the_start_of_a_fast_path_request():
    cookie, _user = _session_cookie()
    call(application, EMPTY, cookie)
    connection.ensure_connection()
    before = connection.connection
    connection.close_at = 0  # past its CONN_MAX_AGE
    status, _headers, _body, fast = call(application, EMPTY, cookie)
    assert status == "204 No Content" and fast
    assert connection.connection is not before


@pytest.mark.django_db(transaction=True)
def test_a_database_error_in_the_fast_path_is_djangos_500_and_the_connection_recovers(
    monkeypatch, caplog
):
    cookie, _user = _session_cookie()
    call(application, EMPTY, cookie)
    statement = cache.statement

    def broken(layer: str, z: int, with_login: bool) -> str:
        # The server ends the connection: an OperationalError, the connection unusable.
        return "SELECT pg_terminate_backend(pg_backend_pid()), %(z)s"

    monkeypatch.setattr(cache, "statement", broken)
    slow = call(django_application, EMPTY, cookie)
    fast = call(application, EMPTY, cookie)
    assert slow[0].startswith("500")
    assert not fast[3] and fast[:3] == slow[:3]
    assert "tile fast path, handed over to Django" in caplog.text
    monkeypatch.setattr(cache, "statement", statement)
    status, _headers, _body, fast = call(application, EMPTY, cookie)
    assert status == "204 No Content" and fast
    assert not connection.errors_occurred and connection.is_usable()


@pytest.mark.django_db(transaction=True)
def test_the_signals_go_out_once_each_with_djangos_sender():
    cookie, _user = _session_cookie()
    call(application, EMPTY, cookie)
    seen = []

    def started(sender, **kwargs):
        seen.append(("started", sender))

    def finished(sender, **kwargs):
        seen.append(("finished", sender))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        assert call(application, EMPTY, cookie)[3]
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    sender = type(django_application)
    assert seen == [("started", sender), ("finished", sender)]


def test_the_fast_path_wraps_djangos_handler():
    assert isinstance(application, TileFastPath)
    assert application.application is django_application


# --- The store after the answer (maps.tiles.cache: store_later, flush) ----------------------


def address_of(path: str) -> tuple[int, int, int]:
    z, x, y = (int(part) for part in path.removesuffix(".mvt").split("/")[-3:])
    return z, x, y


def stored(z: int, x: int, y: int) -> TileCache | None:
    return TileCache.objects.filter(layer="red", z=z, x=x, y=y).first()


def cold_paths(count: int, z: int = 14) -> list[str]:
    """`count` tiles of the demo network with something in them, none of them cached."""
    paths = []
    for substation in Substation.objects.order_by("pk"):
        tx, ty = services.lonlat_to_tile(substation.location.x, substation.location.y, z)
        for dx in range(-2, 3):
            path = f"/tiles/red/{z}/{int(tx) + dx}/{int(ty)}.mvt"
            if path not in paths and services.render("red", *address_of(path)):
                paths.append(path)
        if len(paths) >= count:
            break
    TileCache.objects.filter(layer="red", z=z).delete()
    assert len(paths) >= count
    return paths[:count]


@pytest.mark.django_db
@pytest.mark.usefixtures("test_transaction_kept")
class TestStoredAfterTheAnswer:
    def cookie(self, client: Client) -> str:
        """The client's cookie, its login read by this process (an empty tile via Django)."""
        cookie = cookie_of(client)
        call(application, EMPTY, cookie)
        return cookie

    def test_a_rendered_tile_waits_then_is_stored_as_it_was_answered(
        self, public_client, demo_network
    ):
        (path,) = cold_paths(1)
        status, headers, body, fast = call(application, path, self.cookie(public_client))
        assert fast and status == "200 OK" and body
        assert stored(*address_of(path)) is None  # answered, waiting
        assert cache.flush(force=True) == 1
        row = stored(*address_of(path))
        assert bytes(row.data) == body
        assert f'"{row.etag}"' == dict(headers)["ETag"]
        # Now a cache hit: the same answer, nothing more waits.
        assert call(application, path, self.cookie(public_client))[:3] == (status, headers, body)
        assert cache.flush(force=True) == 0

    def test_a_batch_is_written_when_enough_tiles_wait(self, public_client, demo_network):
        paths = cold_paths(cache.FLUSH_TILES)
        cookie = self.cookie(public_client)
        for path in paths[:-1]:
            assert call(application, path, cookie)[3]
        assert not any(stored(*address_of(path)) for path in paths)
        call(application, paths[-1], cookie)  # its close writes all of them
        assert all(stored(*address_of(path)) for path in paths)

    def test_tiles_wait_no_longer_than_flush_seconds(self, public_client, demo_network):
        (path,) = cold_paths(1)
        cookie = self.cookie(public_client)
        assert call(application, path, cookie)[3]
        assert stored(*address_of(path)) is None
        cache._waiting.since -= cache.FLUSH_SECONDS  # as if it had waited that long
        call(application, EMPTY, cookie)  # any answer's close writes it
        assert stored(*address_of(path)) is not None

    def test_a_tile_rendered_before_an_invalidation_is_not_stored(
        self, public_client, demo_network
    ):
        before, after = cold_paths(2)
        cookie = self.cookie(public_client)
        assert call(application, before, cookie)[3]
        z, x, y = address_of(before)
        cache.invalidate_area(services.tile_bounds(z, x, y))  # an edit there began
        assert call(application, after, cookie)[3]
        assert cache.flush(force=True) == 1
        assert stored(*address_of(before)) is None  # maybe stale: rendered again when asked
        assert stored(*address_of(after)) is not None

    def test_a_row_stored_meanwhile_is_kept(self, public_client, demo_network):
        (path,) = cold_paths(1)
        assert call(application, path, self.cookie(public_client))[3]
        z, x, y = address_of(path)
        TileCache.objects.create(layer="red", z=z, x=x, y=y, etag="other", data=b"other")
        assert cache.flush(force=True) == 0
        assert stored(z, x, y).etag == "other"

    def test_a_failed_store_is_logged_and_the_request_still_ends(
        self, public_client, demo_network, monkeypatch, caplog
    ):
        (path,) = cold_paths(1)
        cookie = self.cookie(public_client)

        def broken(force=False):
            raise RuntimeError("disco lleno")

        monkeypatch.setattr(cache, "flush", broken)
        finished = []

        def on_finished(sender, **kwargs):
            finished.append(sender)

        signals.request_finished.connect(on_finished)
        try:
            status, _headers, body, fast = call(application, path, cookie)
        finally:
            signals.request_finished.disconnect(on_finished)
        assert fast and status == "200 OK" and body
        assert finished == [type(django_application)]
        assert "tiles not stored" in caplog.text and "disco lleno" in caplog.text
