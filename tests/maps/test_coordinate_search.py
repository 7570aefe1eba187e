"""The map's search box with coordinates: the point, the poles nearest it (KNN on the GiST index)
with distance, feeder and capacity, and the messages for points it cannot use. Also the
"fecha de actualización" that every asset's popup carries."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccessLog
from capacity.models import FeederCapacity, PoleCapacity
from geo.lib.utm import to_utm
from maps import services
from maps.tiles import services as tiles
from network.models import Equipment, Pole, Span, Substation, Transformer
from tests.maps.test_map_page import config_of

pytestmark = pytest.mark.django_db


def search(client, q: str):
    return client.get(reverse("maps:search"), {"q": q})


def pole_with_capacity(offset: int = 40) -> Pole:
    return PoleCapacity.objects.select_related("pole__feeder").order_by("pole_id")[offset].pole


def test_a_decimal_coordinate_answers_the_point_and_its_nearest_poles(public_client, demo_network):
    pole = pole_with_capacity()
    lat, lon = pole.location.y + 0.00001, pole.location.x
    response = search(public_client, f"{lat:.6f}, {lon:.6f}")

    assert response.status_code == 200
    result = response.json()
    assert result["kind"] == "punto" and result["layer"] == "poles" and result["id"] is None
    assert result["lat"] == pytest.approx(lat) and result["lon"] == pytest.approx(lon)
    west, south, east, north = result["bbox"]
    assert west <= lon <= east and south <= lat <= north
    near = result["nearest"]
    assert len(near) == services.NEAREST_POLES
    assert near[0]["id"] == pole.pk and near[0]["distance_m"] == pytest.approx(1.1, abs=0.2)
    distances = [p["distance_m"] for p in near]
    assert distances == sorted(distances)
    assert max(distances) <= services.NEAREST_RADIUS_M
    assert "10 postes más cercanos a menos de 5 km" in result["message"]


def test_the_nearest_poles_are_really_the_nearest_in_metres(public_client, demo_network):
    pole = pole_with_capacity(400)
    result = search(public_client, f"{pole.location.y:.6f} {pole.location.x:.6f}").json()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM network_pole ORDER BY ST_Distance(location::geography,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography), id LIMIT 10",
            [result["lon"], result["lat"]],
        )
        expected = [row[0] for row in cur.fetchall()]
    assert [p["id"] for p in result["nearest"]] == expected


def test_each_near_pole_says_its_feeder_and_capacity(public_client, demo_network):
    pole = pole_with_capacity()
    row = PoleCapacity.objects.select_related("run").get(pole=pole)
    first = search(public_client, f"{pole.location.y:.7f} {pole.location.x:.7f}").json()["nearest"][
        0
    ]

    assert first["plate"] == pole.plate
    assert first["feeder"] == {"id": pole.feeder_id, "code": pole.feeder.code}
    assert first["as_of"] == pole.as_of.strftime("%d/%m/%Y")
    assert first["url"].startswith(reverse("network:feeder", args=[pole.feeder_id]))
    capacity = first["capacity"]
    assert capacity["remaining_mw"] == pytest.approx(row.remaining_mw, abs=1e-3)
    assert capacity["hosting_mw"] == pytest.approx(row.hosting_mw, abs=1e-3)
    assert capacity["criterion"] == row.criterion
    assert capacity["criterion_label"] == row.get_criterion_display()
    assert capacity["run"].startswith(f"Cálculo {row.run_id} del ")
    assert capacity["stale"] is False
    assert first["no_data"] is None


def test_poles_of_a_feeder_without_data_say_sin_datos_suficientes(public_client, demo_network):
    pole = pole_with_capacity()
    FeederCapacity.objects.filter(feeder_id=pole.feeder_id).update(
        status=FeederCapacity.Status.MISSING
    )
    first = search(public_client, f"{pole.location.y:.7f} {pole.location.x:.7f}").json()["nearest"][
        0
    ]
    assert first["id"] == pole.pk
    assert first["capacity"] is None
    assert first["no_data"] == "Sin datos suficientes"


def test_dms_and_utm_give_the_same_poles_as_decimal_degrees(public_client, demo_network):
    pole = pole_with_capacity()
    lat, lon = pole.location.y, pole.location.x
    utm = to_utm(lon, lat, zone=19)

    def dms(value: float, hemisphere: str) -> str:
        value = abs(value)
        d, rest = int(value), (abs(value) - int(value)) * 60
        m, s = int(rest), (rest - int(rest)) * 60
        return f"{d}°{m:02d}'{s:05.2f}\"{hemisphere}"

    answers = [
        search(public_client, q).json()
        for q in (
            f"{lat:.7f} {lon:.7f}",
            f"{dms(lat, 'S')} {dms(lon, 'O')}",
            f"{utm.x:.1f} {utm.y:.1f} 19S",
        )
    ]
    assert {a["point"]["form"] for a in answers} == {"decimal", "gms", "utm"}
    assert len({a["nearest"][0]["id"] for a in answers}) == 1
    assert answers[2]["point"]["utm"]["zone"] == "19S"


def test_a_point_in_chile_far_from_the_network_lists_no_pole(public_client, demo_network):
    result = search(public_client, "-53.16 -70.91").json()  # Punta Arenas
    assert result["nearest"] == []
    assert "No hay postes a menos de 5 km" in result["message"]


@pytest.mark.parametrize(
    "q, words",
    [
        ("48.85 2.35", "fuera de Chile"),
        ("-33.05 71.68", "signo menos"),
        ("33°70'S 71°W", "menores que 60"),
        ("290000 6340000", "falta el huso"),
        ("290000 6340000 19N", "hemisferio norte"),
        ("-33.05 -71.68 -5", "dos valores"),
    ],
)
def test_a_bad_coordinate_is_400_with_a_spanish_message(public_client, demo_network, q, words):
    response = search(public_client, q)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_an_id_that_looks_like_numbers_is_still_found(public_client, demo_network):
    pole = Pole.objects.order_by("pk").first()
    assert search(public_client, pole.plate).json()["kind"] == "poste"


def test_a_coordinate_search_is_logged_and_needs_login(public_client, demo_network):
    assert search(Client(), "-33.05 -71.68").status_code == 401
    search(public_client, "-33.05 -71.68")
    entry = AccessLog.objects.get()
    assert entry.kind == AccessLog.Kind.SEARCH and "-33.05 -71.68" in entry.reference


def test_the_nearest_poles_are_one_knn_statement_on_the_gist_index(demo_network):
    pole = pole_with_capacity()
    lon, lat = pole.location.x, pole.location.y
    with connection.cursor() as cur:
        params = services.nearest_params(lon, lat, 10, 5000)
        cur.execute("EXPLAIN " + services.nearest_sql(), params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "Index Scan using network_pole_location" in plan
    assert "Seq Scan on network_pole" not in plan

    with CaptureQueriesContext(connection) as queries:
        services.nearest_poles(lon, lat)
    assert len(queries) == 1


def test_the_page_with_a_coordinate_in_its_address_lists_the_poles(public_client, demo_network):
    pole = pole_with_capacity()
    q = f"{pole.location.y:.6f} {pole.location.x:.6f}"
    page = public_client.get(reverse("maps:map"), {"q": q}).content.decode()
    assert "Postes más cercanos a" in page
    assert f"Poste {pole.plate}" in page
    assert "MW disponibles" in page and "capacidad indicativa" in page
    assert config_of(page)["selected"]["kind"] == "punto"
    bad = public_client.get(reverse("maps:map"), {"q": "48.85 2.35"}).content.decode()
    assert "fuera de Chile" in bad


def test_the_help_text_lists_the_accepted_coordinates(public_client, demo_network):
    page = public_client.get(reverse("maps:map")).content.decode()
    for example in ("-33,05 -71,68", "33°03'00\"S 71°40'48\"O", "290000 6340000 19S",
                    "E 290000 N 6340000 H19"):  # fmt: skip
        assert example.replace('"', "&quot;").replace("'", "&#x27;") in page or example in page


# --- "fecha de actualización" in every popup -------------------------------------------------


def test_every_asset_in_the_tiles_carries_its_as_of_date(public_client, demo_network):
    pole = Pole.objects.order_by("pk")[5]
    z = 15
    tx, ty = tiles.lonlat_to_tile(pole.location.x, pole.location.y, z)
    data = public_client.get(f"/tiles/red/{z}/{int(tx)}/{int(ty)}.mvt").content
    tile = mapbox_vector_tile.decode(data)
    models = {"spans": Span, "poles": Pole, "transformers": Transformer,
              "equipment": Equipment, "substations": Substation}  # fmt: skip
    for layer, model in models.items():
        if layer not in tile:
            continue
        feature = tile[layer]["features"][0]
        row = model.objects.get(pk=feature["properties"]["id"])
        assert feature["properties"]["as_of"] == row.as_of.strftime("%d/%m/%Y"), layer
    assert {"spans", "poles"} <= set(tile)


def test_a_search_result_carries_its_as_of_date(public_client, demo_network):
    span = Span.objects.order_by("pk")[3]
    result = search(public_client, span.code).json()
    assert result["as_of"] == span.as_of.strftime("%d/%m/%Y")
