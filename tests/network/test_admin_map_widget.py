"""The admin's map widget on a network asset draws the stored network around it (our tiles)."""

from __future__ import annotations

import json
import re

import pytest

from geo.models import Region
from maps.tiles.services import lonlat_to_tile
from network import layers as registry
from network.models import Equipment, Pole, Span, Transformer


def widget_options(content: str) -> dict:
    block = re.search(
        r'<script type="application/json" id="[^"]+_options" data-map-widget[^>]*>(.*?)</script>',
        content,
        re.S,
    )
    assert block, "no map widget on the page"
    return json.loads(block.group(1))


def test_a_poles_map_carries_the_network_overlay_and_its_tiles_answer(client, planner, feeder):
    pole = Pole.objects.filter(feeder=feeder).first()
    client.force_login(planner)

    options = widget_options(client.get(f"/admin/network/pole/{pole.pk}/change/").content.decode())

    network = options["network"]
    assert network["tiles"] == "/tiles/red/{z}/{x}/{y}.mvt"
    assert network["maxZoom"] >= registry.POLES.min_zoom  # the poles are in the tiles it asks for
    assert network["layers"]["spans"] == {
        "kind": "line",
        "color": registry.SPANS.color,
        "radius": registry.SPANS.radius,
        "weight": registry.SPANS.weight,
    }
    assert network["layers"]["poles"]["kind"] == "point"
    # The tile the widget asks for around the pole answers the planner with the network.
    z = network["maxZoom"]
    x, y = (int(n) for n in lonlat_to_tile(pole.location.x, pole.location.y, z))
    url = network["tiles"].format(z=z, x=x, y=y)
    response = client.get(url)
    assert response.status_code == 200 and len(response.content) > 0


@pytest.mark.parametrize("name", ["span", "transformer", "equipment", "substation"])
def test_every_network_asset_map_has_the_overlay(client, planner, feeder, name):
    models = {"span": Span, "transformer": Transformer, "equipment": Equipment}
    obj = (
        models[name].objects.filter(feeder=feeder).first() if name in models else feeder.substation
    )
    client.force_login(planner)
    content = client.get(f"/admin/network/{name}/{obj.pk}/change/").content.decode()
    assert widget_options(content)["network"]["tiles"].startswith("/tiles/red/")


def test_the_geography_maps_have_no_network_overlay(admin_client, demo_network):
    region = Region.objects.first()
    content = admin_client.get(f"/admin/geo/region/{region.pk}/change/").content.decode()
    assert widget_options(content)["network"] is None
