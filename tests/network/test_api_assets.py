"""The network lists and details of the API: GeoJSON, filters, pagination, query counts."""

from __future__ import annotations

import pytest

from demand.models import MonthlyDemand
from geo.lib.utm import point_to_utm
from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer
from tests.network.api_helpers import GEOJSON_LISTS, detail_url, every_feature, list_url, ok

pytestmark = pytest.mark.django_db


def test_public_user_gets_a_feature_collection_of_poles_with_real_values(public_client, feeder):
    body = ok(public_client.get(list_url("poles"), {"feeder": feeder.pk}))
    assert body["type"] == "FeatureCollection"
    first = body["features"][0]
    pole = Pole.objects.select_related("vnr").get(pk=first["id"])
    assert first["type"] == "Feature"
    assert first["geometry"]["type"] == "Point"
    assert first["geometry"]["coordinates"] == pytest.approx([pole.location.x, pole.location.y])
    props = first["properties"]
    assert props["plate"] == pole.plate
    assert props["feeder"] == feeder.pk and props["feeder_code"] == feeder.code
    assert props["vnr"] == pole.vnr.code
    assert props["mt_voltage_kv"] == float(pole.mt_voltage_kv)
    assert props["as_of"] == pole.as_of.isoformat()
    utm = point_to_utm(pole.location, feeder.substation.comuna.region.utm_zone)
    assert props["utm_x"] == pytest.approx(utm.x, abs=0.01)
    assert props["utm_y"] == pytest.approx(utm.y, abs=0.01)
    assert props["utm_zone"] == utm.zone_label and props["datum"] == "WGS84"


@pytest.mark.parametrize("name", GEOJSON_LISTS)
def test_every_network_list_is_geojson_with_the_date_of_its_data(public_client, name, demo_network):
    body = ok(public_client.get(list_url(name), {"page_size": 3}))
    assert body["type"] == "FeatureCollection"
    assert 0 < len(body["features"]) <= 3
    for feature in body["features"]:
        assert feature["type"] == "Feature" and "as_of" in feature["properties"]
        detail = ok(public_client.get(detail_url(name, feature["id"])))
        # A detail may add to the list's properties (equipment: its history), never differ.
        assert detail["properties"] | feature["properties"] == detail["properties"]


def test_a_span_carries_its_nodes_length_and_conductor(public_client, feeder):
    span = (
        Span.objects.filter(feeder=feeder, from_pole__isnull=False)
        .select_related("from_pole", "to_pole", "vnr")
        .first()
    )
    props = ok(public_client.get(detail_url("spans", span.pk)))["properties"]
    assert props["from_pole"] == span.from_pole.plate and props["to_pole"] == span.to_pole.plate
    assert props["length_m"] == float(span.length_m)
    assert props["conductor_material"] == span.conductor_material
    assert props["vnr"] == span.vnr.code and props["phases"] == span.phases


def test_an_equipment_detail_has_its_monthly_history(public_client, feeder):
    equipment = Equipment.objects.filter(feeder=feeder, settings__isnull=False).first()
    body = ok(public_client.get(detail_url("equipment", equipment.pk)))
    months = [h["month"] for h in body["properties"]["history"]]
    expected = equipment.settings.order_by("-month").values_list("month", flat=True)
    assert months == [m.isoformat() for m in expected]


def test_a_substation_lists_its_power_transformers(public_client, feeder):
    substation = feeder.substation
    props = ok(public_client.get(detail_url("substations", substation.pk)))["properties"]
    assert props["comuna"] == substation.comuna.code
    assert props["region"] == substation.comuna.region.code
    assert [t["code"] for t in props["power_transformers"]] == list(
        substation.power_transformers.order_by("code").values_list("code", flat=True)
    )


def test_the_bbox_filter_narrows_to_what_lies_inside(public_client, feeder):
    pole = Pole.objects.filter(feeder=feeder).order_by("pk")[5]
    x, y = pole.location.x, pole.location.y
    bbox = f"{x - 0.0005},{y - 0.0005},{x + 0.0005},{y + 0.0005}"
    inside = every_feature(public_client, list_url("poles"), {"in_bbox": bbox})
    ids = {f["id"] for f in inside}
    assert pole.pk in ids
    assert 0 < len(ids) < Pole.objects.count()
    for feature in inside:
        fx, fy = feature["geometry"]["coordinates"]
        assert x - 0.0005 <= fx <= x + 0.0005 and y - 0.0005 <= fy <= y + 0.0005
    spans = every_feature(public_client, list_url("spans"), {"in_bbox": bbox})
    assert 0 < len(spans) < Span.objects.count()
    assert any(s["properties"]["to_pole"] == pole.plate for s in spans)


