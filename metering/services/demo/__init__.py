"""The metering part of the demo data set: what `seed_demo` adds to the synthetic network.

`seed_metering(rng, as_of)` runs after network.services.seed has loaded the network, and
creates, the same for the same `rng` and `as_of`:

- a meter for every customer ("MC-<number>"), a totalizer for every monitored transformer
  ("TT-<code>") and a head meter for every feeder ("FH-<code>");
- 15-minute readings for the DAYS complete days before `as_of`: every customer of a few
  monitored transformers (import, and export for the EG ones), those transformers'
  totalizers and every feeder head; daily register reads of those customers; a voltage
  channel on some of them; meter events and a load transfer. They go in through the real
  ingest (`ingest_file` on a CSV and a CIM XML file), then the VEE and the monitoring of the
  last complete month run as they do in production, so the balances, alarms and the month's
  demand come from the readings. Only the totalizers of transformers whose customers are
  metered get readings: a totalizer alone would show its transformer losing everything;
- 36 months of CIS billing for every customer; boletas (and injection annexes) with a small
  PDF each for the EG customers and a handful of others; five years of remanente movements
  and a connection contract for every EG customer;
- measurement points (points.py): a virtual meter summing one feeder's metered totalizers,
  a virtual border point (its head minus them), and a backup meter for one totalizer with a
  day 2 % off, compared with its main after the VEE;
- a CPP and a DLC program, enrolled customers and their HAN devices, a price notification
  and two DLC events with their answers, received as JSON messages by the DR ingest.

The made-up anomalies are there for the VEE and the monitoring to find: gaps, a spike, a
negative value and a flat line; a voltage sag; an outage and a tamper; and one transformer
whose totalizer supplies more than its customers are billed for (an unmetered connection).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from django.db import transaction

from metering.models import (
    Alarm,
    BillingDocument,
    BillingPdf,
    Channel,
    DeviceResponse,
    DrEvent,
    DrEventTarget,
    DrMessage,
    DrProgram,
    EgContract,
    EnergyBalance,
    EstimatedReading,
    HanDevice,
    IntervalReading,
    LoadTransfer,
    Meter,
    MeterEvent,
    MonthlyBill,
    PriceNotification,
    ProgramEnrollment,
    RegisterRead,
    RemanenteMovement,
    ValidationDay,
)
from metering.services.catalogs import load_catalogs
from metering.services.demo.bills import BILL_MONTHS
from metering.services.demo.demand_response import DemandResponse
from metering.services.demo.documents import Documents
from metering.services.demo.monitoring import Monitoring
from metering.services.demo.plan import DAYS
from metering.services.demo.points import Points
from metering.services.demo.readings import Readings

__all__ = ["BILL_MONTHS", "DAYS", "seed_metering"]


class _Demo(Readings, Points, Documents, Monitoring, DemandResponse):
    """The demo's steps over one plan, in the order seed_metering runs them."""


def seed_metering(
    rng: random.Random, as_of: date, log: Callable[[str], None] = print
) -> dict[str, int]:
    """Meters, readings, VEE, monitoring, billing and DR for the demo network; row counts."""
    started = time.monotonic()
    with transaction.atomic():
        load_catalogs()  # a database flushed by a test has lost the migration's rows
        demo = _Demo(rng, as_of)
        log("Creando medidores y lecturas de 15 minutos de demostración…")
        demo.meters()
        with tempfile.TemporaryDirectory(prefix="seed-metering-") as tmp:
            folder = Path(tmp)
            demo.readings(folder)
            demo.measurement_points(folder)
            log("Validando lecturas (VEE) y calculando balances y alarmas…")
            demo.validate_and_monitor()
            log("Generando facturación de 36 meses, boletas y remanentes…")
            demo.billing(folder)
        demo.demand_response()
        counts = _counts()
    log(
        f"Medición: {counts['meters']:,} medidores, {counts['interval_readings']:,} lecturas "
        f"de 15 min, {counts['energy_balances']} balances ({counts['flagged_balances']} sobre "
        f"el umbral), {counts['alarms']} alarmas, {counts['monthly_bills']:,} facturas "
        f"mensuales, {counts['billing_documents']:,} documentos, {counts['dr_events']} "
        f"eventos DR en {time.monotonic() - started:.1f} s."
    )
    return counts


def _counts() -> dict[str, int]:
    models = {
        "meters": Meter,
        "channels": Channel,
        "interval_readings": IntervalReading,
        "register_reads": RegisterRead,
        "meter_events": MeterEvent,
        "load_transfers": LoadTransfer,
        "validation_days": ValidationDay,
        "estimated_readings": EstimatedReading,
        "energy_balances": EnergyBalance,
        "alarms": Alarm,
        "monthly_bills": MonthlyBill,
        "billing_documents": BillingDocument,
        "billing_pdfs": BillingPdf,
        "remanente_movements": RemanenteMovement,
        "eg_contracts": EgContract,
        "dr_programs": DrProgram,
        "dr_enrollments": ProgramEnrollment,
        "han_devices": HanDevice,
        "dr_messages": DrMessage,
        "price_notifications": PriceNotification,
        "dr_events": DrEvent,
        "dr_targets": DrEventTarget,
        "device_responses": DeviceResponse,
    }
    counts = {key: model.objects.count() for key, model in models.items()}
    counts["flagged_balances"] = EnergyBalance.objects.filter(flagged=True).count()
    return counts
