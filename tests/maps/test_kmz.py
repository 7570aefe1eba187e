from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLog
from maps.kmz import (
    AUTOTRANSFORMERS,
    COMPENSATION,
    CONTENT_TYPE,
    FOLDERS,
    POLES,
    PROTECTION_SWITCHING,
    REGULATORS,
    SPANS,
    TRANSFORMERS,
    build_kmz,
    is_stale,
    kmz_path,
    write_kmz,
)
from maps.tasks import regenerate_later
from network.models import Equipment, Feeder, Span

pytestmark = pytest.mark.django_db

KML = "{http://www.opengis.net/kml/2.2}"
FOLDER_OF_CATEGORY = {
    Equipment.Category.PROTECTION: PROTECTION_SWITCHING,
    Equipment.Category.SWITCHING: PROTECTION_SWITCHING,
    Equipment.Category.COMPENSATION: COMPENSATION,
    Equipment.Category.REGULATION: REGULATORS,
    Equipment.Category.AUTOTRANSFORMER: AUTOTRANSFORMERS,
}


def gdal(*args: str) -> str:
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} (gdal-bin) is needed to read the plans back")
    result = subprocess.run(args, capture_output=True, check=True, text=True)
    return result.stdout


def layer_counts(path) -> dict[str, int]:
    """Feature count of every layer, as GDAL (LIBKML) reads the .kmz itself."""
    out = gdal("ogrinfo", "-ro", "-so", "-al", str(path))
    names = re.findall(r"^Layer name: (.+)$", out, re.M)
    counts = [int(n) for n in re.findall(r"^Feature Count: (\d+)$", out, re.M)]
    assert len(names) == len(counts), out
    return dict(zip(names, counts, strict=True))


def layer_features(path, layer: str) -> list[dict]:
    out = gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", str(path), layer)
    return json.loads(out)["features"]


def db_counts(feeder: Feeder) -> dict[str, int]:
    counts = dict.fromkeys((title for title, _, _ in FOLDERS), 0)
    counts[SPANS] = feeder.spans.count()
    counts[POLES] = feeder.poles.count()
    counts[TRANSFORMERS] = feeder.transformers.count()
    for equipment in feeder.equipment.all():
        counts[FOLDER_OF_CATEGORY[equipment.category]] += 1
    return counts


@pytest.fixture
def kmz_dir(settings, tmp_path):
    settings.KMZ_DIR = tmp_path / "kmz"
    return settings.KMZ_DIR


@pytest.fixture
def feeder(demo_network) -> Feeder:
    """A feeder with every class of equipment, autotransformer included."""
    feeder = (
        Feeder.objects.filter(equipment__kind="autotransformador")
        .filter(equipment__kind="condensador")
        .filter(equipment__kind="regulador")
        .first()
    )
    assert feeder is not None, "the demo set should hold a feeder with every equipment class"
    return feeder


@pytest.fixture
def plain_feeder(demo_network) -> Feeder:
    """A feeder without regulators nor autotransformers."""
    return Feeder.objects.exclude(equipment__kind__in=["regulador", "autotransformador"]).first()


def test_gdal_reads_one_layer_per_asset_class_with_the_database_counts(kmz_dir, feeder):
    path = write_kmz(feeder)

    assert path == kmz_dir / f"{feeder.code}.kmz"
    counts = layer_counts(path)
    assert list(counts) == [title for title, _, _ in FOLDERS]
    assert counts == db_counts(feeder)
    assert all(counts.values())


def test_classes_a_feeder_lacks_still_get_an_empty_folder(kmz_dir, plain_feeder):
    counts = layer_counts(write_kmz(plain_feeder))

    assert counts == db_counts(plain_feeder)
    assert counts[REGULATORS] == counts[AUTOTRANSFORMERS] == 0


def test_span_lengths_read_back_by_gdal_match_the_database(kmz_dir, feeder):
    features = layer_features(write_kmz(feeder), SPANS)

    read = {f["properties"]["id_vano"]: f["properties"] for f in features}
    stored = {s.code: s for s in feeder.spans.select_related("from_pole", "to_pole")}
    assert read.keys() == stored.keys()
    for code, span in stored.items():
        props = read[code]
        # A typed field (Real), not text: QGIS can sum and filter it.
        assert isinstance(props["longitud_m"], float)
        assert Decimal(str(props["longitud_m"])) == span.length_m
        assert props["Name"] == f"{code} · {span.length_m:.2f} m".replace(".", ",")
        assert props["nodo_destino"] == span.to_pole.plate
        assert props["nodo_origen"] == (
            span.from_pole.plate if span.from_pole else f"S/E {feeder.substation.name}"
        )
        assert props["fases"] == span.phases
        assert props["capacidad_a"] == span.capacity_a


def test_equipment_and_transformers_carry_their_attributes(kmz_dir, feeder):
    path = write_kmz(feeder)

    regulator = feeder.equipment.select_related("vnr", "pole").get(kind="regulador")
    (props,) = [f["properties"] for f in layer_features(path, REGULATORS)]
    assert props["id_equipo"] == regulator.code
    assert props["tipo"] == "Regulador de tensión"
    assert props["poste"] == regulator.pole.plate
    assert props["consignas_tension"] == regulator.voltage_setpoints
    assert props["razon_transformacion"] == regulator.transformation_ratio
    assert props["codigo_vnr"] == regulator.vnr.code
    assert props["huso"] in {"18S", "19S"} and props["datum"] == "WGS84"
    utm = regulator.utm
    assert props["utm_x"] == pytest.approx(utm.x, abs=0.1)
    assert props["utm_y"] == pytest.approx(utm.y, abs=0.1)

    features = layer_features(path, TRANSFORMERS)
    transformers = {f["properties"]["id_transformador"]: f for f in features}
    for t in feeder.transformers.select_related("pole"):
        feature = transformers[t.code]
        assert feature["properties"]["numero_poste"] == t.pole.plate
        assert feature["properties"]["capacidad_kva"] == float(t.capacity_kva)
        assert feature["geometry"]["coordinates"] == pytest.approx(
            [t.location.x, t.location.y], abs=1e-6
        )


