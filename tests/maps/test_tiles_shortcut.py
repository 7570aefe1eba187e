"""Tiles answered by maps.tiles.middleware.TileShortcut, past the session, auth and message
middleware: the same headers and access rules as before, and the login check it keeps
(accounts.sessions) cannot be talked round."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.test import override_settings

from accounts.models import User
from maps.models import TileCache
from maps.tiles import services
from network.models import Substation

pytestmark = pytest.mark.django_db

POLICY_HEADERS = (
    "Permissions-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


def tile_path(z: int = 12, layer: str = "red") -> str:
    substation = Substation.objects.order_by("pk").first()
    tx, ty = services.lonlat_to_tile(substation.location.x, substation.location.y, z)
    return f"/tiles/{layer}/{z}/{int(tx)}/{int(ty)}.mvt"


def directives(policy: str) -> dict[str, set[str]]:
    parts = (part.strip().split() for part in policy.split(";") if part.strip())
    return {name: set(values) for name, *values in parts}


def test_a_tile_is_answered_before_the_session_and_auth_middleware(public_client, demo_network):
    response = public_client.get(tile_path())
    assert response.status_code == 200
    assert response.content
    assert not hasattr(response.wsgi_request, "user")  # AuthenticationMiddleware never ran
    assert not hasattr(response.wsgi_request, "_messages")


def test_a_tile_carries_the_same_policy_headers_as_a_page(public_client, demo_network):
    page = public_client.get("/")
    tile = public_client.get(tile_path())
    assert tile.status_code == 200
    assert directives(tile["Content-Security-Policy"]) == directives(
        page["Content-Security-Policy"]
    )
    for name in POLICY_HEADERS:
        assert tile[name] == page[name], name
    assert tile["Content-Length"] == str(len(tile.content))
    assert tile["Vary"] == "Cookie"


def test_an_anonymous_tile_request_gets_401_with_the_policies(client, demo_network):
    response = client.get(tile_path())
    assert response.status_code == 401
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert not TileCache.objects.exists()


def test_a_session_cookie_postgresql_cannot_store_is_no_session(client, demo_network):
    cookie = f"{settings.SESSION_COOKIE_NAME}=abcdefghijkl\x00mnopqrstuvwxyz"
    response = client.get(tile_path(), HTTP_COOKIE=cookie)
    assert response.status_code == 401


def test_a_nul_in_a_tile_path_is_the_sites_400(public_client):
    response = public_client.get("/tiles/%00/12/0/0.mvt")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_a_path_under_the_tiles_that_is_no_tile_gets_the_sites_404(public_client):
    response = public_client.get("/tiles/red/12/0/0")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_flushed_session_has_its_cookie_deleted_by_the_tile_response(public_client, demo_network):
    path = tile_path()
    assert public_client.get(path).status_code == 200
    user = User.objects.get(pk=public_client.session[SESSION_KEY])
    user.set_password("otra-clave-nueva-2026")
    user.save()
    response = public_client.get(path)
    assert response.status_code == 401
    deleted = response.cookies[settings.SESSION_COOKIE_NAME]
    assert deleted.value == "" and deleted["max-age"] == 0


def test_a_forged_session_hash_gets_401_after_a_good_one_was_checked(public_client, demo_network):
    path = tile_path()
    assert public_client.get(path).status_code == 200  # the good hash checked and remembered
    session = public_client.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    assert public_client.get(path).status_code == 401


def test_a_new_secret_key_ends_the_sessions_for_tiles_unless_the_old_one_is_a_fallback(
    public_client, demo_network
):
    path = tile_path()
    assert public_client.get(path).status_code == 200
    old = settings.SECRET_KEY
    with override_settings(SECRET_KEY="otra-clave-secreta-" + "x" * 40, SECRET_KEY_FALLBACKS=[old]):
        assert public_client.get(path).status_code == 200
    with override_settings(SECRET_KEY="otra-clave-secreta-" + "x" * 40, SECRET_KEY_FALLBACKS=[]):
        assert public_client.get(path).status_code == 401
