"""The demo's connection queue: PMGD requests on the demo feeders, in every state, and the
first capacity run over the demo network."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from capacity.models import ConnectionRequest
from network.models import Feeder, Pole

STATES = [
    ConnectionRequest.State.CONNECTED,
    ConnectionRequest.State.CONNECTED,
    ConnectionRequest.State.BUILDING,
    ConnectionRequest.State.APPROVED,
    ConnectionRequest.State.STUDY,
    ConnectionRequest.State.STUDY,
    ConnectionRequest.State.SUBMITTED,
    ConnectionRequest.State.SUBMITTED,
    ConnectionRequest.State.WITHDRAWN,
    ConnectionRequest.State.REJECTED,
]
TECHNOLOGIES = ("Solar fotovoltaica", "Solar fotovoltaica", "Solar fotovoltaica", "Eólica",
                "Minihidro", "Biogás")  # fmt: skip


def seed_queue(seed: int, as_of: date, count: int = 24) -> int:
    """`count` requests at poles of the demo's main feeders (own generator: the rest of the
    seed is unchanged)."""
    rng = random.Random(f"queue-{seed}")
    feeders = list(Feeder.objects.filter(kind=Feeder.Kind.FEEDER).order_by("pk"))
    if not feeders:
        return 0
    rows = []
    for n in range(count):
        feeder = feeders[rng.randrange(len(feeders))]
        poles = list(Pole.objects.filter(feeder=feeder).order_by("pk").values_list("pk", flat=True))
        pole = poles[rng.randrange(len(poles) // 3, len(poles))]
        submitted = as_of - timedelta(days=rng.randint(20, 900))
        rows.append(
            ConnectionRequest(
                distributor_id=feeder.distributor_id,
                public_id=f"SC-{submitted.year}-{n + 1:04d}",
                state=STATES[n % len(STATES)],
                submitted_on=submitted,
                mw=Decimal(f"{rng.choice((1, 1.5, 2, 3, 3, 6, 9)) * rng.uniform(0.8, 1.0):.3f}"),
                pole_id=pole,
                feeder=feeder,
                technology=rng.choice(TECHNOLOGIES),
                as_of=as_of,
            )
        )
    ConnectionRequest.objects.bulk_create(rows)
    return len(rows)
