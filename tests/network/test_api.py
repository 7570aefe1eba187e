"""The API's doors: who gets in, tokens, the access log, the schema and its docs page."""

from __future__ import annotations

import re
import shutil

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AccessLog
from network.models import Pole
from tests.network.api_helpers import LISTS, detail_url, list_url, ok

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_get_403_on_every_endpoint(client, feeder):
    pole = Pole.objects.filter(feeder=feeder).first()
    urls = [list_url(name) for name in [*LISTS, "customers"]]
    urls += [
        detail_url("poles", pole.pk),
        detail_url("feeders", feeder.pk),
        reverse("api:grid-location") + "?region=05&comuna=05101",
        reverse("api:grid-feeder-assets", args=[feeder.pk]) + "?tipo=poste",
        reverse("api:schema"),
    ]
    for url in urls:
        assert client.get(url).status_code == 401, url
    assert client.post(reverse("api:token")).status_code == 401
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    assert not AccessLog.objects.exists()


def test_openapi_schema_validates_without_warnings(tmp_path, public_client):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/poles/", "/api/spans/", "/api/grids/location/", "/api/customers/"):
        assert f"{path}:" in text
    schema = public_client.get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")


def test_the_docs_page_loads_everything_from_our_own_static_files(public_client):
    response = public_client.get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page and reverse("api:schema") in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "jsdelivr" not in page and "unpkg" not in page
    assert '"validatorUrl": null' in page
    for asset in re.findall(r"""(?:src|href)="/static/([^"]+)""", page):
        assert finders.find(asset), asset


def test_token_authentication_reads_the_api_and_is_logged(public_client, public_user, feeder):
    key = ok(public_client.post(reverse("api:token")))["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = ok(api.get(list_url("poles"), {"feeder": feeder.pk}))
    assert body["features"]
    assert AccessLog.objects.filter(user=public_user, path__startswith="/api/poles/").count() == 1
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(list_url("poles")).status_code == 401
    assert public_client.delete(reverse("api:token")).status_code == 204
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(list_url("poles")).status_code == 401


def test_each_api_read_writes_one_access_log_row(public_client, public_user, feeder):
    pole = Pole.objects.filter(feeder=feeder).first()
    public_client.get(list_url("poles"), {"feeder": feeder.pk})
    public_client.get(detail_url("poles", pole.pk))
    public_client.get(detail_url("feeders", feeder.pk))
    public_client.get(list_url("poles"), {"region": "99"})  # refused: nothing was seen
    rows = list(
        AccessLog.objects.filter(user=public_user)
        .order_by("at", "pk")
        .values_list("kind", "reference", "path")
    )
    assert rows == [
        ("busqueda", f"API pole: feeder={feeder.pk}", f"/api/poles/?feeder={feeder.pk}"),
        ("poste", pole.plate, f"/api/poles/{pole.pk}/"),
        ("alimentador", feeder.code, f"/api/feeders/{feeder.pk}/"),
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_renders_the_api_in_headless_chromium_offline(
    live_server, client, django_user_model
):
    sync_api = pytest.importorskip("playwright.sync_api")
    user = django_user_model.objects.create_user(
        "lectora_api", "api@example.cl", "clave-segura-123", profile="public"
    )
    client.force_login(user)
    session = client.cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        outside: list[str] = []

        def only_local(route):
            if route.request.url.startswith(live_server.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(live_server.url + reverse("api:docs"))
        page.wait_for_selector(".opblock-summary-path >> text=/api/poles/")
        assert page.locator(".opblock").count() > 20
        browser.close()
    assert outside == []


def test_an_api_path_that_names_no_operation_answers_the_apis_json_404(public_client):
    for path in ("/api/poles/no-es-un-numero/", "/api/postes/", "/api/rd/nada/"):
        response = public_client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "No existe esa dirección de la API."}
    # Elsewhere the site's own page.
    page = public_client.get("/red/no-existe/")
    assert page.status_code == 404 and "text/html" in page["Content-Type"]
