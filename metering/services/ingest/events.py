"""Meter events (EndDeviceEvents) of a file into the store."""

from __future__ import annotations

from metering.services.ingest.report import Report
from metering.services.sources import Event, Rejection


def insert_events(cur, events: list[tuple[Event, int]], run_id: int, report: Report) -> int:
    if not events:
        return 0
    serials = sorted({event.meter for event, _ in events})
    cur.execute("SELECT serial, id FROM metering_meter WHERE serial = ANY(%s)", [serials])
    meters = dict(cur.fetchall())
    rows = []
    for event, type_id in events:
        meter = meters.get(event.meter)
        if meter is None:
            report.add(
                Rejection(
                    f"línea {event.line} (EndDeviceEvents)",
                    "Meter",
                    "medidor desconocido",
                    event.meter,
                )
            )
            continue
        rows.append((meter, type_id, event.ts, run_id))
    inserted = 0
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        cur.execute(
            """
            INSERT INTO metering_meterevent (meter_id, event_type_id, ts, run_id)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::int[])
            ON CONFLICT (meter_id, event_type_id, ts) DO NOTHING
            """,
            [list(column) for column in zip(*batch, strict=True)],
        )
        inserted += cur.rowcount
    return inserted
