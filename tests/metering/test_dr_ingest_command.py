"""ingest_dr_messages: a directory of CIM messages, valid and malformed, read and reported."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from metering.models import DeviceResponse, DrEvent, DrEventTarget, DrMessage, PriceNotification
from tests.metering.dr_factories import FIXTURES, MALFORMED, World, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def inbox(tmp_path):
    """Every fixture message, valid and malformed, in one directory."""
    for path in [*FIXTURES.glob("*.xml"), *MALFORMED.glob("*.xml")]:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def ingest(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("ingest_dr_messages", *map(str, args), stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def database() -> dict:
    return {
        "messages": sorted(
            DrMessage.objects.values_list("pk", "message_id", "received_at", "outcome", "problems")
        ),
        "targets": sorted(
            DrEventTarget.objects.values_list("device__mrid", "state", "answered_at")
        ),
        "responses": DeviceResponse.objects.count(),
        "events": DrEvent.objects.count(),
        "prices": PriceNotification.objects.count(),
    }


def test_a_directory_is_read_whole_and_each_rejection_reported_with_file_and_element(
    world, inbox, tmp_path
):
    report = tmp_path / "informe.csv"

    output, error = ingest(inbox, "--report", report)

    assert error is not None  # some were rejected: the status says so, after the rest
    assert "Mensajes rechazados: 4; aplicados en parte: 2" in str(error)
    assert error.returncode == 1  # whole messages refused (3 when only elements were)
    assert f"{inbox / 'no_header.xml'}: EventMessage: falta Header" in output
    assert f"{inbox / 'unknown_noun.xml'}: EventMessage/Header/Noun:" in output
    assert (
        f"{inbox / 'unknown_device.xml'}: EventMessage/Payload/EndDeviceEvents/"
        "EndDeviceEvent[1]/EndDevice/mRID: dispositivo desconocido: PCT-9999"
    ) in output
    assert f"{inbox / 'doctype_entity.xml'}: documento: XML rechazado por seguridad" in output
    assert f"{inbox / 'truncated.xml'}: documento: XML mal formado" in output
    assert output.strip().splitlines()[-1] == (
        "12 mensajes: 6 aplicado, 2 aplicado en parte, 4 rechazado."
    )

    assert dict(DrEventTarget.objects.values_list("device__mrid", "state")) == {
        "PCT-0001": "opted_out",
        "LCS-0002": "opted_in",  # from unknown_device.xml: its valid element is kept
        "IHD-0003": "opted_in",
    }
    rows = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == ["archivo", "message_id", "correlation_id", "resultado", "elemento", "motivo"]
    by_file = {row[0].rsplit("/", 1)[-1] for row in rows[1:]}
    assert by_file == {
        "bad_timestamp.xml",
        "doctype_entity.xml",
        "no_header.xml",
        "truncated.xml",
        "unknown_device.xml",
        "unknown_noun.xml",
    }
    [device_row] = [row for row in rows if row[0].endswith("unknown_device.xml")]
    assert device_row[1:4] == ["MSG-BAD-DEVICE", "EV-2026-0001", "aplicado en parte"]


def test_running_it_twice_changes_nothing(world, inbox):
    ingest(inbox)
    before = database()

    output, _ = ingest(inbox)

    assert database() == before
    assert output.strip().splitlines()[-1] == "12 mensajes: 8 duplicado, 4 rechazado."


def test_messages_in_any_file_order_end_the_same(world, tmp_path):
    names = ["06_price_ack.xml", "05_opt_in.xml", "04_opt_out.xml", "03_acks.xml"]
    for n, name in enumerate(names):
        shutil.copy(FIXTURES / name, tmp_path / f"{n}_{name}")
    shutil.copy(FIXTURES / "02_event_dlc.xml", tmp_path / "9_event.xml")
    shutil.copy(FIXTURES / "01_price_cpp.xml", tmp_path / "9_price.xml")

    output, error = ingest(tmp_path)

    assert error is None
    assert "pendiente; se aplicará al llegar el evento o el precio EV-2026-0001" in output
    assert dict(DrEventTarget.objects.values_list("device__mrid", "state")) == {
        "PCT-0001": "opted_out",
        "LCS-0002": "acknowledged",
        "IHD-0003": "opted_in",
    }
    assert set(DrMessage.objects.values_list("outcome", flat=True)) == {"applied"}


def test_single_files_can_be_named(world):
    output, error = ingest(FIXTURES / "02_event_dlc.xml", FIXTURES / "03_acks.xml")

    assert error is None
    assert output.strip() == "2 mensajes: 2 aplicado."


def test_a_path_that_does_not_exist_stops_before_reading_anything(world, tmp_path):
    _, error = ingest(FIXTURES / "02_event_dlc.xml", tmp_path / "no-existe.xml")

    assert "no existe" in str(error)
    assert not DrMessage.objects.exists()


def test_a_directory_without_xml_is_an_error(world, tmp_path):
    _, error = ingest(tmp_path)

    assert "No hay archivos XML" in str(error)
