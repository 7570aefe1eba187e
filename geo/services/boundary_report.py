"""What a boundary import tells its user: the problems, feature by feature, and the totals."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

# Severities: errors make the run fail (after committing what loaded), warnings do not.
ERROR = "error"
WARNING = "aviso"
INFO = "info"


class BoundaryImportError(Exception):
    """A fatal problem (file missing or unreadable, bad CUT table); nothing is written."""


@dataclass(frozen=True)
class Problem:
    """One thing the import could not take as it was, in the words the user reads.

    `feature` is the position of the feature in its layer, counting from 1 (GeoJSON has no
    stable ids); None for a CUT entry that no feature provides.
    """

    source: str
    reason: str
    outcome: str
    severity: str = ERROR
    feature: int | None = None
    code: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        where = self.source if self.feature is None else f"{self.source} feature {self.feature}"
        ident = ", ".join(
            part for part in (f"código {self.code}" if self.code else "", self.name or "") if part
        )
        if ident:
            where = f"{where} ({ident})"
        return f"{where}: {self.reason}, {self.outcome}"


@dataclass
class ImportResult:
    regiones: int = 0
    comunas: int = 0
    regiones_with_boundary: int = 0
    comunas_with_boundary: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(p.severity == ERROR and p.feature is not None for p in self.problems)

    @property
    def without_boundary(self) -> int:
        return sum(p.severity == ERROR and p.feature is None for p in self.problems)

    @property
    def repaired(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)

    @property
    def failed(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)

    def summary(self) -> str:
        return (
            f"{self.regiones} regiones ({self.regiones_with_boundary} con límite), "
            f"{self.comunas} comunas ({self.comunas_with_boundary} con límite); "
            f"{self.skipped} omitidas, {self.repaired} reparadas, "
            f"{self.without_boundary} del CUT sin geometría"
        )

    def write_report(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["archivo", "feature", "codigo", "nombre", "gravedad", "motivo", "resultado"]
            )
            for p in self.problems:
                writer.writerow(
                    [
                        p.source,
                        p.feature or "",
                        p.code or "",
                        p.name or "",
                        p.severity,
                        p.reason,
                        p.outcome,
                    ]
                )
