"""The PDFs of the CIS export: checked, hashed, and kept once by content under billing_dir().

A stored file is named by its SHA-256, so storing the same PDF again writes nothing and two
documents with the same bytes share one file. A file no BillingPdf row refers to any longer is
removed only after the transaction that dropped its last reference commits, and only if no
import has taken it again meanwhile (imports hold IMPORT_LOCK while they write).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from metering.models.billing import billing_dir, pdf_path

from .report import BillingImportError

HEAD = b"%PDF-"
# Readers accept the header anywhere in the first KiB and the end marker in the last one; a
# missing end marker is how a transfer cut in half shows.
WINDOW = 1024
END = b"%%EOF"
CHUNK = 1 << 20
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('metering.import_billing'))"


@dataclass(frozen=True)
class PdfRef:
    sha256: str
    size: int
    source: str


class PdfChanged(Exception):
    """The source file's bytes changed between the check and the copy."""


class PdfReader:
    """Checks and hashes the PDFs a CSV names, relative to the export's pdf/ folder."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[Path, PdfRef] = {}

    def __call__(self, name: str) -> PdfRef:
        relative = Path(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError("la ruta debe quedar dentro de la carpeta pdf/ de la exportación")
        path = self.root / relative
        if not path.is_file():
            raise ValueError(f"no existe el archivo pdf/{relative.as_posix()}")
        try:
            inside = path.resolve().is_relative_to(self.root.resolve())
        except OSError as exc:
            raise ValueError(f"no se puede leer: {exc.strerror}") from None
        if not inside:
            raise ValueError("el enlace apunta fuera de la carpeta pdf/")
        if path in self._cache:
            return self._cache[path]
        try:
            ref = _read(path)
        except OSError as exc:
            raise ValueError(f"no se puede leer: {exc.strerror}") from None
        self._cache[path] = ref
        return ref


def _read(path: Path) -> PdfRef:
    digest = hashlib.sha256()
    head = b""
    tail = b""
    size = 0
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            if size == 0:
                head = chunk[:WINDOW]
            digest.update(chunk)
            tail = (tail + chunk)[-WINDOW:]
            size += len(chunk)
    if size == 0:
        raise ValueError("el archivo está vacío")
    if HEAD not in head:
        raise ValueError("no es un PDF (no empieza con %PDF-)")
    if END not in tail:
        raise ValueError("PDF incompleto (sin %%EOF al final): ¿transferencia cortada?")
    return PdfRef(digest.hexdigest(), size, str(path))


def public_directories() -> list[Path]:
    dirs = [getattr(settings, "STATIC_ROOT", None), getattr(settings, "MEDIA_ROOT", None)]
    dirs += list(getattr(settings, "STATICFILES_DIRS", []))
    return [Path(d if isinstance(d, str | os.PathLike) else d[1]) for d in dirs if d]


def check_private() -> Path:
    """billing_dir(), refusing one that a web server or collectstatic would publish."""
    target = billing_dir().resolve()
    for public in public_directories():
        if target.is_relative_to(public.resolve()):
            raise BillingImportError(
                f"BILLING_DIR ({target}) está dentro de {public}, que es público; los PDF de "
                "clientes no pueden quedar ahí"
            )
    return target


def store(ref: PdfRef) -> bool:
    """Copy the PDF into the store unless it is already there; True when it wrote a file."""
    target = pdf_path(ref.sha256)
    try:
        if target.stat().st_size == ref.size:
            return False
    except FileNotFoundError:
        pass
    for directory in (billing_dir(), target.parent.parent, target.parent):
        directory.mkdir(mode=0o750, exist_ok=True, parents=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, open(ref.source, "rb") as source:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != ref.sha256:
            raise PdfChanged(ref.source)
        os.chmod(temporary, 0o640)
        # Atomic: a reader sees the old file or the whole new one, never half of it.
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def prune(pdf_ids: Iterable[int]) -> None:
    """Drop the BillingPdf rows among `pdf_ids` that nothing refers to; their files go after
    the commit. Call inside the transaction that dropped the references."""
    ids = sorted(set(pdf_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM metering_billingpdf p
             WHERE p.id = ANY(%s)
               AND NOT EXISTS (SELECT 1 FROM metering_billingdocument d WHERE d.pdf_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM metering_egcontract e WHERE e.contract_pdf_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM metering_egcontract e WHERE e.protocol_pdf_id = p.id)
               AND NOT EXISTS (SELECT 1 FROM metering_egcontract e WHERE e.study_pdf_id = p.id)
            RETURNING p.sha256
            """,
            [ids],
        )
        gone = [sha for (sha,) in cursor.fetchall()]
    if gone:
        transaction.on_commit(lambda: remove_files(gone))


def remove_files(shas: list[str]) -> None:
    """Unlink the stored files of `shas` that no BillingPdf row has taken again."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Waits for a running import, which may be about to reuse one of these files.
        cursor.execute(LOCK_SQL)
        cursor.execute("SELECT sha256 FROM metering_billingpdf WHERE sha256 = ANY(%s)", [shas])
        kept = {sha for (sha,) in cursor.fetchall()}
        for sha in shas:
            if sha not in kept:
                pdf_path(sha).unlink(missing_ok=True)
