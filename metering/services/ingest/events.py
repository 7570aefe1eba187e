"""Meter events (EndDeviceEvents) of a file into the store."""

from __future__ import annotations

from metering.services.ingest.catalog import UNKNOWN_METER, VIRTUAL_METER
from metering.services.ingest.report import Report
from metering.services.sources import Event, Rejection


def insert_events(cur, events: list[tuple[Event, int]], run_id: int, report: Report) -> int:
    if not events:
        return 0
    serials = sorted({event.meter for event, _ in events})
    cur.execute("SELECT serial, id, virtual FROM metering_meter WHERE serial = ANY(%s)", [serials])
    meters = {serial: (pk, virtual) for serial, pk, virtual in cur.fetchall()}
    rows = []
    for event, type_id in events:
        meter, virtual = meters.get(event.meter, (None, False))
        if meter is None or virtual:
            reason = VIRTUAL_METER if virtual else UNKNOWN_METER
            where = f"línea {event.line} (EndDeviceEvents)"
            report.add(Rejection(where, "Meter", reason, event.meter))
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
