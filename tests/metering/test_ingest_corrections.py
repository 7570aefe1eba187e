"""Corrections replace stored readings only when asked, keeping what they replaced; the exit
status says whether everything was accepted; a run left `running` is marked interrupted
(issue 14, points 9 and 10)."""

from __future__ import annotations

import csv
from datetime import date, datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from metering.lib import EXIT_FAILED, EXIT_REJECTED
from metering.models import (
    EnergyBalance,
    IngestRun,
    IntervalReading,
    ReadingRevision,
    RegisterRead,
    ValidationDay,
)
from metering.services import ingest
from metering.services.ingest import corrections, runs
from tests.factories import make_meter, make_transformer

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "metering" / "readings"
A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")
HEADER = "meter,reading_type,timestamp,value\n"


@pytest.fixture
def meters():
    transformer = make_transformer()
    customer = make_meter("customer", serial="MC-0001")
    customer.customer.transformer = transformer
    customer.customer.save()
    totalizer = make_meter("totalizer", serial="TT-0001", transformer=transformer)
    return customer, totalizer


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 4, hour, minute, tzinfo=SANTIAGO)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def value(serial: str, ts: datetime) -> IntervalReading:
    return IntervalReading.objects.get(channel__meter__serial=serial, ts=ts)


def report_rows(result) -> list[dict[str, str]]:
    with open(result.report_path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def first_load(tmp_path: Path) -> ingest.IngestResult:
    result = ingest.ingest_file(FIXTURES / "lecturas_ok.csv", report_path=tmp_path / "r0.csv")
    assert result.rejected == 0
    return result


def correction_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        "correccion.csv",
        HEADER
        + f"MC-0001,{A_PLUS},2026-03-04T00:15:00-03:00,0.99\n"  # was 0.22
        + f"MC-0001,{A_PLUS},2026-03-04T00:30:00-03:00,0.24\n"  # the same
        + f"MC-0001,{A_PLUS},2026-03-04T01:00:00-03:00,0.3\n"  # missing: inserted
        + "MC-0001,1.8.0,2026-03-05T00:00:00-03:00,12500\n",  # register, was 12400.1
    )


def test_a_correction_replaces_the_value_and_keeps_the_previous_one_as_a_revision(meters, tmp_path):
    original = first_load(tmp_path)

    result = ingest.ingest_file(
        correction_file(tmp_path), report_path=tmp_path / "r.csv", correction="recalibración"
    )

    assert result.exit_code == 0 and result.rejected == 0
    assert (result.corrected, result.already_present, result.inserted) == (2, 1, 1)
    reading = value("MC-0001", at(0, 15))
    assert reading.value == 0.99 and reading.run_id == result.run.pk
    assert value("MC-0001", at(1, 0)).value == 0.3
    assert float(RegisterRead.objects.get().value) == 12500
    interval, register = ReadingRevision.objects.order_by("register")
    assert (interval.previous_value, interval.value, interval.line) == (0.22, 0.99, 2)
    assert interval.previous_run_id == original.run.pk and interval.run_id == result.run.pk
    assert interval.reason == "recalibración" and interval.ts == at(0, 15)
    assert interval.run.file_name == "correccion.csv" and interval.revised_at is not None
    assert (register.register, register.previous_value, register.value) == (True, 12400.1, 12500)
    run = IngestRun.objects.get(pk=result.run.pk)
    assert (run.corrected, run.correction) == (2, "recalibración")
    assert "2 corregidos" in result.summary()


def test_a_correction_computes_vee_demand_and_balances_of_the_touched_days_again(
    meters, tmp_path, monkeypatch
):
    customer, totalizer = meters
    first_load(tmp_path)
    calls = []
    for module, name in ((corrections.vee, "validate"), (corrections.monitoring, "monthly_demand"),
                         (corrections.monitoring, "energy_balance")):  # fmt: skip
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _real=real, _name=name: calls.append((_name, a)) or _real(*a)
        )

    result = ingest.ingest_file(
        correction_file(tmp_path), report_path=tmp_path / "r.csv", correction="recalibración"
    )

    assert calls == [
        ("validate", (date(2026, 3, 4), date(2026, 3, 4), [customer.pk])),
        ("monthly_demand", (date(2026, 3, 1),)),
        ("energy_balance", (date(2026, 3, 1),)),
    ]
    assert result.recomputed["vee_days"] >= 1
    day = ValidationDay.objects.get(channel__meter=customer, day=date(2026, 3, 4))
    assert day.received == 4  # 00:15 (corrected), 00:30, 00:45 (as OBIS 1.29.0), 01:00 (new)
    assert EnergyBalance.objects.filter(transformer=totalizer.transformer).exists()


def test_an_ordinary_resend_never_overwrites_a_corrected_value(meters, tmp_path):
    first_load(tmp_path)
    ingest.ingest_file(
        correction_file(tmp_path), report_path=tmp_path / "r.csv", correction="recalibración"
    )

    again = ingest.ingest_file(FIXTURES / "lecturas_ok.csv", report_path=tmp_path / "r2.csv")

    assert again.corrected == 0 and again.exit_code == EXIT_REJECTED
    reasons = {row["ubicación"]: row["motivo"] for row in report_rows(again)}
    assert reasons["línea 3"] == "ya existe con otro valor (0.99); se conserva el existente"
    assert value("MC-0001", at(0, 15)).value == 0.99
    assert ReadingRevision.objects.count() == 2


