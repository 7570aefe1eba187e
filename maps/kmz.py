"""KMZ plan of a feeder (SPEC point 4): its spans, poles, equipment and transformers.

The plan is a KMZ under `settings.KMZ_DIR`, one per feeder, rewritten when the feeder's topology
changes (`maps.tasks.regenerate_later`, called by maps.handlers) and on download when missing or
older than the feeder's data (`is_stale`). It opens in Google Earth and QGIS (GDAL's LIBKML driver):

- one folder per asset class (a nested KML Document, which Google Earth shows as a folder),
  always present even when empty, so every plan has the same structure; GDAL reads each as a
  layer, with 0 features when empty;
- attributes as typed `SchemaData`, the `Schema` inside each class's Document, so QGIS gets
  numeric columns and Google Earth shows them, with their Spanish names, in the balloon;
- one style per equipment kind with its own small PNG icon inside the KMZ (drawn here, no
  internet needed); spans are coloured lines, wider with more phases.

The KML is written as text from rows read with a few SQL queries (PostGIS writes the KML
geometry); building it through simplekml's object tree took most of the 1 s budget of a
5,000-span feeder before any SQL or compression.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import connection
from django.utils import timezone

from geo.lib.utm import DATUM, presentation_zone, utm_transformer
from network import layers as registry
from network.models import Equipment, Feeder, Transformer

CONTENT_TYPE = "application/vnd.google-earth.kmz"
# Seven decimals of a degree: about 1 cm, finer than any survey of the network.
COORD_DIGITS = 7

SPANS = registry.SPANS.name
POLES = registry.POLES.name
PROTECTION_SWITCHING = "Equipos de protección y maniobra"
TRANSFORMERS = registry.TRANSFORMERS.name
COMPENSATION = Equipment.Category.COMPENSATION.label
REGULATORS = Equipment.Category.REGULATION.label
AUTOTRANSFORMERS = Equipment.Category.AUTOTRANSFORMER.label
# In this order in the plan: (title, id, schema of its attributes). SPEC lists "protection and
# switching equipment" as one class; each device's kind (and icon) tells a recloser from a switch.
FOLDERS = (
    (SPANS, "vanos", "vano"),
    (POLES, "postes", "poste"),
    (PROTECTION_SWITCHING, "proteccion-maniobra", "equipo"),
    (TRANSFORMERS, "transformadores", "transformador"),
    (COMPENSATION, "compensacion", "equipo"),
    (REGULATORS, "reguladores", "equipo"),
    (AUTOTRANSFORMERS, "autotransformadores", "equipo"),
)
SCHEMA_OF = {folder: schema for _, folder, schema in FOLDERS}
C = Equipment.Category
# category: (folder id, value of the "categoria" attribute)
FOLDER_OF_CATEGORY = {
    C.PROTECTION: ("proteccion-maniobra", "Protección"),
    C.SWITCHING: ("proteccion-maniobra", "Maniobra"),
    C.COMPENSATION: ("compensacion", "Compensación"),
    C.REGULATION: ("reguladores", "Regulación de tensión"),
    C.AUTOTRANSFORMER: ("autotransformadores", "Autotransformador"),
}

# --- Styles ---------------------------------------------------------------------------------

# style id (an Equipment.Kind value for equipment): (icon shape, RGB fill). Colours are the
# layer registry's (network.layers), as on the web maps; each kind of device has its own shape
# inside its category's colour, so a recloser is told from a fuse.
K = Equipment.Kind
KIND_SHAPES = {
    K.RECLOSER: "diamond",
    K.BREAKER: "square",
    K.FUSE: "triangle",
    K.SWITCH: "diamond",
    K.SECTIONALIZER: "triangle_down",
    K.CAPACITOR: "circle",
    K.REGULATOR: "triangle",
    K.AUTOTRANSFORMER: "square",
}
ICONS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "poste": (registry.POLES.shape, registry.hex_rgb(registry.POLES.color)),
    "transformador": (registry.TRANSFORMERS.shape, registry.hex_rgb(registry.TRANSFORMERS.color)),
    **{
        kind.value: (
            shape,
            registry.hex_rgb(registry.EQUIPMENT_STYLE[Equipment.CATEGORY_OF[kind]][0]),
        )
        for kind, shape in KIND_SHAPES.items()
    },
}
ICON_PX = 32


def kml_color(color: str) -> str:
    """#rrggbb as KML writes it: aabbggrr, opaque."""
    r, g, b = registry.hex_rgb(color)
    return f"ff{b:02x}{g:02x}{r:02x}"


