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
- a CPP and a DLC program, enrolled customers and their HAN devices, a price notification
  and two DLC events with their answers, received as JSON messages by the DR ingest.

The made-up anomalies are there for the VEE and the monitoring to find: gaps, a spike, a
negative value and a flat line; a voltage sag; an outage and a tamper; and one transformer
whose totalizer supplies more than its customers are billed for (an unmetered connection).
"""

from __future__ import annotations

import hashlib
import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from core.months import add_months, month_start
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
from metering.models.billing import pdf_path
from metering.services import vee
from metering.services.billing import pdfs
from metering.services.catalogs import load_catalogs
from metering.services.dr import receive_json
from metering.services.ingest import ingest_file
from metering.services.monitoring import A_MINUS, A_PLUS, monitor
from network.models import Customer, Distributor, Feeder, Transformer
from network.services import bulk

DAYS = 35
BILL_MONTHS = 36
REMANENTE_MONTHS = 60
METERED_TRANSFORMERS = 4  # of them at least one with EG customers, one losing energy
DOCUMENT_CUSTOMERS = 5  # regular customers with boletas
# EG customers with boletas and annexes: the metered ones and others up to this many. Every
# document is a file in the PDF store; for all EG customers (~9 000 files) the first seed on a
# fresh disk spends more time creating files than on everything else together.
DOCUMENT_EG_CUSTOMERS = 12
DR_CUSTOMERS = 20
VOLTAGE_METERS = 6

VOLTAGE_L1 = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.128.0.29.0"
REGISTER_IMPORT = "0.0.0.9.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
REGISTER_EXPORT = "0.0.0.9.19.1.12.0.0.0.0.0.0.0.0.3.72.0"
OUTAGE_START, OUTAGE_END = "3.26.38.85", "3.26.38.49"
COVER_OPENED, COVER_CLOSED = "3.12.141.212", "3.12.141.16"

STEP = timedelta(minutes=15)
SOLAR_NOON_UTC = 16.7  # hours: central Chile lies at about 70.6° W
# kWh per installed kW in a month, central Chile (summer in January).
SOLAR_YIELD = (175, 155, 140, 105, 80, 65, 72, 95, 120, 150, 165, 178)
DEVICE_PREFIX = {
    HanDevice.Kind.IHD: "IHD",
    HanDevice.Kind.PCT: "PCT",
    HanDevice.Kind.LOAD_SWITCH: "LCS",
}
REASONS = ("Alta demanda en el sistema", "Congestión en el alimentador")  # the DLC events
MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
    "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


@dataclass
class _Customer:
    pk: int
    number: str
    name: str
    address: str
    distributor_id: int
    transformer_id: int
    billing_day: int
    service_kw: float
    eg_kw: float
    eg_technology: str
    eg_connected_on: date | None

    @property
    def is_eg(self) -> bool:
        return self.eg_kw > 0

    @property
    def commercial(self) -> bool:
        return self.service_kw >= 22

    @property
    def serial(self) -> str:
        return f"MC-{self.number}"


@dataclass
class _Series:
    """One metered customer's 15-minute energy: what flowed (true) and what the head-end
    delivered (raw, None where an interval never arrived)."""

    customer: _Customer
    load: list[float]
    imported: list[float] = field(default_factory=list)
    exported: list[float] = field(default_factory=list)
    raw: dict[int, float] = field(default_factory=dict)  # slot → value the meter sent instead
    missing: set[int] = field(default_factory=set)
    voltage: list[float] | None = None


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


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


def _clp(amount: int) -> str:
    return f"$ {amount:,}".replace(",", ".")


def _kwh(value: float) -> str:
    return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _month_name(month: date) -> str:
    return f"{MONTHS_ES[month.month - 1]} {month.year}"


class _Demo:
    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.first_day = as_of - timedelta(days=DAYS)
        self.month = add_months(
            month_start(as_of), -1
        )  # the last complete month: the one monitored
        self.distributor = Distributor.objects.get(code="DEMO")
        self._slots()
        self._network()
        self._plan()

    # --- the network and what is picked from it ---------------------------------------------

    def _network(self) -> None:
        self.customers = [
            _Customer(
                pk, number, name, address, distributor, transformer, day, float(service),
                float(eg_kw or 0), technology, connected
            )
            for pk, number, name, address, distributor, transformer, day, service, eg_kw,
            technology, connected in Customer.objects.order_by("pk").values_list(
                "pk", "number", "name", "address", "distributor_id", "transformer_id",
                "billing_day", "service_capacity_kw", "eg_capacity_kw", "eg_technology",
                "eg_connected_on",
            )
        ]  # fmt: skip
        self.by_transformer: dict[int, list[_Customer]] = {}
        for customer in self.customers:
            self.by_transformer.setdefault(customer.transformer_id, []).append(customer)
        self.monitored = list(
            Transformer.objects.filter(smmc=True)
            .order_by("pk")
            .values_list("pk", "code", "capacity_kva", "feeder_id")
        )
        self.feeders = list(Feeder.objects.order_by("pk").values_list("pk", "code", "power_kva"))
        with connection.cursor() as cur:
            # The month before the monitored one: the monitoring rewrites that one from the
            # readings, and the same rng must give the same readings on a second run.
            cur.execute(
                "SELECT coalesce(feeder_id, -transformer_id), max_kw FROM demand_monthlydemand "
                "WHERE month = %s",
                [add_months(self.month, -1)],
            )
            self.peaks = {key: float(kw) for key, kw in cur.fetchall()}

    def _plan(self) -> None:
        rng = self.rng

        def eg_of(pk: int) -> list[_Customer]:
            return [c for c in self.by_transformer.get(pk, []) if c.is_eg]

        fitting = [t for t in self.monitored if 5 <= len(self.by_transformer.get(t[0], [])) <= 14]
        # Small rooftop plants only: a 300 kW one would turn the transformer's flow around.
        with_eg = [t for t in fitting if eg_of(t[0]) and all(c.eg_kw <= 10 for c in eg_of(t[0]))]
        without_eg = [t for t in fitting if not eg_of(t[0])]
        picked = rng.sample(with_eg, min(2, len(with_eg)))
        picked += rng.sample(without_eg, min(METERED_TRANSFORMERS - len(picked), len(without_eg)))
        if len(picked) < 3:
            rest = [t for t in self.monitored if t not in picked and self.by_transformer.get(t[0])]
            picked += rest[: METERED_TRANSFORMERS - len(picked)]
        self.metered_transformers = sorted(picked)
        no_eg = [t for t in picked if not eg_of(t[0])] or picked
        self.lossy = rng.choice(no_eg)[0]  # its balance is the one above the threshold
        self.metered = [c for t in self.metered_transformers for c in self.by_transformer[t[0]]]
        regular = [c for c in self.metered if not c.is_eg]
        quirky = rng.sample(regular, min(6, len(regular)))
        quirky += [None] * (6 - len(quirky))
        (
            self.outage_customer, self.gap_customer, self.gap_customer_2,
            self.spike_customer, self.negative_customer, self.flat_customer,
        ) = quirky  # fmt: skip
        # Voltage on the customers of one transformer, the outage meter aside (its missing
        # voltage intervals would be a second alarm of the same kind and start).
        voltage_tr = self.metered_transformers[0][0]
        self.voltage_customers = [
            c for c in self.by_transformer[voltage_tr] if c is not self.outage_customer
        ][:VOLTAGE_METERS]
        self.document_customers = sorted(
            rng.sample(regular, min(DOCUMENT_CUSTOMERS, len(regular))), key=lambda c: c.number
        )
        metered_eg = [c for c in self.metered if c.is_eg]
        taken = {c.pk for c in metered_eg}
        others = [c for c in self.customers if c.is_eg and c.pk not in taken]
        extra = min(max(DOCUMENT_EG_CUSTOMERS - len(metered_eg), 0), len(others))
        self.document_customers += metered_eg + rng.sample(others, extra)
        self.tamper_customer = rng.choice(self.by_transformer[self.lossy])
        # Days of the monitored month inside the window: where alarms must happen.
        self.month_days = [
            d for d in range(DAYS) if month_start(self.first_day + timedelta(days=d)) == self.month
        ]
        self.transfer_feeder = rng.choice(self.feeders)[0]
        self._plan_dr()

    def _plan_dr(self) -> None:
        rng = self.rng
        chosen = sorted(
            rng.sample(self.metered, min(DR_CUSTOMERS, len(self.metered))), key=lambda c: c.number
        )
        half = len(chosen) // 2
        self.cpp_customers = chosen[: half + 1]
        self.dlc_customers = chosen[max(half - 1, 0) :]  # two customers are in both programs
        self.price_window = self._window(DAYS - 12, 18, 21)
        self.dlc_windows = [self._window(DAYS - 9, 15, 18), self._window(DAYS - 3, 19, 21)]
        self.answers: list[dict[str, str]] = []  # per DLC event: load switch mRID → answer
        for _ in self.dlc_windows:
            answers = {}
            for customer in self.dlc_customers:
                answers[f"LCS-{customer.number}"] = rng.choices(
                    ("opt_in", "opt_out", "ack", "none"), weights=(55, 15, 20, 10)
                )[0]
            self.answers.append(answers)
        # The demo must show every state: the first switches take each answer once.
        switches = [f"LCS-{c.number}" for c in self.dlc_customers]
        for answers in self.answers:
            for mrid, answer in zip(switches, ("opt_in", "opt_out", "ack", "none"), strict=False):
                answers[mrid] = answer

    def _window(self, day: int, start_hour: int, end_hour: int) -> tuple[datetime, datetime]:
        base = self.first_day + timedelta(days=day)
        return (
            datetime.combine(base, clock(start_hour), tzinfo=self.zone),
            datetime.combine(base, clock(end_hour), tzinfo=self.zone),
        )

    # --- the slot grid ----------------------------------------------------------------------

    def _slots(self) -> None:
        """Interval ends of the window (UTC steps, so the days the clocks change have 92 or
        100 of them), their local texts, and the day shapes evaluated once per slot."""
        zone = self.zone
        start = datetime.combine(self.first_day, clock(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(self.as_of, clock(), tzinfo=zone).astimezone(UTC)
        count = int((end - start) / STEP)
        self.ends = [start + STEP * (k + 1) for k in range(count)]
        self.texts = [e.astimezone(zone).isoformat() for e in self.ends]
        middles = [(e - STEP / 2).astimezone(zone) for e in self.ends]
        self.day = [(m.date() - self.first_day).days for m in middles]
        hours = [m.hour + m.minute / 60 for m in middles]
        weekdays = [m.weekday() for m in middles]
        residential, commercial, sun = [], [], []
        for m, hour, weekday in zip(middles, hours, weekdays, strict=True):
            weekend = weekday >= 5
            residential.append(
                0.3
                + 0.3 * _bump(hour, 8.5 if weekend else 7.3, 1.1)
                + 0.95 * _bump(hour, 20.6, 1.7)
                + (0.3 if weekend else 0.12) * _bump(hour, 13.5, 2.2)
            )
            opening = 1 / (1 + math.exp(-(hour - 8.5) * 3)) / (1 + math.exp((hour - 19.5) * 3))
            commercial.append((0.25 + 0.9 * opening) * (0.45 if weekday == 6 else 1.0))
            length = 12 + 2.3 * math.cos(2 * math.pi * (m.timetuple().tm_yday - 355) / 365)
            noon = SOLAR_NOON_UTC + m.utcoffset().total_seconds() / 3600
            angle = (hour - (noon - length / 2)) / length
            sun.append(math.sin(math.pi * angle) ** 1.3 if 0 < angle < 1 else 0.0)
        totals = [0.0] * (DAYS + 1)
        for d, value in zip(self.day, residential, strict=True):
            totals[d] += value
        # A share of the day's energy per slot: a customer's slot is its day times the share.
        self.residential = [v / totals[d] for v, d in zip(residential, self.day, strict=True)]
        totals = [0.0] * (DAYS + 1)
        for d, value in zip(self.day, commercial, strict=True):
            totals[d] += value
        self.commercial = [v / totals[d] for v, d in zip(commercial, self.day, strict=True)]
        self.sun = sun
        top_r, top_c = max(residential), max(commercial)
        mixed = [
            0.6 * r / top_r + 0.4 * c / top_c for r, c in zip(residential, commercial, strict=True)
        ]
        self.feeder_shape = [v / max(mixed) for v in mixed]  # 1 at the feeder's peak
        self.hours = hours

    def _slots_of(self, day: int, start_hour: float, end_hour: float) -> list[int]:
        return [
            k for k in range(len(self.ends))
            if self.day[k] == day and start_hour <= self.hours[k] < end_hour
        ]  # fmt: skip

    def _slots_between(self, start: datetime, end: datetime) -> list[int]:
        return [k for k, e in enumerate(self.ends) if start < e <= end]

    # --- meters -----------------------------------------------------------------------------

    def meters(self) -> None:
        rng = self.rng
        rows = []
        for c in self.customers:
            installed = c.eg_connected_on or date(rng.randint(2017, 2023), rng.randint(1, 12), 1)
            rows.append(
                Meter(
                    serial=c.serial,
                    kind="customer",
                    customer_id=c.pk,
                    installed_on=installed,
                    as_of=self.as_of,
                )
            )
        for pk, code, _, _ in self.monitored:
            installed = date(2021, rng.randint(1, 12), 1)
            rows.append(
                Meter(
                    serial=f"TT-{code}",
                    kind="totalizer",
                    transformer_id=pk,
                    installed_on=installed,
                    as_of=self.as_of,
                )
            )
        for pk, code, _ in self.feeders:
            installed = date(2019, rng.randint(1, 12), 1)
            rows.append(
                Meter(
                    serial=f"FH-{code}",
                    kind="feeder_head",
                    feeder_id=pk,
                    installed_on=installed,
                    as_of=self.as_of,
                )
            )
        Meter.objects.bulk_create(rows, batch_size=2000)

    # --- readings ---------------------------------------------------------------------------

    def readings(self, folder: Path) -> None:
        self.series = {c.pk: self._customer_series(c) for c in self.metered}
        for pk, _, kva, _ in self.metered_transformers:
            self._fit_to_demand(pk, kva)
        self._demand_response_on_loads()
        clouds = [
            self.rng.uniform(0.85, 1.0) if self.rng.random() < 0.75 else self.rng.uniform(0.3, 0.7)
            for _ in range(DAYS + 1)
        ]
        for series in self.series.values():
            self._net(series, clouds)
        self._quirks()
        self._voltages()
        self._bill_model()
        path = folder / f"lecturas_demo_{self.as_of:%Y%m%d}.csv"
        with open(path, "w", encoding="utf-8") as out:
            out.write("meter,reading_type,timestamp,value\n")
            for series in self.series.values():
                self._write_customer(out, series)
            for pk, code, kva, _ in self.metered_transformers:
                self._write_totalizer(out, pk, code, kva)
            for pk, code, power in self.feeders:
                self._write_feeder(out, pk, code, power)
        for name, source in (("lecturas", path), ("eventos", self._events(folder))):
            result = ingest_file(source)
            if result.fatal or result.rejected:
                raise RuntimeError(f"demo {name}: {result.summary()}")

    def _customer_series(self, c: _Customer) -> _Series:
        rng = self.rng
        shape = self.commercial if c.commercial else self.residential
        daily = rng.uniform(35, 110) if c.commercial else rng.uniform(4.5, 11)
        days = []
        for d in range(DAYS + 1):
            weekday = (self.first_day + timedelta(days=d)).weekday()
            if c.commercial:
                factor = (1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.45)[weekday]
            else:
                factor = 1.08 if weekday >= 5 else 1.0
            days.append(daily * factor * rng.uniform(0.85, 1.15))
        gauss = rng.gauss
        load = [
            days[d] * s * max(0.2, 1 + 0.22 * gauss(0, 1))
            for d, s in zip(self.day, shape, strict=True)
        ]
        return _Series(c, load)

    def _fit_to_demand(self, transformer: int, kva: float) -> None:
        """Scale a transformer's customers so that its peak is near the demand the network
        seed gave it (the demand chart must not jump when the readings' month replaces it)."""
        members = [self.series[c.pk] for c in self.by_transformer[transformer]]
        total = [sum(values) for values in zip(*(s.load for s in members), strict=True)]
        peak_kw = max(total) * 4
        target = self.peaks.get(-transformer, float(kva) * 0.6) * 0.95
        factor = min(max(target / peak_kw, 0.5), 2.0)
        for series in members:
            series.load = [v * factor for v in series.load]

    def _demand_response_on_loads(self) -> None:
        """Opted-in load switches cut the load during their events; customers who saw the
        critical price use a little less."""
        for window, answers in zip(self.dlc_windows, self.answers, strict=True):
            slots = self._slots_between(*window)
            for c in self.dlc_customers:
                if answers[f"LCS-{c.number}"] == "opt_in":
                    load = self.series[c.pk].load
                    for k in slots:
                        load[k] *= 0.55
        slots = self._slots_between(*self.price_window)
        for c in self.cpp_customers:
            load = self.series[c.pk].load
            for k in slots:
                load[k] *= 0.85

    def _net(self, series: _Series, clouds: list[float]) -> None:
        c = series.customer
        if not c.is_eg:
            series.imported = series.load
            series.exported = []
            return
        gauss = self.rng.gauss
        if c.eg_technology == "eolica":
            gen = [c.eg_kw * 0.25 * 0.3 * max(0.0, 1 + 0.6 * gauss(0, 1)) for _ in self.day]
        else:
            gen = [
                c.eg_kw * 0.25 * 0.8 * s * clouds[d] * max(0.0, 1 + 0.05 * gauss(0, 1))
                for s, d in zip(self.sun, self.day, strict=True)
            ]
        series.imported = [max(v - g, 0.0) for v, g in zip(series.load, gen, strict=True)]
        series.exported = [max(g - v, 0.0) for v, g in zip(series.load, gen, strict=True)]

    def _quirks(self) -> None:
        rng = self.rng
        slots = len(self.ends)
        if self.outage_customer:
            # Three hours without supply: no energy, no intervals, two events.
            day = self.month_days[-2] if len(self.month_days) > 1 else self.month_days[-1]
            self.outage_slots = self._slots_of(day, 10, 13)
            series = self.series[self.outage_customer.pk]
            for k in self.outage_slots:
                series.load[k] = series.imported[k] = 0.0
                series.missing.add(k)
        for customer in (self.gap_customer, self.gap_customer_2):
            if customer:  # a few intervals lost on the way: interpolated by the VEE
                start = rng.randrange(96, slots - 8)
                self.series[customer.pk].missing.update(range(start, start + rng.randint(2, 4)))
        if self.spike_customer:
            evening = [k for k in range(96, slots) if 19 <= self.hours[k] < 22]
            self.series[self.spike_customer.pk].raw[rng.choice(evening)] = 28.4
        if self.negative_customer:
            self.series[self.negative_customer.pk].raw[rng.randrange(96, slots)] = -0.37
        if self.flat_customer:
            night = [k for k in range(96 * 7, slots - 12) if 0.5 <= self.hours[k] < 1]
            start = rng.choice(night)
            for k in range(start, start + 10):
                self.series[self.flat_customer.pk].raw[k] = 0.215

    def _voltages(self) -> None:
        rng = self.rng
        members = [self.series[c.pk] for c in self.by_transformer[self.metered_transformers[0][0]]]
        net = [sum(v) for v in zip(*(s.imported for s in members), strict=True)]
        top = max(net) or 1.0
        back = [
            sum(v) for v in zip(*(s.exported or [0.0] * len(net) for s in members), strict=True)
        ]
        for c in self.voltage_customers:
            drop = rng.uniform(3.0, 6.0)
            level = rng.uniform(219.5, 223.0)
            self.series[c.pk].voltage = [
                level - drop * n / top + 4.0 * b / top + rng.gauss(0, 0.8)
                for n, b in zip(net, back, strict=True)
            ]
        if self.voltage_customers:
            # One sag below 220 V − 7.5 % in an evening of the monitored month.
            day = self.month_days[len(self.month_days) // 2]
            sagging = self.series[self.voltage_customers[-1].pk].voltage
            for k in self._slots_of(day, 19, 20.5):
                sagging[k] = rng.uniform(199.5, 202.8)

    def _write_customer(self, out, series: _Series) -> None:
        serial = series.customer.serial
        texts, missing, raw = self.texts, series.missing, series.raw
        for code, values in ((A_PLUS, series.imported), (A_MINUS, series.exported)):
            if not values:
                continue
            prefix = f"{serial},{code},"
            out.writelines(
                f"{prefix}{texts[k]},{raw.get(k, v) if code == A_PLUS else v:.3f}\n"
                for k, v in enumerate(values)
                if k not in missing
            )
        if series.voltage:
            prefix = f"{serial},{VOLTAGE_L1},"
            out.writelines(
                f"{prefix}{texts[k]},{v:.1f}\n"
                for k, v in enumerate(series.voltage)
                if k not in missing
            )
        # Daily register reads at local midnight: the true energy, which the meter counts
        # even when a profile interval is lost on the way.
        self._registers(out, series)

    def _registers(self, out, series: _Series) -> None:
        c = series.customer
        starts = self.register_starts[c.pk]
        for code, values, start in (
            (REGISTER_IMPORT, series.imported, starts[0]),
            (REGISTER_EXPORT, series.exported, starts[1]),
        ):
            if not values:
                continue
            daily = [0.0] * (DAYS + 1)
            for d, v in zip(self.day, values, strict=True):
                daily[d] += round(v, 3)
            register = start
            for d in range(DAYS + 1):
                moment = datetime.combine(self.first_day + timedelta(days=d), clock(), self.zone)
                out.write(f"{c.serial},{code},{moment.isoformat()},{register:.3f}\n")
                register += daily[d]

    def _write_totalizer(self, out, transformer: int, code: str, kva: float) -> None:
        rng = self.rng
        members = [self.series[c.pk] for c in self.by_transformer[transformer]]
        n = len(self.ends)
        imported = [sum(v) for v in zip(*(s.imported for s in members), strict=True)]
        exported = [sum(v) for v in zip(*(s.exported or [0.0] * n for s in members), strict=True)]
        theft = 0.0
        if transformer == self.lossy:
            # An unmetered connection: 15-20 % more energy leaves the transformer each day than
            # its customers' meters record, shaped like a household's.
            theft = sum(imported) / DAYS * rng.uniform(0.15, 0.2)
        core = float(kva) * 0.0012 * 0.25
        net = []
        for k in range(n):
            flow = imported[k] - exported[k]
            stolen = theft * self.residential[k] if theft else 0.0
            net.append(flow + 0.022 * abs(flow) + core + stolen)
        serial = f"TT-{code}"
        out.writelines(
            f"{serial},{A_PLUS},{self.texts[k]},{max(v, 0.0):.3f}\n" for k, v in enumerate(net)
        )
        if any(exported):
            out.writelines(
                f"{serial},{A_MINUS},{self.texts[k]},{max(-v, 0.0):.3f}\n"
                for k, v in enumerate(net)
            )

    def _write_feeder(self, out, feeder: int, code: str, power: float) -> None:
        rng = self.rng
        peak = self.peaks.get(feeder) or float(power) * 0.45
        daily = [rng.uniform(0.9, 1.02) for _ in range(DAYS + 1)]
        carried = set()
        if feeder == self.transfer_feeder:
            carried = set(self._slots_between(*self.transfer))
        gauss = rng.gauss
        prefix = f"FH-{code},{A_PLUS},"
        for k, (s, d) in enumerate(zip(self.feeder_shape, self.day, strict=True)):
            value = peak / 4 * s * daily[d] * (1 + 0.03 * gauss(0, 1))
            if k in carried:
                value *= 1.45  # the neighbour's load it carries
            out.write(f"{prefix}{self.texts[k]},{value:.3f}\n")

    @property
    def transfer(self) -> tuple[datetime, datetime]:
        day = self.month_days[-4] if len(self.month_days) > 3 else self.month_days[0]
        start = datetime.combine(self.first_day + timedelta(days=day), clock(6), self.zone)
        return start, start + timedelta(hours=30)

    def _events(self, folder: Path) -> Path:
        """Outage and tamper events, as the head-end sends them: a MeterReadings message."""
        events: list[tuple[str, str, datetime]] = []
        if self.outage_customer:
            first, last = self.outage_slots[0], self.outage_slots[-1]
            serial = self.outage_customer.serial
            events.append((serial, OUTAGE_START, self.ends[first] - STEP + timedelta(seconds=41)))
            events.append((serial, OUTAGE_END, self.ends[last] - timedelta(seconds=95)))
        day = self.first_day + timedelta(
            days=self.month_days[-3 if len(self.month_days) > 2 else 0]
        )
        opened = datetime.combine(day, clock(2, 13, 27), self.zone)
        serial = self.tamper_customer.serial
        events.append((serial, COVER_OPENED, opened))
        events.append((serial, COVER_CLOSED, opened + timedelta(minutes=48)))
        readings = "".join(
            f"<m:MeterReading><m:Meter><m:mRID>{serial}</m:mRID></m:Meter><m:EndDeviceEvents>"
            f"<m:createdDateTime>{at.astimezone(self.zone).isoformat()}</m:createdDateTime>"
            f'<m:EndDeviceEventType ref="{code}"/></m:EndDeviceEvents></m:MeterReading>\n'
            for serial, code, at in events
        )
        path = folder / f"eventos_demo_{self.as_of:%Y%m%d}.xml"
        path.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<msg:EventMessage xmlns:msg="http://iec.ch/TC57/2011/schema/message" '
            'xmlns:m="http://iec.ch/TC57/2011/MeterReadings#">\n'
            "<msg:Header><msg:Verb>created</msg:Verb><msg:Noun>MeterReadings</msg:Noun>"
            f"<msg:Timestamp>{datetime.combine(self.as_of, clock(1), self.zone).isoformat()}"
            "</msg:Timestamp><msg:Source>HES-DEMO</msg:Source>"
            f"<msg:MessageID>demo-eventos-{self.as_of:%Y%m%d}</msg:MessageID>"
            f"<msg:CorrelationID>demo-eventos-{self.as_of:%Y%m%d}</msg:CorrelationID>"
            "</msg:Header>\n<msg:Payload><m:MeterReadings>\n"
            f"{readings}</m:MeterReadings></msg:Payload></msg:EventMessage>\n",
            encoding="utf-8",
        )
        return path

    # --- VEE and monitoring -----------------------------------------------------------------

    def validate_and_monitor(self) -> None:
        start, end = self.transfer
        # bulk_create: no signal (it would compute again the month monitor() computes below).
        LoadTransfer.objects.bulk_create(
            [
                LoadTransfer(
                    feeder_id=self.transfer_feeder,
                    starts_at=start,
                    ends_at=end,
                    reason=(
                        "Traspaso de carga desde alimentador vecino por mantenimiento programado"
                    ),
                    as_of=self.as_of,
                )
            ]
        )
        with connection.cursor() as cur:
            # Fresh tables: without statistics the planner would guess the VEE's joins badly.
            cur.execute("ANALYZE metering_intervalreading, metering_channel, metering_meter")
        vee.validate(self.first_day, self.as_of - timedelta(days=1))
        monitor(self.month)

    # --- billing ----------------------------------------------------------------------------

    def _bill_model(self) -> None:
        """Every customer's months as the CIS bills them (EG customers five years back, for
        their remanentes). Metered customers' bills add up their days inside the window, so
        that their registers, bills and daily reads tell one story."""
        months = [add_months(self.month, i - REMANENTE_MONTHS + 1) for i in range(REMANENTE_MONTHS)]
        # Per month: price (CLP/kWh, rising with the tariff decrees), fixed charge, season.
        self.tariffs = [
            (m, 130 * 1.0075**i, 1100 + 12 * i, _season(m)) for i, m in enumerate(months)
        ]
        self.periods: dict[tuple[int, int], tuple[date, date, int, int]] = {}
        for i, month in enumerate(months):
            before = add_months(month, -1)
            for day in range(1, 29):
                read_from, read_to = date(before.year, before.month, day), month.replace(day=day)
                sun = SOLAR_YIELD[(read_from + timedelta(days=15)).month - 1]
                self.periods[i, day] = (read_from, read_to, (read_to - read_from).days, sun)
        self.bills: dict[int, list[_Bill]] = {}
        self.register_starts: dict[int, tuple[float, float | None]] = {}
        for c in self.customers:
            self.bills[c.pk] = self._customer_bills(c)

    def _customer_bills(self, c: _Customer) -> list[_Bill]:
        rng = self.rng
        uniform = rng.uniform
        series = self.series.get(c.pk)
        first = 0 if c.is_eg else REMANENTE_MONTHS - BILL_MONTHS
        first_stored = REMANENTE_MONTHS - BILL_MONTHS
        day = min(c.billing_day, 28)
        window_import = window_export = None
        if series:
            window_import = self._daily(series.imported)
            base = sum(window_import) / DAYS * 30.4 / _season(self.month)
        elif c.commercial:
            base = uniform(700, 3000)
        else:
            base = uniform(110, 330) * (0.8 if c.is_eg else 1.0)  # EG: self-consumption
        ratio = uniform(0.55, 0.7)  # of the plant's yield that is injected
        if series and series.exported:
            window_export = self._daily(series.exported)
            if c.eg_technology != "eolica":
                expected = c.eg_kw * SOLAR_YIELD[self.month.month - 1]
                ratio = min(max(sum(window_export) / DAYS * 30.4 / expected, 0.2), 0.9)
        connected = month_start(c.eg_connected_on) if c.eg_connected_on else None
        register = round(uniform(2500, 30000), 3)
        injected = round(uniform(100, 2500), 3)
        bills = []
        model = (0.0, None)
        for i in range(first, REMANENTE_MONTHS):
            month, price, fixed, season = self.tariffs[i]
            read_from, read_to, days, sun = self.periods[i, day]
            consumption = base * season * days / 30.4 * uniform(0.92, 1.08)
            injection = value = None
            if connected and month > connected:
                yearly = 90 if c.eg_technology == "eolica" else sun
                injection = c.eg_kw * yearly * ratio * days / 30.4 * uniform(0.85, 1.1)
            if series:
                model = (consumption / days, injection / days if injection is not None else None)
                consumption = self._mix(window_import, read_from, days, consumption)
                if window_export and injection is not None:
                    injection = self._mix(window_export, read_from, days, injection)
            consumption = round(consumption, 3)
            charges = round(fixed + consumption * price)
            if injection is not None:
                injection = round(injection, 3)
                value = round(injection * price * 0.6)  # valued at the node price
            bill = _Bill(
                month, read_from, read_to, consumption, charges, injection, value,
                charges - (value or 0), stored=i >= first_stored,
            )  # fmt: skip
            if bill.stored:
                # Three decimals all along, so that end − start is the consumption exactly.
                bill.registers = (register, round(register + consumption, 3))
                register = bill.registers[1]
                if injection is not None:
                    bill.injection_registers = (injected, round(injected + injection, 3))
                    injected = bill.injection_registers[1]
            bills.append(bill)
            if series and read_from <= self.first_day < read_to:
                self._anchor(c, bill, model, (self.first_day - read_from).days, start=True)
        if series and self.first_day >= bills[-1].read_to:
            last = bills[-1]
            self._anchor(c, last, model, (self.first_day - last.read_to).days, start=False)
        return bills

    def _anchor(self, c: _Customer, bill: _Bill, model: tuple, days: int, *, start: bool) -> None:
        """The registers at the window's first midnight: the bill's reading that day, plus
        the days between at the bill's own daily rate."""
        index = 0 if start else 1
        imported = bill.registers[index] + model[0] * days
        exported = None
        if bill.injection_registers and model[1] is not None:
            exported = bill.injection_registers[index] + model[1] * days
        elif c.is_eg:
            exported = self.rng.uniform(100, 400)
        self.register_starts[c.pk] = (round(imported, 3), exported)

    def _daily(self, values: list[float]) -> list[float]:
        daily = [0.0] * DAYS
        for d, v in zip(self.day, values, strict=True):
            daily[d] += round(v, 3)
        return daily

    def _mix(self, window: list[float], read_from: date, days: int, model: float) -> float:
        first = (read_from - self.first_day).days
        inside = [window[first + j] for j in range(days) if 0 <= first + j < DAYS]
        return sum(inside) + model / days * (days - len(inside))

    def billing(self, folder: Path) -> None:
        pdfs.check_private()
        with connection.cursor() as cur:
            cur.execute(pdfs.LOCK_SQL)  # the PDF store is shared with import_billing
        self._write_bills()
        contracts = self._contracts()
        applied = self._remanentes(contracts)
        documents = self._documents(applied)
        self._store_pdfs(folder, documents, contracts)

    def _write_bills(self) -> None:
        """136 000 rows by COPY, the lines formatted here rather than adapted value by value."""
        columns = (
            "as_of, customer_id, month, consumption_kwh, charges_clp, injection_kwh, "
            "injection_value_clp, net_charge_clp, meter, read_from, read_to, "
            "consumption_start_kwh, consumption_end_kwh, injection_start_kwh, injection_end_kwh"
        )
        as_of = self.as_of.isoformat()
        # Its indexes and foreign key are rebuilt after the load: checking them row by row
        # (the key at commit) costs more than the COPY itself.
        saved = bulk.drop_secondary_structures(["metering_monthlybill"])
        with (
            connection.cursor() as cur,
            cur.cursor.copy(f"COPY metering_monthlybill ({columns}) FROM STDIN") as copy,
        ):
            for c in self.customers:
                lines = []
                for b in self.bills[c.pk]:
                    if not b.stored:
                        continue
                    if b.injection is None:
                        injection = "\\N\t\\N"
                        registers = "\\N\t\\N"
                    else:
                        injection = f"{b.injection:.3f}\t{b.injection_value}"
                        registers = "{:.3f}\t{:.3f}".format(*b.injection_registers)
                    lines.append(
                        f"{as_of}\t{c.pk}\t{b.month}\t{b.consumption:.3f}\t{b.charges}\t"
                        f"{injection}\t{b.net}\t{c.serial}\t{b.read_from}\t{b.read_to}\t"
                        f"{b.registers[0]:.3f}\t{b.registers[1]:.3f}\t{registers}\n"
                    )
                copy.write("".join(lines))
        bulk.restore_secondary_structures(saved)

    def _issued(self, bill: _Bill) -> date:
        return min(bill.read_to + timedelta(days=4), self.as_of)

    def _contracts(self) -> dict[int, EgContract]:
        rng = self.rng
        forms = [choice for choice, _ in EgContract.LiquidationForm.choices]
        contracts = {}
        for n, c in enumerate((c for c in self.customers if c.is_eg), start=1):
            signed = c.eg_connected_on - timedelta(days=rng.randint(15, 75))
            anniversary = date(self.as_of.year, signed.month, min(signed.day, 28))
            if anniversary < self.as_of:
                anniversary = date(self.as_of.year + 1, signed.month, min(signed.day, 28))
            contracts[c.pk] = EgContract(
                customer_id=c.pk,
                number=f"CC-{signed.year}-{n:04d}",
                signed_on=signed,
                liquidation_form=rng.choices(forms, weights=(55, 25, 10, 10))[0],
                liquidation_date=anniversary,
                as_of=self.as_of,
            )
        return contracts

    def _remanentes(self, contracts: dict[int, EgContract]) -> dict[tuple[int, date], int]:
        """Net billing credit month by month: generated when the injections are worth more
        than the bill, discounted from the next bills, paid on the contract's anniversary when
        the contract says so. Returns what each month's boleta had discounted."""
        applied: dict[tuple[int, date], int] = {}
        rows = []
        for c in self.customers:
            if not c.is_eg:
                continue
            contract = contracts[c.pk]
            pays = contract.liquidation_form != EgContract.LiquidationForm.DISCOUNT
            balance = 0
            for bill in self.bills[c.pk]:
                if bill.injection is None:
                    continue
                on = self._issued(bill)
                moves = []
                if bill.net < 0:
                    kwh = round(bill.injection * -bill.net / bill.injection_value, 3)
                    moves.append((RemanenteMovement.Kind.GENERATED, -bill.net, kwh))
                elif bill.net > 0 and balance > 0:
                    used = min(balance, bill.net)
                    applied[(c.pk, bill.month)] = used
                    moves.append((RemanenteMovement.Kind.APPLIED, used, None))
                for kind, amount, kwh in moves:
                    balance += amount if kind == RemanenteMovement.Kind.GENERATED else -amount
                    rows.append(self._movement(c, bill, on, kind, amount, kwh, balance))
                if pays and bill.month.month == contract.signed_on.month and balance > 0:
                    paid, balance = balance, 0
                    rows.append(
                        self._movement(c, bill, on, RemanenteMovement.Kind.PAID, paid, None, 0)
                    )
        RemanenteMovement.objects.bulk_create(rows, batch_size=2000)
        return applied

    def _movement(self, c, bill, on, kind, amount, kwh, balance) -> RemanenteMovement:
        return RemanenteMovement(
            distributor_id=c.distributor_id,
            customer_id=c.pk,
            external_id=f"RM-{c.number}-{bill.month:%Y%m}-{kind[:3].upper()}",
            date=on,
            kind=kind,
            amount_clp=amount,
            kwh=kwh,
            balance_clp=balance,
            as_of=self.as_of,
        )

    def _documents(self, applied: dict[tuple[int, date], int]) -> list[tuple]:
        """(document, PDF lines) for every boleta and annex, folios in order of issue."""
        holders = sorted(self.document_customers, key=lambda c: c.pk)
        documents = []
        folio = 3_100_000
        annex = 0
        for index in range(BILL_MONTHS):
            for c in holders:
                bill = [b for b in self.bills[c.pk] if b.stored][index]
                discounted = applied.get((c.pk, bill.month), 0)
                folio += 1
                documents.append(self._boleta(c, bill, str(folio), discounted))
                if bill.injection is not None:
                    annex += 1
                    documents.append(self._annex(c, bill, f"AI-{annex:06d}"))
        return documents

    def _boleta(self, c: _Customer, bill: _Bill, folio: str, discounted: int) -> tuple:
        # What the customer pays: the charges less the valued injections and the remanente
        # discounted this month, never below zero (a surplus becomes remanente).
        amount = max(bill.net, 0) - discounted
        body = [
            f"Consumo: {_kwh(bill.consumption)} kWh "
            f"(lecturas {bill.read_from:%d-%m-%Y} a {bill.read_to:%d-%m-%Y})",
            f"Cargos del mes: {_clp(bill.charges)}",
        ]
        if bill.injection is not None:
            body.append(f"Inyecciones valorizadas: - {_clp(bill.injection_value)}")
        if discounted:
            body.append(f"Remanente descontado: - {_clp(discounted)}")
        if bill.net < 0:
            body.append(f"Remanente a su favor generado: {_clp(-bill.net)}")
        body.append(f"Total a pagar: {_clp(amount)}")
        return self._document(c, bill, "boleta", folio, amount, "BOLETA ELECTRÓNICA", body)

    def _annex(self, c: _Customer, bill: _Bill, folio: str) -> tuple:
        body = [
            f"Energía inyectada: {_kwh(bill.injection)} kWh",
            f"Valorización de las inyecciones: {_clp(bill.injection_value)}",
        ]
        return self._document(
            c, bill, "anexo_inyeccion", folio, bill.injection_value, "ANEXO DE INYECCIONES", body
        )

    def _document(self, c, bill, kind, folio, amount, title, body) -> tuple:
        issued = self._issued(bill)
        document = BillingDocument(
            distributor_id=c.distributor_id, customer_id=c.pk, kind=kind, folio=folio,
            issued_on=issued, period=bill.month, amount_clp=amount, as_of=self.as_of,
        )  # fmt: skip
        lines = [
            f"{title} N° {folio}",
            f"{self.distributor.name} - RUT {self.distributor.rut}",
            "",
            f"Cliente N° {c.number}: {c.name}",
            c.address,
            f"Periodo: {_month_name(bill.month)} - emitida el {issued:%d-%m-%Y}",
            f"Medidor: {c.serial}",
            "",
            *body,
            "",
            "Documento de demostración generado por seed_demo: sin validez tributaria.",
        ]
        return document, lines

    def _contract_pdfs(self, contracts: dict[int, EgContract]) -> list[tuple]:
        by_pk = {c.pk: c for c in self.customers}
        found = []
        for pk, contract in contracts.items():
            c = by_pk[pk]
            names = [
                ("contract_pdf", "CONTRATO DE CONEXIÓN"),
                ("protocol_pdf", "PROTOCOLO DE CONEXIÓN"),
            ]
            if c.eg_kw > 10:
                names.append(("study_pdf", "ESTUDIO DE CONEXIÓN"))
            for name, title in names:
                lines = [
                    f"{title} - {contract.number}",
                    f"{self.distributor.name} - RUT {self.distributor.rut}",
                    "",
                    f"Cliente N° {c.number}: {c.name}",
                    c.address,
                    f"Equipamiento de generación: {_kwh(c.eg_kw)} kW "
                    f"({Customer.EgTechnology(c.eg_technology).label.lower()})",
                    f"Firmado el {contract.signed_on:%d-%m-%Y}; conexión el "
                    f"{c.eg_connected_on:%d-%m-%Y}",
                    f"Liquidación de remanentes: {contract.get_liquidation_form_display()}",
                    "",
                    "Documento de demostración generado por seed_demo (Ley 20.571).",
                ]
                found.append((contract, name, lines))
        return found

    def _store_pdfs(self, folder: Path, documents: list[tuple], contracts: dict) -> None:
        """Each document's PDF into the content-addressed store, the way import_billing
        keeps the CIS's: written once, named by its hash."""
        # One scratch file, rewritten for each PDF the store lacks: creating thousands of
        # files costs more than the PDFs themselves.
        scratch = folder / "documento.pdf"
        refs: dict[str, pdfs.PdfRef] = {}

        def stored(lines: list[str]) -> str:
            content = _pdf(lines)
            sha = hashlib.sha256(content).hexdigest()
            if sha not in refs:
                refs[sha] = pdfs.PdfRef(sha, len(content), str(scratch))
                target = pdf_path(sha)
                if not (target.is_file() and target.stat().st_size == len(content)):
                    scratch.write_bytes(content)
                    pdfs.store(refs[sha])
            return sha

        document_shas = [stored(lines) for _, lines in documents]
        contract_shas = [
            (c, name, stored(lines)) for c, name, lines in self._contract_pdfs(contracts)
        ]
        saved = BillingPdf.objects.bulk_create(
            [BillingPdf(sha256=sha, size=ref.size, as_of=self.as_of) for sha, ref in refs.items()],
            batch_size=2000,
        )
        ids = {pdf.sha256: pdf.pk for pdf in saved}
        for (document, _), sha in zip(documents, document_shas, strict=True):
            document.pdf_id = ids[sha]
        BillingDocument.objects.bulk_create([d for d, _ in documents], batch_size=2000)
        for contract, name, sha in contract_shas:
            setattr(contract, f"{name}_id", ids[sha])
        EgContract.objects.bulk_create(contracts.values(), batch_size=2000)

    # --- demand response --------------------------------------------------------------------

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


@dataclass(slots=True)
class _Bill:
    month: date
    read_from: date
    read_to: date
    consumption: float
    charges: int
    injection: float | None
    injection_value: int | None
    net: int
    stored: bool = True
    registers: tuple[float, float] = (0.0, 0.0)
    injection_registers: tuple[float, float] | None = None


def _season(month: date) -> float:
    """Winter (July) uses a fifth more than the mean: heating and longer nights."""
    return 1 + 0.2 * math.cos(2 * math.pi * (month.month - 7) / 12)


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


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with the lines in Helvetica: enough for a demo document, written by
    hand because rendering thousands of them through WeasyPrint would take minutes."""
    text = ["BT", "/F1 15 Tf", "56 780 Td", "18 TL"]
    for n, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) Tj T*")
        if n == 0:
            text.append("/F1 10 Tf 14 TL")
    text.append("ET")
    stream = "\n".join(text).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
