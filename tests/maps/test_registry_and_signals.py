"""The one layer registry (network/layers.py) and the topology signals' receivers."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from django.urls import reverse

from maps import handlers as maps_handlers
from maps.kmz import build_kmz
from maps.models import TileCache
from network import handlers as network_handlers
from network import layers
from network.models import Feeder, Span
from network.services.topology import announce_change
from network.signals import topology_changed
from tests.maps.test_map_page import config_of
from tests.maps.test_tiles import decode, features_by_id, tile_of, url

pytestmark = pytest.mark.django_db


def test_every_layer_answers_by_its_documented_spanish_name_and_its_code(
    public_client, demo_network
):
    span = Span.objects.order_by("pk").first()
    lon, lat = span.geom.coords[0]
    z, x, y = tile_of(lon, lat, 16)
    by_slug = public_client.get(url("vanos", z, x, y))
    by_code = public_client.get(url("spans", z, x, y))
    assert by_slug.status_code == by_code.status_code == 200
    assert by_slug["ETag"] == by_code["ETag"]  # one cache entry, whatever the name
    assert span.pk in features_by_id(decode(by_slug.content), "spans")
    assert TileCache.objects.filter(layer="vanos").count() == 0
    for layer in layers.LAYERS.values():
        for name in (layer.slug, layer.code):
            assert public_client.get(url(name, 12, 1217, 2466)).status_code in (200, 204), name
    assert public_client.get(url("red", 12, 1217, 2466)).status_code in (200, 204)
    assert public_client.get(url("lineas", 12, 1217, 2466)).status_code == 404


def test_the_map_page_legend_and_the_kmz_styles_take_the_registry_colours(
    public_client, demo_network
):
    config = config_of(public_client.get(reverse("maps:map")).content.decode())
    colours = {entry["name"]: entry["color"] for entry in config["layers"]}
    assert colours == {code: layer.color for code, layer in layers.LAYERS.items()}

    feeder = Feeder.objects.order_by("pk").first()
    with zipfile.ZipFile(BytesIO(build_kmz(feeder))) as kmz:
        kml = kmz.read("doc.kml").decode()
    r, g, b = layers.hex_rgb(layers.SPANS.color)
    assert f'<Style id="vano-3f"><LineStyle><color>ff{b:02x}{g:02x}{r:02x}</color>' in kml
    assert f"<name>{layers.SPANS.name}</name>" in kml


def test_network_redraws_the_outlines_before_maps_reads_them():
    receivers, _ = topology_changed._live_receivers(Feeder)
    outlines = receivers.index(network_handlers.refresh_changed_outlines)
    assert outlines < receivers.index(maps_handlers.drop_changed_tiles)
    assert maps_handlers.replan_changed_feeders in receivers


def test_a_topology_change_reaches_the_receivers_with_its_feeders_and_area(monkeypatch):
    seen = []

    def receiver(sender, feeder_ids, area, **kwargs):
        seen.append((feeder_ids, area))

    topology_changed.connect(receiver, dispatch_uid="test-receiver")
    try:
        announce_change([None], (-71.0, -33.0, -70.9, -32.9))
        announce_change([])  # nothing changed: nothing is sent
    finally:
        topology_changed.disconnect(dispatch_uid="test-receiver")
    assert seen == [(frozenset(), (-71.0, -33.0, -70.9, -32.9))]
