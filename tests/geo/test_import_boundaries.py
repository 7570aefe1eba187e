from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from geo.models import Comuna, Region

FIXTURES = Path(__file__).parents[1] / "fixtures" / "boundaries"
REGIONES = FIXTURES / "regiones.geojson"
COMUNAS = FIXTURES / "comunas.geojson"
COMUNAS_BAD = FIXTURES / "comunas_bad.geojson"
CUT = FIXTURES / "cut"


def run(*args: str | Path) -> tuple[str, CommandError | None]:
    """Output of the command and the CommandError it ended with, if any."""
    out = io.StringIO()
    try:
        call_command("import_boundaries", *map(str, args), stdout=out, stderr=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def invalid_boundaries() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM geo_region WHERE NOT ST_IsValid(boundary)"
            "        OR GeometryType(boundary) <> 'MULTIPOLYGON')"
            "     + (SELECT count(*) FROM geo_comuna WHERE NOT ST_IsValid(boundary)"
            "        OR GeometryType(boundary) <> 'MULTIPOLYGON')"
        )
        return cursor.fetchone()[0]


def ogr2ogr(*args: str | Path) -> None:
    if shutil.which("ogr2ogr") is None:
        pytest.skip("ogr2ogr (gdal-bin) no está instalado")
    subprocess.run(["ogr2ogr", *map(str, args)], check=True, capture_output=True)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as src:
        return list(csv.DictReader(src))


@pytest.mark.django_db
def test_real_files_load_every_region_and_comuna_of_the_cut_table_with_valid_boundaries(
    shared_data,
):
    data = shared_data / "boundaries"
    cut_regions = read_csv(data / "clregions_regions.csv")
    cut_provinces = {p["id"]: p for p in read_csv(data / "clregions_provinces.csv")}
    cut_communes = read_csv(data / "clregions_communes.csv")
    features = json.loads((data / "fcortes_comunas.geojson").read_text())["features"]
    file_codes = {f"{f['properties']['cod_comuna']:05d}" for f in features}
    args = (
        "--regiones", data / "fcortes_regiones.geojson",
        "--comunas", data / "fcortes_comunas.geojson",
        "--cut-table", data,
    )  # fmt: skip

    output, error = run(*args)

    assert Region.objects.count() == len(cut_regions) == 16
    assert Comuna.objects.count() == len(cut_communes)
    assert set(Comuna.objects.values_list("code", flat=True)) == {c["id"] for c in cut_communes}
    assert not Region.objects.filter(boundary__isnull=True).exists()
    assert invalid_boundaries() == 0
    assert not Comuna.objects.filter(boundary__isvalid=False).exists()
    for comuna in Comuna.objects.select_related("region"):
        province = cut_provinces[comuna.code[:3]]
        assert comuna.region.code == province["region_id"] == comuna.code[:2]
        assert comuna.province == province["name"]
    # The files have no polygon for the Antarctic comuna: its boundary comes from its legal
    # definition (the 53° W-90° W sector south of 60° S), and the run says so.
    without_file_geometry = {c["id"] for c in cut_communes} - file_codes
    assert without_file_geometry == {"12202"}
    assert not Comuna.objects.filter(boundary__isnull=True).exists()
    antartica = Comuna.objects.get(code="12202").boundary
    assert antartica.extent == (-90.0, -90.0, -53.0, -60.0)
    assert "(código 12202, Antártica): sin feature en el archivo; límite según su definición" in (
        output
    )
    assert (
        "fcortes_regiones.geojson feature 17 (código 0, Zona sin demarcar): "
        "código desconocido, omitida"
    ) in output
    assert "fcortes_comunas.geojson feature 57 (código 0, Zona sin demarcar)" in output
    assert "geometría reparada" in output
    assert "16 regiones (16 con límite), 346 comunas (346 con límite)" in output
    assert error is not None and "Importación incompleta" in str(error)

    ids = dict(Comuna.objects.values_list("code", "id"))
    _, error_again = run(*args)

    assert error_again is not None
    assert Region.objects.count() == 16
    assert dict(Comuna.objects.values_list("code", "id")) == ids
    assert invalid_boundaries() == 0


