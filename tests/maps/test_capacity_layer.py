"""The map page's "Capacidad disponible" layer: poles coloured by available capacity in the
`capacity` tile layer (and the `capas` overlay composite), their popup fields, the grey of
poles without data, and the cached tiles dropped when a run stores new results."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from django.contrib.gis.db.models.functions import Distance
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from capacity.models import FeederCapacity, PoleCapacity
from capacity.services.query import CLASSES, capacity_class
from capacity.signals import capacity_stored
from maps import handlers
from maps.models import TileCache
from maps.tiles import cache, services
from network import layers as registry
from network.models import Feeder, Pole
from tests.maps.test_map_page import config_of

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    tx, ty = services.lonlat_to_tile(lon, lat, z)
    return z, int(tx), int(ty)


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def capacity_features(client, pole: Pole, z: int = 16, layer: str = "capacidad") -> dict:
    z, x, y = tile_of(pole.location.x, pole.location.y, z)
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    tile = decode(response.content)
    return {f["properties"]["id"]: f for f in tile["capacity"]["features"]}


def computed_pole(offset: int = 40) -> tuple[Pole, PoleCapacity]:
    row = PoleCapacity.objects.select_related("pole", "run").order_by("pole_id")[offset]
    return row.pole, row


def test_a_pole_carries_its_capacity_class_and_every_popup_field(public_client, demo_network):
    pole, row = computed_pole()
    props = capacity_features(public_client, pole)[pole.pk]["properties"]

    assert props["class"] == capacity_class(row.remaining_mw)
    assert props["plate"] == pole.plate
    assert props["feeder_code"] == Feeder.objects.get(pk=pole.feeder_id).code
    for field, digits in [
        ("remaining_mw", 3), ("hosting_mw", 3), ("downstream_mw", 3), ("limit_value", 2),
        ("scc_mva", 1), ("ik3_max_ka", 2), ("ik3_min_ka", 2), ("ik1_min_ka", 2),
    ]:  # fmt: skip
        assert props[field] == pytest.approx(round(getattr(row, field), digits), rel=1e-6), field
    assert props["criterion"] == row.criterion
    assert (props["limit_kind"], props["limit_code"]) == (row.limit_kind, row.limit_code)
    assert props["run"] == row.run_id
    assert props["run_date"] == f"{timezone.localtime(row.run.started_at):%d/%m/%Y}"
    assert props["as_of"] == pole.as_of.strftime("%d/%m/%Y")
    assert "stale" not in props and "no_data" not in props


def test_every_demo_pole_in_a_tile_is_classed_by_the_shared_thresholds(public_client, demo_network):
    pole, _ = computed_pole(0)
    features = capacity_features(public_client, pole, z=14)
    remaining = dict(
        PoleCapacity.objects.filter(pole_id__in=features).values_list("pole_id", "remaining_mw")
    )
    assert len(features) > 20
    for pk, feature in features.items():
        assert feature["properties"]["class"] == capacity_class(remaining[pk])
        assert feature["geometry"]["type"] == "Point"


@pytest.mark.parametrize(
    "mw, code",
    [(0.0, "baja"), (0.999, "baja"), (1.0, "media"), (2.999, "media"), (3.0, "alta"),
     (25.0, "alta"), (None, registry.CAPACITY_NO_DATA)],
)  # fmt: skip
def test_the_class_sql_follows_the_capacity_apps_thresholds(mw, code):
    with connection.cursor() as cur:
        sql = services.capacity_class_sql("v.mw")
        cur.execute(f"SELECT {sql} FROM (SELECT %s::float8 AS mw) v", [mw])
        assert cur.fetchone()[0] == code
    assert capacity_class(mw) in (code, None)
    assert [c[0] for c in CLASSES] == ["baja", "media", "alta"]


def test_poles_of_a_feeder_without_enough_data_are_grey_without_values(public_client, demo_network):
    pole, _ = computed_pole()
    FeederCapacity.objects.filter(feeder_id=pole.feeder_id).update(
        status=FeederCapacity.Status.MISSING
    )
    props = capacity_features(public_client, pole)[pole.pk]["properties"]

    assert props["class"] == registry.CAPACITY_NO_DATA
    assert props["no_data"] == "sin_datos"
    assert "remaining_mw" not in props and "hosting_mw" not in props


def test_a_pole_without_a_result_is_grey_and_never_coloured_as_capacity(
    public_client, demo_network
):
    pole, row = computed_pole()
    row.delete()
    props = capacity_features(public_client, pole)[pole.pk]["properties"]
    assert props["class"] == registry.CAPACITY_NO_DATA
    assert props["no_data"] == "sin_calculo"

    FeederCapacity.objects.filter(feeder_id=pole.feeder_id).delete()
    cache.clear()
    props = capacity_features(public_client, pole)[pole.pk]["properties"]
    assert (props["class"], props["no_data"]) == (registry.CAPACITY_NO_DATA, "sin_calculo")


def test_a_stale_feeder_marks_its_poles(public_client, demo_network):
    pole, _ = computed_pole()
    FeederCapacity.objects.filter(feeder_id=pole.feeder_id).update(stale=True)
    assert capacity_features(public_client, pole)[pole.pk]["properties"]["stale"] is True


def test_capacity_is_drawn_from_z14_and_stays_out_of_the_network_tile(public_client, demo_network):
    pole, _ = computed_pole()
    for z in (12, 13):
        z, x, y = tile_of(pole.location.x, pole.location.y, z)
        assert public_client.get(f"/tiles/capacity/{z}/{x}/{y}.mvt").status_code == 204
    z, x, y = tile_of(pole.location.x, pole.location.y, 15)
    network = decode(public_client.get(f"/tiles/red/{z}/{x}/{y}.mvt").content)
    overlay = decode(public_client.get(f"/tiles/capas/{z}/{x}/{y}.mvt").content)
    assert "capacity" not in network
    assert set(overlay) == {"capacity"}  # names show up to z10 (regiones) and from z11 (comunas)
    assert pole.pk in {f["properties"]["id"] for f in overlay["capacity"]["features"]}


def test_anonymous_gets_no_capacity_tile(client, demo_network):
    pole, _ = computed_pole()
    z, x, y = tile_of(pole.location.x, pole.location.y, 16)
    assert client.get(f"/tiles/capacidad/{z}/{x}/{y}.mvt").status_code == 401
    assert client.get(f"/tiles/capas/{z}/{x}/{y}.mvt").status_code == 401


def test_the_map_page_legend_says_the_classes_and_the_grey(public_client, demo_network):
    page = public_client.get(reverse("maps:map")).content.decode()
    config = config_of(page)

    classes = config["capacity"]["classes"]
    assert [(c["code"], c["low"], c["high"]) for c in classes[:3]] == [
        (code, low, high) for code, _label, low, high in CLASSES
    ]
    assert {c["code"]: c["color"] for c in classes} == registry.CAPACITY_COLORS
    assert config["overlay"] == "/tiles/capas/{z}/{x}/{y}.mvt"
    assert config["underlay"] == "/tiles/boundaries/{z}/{x}/{y}.mvt"
    overlays = {o["name"]: o for o in config["overlays"]}
    assert overlays["capacity"]["minZoom"] == registry.CAPACITY.min_zoom
    assert overlays["places"]["partOf"] == "boundaries"
    assert config["capacity"]["criteria"]["capacidad_vano"] == "Capacidad térmica de un vano"
    assert config["capacity"]["units"]["capacidad_vano"] == "A"
    assert config["capacity"]["limits"]["transformador"] == "Transformador AT/MT"
    for text in ("Capacidad disponible", "Menos de 1 MW", "De 1 a 3 MW", "3 MW o más",
                 "Sin datos suficientes", "(gris)", "desactualizado"):  # fmt: skip
        assert text in page, text


# --- the cache follows the capacity results --------------------------------------------------


def cached(layer: str, pole: Pole, z: int) -> tuple[int, int, int]:
    z, x, y = tile_of(pole.location.x, pole.location.y, z)
    cache.get_or_render(layer, z, x, y)
    return z, x, y


def is_cached(layer: str, address: tuple[int, int, int]) -> bool:
    z, x, y = address
    return TileCache.objects.filter(layer=layer, z=z, x=x, y=y).exists()


def test_a_stored_run_drops_the_capacity_tiles_over_its_feeders_only(demo_network):
    pole, _ = computed_pole()
    other = Pole.objects.annotate(d=Distance("location", pole.location)).order_by("-d").first()
    here = {
        ("capas", 15): cached("capas", pole, 15),
        ("capacity", 16): cached("capacity", pole, 16),
        ("red", 15): cached("red", pole, 15),
        ("capas", 10): cached("capas", pole, 10),  # names only
    }
    there = cached("capas", other, 15)

    capacity_stored.send(sender=None, feeder_ids=frozenset({pole.feeder_id}), run_id=1)

    assert not is_cached("capas", here[("capas", 15)])
    assert not is_cached("capacity", here[("capacity", 16)])
    assert is_cached("red", here[("red", 15)])  # the network did not change
    assert is_cached("capas", here[("capas", 10)])  # no capacity below z14
    assert is_cached("capas", there)


def test_after_a_new_run_the_cache_serves_the_new_colour(public_client, demo_network):
    pole, row = computed_pole()
    assert capacity_features(public_client, pole, layer="capas")[pole.pk]["properties"]["class"]
    PoleCapacity.objects.filter(pk=row.pk).update(remaining_mw=0.2)
    # Without the signal the cache still holds the old colour ...
    before = capacity_features(public_client, pole, layer="capas")[pole.pk]["properties"]
    assert before["remaining_mw"] == pytest.approx(round(row.remaining_mw, 3), rel=1e-6)

    capacity_stored.send(sender=None, feeder_ids=frozenset({pole.feeder_id}), run_id=row.run_id)

    after = capacity_features(public_client, pole, layer="capas")[pole.pk]["properties"]
    assert (after["class"], after["remaining_mw"]) == ("baja", pytest.approx(0.2))


def test_the_receiver_is_connected_and_reaches_poles_of_a_feeder_without_outline(demo_network):
    receivers, _ = capacity_stored._live_receivers(None)
    assert handlers.drop_capacity_tiles in receivers
    pole, _ = computed_pole()
    box = services.poles_extent([pole.feeder_id])
    west, south, east, north = box
    assert west <= pole.location.x <= east and south <= pole.location.y <= north
    assert services.poles_extent([]) is None
