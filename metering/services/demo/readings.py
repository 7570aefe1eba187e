"""Meters and their readings: every meter of the network, and the 15-minute profiles,
daily registers, voltages and events of the metered customers, totalizers and feeder
heads, written as head-end files and loaded through the real ingest."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from metering.models import Meter
from metering.services.demo.bills import Bills
from metering.services.demo.plan import DAYS, STEP, DemoCustomer
from metering.services.ingest import ingest_file
from metering.services.monitoring import A_MINUS, A_PLUS

VOLTAGE_L1 = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.128.0.29.0"
VOLTAGE_L2 = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.64.0.29.0"
VOLTAGE_L3 = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.32.0.29.0"
CURRENT_L1 = "0.0.2.6.0.1.4.0.0.0.0.0.0.0.128.0.5.0"
CURRENT_L2 = "0.0.2.6.0.1.4.0.0.0.0.0.0.0.64.0.5.0"
CURRENT_L3 = "0.0.2.6.0.1.4.0.0.0.0.0.0.0.32.0.5.0"
POWER_FACTOR = "0.0.2.6.0.1.38.0.0.0.0.0.0.0.0.0.65.0"
REGISTER_IMPORT = "0.0.0.9.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
REGISTER_EXPORT = "0.0.0.9.19.1.12.0.0.0.0.0.0.0.0.3.72.0"
OUTAGE_START, OUTAGE_END = "3.26.38.85", "3.26.38.49"
COVER_OPENED, COVER_CLOSED = "3.12.141.212", "3.12.141.16"


@dataclass
class Series:
    """One metered customer's 15-minute energy: what flowed (true) and what the head-end
    delivered (raw, None where an interval never arrived)."""

    customer: DemoCustomer
    load: list[float]
    imported: list[float] = field(default_factory=list)
    exported: list[float] = field(default_factory=list)
    raw: dict[int, float] = field(default_factory=dict)  # slot → value the meter sent instead
    missing: set[int] = field(default_factory=set)
    voltage: list[float] | None = None
    # Channels added for the curves pages: (reading type code, values, decimals).
    quality: list[tuple[str, list[float], int]] = field(default_factory=list)


class Readings(Bills):
    """Builds on the bill model: the daily registers start where the bills leave them."""

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
        self._power_quality()
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

    def _customer_series(self, c: DemoCustomer) -> Series:
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
        return Series(c, load)

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

    def _net(self, series: Series, clouds: list[float]) -> None:
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

    def _power_quality(self) -> None:
        """Current and power factor on the voltage meters, and the other two phases of the
        first: so that every curve of the curves pages has data. Their own generator, drawn
        after everything else: the demo's other numbers stay as they were. Values stay well
        inside the voltage band (the demo's one voltage alarm is the sag of L1)."""
        if not self.voltage_customers:
            return
        rng = random.Random(f"demo-curves-{self.as_of.isoformat()}")
        low, high = 220 * 0.94, 220 * 1.06
        for n, c in enumerate(self.voltage_customers):
            series = self.series[c.pk]
            voltages = [series.voltage]
            if n == 0:
                for offset in (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)):
                    voltages.append(
                        [min(max(v + offset + rng.gauss(0, 0.5), low), high)
                         for v in series.voltage]
                    )  # fmt: skip
            flow = [
                (i + (series.exported[k] if series.exported else 0.0)) * 4
                for k, i in enumerate(series.imported)
            ]
            top = max(flow) or 1.0
            base = rng.uniform(0.93, 0.98)
            pf = [
                min(max(base - 0.12 * (1 - kw / top) + rng.gauss(0, 0.01), 0.6), 1.0) for kw in flow
            ]
            series.quality.append((POWER_FACTOR, pf, 3))
            share = 1 / len(voltages)
            for code, phase in zip((CURRENT_L1, CURRENT_L2, CURRENT_L3), voltages, strict=False):
                current = [
                    kw * 1000 * share / (max(v, 1.0) * p) * rng.uniform(0.97, 1.03)
                    for kw, v, p in zip(flow, phase, pf, strict=True)
                ]
                series.quality.append((code, current, 2))
            for code, phase in zip((VOLTAGE_L2, VOLTAGE_L3), voltages[1:], strict=False):
                series.quality.append((code, phase, 1))

    def _write_customer(self, out, series: Series) -> None:
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
        for code, values, decimals in series.quality:
            prefix = f"{serial},{code},"
            out.writelines(
                f"{prefix}{texts[k]},{v:.{decimals}f}\n"
                for k, v in enumerate(values)
                if k not in missing
            )
        # Daily register reads at local midnight: the true energy, which the meter counts
        # even when a profile interval is lost on the way.
        self._registers(out, series)

    def _registers(self, out, series: Series) -> None:
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
