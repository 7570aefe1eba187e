from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from pyproj import Geod

from geo.demo import ensure_demo_geography
from network.models import (
    Distributor,
    Equipment,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from network.services.importing import NetworkImportError, import_network, load_mapping
from network.services.importing.report import REPORT_HEADER
from network.services.synthetic import VNR_CATALOGUE, vnr_costs
from vnr.models import VnrCode

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).parents[2]
OBERRHEIN = ROOT / "network" / "import_mappings" / "mv_oberrhein.toml"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "network_import"
TINY = FIXTURES / "mapping.toml"
MODELS = (Substation, PowerTransformer, Feeder, Pole, Span, Equipment, Transformer)
SUMMARY = re.compile(
    r"^mv_oberrhein \(OBERRHEIN\): 2 subestaciones, 2 transformadores de poder, "
    r"\d+ alimentadores, \d+ postes, \d+ vanos, \d+ equipos, \d+ transformadores; "
    r"\d+ creados, \d+ actualizados, \d+ sin cambios; \d+ filas omitidas, \d+ avisos$"
)


@pytest.fixture
def catalogue(db):
    """The demo VNR catalogue and geography, which the mappings' codes and comunas point at."""
    ensure_demo_geography()
    VnrCode.objects.bulk_create(
        (
            VnrCode(code=code, description=text, unit=unit, **vnr_costs(base))
            for code, text, unit, base in VNR_CATALOGUE
        ),
        ignore_conflicts=True,  # the session's demo data set may have loaded it already
    )


@pytest.fixture
def oberrhein(shared_data) -> Path:
    return shared_data / "networks" / "mv_oberrhein"


def features(path: Path) -> list[dict]:
    return json.loads(path.read_text())["features"]


def run(*args: str | Path) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_network", *map(str, args), stdout=out, stderr=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as src:
        return list(csv.DictReader(src))


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Distributor, *MODELS)}


def ours(model, distributor: str = "OBERRHEIN"):
    """The rows an import made (the session's demo data set may share the database)."""
    if model is PowerTransformer:
        return model.objects.filter(substation__distributor__code=distributor)
    return model.objects.filter(distributor__code=distributor)


OURS = "(SELECT id FROM network_distributor WHERE code = 'OBERRHEIN')"


