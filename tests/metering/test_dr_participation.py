"""Participation per customer and event: the CIS export and what a customer sees."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from metering.models import DrProgram, HanDevice, ProgramEnrollment
from metering.services.dr import (
    CSV_HEADER,
    customer_demand_response,
    participation_targets,
    participations,
    receive_xml,
)
from tests import factories as f
from tests.metering.dr_factories import (
    EVENT,
    PRICE,
    World,
    cancel_xml,
    event_xml,
    fixture,
    make_world,
    price_xml,
    responses_xml,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def export(*args) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("export_dr_participation", *args, stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    return rows


def load_fixtures() -> None:
    for name in ("02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml", "05_opt_in.xml"):
        receive_xml(fixture(name))


def test_the_export_has_one_row_per_customer_and_event_with_its_final_state(world):
    load_fixtures()

    rows = export()

    assert list(rows[0]) == CSV_HEADER
    assert [r["numero_cliente"] for r in rows] == ["DR-1001", "DR-1002"]
    ana, bruno = rows
    assert ana == {
        "distribuidora": world.ana.distributor.code,
        "numero_cliente": "DR-1001",
        "programa": "DLC-RES",
        "tipo_programa": "DLC",
        "evento_correlation_id": EVENT,
        "inicio": "2026-01-15T15:00:00-03:00",
        "termino": "2026-01-15T18:00:00-03:00",
        "cancelado": "",
        "dispositivos": "LCS-0002, PCT-0001",
        "estado": "se excluye",
        "estado_codigo": "opted_out",
        "acuse_recibo": "2026-01-14T12:01:10-03:00",
        "respuesta": "2026-01-14T19:30:00-03:00",
        "detalle_dispositivos": (
            "LCS-0002: recibido; PCT-0001: se excluye 2026-01-14T19:30:00-03:00"
        ),
    }
    assert (bruno["estado_codigo"], bruno["acuse_recibo"], bruno["respuesta"]) == (
        "opted_in",
        "",
        "2026-01-14T20:09:30-03:00",
    )


def test_a_customer_answer_from_any_device_counts_and_the_latest_wins(world):
    receive_xml(event_xml("E1"))
    receive_xml(
        responses_xml(
            "R1",
            [
                ("PCT-0001", "optOut", "2026-01-14T10:00:00-03:00"),
                ("LCS-0002", "optIn", "2026-01-14T11:00:00-03:00"),
            ],
        )
    )

    [ana] = [p for p in participations(participation_targets()) if p.customer_number == "DR-1001"]

    assert (ana.state, ana.answered_at.isoformat()) == ("opted_in", "2026-01-14T14:00:00+00:00")
    assert [(d.mrid, d.state) for d in ana.devices] == [
        ("LCS-0002", "opted_in"),
        ("PCT-0001", "opted_out"),
    ]


def test_the_export_shows_a_canceled_event(world):
    receive_xml(event_xml("E1"))
    receive_xml(cancel_xml("C1"))

    rows = export()

    assert {r["cancelado"] for r in rows} == {"2026-01-14T09:00:00-03:00"}
    assert {r["estado_codigo"] for r in rows} == {"sent"}


def test_the_export_filters_by_program_and_start_date(world):
    receive_xml(event_xml("E1"))
    receive_xml(
        event_xml(
            "E2",
            correlation_id="EV-FEB",
            start="2026-02-10T15:00:00-03:00",
            end="2026-02-10T17:00:00-03:00",
        )
    )

    assert {r["evento_correlation_id"] for r in export("--desde", "2026-02-01")} == {"EV-FEB"}
    assert {r["evento_correlation_id"] for r in export("--hasta", "2026-01-31")} == {EVENT}
    assert export("--programa", "CPP-RES") == []
    with pytest.raises(CommandError, match="No existe el programa"):
        export("--programa", "NADA")


def test_the_export_never_carries_personal_data(world):
    load_fixtures()
    out = io.StringIO()

    call_command("export_dr_participation", stdout=out, stderr=io.StringIO())

    for customer in (world.ana, world.bruno):
        for value in (customer.rut, customer.email, customer.phone, customer.name):
            assert value not in out.getvalue()


def test_the_export_writes_a_file_and_says_how_many_rows(world, tmp_path):
    load_fixtures()
    target = tmp_path / "participacion.csv"
    out = io.StringIO()

    call_command("export_dr_participation", "--output", str(target), stdout=out)

    assert out.getvalue().strip() == f"2 filas (cliente y evento) en {target}."
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_customer_number_that_looks_like_a_formula_is_written_as_text(world):
    world.ana.number = "=1+2"
    world.ana.save()
    receive_xml(event_xml("E1"))

    [ana] = [r for r in export() if "1+2" in r["numero_cliente"]]

    assert ana["numero_cliente"] == "'=1+2"


# What a customer sees ---------------------------------------------------------------------


def test_a_customer_sees_their_programs_prices_and_events_with_their_answers(
    world, django_assert_num_queries
):
    load_fixtures()
    receive_xml(price_xml("P1"))
    receive_xml(event_xml("E9", correlation_id="EV-SOLO-BRUNO", devices=("IHD-0003",)))

    with django_assert_num_queries(3):
        view = customer_demand_response(world.ana)

    assert [(e.program.code, e.valid_from) for e in view.enrollments] == [
        ("CPP-RES", date(2025, 1, 1)),
        ("DLC-RES", date(2025, 1, 1)),
    ]
    assert [p.correlation_id for p in view.prices] == [PRICE]
    [event] = view.events
    assert (event.correlation_id, event.state, event.state_label) == (
        EVENT,
        "opted_out",
        "se excluye",
    )
    assert [(d.mrid, d.state) for d in event.devices] == [
        ("LCS-0002", "acknowledged"),
        ("PCT-0001", "opted_out"),
    ]


def test_a_customer_outside_the_programs_sees_nothing(world):
    load_fixtures()
    receive_xml(price_xml("P1"))

    view = customer_demand_response(world.carla)

    assert (view.enrollments, view.prices, view.events) == ([], [], [])


def test_a_customer_sees_only_the_prices_of_the_periods_they_were_enrolled(world):
    ProgramEnrollment.objects.filter(customer=world.ana, program=world.cpp).update(
        valid_to=date(2025, 12, 31)
    )
    receive_xml(price_xml("P1"))

    assert customer_demand_response(world.ana).prices == []
    assert [p.correlation_id for p in customer_demand_response(world.bruno).prices] == [PRICE]


def test_since_leaves_out_what_ended_before(world):
    load_fixtures()
    receive_xml(price_xml("P1"))

    view = customer_demand_response(world.ana, since=date(2026, 2, 1))

    assert (view.prices, view.events) == ([], [])
    assert len(view.enrollments) == 2


def test_the_programs_of_a_customer_on_a_day(world):
    ProgramEnrollment.objects.filter(customer=world.ana, program=world.cpp).update(
        valid_to=date(2025, 12, 31)
    )

    on_day = DrProgram.objects.of_customer(world.ana, on=date(2026, 1, 15))
    ever = DrProgram.objects.of_customer(world.ana)

    assert list(on_day) == [world.dlc]
    assert list(ever) == [world.cpp, world.dlc]


def test_overlapping_enrollments_in_one_program_are_refused(world):
    enrollment = ProgramEnrollment(
        customer=world.ana, program=world.dlc, valid_from=date(2026, 3, 1)
    )

    with pytest.raises(ValidationError, match="ya está inscrito"):
        enrollment.full_clean()


def test_a_device_moved_to_another_customer_keeps_its_past_events_with_the_first(world):
    receive_xml(event_xml("E1"))
    other = f.make_customer(world.ana.transformer, number="DR-2000")
    HanDevice.objects.filter(pk=world.pct1.pk).update(customer=other)

    [ana] = [p for p in participations(participation_targets()) if "PCT-0001" in str(p.devices)]

    assert ana.customer_number == "DR-1001"
