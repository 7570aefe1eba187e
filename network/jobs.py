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
        )
    }


# The importer is imported when a job runs, not when the app loads (network.apps registers
# this kind at start-up; GDAL and the importer's modules are not needed then).


def _arguments(job) -> dict:
    from network.services.importing import NetworkImportError
    from network.services.importing.mapping import load_mapping

    mapping = mappings().get((job.options or {}).get("mapping") or "")
    if mapping is None:
        raise NetworkImportError(f"mapeo desconocido: {job.options.get('mapping')!r}")
    upload = Path(job.file.path)
    if upload.suffix.lower() == ".zip":
        try:
            source = jobs.unpack(upload, jobs.work_dir(job) / "archivos")
        except jobs.UnsafeArchive as exc:
            raise NetworkImportError(f"{upload.name}: {exc}") from exc
        return {"mapping_path": mapping, "source": source}
    sections = load_mapping(mapping).entities
    return {"mapping_path": mapping, "files": dict.fromkeys(sections, upload)}


def _outcome(run) -> jobs.Outcome:
    from network.services.importing import NetworkImportError
    from network.services.importing.report import REPORT_HEADER

    try:
        result = run()
    except NetworkImportError as exc:
        return jobs.Outcome(False, f"Rechazado, no se guardó nada: {exc}", written=False)
    counts = {
        name: {"leidos": c.read, "creados": c.created, "actualizados": c.updated}
        for name, c in result.counts.items()
    }
    return jobs.Outcome(
        ok=not result.failed,
        summary=result.summary(),
        header=REPORT_HEADER,
        rows=[problem.row() for problem in result.problems],
        counts=counts,
    )


def check(job) -> jobs.Outcome:
    from network.services.importing import import_network

    return _outcome(lambda: import_network(**_arguments(job), dry_run=True))


def apply(job) -> jobs.Outcome:
    from network.services.importing import import_network

    return _outcome(lambda: import_network(**_arguments(job)))


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
