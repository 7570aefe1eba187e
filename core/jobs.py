"""The kinds of file a planner can import from the admin (core.ImportJob), registered by the
apps that know them (network: GIS exports; metering: readings and billing).

A kind checks a job (a dry run: nothing stays in the database) and applies it; both answer an
Outcome, whose rows are the report the admin shows as a table and as CSV.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django import forms
from django.conf import settings


@dataclass
class Outcome:
    ok: bool  # the check allows applying; the application took every row
    summary: str
    written: bool = True  # an application that stopped before writing anything: False
    report_file: Path | None = None  # a report the step wrote itself (CSV, `;`), instead of rows
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobKind:
    code: str
    label: str
    permission: str  # what the uploader needs besides the ImportJob permission
    extensions: tuple[str, ...]  # accepted file names end with one of these
    check: Callable[..., Outcome]  # (job, progress) -> Outcome, nothing written
    apply: Callable[..., Outcome]  # (job, progress) -> Outcome
    option_fields: Callable[[], dict[str, forms.Field]] = dict
    help: str = ""


KINDS: dict[str, JobKind] = {}


class _RollBack(Exception):
    """The end of a dry run: everything the step wrote is undone."""


def dry_run(run):
    """Run `run()` inside a transaction and roll it back; return what it returned (a kind's
    check: the same import as the application, leaving nothing behind)."""
    from django.db import transaction

    box = {}
    try:
        with transaction.atomic():
            box["result"] = run()
            raise _RollBack
    except _RollBack:
        pass
    return box["result"]


def register(kind: JobKind) -> None:
    KINDS[kind.code] = kind


def kinds_for(user) -> list[JobKind]:
    return [kind for kind in KINDS.values() if user.has_perm(kind.permission)]


def work_dir(job) -> Path:
    """A directory of the job's own next to its file (an unpacked zip, the report)."""
    path = Path(settings.IMPORT_UPLOAD_DIR) / "trabajos" / str(job.pk)
    path.mkdir(parents=True, exist_ok=True)
    return path


class ProgressFile:
    """`progress(fraction, what)` for a kind's step, kept in a small file of the job's
    directory: the step runs inside its own transaction, which no other connection could read
    until it ends, and the web and the worker share the upload directory anyway. Written on a
    new step, else at most every half second, atomically (a reader never sees half a file)."""

    interval = 0.5

    def __init__(self, job):
        self.path = work_dir(job) / "progreso.json"
        self.last = 0.0
        self.what = None

    def __call__(self, fraction: float, what: str) -> None:
        now = time.monotonic()
        if what == self.what and now - self.last < self.interval:
            return
        self.last, self.what = now, what
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"fraction": round(fraction, 3), "what": what}))
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def read_progress(job) -> dict | None:
    path = Path(settings.IMPORT_UPLOAD_DIR) / "trabajos" / str(job.pk) / "progreso.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class UnsafeArchive(Exception):
    pass


def unpack(archive: Path, into: Path) -> Path:
    """Unpack a zip into `into` (emptied first); refuse members that leave it or a total
    larger than IMPORT_UPLOAD_MAX_MB, before writing anything."""
    limit = settings.IMPORT_UPLOAD_MAX_MB * 2**20
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            total = sum(member.file_size for member in members)
            if total > limit:
                raise UnsafeArchive(
                    f"el zip se expande a {total / 2**20:.0f} MB, más que el límite de "
                    f"{settings.IMPORT_UPLOAD_MAX_MB} MB"
                )
            root = into.resolve()
            for member in members:
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise UnsafeArchive(f"el zip tiene una ruta fuera de él: {member.filename}")
            if into.exists():
                shutil.rmtree(into)
            into.mkdir(parents=True)
            bundle.extractall(into)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchive(f"no es un zip válido ({exc})") from exc
    return into


def write_report(job, outcome: Outcome, step: str) -> Path:
    """The outcome's rows as CSV (UTF-8 with BOM, `;`, as the portal's other downloads); or
    the report the step wrote, kept under the step's name."""
    path = work_dir(job) / f"informe_{step}.csv"
    if outcome.report_file is not None and Path(outcome.report_file).is_file():
        shutil.copyfile(outcome.report_file, path)
        return path
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(outcome.header or ["mensaje"])
        writer.writerows(outcome.rows)
    return path


def read_report(path: str, limit: int) -> tuple[list[str], list[list[str]], int]:
    """(header, the first `limit` rows, how many rows in all) of a report written above."""
    if not path or not Path(path).is_file():
        return [], [], 0
    with open(path, encoding="utf-8-sig", newline="") as source:
        reader = csv.reader(source, delimiter=";")
        header = next(reader, [])
        rows, total = [], 0
        for row in reader:
            total += 1
            if total <= limit:
                rows.append(row)
    return header, rows, total
