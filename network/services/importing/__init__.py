"""`import_network`: a utility's GIS export into the network model, through a mapping file.

Reads every mapped layer (GeoJSON, GeoPackage, Shapefile, KML/KMZ; anything GDAL reads),
checks that each geometry layer lands in the distributor's territory, derives the feeders from
the topology when the export has none, and upserts by id inside one transaction. It is all or
nothing: a fatal error, a row that cannot be taken (reported with file, layer, feature, id,
reason) or an update that would move stored assets too far leaves the database as it was,
unless `partial` keeps the valid rows. A validation report over the distributor's stored
network follows. docs/import_network.md has the mapping format.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from network.models import Distributor
from network.services.topology import announce_change

from .checks import run_checks
from .mapping import ORDER, TARGETS, Mapping, load_mapping
from .plan import Planner
from .reader import moved_function, read_layer
from .report import (
    ENTITY_LABELS,
    ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_REFUSED,
    INFO,
    WARNING,
    ImportResult,
    NetworkImportError,
    Position,
    Problem,
)
from .territory import territory_of
from .writer import Changes, write

__all__ = [
    "ERROR",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_REFUSED",
    "INFO",
    "WARNING",
    "ImportResult",
    "NetworkImportError",
    "Problem",
    "import_network",
    "load_mapping",
]

logger = logging.getLogger(__name__)


class _RollBack(Exception):
    """A dry run, or rows rejected without `partial`: undo everything, report all."""


def import_network(
    mapping_path: Path,
    *,
    source: Path | None = None,
    files: dict[str, Path] | None = None,
    as_of: date | None = None,
    dry_run: bool = False,
    progress: bool = False,
    partial: bool = False,
    allow_moves: bool = False,
    on_progress: Callable[[float, str], None] | None = None,
) -> ImportResult:
    """Import one export; raises NetworkImportError (nothing written) on a fatal problem.

    With rows rejected, nothing is stored unless `partial` (result.committed tells);
    `allow_moves` lets an update move stored assets farther than IMPORT_MAX_MOVE_M.
    `on_progress(fraction, what)` hears each step (the admin's progress bar).
    """
    position = Position()
    step = on_progress or (lambda fraction, what: None)
    try:
        return _import(
            mapping_path,
            source,
            files,
            as_of,
            dry_run,
            progress,
            partial,
            allow_moves,
            position,
            step,
        )
    except NetworkImportError:
        raise
    except Exception as exc:  # noqa: BLE001  (no import ends in a traceback)
        logger.debug("import_network: error inesperado en %s", position.describe(), exc_info=True)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        kind = "error de la base de datos" if isinstance(exc, DatabaseError) else "error inesperado"
        raise NetworkImportError(
            f"{kind} al {position.stage} ({position.describe()}): {type(exc).__name__}"
            + (f": {detail}" if detail else "")
            + "; no se guardó nada"
        ) from exc


def _import(
    mapping_path, source, files, as_of, dry_run, progress, partial, allow_moves, position, step
) -> ImportResult:
    position.mapping = Path(mapping_path).name
    mapping = load_mapping(mapping_path, source, files)
    result = ImportResult(mapping.name, mapping.distributor.code, dry_run=dry_run, partial=partial)
    translate = moved_function(mapping.translation)
    position.at("calcular el territorio")
    territory = territory_of(mapping.distributor.code, mapping.tolerances.territory_m)
    layers = {}
    for index, (name, entity) in enumerate(mapping.entities.items()):
        # Reading takes about half of an import; each layer its share.
        step(0.05 + 0.5 * index / len(mapping.entities), f"Leyendo {ENTITY_LABELS[name]}")
        layers[name] = read_layer(
            entity,
            result.entity(name),
            result.problems,
            translate,
            progress,
            territory=territory,
            position=position,
        )
    if mapping.derived_feeders is not None:
        result.entity("feeders")
    today = as_of or mapping.as_of or timezone.localdate()
    try:
        with transaction.atomic():
            position.at("preparar las filas")
            step(0.55, "Preparando las filas")
            distributor = _distributor(mapping, today)
            plan = Planner(mapping, layers, distributor, result).build()
            position.at("guardar las filas")
            step(0.7, "Guardando las filas" if not dry_run else "Simulando el guardado")
            changes = write(plan, distributor, today, result)
            moves = _moves(changes, allow_moves)
            position.at("validar la red guardada")
            step(0.85, "Validando la red")
            sources = {
                (entity, planned.values[TARGETS[entity].key]): planned.row
                for entity in ORDER
                for planned in plan.of(entity).values()
                if planned.row is not None
            }
            for problem in [*moves, *run_checks(distributor.pk, mapping.tolerances)]:
                row = sources.get((problem.entity, problem.code))
                if row is not None:
                    problem = dataclasses.replace(
                        problem,
                        source=row.source,
                        feature=row.feature,
                        ident=row.ident,
                        layer=row.layer,
                    )
                result.add(problem)
            result.changed_feeders = set(changes.feeders)
            if dry_run or (result.failed and not partial):
                raise _RollBack
            position.at("avisar el cambio de topología")
            _topology_changed(changes)
            result.committed = True
    except _RollBack:
        pass
    step(1.0, "Terminado")
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


_ONE = {
    "substations": "el de la subestación",
    "power_transformers": "el del transformador de poder",
    "feeders": "el del alimentador",
    "poles": "el del poste",
    "spans": "el del vano",
    "equipment": "el del equipo",
    "transformers": "el del transformador",
}


def _moves(changes: Changes, allow: bool) -> list[Problem]:
    """An update never moves stored geometry far without being asked: refused, or (allowed)
    one warning per asset moved farther than IMPORT_MAX_MOVE_M."""
    limit = float(settings.IMPORT_MAX_MOVE_M)
    far = [move for move in changes.moves if move[2] > limit]
    if not far:
        return []
    if allow:
        return [
            Problem(
                entity,
                "movimiento",
                f"su geometría se movió {metres:.0f} m (más de {limit:.0f} m)",
                "actualizada (--permitir-movimientos)",
                WARNING,
                code=code,
            )
            for entity, code, metres in far
        ]
    by_entity: dict[str, int] = {}
    for entity, _, _ in far:
        by_entity[entity] = by_entity.get(entity, 0) + 1
    counted = ", ".join(f"{n} {ENTITY_LABELS[e]}" for e, n in by_entity.items())
    entity, code, metres = max(far, key=lambda move: move[2])
    raise NetworkImportError(
        f"la importación movería {len(far)} activos guardados más de {limit:.0f} m "
        f"({counted}); el mayor movimiento, {metres:.0f} m, es {_ONE[entity]} {code}. Si la "
        "nueva ubicación es la correcta, repita con --permitir-movimientos "
        "(allow_moves)"
    )


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
