"""Upsert planned rows by their key, touching only what changed.

A row whose stored values already equal the planned ones is left alone, date included, so a
second run of the same export reports 0 created and 0 updated. Rows of the distributor that the
export no longer has are reported, never deleted (customers and demand hang from them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.gis.geos import GEOSGeometry
from django.db import IntegrityError, transaction
from pyproj import Geod

from network.models import Distributor, Feeder

from .mapping import ORDER, TARGETS
from .plan import Plan, Ref
from .report import ENTITY_LABELS, INFO, ImportResult, NetworkImportError, Problem

# Degrees: 1e-9 is about 0.1 mm, below what any GIS export means, above float noise of a
# round trip through KML's 15 significant digits.
GEOMETRY_TOLERANCE = 1e-9
BATCH = 1000
GEOD = Geod(ellps="WGS84")


@dataclass
class Changes:
    feeders: set[int] = field(default_factory=set)
    substations: set[int] = field(default_factory=set)
    extent: list[float] | None = None  # xmin, ymin, xmax, ymax of what moved
    moves: list[tuple[str, str, float]] = field(default_factory=list)  # entity, code, metres

    def cover(self, geom: GEOSGeometry | None) -> None:
        if geom is None:
            return
        xmin, ymin, xmax, ymax = geom.extent
        if self.extent is None:
            self.extent = [xmin, ymin, xmax, ymax]
        else:
            e = self.extent
            self.extent = [min(e[0], xmin), min(e[1], ymin), max(e[2], xmax), max(e[3], ymax)]

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        return None if self.extent is None else tuple(self.extent)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, GEOSGeometry) or isinstance(b, GEOSGeometry):
        return (
            a is not None
            and b is not None
            and a.geom_type == b.geom_type
            and a.equals_exact(b, GEOMETRY_TOLERANCE)
        )
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return a is not None and b is not None and Decimal(a) == Decimal(b)
    return a == b


def write(plan: Plan, distributor: Distributor, as_of: date, result: ImportResult) -> Changes:
    changes = Changes()
    ids: dict[str, dict[str, int]] = {}
    for entity in ORDER:
        if entity not in result.counts and not plan.of(entity):
            continue
        try:
            with transaction.atomic():
                ids[entity] = _write_entity(entity, plan, ids, distributor, as_of, result, changes)
        except IntegrityError as exc:
            message = str(exc).splitlines()[0]
            raise NetworkImportError(
                f"la base rechazó {ENTITY_LABELS[entity]} ({message}); no se guardó nada"
            ) from exc
    if changes.substations:
        for feeder in Feeder.objects.filter(substation_id__in=changes.substations):
            changes.feeders.add(feeder.pk)
    return changes


def _scope(entity: str, distributor: Distributor):
    model = TARGETS[entity].model
    if entity == "power_transformers":
        return model.objects.filter(substation__distributor=distributor)
    return model.objects.filter(distributor=distributor)


def _write_entity(
    entity: str,
    plan: Plan,
    ids: dict[str, dict[str, int]],
    distributor: Distributor,
    as_of: date,
    result: ImportResult,
    changes: Changes,
) -> dict[str, int]:
    target = TARGETS[entity]
    model = target.model
    opts = model._meta
    counts = result.entity(entity)
    key_fields = ("substation_id", "code") if entity == "power_transformers" else (target.key,)

    desired: dict[tuple, tuple[str, dict[str, Any]]] = {}
    for ident, planned in plan.of(entity).items():
        attrs: dict[str, Any] = {}
        for name, value in planned.values.items():
            model_field = opts.get_field(name)
            if model_field.is_relation:
                if isinstance(value, Ref):
                    value = ids[value.entity][value.ident]
                attrs[model_field.attname] = value
            else:
                attrs[name] = value
        if entity != "power_transformers":
            attrs["distributor_id"] = distributor.pk
        desired[tuple(attrs[k] for k in key_fields)] = (ident, attrs)

    written: dict[str, int] = {}
    columns = sorted({name for _, attrs in desired.values() for name in attrs})
    existing = {
        tuple(row[k] for k in key_fields): row
        for row in _scope(entity, distributor).values("id", *columns)
    }
    geometry = target.geometry
    new, changed = [], []
    for key, (ident, attrs) in desired.items():
        old = existing.get(key)
        if old is None:
            new.append((ident, model(**attrs, as_of=as_of)))
            counts.created += 1
            _note(entity, None, attrs, geometry, changes)
        elif all(same(old.get(name), value) for name, value in attrs.items()):
            written[ident] = old["id"]
            counts.unchanged += 1
        else:
            changed.append(model(id=old["id"], **attrs, as_of=as_of))
            written[ident] = old["id"]
            counts.updated += 1
            _note(entity, old, attrs, geometry, changes)
            before, after = old.get(geometry), attrs.get(geometry)
            if geometry and before is not None and after is not None and not same(before, after):
                metres = displacement(before, after)
                changes.moves.append((entity, str(attrs.get(target.key, ident)), metres))
    if new:
        model.objects.bulk_create([obj for _, obj in new], batch_size=BATCH)
        written.update({ident: obj.pk for ident, obj in new})
        if entity == "feeders":
            changes.feeders.update(obj.pk for _, obj in new)
    if changed:
        fields = [name for name in columns if name not in key_fields] + ["as_of"]
        model.objects.bulk_update(changed, fields, batch_size=BATCH)
        if entity == "feeders":
            changes.feeders.update(obj.pk for obj in changed)

    stale = set(existing) - set(desired)
    if stale:
        result.add(
            Problem(
                entity,
                "no_en_archivo",
                f"{len(stale)} {ENTITY_LABELS[entity]} de {distributor.code} están en la base "
                "pero no en este archivo",
                "se conservan (el importador no borra)",
                INFO,
            )
        )
    return written


def displacement(old: GEOSGeometry, new: GEOSGeometry) -> float:
    """How far a stored geometry moves, in metres: between the points, or the largest gap
    between a line's start, middle and end and the new line's (either way round)."""
    if old.geom_type == "Point" or new.geom_type == "Point":
        return _metres(old.centroid.coords, new.centroid.coords)
    a = [old.coords[0], old.interpolate_normalized(0.5).coords, old.coords[-1]]
    b = [new.coords[0], new.interpolate_normalized(0.5).coords, new.coords[-1]]
    straight = max(_metres(p, q) for p, q in zip(a, b, strict=True))
    turned = max(_metres(p, q) for p, q in zip(a, reversed(b), strict=True))
    return min(straight, turned)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def _note(entity: str, old: dict | None, attrs: dict, geometry: str | None, changes: Changes):
    """Remember which feeders and which area a created or updated row touches."""
    if entity == "substations":
        if old is not None:
            changes.substations.add(old["id"])
            changes.cover(old.get("location"))
        changes.cover(attrs.get("location"))
        return
    for row in (old, attrs):
        if row is None:
            continue
        if row.get("feeder_id"):
            changes.feeders.add(row["feeder_id"])
        if geometry:
            changes.cover(row.get(geometry))
