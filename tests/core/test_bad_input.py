"""Bad input is the client's 400, never a 500 (RejectUnstorableInput), and the error pages are
the portal's own, in Spanish, saying nothing a view's exception says."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.urls import path

from core.middleware import UNSTORABLE_CHARACTER, unstorable
from tests.factories import make_comuna, make_vnr

pytestmark = pytest.mark.django_db

HEADER = "Plataforma de información pública"
REFUSED = "carácter no admitido"


def boom(request) -> HttpResponse:
    raise RuntimeError("detalle interno que nadie debe ver")


# For the 500 page: a URLconf with only a failing view (and no "landing" to reverse).
urlpatterns = [path("falla/", boom)]


# The four 500s of the issue -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/red/buscar/?region=%00", "/red/vnr/?codigo=%00", "/red/buscar/?region=05&comuna=%00"]
)
def test_a_nul_in_a_page_parameter_is_a_spanish_400(public_client, url):
    response = public_client.get(url)

    assert response.status_code == 400
    content = response.content.decode()
    assert REFUSED in content and HEADER in content
    assert "Solicitud no válida" in content


def test_a_nul_in_an_api_parameter_is_a_json_400(public_client):
    response = public_client.get("/api/grids/location/?region=%00")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f"El parámetro «region» contiene {UNSTORABLE_CHARACTER}."}


def test_the_same_requests_without_the_nul_still_work(public_client):
    comuna = make_comuna()
    vnr = make_vnr()
    place = f"region={comuna.region.code}&comuna={comuna.code}"

    assert public_client.get(f"/red/buscar/?{place}").status_code == 200
    assert vnr.code in public_client.get(f"/red/vnr/?codigo={vnr.code}").content.decode()
    api = public_client.get(f"/api/grids/location/?{place}")
    assert api.status_code == 200, api.content


def test_a_nul_in_a_parameter_name_or_the_path_is_refused(public_client):
    assert public_client.get("/red/buscar/?%00=1").status_code == 400
    assert public_client.get("/red/opciones/%00/").status_code == 400
    assert public_client.get("/red/buscar/%00").status_code == 400


# Forms -------------------------------------------------------------------------------------


def test_a_nul_in_the_login_form_is_a_400_not_a_500(client, public_user):
    response = client.post(
        "/cuentas/ingresar/", {"username": "desarrollador\x00pmgd", "password": "x"}
    )

    assert response.status_code == 400
    assert "El campo «username»" in response.content.decode()


def test_a_nul_in_the_registration_form_is_a_400_not_a_500(client):
    response = client.post(
        "/cuentas/registro/",
        {"username": "nuevo", "email": "n@example.cl", "rut": "12345678-5\x00", "password1": "x"},
    )

    assert response.status_code == 400
    assert "El campo «rut»" in response.content.decode()


def test_a_nul_in_a_multipart_form_is_refused_too(client):
    # Django's test client posts multipart by default.
    response = client.post("/cuentas/ingresar/", {"username": "a", "password": "b\x00"})

    assert response.status_code == 400


def test_an_ordinary_login_form_still_works(client, public_user):
    response = client.post(
        "/cuentas/ingresar/", {"username": "desarrollador_pmgd", "password": "clave-segura-123"}
    )

    assert response.status_code == 302


# Bodies ------------------------------------------------------------------------------------


def test_a_json_escape_of_a_nul_in_an_api_body_is_a_json_400(client, public_user):
    client.force_login(public_user)
    body = json.dumps({"header": {"messageId": "A\x00"}})  # written as the escape \u0000

    response = client.post("/api/rd/mensajes/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("El cuerpo de la solicitud contiene")


def test_a_lone_surrogate_escape_is_refused_and_a_surrogate_pair_is_not(client, public_user):
    client.force_login(public_user)
    url = "/api/rd/mensajes/"

    lone = client.post(url, '{"a": "\\ud800"}', content_type="application/json")
    pair = client.post(url, '{"a": "\\ud83d\\ude00"}', content_type="application/json")

    assert lone.status_code == 400 and "cuerpo" in lone.json()["detail"]
    assert pair.status_code == 403  # through to the view, which refuses a public account


def test_a_raw_nul_in_an_xml_body_is_refused(client):
    response = client.post("/api/rd/mensajes/", b"<a>\x00</a>", content_type="application/xml")

    assert response.status_code == 400


def test_a_body_larger_than_the_upload_limit_is_left_to_the_view(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    body = json.dumps({"texto": "\x00" * 20})

    response = client.post("/api/rd/mensajes/", body, content_type="application/json")

    assert response.status_code == 401  # the view's answer (anonymous): not read here


def test_a_cookie_with_a_nul_is_ignored_rather_than_failing_every_page(client):
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"

    response = client.get("/")

    assert response.status_code == 200


def test_nul_and_lone_surrogates_are_unstorable_and_ordinary_text_is_not():
    assert unstorable("a\x00b") and unstorable("\ud800") and unstorable("\udfff")
    assert not unstorable("Viña del Mar ñandú 😀 \t\n")


# Error pages -------------------------------------------------------------------------------


def test_the_404_page_is_spanish_with_the_header(client):
    response = client.get("/no-existe/")

    assert response.status_code == 404
    content = response.content.decode()
    assert HEADER in content and "Página no encontrada" in content
    assert 'href="/"' in content


def test_the_404_page_never_says_whether_a_customer_exists(client, sec_user):
    client.force_login(sec_user)

    response = client.get("/clientes/987654321/")

    assert response.status_code == 404
    content = response.content.decode()
    assert "No existe ese cliente" not in content
    assert "La página que busca no existe o no está disponible para su cuenta." in content


def test_the_403_page_is_spanish_with_the_header_and_no_exception_text(public_client):
    response = public_client.get("/clientes/")

    assert response.status_code == 403
    content = response.content.decode()
    assert HEADER in content and "Acceso no permitido" in content
    assert "perfil SEC" not in content  # the PermissionDenied message stays in the view


def test_a_form_without_its_csrf_token_gets_the_spanish_page(public_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(public_user)

    response = browser.post("/cuentas/clave/cambiar/", {"old_password": "x"})

    assert response.status_code == 403
    content = response.content.decode()
    assert HEADER in content and "No se pudo enviar el formulario" in content
    assert "CSRF" not in content and "Forbidden" not in content


@pytest.mark.urls("tests.core.test_bad_input")
def test_the_500_page_renders_without_the_project_urls_or_a_context():
    response = Client(raise_request_exception=False).get("/falla/")

    assert response.status_code == 500
    content = response.content.decode()
    assert HEADER in content and "Error del servidor" in content
    assert "/static/css/portal.css" in content
    assert "detalle interno" not in content


def test_the_error_pages_render_without_a_request():
    for name in ("400.html", "403.html", "403_csrf.html", "404.html", "500.html"):
        assert HEADER in render_to_string(name), name


def test_djangos_own_400_uses_the_spanish_page(client):
    response = client.get("/", headers={"host": "otro.example.com"})  # DisallowedHost

    assert response.status_code == 400
    assert "Solicitud no válida" in response.content.decode()
