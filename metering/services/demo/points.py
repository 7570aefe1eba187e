"""Measurement points of the demo (Hemera Fronteira): on the feeder of the first metered
transformer, a virtual meter summing its metered transformers' totalizers and a virtual
border point (its head meter minus those totalizers); and a backup meter for one totalizer,
whose readings follow the main's within ±0.05 % but measure 2 % more on one day.

Its own random generator: the rest of the demo draws the same numbers with or without it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from metering.models import Channel, IntervalReading, Meter, ReadingType
from metering.services import virtual
from metering.services.demo.plan import Plan
from metering.services.ingest import ingest_file
from metering.services.monitoring import A_PLUS

DEVIATION = 1.02  # the backup's day off
NOISE = 0.0005


class Points(Plan):
    def measurement_points(self, folder: Path) -> None:
        rng = random.Random(1707)
        by_pk = {pk: (code, feeder) for pk, code, _, feeder in self.monitored}
        first = self.metered_transformers[0][0]
        feeder_id = by_pk[first][1]
        feeder_code = next(code for pk, code, _ in self.feeders if pk == feeder_id)
        totalizers = [
            f"TT-{by_pk[pk][0]}"
            for pk, *_ in self.metered_transformers
            if by_pk[pk][1] == feeder_id
        ]
        a_plus = ReadingType.objects.get(code=A_PLUS)
        channels = {
            c.meter.serial: c
            for c in Channel.objects.filter(
                meter__serial__in=[*totalizers, f"FH-{feeder_code}"], reading_type=a_plus
            ).select_related("meter", "reading_type")
        }
        total = Meter.objects.create(
            serial=f"VS-{feeder_code}", kind="feeder_head", feeder_id=feeder_id, virtual=True,
            installed_on=self.first_day, as_of=self.as_of,
        )  # fmt: skip
        border = Meter.objects.create(
            serial=f"VF-{feeder_code}", kind="border", feeder_id=feeder_id, virtual=True,
            installed_on=self.first_day, as_of=self.as_of,
        )  # fmt: skip
        sum_terms = [virtual.Term(channels[s], 1, self.first_day, None) for s in totalizers]
        virtual.define(Channel.objects.create(meter=total, reading_type=a_plus), sum_terms)
        virtual.define(
            Channel.objects.create(meter=border, reading_type=a_plus),
            [
                virtual.Term(channels[f"FH-{feeder_code}"], 1, self.first_day, None),
                *(virtual.Term(channels[s], -1, self.first_day, None) for s in totalizers),
            ],
        )
        self._backup(folder, rng, channels[totalizers[0]])

    def _backup(self, folder: Path, rng: random.Random, main: Channel) -> None:
        spare = Meter.objects.create(
            serial=f"{main.meter.serial}-R", kind="totalizer",
            transformer_id=main.meter.transformer_id, backup_for=main.meter,
            installed_on=self.first_day, as_of=self.as_of,
        )  # fmt: skip
        self.backup_day = self.as_of - timedelta(days=3)
        path = folder / f"respaldo_demo_{self.as_of:%Y%m%d}.csv"
        rows = (
            IntervalReading.objects.filter(channel=main).order_by("ts").values_list("ts", "value")
        )
        with open(path, "w", encoding="utf-8") as out:
            out.write("meter,reading_type,timestamp,value\n")
            for ts, value in rows:
                day = _local_day(ts, self.zone)
                factor = DEVIATION if day == self.backup_day else 1 + rng.uniform(-NOISE, NOISE)
                stamp = ts.astimezone(self.zone).isoformat()
                out.write(f"{spare.serial},{A_PLUS},{stamp},{value * factor:.3f}\n")
        result = ingest_file(path)
        if result.fatal or result.rejected:
            raise RuntimeError(f"demo respaldo: {result.summary()}")


def _local_day(ts, zone) -> date:
    return (ts - timedelta(microseconds=1)).astimezone(zone).date()
