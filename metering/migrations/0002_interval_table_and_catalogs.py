import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"

# The interval readings: partitioned by month (metering.services.partitions creates the
# partitions), primary key (channel, ts), no foreign keys (see IntervalReading). Columns are
# ordered for alignment: 26 bytes of data a row.
CREATE = """
CREATE TABLE metering_intervalreading (
    channel_id integer NOT NULL,
    run_id integer NOT NULL,
    ts timestamptz NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, ts)
) PARTITION BY RANGE (ts)
"""


def rows(name):
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=";")


def load_catalogs(apps, schema_editor):
    ObisCode = apps.get_model("metering", "ObisCode")
    ReadingType = apps.get_model("metering", "ReadingType")
    MeterEventType = apps.get_model("metering", "MeterEventType")
    for row in rows("obis.csv"):
        ObisCode.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "unit": row["unit"],
                "cumulative": row["cumulative"] == "true",
            },
        )
    obis = {o.code: o for o in ObisCode.objects.all()}
    for row in rows("reading_types.csv"):
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
    for row in rows("event_types.csv"):
        MeterEventType.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "category": row["category"]}
        )


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_readings")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP TABLE metering_intervalreading"),
        migrations.RunPython(load_catalogs, migrations.RunPython.noop),
    ]
