"""The curves as the pages show them: one SVG per curve (core.charts) and the CSV of the same
numbers. Both read the same `Table` (header and rows), so the download is what was drawn."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from core.charts import ChartLine, line_chart
from metering.services.curves import (
    WEEKDAYS,
    LoadCurves,
    Point,
    QuantityCurves,
    voltage_band,
)

LOAD_CURVES = {
    "diaria": "Perfil diario",
    "semanal": "Perfil semanal",
    "duracion": "Curva de duración de carga",
    "potencia": "Potencia en el período",
}
BOM = "\ufeff"


@dataclass(frozen=True)
class Table:
    name: str  # the file's name, without extension
    header: tuple[str, ...]
    rows: list[tuple]


def _hours(t: time) -> float:
    return t.hour + t.minute / 60


def _clock(t: time) -> str:
    return f"{t:%H:%M}"


def _bucket_text(minutes: int) -> str:
    return {60: "por hora", 1440: "por día"}.get(minutes, f"cada {minutes} min")


# --- tables -------------------------------------------------------------------------------


def quantity_table(curves: QuantityCurves, serial: str) -> Table:
    unit = f" ({curves.quantity.unit})" if curves.quantity.unit else ""
    rows = [
        (line.name, p.starts.isoformat(), p.low, p.mean, p.high)
        for line in curves.lines
        for p in line.points
    ]
    return Table(
        f"{curves.quantity.slug}-{serial}",
        ("serie", "inicio", f"minimo{unit}", f"promedio{unit}", f"maximo{unit}"),
        rows,
    )


def load_table(load: LoadCurves, curve: str, name: str) -> Table:
    if curve == "diaria":
        return Table(
            f"perfil-diario-{name}",
            ("hora", "potencia_media_kw"),
            [(_clock(t), kw) for t, kw in load.daily],
        )
    if curve == "semanal":
        return Table(
            f"perfil-semanal-{name}",
            ("dia", "hora", "potencia_media_kw"),
            [(WEEKDAYS[d - 1], _clock(t), kw) for d, t, kw in load.weekly],
        )
    if curve == "duracion":
        return Table(
            f"duracion-de-carga-{name}",
            ("porcentaje_del_tiempo", "potencia_kw"),
            [(pct, kw) for pct, kw in load.duration],
        )
    return Table(
        f"potencia-{name}",
        ("inicio", "potencia_minima_kw", "potencia_media_kw", "potencia_maxima_kw"),
        [(p.starts.isoformat(), p.low, p.mean, p.high) for p in load.series],
    )


def csv_text(table: Table) -> str:
    """UTF-8 with BOM, ';' between columns (a Chilean spreadsheet opens it as is), the
    numbers with a decimal point and all their digits, instants in ISO 8601 with offset."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return out.getvalue()


# --- charts -------------------------------------------------------------------------------


def _time_axis(first: datetime, days: int) -> tuple[list[tuple[float, str]], tuple[float, float]]:
    step = next(s for s in (1, 2, 7, 14, 30, 61) if days / s <= 8)
    ticks = [(d * 24.0, f"{first + timedelta(days=d):%d-%m}") for d in range(0, days + 1, step)]
    return ticks, (0.0, days * 24.0)


def _timed(points: list[Point], origin: datetime, bucket: int, envelope: bool):
    """(x in hours from the period's start, value) with None where buckets are missing."""
    line: list[tuple[float, float | None]] = []
    band: list[tuple[float, float, float] | None] = []
    previous = None
    for p in points:
        hours = (p.starts - origin).total_seconds() / 3600
        if previous is not None and hours - previous > bucket / 60 * 1.5:
            line.append((previous, None))
            if envelope:
                band.append(None)
        line.append((hours, p.mean))
        if envelope:
            band.append((hours, p.low, p.high))
        previous = hours
    return line, band


