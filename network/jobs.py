"""The network export as an import kind of the admin (core.jobs): a GIS export uploaded by a
planner, checked with its mapping (a dry run of `import_network`), then applied.

The upload is one file: a zip (a Shapefile's parts, or the several files a mapping names) is
unpacked and the mapping's file names are read inside it; a single GeoPackage, GeoJSON, KML or
KMZ stands for every layer of the mapping (each section's `layer` picks inside it).
"""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings

from core import jobs

EXTENSIONS = (".zip", ".gpkg", ".geojson", ".json", ".kml", ".kmz")
MAPPINGS_DIR = Path(__file__).resolve().parent / "import_mappings"


def mapping_dirs() -> list[Path]:
    extra = getattr(settings, "IMPORT_MAPPINGS_DIR", None)
    return [MAPPINGS_DIR, *([Path(extra)] if extra else [])]


def mappings() -> dict[str, Path]:
    """The mappings a planner may choose: network/import_mappings and IMPORT_MAPPINGS_DIR."""
    found = {}
    for directory in mapping_dirs():
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                found.setdefault(path.stem, path)
    return found


def option_fields() -> dict[str, forms.Field]:
    return {
        "mapping": forms.ChoiceField(
            label="Mapeo",
            choices=[(name, name) for name in mappings()],
            required=True,
            help_text="El archivo de mapeo de columnas (docs/import_network.md).",
        ),
        "parcial": forms.BooleanField(
            label="Guardar la parte válida",
            help_text="Sin marcar, una fila rechazada deja todo el archivo sin guardar "
            "(--parcial de import_network).",
            required=False,
        ),
        "permitir_movimientos": forms.BooleanField(
            label="Permitir mover activos guardados",
            help_text=f"Más de {settings.IMPORT_MAX_MOVE_M} m (IMPORT_MAX_MOVE_M); sin marcar, "
            "la importación se rechaza (--permitir-movimientos).",
            required=False,
        ),
    }


# The importer is imported when a job runs, not when the app loads (network.apps registers
# this kind at start-up; GDAL and the importer's modules are not needed then).


def _arguments(job) -> dict:
    from network.services.importing import NetworkImportError
    from network.services.importing.mapping import load_mapping

    options = job.options or {}
    flags = {
        "partial": bool(options.get("parcial")),
        "allow_moves": bool(options.get("permitir_movimientos")),
    }
    mapping = mappings().get(options.get("mapping") or "")
    if mapping is None:
        raise NetworkImportError(f"mapeo desconocido: {job.options.get('mapping')!r}")
    upload = Path(job.file.path)
    if upload.suffix.lower() == ".zip":
        try:
            source = jobs.unpack(upload, jobs.work_dir(job) / "archivos")
        except jobs.UnsafeArchive as exc:
            raise NetworkImportError(f"{upload.name}: {exc}") from exc
        return {"mapping_path": mapping, "source": source, **flags}
    sections = load_mapping(mapping).entities
    return {"mapping_path": mapping, "files": dict.fromkeys(sections, upload), **flags}


def _outcome(run, checking: bool) -> jobs.Outcome:
    from network.services.importing import NetworkImportError
    from network.services.importing.report import EXIT_OK, EXIT_PARTIAL, REPORT_HEADER

    try:
        result = run()
    except NetworkImportError as exc:
        return jobs.Outcome(False, f"Rechazado, no se guardó nada: {exc}", written=False)
    # A check passes when applying would store something: every row, or the valid part when
    # the job asked for it; an application is whole only with every row accepted.
    ok = result.exit_code in ((EXIT_OK, EXIT_PARTIAL) if checking else (EXIT_OK,))
    return jobs.Outcome(
        ok=ok,
        summary=result.summary(),
        header=REPORT_HEADER,
        rows=[problem.row() for problem in result.problems],
        counts={row["entity"]: row for row in result.count_rows()},
        written=checking or result.committed,
    )


def check(job, progress) -> jobs.Outcome:
    from network.services.importing import import_network

    def run():
        return import_network(**_arguments(job), dry_run=True, on_progress=progress)

    return _outcome(run, checking=True)


def apply(job, progress) -> jobs.Outcome:
    from network.services.importing import import_network

    return _outcome(lambda: import_network(**_arguments(job), on_progress=progress), False)


KIND = jobs.JobKind(
    code="red",
    label="Exportación GIS de la red",
    permission="network.change_span",
    extensions=EXTENSIONS,
    check=check,
    apply=apply,
    option_fields=option_fields,
    help="zip (Shapefile o varios archivos), GeoPackage, GeoJSON, KML o KMZ, con su mapeo",
)
