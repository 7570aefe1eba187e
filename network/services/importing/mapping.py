"""The column-mapping file of `import_network` (TOML): which layer feeds which model, how.

The format is documented in docs/import_network.md. Everything here is checked before a file
is opened, so a mistake in the mapping is a fatal error naming the mapping and the key.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import operator
import string
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import models
from pyproj import Transformer

from network.models import (
    Equipment,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
)
from network.models import Transformer as DistributionTransformer

from .report import NetworkImportError

ORDER = (
    "substations",
    "power_transformers",
    "feeders",
    "poles",
    "spans",
    "equipment",
    "transformers",
)


@dataclass(frozen=True)
class Target:
    """How one mapping section lands in the model."""

    model: type[models.Model]
    key: str  # unique per distributor (per substation for power transformers)
    geometry: str | None = None  # model field that receives the feature's geometry
    geom_type: str | None = None  # "Point" or "LineString"
    refs: dict[str, str] = field(default_factory=dict)  # field -> entity it points at
    extra: frozenset[str] = frozenset()  # import-only names, never stored


TARGETS: dict[str, Target] = {
    "substations": Target(
        Substation,
        "code",
        "location",
        "Point",
        extra=frozenset({"busbar", "short_circuit_kva"}),
    ),
    "power_transformers": Target(PowerTransformer, "code", refs={"substation": "substations"}),
    "feeders": Target(Feeder, "code", refs={"substation": "substations"}),
    "poles": Target(Pole, "plate", "location", "Point", refs={"feeder": "feeders"}),
    "spans": Target(
        Span,
        "code",
        "geom",
        "LineString",
        refs={"feeder": "feeders", "from_pole": "poles", "to_pole": "poles"},
    ),
    "equipment": Target(
        Equipment,
        "code",
        "location",
        "Point",
        refs={"feeder": "feeders", "pole": "poles", "span": "spans"},
        extra=frozenset({"span"}),
    ),
    "transformers": Target(
        DistributionTransformer,
        "code",
        "location",
        "Point",
        refs={"feeder": "feeders", "pole": "poles"},
    ),
}

# Set by the importer, never mapped.
_IMPLICIT = {"id", "as_of", "distributor", "outline"}
# Not supported yet: sub-feeders need their purchase pole before their own poles exist.
_UNSUPPORTED = {"owner", "purchase_node"}
_SPEC_KEYS = {"column", "expr", "template", "constant", "map", "default", "ref", "fallback"}
_MISSING = object()


def _fatal(mapping: Path, message: str) -> NetworkImportError:
    return NetworkImportError(f"{mapping.name}: {message}")


# --- Values ---------------------------------------------------------------------------------


def normalize(value: Any) -> Any:
    """Source values as the mapping sees them: blank text is null, 238.0 is 238."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
    return value


def key_text(value: Any) -> str | None:
    """A value as a lookup key (ids, value maps): "238", "LBS"; booleans as "1"/"0".

    GDAL hands booleans over as 1/0 (GeoJSON, GeoPackage, KML alike), so the mapping's `true`
    and `false` are stored as "1" and "0" too.
    """
    value = normalize(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return "1" if lowered == "true" else "0"
    return text


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class RowError(Exception):
    """A value of one row cannot be taken; the row is skipped with this reason."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        raise RowError(f"la columna {name} no es numérica ({value!r})") from None


@dataclass(frozen=True)
class Expression:
    """Arithmetic over columns (`length_km * 1000`); nothing else is allowed."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Expression:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"expresión inválida {text!r}: {exc.msg}") from None
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Constant):
                if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                    raise ValueError(f"expresión {text!r}: sólo números y columnas")
            elif isinstance(node, ast.BinOp):
                if type(node.op) not in _BINARY:
                    raise ValueError(f"expresión {text!r}: operador no permitido")
            elif isinstance(node, ast.UnaryOp):
                if type(node.op) not in _UNARY:
                    raise ValueError(f"expresión {text!r}: operador no permitido")
            elif not isinstance(node, ast.Expression | ast.operator | ast.unaryop | ast.Load):
                raise ValueError(f"expresión {text!r}: sólo + - * / ** y paréntesis")
        return cls(text, tree, tuple(dict.fromkeys(names)))

    def evaluate(self, row: dict[str, Any]) -> float | None:
        def walk(node: ast.AST) -> float | None:
            if isinstance(node, ast.Expression):
                return walk(node.body)
            if isinstance(node, ast.Constant):
                return float(node.value)
            if isinstance(node, ast.Name):
                value = row.get(node.id)
                return None if value is None else _number(node.id, value)
            if isinstance(node, ast.UnaryOp):
                operand = walk(node.operand)
                return None if operand is None else _UNARY[type(node.op)](operand)
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            try:
                return _BINARY[type(node.op)](left, right)
            except ZeroDivisionError:
                raise RowError(f"división por cero en {self.text}") from None

        return walk(self.tree)