def test_region_and_comuna_filters_keep_only_their_substations(public_client, feeder):
    comuna = feeder.substation.comuna
    region = comuna.region
    by_region = every_feature(public_client, list_url("substations"), {"region": region.code})
    expected = Substation.objects.filter(comuna__region=region)
    assert sorted(f["id"] for f in by_region) == sorted(expected.values_list("pk", flat=True))
    assert len(by_region) < Substation.objects.count()
    by_comuna = every_feature(public_client, list_url("substations"), {"comuna": comuna.code})
    assert {f["properties"]["comuna"] for f in by_comuna} == {comuna.code}
    assert feeder.substation.pk in {f["id"] for f in by_comuna}


def test_substation_and_feeder_filters_accept_an_id_or_a_code(public_client, feeder):
    substation = feeder.substation
    expected = sorted(Transformer.objects.filter(feeder__substation=substation).values_list("pk"))
    for value in (substation.pk, substation.code, substation.code.lower()):
        found = every_feature(public_client, list_url("transformers"), {"substation": value})
        assert sorted((f["id"],) for f in found) == expected
    poles = sorted(Pole.objects.filter(feeder=feeder).values_list("pk", flat=True))
    for value in (feeder.pk, feeder.code):
        found = every_feature(public_client, list_url("poles"), {"feeder": value})
        assert sorted(f["id"] for f in found) == poles


def test_region_filter_reaches_assets_through_their_feeder(public_client, feeder):
    region = feeder.substation.comuna.region
    found = every_feature(
        public_client, list_url("feeders"), {"region": region.code, "page_size": 50}
    )
    expected = Feeder.objects.filter(substation__comuna__region=region).count()
    assert len(found) == expected < Feeder.objects.count()
    assert {f["properties"]["region"] for f in found} == {region.code}
    equipment = every_feature(
        public_client, list_url("equipment"), {"comuna": feeder.substation.comuna.code}
    )
    assert (
        len(equipment)
        == Equipment.objects.filter(feeder__substation__comuna=feeder.substation.comuna).count()
    )


def test_entity_filters_kind_smmc_plate_and_code(public_client, feeder):
    monitored = every_feature(
        public_client, list_url("transformers"), {"feeder": feeder.pk, "smmc": "true"}
    )
    assert monitored and all(f["properties"]["smmc"] for f in monitored)
    assert len(monitored) == feeder.transformers.filter(smmc=True).count()
    regulators = ok(public_client.get(list_url("equipment"), {"kind": "regulador"}))["features"]
    assert regulators and {f["properties"]["kind"] for f in regulators} == {"regulador"}
    pole = Pole.objects.filter(feeder=feeder).first()
    found = ok(public_client.get(list_url("poles"), {"plate": pole.plate.lower()}))["features"]
    assert [f["id"] for f in found] == [pole.pk]
    subfeeders = every_feature(public_client, list_url("feeders"), {"kind": "subalimentador"})
    assert {f["properties"]["kind"] for f in subfeeders} == {"subalimentador"}
    assert all(f["properties"]["owner"] for f in subfeeders)


def test_cursor_pagination_walks_every_pole_once_without_a_count(public_client, feeder):
    first = ok(public_client.get(list_url("poles"), {"feeder": feeder.pk, "page_size": 50}))
    assert "count" not in first and first["next"] and first["previous"] is None
    features = every_feature(
        public_client, list_url("poles"), {"feeder": feeder.pk, "page_size": 50}
    )
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == feeder.poles.count() > 50
    assert ids == sorted(ids)


def test_small_lists_page_by_number_with_a_count(public_client, demo_network):
    body = ok(public_client.get(list_url("comunas"), {"page_size": 10}))
    assert body["count"] > 10 and len(body["features"]) == 10 and body["next"]
    second = ok(public_client.get(body["next"]))
    assert not {f["id"] for f in second["features"]} & {f["id"] for f in body["features"]}
    assert public_client.get(list_url("comunas"), {"page": 999}).status_code == 404
    most = ok(public_client.get(list_url("poles"), {"page_size": 1000}))
    assert len(most["features"]) == 1000
    for wrong in ("100000", "0", "-1", "diez", "1.5"):
        refused = public_client.get(list_url("poles"), {"page_size": wrong})
        assert refused.status_code == 400, wrong
        assert "de 1 a 1000" in refused.json()["page_size"][0]


