from __future__ import annotations

import csv
import json
import unicodedata

import pytest
from django.contrib.gis.geos import Point

from geo.lib.utm import REGION_ZONES, natural_zone, point_to_utm, presentation_zone, to_utm
from geo.models import Comuna, Region
from network.models import Distributor, Substation


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    words = [w for w in text.replace("-", " ").split() if w not in {"REGION", "DE", "DEL", "LA"}]
    return " ".join(words)


def test_rapa_nui_is_presented_in_zone_12_south():
    utm = to_utm(-109.4333, -27.1500, presentation_zone(-109.4333, region_zone=19))
    assert utm.zone_label == "12S"
    assert 600_000 < utm.x < 700_000


def test_continental_point_follows_its_region_zone_even_west_of_72():
    assert natural_zone(-73.05) == 18
    assert presentation_zone(-73.05, region_zone=19) == 19
    assert presentation_zone(-73.05, region_zone=18) == 18
    assert point_to_utm(Point(-73.05, -36.82, srid=4326), 18).zone_label == "18S"


def test_utm_label_names_coordinates_datum_and_zone():
    text = str(point_to_utm(Point(-70.65, -33.45, srid=4326), 19))
    assert "WGS84" in text and "19S" in text


@pytest.mark.django_db
def test_substations_reproduce_the_official_utm_of_all_144_real_substations(shared_data):
    features = json.loads(
        (shared_data / "substations" / "cserpell_dec_subestaciones_sic_144.geojson").read_text()
    )["features"]
    boundaries = shared_data / "boundaries"
    with open(boundaries / "clregions_regions.csv", encoding="utf-8") as f:
        region_codes = {normalize(r["name"]): r["id"] for r in csv.DictReader(f)}
    with open(boundaries / "clregions_communes.csv", encoding="utf-8") as f:
        comuna_codes = {(r["id"][:2], normalize(r["name"])): r["id"] for r in csv.DictReader(f)}

    distributor = Distributor.objects.create(code="SIC", name="Sistema Interconectado Central")
    checked = []
    for i, feature in enumerate(features):
        props = feature["properties"]
        region_code = region_codes[normalize(props["region"])]
        region, _ = Region.objects.get_or_create(
            code=region_code,
            defaults={"name": props["region"], "utm_zone": REGION_ZONES[region_code]},
        )
        comuna_code = comuna_codes[(region_code, normalize(props["comuna"]))]
        comuna, _ = Comuna.objects.get_or_create(
            code=comuna_code, defaults={"name": props["comuna"], "region": region}
        )
        lon, lat = feature["geometry"]["coordinates"][:2]
        substation = Substation.objects.create(
            distributor=distributor,
            code=f"SE{i:03d}",
            name=f"{props['nombre']} #{i}",
            comuna=comuna,
            location=Point(lon, lat, srid=4326),
            high_voltage_kv=float(props["tension_kv"]),
        )
        utm = Substation.objects.select_related("comuna__region").get(pk=substation.pk).utm
        official = (float(props["coord_este"]), float(props["coord_nort"]))
        assert utm.zone_label == props["huso"], props["nombre"]
        assert utm.datum == props["datum"].replace(" ", "").replace("-", "")
        assert abs(utm.x - official[0]) <= 1.0, (props["nombre"], utm.x, official[0])
        assert abs(utm.y - official[1]) <= 1.0, (props["nombre"], utm.y, official[1])
        checked.append(props["nombre"])
    assert len(checked) == 144
