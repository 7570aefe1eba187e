"""The quality-of-supply part of the demo data set, after the metering demo has its meters.

For the last complete month before `as_of`, as a head-end sends them (a CIM MeterReadings
message with EndDeviceEvents, through the real ingest):

- a transformer outage: a last gasp and a power restore from every meter of one transformer,
  at the same time (seconds apart), about an hour and a half;
- a feeder outage: two transformers of another feeder together, one meter of each silent
  (its customer counted from the network);
- a few isolated service-point interruptions on other transformers;
- one last gasp that never got its restore (an open interruption);

then the month is built (`rebuild_month`): interruptions, events and SAIFI / SAIDI. Its own
random generator: the network and metering demo draw nothing less or more than before.
"""

from __future__ import annotations

import random
import tempfile
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count

from core.months import add_months, month_start
from metering.models import Meter
from metering.services.ingest import ingest_file
from network.models import Transformer
from outages.services.rebuild import rebuild_month

OUTAGE_START, OUTAGE_END = "3.26.38.85", "3.26.38.49"
SEED_OFFSET = 1366  # the demo's seed plus this: a generator of our own
ISOLATED = 4


def clear_outages_data() -> None:
    """Every planned outage, event, interruption and index (the network is about to go)."""
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE outages_interruption, outages_outageevent, outages_reliabilityindex, "
            "outages_plannedoutage RESTART IDENTITY CASCADE"
        )


def seed_outages(seed: int, as_of: date) -> dict[str, int]:
    rng = random.Random(seed + SEED_OFFSET)
    zone = ZoneInfo(settings.TIME_ZONE)
    month = add_months(month_start(as_of), -1)
    serials = _serials_by_transformer()
    if len(serials) < 4 + ISOLATED:
        return {"outage_events": 0}
    # Transformers with several metered customers: the grouping has something to group.
    candidates = sorted(t for t, s in serials.items() if 4 <= len(s) <= 40)
    feeders = dict(Transformer.objects.filter(pk__in=candidates).values_list("pk", "feeder_id"))
    events: list[tuple[str, str, datetime]] = []

    def at(day: int, hour: int, minute: int) -> datetime:
        return datetime.combine(month + timedelta(days=day - 1), clock(hour, minute), zone)

    # One transformer, every meter: gasps within 20 s, restores within a minute.
    transformer = rng.choice(candidates)
    start, minutes = at(rng.randint(3, 9), rng.randint(9, 17), rng.randint(0, 59)), 96
    for serial in serials[transformer]:
        events.append((serial, OUTAGE_START, start + timedelta(seconds=rng.randint(0, 20))))
        restored = start + timedelta(minutes=minutes, seconds=rng.randint(0, 60))
        events.append((serial, OUTAGE_END, restored))
    # Two transformers of one other feeder at once: a feeder outage.
    by_feeder: dict[int, list[int]] = {}
    for pk in candidates:
        if feeders[pk] != feeders[transformer]:
            by_feeder.setdefault(feeders[pk], []).append(pk)
    feeder = rng.choice(sorted(f for f, ts in by_feeder.items() if len(ts) >= 2))
    pair = rng.sample(sorted(by_feeder[feeder]), 2)
    start = at(rng.randint(12, 18), rng.randint(0, 23), rng.randint(0, 59))
    for pk in pair:
        # One meter of each sends nothing: its customer is counted from the network.
        for serial in serials[pk][1:]:
            events.append((serial, OUTAGE_START, start + timedelta(seconds=rng.randint(0, 90))))
            restored = start + timedelta(minutes=41, seconds=rng.randint(0, 90))
            events.append((serial, OUTAGE_END, restored))
    # Isolated service points, on transformers left alone above; the last never restored.
    others = [t for t in candidates if t != transformer and t not in pair]
    for k, pk in enumerate(rng.sample(others, ISOLATED)):
        serial = rng.choice(serials[pk])
        start = at(rng.randint(2, 26), rng.randint(0, 23), rng.randint(0, 59))
        events.append((serial, OUTAGE_START, start))
        if k < ISOLATED - 1:
            events.append((serial, OUTAGE_END, start + timedelta(minutes=rng.randint(12, 240))))
    with tempfile.TemporaryDirectory(prefix="seed-outages-") as tmp:
        path = Path(tmp) / f"eventos_demo_cortes_{as_of:%Y%m%d}.xml"
        path.write_text(_message(events, as_of, zone), encoding="utf-8")
        ingest_file(path, report_path=Path(tmp) / "informe.csv")
    result = rebuild_month(month)
    return {
        "outage_events": sum(result.events.values()),
        "interruptions": result.interruptions,
        "reliability_indices": result.indices,
    }


def _serials_by_transformer() -> dict[int, list[str]]:
    rows = (
        Meter.objects.filter(kind=Meter.Kind.CUSTOMER, removed_on__isnull=True)
        .values_list("customer__transformer_id", "serial")
        .order_by("customer__transformer_id", "serial")
    )
    serials: dict[int, list[str]] = {}
    for transformer, serial in rows:
        serials.setdefault(transformer, []).append(serial)
    # Only transformers all of whose customers have a meter: the demo shows a full event.
    complete = set(
        Transformer.objects.annotate(n=Count("customers"))
        .filter(pk__in=serials)
        .values_list("pk", "n")
    )
    return {t: s for t, s in serials.items() if (t, len(s)) in complete}


def _message(events: list[tuple[str, str, datetime]], as_of: date, zone: ZoneInfo) -> str:
    readings = "".join(
        f"<m:MeterReading><m:Meter><m:mRID>{serial}</m:mRID></m:Meter><m:EndDeviceEvents>"
        f"<m:createdDateTime>{ts.astimezone(zone).isoformat()}</m:createdDateTime>"
        f'<m:EndDeviceEventType ref="{code}"/></m:EndDeviceEvents></m:MeterReading>\n'
        for serial, code, ts in events
    )
    stamp = datetime.combine(as_of, clock(1, 30), zone).isoformat()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<msg:EventMessage xmlns:msg="http://iec.ch/TC57/2011/schema/message" '
        'xmlns:m="http://iec.ch/TC57/2011/MeterReadings#">\n'
        "<msg:Header><msg:Verb>created</msg:Verb><msg:Noun>MeterReadings</msg:Noun>"
        f"<msg:Timestamp>{stamp}</msg:Timestamp><msg:Source>HES-DEMO</msg:Source>"
        f"<msg:MessageID>demo-cortes-{as_of:%Y%m%d}</msg:MessageID>"
        f"<msg:CorrelationID>demo-cortes-{as_of:%Y%m%d}</msg:CorrelationID>"
        "</msg:Header>\n<msg:Payload><m:MeterReadings>\n"
        f"{readings}</m:MeterReadings></msg:Payload></msg:EventMessage>\n"
    )