def test_comunas_come_without_boundary_unless_asked_and_then_simplified(
    public_client, feeder, django_assert_max_num_queries
):
    region = feeder.substation.comuna.region.code
    plain = ok(public_client.get(list_url("comunas"), {"region": region}))
    assert plain["features"] and all(f["geometry"] is None for f in plain["features"])
    shaped = ok(public_client.get(list_url("comunas"), {"region": region, "boundary": "1"}))
    geometry = shaped["features"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon"
    ring = geometry["coordinates"][0][0]
    assert all(len(str(c).split(".")[-1]) <= 5 for point in ring for c in point)
    assert len(str(geometry)) < 200_000
    regions = ok(public_client.get(list_url("regions"), {"boundary": "true", "code": region}))
    assert regions["features"][0]["geometry"]["type"] == "MultiPolygon"
    bad = public_client.get(list_url("comunas"), {"boundary": "quizás"})
    assert bad.status_code == 400 and "boundary" in bad.json()


def test_monthly_demands_of_a_feeder_are_its_stored_figures(public_client, feeder):
    body = ok(public_client.get(list_url("demands"), {"feeder": feeder.code}))
    stored = {
        d.month.isoformat(): (float(d.max_kw), float(d.min_kw))
        for d in MonthlyDemand.objects.filter(feeder=feeder)
    }
    got = {r["month"]: (r["max_kw"], r["min_kw"]) for r in body["results"]}
    assert got == stored and got
    assert {r["feeder_code"] for r in body["results"]} == {feeder.code}


def test_vnr_codes_are_found_by_code_with_their_costs(public_client, demo_network):
    body = ok(public_client.get(list_url("vnr-codes"), {"code": "eq-rec"}))
    (vnr,) = body["results"]
    assert vnr["code"] == "EQ-REC" and vnr["total_sin_derechos"] > 0


@pytest.mark.parametrize(
    "name, params, count",
    [
        ("poles", {"feeder": "FEEDER"}, 5),
        ("spans", {"feeder": "FEEDER"}, 5),
        ("equipment", {"substation": "SUBSTATION"}, 5),
        ("transformers", {"region": "REGION", "smmc": "true"}, 5),
        ("spans", {"in_bbox": "-71.8,-33.2,-71.5,-32.9"}, 4),
        ("substations", {"comuna": "COMUNA"}, 7),
        ("feeders", {"substation": "SUBSTATION"}, 6),
        ("comunas", {"region": "REGION", "boundary": "1"}, 6),
        ("regions", {}, 5),
        ("demands", {"feeder": "FEEDER"}, 5),
        ("vnr-codes", {}, 5),
    ],
)
def test_list_endpoints_pin_their_query_count(
    public_client, feeder, django_assert_num_queries, name, params, count
):
    # session + user + each filter's lookup + the page (+ count, + prefetch) + access log
    values = {
        "FEEDER": feeder.pk,
        "SUBSTATION": feeder.substation.code,
        "REGION": feeder.substation.comuna.region.code,
        "COMUNA": feeder.substation.comuna.code,
    }
    params = {k: values.get(v, v) for k, v in params.items()}
    with django_assert_num_queries(count):
        ok(public_client.get(list_url(name), {**params, "page_size": 100}))


@pytest.mark.parametrize(
    "name, params, field",
    [
        ("poles", {"in_bbox": "1,2,3"}, "in_bbox"),
        ("poles", {"in_bbox": "a,b,c,d"}, "in_bbox"),
        ("poles", {"in_bbox": "nan,1,2,3"}, "in_bbox"),
        ("spans", {"in_bbox": "-70,-33,-71,-32"}, "in_bbox"),
        ("spans", {"in_bbox": "-70,-33,-69,100"}, "in_bbox"),
        ("poles", {"region": "99"}, "region"),
        ("poles", {"region": "RM"}, "region"),
        ("substations", {"comuna": "13101'; DROP TABLE x"}, "comuna"),
        ("substations", {"comuna": "99999"}, "comuna"),
        ("transformers", {"substation": "SE-NO-EXISTE"}, "substation"),
        ("transformers", {"feeder": "<script>alert(1)</script>"}, "feeder"),
        ("spans", {"feeder": "999999999"}, "feeder"),
        ("poles", {"plate": "P%00"}, "plate"),
        ("equipment", {"kind": "bomba"}, "kind"),
        ("equipment", {"category": "x"}, "category"),
        ("transformers", {"smmc": "quizás"}, "smmc"),
        ("demands", {"since": "ayer"}, "since"),
        ("feeders", {"kind": "troncal"}, "kind"),
    ],
)
def test_bad_filter_values_get_a_clear_400(public_client, demo_network, name, params, field):
    response = public_client.get(list_url(name), params)
    assert response.status_code == 400, response.content[:300]
    messages = response.json()[field]
    assert messages and all(isinstance(m, str) and m for m in messages)


def test_an_odd_cursor_or_id_is_never_a_server_error(public_client, demo_network):
    bad = public_client.get(list_url("poles"), {"cursor": "zzz"})
    assert bad.status_code == 404 and "Cursor no válido" in bad.json()["detail"]
    assert public_client.get(list_url("poles"), {"cursor": "%%%"}).status_code < 500
    assert public_client.get("/api/poles/abc/").status_code == 404
    assert public_client.get(detail_url("poles", 10**12)).status_code == 404
