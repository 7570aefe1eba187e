"""What an import did and what it could not take, for the console and the CSV report."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Errors are rows that were not imported (the run ends with a failure status after committing
# the rest); warnings were imported but deserve a look; info explains counts.
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
]


class NetworkImportError(Exception):
    """A fatal problem (mapping, file, layer, column, CRS); nothing is written."""


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
        ]


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
        return f"{line} (simulación: no se guardó nada)" if self.dry_run else line

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
