"""The CIS's monthly bills: every customer's months (EG customers five years back),
matched to the readings for the metered ones, and their load by COPY."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from core.months import add_months, month_start
from metering.services.demo.plan import DAYS, DemoCustomer, Plan
from network.services import bulk

BILL_MONTHS = 36
REMANENTE_MONTHS = 60
# kWh per installed kW in a month, central Chile (summer in January).
SOLAR_YIELD = (175, 155, 140, 105, 80, 65, 72, 95, 120, 150, 165, 178)


@dataclass(slots=True)
class Bill:
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


class Bills(Plan):
    """Reads `series`, the metered customers' readings, which Readings draws first."""

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
        self.bills: dict[int, list[Bill]] = {}
        self.register_starts: dict[int, tuple[float, float | None]] = {}
        for c in self.customers:
            self.bills[c.pk] = self._customer_bills(c)

    def _customer_bills(self, c: DemoCustomer) -> list[Bill]:
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
            bill = Bill(
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

    def _anchor(self, c: DemoCustomer, bill: Bill, model: tuple, days: int, *, start: bool) -> None:
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

    def _issued(self, bill: Bill) -> date:
        return min(bill.read_to + timedelta(days=4), self.as_of)