def template_names(template: str) -> tuple[str, ...]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"plantilla inválida {template!r}: {exc}") from None
    names = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"plantilla {template!r}: use {{columna}}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def fill(template: str, row: dict[str, Any]) -> str:
    missing = [n for n in template_names(template) if row.get(n) is None]
    if missing:
        raise RowError(f"la columna {missing[0]} está vacía")
    try:
        return template.format(**row)
    except (ValueError, TypeError) as exc:
        raise RowError(f"no se puede aplicar la plantilla {template!r} ({exc})") from None


@dataclass(frozen=True)
class FieldSpec:
    """Where one target field's value comes from."""

    target: str
    column: str | None = None
    expr: Expression | None = None
    template: str | None = None
    constant: Any = _MISSING
    value_map: dict[str, Any] | None = None
    default: Any = _MISSING
    ref: str | None = None
    fallback: str | None = None  # VNR only: code used when the row's code is not catalogued

    @property
    def columns(self) -> tuple[str, ...]:
        if self.column:
            return (self.column,)
        if self.expr:
            return self.expr.names
        if self.template:
            return template_names(self.template)
        return ()

    @property
    def is_constant(self) -> bool:
        return self.constant is not _MISSING

    def describe(self) -> str:
        if self.column:
            return f"columna {self.column}"
        if self.expr:
            return f"expresión {self.expr.text}"
        if self.template:
            return f"plantilla {self.template}"
        return "constante"

    def value(self, row: dict[str, Any]) -> Any:
        """The raw target value for one row (None when empty), or RowError."""
        if self.is_constant:
            return self.constant
        if self.column:
            value = normalize(row.get(self.column))
        elif self.expr:
            value = self.expr.evaluate(row)
        else:
            value = fill(self.template, row)
        if self.value_map is not None and value is not None:
            key = key_text(value)
            if key in self.value_map:
                return self.value_map[key]
            if self.default is not _MISSING:
                return self.default
            known = ", ".join(sorted(self.value_map))
            raise RowError(
                f"el valor {value!r} de la {self.describe()} no está en el mapeo de "
                f"{self.target} (conocidos: {known})"
            )
        if value is None and self.default is not _MISSING:
            return self.default
        return value


# --- Translation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    """Move a network to another place without changing its lengths.

    Coordinates go to an azimuthal equidistant projection centred on `source`, are rotated
    there, and come back from the same projection centred on `target`: distances in metres are
    kept (the projection is true along lines through its centre and distorts less than 1e-6
    within 20 km of it), where a plain lon/lat shift would stretch east-west lengths by
    cos(source lat) / cos(target lat).
    """

    source: tuple[float, float]
    target: tuple[float, float]
    rotate_deg: float = 0.0

    def function(self) -> Callable[[Iterable[float], Iterable[float]], tuple[list, list]]:
        to_plane = Transformer.from_crs(
            "EPSG:4326", self._aeqd(self.source), always_xy=True
        ).transform
        from_plane = Transformer.from_crs(
            self._aeqd(self.target), "EPSG:4326", always_xy=True
        ).transform
        angle = math.radians(self.rotate_deg)
        cos, sin = math.cos(angle), math.sin(angle)

        def move(xs, ys):
            px, py = to_plane(list(xs), list(ys))
            rx = [x * cos - y * sin for x, y in zip(px, py, strict=True)]
            ry = [x * sin + y * cos for x, y in zip(px, py, strict=True)]
            lon, lat = from_plane(rx, ry)
            return list(lon), list(lat)

        return move

    @staticmethod
    def _aeqd(centre: tuple[float, float]) -> str:
        return f"+proj=aeqd +lon_0={centre[0]!r} +lat_0={centre[1]!r} +ellps=WGS84 +units=m"


# --- Mapping --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityMapping:
    name: str
    path: Path  # file to read
    layer: str | None
    crs: str | None  # assumed CRS when the file has none (Shapefile without .prj)
    id_column: str
    where: dict[str, tuple[str, ...]]  # column -> accepted key_text values
    fields: dict[str, FieldSpec]

    @property
    def target(self) -> Target:
        return TARGETS[self.name]

    @property
    def columns(self) -> dict[str, str]:
        """Every column the section uses -> where it is used (for error messages)."""
        used = {self.id_column: "id"}
        for column in self.where:
            used.setdefault(column, "where")
        for spec in self.fields.values():
            for column in spec.columns:
                used.setdefault(column, f"fields.{spec.target}")
        return used


@dataclass(frozen=True)
class DerivedFeeders:
    """Feeders found by walking the spans from each substation's busbar."""

    code: str = "{substation}-{head}"
    name: str = "{substation_name} A{n}"
    open_mode: str = "Normalmente abierto"
    short_circuit_kva: int | None = None


