"""Capture (§6, point 2): every write path to a table SEC receives leaves change rows."""

# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from demand.models import MonthlyDemand
from metering.models import IntervalReading, RegisterRead
from metering.models.billing import BillingDocument, EgContract, MonthlyBill, RemanenteMovement
from metering.services import ingest
from network.models import Distributor, Pole, Substation
from network.services import bulk
from network.services import seed as network_seed
from network.services.importing import import_network
from regulator.capture import (
    ALL,
    CAPTURED,
    FUNCTION,
    INTERVAL_ENTITY,
    INTERVALS,
    REFERENCE_ONLY,
    trigger_name,
)
from regulator.dependencies import IMMUTABLE, referenced_columns
from regulator.models import Change, CurrentTxid
from tests import factories as f
from tests.metering.test_billing_support import (  # noqa: F401
    billing_store,
    customers,
    export,
    run,
)
from tests.network.import_helpers import TINY

pytestmark = pytest.mark.django_db

READINGS = Path(__file__).parents[1] / "fixtures" / "metering" / "readings"
ENTITY = {c.table: c.entity for c in CAPTURED}


def changes(entity: str | None = None) -> list[tuple[str, str, str]]:
    """(aggregatetype, aggregateid, type) of what this test's transaction captured, in order."""
    rows = Change.objects.filter(txid=CurrentTxid()).order_by("id")
    if entity:
        rows = rows.filter(aggregatetype=entity)
    return list(rows.values_list("aggregatetype", "aggregateid", "type"))


def tally() -> Counter:
    return Counter((entity, kind) for entity, _, kind in changes())


def entity_of(model) -> str:
    return ENTITY[model._meta.db_table]


def test_the_captured_tables_are_the_models_sec_receives():
    tables = {c.table for c in CAPTURED}
    network = {m._meta.db_table for m in apps.get_app_config("network").get_models()}
    expected = network | {
        m._meta.db_table
        for m in (
            MonthlyDemand,
            apps.get_model("vnr", "VnrCode"),
            MonthlyBill,
            BillingDocument,
            RemanenteMovement,
            EgContract,
            RegisterRead,
            apps.get_model("capacity", "ConnectionRequest"),
        )
    }
    assert tables == expected
    assert len({c.entity for c in CAPTURED}) == len(CAPTURED)
    assert IntervalReading._meta.db_table not in tables


def test_each_change_names_the_record_type_of_the_contract():
    from regulator.records import RECORD_TYPES

    assert {c.table: c.entity for c in CAPTURED} == {
        rt.model._meta.db_table: rt.entity for rt in RECORD_TYPES
    }


