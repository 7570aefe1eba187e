"""Period reports of measurement points and of groups of meters (Hemera's XML reports, the
AMI system's periodic reports), computed set-based from the validated series (raw values
without VEE flags, plus estimates and manual values):

- energy imported and exported (kWh);
- maximum demand (kW = kWh × 60 / the interval's minutes) and when; for a group, the
  coincident maximum of its meters' summed demand;
- quality counts of the import channel: intervals expected, received valid, received
  suspect (a VEE flag), missing, estimated by the VEE, given a manual value;
- the estimated share: the imported energy that comes from estimates and manual values, as a
  percentage of the imported energy.

A report is kept (MeteringReport) with its rows as computed, so that a download gives what
was generated then; `to_xml` follows metering/data/reporte_medicion.xsd (docs/metering.md).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.etree import ElementTree as ET

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.months import add_months, month_start, next_month
from metering.models import Meter, MeteringReport
from metering.services.monitoring import A_MINUS, A_PLUS
from metering.services.vee import VEE_BITS, period

XML_NAMESPACE = "urn:portal-distribucion:reporte-medicion:1"
XML_VERSION = "1.0"
MAX_DAYS = 366

# Members: (meter_id, key, label) — the meters of each row of the report.
POINT_MEMBERS = """
    SELECT m.id AS meter_id, m.serial AS key,
           m.serial || CASE WHEN m.virtual THEN ' (virtual)' ELSE '' END AS label
      FROM metering_meter m WHERE m.id = ANY(%(meters)s::bigint[])
"""
# Every measurement point of the network (not customers' meters, not backups).
NETWORK_MEMBERS = """
    SELECT m.id AS meter_id, m.serial AS key,
           m.serial || ' · ' || CASE m.kind
               WHEN 'feeder_head' THEN 'alimentador ' || f.code
               WHEN 'totalizer' THEN 'transformador ' || t.code
               ELSE 'frontera' || coalesce(' ' || f.code, '') END
           || CASE WHEN m.virtual THEN ' (virtual)' ELSE '' END AS label
      FROM metering_meter m
      LEFT JOIN network_feeder f ON f.id = m.feeder_id
      LEFT JOIN network_transformer t ON t.id = m.transformer_id
     WHERE m.kind <> 'customer' AND m.backup_for_id IS NULL
"""
# The customers' meters of every feeder, one row per feeder.
FEEDER_MEMBERS = """
    SELECT m.id AS meter_id, f.code AS key, 'Clientes del alimentador ' || f.code AS label
      FROM metering_meter m
      JOIN network_customer cu ON cu.id = m.customer_id
      JOIN network_transformer t ON t.id = cu.transformer_id
      JOIN network_feeder f ON f.id = t.feeder_id
     WHERE m.kind = 'customer' AND m.backup_for_id IS NULL
"""

FIGURES = """
    WITH members AS ({members}),
    channels AS (
        SELECT c.id AS channel_id, mb.key, m.interval_minutes AS minutes,
               rt.code = %(a_plus)s AS import
          FROM members mb
          JOIN metering_meter m ON m.id = mb.meter_id
          JOIN metering_channel c ON c.meter_id = m.id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.code IN (%(a_plus)s, %(a_minus)s)
    ), raw AS (
        SELECT ch.key, ch.import, ch.minutes, r.ts, r.value, r.quality & %(bits)s = 0 AS valid
          FROM metering_intervalreading r
          JOIN channels ch ON ch.channel_id = r.channel_id
         WHERE r.ts > %(start)s AND r.ts <= %(end)s
    ), est AS (
        SELECT ch.key, ch.import, ch.minutes, e.ts, e.value, e.method = 'manual' AS manual
          FROM metering_estimatedreading e
          JOIN channels ch ON ch.channel_id = e.channel_id
         WHERE e.ts > %(start)s AND e.ts <= %(end)s
    ), series AS (
        SELECT key, import, minutes, ts, value, false AS estimated FROM raw WHERE valid
         UNION ALL
        SELECT key, import, minutes, ts, value, true FROM est
    ), energy AS (
        SELECT key, sum(value) FILTER (WHERE import) AS imported,
               sum(value) FILTER (WHERE NOT import) AS exported,
               sum(value) FILTER (WHERE import AND estimated) AS estimated_kwh
          FROM series GROUP BY key
    ), demand AS (
        SELECT DISTINCT ON (key) key, kw, ts
          FROM (SELECT key, ts, sum(value * 60.0 / minutes) AS kw
                  FROM series WHERE import GROUP BY key, ts) x
         ORDER BY key, kw DESC, ts
    ), received AS (
        SELECT key, count(*) FILTER (WHERE valid) AS valid,
               count(*) FILTER (WHERE NOT valid) AS suspect
          FROM raw WHERE import GROUP BY key
    ), estimates AS (
        SELECT key, count(*) FILTER (WHERE NOT manual) AS estimated,
               count(*) FILTER (WHERE manual) AS manual
          FROM est WHERE import GROUP BY key
    ), expected AS (
        SELECT key, count(*) AS meters,
               sum(floor(extract(epoch FROM %(end)s::timestamptz - %(start)s::timestamptz)
                         / (minutes * 60)))::bigint AS expected
          FROM channels WHERE import GROUP BY key
    ), labels AS (
        SELECT DISTINCT ON (key) key, label FROM members ORDER BY key, label
    )
    SELECT x.key, l.label, x.meters, coalesce(e.imported, 0), coalesce(e.exported, 0),
           d.kw, d.ts, x.expected, coalesce(r.valid, 0), coalesce(r.suspect, 0),
           greatest(x.expected - coalesce(r.valid, 0) - coalesce(r.suspect, 0), 0),
           coalesce(s.estimated, 0), coalesce(s.manual, 0), coalesce(e.estimated_kwh, 0)
      FROM expected x
      JOIN labels l ON l.key = x.key
      LEFT JOIN energy e ON e.key = x.key
      LEFT JOIN demand d ON d.key = x.key
      LEFT JOIN received r ON r.key = x.key
      LEFT JOIN estimates s ON s.key = x.key
     ORDER BY x.key
