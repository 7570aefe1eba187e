"""The map-first search page (/red/mapa/) and its search endpoint, without a browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from accounts.models import AccessLog
from network.models import Customer, Equipment, Feeder, Pole, Span, Substation, Transformer

pytestmark = pytest.mark.django_db

SEARCH_KEYS = {"kind", "layer", "id", "label", "lon", "lat", "bbox", "zoom", "url", "as_of"}


def search(client, **params):
    return client.get(reverse("maps:search"), params)


def config_of(page: str) -> dict:
    match = re.search(r'<script id="mapfirst-config" type="application/json">(.*?)</script>', page)
    assert match, "the page has no map configuration"
    return json.loads(match.group(1))


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, model, field",
    [
        ("subestacion", Substation, "code"),
        ("alimentador", Feeder, "code"),
        ("transformador", Transformer, "code"),
        ("transformador", Transformer, "plate"),
        ("poste", Pole, "plate"),
        ("vano", Span, "code"),
        ("equipo", Equipment, "code"),
    ],
)
def test_the_search_finds_each_kind_of_id_and_answers_where_it_is(
    public_client, demo_network, kind, model, field
):
    asset = model.objects.order_by("pk")[7]
    response = search(public_client, q=getattr(asset, field).lower())  # case does not matter

    assert response.status_code == 200
    result = response.json()
    assert set(result) == SEARCH_KEYS
    assert result["kind"] == kind
    assert result["id"] == asset.pk
    west, south, east, north = result["bbox"]
    assert west <= result["lon"] <= east and south <= result["lat"] <= north


def test_the_search_answers_a_pole_with_its_position_zoom_and_feeder_link(
    public_client, demo_network
):
    pole = Pole.objects.select_related("feeder").order_by("pk")[12]
    result = search(public_client, q=pole.plate).json()

    assert result["lon"] == pytest.approx(pole.location.x, abs=1e-6)
    assert result["lat"] == pytest.approx(pole.location.y, abs=1e-6)
    assert result["zoom"] == 18
    assert result["layer"] == "poles"
    assert result["url"] == (
        reverse("network:feeder", args=[pole.feeder_id])
        + f"?tipo=poste&id={pole.plate}#buscar-activo"
    )
    assert pole.plate in result["label"] and pole.feeder.code in result["label"]


def test_the_search_answers_a_feeder_with_the_extent_of_its_line(public_client, demo_network):
    feeder = Feeder.objects.filter(outline__isnull=False).order_by("pk")[3]
    result = search(public_client, q=feeder.code).json()

    assert result["bbox"] == pytest.approx(list(feeder.outline.extent), abs=1e-6)
    assert result["zoom"] is None
    assert result["url"] == reverse("network:feeder", args=[feeder.pk])


def test_a_customer_number_gives_its_transformer_and_nothing_of_the_customer(
    public_client, demo_network
):
    customer = Customer.objects.select_related("transformer").order_by("pk")[5]
    response = search(public_client, q=customer.number)

    assert response.status_code == 200
    result = response.json()
    assert set(result) == SEARCH_KEYS
    assert result["kind"] == "transformador"
    assert result["id"] == customer.transformer_id
    assert result["url"] == reverse("network:transformer", args=[customer.transformer_id])
    text = response.content.decode()
    for private in (customer.number, customer.name, customer.rut, customer.address):
        assert private not in text
    if customer.email:
        assert customer.email not in text
    assert result["lon"] == pytest.approx(customer.transformer.location.x, abs=1e-6)


def test_the_search_is_written_to_the_access_log(public_client, demo_network):
    pole = Pole.objects.order_by("pk").first()
    search(public_client, q=pole.plate)
    entry = AccessLog.objects.get()
    assert entry.kind == AccessLog.Kind.SEARCH
    assert pole.plate in entry.reference


def test_an_unknown_id_is_404_with_a_message(public_client, demo_network):
    response = search(public_client, q="NO-EXISTE-123")
    assert response.status_code == 404
    assert "NO-EXISTE-123" in response.json()["error"]


@pytest.mark.parametrize("term", ["", "x" * 61, "<script>", "a;b"])
def test_a_malformed_term_is_400(public_client, term):
    assert search(public_client, q=term).status_code == 400


def test_a_permalink_selection_is_described_by_kind_and_pk(public_client, demo_network):
    span = Span.objects.order_by("pk")[4]
    result = search(public_client, sel=f"vano:{span.pk}").json()
    assert (result["kind"], result["id"]) == ("vano", span.pk)
    assert AccessLog.objects.get().kind == AccessLog.Kind.SPAN
    assert search(public_client, sel="cliente:1").status_code == 400
    assert search(public_client, sel="poste:999999999").status_code == 404


def test_anonymous_gets_401_from_the_search(client, demo_network):
    pole = Pole.objects.order_by("pk").first()
    response = search(client, q=pole.plate)
    assert response.status_code == 401
    assert pole.plate not in response.content.decode()


# --- the page -------------------------------------------------------------------------------


def test_the_map_page_loads_for_a_logged_in_user_and_is_logged(public_client, demo_network):
    response = public_client.get(reverse("maps:map"))

    assert response.status_code == 200
    page = response.content.decode()
    config = config_of(page)
    assert config["tiles"] == "/tiles/red/{z}/{x}/{y}.mvt"
    assert config["search"] == reverse("maps:search")
    assert config["base"] is None  # tests run without a base layer
    assert [layer["name"] for layer in config["layers"]] == [
        "feeders", "spans", "poles", "transformers", "equipment", "substations"
    ]  # fmt: skip
    assert 'id="mapfirst-q"' in page and "Leyenda del mapa" in page
    assert AccessLog.objects.get().kind == AccessLog.Kind.MAP


def test_the_map_page_has_no_external_url(public_client, demo_network):
    page = public_client.get(reverse("maps:map")).content.decode()
    assert re.findall(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page) == []
    for script in re.findall(r'<script src="([^"]+)"', page):
        assert script.startswith("/static/")
        assert finders.find(script.removeprefix("/static/")), script
    for asset in ("vendor/leaflet.vectorgrid/LICENSE", "vendor/leaflet.vectorgrid/SOURCE.txt"):
        assert finders.find(asset)
    mapfirst = Path(finders.find("js/mapfirst.js")).read_text(encoding="utf-8")
    assert re.findall(r"https?://", mapfirst) == []


def test_the_base_layer_comes_from_the_setting(public_client, demo_network, settings):
    settings.MAP_BASE_LAYER_URL = "/teselas-base/{z}/{x}/{y}.png"
    settings.MAP_BASE_LAYER_ATTRIBUTION = "Mapa base propio"
    config = config_of(public_client.get(reverse("maps:map")).content.decode())
    assert config["base"] == {
        "url": "/teselas-base/{z}/{x}/{y}.png",
        "attribution": "Mapa base propio",
    }


def test_anonymous_users_are_sent_to_login_from_the_map_page(client):
    response = client.get(reverse("maps:map"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_a_permalink_opens_on_its_view_and_selected_asset(public_client, demo_network):
    pole = Pole.objects.order_by("pk")[3]
    page = public_client.get(
        reverse("maps:map"), {"lat": "-33.05", "lon": "-71.6", "z": "16", "sel": f"poste:{pole.pk}"}
    ).content.decode()
    config = config_of(page)
    assert config["view"] == {"lat": -33.05, "lon": -71.6, "z": 16}
    assert (config["selected"]["kind"], config["selected"]["id"]) == ("poste", pole.pk)


def test_a_bad_permalink_falls_back_to_the_whole_network(public_client, demo_network):
    config = config_of(
        public_client.get(
            reverse("maps:map"), {"lat": "nan", "lon": "x", "z": "99"}
        ).content.decode()
    )
    assert config["view"] is None
    west, south, east, north = config["extent"]
    assert west < east and south < north


def test_a_search_in_the_address_selects_the_asset_without_script(public_client, demo_network):
    transformer = Transformer.objects.order_by("pk")[2]
    response = public_client.get(reverse("maps:map"), {"q": transformer.plate})
    config = config_of(response.content.decode())
    assert config["selected"]["id"] == transformer.pk
    assert transformer.code in response.content.decode()


def test_guardar_renders_the_view_as_a_pdf_map_with_legend(public_client, demo_network):
    pole = Pole.objects.order_by("pk")[3]
    response = public_client.get(
        reverse("maps:map"),
        {
            "lat": pole.location.y,
            "lon": pole.location.x,
            "z": "16",
            "sel": f"poste:{pole.pk}",
            "formato": "pdf",
        },
    )
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"],
            input=response.content,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert "Leyenda" in text and "Postes" in text and pole.plate in text
