"""ingest_readings: CIM XML and CSV into the partitioned store, idempotent, bad rows reported."""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from metering.models import (
    Channel,
    IngestRun,
    IntervalReading,
    MeterEvent,
    Quality,
    RegisterRead,
)
from metering.services import ingest, partitions, sources
from tests.factories import make_meter

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metering" / "readings"
A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
A_MINUS = "0.0.2.4.19.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")


@pytest.fixture
def meters():
    customer = make_meter("customer", serial="MC-0001")
    totalizer = make_meter("totalizer", serial="TT-0001")
    return customer, totalizer


def load(name: str, tmp_path: Path, **kwargs) -> ingest.IngestResult:
    return ingest.ingest_file(FIXTURES / name, report_path=tmp_path / f"{name}.csv", **kwargs)


def report_rows(result: ingest.IngestResult) -> list[dict[str, str]]:
    with open(result.report_path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def values(serial: str, code: str) -> dict[datetime, float]:
    rows = IntervalReading.objects.filter(
        channel__meter__serial=serial, channel__reading_type__code=code
    ).values_list("ts", "value")
    return {ts.astimezone(SANTIAGO).replace(tzinfo=None): value for ts, value in rows}


def counts() -> tuple[int, int, int, int]:
    return (
        IntervalReading.objects.count(),
        RegisterRead.objects.count(),
        MeterEvent.objects.count(),
        Channel.objects.count(),
    )


# --- CIM XML -------------------------------------------------------------------------------


def test_a_cim_message_loads_intervals_registers_and_events(meters, tmp_path):
    result = load("lecturas_ok.xml", tmp_path)

    assert not result.fatal and result.rejected == 0
    assert (result.values_read, result.inserted, result.registers_inserted) == (10, 8, 2)
    assert result.events_inserted == 2
    assert values("MC-0001", A_PLUS) == {
        datetime(2026, 3, 1, 0, 15): 0.21,
        datetime(2026, 3, 1, 0, 30): 0.19,
        datetime(2026, 3, 1, 0, 45): 0.18,
        datetime(2026, 3, 1, 1, 0): 0.2,
    }
    assert values("MC-0001", A_MINUS) == {
        datetime(2026, 3, 1, 12, 15): 0.35,
        datetime(2026, 3, 1, 12, 30): 0.4,
    }
    assert values("TT-0001", A_PLUS) == {
        datetime(2026, 3, 1, 0, 15): 8.5,
        datetime(2026, 3, 1, 0, 30): 8.25,
    }
    registers = dict(
        RegisterRead.objects.filter(meter__serial="MC-0001").values_list("obis__code", "value")
    )
    assert {code: float(v) for code, v in registers.items()} == {
        "1.8.0": 12345.678,
        "2.8.0": 2210.5,
    }
    assert sorted(MeterEvent.objects.values_list("event_type__category", flat=True)) == [
        "outage_end",
        "outage_start",
    ]
    run = IngestRun.objects.get()
    assert (run.message_id, run.correlation_id) == ("b3f1c2a0-0001", "lectura-diaria-2026-03-01")
    assert run.status == IngestRun.Status.DONE and run.inserted == 10


def test_the_head_end_quality_flag_is_kept_on_each_value(meters, tmp_path):
    load("lecturas_ok.xml", tmp_path)
    flags = dict(
        IntervalReading.objects.filter(channel__meter__serial="MC-0001").values_list(
            "value", "quality"
        )
    )
    assert flags[0.18] == Quality.SOURCE  # ReadingQualityType 2.6.0
    assert flags[0.21] == Quality.VALID  # 1.0.0
    assert flags[0.19] == Quality.VALID  # none given


def test_running_the_same_file_again_changes_nothing(meters, tmp_path):
    load("lecturas_ok.xml", tmp_path)
    before = counts()
    stored = sorted(IntervalReading.objects.values_list("channel_id", "ts", "value", "run_id"))

    again = load("lecturas_ok.xml", tmp_path)

    assert (again.inserted, again.registers_inserted, again.events_inserted) == (0, 0, 0)
    assert again.already_present == 10 and again.rejected == 0
    assert counts() == before
    assert sorted(IntervalReading.objects.values_list("channel_id", "ts", "value", "run_id")) == (
        stored
    )


def test_bad_values_are_reported_with_their_line_and_the_good_ones_are_kept(meters, tmp_path):
    result = load("lecturas_con_errores.xml", tmp_path)

    assert not result.fatal
    assert values("MC-0001", A_PLUS)[datetime(2026, 3, 3, 0, 15)] == 0.3
    assert datetime(2026, 3, 3, 1, 0) in values("MC-0001", A_PLUS)
    assert result.inserted == 2
    reasons = {(row["ubicación"], row["campo"]): row["motivo"] for row in report_rows(result)}
    assert reasons[("línea 17 (IntervalReadings)", "timeStamp")].startswith(
        "fecha y hora sin zona horaria"
    )
    assert reasons[("línea 20 (IntervalReadings)", "value")] == "valor no numérico"
    assert (
        reasons[("línea 23", "timestamp")]
        == "duplicado en el archivo (primera aparición: línea 14)"
    )
    assert reasons[("línea 29", "timestamp")].startswith(
        "duplicado en el archivo con otro valor (primera aparición: línea 26"
    )
    assert reasons[("línea 35", "reading_type")].startswith("tipo de lectura desconocido")
    assert reasons[("línea 39 (EndDeviceEvents)", "EndDeviceEventType")].startswith(
        "tipo de evento desconocido"
    )
    assert reasons[("línea 48", "meter")] == "medidor desconocido"
    assert reasons[("línea 53 (MeterReading)", "Meter")] == "falta el medidor"
    assert result.rejected == len(report_rows(result)) == 8
    assert MeterEvent.objects.count() == 0


def test_a_value_already_stored_with_another_value_is_reported_and_not_overwritten(
    meters, tmp_path
):
    load("lecturas_ok.csv", tmp_path)
    changed = tmp_path / "cambio.csv"
    changed.write_text(
        "meter;reading_type;timestamp;value\n"
        f"MC-0001;{A_PLUS};2026-03-04T00:15:00-03:00;0,99\n"
        f"MC-0001;{A_PLUS};2026-03-04T00:30:00-03:00;0,24\n",
        encoding="utf-8",
    )
    result = ingest.ingest_file(changed, report_path=tmp_path / "r.csv", decimal=",")

    assert result.inserted == 0 and result.already_present == 1
    (row,) = report_rows(result)
    assert row["ubicación"] == "línea 2" and row["campo"] == "value"
    assert row["motivo"] == "ya existe con otro valor (0.22); se conserva el existente"
    assert values("MC-0001", A_PLUS)[datetime(2026, 3, 4, 0, 15)] == 0.22


@pytest.mark.parametrize("name", ["lecturas_xxe.xml", "lecturas_bomba.xml"])
def test_xml_with_a_dtd_or_entities_is_refused_whole(meters, tmp_path, name):
    result = load(name, tmp_path)

    assert "DTD" in result.fatal
    assert counts()[:3] == (0, 0, 0)
    assert IngestRun.objects.get().status == IngestRun.Status.FAILED
    assert "root:" not in Path(result.report_path).read_text(encoding="utf-8-sig")


def test_a_message_that_is_not_meter_readings_is_refused(meters, tmp_path):
    result = load("otro_mensaje.xml", tmp_path)
    assert result.fatal == "el mensaje es EndDeviceControls, se esperaba MeterReadings"
    assert counts()[0] == 0


def test_a_document_that_is_not_an_event_message_is_refused(meters, tmp_path):
    other = tmp_path / "otro.xml"
    other.write_text("<Lecturas><Fila>1</Fila></Lecturas>", encoding="utf-8")
    result = ingest.ingest_file(other, report_path=tmp_path / "r.csv")
    assert result.fatal == "se esperaba un EventMessage (IEC 61968-9), no Lecturas"


def test_malformed_xml_names_its_line(meters, tmp_path):
    broken = tmp_path / "roto.xml"
    text = (FIXTURES / "lecturas_ok.xml").read_text(encoding="utf-8")
    broken.write_text(text[: len(text) * 2 // 3], encoding="utf-8")  # cut off mid-document
    result = ingest.ingest_file(broken, report_path=tmp_path / "r.csv")
    assert result.fatal.startswith("línea ") and "XML mal formado" in result.fatal
    assert counts()[:3] == (0, 0, 0)  # the valid part before the error is not half-loaded


# --- CSV ------------------------------------------------------------------------------------


def test_a_csv_file_loads_with_cim_or_obis_reading_types_and_decimal_commas(meters, tmp_path):
    result = load("lecturas_ok.csv", tmp_path)

    assert result.rejected == 0 and result.inserted == 4 and result.registers_inserted == 1
    assert values("MC-0001", A_PLUS) == {
        datetime(2026, 3, 4, 0, 15): 0.22,
        datetime(2026, 3, 4, 0, 30): 0.24,
        datetime(2026, 3, 4, 0, 45): 0.2,  # given as OBIS 1.29.0
    }
    assert values("TT-0001", A_PLUS) == {datetime(2026, 3, 4, 0, 15): 9.1}
    (register,) = RegisterRead.objects.all()
    assert (register.obis.code, float(register.value)) == ("1.8.0", 12400.1)


def test_bad_csv_rows_are_reported_by_line_and_field(meters, tmp_path):
    result = load("lecturas_con_errores.csv", tmp_path)

    reasons = {(row["ubicación"], row["campo"]): row["motivo"] for row in report_rows(result)}
    assert reasons[("línea 3", "timestamp")] == "fecha y hora inválida: '06/03/2026 00:30'"
    assert reasons[("línea 4", "value")] == "valor no numérico"
    assert reasons[("línea 5", "")] == "3 columnas, se esperaban 4"
    assert reasons[("línea 6", "meter")] == "medidor desconocido"
    assert reasons[("línea 7", "reading_type")] == (
        "el código OBIS 32.7.0 corresponde a varios tipos de lectura: use el código CIM"
    )
    assert reasons[("línea 8", "timestamp")] == (
        "duplicado en el archivo (primera aparición: línea 2)"
    )
    assert reasons[("línea 9", "timestamp")].startswith("fecha fuera de rango")
    assert len(reasons) == result.rejected == 7
    # The good rows, a negative value included (the VEE flags it; ingest keeps what came).
    assert values("MC-0001", A_PLUS) == {
        datetime(2026, 3, 6, 0, 15): 0.3,
        datetime(2026, 3, 6, 1, 0): -0.1,
    }


def test_a_csv_without_its_required_columns_is_refused_naming_them(meters, tmp_path):
    result = load("columnas_malas.csv", tmp_path)
    assert result.fatal == (
        "línea 1: faltan columnas: meter, value; columnas desconocidas: medidor, valor"
    )
    assert counts()[0] == 0


# --- store, chunks, interruptions -----------------------------------------------------------


def test_readings_go_to_monthly_partitions_in_local_time(meters, tmp_path):
    path = tmp_path / "meses.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        f"MC-0001,{A_PLUS},2026-02-28T23:45:00-03:00,1\n"
        f"MC-0001,{A_PLUS},2026-03-01T00:00:00-03:00,2\n"  # end of Feb's last interval
        f"MC-0001,{A_PLUS},2026-03-01T00:15:00-03:00,3\n",
        encoding="utf-8",
    )
    ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert {"metering_intervalreading_2026_02", "metering_intervalreading_2026_03"} <= set(
        partitions.partitions()
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM metering_intervalreading_2026_02")
        assert cur.fetchone()[0] == 1  # 00:00 of March 1st is March's


def test_small_chunks_give_the_same_result_as_one(meters, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BATCH", 2)
    result = load("lecturas_ok.xml", tmp_path)
    assert (result.inserted, result.registers_inserted, result.rejected) == (8, 2, 0)
    assert Channel.objects.filter(meter__serial="MC-0001").count() == 4


def test_an_interrupted_run_leaves_nothing_and_a_rerun_loads_exactly_the_file(
    meters, tmp_path, monkeypatch
):
    monkeypatch.setattr(sources, "BATCH", 2)
    calls = {"n": 0}
    real = ingest.partitions.ensure_partitions

    def crash(*args, **kwargs):
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest.partitions, "ensure_partitions", crash)
    with pytest.raises(KeyboardInterrupt):
        load("lecturas_ok.xml", tmp_path)
    assert calls["n"] == 1
    assert counts()[:3] == (0, 0, 0)
    assert IngestRun.objects.get().status == IngestRun.Status.INTERRUPTED

    monkeypatch.setattr(ingest.partitions, "ensure_partitions", real)
    result = load("lecturas_ok.xml", tmp_path)
    assert (result.inserted, result.registers_inserted, result.events_inserted) == (8, 2, 2)
    assert counts()[:3] == (8, 2, 2)


def test_the_command_loads_a_folder_and_prints_one_line_per_file(meters, tmp_path):
    folder = tmp_path / "entrada"
    folder.mkdir()
    for name in ("lecturas_ok.xml", "lecturas_ok.csv"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    out = StringIO()
    call_command("ingest_readings", str(folder), "--no-progress", stdout=out)
    text = out.getvalue()
    assert "lecturas_ok.csv: 5 valores leídos" in text
    assert "lecturas_ok.xml: 10 valores leídos" in text
    assert text.strip().endswith(
        "2 archivo(s): 15 valores leídos, 15 nuevos, 0 ya cargados, 0 rechazados"
    )


def test_the_command_fails_when_a_file_is_refused_whole(meters, tmp_path):
    with pytest.raises(CommandError, match="1 archivo"):
        call_command(
            "ingest_readings",
            str(FIXTURES / "lecturas_xxe.xml"),
            "--no-progress",
            stdout=StringIO(),
        )


def test_a_duplicate_in_a_later_chunk_of_the_file_is_still_reported(meters, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BATCH", 2)
    path = tmp_path / "repetido.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        f"MC-0001,{A_PLUS},2026-03-07T00:15:00-03:00,1\n"
        f"MC-0001,{A_PLUS},2026-03-07T00:30:00-03:00,2\n"
        f"MC-0001,{A_PLUS},2026-03-07T00:45:00-03:00,3\n"
        f"MC-0001,{A_PLUS},2026-03-07T00:15:00-03:00,9\n"  # line 5, a later chunk
        f"MC-0001,1.8.0,2026-03-07T00:00:00-03:00,100\n"
        f"MC-0001,1.8.0,2026-03-07T00:00:00-03:00,100\n",  # line 7, the same chunk
        encoding="utf-8",
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert (result.inserted, result.registers_inserted, result.rejected) == (3, 1, 2)
    reasons = {row["ubicación"]: row["motivo"] for row in report_rows(result)}
    assert reasons["línea 5"].startswith("duplicado en el archivo (un valor anterior")
    assert reasons["línea 7"] == "duplicado en el archivo (primera aparición: línea 6)"
    assert values("MC-0001", A_PLUS)[datetime(2026, 3, 7, 0, 15)] == 1

    again = ingest.ingest_file(path, report_path=tmp_path / "r2.csv")
    assert (again.inserted, again.already_present) == (0, 4)
    assert again.rejected == 2  # the repeats are repeats again


def test_values_that_are_not_finite_are_refused_with_their_line(meters, tmp_path):
    path = tmp_path / "no_finitos.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        f"MC-0001,{A_PLUS},2026-03-08T00:15:00-03:00,0.5\n"
        f"MC-0001,{A_PLUS},2026-03-08T00:30:00-03:00,nan\n"
        f"MC-0001,{A_PLUS},2026-03-08T00:45:00-03:00,inf\n"
        f"MC-0001,{A_PLUS},2026-03-08T01:00:00-03:00,-Infinity\n"
        f"MC-0001,{A_PLUS},2026-03-08T01:15:00-03:00,0.7\n",
        encoding="utf-8",
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (2, 3)
    rows = report_rows(result)
    assert [(row["ubicación"], row["campo"], row["motivo"]) for row in rows] == [
        ("línea 3", "value", "valor no numérico"),
        ("línea 4", "value", "valor no numérico"),
        ("línea 5", "value", "valor no numérico"),
    ]
    assert [row["valor"] for row in rows] == ["nan", "inf", "-Infinity"]  # as written
    assert sorted(values("MC-0001", A_PLUS).values()) == [0.5, 0.7]


def test_a_file_ordered_by_time_across_meters_loads_the_same(meters, tmp_path, monkeypatch):
    """Slot by slot across meters, not meter by meter as head-ends usually export."""
    monkeypatch.setattr(sources, "BATCH", 4)
    lines = ["meter,reading_type,timestamp,value"]
    for slot in range(1, 7):
        stamp = f"2026-03-09T{slot // 4:02d}:{slot % 4 * 15:02d}:00-03:00"
        lines += [f"TT-0001,{A_PLUS},{stamp},{10 + slot}", f"MC-0001,{A_PLUS},{stamp},{slot}"]
    path = tmp_path / "por_hora.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (12, 0)
    assert sorted(values("MC-0001", A_PLUS).values()) == [1, 2, 3, 4, 5, 6]
    assert sorted(values("TT-0001", A_PLUS).values()) == [11, 12, 13, 14, 15, 16]


def test_a_database_error_while_copying_fails_the_file_and_keeps_nothing(
    meters, tmp_path, monkeypatch
):
    """Any error but a key already stored ends the file: the run says so, nothing stays,
    and the connection is usable for the next file."""
    monkeypatch.setattr(ingest, "COPY_TO_STORE", "COPY metering_no_such_table FROM STDIN")
    with pytest.raises(Exception, match="metering_no_such_table"):
        load("lecturas_ok.csv", tmp_path)
    run = IngestRun.objects.get()
    assert run.status == IngestRun.Status.FAILED and "UndefinedTable" in run.error
    assert counts()[:2] == (0, 0)

    monkeypatch.undo()
    result = load("lecturas_ok.csv", tmp_path)
    assert (result.inserted, result.registers_inserted) == (4, 1)


def test_a_batch_is_sent_in_primary_key_order():
    rows = ingest._Rows(
        lines=np.array([2, 3, 4, 5]),
        channels=np.array([9, 4, 9, 4], dtype=np.int32),
        stamps=np.array([10, 10, 5, 20]),
        values=np.array([1.0, 2.0, 3.0, 4.0]),
        qualities=np.zeros(4, dtype=np.int16),
    )
    ordered = rows.in_key_order()
    assert list(zip(ordered.channels, ordered.stamps, ordered.lines, strict=True)) == [
        (4, 10, 3),
        (4, 20, 5),
        (9, 5, 4),
        (9, 10, 2),
    ]
    assert ordered.in_key_order() is ordered  # already in order: left as is


def test_binary_copy_rows_are_packed_as_postgresql_reads_them():
    """The numpy records give the same bytes as packing each row by hand."""
    import struct

    payload = ingest.copy_payload(
        ingest.STORE_ROW,
        channel_id=np.array([7, 8]),
        run_id=3,
        ts=np.array([1, -2]),
        value=np.array([0.25, -1.5]),
        quality=np.array([0, 16]),
    )
    row = struct.Struct(">h i i i i i q i d i h")
    assert payload == (
        b"PGCOPY\n\xff\r\n\x00"
        + struct.pack(">ii", 0, 0)
        + row.pack(5, 4, 7, 4, 3, 8, 1, 8, 0.25, 2, 0)
        + row.pack(5, 4, 8, 4, 3, 8, -2, 8, -1.5, 2, 16)
        + struct.pack(">h", -1)
    )


def test_keys_another_load_stored_meanwhile_fail_the_file_whole(meters, tmp_path, monkeypatch):
    """The careful insert counts what it inserted against the new keys its snapshot saw; when
    they differ (another load committed some of them in between), nothing of the file stays."""
    load("lecturas_ok.csv", tmp_path)
    real = ingest._Loader._insert_staged

    def raced(self, sql):
        answer = real(self, sql)
        return [
            (kind, *row[:-3], row[-3], row[-2] + 1, row[-1]) if kind == "counts" else (kind, *row)
            for kind, *row in answer
        ]

    monkeypatch.setattr(ingest._Loader, "_insert_staged", raced)
    again = load("lecturas_ok.csv", tmp_path)
    assert again.fatal.startswith("otra carga guardó al mismo tiempo lecturas de este archivo")
    assert IngestRun.objects.filter(status=IngestRun.Status.FAILED).count() == 1
    assert counts()[:2] == (4, 1)  # as the first run left them


def test_after_the_overlap_with_stored_data_the_file_goes_back_to_copy(
    meters, tmp_path, monkeypatch
):
    monkeypatch.setattr(sources, "BATCH", 2)
    stamps = [f"2026-03-10T{h:02d}:00:00-03:00" for h in range(1, 7)]
    rows = [f"MC-0001,{A_PLUS},{ts},{n}" for n, ts in enumerate(stamps, start=1)]
    first = tmp_path / "dia.csv"
    first.write_text("meter,reading_type,timestamp,value\n" + "\n".join(rows[:2]) + "\n")
    ingest.ingest_file(first, report_path=tmp_path / "r1.csv")

    copies = []
    real = ingest._Loader._copy_to_store
    monkeypatch.setattr(
        ingest._Loader,
        "_copy_to_store",
        lambda self, payload: copies.append(1) or real(self, payload),
    )
    overlapping = tmp_path / "dia_y_siguientes.csv"
    overlapping.write_text("meter,reading_type,timestamp,value\n" + "\n".join(rows) + "\n")
    result = ingest.ingest_file(overlapping, report_path=tmp_path / "r2.csv")

    assert (result.inserted, result.already_present, result.rejected) == (4, 2, 0)
    # Two COPYs: batch 1's, which failed (its keys were stored), and batch 3's. Batch 2 went
    # the careful way after batch 1 and found nothing stored: the COPY came back for batch 3.
    assert len(copies) == 2
    assert sorted(values("MC-0001", A_PLUS).values()) == [1, 2, 3, 4, 5, 6]


def test_the_comparison_with_the_store_matches_keys_in_any_order():
    from metering.services.ingest import diff

    stored = np.zeros(3, diff.STORED_DTYPE)
    stored["channel_id"], stored["ts"] = [4, 9, 4], [20, 10, 10]
    channels = np.array([4, 4, 4, 9, 9], dtype=np.int32)
    stamps = np.array([10, 10, 15, 5, 10])
    assert diff.match(channels, stamps, stored).tolist() == [2, 2, -1, -1, 1]
    # The store holding exactly the batch's keys in order: matched one to one.
    same = np.zeros(2, diff.STORED_DTYPE)
    same["channel_id"], same["ts"] = [4, 9], [10, 10]
    assert diff.match(np.array([4, 9]), np.array([10, 10]), same).tolist() == [0, 1]


def test_the_run_records_the_files_sha256(tmp_path):
    make_meter("totalizer", serial="TT-0001")
    path = tmp_path / "lecturas.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        "TT-0001,0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0,2026-03-01T00:15:00-03:00,1.5\n"
    )

    result = ingest.ingest_file(path, report_path=tmp_path / "informe.csv")

    result.run.refresh_from_db()
    assert result.run.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_that_does_not_exist_starts_no_run(tmp_path):
    with pytest.raises(FileNotFoundError):
        ingest.ingest_file(tmp_path / "no_existe.csv", report_path=tmp_path / "informe.csv")

    assert not IngestRun.objects.exists()


def test_stored_readings_in_the_middle_of_a_file_are_compared_and_the_rest_copied(
    meters, tmp_path, monkeypatch
):
    """Batches are made ready while the previous one is still being copied; one made ready
    for the plain COPY, behind a batch that met stored keys, is compared with the store."""
    monkeypatch.setattr(sources, "BATCH", 2)

    def quarter(k: int) -> str:
        return f"2026-03-10T{k // 4:02d}:{k % 4 * 15:02d}:00-03:00"

    def write(name: str, slots: list[int], value: float) -> Path:
        path = tmp_path / name
        path.write_text(
            "meter,reading_type,timestamp,value\n"
            + "".join(f"TT-0001,{A_PLUS},{quarter(k)},{value}\n" for k in slots),
            encoding="utf-8",
        )
        return path

    ingest.ingest_file(write("antes.csv", [5, 6, 7, 8], 1.0), report_path=tmp_path / "r1.csv")
    result = ingest.ingest_file(
        write("despues.csv", list(range(1, 15)), 2.0), report_path=tmp_path / "r2.csv"
    )

    assert (result.inserted, result.already_present, result.rejected) == (10, 0, 4)
    stored = values("TT-0001", A_PLUS)
    assert len(stored) == 14
    assert sorted(stored.values()) == [1.0] * 4 + [2.0] * 10  # the stored ones are kept
    again = ingest.ingest_file(
        write("despues.csv", list(range(1, 15)), 2.0), report_path=tmp_path / "r3.csv"
    )
    assert (again.inserted, again.already_present, again.rejected) == (0, 10, 4)
