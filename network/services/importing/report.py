"""What an import did and what it could not take, for the console and the CSV report."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Errors are rows that were not accepted: by default nothing of the run is committed then (all or
# nothing); with `partial` the rest is. Warnings were imported but deserve a look; info explains
# counts.
ERROR = "error"
WARNING = "aviso"
INFO = "info"

ENTITY_LABELS = {
    "substations": "subestaciones",
    "power_transformers": "transformadores de poder",
    "feeders": "alimentadores",
    "poles": "postes",
    "spans": "vanos",
    "equipment": "equipos",
    "transformers": "transformadores",
}

# capa and campo came later: they go last, so that readers of the first columns keep working.
REPORT_HEADER = [
    "archivo",
    "entidad",
    "feature",
    "id",
    "codigo",
    "gravedad",
    "control",
    "motivo",
    "resultado",
    "capa",
    "campo",
]


# Exit statuses of import_network (docs/import_network.md, "Exit status").
EXIT_OK = 0  # every row accepted (warnings allowed); committed, or a clean dry run
EXIT_REFUSED = 1  # fatal error, or rows rejected without --parcial: nothing written
EXIT_PARTIAL = 3  # --parcial and some rows rejected: the valid rows were committed (2 is
# argparse's, a wrong command line; the same codes as ingest_readings and import_billing)


class NetworkImportError(Exception):
    """A fatal problem (mapping, file, layer, column, CRS, territory); nothing is written."""


@dataclass(frozen=True)
class Problem:
    """One finding, in the words the planner reads.

    `feature` is the position of the feature in its layer counting from 1 (GeoJSON and KML have
    no stable ids), None for findings about a whole layer or rows not read in this run.
    `ident` is the row's id in the source, `code` its code (plate for poles) in the database.
    """

    entity: str
    check: str
    reason: str
    outcome: str
    severity: str = ERROR
    source: str = ""
    feature: int | None = None
    ident: str = ""
    code: str = ""
    layer: str = ""
    field: str = ""  # the model field (or mapping column) the finding is about, when one is

    def __str__(self) -> str:
        where = self.source or ENTITY_LABELS.get(self.entity, self.entity)
        if self.feature is not None:
            where = f"{where} feature {self.feature}"
        names = [f"id {self.ident}"] if self.ident else []
        if self.code and self.code != self.ident:
            names.append(f"código {self.code}")
        if names:
            where = f"{where} ({', '.join(names)})"
        return f"{where}: {self.reason}; {self.outcome}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.source,
            "layer": self.layer,
            "entity": self.entity,
            "feature": self.feature,
            "id": self.ident,
            "code": self.code,
            "field": self.field,
            "severity": self.severity,
            "check": self.check,
            "message": self.reason,
            "outcome": self.outcome,
        }

    def row(self) -> list[str]:
        return [
            self.source,
            self.entity,
            "" if self.feature is None else str(self.feature),
            self.ident,
            self.code,
            self.severity,
            self.check,
            self.reason,
            self.outcome,
            self.layer,
            self.field,
        ]


@dataclass
class Position:
    """What the import is doing, so that an unexpected error can say where it happened."""

    stage: str = "leer el mapeo"
    mapping: str = ""  # the mapping file's name
    entity: str = ""
    source: str = ""
    layer: str = ""
    feature: int | None = None
    ident: str = ""

    def at(self, stage: str, entity: str = "", source: str = "") -> None:
        self.stage, self.entity, self.source = stage, entity, source
        self.layer, self.feature, self.ident = "", None, ""

    def describe(self) -> str:
        parts = [
            self.source or ENTITY_LABELS.get(self.entity, self.entity) or self.mapping or "el mapeo"
        ]
        if self.layer:
            parts.append(f"capa {self.layer}")
        if self.entity and self.source:
            parts.append(f"[{self.entity}]")
        if self.feature is not None:
            parts.append(f"feature {self.feature}" + (f" (id {self.ident})" if self.ident else ""))
        return ", ".join(parts)


@dataclass
class EntityCounts:
    read: int = 0  # features in the layer
    filtered: int = 0  # left out by the mapping's `where`
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportResult:
    name: str
    distributor: str
    counts: dict[str, EntityCounts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    changed_feeders: set[int] = field(default_factory=set)
    dry_run: bool = False
    partial: bool = False  # --parcial: keep the valid rows when some are rejected
    committed: bool = False  # the rows are stored (False for a dry run or a refused import)

    def entity(self, name: str) -> EntityCounts:
        return self.counts.setdefault(name, EntityCounts())

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def skipped(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)

    @property
    def failed(self) -> bool:
        return self.skipped > 0

    @property
    def accepted(self) -> int:
        return sum(c.imported for c in self.counts.values())

    @property
    def exit_code(self) -> int:
        if not self.failed:
            return EXIT_OK
        return EXIT_PARTIAL if self.partial else EXIT_REFUSED

    def rows(self) -> list[dict[str, object]]:
        """Every finding as a row (file, layer, feature, id, field, message…), for a table."""
        return [problem.as_dict() for problem in self.problems]

    def count_rows(self) -> list[dict[str, object]]:
        """Per section: features read, left out by `where`, created, updated, unchanged and
        rejected (rows of errors), in import order."""
        rejected = Counter(p.entity for p in self.problems if p.severity == ERROR)
        return [
            {
                "entity": name,
                "label": label,
                "read": self.counts[name].read,
                "filtered": self.counts[name].filtered,
                "created": self.counts[name].created,
                "updated": self.counts[name].updated,
                "unchanged": self.counts[name].unchanged,
                "rejected": rejected[name],
            }
            for name, label in ENTITY_LABELS.items()
            if name in self.counts
        ]

    @property
    def created(self) -> int:
        return sum(c.created for c in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.counts.values())

    @property
    def unchanged(self) -> int:
        return sum(c.unchanged for c in self.counts.values())

    def summary(self) -> str:
        parts = ", ".join(
            f"{self.counts[name].imported} {label}"
            for name, label in ENTITY_LABELS.items()
            if name in self.counts
        )
        line = (
            f"{self.name} ({self.distributor}): {parts}; {self.created} creados, "
            f"{self.updated} actualizados, {self.unchanged} sin cambios; "
            f"{self.skipped} filas omitidas, {self.warnings} avisos"
        )
        if self.dry_run:
            return f"{line} (simulación: no se guardó nada)"
        if self.failed and not self.partial:
            return f"{line} (todo o nada: no se guardó nada; --parcial guarda las filas válidas)"
        if self.failed:
            return f"{line} (parcial: se guardaron las filas válidas)"
        return line

    def grouped(self, severity: str) -> list[tuple[str, str, int, list[Problem]]]:
        """(entity, check, count, problems) for one severity, in report order."""
        counter = Counter((p.entity, p.check) for p in self.problems if p.severity == severity)
        groups = []
        for (entity, check), count in counter.items():
            members = [
                p
                for p in self.problems
                if p.severity == severity and p.entity == entity and p.check == check
            ]
            groups.append((entity, check, count, members))
        return groups

    def write_report(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(REPORT_HEADER)
            for problem in self.problems:
                writer.writerow(problem.row())
