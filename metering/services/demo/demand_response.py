"""Demand response: a CPP and a DLC program, enrolled customers and their HAN devices, and
the conversation of a price notification and two DLC events, received by the DR ingest."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from metering.models import DrMessage, DrProgram, HanDevice, ProgramEnrollment
from metering.services.demo.plan import Plan
from metering.services.dr import receive_json

DEVICE_PREFIX = {
    HanDevice.Kind.IHD: "IHD",
    HanDevice.Kind.PCT: "PCT",
    HanDevice.Kind.LOAD_SWITCH: "LCS",
}
REASONS = ("Alta demanda en el sistema", "Congestión en el alimentador")  # the DLC events


def _message(verb: str, noun: str, message_id: str, correlation_id: str, at: datetime,
             payload: dict) -> dict:  # fmt: skip
    return {
        "header": {
            "verb": verb,
            "noun": noun,
            "messageId": message_id,
            "correlationId": correlation_id,
            "timestamp": at.isoformat(),
            "source": "AplicacionDR-Demo" if noun != "EndDeviceEvents" else "HES-DEMO",
        },
        "payload": payload,
    }


def _response(device: str, kind: str, at: datetime) -> dict:
    return {
        "createdDateTime": at.isoformat(),
        "EndDeviceEventType": {"ref": kind},
        "EndDevice": {"mRID": device},
    }


def _responses(message_id: str, correlation_id: str, at: datetime, items: list[dict]) -> dict:
    payload = {"EndDeviceEvents": {"EndDeviceEvent": items}}
    return _message("created", "EndDeviceEvents", message_id, correlation_id, at, payload)


class DemandResponse(Plan):
    def demand_response(self) -> None:
        rng = self.rng
        cpp = DrProgram.objects.create(
            code="DEMO-CPP",
            name="Punta crítica residencial",
            kind=DrProgram.Kind.CPP,
            tariff="Pliego tarifario BT1 con precio de punta crítica (demostración)",
            base_price_clp_kwh=Decimal("195.400"),
            critical_price_clp_kwh=Decimal("486.000"),
            as_of=self.as_of,
        )
        dlc = DrProgram.objects.create(
            code="DEMO-DLC",
            name="Control directo de carga residencial",
            kind=DrProgram.Kind.DLC,
            tariff="Convenio de control directo de carga (demostración)",
            incentive_clp_kwh=Decimal("120.000"),
            as_of=self.as_of,
        )
        enrollments, devices = [], {}
        for program, customers, kinds in (
            (cpp, self.cpp_customers, (HanDevice.Kind.IHD, HanDevice.Kind.PCT)),
            (dlc, self.dlc_customers, (HanDevice.Kind.LOAD_SWITCH, HanDevice.Kind.PCT)),
        ):
            for c in customers:
                enrollments.append(
                    ProgramEnrollment(
                        customer_id=c.pk, program=program, as_of=self.as_of,
                        valid_from=self.first_day - timedelta(days=rng.randint(30, 500)),
                    )
                )  # fmt: skip
                for kind in kinds:
                    mrid = f"{DEVICE_PREFIX[kind]}-{c.number}"
                    devices[mrid] = HanDevice(
                        mrid=mrid, customer_id=c.pk, kind=kind, as_of=self.as_of
                    )
        ProgramEnrollment.objects.bulk_create(enrollments)
        HanDevice.objects.bulk_create(devices.values())
        for message in self._dr_messages():
            result = receive_json(message, origin="seed_demo")
            if result.outcome == DrMessage.Outcome.REJECTED:
                problems = "; ".join(str(p) for p in result.problems)
                raise RuntimeError(f"demo DR {result.message_id}: {problems}")

    def _dr_messages(self) -> list[dict]:
        """The conversation as the DR application and the head-end would have it, one JSON
        message each; one event's acknowledgements arrive before the event itself."""
        rng = self.rng
        messages = []
        start, end = self.price_window
        issued = start - timedelta(hours=30)
        cid = f"DEMO-CPP-{start:%Y%m%d}"
        messages.append(_message("created", "PriceSignal", f"{cid}-PRECIO", cid, issued, {
            "PriceSignal": {
                "mRID": f"PRECIO-CPP-{start:%Y-%m-%d}",
                "DemandResponseProgram": {"mRID": "DEMO-CPP"},
                "validityInterval": {"start": start.isoformat(), "end": end.isoformat()},
                "price": {"value": "486.000", "unit": "CLP/kWh"},
                "reason": "Punta crítica del sistema",
            }
        }))  # fmt: skip
        acks = [
            _response(
                f"{kind}-{c.number}",
                "acknowledged",
                issued + timedelta(minutes=rng.randint(2, 300)),
            )
            for c in self.cpp_customers
            for kind in ("IHD", "PCT")
            if rng.random() < 0.85
        ]
        messages.append(_responses(f"{cid}-ACUSES", cid, issued + timedelta(hours=6), acks))
        for n, ((start, end), answers) in enumerate(
            zip(self.dlc_windows, self.answers, strict=True), 1
        ):
            issued = start - timedelta(hours=rng.randint(20, 28))
            cid = f"DEMO-DLC-{start:%Y%m%d}-{n}"
            switches = [f"LCS-{c.number}" for c in self.dlc_customers]
            thermostats = [f"PCT-{c.number}" for c in self.dlc_customers] if n == 1 else []
            event = _message("create", "EndDeviceControls", f"{cid}-EVENTO", cid, issued, {
                "EndDeviceControls": {"EndDeviceControl": {
                    "mRID": f"DLC-{start:%Y-%m-%d}-{n}",
                    "drProgramLevel": 2 if n == 1 else 1,
                    "drProgramMandatory": False,
                    "reason": REASONS[n - 1],
                    "EndDeviceControlType": {"ref": "loadControl"},
                    "DemandResponseProgram": {"mRID": "DEMO-DLC"},
                    "scheduledInterval": {"start": start.isoformat(), "end": end.isoformat()},
                    "EndDevices": [{"mRID": mrid} for mrid in switches + thermostats],
                }}
            })  # fmt: skip

            def acknowledges(mrid: str, answers: dict[str, str] = answers) -> bool:
                answer = answers.get(mrid)
                return rng.random() < 0.9 if answer is None else answer != "none"

            acks = [
                _response(mrid, "acknowledged", issued + timedelta(minutes=rng.randint(1, 90)))
                for mrid in switches + thermostats
                if acknowledges(mrid)
            ]
            acks_message = _responses(f"{cid}-ACUSES", cid, issued + timedelta(hours=2), acks)
            # The second event's acknowledgements overtake it: they wait, pending, for it.
            messages += [event, acks_message] if n == 1 else [acks_message, event]
            answered = []
            changed_mind = []
            for mrid in switches:
                answer = answers[mrid]
                at = start - timedelta(minutes=rng.randint(10, 600))
                if answer == "opt_in":
                    answered.append(_response(mrid, "optIn", at))
                elif answer == "opt_out":
                    if not changed_mind and n == 2:
                        # Accepted first, then thought better of it: the later answer wins.
                        answered.append(_response(mrid, "optIn", at - timedelta(hours=2)))
                        changed_mind.append(_response(mrid, "optOut", at + timedelta(minutes=5)))
                    else:
                        answered.append(_response(mrid, "optOut", at))
            messages.append(
                _responses(f"{cid}-RESPUESTAS", cid, start - timedelta(minutes=5), answered)
            )
            if changed_mind:
                messages.append(_responses(f"{cid}-CAMBIO", cid, start, changed_mind))
        return messages
