from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import HttpRequest

from demand.models import MonthlyDemand
from geo.demo import COMUNAS
from network.models import Customer, Distributor, Equipment, Feeder, Transformer
from network.services.synthetic import VNR_CATALOGUE, FeederPlan, NetworkGenerator
from portal.services import SeedRefused, seed_demo

pytestmark = pytest.mark.django_db


def scalar(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()[0]


def test_demo_set_has_every_kind_of_asset(demo_network):
    assert demo_network["substations"] == 10
    assert demo_network["feeder"] >= 20
    assert demo_network["poles"] >= 5_000
    assert demo_network["poles"] == demo_network["spans"]
    assert demo_network["transformers"] >= 200
    assert demo_network["customers"] >= 1_000
    kinds = set(Equipment.objects.values_list("kind", flat=True))
    assert kinds == set(Equipment.Kind.values)
    assert Customer.objects.filter(is_eg=True).exists()
    assert Feeder.objects.filter(kind="subalimentador").exists()


def test_demo_geography_does_not_need_the_shared_data(demo_network):
    codes = {c[0] for c in COMUNAS}
    assert set(
        scalar("SELECT array_agg(DISTINCT c.code) FROM network_substation s "
               "JOIN geo_comuna c ON c.id = s.comuna_id")
    ) <= codes  # fmt: skip
    assert scalar(
        "SELECT count(*) FROM network_substation s JOIN geo_comuna c ON c.id = s.comuna_id "
        "WHERE NOT ST_Contains(c.boundary, s.location)"
    ) == 0  # fmt: skip


def test_each_span_length_matches_its_geometry_within_one_percent(demo_network):
    assert scalar("SELECT count(*) FROM network_span") == demo_network["spans"]
    worst = scalar(
        "SELECT max(abs(length_m - ST_Length(geom::geography)) / length_m) FROM network_span"
    )
    assert worst < 0.01
    assert scalar("SELECT count(*) FROM network_span WHERE length_m < 30 OR length_m > 80") == 0


def test_each_transformer_stands_on_a_pole_of_its_own_feeder(demo_network):
    assert scalar(
        "SELECT count(*) FROM network_transformer t JOIN network_pole p ON p.id = t.pole_id "
        "WHERE p.feeder_id <> t.feeder_id "
        "OR ST_Distance(p.location::geography, t.location::geography) > 1"
    ) == 0  # fmt: skip


def test_equipment_stands_on_poles_of_its_feeder(demo_network):
    assert scalar(
        "SELECT count(*) FROM network_equipment e JOIN network_pole p ON p.id = e.pole_id "
        "WHERE p.feeder_id <> e.feeder_id"
    ) == 0  # fmt: skip


def test_every_vnr_code_referenced_by_an_asset_resolves(demo_network):
    for table in ("network_pole", "network_span", "network_equipment", "network_transformer"):
        assert scalar(
            f"SELECT count(*) FROM {table} a LEFT JOIN vnr_vnrcode v ON v.id = a.vnr_id "
            "WHERE v.id IS NULL"
        ) == 0, table  # fmt: skip
        # The foreign key itself is back after the bulk load.
        assert scalar(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND confrelid = 'vnr_vnrcode'::regclass AND contype = 'f'",
            [table],
        ) == 1  # fmt: skip
    assert scalar("SELECT count(*) FROM vnr_vnrcode") == len(VNR_CATALOGUE)


def test_every_feeder_is_a_connected_tree_rooted_at_its_substation(demo_network):
    # One parent per pole: every pole of a feeder is reached by exactly one of its spans.
    assert scalar(
        "SELECT count(*) FROM network_pole p WHERE (SELECT count(*) FROM network_span s "
        "WHERE s.to_pole_id = p.id AND s.feeder_id = p.feeder_id) <> 1"
    ) == 0  # fmt: skip
    # One head span per feeder: from the substation (alimentador) or its purchase node.
    heads = {
        row[0]: row[1:]
        for row in _rows(
            "SELECT f.id, f.kind, count(s.id), bool_and(CASE WHEN f.kind = 'alimentador' "
            "THEN s.from_pole_id IS NULL AND ST_DWithin(ST_StartPoint(s.geom)::geography, "
            "ss.location::geography, 0.5) ELSE s.from_pole_id = f.purchase_node_id END) "
            "FROM network_feeder f JOIN network_substation ss ON ss.id = f.substation_id "
            "JOIN network_span s ON s.feeder_id = f.id AND (s.from_pole_id IS NULL OR "
            "s.from_pole_id NOT IN (SELECT id FROM network_pole WHERE feeder_id = f.id)) "
            "GROUP BY f.id, f.kind"
        )
    }
    assert len(heads) == Feeder.objects.count()
    assert all(count == 1 and rooted for _, count, rooted in heads.values())
    # Walking down from the head reaches every span of the feeder: connected, no cycle.
    unreached = _rows(
        "WITH RECURSIVE walk(feeder_id, pole_id, depth) AS ("
        " SELECT s.feeder_id, s.to_pole_id, 1 FROM network_span s JOIN network_feeder f "
        " ON f.id = s.feeder_id WHERE s.from_pole_id IS NULL OR s.from_pole_id = f.purchase_node_id"
        " UNION ALL SELECT s.feeder_id, s.to_pole_id, w.depth + 1 FROM walk w JOIN network_span s"
        " ON s.from_pole_id = w.pole_id AND s.feeder_id = w.feeder_id WHERE w.depth < 100000)"
        " SELECT f.id, (SELECT count(*) FROM network_span WHERE feeder_id = f.id),"
        " (SELECT count(DISTINCT pole_id) FROM walk WHERE feeder_id = f.id)"
        " FROM network_feeder f"
    )
    assert all(spans == reached and spans > 0 for _, spans, reached in unreached)


def test_subfeeders_are_owned_by_another_distributor_and_bought_on_a_sibling_feeder(
    demo_network,
):
    main = Distributor.objects.get(code="DEMO")
    for feeder in Feeder.objects.filter(kind="subalimentador").select_related("purchase_node"):
        assert feeder.owner_id and feeder.owner_id != main.pk
        parent = feeder.purchase_node.feeder
        assert parent.pk != feeder.pk and parent.substation_id == feeder.substation_id


def test_each_feeder_starts_with_a_recloser_at_its_head(demo_network):
    assert scalar(
        "SELECT count(*) FROM network_feeder f WHERE NOT EXISTS (SELECT 1 FROM network_span s "
        "JOIN network_equipment e ON e.pole_id = s.to_pole_id AND e.kind = 'reconectador' "
        "WHERE s.feeder_id = f.id "
        "AND (s.from_pole_id IS NULL OR s.from_pole_id = f.purchase_node_id))"
    ) == 0  # fmt: skip


def test_feeders_and_monitored_transformers_have_twelve_or_more_months_of_demand(demo_network):
    per_feeder = _rows(
        "SELECT f.id, count(d.id) FROM network_feeder f "
        "LEFT JOIN demand_monthlydemand d ON d.feeder_id = f.id GROUP BY f.id"
    )
    assert per_feeder and all(months >= 12 for _, months in per_feeder)
    monitored = Transformer.objects.filter(smmc=True)
    assert monitored.exists()
    assert all(t.demands.count() >= 12 for t in monitored[:50])
    assert not MonthlyDemand.objects.filter(transformer__smmc=False).exists()
    assert not MonthlyDemand.objects.filter(min_kw__gt=0, max_kw__lt=0).exists()


def test_equipment_keeps_its_settings_month_by_month(demo_network):
    regulator = Equipment.objects.filter(kind="regulador").first()
    months = list(regulator.settings.values_list("month", flat=True))
    assert len(months) >= 12 and len(set(months)) == len(months)
    assert all(m.day == 1 for m in months)


def test_customers_have_valid_normalized_ruts(demo_network):
    from stdnum.cl import rut

    for value in Customer.objects.values_list("rut", flat=True)[:500]:
        assert rut.is_valid(value) and rut.compact(value) == value.replace("-", "")


def test_the_same_seed_grows_the_same_feeder_and_another_seed_a_different_one():
    vnr = {code: i for i, (code, *_) in enumerate(VNR_CATALOGUE)}

    def grow(seed: int):
        plan = FeederPlan("AL1", "Los Aromos", 1, (-70.6, -33.4), 1, 13.2, 300, 0.5, 1)
        rows = NetworkGenerator(seed, date(2026, 1, 15), vnr).feeder(plan)
        return rows.poles, rows.spans, rows.transformers, rows.customers

    assert grow(7) == grow(7)
    assert grow(7) != grow(8)


def test_seed_refuses_to_overwrite_non_demo_data_unless_forced(demo_network):
    Distributor.objects.create(code="REAL", name="Distribuidora Real S.A.")
    with pytest.raises(SeedRefused):
        seed_demo("demo", progress=False, log=lambda _: None)
    assert Distributor.objects.filter(code="REAL").exists()
    counts = seed_demo("demo", force=True, progress=False, log=lambda _: None)
    assert not Distributor.objects.filter(code="REAL").exists()
    assert counts["poles"] == demo_network["poles"]


def test_seed_demo_command_keeps_an_existing_demo_set(demo_network, capsys):
    call_command("seed_demo", "--keep-existing")
    assert "ya cargados" in capsys.readouterr().out


def _rows(sql: str):
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_seed_demo_gives_planners_a_way_into_the_admin(demo_network, client, capsys):
    call_command("seed_demo", "--keep-existing")
    assert "planificador / planificador-demo" in capsys.readouterr().out
    assert client.login(
        request=HttpRequest(), username="planificador", password="planificador-demo"
    )
    assert client.get("/admin/network/pole/").status_code == 200


def test_each_feeder_has_a_generalised_outline_that_follows_its_spans(demo_network):
    assert not Feeder.objects.filter(outline__isnull=True).exists()
    # The outline covers the feeder: every span lies within 15 m of it.
    assert scalar(
        "SELECT count(*) FROM network_span s JOIN network_feeder f ON f.id = s.feeder_id "
        "WHERE NOT ST_DWithin(s.geom::geography, f.outline::geography, 15)"
    ) == 0  # fmt: skip


def test_editing_a_span_in_the_admin_refreshes_its_feeder_outline(demo_network):
    from django.contrib.gis.geos import LineString

    from network.models import Span

    span = Span.objects.filter(from_pole__isnull=False).select_related("from_pole")[10]
    far = (span.from_pole.location.x + 0.05, span.from_pole.location.y)
    span.geom = LineString(span.from_pole.location.coords, far, srid=4326)
    span.save()
    feeder = Feeder.objects.get(pk=span.feeder_id)
    assert feeder.outline.extent[2] >= far[0] - 1e-6


def test_an_admin_edit_drops_the_cached_tiles_over_it_and_rebuilds_the_feeder_plan(
    demo_network, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.contrib.gis.geos import Point

    from maps.kmz import kmz_path
    from maps.models import TileCache
    from maps.tiles import cache
    from network.models import Pole

    settings.KMZ_DIR = tmp_path
    pole = Pole.objects.select_related("feeder").filter(feeder__kind="alimentador")[5]
    far_pole = Pole.objects.exclude(feeder__substation=pole.feeder.substation).first()
    for target in (pole, far_pole):
        cache.get_or_render("red", *cache_address(target.location))
    assert TileCache.objects.count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        pole.location = Point(pole.location.x + 0.0003, pole.location.y, srid=4326)
        pole.save()

    assert TileCache.objects.count() == 1  # the far tile stays cached
    assert kmz_path(pole.feeder).exists()


def cache_address(point, z: int = 15):
    import math

    n = 2**z
    x = int((point.x + 180) / 360 * n)
    lat = math.radians(point.y)
    y = int((1 - math.asinh(math.tan(lat)) / math.pi) / 2 * n)
    return z, x, y


def test_reseeding_replaces_the_metering_data_of_the_old_network(demo_network, tmp_path):
    from metering.models import Channel, IngestRun, IntervalReading, Meter, ObisCode
    from metering.services.ingest import ingest_file
    from tests.factories import make_meter

    make_meter("customer", serial="M-OLD", customer=Customer.objects.order_by("pk").first())
    path = tmp_path / "l.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        "M-OLD,0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0,2026-03-01T00:15:00-03:00,1\n",
        encoding="utf-8",
    )
    assert ingest_file(path, report_path=tmp_path / "r.csv").inserted == 1

    seed_demo("demo", progress=False, log=lambda _: None)

    assert not Meter.objects.filter(serial="M-OLD").exists()
    # Only the new demo's own runs and readings remain: the old file's are gone.
    names = set(IngestRun.objects.values_list("file_name", flat=True))
    demo_runs = ("lecturas_demo_", "eventos_demo_", "respaldo_demo_", "cálculo de medidores")
    assert names and all(n.startswith(demo_runs) for n in names)
    assert "l.csv" not in names
    assert not Channel.objects.filter(meter__serial="M-OLD").exists()
    assert not IntervalReading.objects.filter(ts="2026-03-01T00:15:00-03:00").exists()
    assert ObisCode.objects.filter(code="1.8.0").exists()  # the catalogs stay
