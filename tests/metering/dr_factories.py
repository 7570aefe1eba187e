"""Data and messages for the demand response tests.

`make_world()` builds the customers, programs and HAN devices the hand-written messages in
tests/fixtures/metering/dr/ name. The `*_xml` builders write more messages of the same shapes,
for tests that need many (the arrival-order permutations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from metering.models import DrProgram, HanDevice, ProgramEnrollment
from network.models import Customer
from tests import factories as f

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metering" / "dr"
MALFORMED = FIXTURES / "malformed"

EVENT = "EV-2026-0001"  # the DLC event of 02_event_dlc.xml
PRICE = "PRC-2026-0001"  # the CPP price of 01_price_cpp.xml
START = "2026-01-15T15:00:00-03:00"
END = "2026-01-15T18:00:00-03:00"


@dataclass
class World:
    cpp: DrProgram
    dlc: DrProgram
    ana: Customer  # DLC and CPP; a thermostat and a load switch
    bruno: Customer  # DLC and CPP; an in-home display
    carla: Customer  # in no program; a thermostat
    pct1: HanDevice
    lcs2: HanDevice
    ihd3: HanDevice
    pct9: HanDevice


def make_world() -> World:
    transformer = f.make_transformer()
    ana = f.make_customer(transformer, number="DR-1001", name="Ana Rojas")
    bruno = f.make_customer(transformer, number="DR-1002", name="Bruno Soto")
    carla = f.make_customer(transformer, number="DR-1003", name="Carla Díaz")
    cpp = DrProgram.objects.create(
        code="CPP-RES",
        name="Punta crítica residencial",
        kind=DrProgram.Kind.CPP,
        critical_price_clp_kwh="412.5",
    )
    dlc = DrProgram.objects.create(
        code="DLC-RES", name="Control de carga residencial", kind=DrProgram.Kind.DLC
    )
    for customer in (ana, bruno):
        for program in (cpp, dlc):
            ProgramEnrollment.objects.create(
                customer=customer, program=program, valid_from=date(2025, 1, 1)
            )
    Kind = HanDevice.Kind
    return World(
        cpp=cpp,
        dlc=dlc,
        ana=ana,
        bruno=bruno,
        carla=carla,
        pct1=HanDevice.objects.create(mrid="PCT-0001", customer=ana, kind=Kind.PCT),
        lcs2=HanDevice.objects.create(mrid="LCS-0002", customer=ana, kind=Kind.LOAD_SWITCH),
        ihd3=HanDevice.objects.create(mrid="IHD-0003", customer=bruno, kind=Kind.IHD),
        pct9=HanDevice.objects.create(mrid="PCT-0009", customer=carla, kind=Kind.PCT),
    )


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def malformed(name: str) -> bytes:
    return (MALFORMED / name).read_bytes()


def envelope(verb: str, noun: str, message_id: str, correlation_id: str, body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EventMessage xmlns="http://iec.ch/TC57/2011/schema/message">
  <Header>
    <Verb>{verb}</Verb><Noun>{noun}</Noun>
    <Timestamp>2026-01-14T09:00:00-03:00</Timestamp><Source>pruebas</Source>
    <MessageID>{message_id}</MessageID><CorrelationID>{correlation_id}</CorrelationID>
  </Header>
  <Payload>{body}</Payload>
</EventMessage>""".encode()


def event_xml(
    message_id: str,
    correlation_id: str = EVENT,
    devices: tuple[str, ...] = ("PCT-0001", "LCS-0002", "IHD-0003"),
    program: str = "DLC-RES",
    control: str = "loadControl",
    start: str = START,
    end: str = END,
) -> bytes:
    targets = "".join(f"<EndDevices><mRID>{mrid}</mRID></EndDevices>" for mrid in devices)
    body = f"""<EndDeviceControls><EndDeviceControl>
      <EndDeviceControlType ref="{control}"/>
      <DemandResponseProgram><mRID>{program}</mRID></DemandResponseProgram>
      <scheduledInterval><start>{start}</start><end>{end}</end></scheduledInterval>
      {targets}
    </EndDeviceControl></EndDeviceControls>"""
    return envelope("create", "EndDeviceControls", message_id, correlation_id, body)


def cancel_xml(message_id: str, correlation_id: str = EVENT) -> bytes:
    return envelope("cancel", "EndDeviceControls", message_id, correlation_id, "")


def responses_xml(
    message_id: str, answers: list[tuple[str, str, str]], correlation_id: str = EVENT
) -> bytes:
    """`answers`: (device mRID, EndDeviceEventType ref, createdDateTime)."""
    events = "".join(
        f"""<EndDeviceEvent><createdDateTime>{at}</createdDateTime>
        <EndDeviceEventType ref="{kind}"/><EndDevice><mRID>{mrid}</mRID></EndDevice>
        </EndDeviceEvent>"""
        for mrid, kind, at in answers
    )
    body = f"<EndDeviceEvents>{events}</EndDeviceEvents>"
    return envelope("created", "EndDeviceEvents", message_id, correlation_id, body)


def price_xml(
    message_id: str, correlation_id: str = PRICE, price: str = "412.5", program: str = "CPP-RES"
) -> bytes:
    body = f"""<PriceSignal>
      <DemandResponseProgram><mRID>{program}</mRID></DemandResponseProgram>
      <validityInterval><start>{START}</start><end>{END}</end></validityInterval>
      <price><value>{price}</value><unit>CLP/kWh</unit></price>
    </PriceSignal>"""
    return envelope("created", "PriceSignal", message_id, correlation_id, body)
