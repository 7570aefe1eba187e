"""Content-Security-Policy and Permissions-Policy on every response; no inline script left in
our templates that the policy would refuse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from portal.settings import tile_origin

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parts = (part.strip().split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("url", ["/", "/cuentas/ingresar/", "/no-existe/", "/red/mapa/"])
def test_every_response_carries_both_policies(client, url):
    response = client.get(url)
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce unless the page uses one
    assert policy["style-src"] == ["'self'"]
    assert policy["style-src-elem"] == ["'self'"]  # no inline <style> either
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"] and policy["font-src"] == ["'self'"]
    assert set(policy["img-src"]) >= {"'self'", "data:", "blob:"}
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )


def test_a_tile_and_an_api_error_carry_the_policies_too(client):
    tile = client.get("/tiles/red/12/1234/2468.mvt")
    assert tile.status_code == 401
    api = client.get("/api/substations/")
    assert api.status_code in (401, 403)
    for response in (tile, api):
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert "geolocation=()" in response["Permissions-Policy"]


def test_swagger_ui_runs_its_inline_script_with_the_responses_nonce(public_client):
    response = public_client.get(reverse("api:docs"))
    assert response.status_code == 200
    nonces = re.findall(r'<script nonce="([^"]+)">', response.content.decode())
    assert len(nonces) == 1
    assert f"'nonce-{nonces[0]}'" in directives(response)["script-src"]
    assert "'unsafe-inline'" not in directives(response)["script-src"]
    # Its inline style too, with the same nonce.
    assert re.findall(r'<style nonce="([^"]+)">', response.content.decode()) == nonces
    assert directives(response)["style-src-elem"] == ["'self'", f"'nonce-{nonces[0]}'"]


def test_the_admin_map_widget_has_no_inline_script(client, planner):
    client.force_login(planner)
    content = client.get("/admin/network/pole/add/").content.decode()
    assert "/static/js/map_widget.js" in content
    assert 'data-map-widget data-module="geodjango_location"' in content
    assert '"default_lon": -70.65' in content
    assert not re.search(r"<script>|<script\s+type=\"text/javascript\">", content)


def test_the_base_layer_host_is_an_image_source():
    assert tile_origin("https://{s}.tile.example.cl/{z}/{x}/{y}.png") == (
        "https://*.tile.example.cl"
    )
    assert tile_origin("https://tiles.example.cl/{z}/{x}/{y}.png") == "https://tiles.example.cl"


def test_no_template_has_an_inline_script_handler_style_or_style_attribute():
    executable = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
    handler = re.compile(r"\son[a-z]+\s*=|javascript:|\sstyle=\"", re.IGNORECASE)
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        # The one inline script with a nonce: Swagger UI's set-up; the styles with one.
        text = re.sub(r'<script nonce="\{\{ request\.csp_nonce \}\}">', "", text)
        text = re.sub(r'<style nonce="\{\{ request\.csp_nonce \}\}">', "", text)
        if executable.search(text) or handler.search(text) or "<style" in text:
            found.append(str(path.relative_to(TEMPLATES)))
    assert found == []
