from __future__ import annotations

import csv
import io
import re
import shutil

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AccessLog
from demand.models import MonthlyDemand
from geo.lib.utm import point_to_utm
from network.models import (
    Customer,
    Equipment,
    Feeder,
    Pole,
    Span,
    Substation,
    Transformer,
)

pytestmark = pytest.mark.django_db

LISTS = [
    "regions",
    "comunas",
    "substations",
    "feeders",
    "spans",
    "poles",
    "equipment",
    "transformers",
    "demands",
    "vnr-codes",
]
GEOJSON_LISTS = [name for name in LISTS if name not in ("demands", "vnr-codes")]
BASENAMES = {
    "regions": "region",
    "comunas": "comuna",
    "substations": "substation",
    "feeders": "feeder",
    "spans": "span",
    "poles": "pole",
    "equipment": "equipment",
    "transformers": "transformer",
    "demands": "demand",
    "vnr-codes": "vnr-code",
    "customers": "customer",
}


def list_url(name: str) -> str:
    return reverse(f"api:{BASENAMES[name]}-list")


def detail_url(name: str, pk: int) -> str:
    return reverse(f"api:{BASENAMES[name]}-detail", args=[pk])


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return response.json()


def every_feature(client, url: str, params: dict | None = None) -> list[dict]:
    """Walks the `next` links to the end."""
    features, page = [], ok(client.get(url, params or {}))
    features += page["features"]
    while page["next"]:
        page = ok(client.get(page["next"]))
        features += page["features"]
    return features


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def feeder(demo_network) -> Feeder:
    return (
        Feeder.objects.filter(kind="alimentador", equipment__kind="regulador")
        .select_related("substation__comuna__region")
        .distinct()
        .first()
    )


