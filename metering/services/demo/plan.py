"""The demo's plan, drawn once from the network and the rng: which customers and
transformers are metered, which carry the anomalies, who is in the DR programs and when
their events are; and the grid of 15-minute slots of the window with its day shapes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from core.months import add_months, month_start
from network.models import Customer, Distributor, Feeder, Transformer

DAYS = 35
METERED_TRANSFORMERS = 4  # of them at least one with EG customers, one losing energy
DOCUMENT_CUSTOMERS = 5  # regular customers with boletas
# EG customers with boletas and annexes: the metered ones and others up to this many. Every
# document is a file in the PDF store; for all EG customers (~9 000 files) the first seed on a
# fresh disk spends more time creating files than on everything else together.
DOCUMENT_EG_CUSTOMERS = 12
DR_CUSTOMERS = 20
VOLTAGE_METERS = 6

STEP = timedelta(minutes=15)
SOLAR_NOON_UTC = 16.7  # hours: central Chile lies at about 70.6° W


@dataclass
class DemoCustomer:
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


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


class Plan:
    """The state every step of the demo reads; the steps are the mixins that build on it
    (readings, billing, monitoring, demand response), put together in `_Demo`."""

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
            DemoCustomer(
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
        self.by_transformer: dict[int, list[DemoCustomer]] = {}
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

        def eg_of(pk: int) -> list[DemoCustomer]:
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

    @property
    def transfer(self) -> tuple[datetime, datetime]:
        day = self.month_days[-4] if len(self.month_days) > 3 else self.month_days[0]
        start = datetime.combine(self.first_day + timedelta(days=day), clock(6), self.zone)
        return start, start + timedelta(hours=30)
