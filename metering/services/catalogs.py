"""The OBIS codes, CIM reading types and meter event types the portal knows, from
metering/data/*.csv: loaded by the migration, and again by the demo seed (a test database
flushed between tests loses the migration's rows). Idempotent: rows are updated in place."""

from __future__ import annotations

import csv
from pathlib import Path

from django.apps import apps as global_apps

DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name: str):
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=";")


def load_catalogs(apps=global_apps) -> None:
    """`apps`: the registry to take the models from (a migration passes its historical one)."""
    ObisCode = apps.get_model("metering", "ObisCode")
    ReadingType = apps.get_model("metering", "ReadingType")
    MeterEventType = apps.get_model("metering", "MeterEventType")
    for row in _rows("obis.csv"):
        ObisCode.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "unit": row["unit"],
                "cumulative": row["cumulative"] == "true",
            },
        )
    obis = {o.code: o for o in ObisCode.objects.all()}
    for row in _rows("reading_types.csv"):
        ReadingType.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "unit": row["unit"],
                "interval_minutes": int(row["interval_minutes"]),
                "obis": obis[row["obis"]],
                "is_energy": row["is_energy"] == "true",
            },
        )
    for row in _rows("event_types.csv"):
        MeterEventType.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "category": row["category"]}
        )
