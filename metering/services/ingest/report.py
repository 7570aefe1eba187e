"""What one file's run did: the counts shown and saved on its IngestRun, and the CSV report
of every rejected value."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from metering import cim
from metering.lib import EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from metering.models import IngestRun
from metering.services.sources import Rejection

REPORT_COLUMNS = ["archivo", "ubicación", "campo", "motivo", "medidor", "valor"]


def thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


@dataclass
class IngestResult:
    run: IngestRun
    values_read: int = 0
    inserted: int = 0
    registers_inserted: int = 0
    events_inserted: int = 0
    already_present: int = 0
    corrected: int = 0  # stored values a correction replaced
    rejected: int = 0
    report_path: Path | None = None
    fatal: str = ""
    header: cim.Header | None = None
    # The first rejections, for display (each with .line, .field, .reason); all in the report.
    rejections: list[Rejection] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)  # stale runs marked on the way
    recomputed: dict[str, int] = field(default_factory=dict)  # after a correction
    virtual: int = 0  # virtual meters' values written from this file's

    @property
    def exit_code(self) -> int:
        """EXIT_OK when every value was accepted, EXIT_REJECTED when some were rejected (the
        rest stored), EXIT_FAILED when the file was refused whole."""
        if self.fatal:
            return EXIT_FAILED
        return EXIT_REJECTED if self.rejected else EXIT_OK

    def summary(self) -> str:
        if self.fatal:
            return f"{self.run.file_name}: archivo rechazado: {self.fatal}"
        corrected = f"{thousands(self.corrected)} corregidos, " if self.run.correction else ""
        return (
            f"{self.run.file_name}: {thousands(self.values_read)} valores leídos, "
            f"{thousands(self.inserted)} lecturas de intervalo y "
            f"{thousands(self.registers_inserted)} de registro nuevas, "
            f"{thousands(self.events_inserted)} eventos, "
            f"{thousands(self.already_present)} ya cargados, {corrected}"
            f"{thousands(self.rejected)} rechazados"
            + (f"; {thousands(self.virtual)} valores virtuales calculados" if self.virtual else "")
        )


class Report:
    """Rejections streamed to CSV as they come (a big bad file must not fill memory)."""

    KEEP = 50

    def __init__(self, path: Path, file_name: str, result: IngestResult) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file_name = file_name
        self.result = result
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle, delimiter=";")
        self.writer.writerow(REPORT_COLUMNS)

    def add(self, rejection: Rejection) -> None:
        self.result.rejected += 1
        if len(self.result.rejections) < self.KEEP:
            self.result.rejections.append(rejection)
        self.writer.writerow(
            [
                self.file_name,
                rejection.where,
                rejection.field,
                rejection.reason,
                rejection.meter,
                rejection.value,
            ]
        )

    def close(self) -> None:
        self.handle.close()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_report_path(run: IngestRun) -> Path:
    return Path(settings.METERING_REPORTS_DIR) / f"lecturas_{run.pk}.csv"
