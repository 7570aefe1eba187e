"""What the customer's pages show (§4, §5 I–IX), read from the CIS and head-end data the
metering module holds. Each function starts from one customer that the caller has already
checked the user may see (accounts.permissions.get_customer_for_user); none of them takes a
customer id from the request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from core.months import add_months, month_start, months_between
from core.numbers import clp, number
from customers.lib.charts import Series, bar_chart
from customers.lib.explain import Effects, split_change
from metering.models import (
    BillingDocument,
    DeviceResponse,
    EgContract,
    MonthlyBill,
    RegisterRead,
    RemanenteMovement,
)

MONTHS = 36  # §4 and §5 III, V, VI
INJECTION_MONTHS = 12  # §5 IV
REMANENTE_YEARS = 5  # §5 VII
MONTH_NAMES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")

CONSUMPTION = "#1f5f9e"
CHARGES = "#e08a1e"
INJECTION = "#2e8b57"

BILL_FIELDS = (
    "month", "consumption_kwh", "charges_clp", "injection_kwh", "injection_value_clp",
    "net_charge_clp", "meter", "read_from", "read_to", "consumption_start_kwh",
    "consumption_end_kwh", "injection_start_kwh", "injection_end_kwh", "as_of",
)  # fmt: skip


def month_label(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month:%y}"


def month_title(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


@dataclass
class Month:
    """One calendar month of the window, with its bill when the CIS has one."""

    month: date
    bill: MonthlyBill | None
    against_previous: Effects | None = None
    against_last_year: Effects | None = None

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def title(self) -> str:
        return month_title(self.month)


def last_months(customer, count: int = MONTHS, today: date | None = None) -> list[Month]:
    """The last `count` calendar months, oldest first, each with its bill or None; each bill
    explained against the month before and the same month a year before (one query).

    The window ends with this month once it is billed, with the month before until then: a
    month still being consumed is not an empty month of the chart.
    """
    today = today or timezone.localdate()
    current = month_start(today)
    bills = {
        b.month: b
        for b in MonthlyBill.objects.of_customer(customer)
        .filter(month__gte=add_months(current, -count - 12), month__lte=current)
        .only(*BILL_FIELDS)
        .order_by()  # a dict by month: the model's ordering would join the customer to sort
    }
    last = current if current in bills else add_months(current, -1)
    first = add_months(last, 1 - count)
    months = [Month(m, bills.get(m)) for m in months_between(first, last)]
    for row in months:
        if row.bill is None:
            continue
        for attr, before in (("against_previous", -1), ("against_last_year", -12)):
            other = bills.get(add_months(row.month, before))
            if other is not None:
                effects = split_change(
                    other.consumption_kwh, other.charges_clp, row.bill.consumption_kwh,
                    row.bill.charges_clp,
                )  # fmt: skip
                setattr(row, attr, effects)
    return months


def as_of(months: list[Month]) -> date | None:
    dates = [m.bill.as_of for m in months if m.bill is not None]
    return max(dates) if dates else None


def _kwh(value: float) -> str:
    return f"{number(value, 0)} kWh"


def _kwh_tick(value: float) -> str:
    return number(value, 0)


def _thousands(value: float) -> str:
    """An axis tick in thousands of pesos (the axis says "$ mil"): short enough to stay
    readable when the chart shrinks to a phone's width."""
    return number(value / 1000, 0 if abs(value) >= 1000 or value == 0 else 1)


def _column(months: list[Month], field: str, fallback: str = "") -> list[float | None]:
    """One figure of each month's bill (None for a month without one); `fallback` is read
    when the bill lacks `field` (a net charge the CIS left empty is the charges)."""
    values = []
    for m in months:
        value = None if m.bill is None else getattr(m.bill, field)
        if value is None and m.bill is not None and fallback:
            value = getattr(m.bill, fallback)
        values.append(None if value is None else float(value))
    return values


def _kwh_series(name: str, values, colour: str, axis: int = 0) -> Series:
    return Series(name, values, colour, axis, _kwh, _kwh_tick)


def _clp_series(name: str, values, colour: str, axis: int = 0) -> Series:
    return Series(name, values, colour, axis, clp, _thousands)


def consumption_chart(months: list[Month], *, net: bool = False, chart_id: str = "consumo") -> str:
    """§4 / §5 III: consumption (kWh, left axis) and charges (or net charges) ($, right)."""
    name = "Cargo neto" if net else "Cargos"
    charges = (
        _column(months, "net_charge_clp", "charges_clp")
        if net
        else (_column(months, "charges_clp"))
    )
    return bar_chart(
        [m.label for m in months],
        [
            _kwh_series("Consumo", _column(months, "consumption_kwh"), CONSUMPTION),
            _clp_series(name, charges, CHARGES, axis=1),
        ],
        title=f"Consumo y {name.lower()} de los últimos {len(months)} meses",
        description=(
            "Barras por mes: consumo en kWh (eje izquierdo) y "
            f"{name.lower()} en pesos (eje derecho). Las cifras están en la tabla."
        ),
        chart_id=chart_id,
        axis_units=("kWh", "$ mil"),
    )


