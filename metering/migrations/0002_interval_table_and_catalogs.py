from django.db import migrations

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


def load_catalogs(apps, schema_editor):
    from metering.services.catalogs import load_catalogs as load

    load(apps)


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_readings")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP TABLE metering_intervalreading"),
        migrations.RunPython(load_catalogs, migrations.RunPython.noop),
    ]
