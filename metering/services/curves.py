"""Curves of a meter and of a group of meters over a period (issue point 6, IPSE).

Every figure reads the validated series (monitoring.SERIES: raw values without VEE flags, plus
the estimates), set-based, in one statement per page:

- `quantity_curves(meter, quantity, period)`: a meter's voltage, current or power-factor
  channels (one line per phase); on a long period, per hour or per day with the minimum,
  mean and maximum of the bucket (`bucket_minutes`), so that a year stays a few hundred points.
- `load_curves(target, period)`: the active power (kW = kWh × 60 / interval minutes, imported
  minus exported) of a meter or the sum of a group's meters per interval, and from it the
  daily profile (mean kW per time of day), the weekly profile (per weekday × time of day),
  the load–duration curve (kW sorted from the highest, by share of the time) and the power
  over time (bucketed like the quantities).

Times are the start of the interval in local time (America/Santiago). Periods are whole local
days, at most MAX_DAYS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from core.months import today
from metering.models import Meter
from metering.services.groups import Group
from metering.services.monitoring import A_MINUS, A_PLUS, SERIES
from metering.services.vee import VEE_BITS

MAX_DAYS = 366
DEFAULT_DAYS = 28
# Points of a line before it is drawn per hour, then per day.
MAX_POINTS = 2000
# The load–duration curve keeps every interval up to this many, then an even sample by rank.
DURATION_POINTS = 1000
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


@dataclass(frozen=True)
class Quantity:
    slug: str
    label: str
    unit: str
    codes: tuple[str, ...]


PHASES = (("128", "L1"), ("64", "L2"), ("32", "L3"))
QUANTITIES: dict[str, Quantity] = {
    q.slug: q
    for q in (
        Quantity(
            "tension",
            "Tensión",
            "V",
            tuple(f"0.0.2.6.0.1.54.0.0.0.0.0.0.0.{p}.0.29.0" for p, _ in PHASES),
        ),
        Quantity(
            "corriente",
            "Corriente",
            "A",
            tuple(f"0.0.2.6.0.1.4.0.0.0.0.0.0.0.{p}.0.5.0" for p, _ in PHASES),
        ),
        Quantity(
            "factor-potencia", "Factor de potencia", "", ("0.0.2.6.0.1.38.0.0.0.0.0.0.0.0.0.65.0",)
        ),
    )
}


class PeriodError(ValueError):
    """A period the request gives badly; its message names what was wrong, in Spanish."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """Local midnight of the first day, and of the day after the last (interval ends
        after the first and up to the second belong to the period)."""
        zone = ZoneInfo(settings.TIME_ZONE)
        return (
            datetime.combine(self.first, time(), zone),
            datetime.combine(self.last + timedelta(days=1), time(), zone),
        )

    def query(self) -> dict[str, str]:
        return {"desde": self.first.isoformat(), "hasta": self.last.isoformat()}


def default_period(last: date | None = None) -> Period:
    last = last or today() - timedelta(days=1)
    return Period(last - timedelta(days=DEFAULT_DAYS - 1), last)


def parse_period(first: str | None, last: str | None) -> Period:
    """`desde` and `hasta` as AAAA-MM-DD, both included; the default period when both are
    empty; PeriodError otherwise."""
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last:
        return default_period()

    def day(text: str, name: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            shown = text[:20] or "(vacía)"
            raise PeriodError(
                f"La fecha {name} «{shown}» no es válida: use AAAA-MM-DD, p. ej. 2026-03-01."
            ) from None

    period = Period(day(first, "inicial"), day(last, "final"))
    if period.last < period.first:
        raise PeriodError(
            f"La fecha final ({period.last:%d-%m-%Y}) es anterior a la inicial "
            f"({period.first:%d-%m-%Y})."
        )
    if period.days > MAX_DAYS:
        raise PeriodError(
            f"El período elegido tiene {period.days} días: el máximo es {MAX_DAYS} días."
        )
    return period


def bucket_minutes(period: Period, interval_minutes: int = 15) -> int:
    """The interval itself, an hour or a day: the finest that keeps a line within MAX_POINTS."""
    per_day = 1440 // interval_minutes
    if period.days * per_day <= MAX_POINTS:
        return interval_minutes
    if period.days * 24 <= MAX_POINTS:
        return 60
    return 1440


def voltage_band() -> tuple[float, float]:
    nominal = settings.METERING_VOLTAGE_NOMINAL_V
    delta = nominal * settings.METERING_VOLTAGE_BAND_PCT / 100
    return nominal - delta, nominal + delta


@dataclass(frozen=True)
class Point:
    starts: datetime  # local start of the interval or bucket
    low: float
    mean: float
    high: float


@dataclass
class Line:
    code: str
    name: str
    points: list[Point] = field(default_factory=list)


@dataclass
class QuantityCurves:
    quantity: Quantity
    period: Period
    bucket_minutes: int
    lines: list[Line]

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


@dataclass
class LoadCurves:
    period: Period
    bucket_minutes: int
    intervals: int  # how many intervals have a value (the duration curve's 100 %)
    meters: int  # the most meters with a value in one interval
    series: list[Point]
    daily: list[tuple[time, float]]
    weekly: list[tuple[int, time, float]]  # ISO weekday 1-7
    duration: list[tuple[float, float]]  # (% of the time at or above, kW)

    @property
    def empty(self) -> bool:
        return not self.intervals


def _params(period: Period) -> dict[str, object]:
    start, end = period.bounds()
    return {
        "start": start,
        "end": end,
        "bits": int(VEE_BITS),
        "zone": settings.TIME_ZONE,
        "a_plus": A_PLUS,
        "a_minus": A_MINUS,
    }


# The start of an interval (or of its hour, or its local day), from the end `ts` and `minutes`.
BUCKET = """
    CASE %(bucket)s
         WHEN 60 THEN date_trunc('hour', {ts} - make_interval(mins => {minutes}))
         WHEN 1440 THEN (date_trunc('day', ({ts} - make_interval(mins => {minutes}))
                         AT TIME ZONE %(zone)s) AT TIME ZONE %(zone)s)
         ELSE {ts} - make_interval(mins => {minutes}) END
