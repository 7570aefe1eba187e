"""Which model each section of a mapping feeds, by what key, with what geometry."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from network.models import (
    Equipment,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
)
from network.models import Transformer as DistributionTransformer

ORDER = (
    "substations",
    "power_transformers",
    "feeders",
    "poles",
    "spans",
    "equipment",
    "transformers",
)


@dataclass(frozen=True)
class Target:
    """How one mapping section lands in the model."""

    model: type[models.Model]
    key: str  # unique per distributor (per substation for power transformers)
    geometry: str | None = None  # model field that receives the feature's geometry
    geom_type: str | None = None  # "Point" or "LineString"
    refs: dict[str, str] = field(default_factory=dict)  # field -> entity it points at
    extra: frozenset[str] = frozenset()  # import-only names, never stored


TARGETS: dict[str, Target] = {
    "substations": Target(
        Substation,
        "code",
        "location",
        "Point",
        extra=frozenset({"busbar", "short_circuit_kva"}),
    ),
    "power_transformers": Target(PowerTransformer, "code", refs={"substation": "substations"}),
    "feeders": Target(Feeder, "code", refs={"substation": "substations"}),
    "poles": Target(Pole, "plate", "location", "Point", refs={"feeder": "feeders"}),
    "spans": Target(
        Span,
        "code",
        "geom",
        "LineString",
        refs={"feeder": "feeders", "from_pole": "poles", "to_pole": "poles"},
    ),
    "equipment": Target(
        Equipment,
        "code",
        "location",
        "Point",
        refs={"feeder": "feeders", "pole": "poles", "span": "spans"},
        extra=frozenset({"span"}),
    ),
    "transformers": Target(
        DistributionTransformer,
        "code",
        "location",
        "Point",
        refs={"feeder": "feeders", "pole": "poles"},
    ),
}