# Spans in the registry's colour, wider with more phases: (KML colour, width px).
SPAN_STYLES = {phases: (kml_color(registry.SPANS.color), width) for phases, width in
               ((1, 1.5), (2, 2.0), (3, 3.0))}  # fmt: skip


def _png(width: int, height: int, rgba: bytes) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _inside(shape: str, x: float, y: float, r: float) -> bool:
    if shape == "circle":
        return x * x + y * y <= r * r
    if shape == "square":
        return max(abs(x), abs(y)) <= r * 0.85
    if shape == "diamond":
        return abs(x) + abs(y) <= r
    if shape == "triangle_down":
        y = -y
    # Apex up, base at 0.8 r below the centre (y grows downwards).
    return -r <= y <= 0.8 * r and abs(x) <= (y + r) / 1.8


@cache
def icon_png(shape: str, rgb: tuple[int, int, int]) -> bytes:
    """A small anti-aliased icon: the shape filled with `rgb`, a dark outline, transparent."""
    sub = 3  # samples per pixel side
    outline = tuple(c // 3 for c in rgb)
    half = ICON_PX / 2
    pixels = bytearray()
    for py in range(ICON_PX):
        for px in range(ICON_PX):
            fill = edge = 0
            for sy in range(sub):
                for sx in range(sub):
                    x = (px + (sx + 0.5) / sub - half) / half
                    y = (py + (sy + 0.5) / sub - half) / half
                    if _inside(shape, x, y, 0.82):
                        fill += 1
                    elif _inside(shape, x, y, 0.95):
                        edge += 1
            total = fill + edge
            if not total:
                pixels += b"\x00\x00\x00\x00"
                continue
            colour = [(f * fill + o * edge) // total for f, o in zip(rgb, outline, strict=True)]
            pixels += bytes([*colour, 255 * total // (sub * sub)])
    return _png(ICON_PX, ICON_PX, bytes(pixels))


def _styles() -> str:
    parts = []
    for phases, (colour, width) in SPAN_STYLES.items():
        parts.append(
            f'<Style id="vano-{phases}f"><LineStyle><color>{colour}</color>'
            f"<width>{width}</width></LineStyle></Style>"
        )
    for key in ICONS:
        # Poles are many: their labels show only on hover, as do icons at full size.
        label = 0 if key == "poste" else 0.7
        scale = 0.5 if key == "poste" else 0.9
        icon = f"<Icon><href>files/{key}.png</href></Icon>"
        spot = '<hotSpot x="0.5" y="0.5" xunits="fraction" yunits="fraction"/>'
        for state, icon_scale, label_scale in (
            ("normal", scale, label),
            ("resaltado", scale * 1.4, 1),
        ):
            parts.append(
                f'<Style id="{key}-{state}"><IconStyle><scale>{icon_scale:g}</scale>{icon}{spot}'
                f"</IconStyle><LabelStyle><scale>{label_scale:g}</scale></LabelStyle></Style>"
            )
        parts.append(
            f'<StyleMap id="{key}"><Pair><key>normal</key><styleUrl>#{key}-normal</styleUrl></Pair>'
            f"<Pair><key>highlight</key><styleUrl>#{key}-resaltado</styleUrl></Pair></StyleMap>"
        )
    return "".join(parts)


# --- Schemas (ExtendedData) -----------------------------------------------------------------

# name, KML type, display name (Spanish: Google Earth shows it in the balloon).
Field = tuple[str, str, str]
UTM_FIELDS: list[Field] = [
    ("utm_x", "double", "Coordenada x UTM (m)"),
    ("utm_y", "double", "Coordenada y UTM (m)"),
    ("datum", "string", "Datum"),
    ("huso", "string", "Huso UTM"),
]
SCHEMAS: dict[str, list[Field]] = {
    "vano": [
        ("id_vano", "string", "Id vano"),
        ("nodo_origen", "string", "Nodo origen"),
        ("nodo_destino", "string", "Nodo destino"),
        ("longitud_m", "double", "Longitud (m)"),
        ("material", "string", "Material del conductor"),
        ("aislacion", "string", "Aislación del conductor"),
        ("capacidad_a", "int", "Capacidad del conductor (A)"),
        ("fases", "int", "Cantidad de fases"),
        ("codigo_vnr", "string", "Código VNR"),
        ("fecha_actualizacion", "string", "Fecha de actualización"),
    ],
    "poste": [
        ("placa", "string", "Placa poste"),
        ("tension_mt_kv", "double", "Tensión media (kV)"),
        ("tension_bt_v", "int", "Tensión baja (V)"),
        ("material", "string", "Material"),
        ("altura_m", "double", "Altura (m)"),
        ("codigo_vnr", "string", "Código VNR"),
        ("fecha_actualizacion", "string", "Fecha de actualización"),
        *UTM_FIELDS,
    ],
    "equipo": [
        ("id_equipo", "string", "Id equipo"),
        ("tipo", "string", "Tipo de equipo"),
        ("categoria", "string", "Categoría"),
        ("poste", "string", "Poste"),
        ("capacidad_a", "int", "Capacidad (A)"),
        ("capacidad_kva", "int", "Capacidad (kVA)"),
        ("conexion", "string", "Conexión"),
        ("modo_operacion", "string", "Modo de operación"),
        ("consignas_tension", "string", "Consignas de tensión"),
        ("razon_transformacion", "string", "Razón de transformación"),
        ("codigo_vnr", "string", "Código VNR"),
        ("fecha_actualizacion", "string", "Fecha de actualización"),
        *UTM_FIELDS,
    ],
    "transformador": [
        ("id_transformador", "string", "Id transformador"),
        ("placa", "string", "Placa"),
        ("nombre", "string", "Nombre"),
        ("capacidad_kva", "double", "Capacidad (kVA)"),
        ("conexion", "string", "Conexión"),
        ("tension_primaria_kv", "double", "Tensión primaria (kV)"),
        ("tension_secundaria_v", "int", "Tensión secundaria (V)"),
        ("numero_poste", "string", "Número (placa del poste)"),
        ("tipo", "string", "Tipo"),
        ("fases", "string", "Identificador de fases"),
        ("smmc", "string", "Con monitoreo SMMC"),
        ("codigo_vnr", "string", "Código VNR"),
        ("fecha_actualizacion", "string", "Fecha de actualización"),
        *UTM_FIELDS,
    ],
}


@cache
def _schema(schema: str, folder_id: str) -> str:
    fields = "".join(
        f'<SimpleField type="{kind}" name="{name}">'
        f"<displayName>{escape(label)}</displayName></SimpleField>"
        for name, kind, label in SCHEMAS[schema]
    )
    return f'<Schema name="{schema}" id="campos-{folder_id}">{fields}</Schema>'


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, float):
        return f"{value:.1f}"  # UTM metres
    if isinstance(value, date | Decimal | int):
        return str(value)
    return escape(value)


def _placemark(name: str, style: str, folder: str, values: Sequence, geometry: str) -> str:
    """A placemark of `folder`, its attributes typed by the folder's schema."""
    data = "".join(
        f'<SimpleData name="{field[0]}">{text}</SimpleData>'
        for field, value in zip(SCHEMAS[SCHEMA_OF[folder]], values, strict=True)
        if (text := _text(value)) is not None
    )
    return (
        f"<Placemark><name>{escape(name)}</name><styleUrl>#{style}</styleUrl>"
        f'<ExtendedData><SchemaData schemaUrl="#campos-{folder}">{data}</SchemaData>'
        f"</ExtendedData>{geometry}</Placemark>"
    )


def chilean_number(value: Decimal | float, decimals: int) -> str:
    """1234.5 → "1.234,50": how the portal's pages print figures."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


# --- Reading the feeder ---------------------------------------------------------------------

FEEDER_SQL = """
    SELECT f.code, f.name, f.as_of, s.code, s.name, r.utm_zone, d.name,
           GREATEST(f.as_of,
                    (SELECT MAX(as_of) FROM network_span WHERE feeder_id = f.id),
                    (SELECT MAX(as_of) FROM network_pole WHERE feeder_id = f.id),
                    (SELECT MAX(as_of) FROM network_equipment WHERE feeder_id = f.id),
                    (SELECT MAX(as_of) FROM network_transformer WHERE feeder_id = f.id))
      FROM network_feeder f
      JOIN network_substation s ON s.id = f.substation_id
      JOIN geo_comuna c ON c.id = s.comuna_id
      JOIN geo_region r ON r.id = c.region_id
      JOIN network_distributor d ON d.id = f.distributor_id
     WHERE f.id = %(feeder)s
"""
SPANS_SQL = f"""
    SELECT s.code, o.plate, t.plate, s.length_m, s.conductor_material, s.conductor_insulation,
           s.capacity_a, s.phases, v.code, s.as_of, ST_AsKML(s.geom, {COORD_DIGITS})
      FROM network_span s
      LEFT JOIN network_pole o ON o.id = s.from_pole_id
      JOIN network_pole t ON t.id = s.to_pole_id
      JOIN vnr_vnrcode v ON v.id = s.vnr_id
     WHERE s.feeder_id = %(feeder)s
     ORDER BY s.code
"""
POLES_SQL = f"""
    SELECT p.plate, p.mt_voltage_kv, p.bt_voltage_v, p.material, p.height_m, v.code, p.as_of,
           ST_X(p.location), ST_Y(p.location), ST_AsKML(p.location, {COORD_DIGITS})
      FROM network_pole p
      JOIN vnr_vnrcode v ON v.id = p.vnr_id
     WHERE p.feeder_id = %(feeder)s
     ORDER BY p.plate
"""
EQUIPMENT_SQL = f"""
    SELECT e.code, e.kind, p.plate, e.capacity_a, e.capacity_kva, e.connection,
           e.operating_mode, e.voltage_setpoints, e.transformation_ratio, v.code, e.as_of,
           ST_X(e.location), ST_Y(e.location), ST_AsKML(e.location, {COORD_DIGITS})
      FROM network_equipment e
      LEFT JOIN network_pole p ON p.id = e.pole_id
      JOIN vnr_vnrcode v ON v.id = e.vnr_id
     WHERE e.feeder_id = %(feeder)s
     ORDER BY e.code
"""
TRANSFORMERS_SQL = f"""
    SELECT t.code, t.plate, t.name, t.capacity_kva, t.connection, t.primary_kv, t.secondary_v,
           p.plate, t.kind, t.phases, t.smmc, v.code, t.as_of,
           ST_X(t.location), ST_Y(t.location), ST_AsKML(t.location, {COORD_DIGITS})
      FROM network_transformer t
      JOIN network_pole p ON p.id = t.pole_id
      JOIN vnr_vnrcode v ON v.id = t.vnr_id
     WHERE t.feeder_id = %(feeder)s
     ORDER BY t.code
"""


def _with_utm(rows: list[tuple], region_zone: int) -> list[tuple]:
    """Replace each row's trailing lon, lat, geometry by UTM x, y, datum, zone, geometry."""
    groups: dict[tuple[int, bool], list[int]] = {}
    for i, row in enumerate(rows):
        lon, lat = row[-3], row[-2]
        groups.setdefault((presentation_zone(lon, region_zone), lat < 0), []).append(i)
    out: list[tuple] = [()] * len(rows)
    for (zone, south), indexes in groups.items():
        xs, ys = utm_transformer(zone, south).transform(
            [rows[i][-3] for i in indexes], [rows[i][-2] for i in indexes]
        )
        label = f"{zone}{'S' if south else 'N'}"
        for i, x, y in zip(indexes, xs, ys, strict=True):
            row = rows[i]
            out[i] = (*row[:-3], float(x), float(y), DATUM, label, row[-1])
    return out


def build_kmz(feeder: Feeder) -> bytes:
    """The feeder's plan as KMZ bytes (doc.kml plus its icons)."""
    with connection.cursor() as cur:
        params = {"feeder": feeder.pk}
        cur.execute(FEEDER_SQL, params)
        head = cur.fetchone()
        if head is None:
            raise Feeder.DoesNotExist(f"feeder {feeder.pk} does not exist")
        code, name, _, sub_code, sub_name, region_zone, distributor, as_of = head
        cur.execute(SPANS_SQL, params)
        spans = cur.fetchall()
        cur.execute(POLES_SQL, params)
        poles = _with_utm(cur.fetchall(), region_zone)
        cur.execute(EQUIPMENT_SQL, params)
        equipment = _with_utm(cur.fetchall(), region_zone)
        cur.execute(TRANSFORMERS_SQL, params)
        transformers = _with_utm(cur.fetchall(), region_zone)

    folders: dict[str, list[str]] = {folder: [] for _, folder, _ in FOLDERS}
    placemarks = folders["vanos"]
    bay = f"S/E {sub_name}"
    for row in spans:
        *values, geometry = row
        values[1] = values[1] or bay  # a span without origin pole leaves the substation
        style = f"vano-{min(3, max(1, values[7]))}f"
        label = f"{values[0]} · {chilean_number(values[3], 2)} m"
        placemarks.append(_placemark(label, style, "vanos", values, geometry))
    placemarks = folders["postes"]
    for *values, geometry in poles:
        placemarks.append(_placemark(values[0], "poste", "postes", values, geometry))
    kinds = dict(Equipment.Kind.choices)
    for *values, geometry in equipment:
        kind = values[1]
        folder, category = FOLDER_OF_CATEGORY[Equipment.CATEGORY_OF[Equipment.Kind(kind)]]
        values[1:2] = [kinds[kind], category]
        label = f"{values[0]} · {kinds[kind]}"
        folders[folder].append(_placemark(label, kind, folder, values, geometry))
    transformer_kinds = dict(Transformer.Kind.choices)
    placemarks = folders["transformadores"]
    for *values, geometry in transformers:
        values[8] = transformer_kinds.get(values[8], values[8])
        kva = values[3]
        label = f"{values[0]} · {chilean_number(kva, 0 if kva == int(kva) else 1)} kVA"
        placemarks.append(_placemark(label, "transformador", "transformadores", values, geometry))

    generated = timezone.localtime()
    title = f"Alimentador {code} {name}"
    description = (
        f"<b>{escape(title)}</b><br/>Subestación {escape(sub_code)} {escape(sub_name)}<br/>"
        f"Empresa distribuidora: {escape(distributor)}<br/>"
        f"Datos al {as_of:%d/%m/%Y}<br/>Plano generado el {generated:%d/%m/%Y %H:%M}<br/>"
        f"{len(spans)} vanos ({chilean_number(sum(r[3] for r in spans) / 1000, 2)} km), "
        f"{len(poles)} postes, {len(equipment)} equipos, {len(transformers)} transformadores"
    )
    meta = {
        "id_alimentador": code,
        "nombre": name,
        "subestacion": f"{sub_code} {sub_name}",
        "datos_al": as_of.isoformat(),
        "generado": generated.isoformat(timespec="seconds"),
    }
    snippet = f"Subestación {sub_name} · datos al {as_of:%d/%m/%Y}"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><name>{escape(title)}</name><open>1</open>"
        f'<Snippet maxLines="1">{escape(snippet)}</Snippet>'
        f"<description><![CDATA[{description}]]></description>",
        _styles(),
        "<ExtendedData>",
        *(f'<Data name="{k}"><value>{escape(v)}</value></Data>' for k, v in meta.items()),
        "</ExtendedData>",
    ]
    # Each class is a Document of its own (shown as a folder): its Schema sits inside it, where
    # GDAL finds it when it opens the .kmz itself (it resolves "#id" schema references only in
    # a plain .kml); Google Earth and QGIS then see typed attributes either way.
    for folder_title, folder, schema in FOLDERS:
        items = folders[folder]
        parts.append(
            f'<Document id="{folder}"><name>{escape(folder_title)}</name>'
            f"<description>{len(items)} {'elemento' if len(items) == 1 else 'elementos'}"
            f"</description>{_schema(schema, folder)}"
        )
        parts.extend(items)
        parts.append("</Document>")
    parts.append("</Document></kml>\n")

    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as kmz:
        # Google Earth reads the first .kml entry of the archive as the document.
        kmz.writestr("doc.kml", "".join(parts).encode())
        for key, (shape, rgb) in ICONS.items():
            kmz.writestr(f"files/{key}.png", icon_png(shape, rgb), zipfile.ZIP_STORED)
    return buffer.getvalue()


# --- Files ----------------------------------------------------------------------------------


def kmz_path(feeder: Feeder) -> Path:
    return Path(settings.KMZ_DIR) / f"{feeder.code}.kmz"


def write_kmz(feeder: Feeder) -> Path:
    """Build the feeder's plan and put it in place atomically; return its path."""
    data = build_kmz(feeder)
    path = kmz_path(feeder)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        # Readers see the old plan or the new one, never half a file.
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def latest_as_of(feeder: Feeder) -> date | None:
    """The newest "as of" date of the feeder and its assets."""
    with connection.cursor() as cur:
        cur.execute(FEEDER_SQL, {"feeder": feeder.pk})
        row = cur.fetchone()
    return row[-1] if row else None


def is_stale(feeder: Feeder) -> bool:
    """Whether the plan must be (re)built: missing, or older than the feeder's data.

    Edits reach the plan through `maps.tasks.regenerate_later`; the date check is a net for changes
    made around it (bulk loads, SQL), as far as they move an "as of" date past the file's day.
    """
    path = kmz_path(feeder)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return True
    built_on = timezone.localdate(datetime.fromtimestamp(mtime, tz=timezone.get_current_timezone()))
    newest = latest_as_of(feeder)
    # Data dated in the future must not make the plan stale on every download.
    return newest is not None and min(newest, timezone.localdate()) > built_on
