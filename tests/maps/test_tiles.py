"""Vector tiles (maps/tiles): content by layer and zoom, headers, server cache, bad addresses."""

from __future__ import annotations

from datetime import timedelta

import mapbox_vector_tile
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import sessions
from accounts.models import User
from maps.models import TileCache
from maps.tiles import cache, services
from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer

pytestmark = pytest.mark.django_db

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    tx, ty = services.lonlat_to_tile(lon, lat, z)
    return z, int(tx), int(ty)


def url(layer: str, z: int, x: int, y: int) -> str:
    return f"/tiles/{layer}/{z}/{x}/{y}.mvt"


def decode(data: bytes) -> dict:
    # Tile coordinates as encoded: origin top-left, y down.
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def features_by_id(tile: dict, layer: str) -> dict[int, dict]:
    return {f["properties"]["id"]: f for f in tile.get(layer, {}).get("features", [])}


def expected_position(lon: float, lat: float, z: int, x: int, y: int, extent: int):
    tx, ty = services.lonlat_to_tile(lon, lat, z)
    return (tx - x) * extent, (ty - y) * extent


def far_substation(substation: Substation) -> Substation:
    """The demo substation farthest from `substation` (the demo has two cities)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM network_substation ORDER BY location <-> "
            "(SELECT location FROM network_substation WHERE id = %s) DESC LIMIT 1",
            [substation.pk],
        )
        return Substation.objects.get(pk=cur.fetchone()[0])


# --- content ----------------------------------------------------------------------------------


def test_a_substation_tile_holds_it_with_its_code_name_and_link_pk(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    z, x, y = tile_of(substation.location.x, substation.location.y, 10)
    response = public_client.get(url("substations", z, x, y))

    assert response.status_code == 200
    assert response["Content-Type"] == MVT
    tile = decode(response.content)
    feature = features_by_id(tile, "substations")[substation.pk]
    assert feature["properties"]["code"] == substation.code
    assert feature["properties"]["name"] == substation.name
    assert feature["properties"]["kv"] == float(substation.high_voltage_kv)
    px, py = feature["geometry"]["coordinates"]
    ex, ey = expected_position(substation.location.x, substation.location.y, z, x, y, 4096)
    assert abs(px - ex) <= 1 and abs(py - ey) <= 1


def test_a_feeder_tile_holds_its_generalised_line_and_fields(public_client, demo_network):
    feeder = Feeder.objects.filter(outline__isnull=False).select_related("substation").first()
    point = feeder.outline.point_on_surface
    z, x, y = tile_of(point.x, point.y, 12)
    tile = decode(public_client.get(url("feeders", z, x, y)).content)

    feature = features_by_id(tile, "feeders")[feeder.pk]
    assert feature["geometry"]["type"] in ("LineString", "MultiLineString")
    assert feature["properties"] == {
        "id": feeder.pk,
        "code": feeder.code,
        "name": feeder.name,
        "kind": feeder.kind,
        "kv": float(feeder.nominal_voltage_kv),
        "substation": feeder.substation.name,
        "as_of": feeder.as_of.strftime("%d/%m/%Y"),
    }


def test_a_span_tile_holds_its_line_code_and_feeder(public_client, demo_network):
    span = Span.objects.select_related("feeder").order_by("pk")[10]
    middle = span.geom.interpolate_normalized(0.5)
    z, x, y = tile_of(middle.x, middle.y, 16)
    tile = decode(public_client.get(url("spans", z, x, y)).content)

    props = features_by_id(tile, "spans")[span.pk]["properties"]
    assert props["code"] == span.code
    assert props["feeder"] == span.feeder_id
    assert props["feeder_code"] == span.feeder.code
    assert props["length_m"] == pytest.approx(float(span.length_m))
    assert props["phases"] == span.phases


def test_a_pole_tile_holds_its_plate_and_feeder_where_it_stands(public_client, demo_network):
    pole = Pole.objects.select_related("feeder").order_by("pk")[20]
    z, x, y = tile_of(pole.location.x, pole.location.y, 17)
    tile = decode(public_client.get(url("poles", z, x, y)).content)

    feature = features_by_id(tile, "poles")[pole.pk]
    assert feature["properties"]["plate"] == pole.plate
    assert feature["properties"]["feeder"] == pole.feeder_id
    assert feature["properties"]["feeder_code"] == pole.feeder.code
    px, py = feature["geometry"]["coordinates"]
    ex, ey = expected_position(pole.location.x, pole.location.y, z, x, y, 4096)
    assert abs(px - ex) <= 1 and abs(py - ey) <= 1


def test_a_transformer_tile_holds_its_code_plate_and_capacity(public_client, demo_network):
    transformer = Transformer.objects.order_by("pk").first()
    z, x, y = tile_of(transformer.location.x, transformer.location.y, 15)
    tile = decode(public_client.get(url("transformers", z, x, y)).content)

    props = features_by_id(tile, "transformers")[transformer.pk]["properties"]
    assert props["code"] == transformer.code
    assert props["plate"] == transformer.plate
    assert props["kva"] == float(transformer.capacity_kva)
    assert props["feeder"] == transformer.feeder_id


def test_an_equipment_tile_holds_its_kind_and_category(public_client, demo_network):
    kinds = Equipment.objects.order_by("kind", "pk").distinct("kind")
    assert kinds.count() >= 3
    for equipment in kinds:
        z, x, y = tile_of(equipment.location.x, equipment.location.y, 15)
        tile = decode(public_client.get(url("equipment", z, x, y)).content)
        props = features_by_id(tile, "equipment")[equipment.pk]["properties"]
        assert props["code"] == equipment.code
        assert props["kind"] == equipment.kind
        assert props["category"] == equipment.category


def test_the_composite_tile_holds_every_layer_shown_at_its_zoom(public_client, demo_network):
    pole = Pole.objects.order_by("pk")[5]
    z, x, y = tile_of(pole.location.x, pole.location.y, 15)
    tile = decode(public_client.get(url("red", z, x, y)).content)

    assert {"spans", "poles"} <= set(tile)
    assert "feeders" not in tile  # from z14 the spans draw the feeders
    assert set(tile) <= {"spans", "poles", "transformers", "equipment", "substations"}
    assert pole.pk in features_by_id(tile, "poles")


@pytest.mark.parametrize("z", [10, 12, 13])
def test_poles_and_spans_are_absent_at_low_zoom(public_client, demo_network, z):
    pole = Pole.objects.order_by("pk").first()
    z, x, y = tile_of(pole.location.x, pole.location.y, z)

    tile = decode(public_client.get(url("red", z, x, y)).content)
    assert "feeders" in tile
    assert "poles" not in tile and "spans" not in tile
    for layer in ("poles", "spans"):
        assert public_client.get(url(layer, z, x, y)).status_code == 204


def test_below_z6_only_substations_are_drawn(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    z, x, y = tile_of(substation.location.x, substation.location.y, 5)
    tile = decode(public_client.get(url("red", z, x, y)).content)
    assert set(tile) == {"substations"}


def test_a_z10_tile_over_the_demo_network_is_small(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    z, x, y = tile_of(substation.location.x, substation.location.y, 10)
    response = public_client.get(url("red", z, x, y))

    assert response.status_code == 200
    assert len(response.content) < 40_000
    assert len(decode(response.content)["feeders"]["features"]) >= 3


def test_a_tile_with_nothing_in_it_is_204_with_an_etag(public_client, demo_network):
    response = public_client.get(url("red", 16, 0, 0))  # the Pacific off Alaska
    assert response.status_code == 204
    assert response.content == b""
    assert response["ETag"]


# --- headers and the server cache -----------------------------------------------------------


def test_a_tile_has_an_etag_and_cache_control_and_answers_304(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    address = tile_of(substation.location.x, substation.location.y, 12)
    first = public_client.get(url("red", *address))

    assert first["ETag"].startswith('"') and first["ETag"].endswith('"')
    assert first["Cache-Control"] == "private, max-age=300"
    again = public_client.get(url("red", *address), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    stale = public_client.get(url("red", *address), HTTP_IF_NONE_MATCH='"otra"')
    assert stale.status_code == 200
    assert stale.content == first.content


def test_a_cached_tile_is_served_without_rendering_it(
    public_client, demo_network, django_assert_num_queries
):
    substation = Substation.objects.order_by("pk").first()
    address = tile_of(substation.location.x, substation.location.y, 13)
    first = public_client.get(url("red", *address))
    assert TileCache.objects.filter(layer="red", z=13).count() == 1

    # one statement: the session row, the user's row and the cached tile
    with django_assert_num_queries(1) as captured:
        second = public_client.get(url("red", *address))
    assert second.content == first.content
    assert TileCache.objects.filter(layer="red", z=13).count() == 1
    statement = captured.captured_queries[0]["sql"]
    assert all(t in statement for t in ("geo_tilecache", "accounts_user", "django_session"))


def test_tile_statements_are_prepared_and_django_queries_are_not(demo_network):
    substation = Substation.objects.order_by("pk").first()
    lon, lat = substation.location.x, substation.location.y
    for z in (12, 13):
        cache.fetch("red", *tile_of(lon, lat, z))
    list(Substation.objects.filter(pk=substation.pk))
    with connection.cursor() as cur:
        cur.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cur.fetchall()]
        cur.execute("SHOW plan_cache_mode")
        assert cur.fetchone()[0] == "force_generic_plan"
    assert len(prepared) == 2  # one per zoom: the same text serves every tile of a zoom
    assert all("geo_tilecache" in statement for statement in prepared)
    cache.fetch("red", *tile_of(lon + 0.2, lat, 13))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone()[0] == 2


def test_a_cache_hit_does_not_render_the_tile(demo_network):
    """The statement holds the tile SQL for a miss; on a hit PostgreSQL must not run it."""
    substation = Substation.objects.order_by("pk").first()
    z, x, y = tile_of(substation.location.x, substation.location.y, 13)
    cache.fetch("red", z, x, y)
    select, params = services.tile_sql("red", z, x, y)
    sql = cache.FETCH.format(account="", gate="", select=select, result=cache.TILE)

    def scans(node: dict):
        if node.get("Relation Name"):
            yield node["Relation Name"], node.get("Actual Loops", 0)
        for child in node.get("Plans", []):
            yield from scans(child)

    def loops() -> dict[str, int]:
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, {**params, "layer": "red"})
            plan = cur.fetchone()[0]
        return dict(scans(plan[0]["Plan"]))

    hit = loops()
    assert hit["geo_tilecache"] >= 1
    assert hit["network_substation"] == 0 and hit["network_feeder"] == 0
    cache.clear()
    miss = loops()
    assert miss["network_substation"] >= 1 and miss["network_feeder"] >= 1


def test_a_tile_is_rendered_and_stored_in_one_statement_on_a_miss(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    address = tile_of(substation.location.x, substation.location.y, 11)
    with CaptureQueriesContext(connection) as captured:
        public_client.get(url("red", *address))
    tile_queries = [q["sql"] for q in captured.captured_queries if "geo_tilecache" in q["sql"]]
    assert len(tile_queries) == 1  # look-up, render and store
    assert "ST_AsMVT" in tile_queries[0] and "INSERT INTO geo_tilecache" in tile_queries[0]
    assert TileCache.objects.filter(layer="red", z=address[0]).count() == 1


def test_tiles_deeper_than_the_cache_zoom_are_not_stored(public_client, demo_network):
    pole = Pole.objects.order_by("pk").first()
    z, x, y = tile_of(pole.location.x, pole.location.y, cache.CACHE_MAX_ZOOM + 1)
    response = public_client.get(url("red", z, x, y))
    assert response.status_code == 200
    assert not TileCache.objects.filter(z=z).exists()


def cache_tiles_around(lon: float, lat: float, zooms) -> list[tuple[int, int, int]]:
    addresses = [tile_of(lon, lat, z) for z in zooms]
    for address in addresses:
        cache.get_or_render("red", *address)
    return addresses


def test_invalidate_area_removes_tiles_over_the_area_at_every_zoom_and_keeps_others(demo_network):
    pole = Pole.objects.order_by("pk")[30]
    here = cache_tiles_around(pole.location.x, pole.location.y, range(0, 17, 2))
    far = far_substation(pole.feeder.substation)
    there = cache_tiles_around(far.location.x, far.location.y, [12, 14, 16])
    assert TileCache.objects.count() == len(set(here)) + len(set(there) - set(here))

    d = 0.0005
    removed = cache.invalidate_area(
        (pole.location.x - d, pole.location.y - d, pole.location.x + d, pole.location.y + d)
    )

    assert removed == len(set(here))
    left = set(TileCache.objects.values_list("z", "x", "y"))
    assert left == set(there) - set(here)


def test_invalidate_area_reaches_a_neighbour_tile_that_draws_the_area_in_its_buffer(
    demo_network,
):
    z, x, y = 15, 10_000, 19_000
    west, south, east, north = services.tile_bounds(z, x, y)
    cache.get_or_render("red", z, x, y)
    cache.get_or_render("red", z, x + 3, y)
    inside_buffer = east + (east - west) * services.MARGIN / 2  # in tile x + 1, near x's edge
    removed = cache.invalidate_area((inside_buffer, south, inside_buffer, north))
    assert removed == 1
    assert list(TileCache.objects.values_list("x", flat=True)) == [x + 3]


def test_after_an_edit_and_invalidate_area_the_tile_shows_the_new_data(public_client, demo_network):
    pole = Pole.objects.order_by("pk")[40]
    address = tile_of(pole.location.x, pole.location.y, 16)
    before = public_client.get(url("poles", *address))
    Pole.objects.filter(pk=pole.pk).update(material="fibra de vidrio")

    assert public_client.get(url("poles", *address))["ETag"] == before["ETag"]  # cached
    bbox = (pole.location.x, pole.location.y, pole.location.x, pole.location.y)
    assert cache.invalidate_area(bbox) >= 1
    after = public_client.get(url("poles", *address))
    assert after["ETag"] != before["ETag"]
    assert (
        features_by_id(decode(after.content), "poles")[pole.pk]["properties"]["material"]
        == "fibra de vidrio"
    )


def test_clear_empties_the_cache(demo_network):
    substation = Substation.objects.order_by("pk").first()
    cache_tiles_around(substation.location.x, substation.location.y, [8, 10])
    assert cache.clear() == 2
    assert not TileCache.objects.exists()


# --- access and bad addresses ---------------------------------------------------------------


def test_anonymous_gets_401_and_not_the_tile(client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    response = client.get(url("red", *tile_of(substation.location.x, substation.location.y, 12)))
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/plain")
    assert not TileCache.objects.exists()


def test_a_logged_out_session_gets_401(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    path = url("red", *tile_of(substation.location.x, substation.location.y, 12))
    assert public_client.get(path).status_code == 200
    assert public_client.post(reverse("logout")).status_code == 302
    assert public_client.get(path).status_code == 401


@pytest.mark.parametrize("zoom", [12, cache.CACHE_MAX_ZOOM + 1])
def test_a_password_change_elsewhere_ends_the_session_for_tiles(public_client, demo_network, zoom):
    substation = Substation.objects.order_by("pk").first()
    path = url("red", *tile_of(substation.location.x, substation.location.y, zoom))
    assert public_client.get(path).status_code in (200, 204)
    user = User.objects.get(pk=public_client.session[SESSION_KEY])
    user.set_password("otra-clave-nueva-2026")
    user.save()
    assert public_client.get(path).status_code == 401
    assert SESSION_KEY not in public_client.session  # flushed, as django.contrib.auth does


@pytest.mark.parametrize("zoom", [12, cache.CACHE_MAX_ZOOM + 1])
def test_a_deactivated_or_deleted_user_gets_401_and_nothing_is_rendered(
    public_client, demo_network, zoom
):
    substation = Substation.objects.order_by("pk").first()
    path = url("red", *tile_of(substation.location.x, substation.location.y, zoom))
    user = User.objects.get(pk=public_client.session[SESSION_KEY])
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert public_client.get(path).status_code == 401
    assert not TileCache.objects.exists()
    User.objects.filter(pk=user.pk).delete()
    assert public_client.get(path).status_code == 401


def test_a_session_whose_hash_was_renewed_in_place_keeps_its_tiles(public_client, demo_network):
    """A user who changes the password keeps the session (update_session_auth_hash): same key,
    new data. The login remembered by the process no longer matches the row; it is read again."""
    substation = Substation.objects.order_by("pk").first()
    path = url("red", *tile_of(substation.location.x, substation.location.y, 12))
    assert public_client.get(path).status_code == 200
    user = User.objects.get(pk=public_client.session[SESSION_KEY])
    user.set_password("otra-clave-nueva-2026")
    user.save()
    session = public_client.session
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    assert public_client.get(path).status_code == 200


def test_an_expired_session_gets_401_though_the_process_knows_it(public_client, demo_network):
    substation = Substation.objects.order_by("pk").first()
    path = url("red", *tile_of(substation.location.x, substation.location.y, 12))
    assert public_client.get(path).status_code == 200
    Session.objects.filter(session_key=public_client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert public_client.get(path).status_code == 401


def test_the_logins_a_process_remembers_are_bounded():
    recent = sessions._Recent(2)
    logins = [sessions.SessionLogin(f"k{i}", "data", i, "hash") for i in range(3)]
    for login in logins:
        recent.put(login)
    assert recent.get("k0") is None
    assert recent.get("k1") == logins[1] and recent.get("k2") == logins[2]
    recent.forget("k1")
    assert recent.get("k1") is None


def test_a_session_of_an_unknown_backend_gets_401(public_client, demo_network):
    session = public_client.session
    session[BACKEND_SESSION_KEY] = "some.other.Backend"
    session.save()
    assert public_client.get(url("red", 12, 1000, 2000)).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/red/23/0/0.mvt",
        "/tiles/red/2/4/0.mvt",
        "/tiles/red/2/0/4.mvt",
        "/tiles/red/-1/0/0.mvt",
        "/tiles/red/3/-1/0.mvt",
        "/tiles/red/3/0/-2.mvt",
        "/tiles/red/14/999999999999/0.mvt",
    ],
)
def test_a_tile_address_out_of_range_is_400(public_client, path):
    assert public_client.get(path).status_code == 400


def test_an_unknown_layer_is_404(public_client):
    assert public_client.get("/tiles/clientes/10/300/600.mvt").status_code == 404


def test_tiles_answer_only_get_and_head(public_client):
    assert public_client.post("/tiles/red/0/0/0.mvt").status_code == 405


# --- tile arithmetic ------------------------------------------------------------------------


def test_tile_range_matches_postgis_tile_envelopes(demo_network):
    z, x, y = 14, 4_929, 9_155
    west, south, east, north = services.tile_bounds(z, x, y)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Transform(ST_TileEnvelope(%s, %s, %s), 4326) AS e) t",
            [z, x, y],
        )
        assert cur.fetchone() == pytest.approx((west, south, east, north), abs=1e-9)
    middle = ((west + east) / 2, (south + north) / 2)
    assert services.tile_range((*middle, *middle), z) == (x, y, x, y)
    # Near the east edge, inside the buffer of the next tile, which draws it too.
    near_edge = (east - (east - west) * services.MARGIN / 2, middle[1])
    assert services.tile_range((*near_edge, *near_edge), z) == (x, y, x + 1, y)
