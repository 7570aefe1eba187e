"""`import_network`: a utility's GIS export into the network model, through a mapping file.

Reads every mapped layer (GeoJSON, GeoPackage, Shapefile, KML/KMZ; anything GDAL reads),
checks it, derives the feeders from the topology when the export has none, and upserts by
id inside one transaction: a fatal error leaves the database as it was, a row that cannot be
taken is reported (file, feature, id, reason) and the rest is stored. A validation report over
the distributor's stored network follows. docs/import_network.md has the mapping format.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from network.models import Distributor
from network.services.topology import announce_change

from .checks import run_checks
from .mapping import ORDER, TARGETS, Mapping, load_mapping
from .plan import Planner
from .reader import moved_function, read_layer
from .report import ERROR, INFO, WARNING, ImportResult, NetworkImportError, Problem
from .writer import Changes, write

__all__ = [
    "ERROR",
    "INFO",
    "WARNING",
    "ImportResult",
    "NetworkImportError",
    "Problem",
    "import_network",
    "load_mapping",
]

logger = logging.getLogger(__name__)


class _DryRun(Exception):
    pass


def import_network(
    mapping_path: Path,
    *,
    source: Path | None = None,
    files: dict[str, Path] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
    progress: bool = False,
) -> ImportResult:
    """Import one export; raises NetworkImportError (nothing written) on a fatal problem."""
    mapping = load_mapping(mapping_path, source, files)
    result = ImportResult(mapping.name, mapping.distributor.code, dry_run=dry_run)
    translate = moved_function(mapping.translation)
    layers = {}
    for name, entity in mapping.entities.items():
        layers[name] = read_layer(entity, result.entity(name), result.problems, translate, progress)
    if mapping.derived_feeders is not None:
        result.entity("feeders")
    today = as_of or mapping.as_of or timezone.localdate()
    try:
        with transaction.atomic():
            distributor = _distributor(mapping, today)
            plan = Planner(mapping, layers, distributor, result).build()
            changes = write(plan, distributor, today, result)
            sources = {
                (entity, planned.values[TARGETS[entity].key]): planned.row
                for entity in ORDER
                for planned in plan.of(entity).values()
                if planned.row is not None
            }
            for problem in run_checks(distributor.pk, mapping.tolerances):
                row = sources.get((problem.entity, problem.code))
                if row is not None:
                    problem = dataclasses.replace(
                        problem, source=row.source, feature=row.feature, ident=row.ident
                    )
                result.add(problem)
            result.changed_feeders = set(changes.feeders)
            if dry_run:
                raise _DryRun
            _topology_changed(changes)
    except _DryRun:
        pass
    order = {name: i for i, name in enumerate(ORDER)}
    result.problems.sort(
        key=lambda p: (
            order.get(p.entity, 99),
            p.feature is None,
            p.feature or 0,
            {ERROR: 0, WARNING: 1, INFO: 2}[p.severity],
            p.check,
            p.code,
        )
    )
    return result


def _distributor(mapping: Mapping, today: date) -> Distributor:
    spec = mapping.distributor
    clash = Distributor.objects.filter(name=spec.name).exclude(code=spec.code).first()
    if clash is not None:
        raise NetworkImportError(
            f"{mapping.path.name}: la razón social {spec.name!r} ya es de la distribuidora "
            f"{clash.code}"
        )
    distributor, _ = Distributor.objects.get_or_create(
        code=spec.code,
        defaults={"name": spec.name, "rut": spec.rut, "synthetic": False, "as_of": today},
    )
    if distributor.synthetic:
        raise NetworkImportError(
            f"la distribuidora {spec.code} es de demostración (seed_demo la borra y la "
            "regenera); importe con otro código"
        )
    # One import per distributor at a time: the second waits for the first to commit.
    return Distributor.objects.select_for_update().get(pk=distributor.pk)


def _topology_changed(changes: Changes) -> None:
    """Outlines, tiles and KMZ plans follow the import (network.signals.topology_changed)."""
    if changes.feeders or changes.bbox is not None:  # a run that changed nothing says nothing
        announce_change(changes.feeders, changes.bbox)