def scalar(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()[0]


def ogr2ogr(*args: str | Path) -> None:
    if shutil.which("ogr2ogr") is None:
        pytest.skip("ogr2ogr (gdal-bin) no está instalado")
    subprocess.run(["ogr2ogr", *map(str, args)], check=True, capture_output=True)


def mapping_variant(tmp_path: Path, old: str, new: str, *more: tuple[str, str]) -> Path:
    """The tiny mapping with some lines changed, reading the fixture files where they are."""
    text = TINY.read_text(encoding="utf-8")
    for before, after in ((old, new), *more):
        assert before in text
        text = text.replace(before, after)
    text = text.replace(
        '[network]\nname = "prueba"', f'[network]\nname = "prueba"\nsource_dir = "{FIXTURES}"'
    )
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- The real export ------------------------------------------------------------------------


def test_the_real_mv_oberrhein_export_imports_everything_it_does_not_report(
    catalogue, oberrhein, tmp_path
):
    report = tmp_path / "informe.csv"

    output, error = run(OBERRHEIN, "--source", oberrhein, "--report", report)

    assert error is None, output
    rows = read_report(report)
    skipped = defaultdict(int)
    busbars = 0
    for row in rows:
        if row["gravedad"] == "error":
            skipped[row["entidad"]] += 1
        busbars += row["control"] == "barra"
    buses = features(oberrhein / "mv_oberrhein_substations_buses.geojson")
    lines = features(oberrhein / "mv_oberrhein_substations_lines.geojson")
    switches = features(oberrhein / "mv_oberrhein_substations_switches.geojson")
    trafos = features(oberrhein / "mv_oberrhein_substations_trafos.geojson")
    mv_buses = [b for b in buses if b["properties"]["vn_kv"] == 20.0]
    hv_mv = [t for t in trafos if t["properties"]["vn_hv_kv"] == 110.0]
    assert busbars == len(hv_mv) == 2
    assert ours(Substation).count() == len(hv_mv) - skipped["substations"] == 2
    assert ours(PowerTransformer).count() == 2
    assert ours(Pole).count() == len(mv_buses) - busbars - skipped["poles"] == 175
    assert ours(Span).count() == len(lines) - skipped["spans"] == 181
    assert ours(Equipment).count() == len(switches) - skipped["equipment"] == 322
    assert ours(Transformer).count() == len(trafos) - len(hv_mv) - skipped["transformers"]
    assert ours(Transformer).count() == 141
    assert ours(Equipment).filter(operating_mode="Normalmente abierto").count() == 6
    assert ours(Equipment).filter(kind="interruptor", pole__isnull=True).count() == 4
    assert Distributor.objects.get(code="OBERRHEIN").synthetic is False


def test_every_oberrhein_span_length_is_within_tolerance_or_reported(
    catalogue, oberrhein, tmp_path
):
    report = tmp_path / "informe.csv"
    run(OBERRHEIN, "--source", oberrhein, "--report", report)

    with connection.cursor() as cur:
        cur.execute(
            f"SELECT code FROM network_span WHERE distributor_id = {OURS} "
            "AND abs(length_m - ST_Length(geom::geography)) > 0.01 * length_m"
        )
        off = {code for (code,) in cur.fetchall()}
    reported = {r["codigo"] for r in read_report(report) if r["control"] == "longitud"}
    assert off == reported
    assert len(off) == 52  # the export's own length_km disagrees with its traces
    l92 = next(r for r in read_report(report) if r["codigo"] == "L92")
    assert l92["archivo"] == "mv_oberrhein_substations_lines.geojson"
    assert l92["id"] == "92" and l92["gravedad"] == "aviso"
    assert "93.30 m" in l92["motivo"] and "209" in l92["motivo"]


def test_the_translation_to_la_florida_keeps_every_trace_length(catalogue, oberrhein):
    import_network(OBERRHEIN, source=oberrhein)

    geod = Geod(ellps="WGS84")
    source = {}
    for f in features(oberrhein / "mv_oberrhein_substations_lines.geojson"):
        lons, lats = zip(*f["geometry"]["coordinates"], strict=True)
        source[f"L{f['properties']['line_id']}"] = geod.line_length(lons, lats)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT code, ST_Length(geom::geography) FROM network_span "
            f"WHERE distributor_id = {OURS}"
        )
        stored = dict(cur.fetchall())
    assert stored.keys() == source.keys()
    assert max(abs(stored[c] - source[c]) / source[c] for c in source) < 1e-6
    # Every substation lies in the comuna it was given; in the demo geography, La Florida.
    assert set(ours(Substation).values_list("comuna__name", flat=True)) == {"La Florida"}
    assert scalar(
        "SELECT count(*) FROM network_substation s JOIN geo_comuna c ON c.id = s.comuna_id "
        "WHERE NOT ST_Covers(c.boundary, s.location)"
    ) == 0  # fmt: skip
    lon, lat = scalar("SELECT ARRAY[ST_X(ST_Centroid(ST_Collect(location))), "
                      "ST_Y(ST_Centroid(ST_Collect(location)))] FROM network_pole "
                      f"WHERE distributor_id = {OURS}")  # fmt: skip
    assert -70.62 < lon < -70.48 and -33.62 < lat < -33.48


def test_every_oberrhein_transformer_stands_on_a_pole_of_its_feeder(catalogue, oberrhein, tmp_path):
    report = tmp_path / "informe.csv"
    run(OBERRHEIN, "--source", oberrhein, "--report", report)

    assert scalar(
        "SELECT count(*) FROM network_transformer t JOIN network_pole p ON p.id = t.pole_id "
        f"WHERE t.distributor_id = {OURS} "
        "AND (t.feeder_id <> p.feeder_id OR NOT ST_Equals(t.location, p.location))"
    ) == 0  # fmt: skip
    assert scalar(
        "SELECT count(*) FROM network_equipment e JOIN network_pole p ON p.id = e.pole_id "
        f"WHERE e.distributor_id = {OURS} AND e.feeder_id <> p.feeder_id"
    ) == 0  # fmt: skip
    off = [r for r in read_report(report) if r["control"] == "fuera_de_alimentador"]
    # Only the breaker at the head of L165, whose trace starts 72 m from its substation.
    assert [(r["entidad"], r["codigo"]) for r in off] == [("equipment", "S270")]


