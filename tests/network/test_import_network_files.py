"""import_network and its source files: formats, CRS, geometry types, missing files."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from network.models import Distributor, Pole
from network.services.importing import NetworkImportError, import_network
from tests.network.import_helpers import (
    FIXTURES,
    OBERRHEIN,
    counts,
    mapping_variant,
    ogr2ogr,
    ours,
    run,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("driver", "name"),
    [("GPKG", "lines.gpkg"), ("LIBKML", "lines.kmz"), ("ESRI Shapefile", "lines.shp")],
)
def test_a_layer_converted_to_another_format_imports_the_same(
    catalogue, oberrhein, tmp_path, driver, name
):
    import_network(OBERRHEIN, source=oberrhein, as_of=date(2024, 1, 31))
    converted = tmp_path / name
    ogr2ogr("-f", driver, converted, oberrhein / "mv_oberrhein_substations_lines.geojson")

    result = import_network(OBERRHEIN, source=oberrhein, files={"spans": converted})

    assert result.entity("spans").read == 181
    assert (result.created, result.updated) == (0, 0)
    assert result.entity("spans").unchanged == 181


def test_a_kmz_zipped_by_hand_around_a_kml_imports_the_same(catalogue, oberrhein, tmp_path):
    import_network(OBERRHEIN, source=oberrhein)
    kml = tmp_path / "doc.kml"
    ogr2ogr("-f", "KML", kml, oberrhein / "mv_oberrhein_substations_switches.geojson")
    kmz = tmp_path / "switches.kmz"
    shutil.make_archive(str(kmz.with_suffix("")), "zip", tmp_path, "doc.kml")
    kmz.with_suffix(".zip").rename(kmz)

    result = import_network(OBERRHEIN, source=oberrhein, files={"equipment": kmz})

    assert result.entity("equipment").unchanged == 322
    assert result.updated == result.created == 0


def test_a_layer_of_the_wrong_geometry_type_is_fatal_and_names_the_layer(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'file = "nodes.geojson"', 'file = "nodes_polygons.geojson"')
    before = counts()

    with pytest.raises(NetworkImportError, match=r"nodes_polygons.geojson, capa nodes_polygons: "
                       r"geometría Polygon, pero \[poles\] necesita Point"):  # fmt: skip
        import_network(mapping)

    assert counts() == before


def test_an_unknown_crs_is_fatal(catalogue, tmp_path):
    mapping = mapping_variant(
        tmp_path, 'file = "nodes.geojson"', 'file = "nodes_unknown_crs.geojson"'
    )
    before = counts()

    output, error = run(mapping)

    assert error is not None
    assert "nodes_unknown_crs.geojson" in str(error) and "CRS desconocido" in str(error)
    assert counts() == before


def test_a_shapefile_without_its_prj_is_fatal_unless_the_mapping_declares_the_crs(
    catalogue, tmp_path
):
    shp = tmp_path / "nodes.shp"
    ogr2ogr("-f", "ESRI Shapefile", shp, FIXTURES / "nodes.geojson")
    shp.with_suffix(".prj").unlink()
    mapping = mapping_variant(tmp_path, 'file = "nodes.geojson"', f'file = "{shp}"')

    with pytest.raises(NetworkImportError, match="nodes.shp.*CRS desconocido"):
        import_network(mapping)
    assert not Distributor.objects.filter(code="PRUEBA").exists()

    declared = mapping_variant(
        tmp_path, 'file = "nodes.geojson"', f'file = "{shp}"\ncrs = "EPSG:4326"'
    )
    result = import_network(declared)
    assert result.entity("poles").imported == 5


def test_a_layer_in_utm_is_moved_to_wgs84(catalogue, tmp_path):
    utm = tmp_path / "nodes_utm.gpkg"
    ogr2ogr("-f", "GPKG", "-t_srs", "EPSG:32719", utm, FIXTURES / "nodes.geojson")

    import_network(mapping_variant(tmp_path, "", ""), files={"poles": utm}, partial=True)

    pole = ours(Pole, "PRUEBA").get(plate="N1")
    assert abs(pole.location.x - -70.649) < 1e-7 and abs(pole.location.y - -33.450) < 1e-7


def test_a_missing_file_is_fatal_and_leaves_the_database_as_it_was(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'file = "lines.geojson"', 'file = "vanos.geojson"')
    before = counts()

    output, error = run(mapping)

    assert error is not None and "vanos.geojson: no existe ([spans])" in str(error)
    assert counts() == before
