"""Readings and billing files as import kinds of the admin (core.jobs): uploaded, checked with a
dry run (the same ingest inside a transaction that is rolled back), then applied.

- Lecturas: one CSV or CIM MeterReadings XML file, as `ingest_readings` takes it (decimal
  separator declared by the file's `#decimal=` line or chosen here; a correction reason makes
  the file replace the stored values that differ, each kept as a ReadingRevision).
- Facturación: a zip of the CIS export directory (its CSV files and the pdf/ folder), as
  `import_billing` takes it, for one distributor.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django import forms

from core import jobs

# --- Readings ------------------------------------------------------------------------------


def reading_fields() -> dict[str, forms.Field]:
    return {
        "decimal": forms.ChoiceField(
            label="Separador decimal",
            choices=[
                ("", "El que declara el archivo (#decimal=), o punto"),
                (".", "Punto"),
                (",", "Coma"),
            ],  # fmt: skip
            help_text="Nunca se adivina por el separador de campos (docs/metering.md).",
            required=False,
        ),
        "correccion": forms.CharField(
            label="Motivo de corrección",
            max_length=255,
            help_text="Solo si el archivo corrige valores ya cargados: los reemplaza y guarda "
            "los anteriores con este motivo (--correccion). Vacío: un reenvío no cambia nada.",
            required=False,
        ),
    }


def _ingest(job, progress):
    from metering.services.ingest import ingest_file

    options = job.options or {}
    path = Path(job.file.path)
    size = max(path.stat().st_size, 1)
    done = {"values": 0}

    def values_read(count: int) -> None:
        # The ingest says how many values it has read; the file's size gives the fraction
        # roughly (about 85 bytes a CSV value).
        done["values"] += count
        progress(min(0.95, done["values"] * 85 / size), f"{done['values']:,} valores leídos")

    return ingest_file(
        path,
        report_path=jobs.work_dir(job) / "informe_lecturas.csv",
        progress=values_read,
        correction=(options.get("correccion") or "").strip(),
        decimal=options.get("decimal") or None,
    )


def _reading_outcome(result, checking: bool) -> jobs.Outcome:
    from metering.lib import EXIT_FAILED, EXIT_OK

    if checking:
        ok = result.exit_code != EXIT_FAILED  # the accepted values would be stored
        summary = f"{result.summary()} (simulación: no se guardó nada)"
    else:
        ok = result.exit_code == EXIT_OK
        summary = result.summary()
    return jobs.Outcome(
        ok=ok,
        summary=summary,
        counts={
            "leidos": result.values_read,
            "nuevos": result.inserted + result.registers_inserted,
            "ya_cargados": result.already_present,
            "corregidos": result.corrected,
            "rechazados": result.rejected,
        },
        written=checking or not result.fatal,
        report_file=result.report_path,
    )


def check_readings(job, progress) -> jobs.Outcome:
    return _reading_outcome(jobs.dry_run(lambda: _ingest(job, progress)), checking=True)


def apply_readings(job, progress) -> jobs.Outcome:
    return _reading_outcome(_ingest(job, progress), checking=False)


READINGS = jobs.JobKind(
    code="lecturas",
    label="Lecturas de medidores",
    permission="metering.add_ingestrun",
    extensions=(".csv", ".xml"),
    check=check_readings,
    apply=apply_readings,
    option_fields=reading_fields,
    help="un CSV o un mensaje CIM MeterReadings (XML), como ingest_readings",
)


# --- Billing -------------------------------------------------------------------------------


def billing_fields() -> dict[str, forms.Field]:
    from network.forms import distributor_field

    return {"distribuidora": distributor_field()}


def _pdf_hashes(directory: Path) -> list[str]:
    """Every PDF of the export, by content: what a dry run may have copied into the store."""
    hashes = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix.lower() == ".pdf":
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                    digest.update(block)
            hashes.append(digest.hexdigest())
    return hashes


def _export_dir(job) -> Path:
    upload = Path(job.file.path)
    unpacked = jobs.unpack(upload, jobs.work_dir(job) / "exportacion")
    # A zip of the directory itself: its one folder is the export.
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return unpacked


def _billing(job, progress, checking: bool) -> jobs.Outcome:
    from metering.lib import EXIT_FAILED, EXIT_OK
    from metering.services.billing import BillingImportError, import_billing
    from metering.services.billing.pdfs import remove_files

    distributor = (job.options or {}).get("distribuidora") or ""
    try:
        directory = _export_dir(job)
    except jobs.UnsafeArchive as exc:
        return jobs.Outcome(False, f"Rechazado, no se guardó nada: {exc}", written=False)
    progress(0.1, "Importando la facturación")
    try:
        if checking:
            result = jobs.dry_run(lambda: import_billing(directory, distributor))
            # The PDFs the dry run copied into the store belong to no row now.
            remove_files(_pdf_hashes(directory))
        else:
            result = import_billing(directory, distributor)
    except BillingImportError as exc:
        return jobs.Outcome(False, f"Rechazado, no se guardó nada: {exc}", written=False)
    from metering.services.billing.report import REPORT_HEADER

    code = result.exit_code
    return jobs.Outcome(
        ok=code != EXIT_FAILED if checking else code == EXIT_OK,
        summary=result.summary() + (" (simulación: no se guardó nada)" if checking else ""),
        header=REPORT_HEADER,
        rows=[problem.row() for problem in result.problems],
        written=True,  # file by file: a refused file leaves the others stored
    )


def check_billing(job, progress) -> jobs.Outcome:
    return _billing(job, progress, checking=True)


def apply_billing(job, progress) -> jobs.Outcome:
    return _billing(job, progress, checking=False)


BILLING = jobs.JobKind(
    code="facturacion",
    label="Facturación del CIS",
    permission="metering.add_monthlybill",
    extensions=(".zip",),
    check=check_billing,
    apply=apply_billing,
    option_fields=billing_fields,
    help="un zip de la carpeta exportada por el CIS (sus CSV y la carpeta pdf/), como "
    "import_billing",
)