@pytest.mark.django_db
def test_bad_features_are_named_with_their_reason_and_the_good_ones_loaded():
    output, error = run("--regiones", REGIONES, "--comunas", COMUNAS_BAD)

    assert "comunas_bad.geojson feature 4 (Sin Código): sin código" in output
    assert (
        "comunas_bad.geojson feature 5 (código 99101, Comuna Inventada): código desconocido"
        in output
    )
    assert (
        "feature 6 (código 13103, Cerro Navia): geometría ilegible: anillo con 2 puntos" in output
    )
    assert "feature 7 (código 13104, Conchali): geometría no poligonal (LineString)" in output
    assert "feature 9 (código 14101, Valdivia): sin geometría" in output
    assert "feature 11 (código abc, Código Roto): código no numérico" in output
    assert "feature 8 (código 13105, El Bosque): geometría reparada (Self-intersection" in output
    assert error is not None and "6 features omitidas" in str(error)
    assert sorted(Comuna.objects.values_list("code", "name")) == [
        ("13101", "Santiago"),
        ("13102", "Cerrillos"),
        ("13105", "El Bosque"),
        ("14102", "Corral"),
    ]
    assert invalid_boundaries() == 0


@pytest.mark.django_db
def test_features_sharing_a_code_become_one_multipolygon():
    run("--regiones", REGIONES, "--comunas", COMUNAS_BAD)

    cerrillos = Comuna.objects.get(code="13102")

    assert cerrillos.boundary.geom_type == "MultiPolygon"
    assert cerrillos.boundary.num_geom == 2


@pytest.mark.django_db
def test_repaired_bowtie_keeps_both_triangles_as_a_valid_multipolygon():
    run("--regiones", REGIONES, "--comunas", COMUNAS_BAD)

    bosque = Comuna.objects.get(code="13105").boundary

    assert bosque.valid
    assert bosque.num_geom == 2
    assert bosque.area == pytest.approx(0.005)


@pytest.mark.django_db
def test_with_the_cut_table_names_come_from_it_and_entries_without_geometry_are_reported(
    tmp_path,
):
    report = tmp_path / "problemas.csv"

    output, error = run(
        "--regiones", REGIONES, "--comunas", COMUNAS_BAD, "--cut-table", CUT, "--report", report
    )

    assert Comuna.objects.count() == 8
    assert Comuna.objects.get(code="13104").name == "Conchalí"
    assert Comuna.objects.get(code="13101").province == "Santiago"
    assert Comuna.objects.get(code="14102").region.code == "14"
    assert set(Comuna.objects.filter(boundary__isnull=True).values_list("code", flat=True)) == {
        "13103",
        "13104",
        "14101",
        "14103",
    }
    assert "comunas_bad.geojson (código 14103, Lanco): ninguna feature válida" in output
    assert "queda sin límite" in output
    assert error is not None and "4 entradas del CUT sin geometría" in str(error)
    rows = read_csv(report)
    assert {(r["feature"], r["codigo"], r["gravedad"]) for r in rows} >= {
        ("5", "99101", "error"),
        ("8", "13105", "aviso"),
        ("", "14103", "error"),
    }
    assert next(r for r in rows if r["codigo"] == "99101")["motivo"] == "código desconocido"


@pytest.mark.django_db
def test_clean_or_repaired_files_exit_normally_and_new_regions_get_their_utm_zone():
    output, error = run("--regiones", REGIONES, "--comunas", COMUNAS)

    assert error is None
    assert "2 regiones (2 con límite), 3 comunas (3 con límite); 0 omitidas, 1 reparadas" in output
    assert (
        "comunas.geojson feature 3 (código 14101, Valdivia): geometría reparada (anillo sin"
        in output
    )
    assert Comuna.objects.get(code="14101").boundary.area == pytest.approx(0.04)
    assert dict(Region.objects.values_list("code", "utm_zone")) == {"13": 19, "14": 18}
    assert Comuna.objects.get(code="13102").province == "Santiago"