@pytest.fixture
def sec_client(client, django_user_model):
    user = django_user_model.objects.create_user(
        "auditora_sec", "sec@example.cl", "clave-segura-123", profile="sec"
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


def test_anonymous_visitors_get_403_on_every_endpoint(client, feeder):
    pole = Pole.objects.filter(feeder=feeder).first()
    urls = [list_url(name) for name in [*LISTS, "customers"]]
    urls += [
        detail_url("poles", pole.pk),
        detail_url("feeders", feeder.pk),
        reverse("api:grid-location") + "?region=05&comuna=05101",
        reverse("api:grid-feeder-assets", args=[feeder.pk]) + "?tipo=poste",
        reverse("api:schema"),
    ]
    for url in urls:
        assert client.get(url).status_code in (401, 403), url
    assert client.post(reverse("api:token")).status_code in (401, 403)
    docs = client.get(reverse("api:docs"))
    assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
    assert not AccessLog.objects.exists()


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
    capped = ok(public_client.get(list_url("poles"), {"page_size": 100000}))
    assert len(capped["features"]) == 1000


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


def test_openapi_schema_validates_without_warnings(tmp_path, public_client):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/poles/", "/api/spans/", "/api/grids/location/", "/api/customers/"):
        assert f"{path}:" in text
    schema = public_client.get(reverse("api:schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")


def test_the_docs_page_loads_everything_from_our_own_static_files(public_client):
    response = public_client.get(reverse("api:docs"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui-bundle.js" in page and reverse("api:schema") in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "jsdelivr" not in page and "unpkg" not in page
    assert '"validatorUrl": null' in page
    for asset in re.findall(r"""(?:src|href)="/static/([^"]+)""", page):
        assert finders.find(asset), asset


def test_token_authentication_reads_the_api_and_is_logged(public_client, public_user, feeder):
    key = ok(public_client.post(reverse("api:token")))["token"]
    assert ok(public_client.post(reverse("api:token")))["token"] == key  # stable
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = ok(api.get(list_url("poles"), {"feeder": feeder.pk}))
    assert body["features"]
    assert AccessLog.objects.filter(user=public_user, path__startswith="/api/poles/").count() == 1
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get(list_url("poles")).status_code in (401, 403)
    assert public_client.delete(reverse("api:token")).status_code == 204
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(list_url("poles")).status_code in (401, 403)


def test_each_api_read_writes_one_access_log_row(public_client, public_user, feeder):
    pole = Pole.objects.filter(feeder=feeder).first()
    public_client.get(list_url("poles"), {"feeder": feeder.pk})
    public_client.get(detail_url("poles", pole.pk))
    public_client.get(detail_url("feeders", feeder.pk))
    public_client.get(list_url("poles"), {"region": "99"})  # refused: nothing was seen
    rows = list(
        AccessLog.objects.filter(user=public_user)
        .order_by("at", "pk")
        .values_list("kind", "reference", "path")
    )
    assert rows == [
        ("busqueda", f"API pole: feeder={feeder.pk}", f"/api/poles/?feeder={feeder.pk}"),
        ("poste", pole.plate, f"/api/poles/{pole.pk}/"),
        ("alimentador", feeder.code, f"/api/feeders/{feeder.pk}/"),
    ]


def test_customers_are_hidden_from_the_public_and_from_planners(
    public_client, feeder, demo_network
):
    customer = Customer.objects.first()
    for url in (list_url("customers"), detail_url("customers", customer.pk)):
        response = public_client.get(url)
        assert response.status_code == 403
        assert "SEC" in response.json()["detail"]
        assert customer.rut not in response.content.decode()


def test_planners_do_not_get_customers_personal_data_either(planner_client, demo_network):
    assert planner_client.get(list_url("customers")).status_code == 403


def test_sec_auditors_see_customers_with_their_personal_data(sec_client, demo_network):
    customer = Customer.objects.select_related("transformer").first()
    body = ok(sec_client.get(list_url("customers"), {"number": customer.number}))
    (feature,) = body["features"]
    props = feature["properties"]
    assert props["rut"] == customer.rut and props["name"] == customer.name
    assert props["transformer_code"] == customer.transformer.code
    by_rut = ok(sec_client.get(list_url("customers"), {"rut": customer.rut.replace("-", "")}))
    assert customer.pk in {f["id"] for f in by_rut["features"]}
    assert AccessLog.objects.filter(user=sec_client.user, kind="cliente").count() == 2
    assert sec_client.get(list_url("customers"), {"rut": "12.345.678-9"}).status_code == 400


def test_public_endpoints_never_leak_customer_data(public_client, feeder):
    customer = Customer.objects.filter(transformer__feeder=feeder).first()
    found = ok(public_client.get(list_url("transformers"), {"customer": customer.number}))
    (feature,) = found["features"]
    assert feature["id"] == customer.transformer_id
    for name in ("transformers", "poles", "substations", "feeders"):
        text = public_client.get(list_url(name), {"page_size": 1000}).content.decode()
        assert customer.rut not in text and customer.name not in text
        assert customer.email not in text or not customer.email
    fields = set(feature["properties"])
    assert not fields & {"rut", "name_customer", "email", "phone", "address", "customers"}


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
    # session + user + región, comuna, subestación (form) + feeders + their transformers + log
    params = {**_location_params(feeder, "subestacion"), "format": "csv"}
    with django_assert_num_queries(8):
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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_renders_the_api_in_headless_chromium_offline(
    live_server, client, django_user_model
):
    sync_api = pytest.importorskip("playwright.sync_api")
    user = django_user_model.objects.create_user(
        "lectora_api", "api@example.cl", "clave-segura-123", profile="public"
    )
    client.force_login(user)
    session = client.cookies["sessionid"].value
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        page = context.new_page()
        outside: list[str] = []

        def only_local(route):
            if route.request.url.startswith(live_server.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(live_server.url + reverse("api:docs"))
        page.wait_for_selector(".opblock-summary-path >> text=/api/poles/")
        assert page.locator(".opblock").count() > 20
        browser.close()
    assert outside == []