def injection_chart(months: list[Month], chart_id: str = "inyeccion") -> str:
    """§5 IV: consumption and injections of the last 12 months, in kWh on one axis."""
    return bar_chart(
        [m.label for m in months],
        [
            _kwh_series("Consumo", _column(months, "consumption_kwh"), CONSUMPTION),
            _kwh_series("Inyección", _column(months, "injection_kwh"), INJECTION),
        ],
        title=f"Consumo e inyecciones de los últimos {len(months)} meses",
        description="Barras por mes: energía consumida e inyectada a la red, en kWh.",
        chart_id=chart_id,
        axis_units=("kWh",),
        every=1,
    )


def injection_value_chart(months: list[Month], chart_id: str = "valorizacion") -> str:
    """§5 IV: what the charges and the valued injections were each month, in pesos."""
    return bar_chart(
        [m.label for m in months],
        [
            _clp_series("Cargos", _column(months, "charges_clp"), CHARGES),
            _clp_series(
                "Valorización inyección", _column(months, "injection_value_clp"), INJECTION
            ),
        ],
        title=f"Cargos y valorización de las inyecciones, últimos {len(months)} meses",
        description="Barras por mes, en pesos.",
        chart_id=chart_id,
        axis_units=("$ mil",),
        every=1,
    )


# --- documents (§5 V) -------------------------------------------------------------------------


class DocumentSearchError(ValueError):
    """A search the page answers with a message: the folio or the period is not valid."""


def documents(customer, kinds: str, count: int = MONTHS):
    """The last `count` boletas and facturas (`kinds` "invoices") or injection annexes."""
    rows = BillingDocument.objects.of_customer(customer)
    rows = rows.injection_annexes() if kinds == "annexes" else rows.invoices()
    return list(rows.select_related("pdf").last_issued(count))


def find_documents(customer, kinds: str, folio: str = "", period: str = "", today=None):
    """The documents of one folio or one period (YYYY-MM) within the last 36 months; raises
    DocumentSearchError with the message the page shows."""
    from core.months import parse_month

    rows = BillingDocument.objects.of_customer(customer)
    rows = rows.injection_annexes() if kinds == "annexes" else rows.invoices()
    what = "anexo de inyecciones" if kinds == "annexes" else "boleta o factura"
    if folio.strip():
        found = list(rows.with_folio(folio).select_related("pdf"))
        if not found:
            raise DocumentSearchError(f"No hay un(a) {what} con folio «{folio.strip()}».")
        return found
    if period.strip():
        try:
            month = parse_month(period.strip())
        except ValueError:
            raise DocumentSearchError(
                f"El periodo «{period.strip()}» no es válido: escríbalo como AAAA-MM, "
                "por ejemplo 2026-03."
            ) from None
        today = today or timezone.localdate()
        first = add_months(month_start(today), 1 - MONTHS)
        if not first <= month <= today:
            raise DocumentSearchError(
                f"El periodo {month:%m/%Y} está fuera de los últimos {MONTHS} meses "
                f"({first:%m/%Y} a {today:%m/%Y})."
            )
        found = list(rows.filter(period=month).select_related("pdf").order_by("-issued_on"))
        if not found:
            raise DocumentSearchError(f"No hay un(a) {what} del periodo {month:%m/%Y}.")
        return found
    return None


# --- remanentes (§5 VII) and the credit ledger -----------------------------------------------

SIGN = {
    RemanenteMovement.Kind.GENERATED: 1,
    RemanenteMovement.Kind.APPLIED: -1,
    RemanenteMovement.Kind.PAID: -1,
    RemanenteMovement.Kind.EXPIRED: -1,
    RemanenteMovement.Kind.ADJUSTMENT: 1,  # an adjustment carries its own sign
}


@dataclass(frozen=True)
class LedgerLine:
    movement: RemanenteMovement
    credit: int | None
    debit: int | None
    balance: int

    @property
    def agrees(self) -> bool:
        """Whether the running balance is the one the CIS booked after the movement."""
        return self.balance == self.movement.balance_clp


@dataclass(frozen=True)
class Ledger:
    opening: int
    lines: list[LedgerLine]
    credits: int
    debits: int

    @property
    def closing(self) -> int:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def disagreements(self) -> list[LedgerLine]:
        return [line for line in self.lines if not line.agrees]


