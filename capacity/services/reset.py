"""Emptying the capacity data, for a network that is replaced as a whole (seed_network)."""

from __future__ import annotations

from django.apps import apps
from django.db import connection


def clear_capacity_data() -> None:
    """Every result, run and connection request (their poles and feeders are about to go)."""
    tables = sorted(m._meta.db_table for m in apps.get_app_config("capacity").get_models())
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
