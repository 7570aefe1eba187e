"""What a billing import did per file and what it could not take, for the console and the CSV.

The GIS import's report (network.services.importing.report) speaks of layers and features; a
CSV row is a file, a line and a field, so this one is its own, with the same severities."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from metering.lib import EXIT_FAILED, EXIT_OK, EXIT_REJECTED

ERROR = "error"  # the line, or the whole file when `line` is None, was not imported
WARNING = "aviso"  # nothing lost, but worth a look (an identical repeated line taken once)

REPORT_HEADER = ["archivo", "linea", "campo", "valor", "gravedad", "motivo"]
SHOWN_VALUE = 60


class BillingImportError(Exception):
    """The whole run cannot start (no directory, unknown distributor, unsafe storage)."""


class FileError(Exception):
    """One file cannot be imported (unreadable, header wrong); the other files go on."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    value: str
    reason: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} línea {self.line}"
        if self.field:
            where += f", campo {self.field}"
            if self.value:
                where += f" ({_shown(self.value)!r})"
        return f"{where}: {self.reason}"

    def row(self) -> list[str]:
        line = "" if self.line is None else str(self.line)
        return [self.file, line, self.field, _shown(self.value), self.severity, self.reason]


def _shown(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE else value[: SHOWN_VALUE - 1] + "…"


@dataclass
class FileCounts:
    name: str
    present: bool = True
    fatal: str = ""
    read: int = 0  # data lines, blank ones aside
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # lines not taken: errors and repeated lines

    def __str__(self) -> str:
        if not self.present:
            return f"{self.name} no está"
        if self.fatal:
            return f"{self.name} no importado ({self.fatal})"
        return (
            f"{self.name} {self.created} nuevas, {self.updated} actualizadas, "
            f"{self.unchanged} sin cambios, {self.rejected} rechazadas"
        )


@dataclass
class BillingImportResult:
    directory: Path
    distributor: str
    files: dict[str, FileCounts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def file(self, name: str) -> FileCounts:
        return self.files.setdefault(name, FileCounts(name))

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def failed(self) -> bool:
        return self.errors > 0

    @property
    def rejected(self) -> int:
        """Lines refused, over all the files."""
        return sum(counts.rejected for counts in self.files.values())

    @property
    def exit_code(self) -> int:
        """EXIT_OK when every line was accepted (warnings lose nothing), EXIT_FAILED when a
        file was refused whole, EXIT_REJECTED when only lines were."""
        if any(counts.fatal for counts in self.files.values()):
            return EXIT_FAILED
        return EXIT_REJECTED if self.failed else EXIT_OK

    def summary(self) -> str:
        parts = "; ".join(str(counts) for counts in self.files.values())
        return f"import_billing {self.distributor}: {parts}"

    def write_report(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(REPORT_HEADER)
            for problem in self.problems:
                writer.writerow(problem.row())