"""

FIELDS = [
    "key", "label", "meters", "imported_kwh", "exported_kwh", "max_kw", "max_at", "expected",
    "valid", "suspect", "missing", "estimated", "manual", "estimated_kwh",
]  # fmt: skip


class ReportError(ValueError):
    """A report that cannot be made; the message says why."""


@dataclass
class Row:
    key: str
    label: str
    meters: int
    imported_kwh: float
    exported_kwh: float
    max_kw: float | None
    max_at: str | None  # ISO 8601
    expected: int
    valid: int
    suspect: int
    missing: int
    estimated: int
    manual: int
    estimated_kwh: float

    @property
    def estimated_share(self) -> float | None:
        if not self.imported_kwh:
            return None
        return round(100 * self.estimated_kwh / self.imported_kwh, 2)

    @property
    def max_at_local(self) -> datetime | None:
        return timezone.localtime(datetime.fromisoformat(self.max_at)) if self.max_at else None


def _check_period(first: date, last: date) -> None:
    if last < first:
        raise ReportError("la fecha final es anterior a la inicial")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"el periodo admite a lo más {MAX_DAYS} días")


def figures(members_sql: str, first: date, last: date, params: dict | None = None) -> list[Row]:
    """The report's rows for the members query (meter_id, key, label) over the local days
    first..last."""
    _check_period(first, last)
    start, end = period(first, last)
    arguments = {
        **(params or {}),
        "start": start,
        "end": end,
        "bits": int(VEE_BITS),
        "a_plus": A_PLUS,
        "a_minus": A_MINUS,
    }
    with connection.cursor() as cur:
        cur.execute(FIGURES.format(members=members_sql), arguments)
        rows = []
        for found in cur.fetchall():
            values = dict(zip(FIELDS, found, strict=True))
            values["imported_kwh"] = round(float(values["imported_kwh"]), 3)
            values["exported_kwh"] = round(float(values["exported_kwh"]), 3)
            values["estimated_kwh"] = round(float(values["estimated_kwh"]), 3)
            if values["max_kw"] is not None:
                values["max_kw"] = round(float(values["max_kw"]), 3)
            values["max_at"] = values["max_at"].isoformat() if values["max_at"] else None
            rows.append(Row(**values))
    return rows


def _keep(kind: str, title: str, first: date, last: date, rows: list[Row], **extra):
    return MeteringReport.objects.create(
        kind=kind,
        title=title[:200],
        period_start=first,
        period_end=last,
        rows=[row.__dict__ for row in rows],
        **extra,
    )


def point_report(meter: Meter, first: date, last: date, user=None) -> MeteringReport:
    rows = figures(POINT_MEMBERS, first, last, {"meters": [meter.pk]})
    title = f"Punto de medición {meter.serial}, {first:%d/%m/%Y} a {last:%d/%m/%Y}"
    return _keep(MeteringReport.Kind.POINTS, title, first, last, rows, generated_by=user)


def group_report(group, first: date, last: date, user=None) -> MeteringReport:
    """One group's row (metering.services.groups.Group: a comuna, feeder, transformer or
    tariff option): its customer meters added up."""
    sql, params = group.meters_sql()
    members = (
        "SELECT g.id AS meter_id, %(group_key)s::text AS key, %(group_label)s::text AS label "
        f"FROM ({sql}) g"
    )
    rows = figures(
        members, first, last, {**params, "group_key": group.key, "group_label": group.label}
    )
    title = f"{group.label}, {first:%d/%m/%Y} a {last:%d/%m/%Y}"
    return _keep(MeteringReport.Kind.GROUPS, title, first, last, rows, generated_by=user)


@transaction.atomic
def scheduled_reports(month: date | None = None) -> list[MeteringReport]:
    """The month's scheduled reports (by default the month before): every measurement
    point of the network, and the customers of each feeder as a group. A second run for the
    same month replaces them."""
    month = month or add_months(month_start(timezone.localdate()), -1)
    first, last = month, next_month(month) - timedelta(days=1)
    MeteringReport.objects.filter(scheduled=True, period_start=first, period_end=last).delete()
    label = f"{first:%m/%Y}"
    return [
        _keep(
            MeteringReport.Kind.POINTS, f"Puntos de medición de la red, {label}", first, last,
            figures(NETWORK_MEMBERS, first, last), scheduled=True,
        ),
        _keep(
            MeteringReport.Kind.GROUPS, f"Clientes por alimentador, {label}", first, last,
            figures(FEEDER_MEMBERS, first, last), scheduled=True,
        ),
    ]  # fmt: skip


def rows_of(report: MeteringReport) -> list[Row]:
    return [Row(**row) for row in report.rows]


# --- formats ---------------------------------------------------------------------------------

CSV_HEADER = [
    "clave", "nombre", "medidores", "energia_importada_kwh", "energia_exportada_kwh",
    "demanda_maxima_kw", "instante_demanda_maxima", "intervalos_esperados", "validos",
    "sospechosos", "faltantes", "estimados", "manuales", "energia_estimada_kwh",
    "participacion_estimada_pct",
]  # fmt: skip


def to_csv(report: MeteringReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADER)
    for r in rows_of(report):
        writer.writerow(
            [
                r.key, r.label, r.meters, f"{r.imported_kwh:.3f}", f"{r.exported_kwh:.3f}",
                "" if r.max_kw is None else f"{r.max_kw:.3f}",
                r.max_at_local.isoformat() if r.max_at_local else "", r.expected, r.valid,
                r.suspect, r.missing, r.estimated, r.manual, f"{r.estimated_kwh:.3f}",
                "" if r.estimated_share is None else f"{r.estimated_share:.2f}",
            ]
        )  # fmt: skip
    return out.getvalue()


def to_xml(report: MeteringReport) -> bytes:
    ns = f"{{{XML_NAMESPACE}}}"
    ET.register_namespace("", XML_NAMESPACE)
    root = ET.Element(
        f"{ns}ReporteMedicion",
        {
            "version": XML_VERSION,
            "id": str(report.pk),
            "tipo": report.kind,
            "desde": report.period_start.isoformat(),
            "hasta": report.period_end.isoformat(),
            "generado": timezone.localtime(report.generated_at).isoformat(),
            "programado": "true" if report.scheduled else "false",
            "zonaHoraria": settings.TIME_ZONE,
        },
    )
    ET.SubElement(root, f"{ns}Titulo").text = report.title
    for r in rows_of(report):
        row = ET.SubElement(root, f"{ns}Fila", {"clave": r.key, "medidores": str(r.meters)})
        ET.SubElement(row, f"{ns}Nombre").text = r.label
        ET.SubElement(row, f"{ns}EnergiaImportadaKWh").text = f"{r.imported_kwh:.3f}"
        ET.SubElement(row, f"{ns}EnergiaExportadaKWh").text = f"{r.exported_kwh:.3f}"
        if r.max_kw is not None:
            ET.SubElement(
                row, f"{ns}DemandaMaximaKW", {"instante": r.max_at_local.isoformat()}
            ).text = f"{r.max_kw:.3f}"
        ET.SubElement(
            row,
            f"{ns}Calidad",
            {
                "esperados": str(r.expected),
                "validos": str(r.valid),
                "sospechosos": str(r.suspect),
                "faltantes": str(r.missing),
                "estimados": str(r.estimated),
                "manuales": str(r.manual),
            },
        )
        ET.SubElement(row, f"{ns}EnergiaEstimadaKWh").text = f"{r.estimated_kwh:.3f}"
        if r.estimated_share is not None:
            ET.SubElement(row, f"{ns}ParticipacionEstimadaPct").text = f"{r.estimated_share:.2f}"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