def quantity_svg(curves: QuantityCurves) -> str:
    q = curves.quantity
    if curves.empty:
        return ""
    first = datetime.combine(curves.period.first, time(), ZoneInfo(settings.TIME_ZONE))
    ticks, x_range = _time_axis(first, curves.period.days)
    bucketed = curves.bucket_minutes > 15
    lines = []
    for line in curves.lines:
        points, envelope = _timed(line.points, first, curves.bucket_minutes, bucketed)
        lines.append(ChartLine(line.name, points, envelope))
    band = voltage_band() if q.slug == "tension" else None
    unit = f" ({q.unit})" if q.unit else ""
    band_text = ""
    if band:
        band_text = f"Banda {_num(band[0])}–{_num(band[1])} V"
    how = _bucket_text(curves.bucket_minutes)
    return line_chart(
        lines,
        x_ticks=ticks,
        x_range=x_range,
        x_label="Fecha (hora local)",
        y_label=f"{q.label}{unit}",
        title=f"{q.label} del medidor, {how}",
        description=(
            f"{q.label}{unit} de cada fase, {how}"
            + (", con el mínimo y el máximo de cada período sombreados" if bucketed else "")
            + (f"; la banda permitida {band_text} sombreada en verde." if band else ".")
        ),
        chart_id=f"curva-{q.slug}",
        band=band,
        band_label=band_text,
        y_range=(min(0.8, _lowest(curves)), 1.0) if q.slug == "factor-potencia" else None,
    )


def _lowest(curves: QuantityCurves) -> float:
    return min(p.low for line in curves.lines for p in line.points)


def _num(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").replace(",0", "")


def load_svg(load: LoadCurves, curve: str, subject: str) -> str:
    if load.empty:
        return ""
    chart_id = f"curva-{curve}"
    if curve == "diaria":
        points = [(_hours(t), kw) for t, kw in load.daily]
        return line_chart(
            [ChartLine("Potencia media", points)],
            x_ticks=[(h, f"{h:02d}:00") for h in range(0, 25, 3)],
            x_range=(0, 24),
            x_label="Hora del día (inicio del intervalo, hora local)",
            y_label="Potencia activa (kW)",
            title=f"Perfil diario de {subject}",
            description="Potencia activa neta media (kW) de cada hora del día en el período.",
            chart_id=chart_id,
            y_range=(0, 0),
        )
    if curve == "semanal":
        points = [((d - 1) * 24 + _hours(t), kw) for d, t, kw in load.weekly]
        ticks = [(d * 24 + 12.0, WEEKDAYS[d][:3]) for d in range(7)]
        return line_chart(
            [ChartLine("Potencia media", _break_days(points))],
            x_ticks=ticks,
            x_range=(0, 168),
            x_label="Día de la semana y hora",
            y_label="Potencia activa (kW)",
            title=f"Perfil semanal de {subject}",
            description="Potencia activa neta media (kW) de cada día de la semana y hora.",
            chart_id=chart_id,
            y_range=(0, 0),
        )
    if curve == "duracion":
        return line_chart(
            [ChartLine("Potencia", [(pct, kw) for pct, kw in load.duration])],
            x_ticks=[(p, f"{p} %") for p in range(0, 101, 10)],
            x_range=(0, 100),
            x_label="Porcentaje del tiempo en que la potencia es igual o mayor",
            y_label="Potencia activa (kW)",
            title=f"Curva de duración de carga de {subject}",
            description=(
                f"Potencia activa neta de los {load.intervals} intervalos del período, de la "
                "mayor a la menor."
            ),
            chart_id=chart_id,
            y_range=(0, 0),
        )
    first = datetime.combine(load.period.first, time(), ZoneInfo(settings.TIME_ZONE))
    ticks, x_range = _time_axis(first, load.period.days)
    bucketed = load.bucket_minutes > 15
    points, envelope = _timed(load.series, first, load.bucket_minutes, bucketed)
    how = _bucket_text(load.bucket_minutes)
    return line_chart(
        [ChartLine("Potencia media", points, envelope)],
        x_ticks=ticks,
        x_range=x_range,
        x_label="Fecha (hora local)",
        y_label="Potencia activa (kW)",
        title=f"Potencia de {subject} en el período, {how}",
        description=f"Potencia activa neta (kW), {how}"
        + (", con el mínimo y el máximo sombreados." if bucketed else "."),
        chart_id=chart_id,
        y_range=(0, 0),
    )


def _break_days(points):
    """The weekly line is not drawn from one day's last interval across a missing day."""
    out, previous = [], None
    for x, y in points:
        if previous is not None and x - previous > 1:
            out.append((previous, None))
        out.append((x, y))
        previous = x
    return out
