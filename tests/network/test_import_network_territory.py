"""import_network never stores wrong data silently: layers in the wrong place, large moves,
all or nothing, exit statuses, and messages that name what went wrong."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from pyproj import Transformer

from network.models import Pole, Span, Substation
from network.services.importing import NetworkImportError, import_network
from network.services.importing.territory import CHILE_ENVELOPES, Territory, territory_of
from network.services.importing.values import where_matches
from tests.network.import_helpers import FIXTURES, TINY, counts, mapping_variant, ours, run

pytestmark = pytest.mark.django_db

BROKEN = {"N6", "L7", "L8", "T2"}  # the tiny export's rows that are refused on purpose


def geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    data: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def nodes() -> list[dict]:
    return json.loads((FIXTURES / "nodes.geojson").read_text())["features"]


def with_coordinates(features: list[dict], move) -> list[dict]:
    for feature in features:
        if feature["geometry"]:
            feature["geometry"]["coordinates"] = list(move(*feature["geometry"]["coordinates"]))
    return features


def clean_mapping(tmp_path: Path) -> Path:
    """The tiny export without the rows it refuses on purpose: every row is accepted."""
    folder = tmp_path / "limpio"
    folder.mkdir()
    for source in FIXTURES.glob("*.geojson"):
        data = json.loads(source.read_text())
        data["features"] = [
            f for f in data["features"] if not BROKEN & {str(v) for v in f["properties"].values()}
        ]
        (folder / source.name).write_text(json.dumps(data))
    shutil.copy(FIXTURES / "feeders.csv", folder)
    mapping = folder / "mapping.toml"
    mapping.write_text(TINY.read_text(encoding="utf-8"), encoding="utf-8")
    return mapping


def refused(mapping: Path, *args: str | Path) -> str:
    """Run the command, which must refuse with status 1 and leave the database as it was."""
    before = counts()
    output, error = run(mapping, *args)
    assert error is not None, output
    assert error.returncode == 1
    assert "No se modificó la base de datos" in str(error)
    assert "Traceback" not in output
    assert counts() == before
    return str(error)


# -- the territory -------------------------------------------------------------------------


def test_geographic_coordinates_in_a_layer_declared_utm_are_refused_whole(catalogue, tmp_path):
    wrong = geojson(tmp_path / "nodos_utm.geojson", nodes(), "urn:ogc:def:crs:EPSG::32719")

    message = refused(mapping_variant(tmp_path, "", ""), "--file", f"poles={wrong}")

    assert "nodos_utm.geojson, capa nodos_utm ([poles])" in message
    assert "se rechaza la capa entera" in message
    assert "CRS declarado: WGS 84 / UTM zone 19S (EPSG:32719)" in message
    assert re.search(r"las features caen en lon -\d+\.\d+ … -\d+\.\d+, lat -8\d\.", message)
    assert "parecen coordenadas geográficas (grados) declaradas como" in message


def test_latitude_and_longitude_swapped_are_refused_and_named(catalogue, tmp_path):
    swapped = with_coordinates(nodes(), lambda lon, lat: (lat, lon))
    path = geojson(tmp_path / "nodos.geojson", swapped)

    message = refused(mapping_variant(tmp_path, "", ""), "--file", f"poles={path}")

    assert "nodos.geojson, capa nodos ([poles]): cae fuera de Chile" in message
    assert "CRS declarado: WGS 84" in message
    assert "lon -33.4500 … -33.4490, lat -70.6500 … -70.6470 (WGS84; 6 de 6" in message
    assert "causa probable: latitud y longitud invertidas" in message


def test_utm_coordinates_declared_geographic_are_refused_with_their_zone(catalogue, tmp_path):
    to_utm = Transformer.from_crs(4326, 32719, always_xy=True).transform
    path = geojson(tmp_path / "nodos.geojson", with_coordinates(nodes(), to_utm))

    message = refused(mapping_variant(tmp_path, "", ""), "--file", f"poles={path}")

    assert "coordenadas fuera de ±180/±90 con un CRS geográfico" in message
    assert "parecen coordenadas UTM 19S declaradas como geográficas" in message
    assert 'declare crs = "EPSG:32719" en [poles]' in message


def test_a_large_projected_layer_declared_geographic_stops_at_its_first_features(
    catalogue, tmp_path
):
    to_utm = Transformer.from_crs(4326, 32719, always_xy=True).transform
    many = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(to_utm(-70.6 + i * 1e-5, -33.4))},
            "properties": {"node_id": f"N{i}", "kv": 12.0},
        }
        for i in range(5000)
    ]
    path = geojson(tmp_path / "muchos.geojson", many)
    before = counts()

    with pytest.raises(NetworkImportError) as caught:
        import_network(mapping_variant(tmp_path, "", ""), files={"poles": path})

    assert "(10 de 10 features leídas)" in str(caught.value)
    assert "UTM 19S" in str(caught.value)
    assert counts() == before


def test_a_layer_in_chile_but_far_from_the_distributors_comunas_is_refused(catalogue, tmp_path):
    import_network(mapping_variant(tmp_path, "", ""), partial=True)  # PRUEBA is in Santiago
    in_valparaiso = with_coordinates(nodes(), lambda lon, lat: (lon - 0.97, lat + 0.40))

    message = refused(
        mapping_variant(tmp_path, "", ""),
        "--file",
        f"poles={geojson(tmp_path / 'nodos.geojson', in_valparaiso)}",
    )

    assert "cae fuera de el territorio de PRUEBA (sus comunas Santiago" in message


def test_a_single_feature_far_away_is_a_row_error_and_its_spans_say_why(catalogue, tmp_path):
    features = nodes()
    features[3]["geometry"]["coordinates"] = [0.0, 0.0]  # N3 on Null Island
    path = geojson(tmp_path / "nodos.geojson", features)

    result = import_network(mapping_variant(tmp_path, "", ""), files={"poles": path}, partial=True)

    far = next(p for p in result.problems if p.ident == "N3")
    assert far.check == "territorio" and "fuera del territorio" in far.reason
    assert far.layer == "nodos" and far.field == "location"
    l3 = next(p for p in result.problems if p.ident == "L3")
    assert "su nodo N3 fue omitido (fuera del territorio" in l3.reason


def test_without_boundaries_the_territory_is_chile_and_its_islands(db):
    from geo.models import Comuna, Region

    if Comuna.objects.exclude(boundary=None).exists() or Region.objects.exclude(boundary=None):
        pytest.skip("this database has boundaries loaded")
    territory = territory_of("NADIE", 2000)

    assert territory.boxes == tuple(box for _, box in CHILE_ENVELOPES)
    santiago, rapa_nui, juan_fernandez = (-70.65, -33.45), (-109.35, -27.12), (-78.83, -33.64)
    buenos_aires, antarctica, atlantic = (-58.38, -34.6), (-60.0, -75.0), (-30.0, -20.0)
    assert territory.inside([santiago, rapa_nui, juan_fernandez]) == [True, True, True]
    assert territory.inside([buenos_aires, antarctica, atlantic]) == [False, False, False]


def test_the_territory_test_runs_in_one_query_for_the_whole_sample(
    catalogue, django_assert_num_queries
):
    territory = territory_of("NADIE", 2000)
    assert isinstance(territory, Territory) and territory.comunas is None
    sample = [(-70.65 + i * 1e-4, -33.45) for i in range(500)] + [(-33.45, -70.65)]

    with django_assert_num_queries(1):
        inside = territory.inside(sample)

    assert inside.count(True) == 500 and inside[-1] is False


# -- updates never move stored assets far without being asked --------------------------------


def test_an_update_that_moves_assets_far_is_refused_unless_allowed(catalogue, tmp_path):
    mapping = clean_mapping(tmp_path)
    output, error = run(mapping)
    assert error is None, output
    features = json.loads((mapping.parent / "nodes.geojson").read_text())["features"]
    for feature in features:
        if feature["properties"]["node_id"] in ("N3", "N5"):
            lon, lat = feature["geometry"]["coordinates"]
            feature["geometry"]["coordinates"] = [lon + 0.011, lat]  # about 1 km east
    moved = geojson(tmp_path / "movidos.geojson", features)
    stored = ours(Pole, "PRUEBA").get(plate="N3").location

    message = refused(mapping, "--file", f"poles={moved}")

    assert "movería 2 activos guardados más de 500 m (2 postes)" in message
    assert "el mayor movimiento, 10" in message and "--permitir-movimientos" in message
    assert ours(Pole, "PRUEBA").get(plate="N3").location.equals_exact(stored, 1e-12)

    output, error = run(mapping, "--file", f"poles={moved}", "--permitir-movimientos", "-v", "2")

    assert error is None, output
    assert abs(ours(Pole, "PRUEBA").get(plate="N3").location.x - (-70.636)) < 1e-9
    assert "aviso postes / movimiento: 2" in output


def test_the_move_limit_is_a_setting(catalogue, tmp_path, settings):
    mapping = clean_mapping(tmp_path)
    import_network(mapping)
    features = json.loads((mapping.parent / "nodes.geojson").read_text())["features"]
    features[1]["geometry"]["coordinates"][0] += 0.001  # N1, about 93 m
    moved = geojson(tmp_path / "movidos.geojson", features)

    assert import_network(mapping, files={"poles": moved}, dry_run=True).updated == 1
    settings.IMPORT_MAX_MOVE_M = 50
    with pytest.raises(NetworkImportError, match="movería 1 activos guardados más de 50 m"):
        import_network(mapping, files={"poles": moved})


# -- all or nothing, --parcial, exit statuses ------------------------------------------------


def test_an_export_whose_rows_are_all_accepted_exits_zero(catalogue, tmp_path):
    output, error = run(clean_mapping(tmp_path))

    assert error is None, output
    summary = output.strip().splitlines()[-1]
    assert summary.startswith("prueba (PRUEBA): 1 subestaciones, 2 alimentadores, 5 postes")
    assert summary.endswith("18 creados, 0 actualizados, 0 sin cambios; 0 filas omitidas, 1 avisos")
    assert ours(Pole, "PRUEBA").count() == 5


def test_rejected_rows_store_nothing_by_default_and_exit_one(catalogue, tmp_path):
    before = counts()

    output, error = run(mapping_variant(tmp_path, "", ""))

    assert error is not None and error.returncode == 1
    assert "Importación rechazada: 4 filas omitidas" in str(error)
    assert "todo o nada: no se guardó nada" in output.strip().splitlines()[-1]
    assert counts() == before


def test_with_parcial_the_valid_rows_are_stored_and_the_status_is_three(catalogue, tmp_path):
    output, error = run(mapping_variant(tmp_path, "", ""), "--parcial")

    assert error is not None and error.returncode == 3
    assert "Importación parcial: 4 filas omitidas" in str(error)
    assert "parcial: se guardaron las filas válidas" in output.strip().splitlines()[-1]
    assert ours(Pole, "PRUEBA").count() == 5


def test_a_fatal_error_exits_one(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'file = "lines.geojson"', 'file = "vanos.geojson"')

    refused(mapping)


def test_a_file_whose_feeders_are_all_refused_stores_no_substation(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'short_circuit_kva = "scc_kva"\n', "")

    result = import_network(mapping)

    assert not result.committed and result.exit_code == 1
    assert {p.code for p in result.problems if p.entity == "feeders"} == {"SE1-L1", "SE1-L4"}
    assert not ours(Substation, "PRUEBA").exists()


def test_an_unexpected_error_names_file_layer_and_feature_and_stores_nothing(
    catalogue, tmp_path, monkeypatch
):
    from network.services.importing import reader

    real = reader._values

    def failing(entity, row, fields):
        if row.get("node_id") == "N2":
            raise ZeroDivisionError("algo salió mal")
        return real(entity, row, fields)

    monkeypatch.setattr(reader, "_values", failing)

    message = refused(mapping_variant(tmp_path, "", ""))

    assert "error inesperado al leer (nodes.geojson, capa nodes, [poles], feature 3 (id N2))" in (
        message
    )
    assert "ZeroDivisionError: algo salió mal" in message


def test_an_unexpected_error_after_the_first_writes_leaves_the_database_as_it_was(
    catalogue, tmp_path, monkeypatch
):
    from network.services.importing import writer

    def failing(old, new):
        raise RuntimeError("fallo al medir")

    mapping = clean_mapping(tmp_path)
    import_network(mapping)
    features = json.loads((mapping.parent / "nodes.geojson").read_text())["features"]
    features[1]["geometry"]["coordinates"][0] += 0.0001  # N1 moves 9 m: measured, then fails
    monkeypatch.setattr(writer, "displacement", failing)

    message = refused(mapping, "--file", f"poles={geojson(tmp_path / 'n.geojson', features)}")

    assert "error inesperado al guardar las filas (mapping.toml): RuntimeError: fallo" in message


def test_the_result_gives_counts_and_problems_as_rows(catalogue, tmp_path):
    result = import_network(mapping_variant(tmp_path, "", ""), dry_run=True)

    rows = result.rows()
    assert {"file", "layer", "feature", "id", "field", "message"} <= set(rows[0])
    n6 = next(r for r in rows if r["id"] == "N6")
    assert (n6["file"], n6["layer"], n6["feature"], n6["field"]) == (
        "nodes.geojson",
        "nodes",
        7,
        "location",
    )
    poles = next(r for r in result.count_rows() if r["entity"] == "poles")
    assert poles["read"] == 8 and poles["filtered"] == 1 and poles["rejected"] == 1


# -- values, lengths and messages ---------------------------------------------------------


def test_a_numeric_where_compares_numbers_within_a_millionth():
    assert where_matches(0.416000008583069, (0.416,))  # GDAL's float32 0.416
    assert where_matches("0.416", (0.416,))
    assert where_matches(20, (20.0,)) and where_matches(20.0, (20,))
    assert not where_matches(0.417, (0.416,))
    assert not where_matches("0.416 kV", (0.416,))
    assert where_matches("LBS", ("LBS", "CB")) and not where_matches("lbs", ("LBS",))
    assert where_matches(True, (True,)) and not where_matches(0, (True,))


def test_a_float32_column_passes_a_numeric_where(catalogue, tmp_path):
    features = nodes()
    for feature in features:
        if feature["properties"]["kv"] == 12.0:
            feature["properties"]["kv"] = 12.000000953674316  # 12 in single precision, + 1 ulp
    path = geojson(tmp_path / "nodos.geojson", features)

    result = import_network(mapping_variant(tmp_path, "", ""), files={"poles": path}, partial=True)

    assert result.entity("poles").filtered == 1  # only the 0.4 kV node
    assert ours(Pole, "PRUEBA").count() == 5


def test_a_short_span_stored_to_the_centimetre_is_not_a_length_finding(catalogue, tmp_path):
    lines = json.loads((FIXTURES / "lines.geojson").read_text())
    l2 = lines["features"][1]
    l2["properties"]["length_m"] = 0.12
    l2["geometry"]["coordinates"] = [[-70.649, -33.45], [-70.649 + 1.3287e-6, -33.45]]  # 0.1234 m
    path = tmp_path / "lines.geojson"
    path.write_text(json.dumps(lines))

    result = import_network(mapping_variant(tmp_path, "", ""), files={"spans": path}, partial=True)

    assert ours(Span, "PRUEBA").get(code="L2").length_m == Decimal("0.12")
    assert {p.code for p in result.problems if p.check == "longitud"} == {"L3"}


def test_a_repeated_id_names_the_id(catalogue, tmp_path):
    features = nodes()
    features.append(json.loads(json.dumps(features[2])))  # N2 again
    path = geojson(tmp_path / "nodos.geojson", features)

    result = import_network(mapping_variant(tmp_path, "", ""), files={"poles": path}, dry_run=True)

    repeated = next(p for p in result.problems if p.check == "duplicado" and p.entity == "poles")
    assert repeated.reason == "id N2 repetido: ya está en la feature 3"
    assert repeated.feature == 9 and repeated.field == "node_id"


def test_an_orphaned_pole_names_the_span_that_was_dropped(catalogue, tmp_path):
    lines = json.loads((FIXTURES / "lines.geojson").read_text())
    lines["features"][2]["properties"]["conductor"] = "Al 999"  # L3, the only span to N3
    path = tmp_path / "lines.geojson"
    path.write_text(json.dumps(lines))

    result = import_network(mapping_variant(tmp_path, "", ""), files={"spans": path}, dry_run=True)

    orphan = next(p for p in result.problems if p.ident == "N3")
    assert orphan.reason.startswith("ningún vano llega a este poste: sus vanos L3, L7 fueron")
    assert "(L3: el valor 'Al 999' de la columna conductor no está en el mapeo" in orphan.reason


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b"<!DOCTYPE html><html><body>Ingrese su clave</body></html>", "parece una página HTML"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geom', "truncado"),
        (b"", "el archivo está vacío"),
        (b"PK\x03\x04\x00\x00garbage", "ZIP (KMZ) dañado"),
    ],
)
def test_a_file_gdal_cannot_read_is_fatal_with_gdals_words_and_a_hint(
    catalogue, tmp_path, content, hint
):
    name = "nodos.kmz" if content.startswith(b"PK") else "nodos.geojson"
    path = tmp_path / name
    path.write_bytes(content)

    message = refused(mapping_variant(tmp_path, "", ""), "--file", f"poles={path}")

    assert f"{name} ([poles]): GDAL no puede leerlo (" in message
    assert hint in message
