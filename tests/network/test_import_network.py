"""import_network on the real mv_oberrhein export: counts, lengths, feeders, reruns, report."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
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
from network.services.importing import import_network
from network.services.importing.report import REPORT_HEADER
from tests.network.import_helpers import (
    MODELS,
    OBERRHEIN,
    OURS,
    SUMMARY,
    counts,
    features,
    ours,
    read_report,
    run,
    scalar,
)

pytestmark = pytest.mark.django_db


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
        "network.services.importing.announce_change", lambda ids, bbox: calls.append((ids, bbox))
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


def test_an_import_refreshes_the_outlines_the_maps_and_plans_read(catalogue, oberrhein):
    import_network(OBERRHEIN, source=oberrhein)

    assert not ours(Feeder).filter(outline__isnull=True).exists()
    assert scalar(
        f"SELECT count(*) FROM network_feeder f WHERE f.distributor_id = {OURS} "
        "AND NOT ST_Intersects(f.outline, "
        "(SELECT ST_Collect(geom) FROM network_span s WHERE s.feeder_id = f.id))"
    ) == 0  # fmt: skip


def test_an_import_reaches_the_tiles_the_kmz_plans_and_the_pages(
    catalogue, oberrhein, settings, tmp_path, django_capture_on_commit_callbacks, client
):
    from django.contrib.auth import get_user_model

    from maps.kmz import kmz_path
    from maps.models import TileCache
    from maps.tiles import cache, services

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