def test_oberrhein_feeders_are_trees_split_at_the_normally_open_switches(
    catalogue, oberrhein, tmp_path
):
    report = tmp_path / "informe.csv"
    run(OBERRHEIN, "--source", oberrhein, "--report", report)

    assert not [r for r in read_report(report) if r["control"] == "topologia"]
    assert sorted(ours(Feeder).values_list("code", flat=True)) == [
        "SE319-L193",
        "SE319-L62",
        "SE39-L162",
        "SE39-L165",
    ]
    open_ends = {
        (f"L{f['properties']['element']}", f"B{f['properties']['bus']}")
        for f in features(oberrhein / "mv_oberrhein_substations_switches.geojson")
        if not f["properties"]["closed"]
    }
    assert len(open_ends) == 6
    for feeder in ours(Feeder):
        poles = set(feeder.poles.values_list("plate", flat=True))
        spans = []
        for code, origin, to in feeder.spans.values_list(
            "code", "from_pole__plate", "to_pole__plate"
        ):
            # A normally-open switch cuts the span at its pole: that end is a leaf of its own.
            origin = f"{origin} abierto" if (code, origin) in open_ends else origin
            to = f"{to} abierto" if (code, to) in open_ends else to
            spans.append((origin, to))
        # A tree from the substation (None): every span reaches one new node.
        nodes = {end for span in spans for end in span}
        assert poles <= nodes and None in nodes
        assert len(spans) == len(nodes) - 1
        neighbours = defaultdict(list)
        for origin, to in spans:
            neighbours[origin].append(to)
            neighbours[to].append(origin)
        seen, stack = {None}, [None]
        while stack:
            for nxt in neighbours[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        assert seen == nodes
    assert sum(f.spans.count() for f in ours(Feeder)) == 181
    # A normally-open switch cuts its line at its bus: the line is fed from its other end.
    for f in features(oberrhein / "mv_oberrhein_substations_switches.geojson"):
        if f["properties"]["closed"]:
            continue
        span = ours(Span).get(code=f"L{f['properties']['element']}")
        at = f"B{f['properties']['bus']}"
        other = span.from_pole if span.to_pole.plate == at else span.to_pole
        assert at in (span.from_pole.plate, span.to_pole.plate)
        assert other.feeder_id == span.feeder_id
    assert set(ours(Feeder).values_list("short_circuit_kva", flat=True)) == {223214}
    assert set(ours(Feeder).values_list("capacity_a", flat=True)) == {645}


def test_running_the_oberrhein_import_twice_changes_nothing(catalogue, oberrhein, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "network.services.topology.topology_changed", lambda ids, bbox: calls.append((ids, bbox))
    )
    first = import_network(OBERRHEIN, source=oberrhein, as_of=date(2024, 1, 31))
    before = counts()
    mine = sum(ours(m).count() for m in MODELS)
    dates = {model.__name__: set(ours(model).values_list("as_of", flat=True)) for model in MODELS}

    output, error = run(OBERRHEIN, "--source", oberrhein)

    assert error is None, output
    assert first.created == mine and first.updated == 0
    assert counts() == before
    assert dates == {model.__name__: {date(2024, 1, 31)} for model in MODELS}
    assert f"; 0 creados, 0 actualizados, {mine} sin cambios;" in output.splitlines()[-1]
    # Only the first run told the tiles and plans: four feeders, over the translated network.
    assert len(calls) == 1
    ids, bbox = calls[0]
    assert set(ids) == set(ours(Feeder).values_list("id", flat=True))
    assert -70.7 < bbox[0] < bbox[2] < -70.4 and -33.7 < bbox[1] < bbox[3] < -33.4


def test_a_changed_row_is_updated_and_dated_and_nothing_else(catalogue, oberrhein, tmp_path):
    import_network(OBERRHEIN, source=oberrhein, as_of=date(2024, 1, 31))
    lines = features(oberrhein / "mv_oberrhein_substations_lines.geojson")
    lines[0]["properties"]["length_km"] = 0.6226  # the planner fixed L0 to its trace
    edited = tmp_path / "lines.geojson"
    edited.write_text(json.dumps({"type": "FeatureCollection", "features": lines}))

    result = import_network(
        OBERRHEIN, source=oberrhein, files={"spans": edited}, as_of=date(2024, 2, 29)
    )

    assert (result.created, result.updated) == (0, 1)
    span = ours(Span).get(code="L0")
    assert (span.length_m, span.as_of) == (Decimal("622.60"), date(2024, 2, 29))
    assert ours(Span).filter(as_of=date(2024, 2, 29)).count() == 1
    assert result.changed_feeders == {span.feeder_id}


def test_the_report_and_the_console_name_every_finding(catalogue, oberrhein, tmp_path):
    report = tmp_path / "informe.csv"

    output, error = run(OBERRHEIN, "--source", oberrhein, "--report", report)

    assert error is None
    with report.open(encoding="utf-8") as src:
        assert next(csv.reader(src)) == REPORT_HEADER
    rows = read_report(report)
    assert all(r["entidad"] and r["gravedad"] and r["control"] and r["motivo"] for r in rows)
    dangling = {r["codigo"]: r for r in rows if r["control"] == "vano_colgante"}
    assert set(dangling) == {"L63", "L71", "L165"}
    assert dangling["L165"]["feature"] == "155"
    assert "72 m" in dangling["L165"]["motivo"] and "SE39" in dangling["L165"]["motivo"]
    assert "B48" in dangling["L63"]["motivo"]
    vnr = [r for r in rows if r["control"] == "vnr"]
    assert {r["entidad"] for r in vnr} == {"spans", "transformers"}
    assert any("VA-XLPE-185" in r["motivo"] and "VA-XLPE-70" in r["resultado"] for r in vnr)
    last = output.strip().splitlines()[-1]
    assert SUMMARY.match(last), last
    assert "vanos / longitud: 52" in output


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


def test_an_import_refreshes_the_outlines_the_maps_and_plans_read(catalogue, oberrhein):
    import_network(OBERRHEIN, source=oberrhein)

    assert not ours(Feeder).filter(outline__isnull=True).exists()
    assert scalar(
        f"SELECT count(*) FROM network_feeder f WHERE f.distributor_id = {OURS} "
        "AND NOT ST_Intersects(f.outline, "
        "(SELECT ST_Collect(geom) FROM network_span s WHERE s.feeder_id = f.id))"
    ) == 0  # fmt: skip


def test_a_closed_loop_between_feeders_is_split_and_reported(catalogue, tmp_path):
    switches = json.loads((FIXTURES / "switches.geojson").read_text())
    switches["features"][0]["properties"]["closed"] = True  # the tie SW1 left closed
    closed = tmp_path / "switches.geojson"
    closed.write_text(json.dumps(switches))

    result = import_network(mapping_variant(tmp_path, "", ""), files={"equipment": closed})

    loops = [p for p in result.problems if p.check == "topologia"]
    assert len(loops) == 1
    assert loops[0].ident == "L6" and loops[0].severity == "aviso"
    assert "une los alimentadores que salen por L1 y L4" in loops[0].reason
    assert "sin equipo normalmente abierto" in loops[0].reason
    assert ours(Span, "PRUEBA").filter(code="L6").exists()


def test_a_span_without_length_takes_the_length_of_its_trace(catalogue, tmp_path):
    lines = json.loads((FIXTURES / "lines.geojson").read_text())
    lines["features"][1]["properties"]["length_m"] = None
    edited = tmp_path / "lines.geojson"
    edited.write_text(json.dumps(lines))

    result = import_network(mapping_variant(tmp_path, "", ""), files={"spans": edited})

    span = ours(Span, "PRUEBA").get(code="L2")
    assert abs(span.length_m - Decimal("92.93")) < 1
    warning = next(p for p in result.problems if p.ident == "L2" and p.check == "longitud")
    assert warning.severity == "aviso" and f"{span.length_m} m" in warning.outcome


def test_feeders_can_come_from_a_layer_instead_of_the_topology(catalogue, tmp_path):
    feeder = '\nfeeder = { column = "feeder", ref = "feeders" }'
    mapping = mapping_variant(
        tmp_path,
        '[feeders]\nderive = "topology"',
        '[feeders]\nfile = "feeders.csv"\nid = "feeder_id"\n\n[feeders.fields]\n'
        'code = "feeder_id"\nname = "nombre"\nsubstation = { column = "subestacion", '
        'ref = "substations" }\nnominal_voltage_kv = "kv"\ncapacity_a = "amperes"\n'
        'power_kva = "kva"\nshort_circuit_kva = "scc_kva"',
        *((f"[{name}.fields]", f"[{name}.fields]{feeder}")
          for name in ("poles", "spans", "equipment", "transformers")),
    )  # fmt: skip

    result = import_network(mapping)

    assert {f.code: f.name for f in ours(Feeder, "PRUEBA")} == {
        "F1": "Prueba Poniente",
        "F2": "Prueba Oriente",
    }
    assert ours(Feeder, "PRUEBA").get(code="F1").capacity_a == 245
    assert set(ours(Pole, "PRUEBA").filter(feeder__code="F2").values_list("plate", flat=True)) == {
        "N4",
        "N5",
    }
    assert ours(Span, "PRUEBA").get(code="L1").from_pole is None
    assert result.skipped == 4


# --- Bad input ------------------------------------------------------------------------------


def test_broken_rows_are_named_and_the_rest_is_imported(catalogue, tmp_path):
    report = tmp_path / "informe.csv"
    mapping = mapping_variant(tmp_path, "", "")

    output, error = run(mapping, "--report", report)

    assert error is not None and "4 filas omitidas" in str(error)
    assert "nodes.geojson feature 7 (id N6): sin geometría" in output
    assert "lines.geojson feature 7 (id L7): to_pole: el nodo N99 no existe" in output
    assert "lines.geojson feature 8 (id L8): to_pole: su nodo N6 fue omitido" in output
    assert (
        "transformers.geojson feature 2 (id T2): la placa P-1 ya está en la feature 1 (id T1)"
        in output
    )
    rows = read_report(report)
    errors = {(r["archivo"], r["feature"], r["id"]) for r in rows if r["gravedad"] == "error"}
    assert errors == {
        ("nodes.geojson", "7", "N6"),
        ("lines.geojson", "7", "L7"),
        ("lines.geojson", "8", "L8"),
        ("transformers.geojson", "2", "T2"),
    }
    # The valid rows are stored.
    assert sorted(ours(Pole, "PRUEBA").values_list("plate", flat=True)) == [
        "N1",
        "N2",
        "N3",
        "N4",
        "N5",
    ]
    assert sorted(ours(Span, "PRUEBA").values_list("code", flat=True)) == [
        "L1", "L2", "L3", "L4", "L5", "L6",
    ]  # fmt: skip
    assert sorted(ours(Transformer, "PRUEBA").values_list("code", flat=True)) == ["T1", "T3"]
    feeders = {f.code: f for f in ours(Feeder, "PRUEBA")}
    assert set(feeders) == {"SE1-L1", "SE1-L4"}
    # The tie L6 is open at N2: it belongs to the feeder that feeds N5.
    assert ours(Span, "PRUEBA").get(code="L6").feeder == feeders["SE1-L4"]
    assert ours(Pole, "PRUEBA").get(plate="N2").feeder == feeders["SE1-L1"]
    assert feeders["SE1-L1"].power_kva == 120  # T1 45 kVA + T3 75 kVA
    assert {r["codigo"] for r in rows if r["control"] == "longitud"} == {"L3"}


def test_an_unknown_column_in_the_mapping_is_fatal_and_names_column_and_file(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'mt_voltage_kv = "kv"', 'mt_voltage_kv = "kv_nominal"')
    before = counts()

    output, error = run(mapping)

    assert error is not None
    assert "nodes.geojson" in str(error) and "'kv_nominal'" in str(error)
    assert "[poles] fields.mt_voltage_kv" in str(error)
    assert "No se modificó la base de datos" in str(error)
    assert counts() == before


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

    import_network(mapping_variant(tmp_path, "", ""), files={"poles": utm})

    pole = ours(Pole, "PRUEBA").get(plate="N1")
    assert abs(pole.location.x - -70.649) < 1e-7 and abs(pole.location.y - -33.450) < 1e-7


def test_a_missing_file_is_fatal_and_leaves_the_database_as_it_was(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'file = "lines.geojson"', 'file = "vanos.geojson"')
    before = counts()

    output, error = run(mapping)

    assert error is not None and "vanos.geojson: no existe ([spans])" in str(error)
    assert counts() == before


def test_a_vnr_constant_missing_from_the_catalogue_is_fatal(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, '"PO-HA-10"', '"PO-XX-99"')

    with pytest.raises(NetworkImportError, match="catálogo VNR no tiene PO-XX-99"):
        import_network(mapping)

    assert not Distributor.objects.filter(code="PRUEBA").exists()


def test_an_unknown_vnr_code_without_fallback_skips_the_row(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, '"Cu 25" = "VA-CU-25" }', '"Cu 25" = "VA-CU-99" }')

    result = import_network(mapping)

    unknown = [p for p in result.problems if p.check == "vnr"]
    assert {p.ident for p in unknown} == {"L5", "L6", "L7", "L8"}
    assert all("código VNR desconocido VA-CU-99" in p.reason for p in unknown)
    assert not ours(Span, "PRUEBA").filter(code__in=["L5", "L6"]).exists()


def test_mapping_mistakes_are_fatal_before_anything_is_read(tmp_path):
    cases = {
        ('mt_voltage_kv = "kv"', 'mt_volts = "kv"'): "no tiene un campo importable así",
        ('mt_voltage_kv = "kv"', ""): "falta mt_voltage_kv",
        ('capacity_a = "amps"', 'capacity_a = { expr = "max(amps)" }'): "expresión",
        ('ref = "poles" }\nto_pole', 'ref = "spans" }\nto_pole'): "ref 'spans' inválido",
    }
    for (old, new), message in cases.items():
        with pytest.raises(NetworkImportError, match=message):
            load_mapping(mapping_variant(tmp_path, old, new))


def test_a_demo_distributor_is_never_imported_into(catalogue, tmp_path):
    Distributor.objects.create(code="PRUEBA", name="Demo", synthetic=True)
    mapping = mapping_variant(tmp_path, "", "")

    with pytest.raises(NetworkImportError, match="es de demostración"):
        import_network(mapping)

    assert not ours(Pole, "PRUEBA").exists()


def test_a_dry_run_reports_but_stores_nothing(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, "", "")
    before = counts()

    output, error = run(mapping, "--dry-run")

    assert "simulación: no se guardó nada" in output
    assert error is not None  # rows would have been skipped
    assert counts() == before


def test_an_import_reaches_the_tiles_the_kmz_plans_and_the_pages(
    catalogue, oberrhein, settings, tmp_path, django_capture_on_commit_callbacks, client
):
    from django.contrib.auth import get_user_model

    from geo.kmz import kmz_path
    from geo.models import TileCache
    from geo.tiles import cache, services

    settings.KMZ_DIR = tmp_path
    ensure_demo_geography()
    # A tile cached over La Florida before the import: empty then, stale after.
    z, centre = 14, (-70.55, -33.55)
    x0, y0, _, _ = services.tile_range((*centre, *centre), z)
    cache.get_or_render("red", z, x0, y0)
    assert TileCache.objects.filter(z=z, x=x0, y=y0).exists()

    with django_capture_on_commit_callbacks(execute=True):
        import_network(OBERRHEIN, source=oberrhein)

    assert not TileCache.objects.filter(z=z, x=x0, y=y0).exists()
    feeders = list(ours(Feeder))
    assert feeders and all(kmz_path(f).exists() for f in feeders)
    user = get_user_model().objects.create_user("revisor", "r@example.cl", "clave-segura-123")
    client.force_login(user)
    page = client.get(f"/red/alimentadores/{feeders[0].pk}/")
    assert page.status_code == 200 and feeders[0].code in page.content.decode()
    etag, tile = cache.get_or_render("red", z, x0, y0)
    assert tile  # the re-rendered tile now holds the imported network
