"""`seed_demo`, the orchestrator of the apps' seeds: the network, then metering, then the
demo accounts, in one transaction. Each app seeds only its own tables; this is the one place
that knows the order they depend on each other in."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import date

from django.db import connection, transaction

from accounts.services import ensure_demo_planner
from capacity.services.compute import compute
from capacity.services.demo import seed_queue
from capacity.services.reset import clear_capacity_data
from core.months import today
from customers.services.demo import (
    detach_customer_accounts,
    ensure_demo_customer_accounts,
    reattach_customer_accounts,
)
from metering.services.demo import seed_metering
from metering.services.reset import clear_metering_data
from network.services.seed import SCALES, SeedRefused, holds_demo_data, seed_network
from outages.services.demo import clear_outages_data, seed_outages

__all__ = ["SCALES", "SeedRefused", "holds_demo_data", "seed_demo", "demo_accounts"]


def seed_demo(
    scale_name: str = "demo",
    seed: int = 2026,
    as_of: date | None = None,
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, int]:
    """Replace the network, and at demo scale the metering data, with a synthetic distributor
    (deterministic: the same seed gives the same data); return the row counts loaded."""
    rng = random.Random(seed)
    as_of = as_of or today()
    started = time.monotonic()
    with transaction.atomic():
        # Accounts tied to the customers being replaced are kept, with their access history:
        # detached now, linked again by customer number once the new network is in.
        accounts = detach_customer_accounts()
        with connection.cursor() as cur:
            # Check those deletions now: TRUNCATE refuses tables with pending trigger events.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        clear_outages_data()
        clear_metering_data()
        clear_capacity_data()
        counts = seed_network(
            scale_name, seed=seed, as_of=as_of, force=force, progress=progress, log=log, rng=rng
        )
        if scale_name == "demo":
            counts.update(seed_metering(rng, as_of, log))
            log("Calculando interrupciones, eventos y SAIDI/SAIFI de demostración…")
            counts.update(seed_outages(seed, as_of))
        counts["accounts_relinked"], counts["accounts_deactivated"] = reattach_customer_accounts(
            accounts
        )
        if scale_name == "demo":
            counts["connection_requests"] = seed_queue(seed, as_of)
            log("Calculando cortocircuito y capacidad de conexión…")
            counts["capacity_poles"] = compute(trigger="seed_demo").poles
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def demo_accounts(scale_name: str) -> list[str]:
    """The demo data set's accounts (created when missing), as lines for the user to read."""
    if scale_name != "demo":
        return []
    return [
        f"Planificador de demostración en /admin/: {ensure_demo_planner()}",
        *ensure_demo_customer_accounts(),
    ]
