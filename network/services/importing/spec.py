"""A mapping once read and checked: its sections, their fields, tolerances, distributor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .targets import TARGETS, Target
from .translation import Translation
from .values import Expression, RowError, fill, key_text, normalize, template_names

# A key the mapping leaves out, told apart from any value TOML can hold.
MISSING = object()


@dataclass(frozen=True)
class FieldSpec:
    """Where one target field's value comes from."""

    target: str
    column: str | None = None
    expr: Expression | None = None
    template: str | None = None
    constant: Any = MISSING
    value_map: dict[str, Any] | None = None
    default: Any = MISSING
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
        return self.constant is not MISSING

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
            if self.default is not MISSING:
                return self.default
            known = ", ".join(sorted(self.value_map))
            raise RowError(
                f"el valor {value!r} de la {self.describe()} no está en el mapeo de "
                f"{self.target} (conocidos: {known})"
            )
        if value is None and self.default is not MISSING:
            return self.default
        return value


@dataclass(frozen=True)
class EntityMapping:
    name: str
    path: Path  # file to read
    layer: str | None
    crs: str | None  # assumed CRS when the file has none (Shapefile without .prj)
    id_column: str
    where: dict[str, tuple[Any, ...]]  # column -> accepted values (values.where_matches)
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
    length: float = 0.01  # |stored − geometric| / stored …
    length_abs_m: float = 0.1  # … and |stored − geometric| in metres: both beyond to warn
    node_m: float = 1.0  # span ends vs their nodes
    off_feeder_m: float = 50.0  # equipment / transformers vs their feeder's spans
    comuna_m: float = 2000.0  # a substation just outside every comuna takes the nearest
    territory_m: float = 2000.0  # features this close to the distributor's territory are in it


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
