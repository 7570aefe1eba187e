"""The signal the capacity app sends when it has stored new results (received by the apps
that draw them: maps drops the cached tiles of the capacity layer over those feeders)."""

from __future__ import annotations

from django.dispatch import Signal

# Feeders whose stored short-circuit and capacity values changed (a run stored them, or
# cleared them). Arguments: feeder_ids (frozenset[int]), run_id (int | None).
capacity_stored = Signal()
