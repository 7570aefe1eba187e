"""Región and comuna boundaries on the map page: lines in the `boundaries` tiles (under the
network), names in the `places` layer of the `capas` overlay, each from its zoom."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

from geo.models import Comuna, Region
from maps.tiles import services
from network import layers as registry

pytestmark = pytest.mark.django_db


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def tile_over(point, z: int) -> tuple[int, int, int]:
    tx, ty = services.lonlat_to_tile(point.x, point.y, z)
    return z, int(tx), int(ty)


def boundary_tile(client, point, z: int, layer: str = "limites") -> dict:
    z, x, y = tile_over(point, z)
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert response.status_code in (200, 204)
    return decode(response.content) if response.status_code == 200 else {}


def demo_comuna() -> Comuna:
    return Comuna.objects.with_boundary().filter(boundary__isnull=False).order_by("code").first()


def test_region_lines_show_from_afar_and_comuna_lines_from_their_zoom(public_client, demo_network):
    comuna = demo_comuna()
    inside = comuna.boundary.point_on_surface
    low = boundary_tile(public_client, inside, registry.COMUNA_LINE_ZOOM - 1)
    high = boundary_tile(public_client, inside, registry.COMUNA_LINE_ZOOM + 2)

    low_levels = {f["properties"]["level"] for f in low["boundaries"]["features"]}
    high_features = high["boundaries"]["features"]
    assert low_levels == {"region"}
    assert {f["properties"]["level"] for f in high_features} == {"region", "comuna"}
    assert comuna.code in {f["properties"]["code"] for f in high_features}
    for feature in high_features:
        assert feature["geometry"]["type"] in ("LineString", "MultiLineString")


def test_boundaries_are_simplified_to_the_zoom(demo_network):
    """The tile's SQL simplifies to half a pixel: coarser at low zoom."""
    sql_low, _ = services.tile_sql("boundaries", 5, 0, 0)
    sql_high, _ = services.tile_sql("boundaries", 14, 0, 0)
    assert f"{services._half_pixel(5)!r}" in sql_low
    assert f"{services._half_pixel(14)!r}" in sql_high
    assert "ST_ClipByBox2D" in sql_low and "geo_comuna" not in sql_low
    assert "geo_comuna" in sql_high


def test_names_show_regions_from_afar_and_comunas_close_up(public_client, demo_network):
    comuna = demo_comuna()
    region = Region.objects.with_boundary().get(pk=comuna.region_id)
    inside = comuna.boundary.point_on_surface
    far = boundary_tile(public_client, inside, 7, layer="capas")
    near = boundary_tile(public_client, inside, registry.COMUNA_LABEL_ZOOM + 1, layer="capas")

    assert region.name in {f["properties"]["name"] for f in far["places"]["features"]}
    assert {f["properties"]["level"] for f in far["places"]["features"]} == {"region"}
    names = {f["properties"]["name"]: f for f in near["places"]["features"]}
    assert comuna.name in names
    assert names[comuna.name]["geometry"]["type"] == "Point"
    assert {f["properties"]["level"] for f in names.values()} == {"comuna"}


def test_the_boundaries_are_not_in_the_network_tile(public_client, demo_network):
    inside = demo_comuna().boundary.point_on_surface
    network = boundary_tile(public_client, inside, 9, layer="red")
    assert "boundaries" not in network and "places" not in network


def test_anonymous_gets_no_boundary_tile(client, demo_network):
    z, x, y = tile_over(demo_comuna().boundary.point_on_surface, 8)
    assert client.get(f"/tiles/limites/{z}/{x}/{y}.mvt").status_code == 401


def test_the_legend_names_both_boundaries(public_client, demo_network):
    page = public_client.get("/red/mapa/").content.decode()
    assert "Límite regional" in page and "Límite comunal" in page
    assert f"zoom {registry.COMUNA_LINE_ZOOM} o más" in page
