"""The search grids as downloads: CSV for Chilean Excel and GeoJSON, the rows of the pages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from network.models import Feeder, Substation
from tests.network.api_helpers import csv_rows, ok

pytestmark = pytest.mark.django_db


def _page_rows(response, key: str = "page") -> list:
    assert response.status_code == 200
    return list(response.context[key].paginator.object_list)


def _location_params(feeder: Feeder, level: str) -> dict:
    substation = feeder.substation
    params = {"region": substation.comuna.region.code, "comuna": substation.comuna.code}
    if level in ("subestacion", "alimentador"):
        params["subestacion"] = substation.pk
    if level == "alimentador":
        params["alimentador"] = feeder.pk
    return params


@pytest.mark.parametrize("level", ["comuna", "subestacion", "alimentador"])
def test_each_search_grid_downloads_as_csv_and_geojson_with_the_page_rows(
    public_client, feeder, level
):
    params = _location_params(feeder, level)
    page = public_client.get(reverse("network:search"), params)
    assert page.context["level"] == level
    expected = [row.code for row in _page_rows(page)]
    assert expected
    url = reverse("api:grid-location")
    rows = csv_rows(public_client.get(url, {**params, "format": "csv"}))
    assert [r[0] for r in rows[1:]] == expected
    body = ok(public_client.get(url, {**params, "format": "geojson"}))
    assert [f["properties"]["code"] for f in body["features"]] == expected
    assert all(f["geometry"] for f in body["features"])


def test_a_transformer_chosen_in_the_cascade_downloads_as_a_one_row_grid(public_client, feeder):
    transformer = feeder.transformers.order_by("code").last()
    params = {**_location_params(feeder, "alimentador"), "transformador": transformer.pk}
    body = ok(public_client.get(reverse("api:grid-location"), params))
    assert [f["id"] for f in body["features"]] == [transformer.pk]


def test_the_comuna_grid_csv_is_for_chilean_excel(public_client, feeder):
    params = {**_location_params(feeder, "comuna"), "format": "csv"}
    response = public_client.get(reverse("api:grid-location"), params)
    assert response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    assert disposition == (
        f'attachment; filename="subestaciones-comuna-{feeder.substation.comuna.code}.csv"'
    )
    header, first = csv_rows(response)[:2]
    assert header[:2] == ["Id subestación", "Nombre subestación"]
    assert "Fecha de actualización" in header
    voltage = first[header.index("Tensión AT (kV)")]
    assert "," in voltage and "." not in voltage  # decimal comma
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", first[header.index("Fecha de actualización")])
    assert first[header.index("Detalle")].endswith(
        reverse("network:substation", args=[feeder.substation.pk])
    )


def test_the_feeder_grid_lists_each_feeder_with_all_its_transformers(public_client, feeder):
    params = {**_location_params(feeder, "subestacion"), "format": "csv"}
    rows = csv_rows(public_client.get(reverse("api:grid-location"), params))
    header = rows[0]
    row = next(r for r in rows[1:] if r[0] == feeder.code)
    codes = feeder.transformers.order_by("code").values_list("code", flat=True)
    assert row[header.index("Transformadores")] == ", ".join(codes)


@pytest.mark.parametrize(
    "kind, term", [("poste", ""), ("vano", ""), ("equipo", ""), ("poste", "P")]
)
def test_each_feeder_asset_grid_downloads_with_the_page_rows(public_client, feeder, kind, term):
    params = {"tipo": kind, "id": term}
    page = public_client.get(reverse("network:feeder", args=[feeder.pk]), params)
    key = "plate" if kind == "poste" else "code"
    expected = [getattr(row, key) for row in _page_rows(page, "asset_page")]
    assert expected
    url = reverse("api:grid-feeder-assets", args=[feeder.pk])
    response = public_client.get(url, {**params, "format": "csv"})
    assert response["Content-Disposition"].endswith(
        f'{feeder.code}{"-" + term if term else ""}.csv"'
    )
    assert [r[0] for r in csv_rows(response)[1:]] == expected
    body = ok(public_client.get(url, {**params, "format": "geojson"}))
    assert [f["properties"][key] for f in body["features"]] == expected
    if kind == "equipo":
        assert all(len(f["properties"]["history"]) <= 12 for f in body["features"])
        assert any(f["properties"]["history"] for f in body["features"])


def test_grid_downloads_pin_their_query_count(public_client, feeder, django_assert_num_queries):
    # session + user + the form's lists (one statement) + feeders + their transformers + log
    params = {**_location_params(feeder, "subestacion"), "format": "csv"}
    with django_assert_num_queries(6):
        csv_rows(public_client.get(reverse("api:grid-location"), params))
    # session + user + feeder + poles + log
    url = reverse("api:grid-feeder-assets", args=[feeder.pk])
    with django_assert_num_queries(5):
        csv_rows(public_client.get(url, {"tipo": "poste", "format": "csv"}))


def test_grid_downloads_refuse_what_the_pages_refuse(public_client, feeder):
    url = reverse("api:grid-location")
    missing = public_client.get(url, {"format": "csv"})
    assert missing.status_code == 400
    assert missing.json()["region"] == ["Seleccione una región."]
    other = Substation.objects.exclude(comuna=feeder.substation.comuna).first()
    wrong = public_client.get(
        url, {**_location_params(feeder, "comuna"), "subestacion": other.pk, "format": "csv"}
    )
    assert wrong.status_code == 400 and "subestacion" in wrong.json()
    assets = reverse("api:grid-feeder-assets", args=[feeder.pk])
    odd = public_client.get(assets, {"tipo": "poste", "id": "<script>"})
    assert odd.status_code == 400 and "id" in odd.json()
    assert public_client.get(assets, {"tipo": "cable"}).status_code == 400
    missing_feeder = reverse("api:grid-feeder-assets", args=[999999])
    assert public_client.get(missing_feeder, {"tipo": "poste"}).status_code == 404