"""

QUANTITY = (
    """
    WITH channels AS (
        SELECT c.id AS channel_id, rt.code, rt.name, m.interval_minutes AS minutes
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE c.meter_id = %(meter)s AND rt.code = ANY(%(codes)s)
    ), {series}
    SELECT code, name, bucket, min(value), avg(value), max(value)
      FROM (SELECT s.code, s.name, s.value, """
    + BUCKET.format(ts="s.ts", minutes="s.minutes")
    + """ AS bucket FROM series s) b
     GROUP BY 1, 2, 3
     ORDER BY 1, 3
"""
)


def quantity_curves(meter: Meter, quantity: Quantity, period: Period) -> QuantityCurves:
    bucket = bucket_minutes(period, meter.interval_minutes)
    params = {**_params(period), "meter": meter.pk, "codes": list(quantity.codes), "bucket": bucket}
    zone = ZoneInfo(settings.TIME_ZONE)
    lines = {code: Line(code, _phase_name(quantity, code)) for code in quantity.codes}
    with connection.cursor() as cur:
        cur.execute(QUANTITY.format(series=SERIES), params)
        for code, _name, starts, low, mean, high in cur.fetchall():
            lines[code].points.append(Point(starts.astimezone(zone), low, mean, high))
    return QuantityCurves(
        quantity, period, bucket, [line for line in lines.values() if line.points]
    )


def _phase_name(quantity: Quantity, code: str) -> str:
    if len(quantity.codes) == 1:
        return quantity.label
    return f"{quantity.label} fase {PHASES[quantity.codes.index(code)][1]}"


# The active power per interval of the meters `meters` select, and every load curve of it,
# in one statement: `kw` is read four times, so PostgreSQL computes it once.
LOAD = """
    WITH channels AS MATERIALIZED (
        SELECT c.id AS channel_id, c.meter_id, m.interval_minutes AS minutes,
               CASE rt.code WHEN %(a_plus)s THEN 1 ELSE -1 END AS sign
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.code IN (%(a_plus)s, %(a_minus)s) AND m.id IN ({meters})
    ), {series}, kw AS (
        SELECT s.ts - make_interval(mins => min(s.minutes)) AS starts, min(s.minutes) AS minutes,
               sum(s.value * s.sign * 60.0 / s.minutes) AS kw,
               -- Each meter has one import channel: a count without DISTINCT's sort.
               count(*) FILTER (WHERE s.sign = 1) AS meters
          FROM series s
         GROUP BY s.ts
    ), local AS (
        SELECT starts, kw, (starts AT TIME ZONE %(zone)s) AS at FROM kw
    ), ranked AS (
        SELECT kw, row_number() OVER (ORDER BY kw DESC) AS rank, count(*) OVER () AS n FROM kw
    )
    SELECT 'daily', NULL::int, at::time, NULL::timestamptz, avg(kw), NULL::float8, NULL::float8
      FROM local GROUP BY at::time
     UNION ALL
    SELECT 'weekly', extract(isodow FROM at)::int, at::time, NULL, avg(kw), NULL, NULL
      FROM local GROUP BY 2, at::time
     UNION ALL
    SELECT 'duration', rank::int, NULL, NULL, kw, rank * 100.0 / n, n
      FROM ranked
     WHERE n <= %(duration_points)s OR rank = n
        OR (rank - 1) %% ceil(n::numeric / %(duration_points)s)::int = 0
     UNION ALL
    SELECT 'series', NULL, NULL, bucket, avg(kw), min(kw), max(kw)
      FROM (SELECT kw, {bucket} AS bucket FROM kw) b
     GROUP BY bucket
     UNION ALL
    SELECT 'meters', max(meters)::int, NULL, NULL, NULL, NULL, NULL FROM kw
