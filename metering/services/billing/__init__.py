"""`import_billing`: a CIS export (CSV files and their PDFs) into the billing models.

Each file is read, checked line by line and applied in its own transaction: a line that cannot
be taken is reported (file, line, field, reason) and the rest of its file is stored; a file
whose header is wrong is reported and skipped, and the other files still import. Rows are
upserted by natural key and a row whose values did not change is not touched, so running the
same export again writes nothing. docs/import_billing.md has the formats and the decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from tqdm import tqdm

from network.models import Distributor

from . import pdfs
from .csvfile import CsvFile
from .files import FILES, Context, FileSpec, parse_line, staged_columns
from .report import (
    ERROR,
    WARNING,
    BillingImportError,
    BillingImportResult,
    FileCounts,
    FileError,
    Problem,
)
from .stage import Stage

__all__ = [
    "ERROR",
    "FILES",
    "WARNING",
    "BillingImportError",
    "BillingImportResult",
    "Problem",
    "delete_with_pdfs",
    "import_billing",
]

logger = logging.getLogger(__name__)

PDF_FOLDER = "pdf"


def import_billing(
    directory: Path,
    distributor: str,
    *,
    as_of: date | None = None,
    today: date | None = None,
    progress: bool = False,
) -> BillingImportResult:
    """Import the export in `directory` for the distributor with code `distributor`.

    Raises BillingImportError, before writing anything, when the run cannot start.
    """
    if not directory.is_dir():
        raise BillingImportError(f"{directory}: no existe o no es un directorio")
    owner = Distributor.objects.filter(code=distributor).first()
    if owner is None:
        raise BillingImportError(f"no existe la distribuidora con código {distributor!r}")
    pdfs.check_private()
    if not any((directory / spec.name).is_file() for spec in FILES):
        names = ", ".join(spec.name for spec in FILES)
        raise BillingImportError(f"{directory} no tiene ninguno de los archivos {names}")
    today = today or timezone.localdate()
    ctx = Context(today, as_of or today, owner.pk, pdfs.PdfReader(directory / PDF_FOLDER))
    result = BillingImportResult(directory, owner.code)
    for spec in FILES:
        counts = result.file(spec.name)
        path = directory / spec.name
        if not path.is_file():
            counts.present = False
            continue
        try:
            _import_file(spec, path, ctx, counts, result, progress)
        except FileError as exc:
            _fatal(result, counts, str(exc))
        except (DatabaseError, OSError) as exc:
            logger.exception("import_billing: %s", path)
            _fatal(result, counts, f"error al guardar ({str(exc).strip()})")
    return result


def _import_file(
    spec: FileSpec,
    path: Path,
    ctx: Context,
    counts: FileCounts,
    result: BillingImportResult,
    progress: bool,
) -> None:
    with CsvFile(path, spec.allowed, spec.required) as source, transaction.atomic():
        with connection.cursor() as cursor:
            # One billing import writes at a time: the PDF store is shared by all of them.
            cursor.execute(pdfs.LOCK_SQL)
        columns = staged_columns(spec, set(source.header))
        stage = Stage(spec.name, columns, ctx.distributor, ctx.as_of, counts, result)
        try:
            stage.create()
            stage.copy(_staged_rows(spec, source, ctx, counts, result, progress))
            spec.load(stage, ctx)
            stage.drop()
        finally:
            stage.cursor.close()


def _staged_rows(
    spec: FileSpec,
    source: CsvFile,
    ctx: Context,
    counts: FileCounts,
    result: BillingImportResult,
    progress: bool,
) -> Iterator[tuple[Any, ...]]:
    lines = tqdm(source.lines(), desc=spec.name, unit=" líneas", disable=not progress)
    for line in lines:
        counts.read += 1
        if line.error:
            result.add(Problem(spec.name, line.number, "", "", line.error))
            counts.rejected += 1
            continue
        row, errors = parse_line(spec, line.cells, ctx)
        if errors:
            for field, value, reason in errors:
                result.add(Problem(spec.name, line.number, field, value, reason))
            counts.rejected += 1
            continue
        yield (line.number, *row)


def _fatal(result: BillingImportResult, counts: FileCounts, reason: str) -> None:
    # The file's transaction rolled back: whatever its counts said was written, was not.
    counts.fatal = reason
    counts.created = counts.updated = counts.unchanged = 0
    result.add(Problem(counts.name, None, "", "", f"archivo no importado: {reason}"))


def delete_with_pdfs(queryset: QuerySet) -> None:
    """Delete billing documents or EG contracts, and the stored PDFs only they referred to."""
    fields = [f.attname for f in queryset.model._meta.fields if f.attname.endswith("pdf_id")]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(pdfs.LOCK_SQL)
        ids = [pdf_id for row in queryset.values_list(*fields) for pdf_id in row if pdf_id]
        queryset.delete()
        pdfs.prune(ids)
