"""What the import_network tests share: the mappings, running the command, reading back."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from network.models import (
    Distributor,
    Equipment,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)

ROOT = Path(__file__).parents[2]
OBERRHEIN = ROOT / "network" / "import_mappings" / "mv_oberrhein.toml"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "network_import"
TINY = FIXTURES / "mapping.toml"
MODELS = (Substation, PowerTransformer, Feeder, Pole, Span, Equipment, Transformer)
SUMMARY = re.compile(
    r"^mv_oberrhein \(OBERRHEIN\): 2 subestaciones, 2 transformadores de poder, "
    r"\d+ alimentadores, \d+ postes, \d+ vanos, \d+ equipos, \d+ transformadores; "
    r"\d+ creados, \d+ actualizados, \d+ sin cambios; \d+ filas omitidas, \d+ avisos$"
)


def features(path: Path) -> list[dict]:
    return json.loads(path.read_text())["features"]


def run(*args: str | Path) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_network", *map(str, args), stdout=out, stderr=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as src:
        return list(csv.DictReader(src))


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Distributor, *MODELS)}


def ours(model, distributor: str = "OBERRHEIN"):
    """The rows an import made (the session's demo data set may share the database)."""
    if model is PowerTransformer:
        return model.objects.filter(substation__distributor__code=distributor)
    return model.objects.filter(distributor__code=distributor)


OURS = "(SELECT id FROM network_distributor WHERE code = 'OBERRHEIN')"


def scalar(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchone()[0]


def ogr2ogr(*args: str | Path) -> None:
    if shutil.which("ogr2ogr") is None:
        pytest.skip("ogr2ogr (gdal-bin) no está instalado")
    subprocess.run(["ogr2ogr", *map(str, args)], check=True, capture_output=True)


def mapping_variant(tmp_path: Path, old: str, new: str, *more: tuple[str, str]) -> Path:
    """The tiny mapping with some lines changed, reading the fixture files where they are."""
    text = TINY.read_text(encoding="utf-8")
    for before, after in ((old, new), *more):
        assert before in text
        text = text.replace(before, after)
    text = text.replace(
        '[network]\nname = "prueba"', f'[network]\nname = "prueba"\nsource_dir = "{FIXTURES}"'
    )
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path