@dataclass(frozen=True)
class Tolerances:
    length: float = 0.01  # |stored − geometric| / stored
    node_m: float = 1.0  # span ends vs their nodes
    off_feeder_m: float = 50.0  # equipment / transformers vs their feeder's spans
    comuna_m: float = 2000.0  # a substation just outside every comuna takes the nearest


@dataclass(frozen=True)
class DistributorSpec:
    code: str
    name: str
    rut: str = ""


@dataclass(frozen=True)
class Mapping:
    path: Path
    name: str
    distributor: DistributorSpec
    entities: dict[str, EntityMapping]
    derived_feeders: DerivedFeeders | None
    translation: Translation | None
    tolerances: Tolerances
    as_of: date | None = None

    @property
    def vnr_literals(self) -> set[str]:
        """VNR codes written in the mapping as constants or fallbacks: they must exist."""
        codes = set()
        for entity in self.entities.values():
            spec = entity.fields.get("vnr")
            if spec is None:
                continue
            if spec.is_constant:
                codes.add(str(spec.constant))
            if spec.fallback:
                codes.add(spec.fallback)
        return codes


def load_mapping(
    path: Path, source: Path | None = None, files: dict[str, Path] | None = None
) -> Mapping:
    """Read and check a mapping file; relative file names resolve against `source`.

    Without `source` they resolve against the mapping's `source_dir` (itself relative to the
    mapping file) or, failing that, the mapping file's own directory. `files` replaces the file
    of single sections (entity -> path), as `--file` does on the command line.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkImportError(f"{path}: el archivo de mapeo no existe")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fatal(path, f"TOML inválido ({exc})") from exc
    files = dict(files or {})

    known = {"network", "distributor", "translate", "tolerances", *ORDER}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fatal(path, f"secciones desconocidas: {', '.join(unknown)}")
    network = _table(path, raw, "network")
    base = _source_dir(path, network, source)
    distributor = _distributor(path, raw)

    derived = None
    feeders_raw = raw.get("feeders")
    if isinstance(feeders_raw, dict) and feeders_raw.get("derive") is not None:
        derived = _derived_feeders(path, feeders_raw)
    entities: dict[str, EntityMapping] = {}
    for name in ORDER:
        if name not in raw or (name == "feeders" and derived is not None):
            continue
        entities[name] = _entity(path, name, _table(path, raw, name), base, files.pop(name, None))
    if files:
        raise _fatal(path, f"--file para secciones que no están: {', '.join(sorted(files))}")
    for required in ("substations", "poles", "spans"):
        if required not in entities:
            raise _fatal(path, f"falta la sección [{required}]")
    if derived is None and "feeders" not in entities:
        raise _fatal(path, 'falta [feeders]: con derive = "topology" o con un archivo')
    _check_references(path, entities, derived)

    as_of = network.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        raise _fatal(path, "[network] as_of debe ser una fecha (2024-05-31)")
    return Mapping(
        path=path,
        name=str(network.get("name") or path.stem),
        distributor=distributor,
        entities=entities,
        derived_feeders=derived,
        translation=_translation(path, raw.get("translate")),
        tolerances=_tolerances(path, raw.get("tolerances")),
        as_of=as_of,
    )


def _table(path: Path, raw: dict, name: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise _fatal(path, f"[{name}] debe ser una tabla")
    return value


def _source_dir(path: Path, network: dict, source: Path | None) -> Path:
    if source is not None:
        base = Path(source)
    elif network.get("source_dir"):
        base = path.parent / str(network["source_dir"])
    else:
        base = path.parent
    return base


def _distributor(path: Path, raw: dict) -> DistributorSpec:
    table = _table(path, raw, "distributor")
    code, name = table.get("code"), table.get("name")
    if not code or not name:
        raise _fatal(path, "[distributor] necesita code y name")
    if len(str(code)) > 20:
        raise _fatal(path, "[distributor] code tiene más de 20 caracteres")
    return DistributorSpec(str(code), str(name), str(table.get("rut", "")))


def _translation(path: Path, raw: Any) -> Translation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fatal(path, "[translate] debe ser una tabla")

    def pair(key: str) -> tuple[float, float]:
        value = raw.get(key)
        ok = isinstance(value, list) and len(value) == 2
        if not ok or not all(isinstance(v, int | float) for v in value):
            raise _fatal(path, f"[translate] {key} debe ser [lon, lat]")
        lon, lat = float(value[0]), float(value[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise _fatal(path, f"[translate] {key} fuera de rango: [{lon}, {lat}]")
        return lon, lat

    extra = set(raw) - {"from", "to", "rotate_deg"}
    if extra:
        raise _fatal(path, f"[translate] claves desconocidas: {', '.join(sorted(extra))}")
    rotate = raw.get("rotate_deg", 0.0)
    if not isinstance(rotate, int | float):
        raise _fatal(path, "[translate] rotate_deg debe ser un número")
    return Translation(pair("from"), pair("to"), float(rotate))


def _tolerances(path: Path, raw: Any) -> Tolerances:
    if raw is None:
        return Tolerances()
    if not isinstance(raw, dict):
        raise _fatal(path, "[tolerances] debe ser una tabla")
    names = {f.name for f in dataclasses.fields(Tolerances)}
    extra = set(raw) - names
    if extra:
        raise _fatal(path, f"[tolerances] claves desconocidas: {', '.join(sorted(extra))}")
    values = {}
    for key, value in raw.items():
        if not isinstance(value, int | float) or value < 0:
            raise _fatal(path, f"[tolerances] {key} debe ser un número positivo")
        values[key] = float(value)
    return Tolerances(**values)


def _derived_feeders(path: Path, raw: dict) -> DerivedFeeders:
    if raw.get("derive") != "topology":
        raise _fatal(path, '[feeders] derive sólo admite "topology"')
    extra = set(raw) - {"derive", "code", "name", "open_mode", "short_circuit_kva"}
    if extra:
        raise _fatal(
            path,
            f"[feeders] con derive no admite {', '.join(sorted(extra))} (no se lee un archivo)",
        )
    defaults = DerivedFeeders()
    for key in ("code", "name"):
        try:
            names = template_names(str(raw.get(key, getattr(defaults, key))))
        except ValueError as exc:
            raise _fatal(path, f"[feeders] {key}: {exc}") from None
        unknown = set(names) - {"substation", "substation_name", "head", "n"}
        if unknown:
            raise _fatal(
                path,
                f"[feeders] {key}: {{{sorted(unknown)[0]}}} no existe; use {{substation}}, "
                "{substation_name}, {head} o {n}",
            )
    scc = raw.get("short_circuit_kva")
    if scc is not None and (not isinstance(scc, int | float) or scc <= 0):
        raise _fatal(path, "[feeders] short_circuit_kva debe ser un número positivo")
    return DerivedFeeders(
        code=str(raw.get("code", defaults.code)),
        name=str(raw.get("name", defaults.name)),
        open_mode=str(raw.get("open_mode", defaults.open_mode)),
        short_circuit_kva=None if scc is None else int(scc),
    )


def _entity(path: Path, name: str, raw: dict, base: Path, override: Path | None) -> EntityMapping:
    section = f"[{name}]"
    extra = set(raw) - {"file", "layer", "crs", "id", "where", "fields"}
    if extra:
        raise _fatal(path, f"{section}: claves desconocidas: {', '.join(sorted(extra))}")
    if override is None and not raw.get("file"):
        raise _fatal(path, f"{section}: falta file")
    if not raw.get("id") or not isinstance(raw.get("id"), str):
        raise _fatal(path, f"{section}: falta id (la columna que identifica cada fila)")
    where_raw = raw.get("where", {})
    if not isinstance(where_raw, dict):
        raise _fatal(path, f"{section}: where debe ser una tabla columna = valor(es)")
    where = {
        str(column): tuple(key_text(v) for v in (value if isinstance(value, list) else [value]))
        for column, value in where_raw.items()
    }
    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, dict):
        raise _fatal(path, f"{section}: fields debe ser una tabla")
    target = TARGETS[name]
    fields = {}
    for field_name, spec in fields_raw.items():
        fields[field_name] = _field_spec(path, name, target, field_name, spec)
    _check_required(path, name, target, fields)
    file_path = override if override is not None else base / str(raw["file"])
    return EntityMapping(
        name=name,
        path=Path(file_path),
        layer=raw.get("layer"),
        crs=raw.get("crs"),
        id_column=raw["id"],
        where=where,
        fields=fields,
    )


def _model_field(target: Target, name: str) -> models.Field | None:
    try:
        return target.model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist, but also reverse relations
        return None


def _field_spec(path: Path, entity: str, target: Target, name: str, raw: Any) -> FieldSpec:
    where = f"[{entity}.fields] {name}"
    model_field = _model_field(target, name)
    if name in _UNSUPPORTED:
        raise _fatal(path, f"{where}: no soportado por el importador (subalimentadores)")
    concrete = model_field is not None and model_field.concrete and not model_field.auto_created
    if name in _IMPLICIT or name == target.geometry or (not concrete and name not in target.extra):
        raise _fatal(path, f"{where}: {target.model.__name__} no tiene un campo importable así")
    if isinstance(raw, str):
        raw = {"column": raw}
    elif not isinstance(raw, dict):
        raw = {"constant": raw}
    extra = set(raw) - _SPEC_KEYS
    if extra:
        raise _fatal(path, f"{where}: claves desconocidas: {', '.join(sorted(extra))}")
    sources = [k for k in ("column", "expr", "template", "constant") if k in raw]
    if len(sources) != 1:
        raise _fatal(path, f"{where}: indique una (y sólo una) de column, expr, template, constant")
    try:
        expr = Expression.parse(str(raw["expr"])) if "expr" in raw else None
        template = str(raw["template"]) if "template" in raw else None
        if template is not None:
            template_names(template)
    except ValueError as exc:
        raise _fatal(path, f"{where}: {exc}") from None
    value_map = raw.get("map")
    if value_map is not None:
        if not isinstance(value_map, dict) or not value_map:
            raise _fatal(path, f"{where}: map debe ser una tabla valor = resultado")
        value_map = {key_text(k): v for k, v in value_map.items()}
    ref = raw.get("ref")
    if ref is not None and target.refs.get(name) != ref:
        expected = target.refs.get(name)
        hint = f"debe ser {expected!r}" if expected else "este campo no referencia otra sección"
        raise _fatal(path, f"{where}: ref {ref!r} inválido, {hint}")
    if name in target.refs and ref is None:
        raise _fatal(path, f'{where}: falta ref = "{target.refs[name]}"')
    fallback = raw.get("fallback")
    if fallback is not None and name != "vnr":
        raise _fatal(path, f"{where}: fallback sólo vale para vnr")
    return FieldSpec(
        target=name,
        column=raw.get("column"),
        expr=expr,
        template=template,
        constant=raw.get("constant", _MISSING),
        value_map=value_map,
        default=raw.get("default", _MISSING),
        ref=ref,
        fallback=None if fallback is None else str(fallback),
    )


def _check_required(path: Path, entity: str, target: Target, fields: dict) -> None:
    optional = {"feeder", "comuna"}  # derived from the topology / located from the geometry
    for model_field in target.model._meta.concrete_fields:
        name = model_field.name
        if name in fields or name in _IMPLICIT or name in _UNSUPPORTED or name in optional:
            continue
        if name == target.geometry:
            continue
        if model_field.null or model_field.has_default() or getattr(model_field, "blank", False):
            continue
        raise _fatal(path, f"[{entity}.fields] falta {name} ({model_field.verbose_name})")


def _check_references(
    path: Path, entities: dict[str, EntityMapping], derived: DerivedFeeders | None
) -> None:
    for entity in entities.values():
        for spec in entity.fields.values():
            if spec.ref == "feeders" and derived is not None:
                raise _fatal(
                    path,
                    f"[{entity.name}.fields] feeder: los alimentadores se derivan de la "
                    "topología; quite este campo o quite derive de [feeders]",
                )
            if spec.ref and spec.ref not in entities and spec.ref != "feeders":
                raise _fatal(path, f"[{entity.name}.fields] {spec.target}: falta [{spec.ref}]")
        hangs = entity.name in ("poles", "spans", "equipment", "transformers")
        if derived is None and hangs and "feeder" not in entity.fields:
            raise _fatal(path, f'[{entity.name}.fields] falta feeder (ref = "feeders")')
    if "busbar" not in entities["substations"].fields and derived is not None:
        raise _fatal(
            path,
            "[substations.fields] falta busbar: la columna con el nodo de la barra MT, de "
            "donde salen los alimentadores",
        )