def test_every_style_has_its_icon_inside_the_kmz(feeder):
    kmz = zipfile.ZipFile(io.BytesIO(build_kmz(feeder)))
    names = set(kmz.namelist())
    root = ElementTree.fromstring(kmz.read("doc.kml"))

    document = root.find(f"{KML}Document")
    assert feeder.code in document.find(f"{KML}name").text
    hrefs = {e.text for e in root.iter(f"{KML}href")}
    assert hrefs and all(not h.startswith("http") for h in hrefs)
    assert hrefs <= names
    assert all(kmz.read(h).startswith(b"\x89PNG") for h in hrefs)
    styles = {e.get("id") for e in root.iter() if e.tag in (f"{KML}Style", f"{KML}StyleMap")}
    used = {e.text.lstrip("#") for e in root.iter(f"{KML}styleUrl")}
    assert used <= styles
    assert set(Equipment.Kind.values) <= styles


def test_logged_in_user_downloads_the_plan_and_the_access_is_logged(
    kmz_dir, feeder, public_client, public_user
):
    response = public_client.get(reverse("maps:feeder_kmz", args=[feeder.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert f'filename="alimentador-{feeder.code}.kmz"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body == kmz_path(feeder).read_bytes()
    assert "doc.kml" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    log = AccessLog.objects.get(user=public_user, kind="kmz")
    assert log.reference == feeder.code


def test_feeder_page_links_to_the_plan(kmz_dir, feeder, public_client):
    page = public_client.get(reverse("network:feeder", args=[feeder.pk])).content.decode()

    assert reverse("maps:feeder_kmz", args=[feeder.pk]) in page


def test_download_serves_a_fresh_plan_without_rebuilding_it(kmz_dir, feeder, public_client):
    path = kmz_path(feeder)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stored plan")

    response = public_client.get(reverse("maps:feeder_kmz", args=[feeder.pk]))

    assert b"".join(response.streaming_content) == b"stored plan"


def test_download_rebuilds_a_plan_older_than_the_feeder_data(kmz_dir, feeder, public_client):
    path = kmz_path(feeder)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old plan")
    two_days_ago = time.time() - 2 * 86400
    os.utime(path, (two_days_ago, two_days_ago))
    Span.objects.filter(pk=feeder.spans.first().pk).update(as_of=timezone.localdate())
    assert is_stale(feeder)

    response = public_client.get(reverse("maps:feeder_kmz", args=[feeder.pk]))

    assert b"".join(response.streaming_content).startswith(b"PK")
    assert not is_stale(feeder)


def test_anonymous_visitor_is_sent_to_login(kmz_dir, feeder, client):
    url = reverse("maps:feeder_kmz", args=[feeder.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not kmz_path(feeder).exists()


def test_unknown_feeder_is_not_found(kmz_dir, public_client, demo_network):
    missing = (Feeder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    response = public_client.get(reverse("maps:feeder_kmz", args=[missing]))

    assert response.status_code == 404


def test_export_kmz_all_writes_every_feeder_plan(kmz_dir, demo_network):
    out = io.StringIO()

    call_command("export_kmz", "--all", stdout=out)

    codes = set(Feeder.objects.values_list("code", flat=True))
    assert {p.stem for p in kmz_dir.glob("*.kmz")} == codes
    assert not list(kmz_dir.glob("*.tmp"))
    assert f"{len(codes)} escritos" in out.getvalue()
    assert out.getvalue().count("\n") == 1

    out = io.StringIO()
    call_command("export_kmz", "--all", "--stale-only", stdout=out)
    assert "0 escritos" in out.getvalue()


def test_export_kmz_writes_only_the_feeders_named(kmz_dir, feeder, plain_feeder):
    call_command(
        "export_kmz", "--feeder", feeder.code, "--feeder", plain_feeder.code, stdout=io.StringIO()
    )

    assert {p.stem for p in kmz_dir.glob("*.kmz")} == {feeder.code, plain_feeder.code}


def test_export_kmz_refuses_unknown_feeders_and_an_empty_selection(kmz_dir, demo_network):
    with pytest.raises(CommandError, match="NO-EXISTE"):
        call_command("export_kmz", "--feeder", "NO-EXISTE")
    with pytest.raises(CommandError, match="--all"):
        call_command("export_kmz")


def test_regenerate_later_rewrites_the_plan_once_the_transaction_commits(
    kmz_dir, feeder, django_capture_on_commit_callbacks
):
    path = kmz_path(feeder)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"before the edit")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        regenerate_later([feeder.pk, feeder.pk, None])
    assert len(callbacks) == 1
    assert path.read_bytes() == b"before the edit"

    with django_capture_on_commit_callbacks(execute=True):
        regenerate_later([feeder.pk])
    assert layer_counts(path) == db_counts(feeder)