@pytest.mark.django_db
def test_running_twice_keeps_the_same_rows_and_an_edited_utm_zone():
    run("--regiones", REGIONES, "--comunas", COMUNAS)
    Region.objects.filter(code="13").update(utm_zone=18)
    before = list(Comuna.objects.values_list("id", "code", "name", "region__code"))

    _, error = run("--regiones", REGIONES, "--comunas", COMUNAS)

    assert error is None
    assert list(Comuna.objects.values_list("id", "code", "name", "region__code")) == before
    assert Region.objects.get(code="13").utm_zone == 18


@pytest.mark.django_db
@pytest.mark.parametrize("driver", ["GPKG", "ESRI Shapefile"])
def test_a_geopackage_or_shapefile_in_utm_loads_like_the_geojson(tmp_path, driver):
    if driver == "GPKG":
        regiones = comunas = tmp_path / "limites.gpkg"
        layers = ("--regiones-layer", "regiones", "--comunas-layer", "comunas")
    else:
        regiones, comunas = tmp_path / "regiones.shp", tmp_path / "comunas.shp"
        layers = ()
    for source, target, layer in ((REGIONES, regiones, "regiones"), (COMUNAS, comunas, "comunas")):
        update = ("-update",) if target.exists() else ()
        ogr2ogr("-f", driver, "-t_srs", "EPSG:32719", "-nln", layer, *update, target, source)

    output, error = run("--regiones", regiones, "--comunas", comunas, *layers)

    assert error is None, output
    assert Region.objects.count() == 2
    assert Comuna.objects.count() == 3
    santiago = Comuna.objects.get(code="13101")
    expected = GEOSGeometry(json.dumps(json.loads(COMUNAS.read_text())["features"][0]["geometry"]))
    assert santiago.boundary.srid == 4326
    assert santiago.boundary.sym_difference(expected).area < 1e-9
    assert santiago.name == "Santiago"


@pytest.mark.django_db
def test_a_file_with_several_layers_needs_the_layer_option(tmp_path):
    gpkg = tmp_path / "limites.gpkg"
    ogr2ogr("-f", "GPKG", "-nln", "regiones", gpkg, REGIONES)
    ogr2ogr("-f", "GPKG", "-nln", "comunas", "-update", gpkg, COMUNAS)

    with pytest.raises(CommandError, match="2 capas .*regiones.*comunas"):
        call_command("import_boundaries", "--regiones", str(gpkg), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no hay capa 'provincias'"):
        call_command("import_boundaries", "--regiones", str(gpkg), "--regiones-layer", "provincias")

    assert not Region.objects.exists()


@pytest.mark.django_db
def test_a_missing_file_is_fatal_and_leaves_the_database_untouched(tmp_path):
    with pytest.raises(CommandError, match="no existe. No se modificó la base de datos"):
        call_command(
            "import_boundaries",
            "--regiones", str(REGIONES),
            "--comunas", str(tmp_path / "no-hay.geojson"),
        )  # fmt: skip

    assert not Region.objects.exists()
    assert not Comuna.objects.exists()


@pytest.mark.django_db
def test_a_missing_code_field_is_fatal_and_lists_the_fields():
    with pytest.raises(CommandError, match="no tiene el campo 'cut'.*codregion, Region"):
        call_command("import_boundaries", "--regiones", str(REGIONES), "--region-code-field", "cut")

    assert not Region.objects.exists()


@pytest.mark.django_db
def test_without_the_cut_table_codes_names_and_provinces_come_from_the_real_files(shared_data):
    data = shared_data / "boundaries"

    output, error = run(
        "--regiones", data / "fcortes_regiones.geojson",
        "--comunas", data / "fcortes_comunas.geojson",
    )  # fmt: skip

    assert Region.objects.count() == 16
    assert Comuna.objects.count() == 345
    assert not Comuna.objects.filter(boundary__isnull=True).exists()
    assert invalid_boundaries() == 0
    assert Comuna.objects.get(code="06204").name == "Marchigüe"
    assert Comuna.objects.get(code="06204").region.code == "06"
    assert "feature 17 (código 0, Zona sin demarcar): código desconocido, omitida" in output
    assert (
        "feature 57 (código 0, Zona sin demarcar): código desconocido (no hay región 00)" in output
    )
    assert error is not None and "2 features omitidas" in str(error)