"""


LOAD_BUCKET = BUCKET.format(ts="(starts + make_interval(mins => minutes))", minutes="minutes")


def meter_target(meter: Meter) -> tuple[str, dict[str, object]]:
    return "%(meter)s", {"meter": meter.pk}


def load_curves(target: Group | Meter, period: Period, interval_minutes: int = 15) -> LoadCurves:
    """The load curves of a group (the sum of its meters) or of one meter."""
    if isinstance(target, Meter):
        meters, extra = meter_target(target)
        interval_minutes = target.interval_minutes
    else:
        meters, extra = target.meters_sql()
    bucket = bucket_minutes(period, interval_minutes)
    params = {
        **_params(period),
        **extra,
        "bucket": bucket,
        "duration_points": DURATION_POINTS,
    }
    zone = ZoneInfo(settings.TIME_ZONE)
    daily, weekly, duration, series = [], [], [], []
    count = intervals = 0
    with connection.cursor() as cur:
        cur.execute(LOAD.format(meters=meters, series=SERIES, bucket=LOAD_BUCKET), params)
        for curve, number, at, starts, kw, low, high in cur.fetchall():
            if curve == "daily":
                daily.append((at, kw))
            elif curve == "weekly":
                weekly.append((number, at, kw))
            elif curve == "duration":
                duration.append((number, low, kw))
                intervals = int(high)
            elif curve == "series":
                series.append(Point(starts.astimezone(zone), low, kw, high))
            else:
                count = number
    daily.sort()
    weekly.sort()
    duration.sort()
    series.sort(key=lambda p: p.starts)
    return LoadCurves(
        period=period,
        bucket_minutes=bucket,
        intervals=intervals,
        meters=count,
        series=series,
        daily=daily,
        weekly=weekly,
        duration=[(pct, kw) for _, pct, kw in duration],
    )


def meter_location(meter: Meter) -> dict[str, str]:
    """What the curves page says of a customer meter: its transformer and feeder, never who
    the customer is."""
    transformer = meter.transformer or (meter.customer.transformer if meter.customer else None)
    feeder = meter.feeder or (transformer.feeder if transformer else None)
    return {
        "transformer": f"{transformer.code} {transformer.name}".strip() if transformer else "",
        "feeder": f"{feeder.code} {feeder.name}".strip() if feeder else "",
    }
