"""Opening a mapped file and choosing its layer, with GDAL's own words when it cannot.

A file GDAL refuses is fatal: the message quotes what GDAL logged and, when the first bytes show
what the file really is (an HTML page, an empty or truncated download, a broken zip), says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.contrib.gis.gdal.layer import Layer

from .report import NetworkImportError
from .spec import EntityMapping

SNIFF_BYTES = 4096


@contextmanager
def gdal_errors() -> Iterator[list[str]]:
    """Collect what GDAL logs (Django logs GDAL's CPL errors); GDAL reports an unknown GeoJSON
    CRS, or why a file does not open, only that way."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("django.contrib.gis")
    handler = Collect(level=logging.DEBUG)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def gdal_text(messages: list[str], exc: Exception | None = None) -> str:
    """GDAL's messages once each, without the `GDAL_ERROR n: b'…'` wrapping."""
    texts = []
    for message in messages:
        text = message.strip()
        if text.startswith("GDAL_ERROR"):
            text = text.partition(":")[2].strip()
            if text[:2] in ("b'", 'b"') and text[-1:] in ("'", '"'):
                text = text[2:-1]
        if text and text not in texts:
            texts.append(text)
    if exc is not None and str(exc) and not texts:
        texts.append(str(exc))
    return "; ".join(texts)


def sniff(path: Path) -> str:
    """What the file looks like when GDAL cannot read it: a hint for the planner, or ""."""
    try:
        size = path.stat().st_size
        with path.open("rb") as src:
            head = src.read(SNIFF_BYTES)
            src.seek(max(0, size - 64))
            tail = src.read()
    except OSError as exc:
        return f"no se puede leer el archivo ({exc.strerror})"
    if path.is_dir():
        return ""
    if size == 0:
        return "el archivo está vacío (¿descarga interrumpida?)"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text[:512]:
        return (
            "parece una página HTML, no datos SIG (¿se guardó la página de error o de inicio de "
            "sesión en vez del archivo?)"
        )
    suffix = path.suffix.lower()
    if head.startswith(b"PK"):
        return "parece un ZIP (KMZ) dañado o incompleto"
    if suffix in (".kmz", ".zip"):
        return "no es un ZIP: un KMZ es un KML comprimido"
    if head.startswith(b"SQLite format 3"):
        return (
            "es una base SQLite, pero GDAL no la reconoce como GeoPackage (¿dañada o incompleta?)"
        )
    if suffix == ".gpkg":
        return "no empieza como una base SQLite: no es un GeoPackage (¿dañado o de otro formato?)"
    if text.startswith((b"{", b"[")):
        end = tail.rstrip(b" \t\r\n")
        if not end.endswith((b"}", b"]")):
            return f"parece un JSON truncado (termina en {end[-20:].decode(errors='replace')!r})"
        return "parece un JSON mal formado o que no es GeoJSON"
    if text.startswith(b"<?xml") or text.startswith(b"<kml"):
        if not tail.rstrip().endswith(b">"):
            return "parece un XML (KML) truncado"
        return "parece un XML mal formado o que no es KML"
    if b"\x00" in head and suffix in (".geojson", ".json", ".kml", ".csv"):
        return f"contiene datos binarios: no es un archivo {suffix[1:]}"
    return ""


def open_layer(entity: EntityMapping) -> tuple[DataSource, Layer]:
    path = entity.path
    where = f"{path.name} ([{entity.name}])"
    if not path.exists():
        raise NetworkImportError(f"{path}: no existe ([{entity.name}])")
    with gdal_errors() as messages:
        source, layers = None, []
        if path.suffix.lower() == ".kmz":
            # A KMZ zipped around one doc.kml keeps its attributes only when read as that
            # document; one written by LIBKML has an empty doc.kml and its data under layers/.
            try:
                source = DataSource(f"/vsizip/{path}/doc.kml")
                layers = list(source)
            except GDALException:
                source = None
            if source is not None and not _has_data(layers, entity.layer):
                source = None
            messages.clear()  # a KMZ without doc.kml is normal; what matters is the next try
        if source is None:
            try:
                source = DataSource(str(path))
            except GDALException as exc:
                detail = gdal_text(messages, exc)
                hint = sniff(path)
                raise NetworkImportError(
                    f"{where}: GDAL no puede leerlo ({detail})" + (f"; {hint}" if hint else "")
                ) from None
            layers = list(source)
        layer = choose_layer(entity, layers, where)
        layer.srs  # noqa: B018  (GDAL reports an unknown CRS while reading it)
    crs_errors = [m for m in messages if "crs" in m.lower() or "proj" in m.lower()]
    if crs_errors:
        raise NetworkImportError(
            f"{where}, capa {layer.name}: CRS desconocido ({gdal_text(crs_errors[:1])}); "
            "declare crs en el mapeo o corrija el archivo"
        )
    return source, layer


def _has_data(layers: list[Layer], name: str | None) -> bool:
    return any(len(layer) and (name is None or layer.name == name) for layer in layers)


def choose_layer(entity: EntityMapping, layers: list[Layer], where: str) -> Layer:
    names = [layer.name for layer in layers]
    if entity.layer is not None:
        for layer in layers:
            if layer.name == entity.layer:
                return layer
        raise NetworkImportError(
            f"{where}: no hay capa {entity.layer!r}; capas: {', '.join(names)}"
        )
    if len(layers) == 1:
        return layers[0]
    non_empty = [layer for layer in layers if len(layer)]
    if len(non_empty) == 1:  # a KMZ's empty document layer next to its data
        return non_empty[0]
    if not layers:
        raise NetworkImportError(f"{where}: no tiene capas (GDAL lo abre pero no encuentra datos)")
    raise NetworkImportError(
        f"{where}: tiene {len(layers)} capas ({', '.join(names)}); indique layer en el mapeo"
    )
