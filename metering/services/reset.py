"""Emptying the metering data, for a network that is replaced as a whole (seed_network)."""

from __future__ import annotations

from django.apps import apps
from django.db import connection

# Kept: data, not tied to one network (loaded by the migrations, edited in the admin).
CATALOGS = {"ObisCode", "ReadingType", "MeterEventType"}


def metering_tables() -> list[str]:
    models = apps.get_app_config("metering").get_models()
    return sorted(m._meta.db_table for m in models if m.__name__ not in CATALOGS)


def clear_metering_data() -> None:
    """Every meter, reading, balance, alarm, DR record and billing row (their customers,
    transformers and feeders are about to go). Billing PDFs stay on disk: they are stored by
    content and reused if the same file is imported again."""
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(metering_tables())} RESTART IDENTITY CASCADE")