def ledger(customer, years: int = REMANENTE_YEARS, today: date | None = None) -> Ledger:
    """The remanente movements of the last `years` as a bank statement, oldest first: credits,
    debits and the running balance from the balance before the first of them."""
    movements = list(
        RemanenteMovement.objects.of_customer(customer).last_years(years, today).reverse()
    )
    movements.sort(key=lambda m: (m.date, m.id))
    if not movements:
        return Ledger(0, [], 0, 0)
    first = movements[0]
    balance = first.balance_clp - SIGN[first.kind] * first.amount_clp
    lines, credits, debits = [], 0, 0
    for m in movements:
        signed = SIGN[m.kind] * m.amount_clp
        balance += signed
        credit, debit = (signed, None) if signed > 0 else (None, -signed)
        credits += credit or 0
        debits += debit or 0
        lines.append(LedgerLine(m, credit, debit, balance))
    return Ledger(first.balance_clp - SIGN[first.kind] * first.amount_clp, lines, credits, debits)


@dataclass(frozen=True)
class Payout:
    """The next liquidation of the remanente under the contract, and what it is likely to be."""

    on: date
    form: str
    pays: bool
    balance: int
    expected: int
    basis: str


def next_liquidation(contract: EgContract, today: date) -> date:
    """The contract's liquidation date, or its next anniversary once that date has passed."""
    on = contract.liquidation_date
    years = 0
    while on < today:
        years += 1
        try:
            on = contract.liquidation_date.replace(year=contract.liquidation_date.year + years)
        except ValueError:  # 29 February
            on = date(contract.liquidation_date.year + years, 2, 28)
    return on


def payout_forecast(contract: EgContract, book: Ledger, today: date | None = None) -> Payout:
    """The amount the next liquidation would pay: today's balance plus, for each month until
    the liquidation date, the net movement (generated − applied) of the same month a year
    before; never below zero. A contract that liquidates by discount pays nothing in money."""
    today = today or timezone.localdate()
    on = next_liquidation(contract, today)
    pays = contract.liquidation_form != EgContract.LiquidationForm.DISCOUNT
    by_month: dict[date, int] = defaultdict(int)
    for line in book.lines:
        kind = line.movement.kind
        if kind in (RemanenteMovement.Kind.GENERATED, RemanenteMovement.Kind.APPLIED):
            by_month[month_start(line.movement.date)] += (line.credit or 0) - (line.debit or 0)
    ahead = [add_months(m, -12) for m in months_between(add_months(month_start(today), 1), on)]
    expected = max(book.closing + sum(by_month.get(m, 0) for m in ahead), 0)
    basis = (
        f"saldo actual {clp(book.closing)} más el remanente neto de los mismos meses del año "
        f"anterior ({len(ahead)} {'mes' if len(ahead) == 1 else 'meses'})"
    )
    return Payout(on, contract.get_liquidation_form_display(), pays, book.closing, expected, basis)


# --- the meter's registers (§5 VIII) ------------------------------------------------------------


@dataclass(frozen=True)
class Register:
    code: str
    name: str
    unit: str
    value: Decimal
    at: object
    quality: int


def registers(customer, days: int = 31) -> tuple[list[Register], list[tuple], list[str]]:
    """The values the meter's display shows (the latest read of each OBIS register) and the
    reads it stored, a row per moment with a column per register: consumed (A+, 1.8.x) and
    injected (A−, 2.8.x) energy first."""
    reads = RegisterRead.objects.filter(meter__customer=customer, meter__kind="customer")
    latest = list(
        reads.order_by("obis__code", "-ts")
        .distinct("obis__code")
        .values_list("obis__code", "obis__name", "obis__unit", "value", "ts", "quality")
    )
    display = [Register(*row) for row in latest]
    display.sort(key=lambda r: _obis_key(r.code))
    codes = [r.code for r in display]
    if not display:
        return [], [], []
    since = max(r.at for r in display) - timezone.timedelta(days=days)
    history: dict[object, dict[str, Decimal]] = defaultdict(dict)
    for code, ts, value in reads.filter(ts__gte=since).values_list("obis__code", "ts", "value"):
        history[ts][code] = value
    rows = [(ts, [history[ts].get(c) for c in codes]) for ts in sorted(history, reverse=True)]
    return display, rows, codes


def _obis_key(code: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in code.split("."))


# --- demand response: the customer's own answers, by correlation id -------------------------


def answers_by_correlation(customer) -> dict[str, list[DeviceResponse]]:
    """Every acknowledgement and opt-in / opt-out the customer's devices sent and the DR
    application applied, grouped by the CorrelationID of the event or price they answer."""
    grouped: dict[str, list[DeviceResponse]] = defaultdict(list)
    rows = (
        DeviceResponse.objects.filter(device__customer=customer, status="applied")
        .select_related("device")
        .order_by("at", "id")
    )
    for response in rows:
        grouped[response.correlation_id].append(response)
    return dict(grouped)