def test_without_the_correction_option_a_different_value_is_kept_and_reported(meters, tmp_path):
    first_load(tmp_path)
    result = ingest.ingest_file(correction_file(tmp_path), report_path=tmp_path / "r.csv")

    assert (result.corrected, result.rejected) == (0, 2)  # the interval and the register
    assert value("MC-0001", at(0, 15)).value == 0.22
    assert not ReadingRevision.objects.exists()


def test_a_cim_message_with_the_verb_changed_is_a_correction(meters, tmp_path):
    ingest.ingest_file(FIXTURES / "lecturas_ok.xml", report_path=tmp_path / "r0.csv")
    text = (FIXTURES / "lecturas_ok.xml").read_text(encoding="utf-8")
    text = text.replace("<msg:Verb>created</msg:Verb>", "<msg:Verb>changed</msg:Verb>")
    text = text.replace("<m:value>0.21</m:value>", "<m:value>0.25</m:value>")
    text = text.replace("b3f1c2a0-0001", "b3f1c2a0-0002")

    result = ingest.ingest_file(write(tmp_path, "cambio.xml", text), report_path=tmp_path / "r.csv")

    assert (result.corrected, result.already_present, result.rejected) == (1, 9, 0)
    revision = ReadingRevision.objects.get()
    assert (revision.previous_value, revision.value) == (0.21, 0.25)
    assert revision.reason == "mensaje MeterReadings 'changed' b3f1c2a0-0002"
    assert value("MC-0001", datetime(2026, 3, 1, 0, 15, tzinfo=SANTIAGO)).value == 0.25


# --- exit status ------------------------------------------------------------------------------


def run_command(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("ingest_readings", *args, "--no-progress", stdout=out, stderr=StringIO())
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_ingest_readings_exits_0_only_when_every_value_was_accepted(meters, tmp_path):
    out, error = run_command(str(FIXTURES / "lecturas_ok.xml"))
    assert error is None
    assert out.strip().splitlines()[-1] == (
        "1 archivo(s): 10 valores leídos, 10 nuevos, 0 ya cargados, 0 rechazados"
    )


def test_ingest_readings_exits_3_when_some_values_were_rejected(meters, tmp_path):
    out, error = run_command(str(FIXTURES / "lecturas_con_errores.csv"))
    assert error is not None and error.returncode == EXIT_REJECTED == 3
    assert out.strip().splitlines()[-1] == (
        "1 archivo(s): 5 valores leídos, 2 nuevos, 0 ya cargados, 7 rechazados"
    )
    assert IntervalReading.objects.count() == 2  # the accepted ones are stored


def test_ingest_readings_exits_1_when_a_file_is_refused_whole(meters, tmp_path):
    _, error = run_command(str(FIXTURES / "lecturas_xxe.xml"))
    assert error is not None and error.returncode == EXIT_FAILED == 1


def test_the_correction_option_of_the_command(meters, tmp_path):
    first_load(tmp_path)
    out, error = run_command(str(correction_file(tmp_path)), "--correccion", "recalibración")
    assert error is None
    assert "recalculado:" in out
    assert out.strip().splitlines()[-1].endswith("1 ya cargados, 2 corregidos, 0 rechazados")


# --- interrupted runs -----------------------------------------------------------------------


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted_by_the_next(meters, tmp_path):
    stale = IngestRun.objects.create(file_name="muerta.csv", sha256="0" * 64, file_format="csv")

    result = ingest.ingest_file(FIXTURES / "lecturas_ok.xml", report_path=tmp_path / "r.csv")

    stale.refresh_from_db()
    assert stale.status == IngestRun.Status.INTERRUPTED
    assert stale.get_status_display() == "interrumpida"
    assert stale.finished_at is not None and "interrumpida" in stale.error
    assert result.interrupted == [stale.pk]
    assert IngestRun.objects.get(pk=result.run.pk).status == IngestRun.Status.DONE


def other_session() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
        autocommit=True,
    )


def test_a_run_whose_process_still_holds_its_lock_is_left_running(meters, tmp_path):
    going = IngestRun.objects.create(file_name="en_curso.csv", sha256="0" * 64, file_format="csv")
    with other_session() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [runs.LOCK_CLASS, going.pk])
        result = ingest.ingest_file(FIXTURES / "lecturas_ok.xml", report_path=tmp_path / "r.csv")
        going.refresh_from_db()
        assert going.status == IngestRun.Status.RUNNING and result.interrupted == []
    # Its session ended (the process was killed): the next run marks it.
    again = ingest.ingest_file(FIXTURES / "lecturas_ok.xml", report_path=tmp_path / "r2.csv")
    going.refresh_from_db()
    assert going.status == IngestRun.Status.INTERRUPTED and again.interrupted == [going.pk]


def test_a_finished_run_releases_its_lock(meters, tmp_path):
    result = ingest.ingest_file(FIXTURES / "lecturas_ok.xml", report_path=tmp_path / "r.csv")
    with other_session() as other:
        cursor = other.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [runs.LOCK_CLASS, result.run.pk]
        )
        assert cursor.fetchone()[0] is True