def test_every_captured_table_has_its_statement_triggers_and_none_is_deferred():
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.relname, t.tgname, t.tgtype, t.tgconstraint <> 0, t.tgdeferrable,
                   t.tgnewtable, t.tgoldtable, t.tgargs
              FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              JOIN pg_proc p ON p.oid = t.tgfoid
             WHERE p.proname = %s AND NOT t.tgisinternal
            """,
            [FUNCTION],
        )
        found = cur.fetchall()
    installed = {
        (table, name, *bytes(args).decode().split("\0")[:5]) for table, name, *_, args in found
    }
    assert installed == {(c.table, trigger_name(e), *c.arguments) for c in ALL for e in c.events}
    for table, name, tgtype, constraint, deferrable, new, old, _ in found:
        assert not tgtype & 1, f"{table}.{name} fires per row"  # TRIGGER_TYPE_ROW
        assert not constraint and not deferrable, f"{table}.{name} is a constraint trigger"
        if name.endswith("insert"):
            assert new == "changed" and old is None
        elif name.endswith("update"):
            expected_old = None if table == INTERVALS.table else "old_rows"
            assert new == "changed" and old == expected_old
        elif name.endswith("delete"):
            assert old == "changed" and new is None


def test_the_referenced_columns_are_those_the_records_read():
    """Each table's `references` are what some record reads of it through a relation; the
    tables records read that are not captured are listed as immutable reference data."""
    derived = referenced_columns()
    for c in (*CAPTURED, *REFERENCE_ONLY):
        assert c.references == derived.get(c.table, ()), c.table
    captured = {c.table for c in (*CAPTURED, *REFERENCE_ONLY)}
    assert set(derived) - captured == IMMUTABLE


def test_an_update_of_a_read_column_is_flagged_and_meters_only_then():
    feeder = f.make_feeder()
    meter = f.make_meter("customer", serial="MC-0100")
    Change.objects.filter(txid=CurrentTxid()).delete()
    feeder.name = "Otro nombre"
    feeder.save()
    feeder.code = "AL-RENOMBRADO"
    feeder.save()
    meter.save()  # nothing a record reads changed: not captured
    meter.serial = "MC-0101"
    meter.save()
    rows = Change.objects.filter(txid=CurrentTxid()).order_by("id")
    # (A feeder's save also refreshes its outline: the same change twice is one here.)
    seen = [(r.aggregatetype, json.dumps(r.payload, sort_keys=True)) for r in rows]
    assert [(t, json.loads(p)) for t, p in dict.fromkeys(seen)] == [
        ("alimentadores", {"id": feeder.pk}),
        ("alimentadores", {"id": feeder.pk, "refs": True}),
        ("_ref.metering_meter", {"id": meter.pk, "refs": True}),
    ]


def test_orm_create_update_and_delete_are_captured_with_the_row_key():
    pole = f.make_pole()
    key = str(pole.pk)
    Change.objects.filter(txid=CurrentTxid()).delete()  # the factory's own rows

    pole.height_m = Decimal("12.0")
    pole.save()
    pole.delete()
    created = f.make_vnr()

    assert changes("postes") == [("postes", key, "update"), ("postes", key, "delete")]
    assert changes("codigos_vnr") == [("codigos_vnr", str(created.pk), "insert")]
    payload = Change.objects.filter(aggregatetype="postes", txid=CurrentTxid()).first().payload
    assert payload == {"id": int(key)}


def test_queryset_update_and_bulk_create_are_captured_row_by_row():
    feeder = f.make_feeder()
    poles = [f.make_pole(feeder=feeder) for _ in range(3)]
    Change.objects.filter(txid=CurrentTxid()).delete()

    Pole.objects.filter(feeder=feeder).update(height_m=Decimal("9.0"))
    made = Distributor.objects.bulk_create(
        Distributor(code=f"BULK{i}", name=f"Bulk {i}", rut=f.valid_rut(77_000_000 + i))
        for i in range(4)
    )
    Distributor.objects.bulk_create(
        [Distributor(code="BULK0", name="Bulk 0 renombrada", rut=made[0].rut)],
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name"],
    )

    assert sorted(changes("postes")) == sorted(("postes", str(p.pk), "update") for p in poles)
    assert changes("distribuidoras") == [
        *(("distribuidoras", str(d.pk), "insert") for d in made),
        ("distribuidoras", str(made[0].pk), "update"),  # the upsert's conflict branch
    ]


def test_raw_sql_insert_update_and_delete_are_captured():
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO network_distributor (as_of, code, name, rut, synthetic) "
            "VALUES (%s, 'RAW', 'Cruda', %s, false) RETURNING id",
            [date(2025, 1, 31), f.valid_rut(78_000_001)],
        )
        (pk,) = cur.fetchone()
        cur.execute("UPDATE network_distributor SET name = 'Cocida' WHERE id = %s", [pk])
        cur.execute("UPDATE network_distributor SET name = 'nada' WHERE false")
        cur.execute("DELETE FROM network_distributor WHERE id = %s", [pk])

    key = str(pk)
    assert changes() == [
        ("distribuidoras", key, "insert"),
        ("distribuidoras", key, "update"),
        ("distribuidoras", key, "delete"),
    ]


def test_one_copy_of_many_rows_is_one_trigger_call_and_one_change_per_row():
    rows = [
        (date(2025, 1, 31), f"COPY{i}", f"Copiada {i}", f.valid_rut(79_000_000 + i), False)
        for i in range(500)
    ]
    with connection.cursor() as cur:
        cur.execute("SET LOCAL track_functions = 'pl'")
    bulk.copy_rows("network_distributor", ("as_of", "code", "name", "rut", "synthetic"), rows)

    with connection.cursor() as cur:
        cur.execute("SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = %s", [FUNCTION])
        assert cur.fetchone() == (1,)
    codes = dict(Distributor.objects.filter(code__startswith="COPY").values_list("pk", "code"))
    captured = changes("distribuidoras")
    assert len(captured) == 500
    assert {int(pk) for _, pk, kind in captured if kind == "insert"} == set(codes)


def test_truncate_records_one_event_per_table_cascaded_ones_included():
    f.make_customer()
    with connection.cursor() as cur:
        # The factory's deferred foreign key checks, not the capture, would stop a TRUNCATE.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("TRUNCATE metering_monthlybill, demand_monthlydemand")
        cur.execute("TRUNCATE network_customer CASCADE")  # metering's billing tables follow

    truncated = [(entity, pk) for entity, pk, kind in changes() if kind == "truncate"]
    assert ("facturaciones_mensuales", "*") in truncated
    assert ("demandas_mensuales", "*") in truncated
    assert ("clientes", "*") in truncated
    assert {"contratos_eg", "documentos_facturacion", "movimientos_remanente"} <= {
        e for e, _ in truncated
    }


def test_the_network_import_is_captured(catalogue):
    result = import_network(TINY, as_of=date(2025, 1, 31), partial=True)
    assert result.committed

    counts = tally()
    assert counts[("distribuidoras", "insert")] == 1
    for model in (Substation, Pole, apps.get_model("network", "Span")):
        stored = model.objects.filter(distributor__code="PRUEBA").count()
        assert stored and counts[(entity_of(model), "insert")] == stored, model.__name__
    stored = set(Substation.objects.filter(distributor__code="PRUEBA").values_list("pk", flat=True))
    assert {int(pk) for _, pk, kind in changes("subestaciones") if kind == "insert"} == stored


def test_the_billing_import_is_captured(customers, export):
    run(export)

    counts = tally()
    for model in (MonthlyBill, BillingDocument, RemanenteMovement, EgContract):
        assert counts[(entity_of(model), "insert")] == model.objects.count() > 0, model.__name__
    # The PDFs themselves are files, not records: their table is not captured.
    assert not Change.objects.filter(aggregatetype__icontains="pdf").exists()


def test_the_connection_queue_import_is_captured(tmp_path):
    from capacity.models import ConnectionRequest
    from capacity.services.queue import import_queue

    pole = f.make_pole()
    path = tmp_path / "cola.csv"
    path.write_text(
        "id_publico;estado;fecha_solicitud;potencia_mw;poste\n"
        f"SC-1;en_estudio;2025-04-01;3;{pole.plate}\nSC-2;aprobada;2025-05-01;2;{pole.plate}\n",
        encoding="utf-8",
    )
    import_queue(path, pole.distributor.code)
    path.write_text(
        "id_publico;estado;fecha_solicitud;potencia_mw;poste\n"
        f"SC-1;conectada;2025-04-01;3;{pole.plate}\n",
        encoding="utf-8",
    )
    import_queue(path, pole.distributor.code)

    counts = tally()
    assert counts[("solicitudes_conexion", "insert")] == 2
    assert counts[("solicitudes_conexion", "update")] == 1
    assert ConnectionRequest.objects.count() == 2


def test_a_seed_captures_its_truncates_and_every_row_it_copies(catalogue, monkeypatch):
    monkeypatch.setitem(
        network_seed.SCALES, "tiny", network_seed.Scale(1, (1, 2), (10, 20), 0.3, 50)
    )
    Change.objects.filter(txid=CurrentTxid()).delete()  # the catalogue fixture's rows
    network_seed.seed_network("tiny", progress=False, log=lambda _: None, force=True)

    counts = tally()
    for table in network_seed.ALL_TABLES:
        assert counts[(ENTITY[table], "truncate")] == 1, table
    for c in CAPTURED:
        if c.table in network_seed.ALL_TABLES:
            model = next(m for m in apps.get_models() if m._meta.db_table == c.table)
            assert counts[(c.entity, "insert")] == model.objects.count(), c.table
    assert counts[("postes", "insert")] > 0


def test_a_planner_editing_a_pole_in_the_admin_is_captured(client, planner):
    pole = f.make_pole()
    client.force_login(planner)
    data = {
        "distributor": pole.distributor_id,
        "plate": pole.plate,
        "feeder": pole.feeder_id,
        "vnr": pole.vnr_id,
        "mt_voltage_kv": "13.2",
        "bt_voltage_v": "380",
        "material": "hormigón",
        "height_m": "11.5",
        "location": '{"type": "Point", "coordinates": [-7865000.0, -3953000.0]}',
        "as_of": "2025-01-31",
    }
    response = client.post(reverse("admin:network_pole_change", args=[pole.pk]), data)

    assert response.status_code == 302
    assert changes("postes")[-1] == ("postes", str(pole.pk), "update")


def test_the_reading_ingest_captures_register_reads_and_interval_months_not_rows(tmp_path):
    f.make_meter("customer", serial="MC-0001")
    f.make_meter("totalizer", serial="TT-0001")
    Change.objects.filter(txid=CurrentTxid()).delete()

    ingest.ingest_file(READINGS / "lecturas_ok.xml", report_path=tmp_path / "informe.csv")

    stored = IntervalReading.objects.count()
    assert stored > 1
    counts = tally()
    assert counts[("lecturas_registro", "insert")] == RegisterRead.objects.count() > 0
    # The interval store: one change per statement and local month, never one per row.
    months = changes(INTERVAL_ENTITY)
    assert 0 < len(months) < stored
    assert {key for _, key, _ in months} == {"2026-03"}
    assert {entity for entity, _ in counts} <= {"lecturas_registro", INTERVAL_ENTITY}
    Change.objects.filter(txid=CurrentTxid()).delete()
    with connection.cursor() as cur:
        cur.execute("UPDATE metering_intervalreading SET quality = quality")
        cur.execute("DELETE FROM metering_intervalreading")
    assert changes() == [
        (INTERVAL_ENTITY, "2026-03", "update"),
        (INTERVAL_ENTITY, "2026-03", "delete"),
    ]
