"""The CUT (Código Único Territorial): codes as stored, and the clregions table."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .boundary_report import BoundaryImportError

REGION_DIGITS = 2
COMUNA_DIGITS = 5

_CODE = re.compile(r"^(\d+)(?:\.0*)?$")


@dataclass(frozen=True)
class CutComuna:
    name: str
    province: str
    region: str


@dataclass(frozen=True)
class CutTable:
    regiones: dict[str, str]
    comunas: dict[str, CutComuna]


def normalize_code(value: object, digits: int) -> str | None:
    """CUT code as stored: 6204, "6204", 6204.0 and "06204" all give "06204" (digits=5).

    None for a missing or blank value; ValueError if it is not a whole number.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = _CODE.match(text)
    if not match:
        raise ValueError(text)
    return match.group(1).zfill(digits)


def read_cut_table(directory: Path) -> CutTable:
    """The CUT table as published by clregions: *regions.csv, *provinces.csv, *communes.csv."""
    if not directory.is_dir():
        raise BoundaryImportError(f"{directory}: no existe o no es un directorio")
    regions = {r["id"]: r for r in _read_csv(directory, "regions", ("id", "name"))}
    provinces = {r["id"]: r for r in _read_csv(directory, "provinces", ("id", "name", "region_id"))}
    communes = _read_csv(directory, "communes", ("id", "name", "province_id"))
    regiones = {
        normalize_code(code, REGION_DIGITS): row["name"].strip() for code, row in regions.items()
    }
    comunas: dict[str, CutComuna] = {}
    for row in communes:
        province = provinces.get(row["province_id"].strip().zfill(3))
        region = province and normalize_code(province["region_id"], REGION_DIGITS)
        if province is None or region not in regiones:
            raise BoundaryImportError(
                f"Tabla CUT inconsistente: la comuna {row['id']} apunta a la provincia "
                f"{row['province_id']}, que no existe o no tiene región"
            )
        code = normalize_code(row["id"], COMUNA_DIGITS)
        comunas[code] = CutComuna(row["name"].strip(), province["name"].strip(), region)
    if not regiones or not comunas:
        raise BoundaryImportError(f"Tabla CUT vacía en {directory}")
    return CutTable(regiones, comunas)


def _read_csv(directory: Path, kind: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    matches = sorted(directory.glob(f"*{kind}.csv"))
    if len(matches) != 1:
        raise BoundaryImportError(
            f"Tabla CUT: se esperaba un archivo *{kind}.csv en {directory}, hay {len(matches)}"
        )
    try:
        with matches[0].open(newline="", encoding="utf-8-sig") as src:
            rows = list(csv.DictReader(src))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BoundaryImportError(f"{matches[0]}: no se puede leer ({exc})") from exc
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise BoundaryImportError(f"{matches[0].name}: faltan las columnas {', '.join(missing)}")
    # Spreadsheets drop the leading zeros of "01"; padding happens where the width is known.
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in rows]
