"""From rows read to rows to store: references, feeders, VNR codes, comunas, uniqueness.

Every row that cannot be stored is dropped here with a Problem, and whatever depends on it
(the spans of a dropped pole, the transformers of a dropped feeder) is dropped with a reason
that names the cause. Nothing is written; the database is only read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from geo.models import Comuna
from network.models import ConductorType, Distributor, Feeder, Substation
from network.models import Transformer as DistributionTransformer
from vnr.models import VnrCode

from .geometry import geodesic_length, locate_comuna, reversed_line
from .mapping import ORDER, Mapping, fill, key_text
from .reader import LayerRows, SourceRow
from .report import ERROR, INFO, WARNING, ImportResult, NetworkImportError, Problem
from .rules import feeder_rule, model_rule
from .topology import derive_feeders, natural

KEY_LABEL = {"plate": "la placa", "code": "el código", "name": "el nombre"}


class Ref(NamedTuple):
    """A foreign key still in source ids: resolved to a primary key when written."""

    entity: str
    ident: str


@dataclass
class Planned:
    """A row to store: model field names -> values (Ref for foreign keys to imported rows)."""

    ident: str
    values: dict[str, Any]
    row: SourceRow | None = None  # None for derived feeders


@dataclass
class Plan:
    rows: dict[str, dict[str, Planned]] = field(default_factory=dict)  # entity -> ident -> row

    def of(self, entity: str) -> dict[str, Planned]:
        return self.rows.setdefault(entity, {})


class Planner:
    def __init__(
        self,
        mapping: Mapping,
        layers: dict[str, LayerRows],
        distributor: Distributor,
        result: ImportResult,
    ):
        self.mapping = mapping
        self.layers = layers
        self.distributor = distributor
        self.result = result
        self.plan = Plan()
        # Why a row is gone, by entity and source id: dependants quote it.
        self.gone: dict[str, dict[str, str]] = defaultdict(dict)
        for entity, layer in layers.items():
            self.gone[entity].update(layer.dropped)
        self.busbar_of: dict[str, str] = {}  # busbar node id -> substation id
        self.dropped: dict[str, dict[str, SourceRow]] = defaultdict(dict)  # rows dropped here

    # -- helpers ---------------------------------------------------------------------------

    def rows(self, entity: str) -> dict[str, SourceRow]:
        layer = self.layers.get(entity)
        return layer.rows if layer else {}

    def drop(self, row: SourceRow, check: str, reason: str, field: str = "") -> None:
        self.result.add(row.problem(check, reason, field=field))
        self.gone[row.entity][row.ident] = reason
        self.dropped[row.entity][row.ident] = row
        self.rows(row.entity).pop(row.ident, None)

    def spans_lost_at(self, pole: str) -> str:
        """The dropped spans that ended at a pole, with why: an orphaned pole names them."""
        lost = []
        for ident, row in self.dropped["spans"].items():
            if pole in (row.values.get("from_pole"), row.values.get("to_pole")):
                lost.append((row.values.get("code") or ident, self.gone["spans"][ident]))
        layer = self.layers.get("spans")
        spans = self.mapping.entities.get("spans")
        for ident, raw in layer.dropped_raw.items() if layer and spans else ():
            if ident in self.dropped["spans"]:
                continue
            ends = set()
            for name in ("from_pole", "to_pole"):
                try:
                    ends.add(key_text(spans.fields[name].value(raw)))
                except Exception:  # noqa: BLE001  (an end that cannot be read names nothing)
                    continue
            if pole in ends:
                lost.append((ident, layer.dropped.get(ident, "")))
        if not lost:
            return ""
        lost.sort()
        code, why = lost[0]
        if len(lost) == 1:
            return f": su vano {code} fue omitido ({why})"
        codes = ", ".join(c for c, _ in lost)
        return f": sus vanos {codes} fueron omitidos ({code}: {why})"

    def warn(self, row: SourceRow, check: str, reason: str, outcome: str = "importada") -> None:
        self.result.add(row.problem(check, reason, outcome, WARNING))

    def why_missing(self, entity: str, ident: str) -> str:
        label = {"poles": "nodo", "spans": "vano", "feeders": "alimentador"}.get(entity, entity)
        if ident in self.gone[entity]:
            return f"su {label} {ident} fue omitido ({self.gone[entity][ident]})"
        layer = self.layers.get(entity)
        if layer and ident in layer.filtered:
            return f"el {label} {ident} está fuera del filtro where de [{entity}]"
        source = self.mapping.entities[entity].path.name if entity in self.mapping.entities else ""
        return f"el {label} {ident} no existe en {source}".rstrip()

    # -- steps -----------------------------------------------------------------------------

    def build(self) -> Plan:
        self._vnr()
        self._conductor_types()
        for entity in self.layers:
            self._rules(entity)
            self._unique_keys(entity)
        self._substations()
        self._taken("substations", Substation, "name", {})
        self._poles()
        self._spans()
        self._equipment()
        self._transformers()
        own = {"distributor_id": self.distributor.pk}
        self._taken("transformers", DistributionTransformer, "plate", own)
        if self.mapping.derived_feeders is not None:
            self._derived_feeders()
        else:
            self._layer_feeders()
        self._taken("feeders", Feeder, "name", {})
        self._drop_orphans_of_feeders()
        self._power_transformers()
        self._collect()
        if self.mapping.derived_feeders is not None:
            self._feeder_power()
        return self.plan

    def _vnr(self) -> None:
        literals = self.mapping.vnr_literals
        rows = [row for layer in self.layers.values() for row in layer.rows.values()]
        codes = {row.values["vnr"] for row in rows if row.values.get("vnr")}
        known = dict(VnrCode.objects.filter(code__in=codes | literals).values_list("code", "id"))
        missing = sorted(literals - set(known))
        if missing:
            raise NetworkImportError(
                f"{self.mapping.path.name}: el catálogo VNR no tiene {', '.join(missing)} "
                "(constante o fallback del mapeo); cárguelo antes de importar"
            )
        for entity, layer in self.layers.items():
            spec = self.mapping.entities[entity].fields.get("vnr")
            if spec is None:
                continue
            for row in list(layer.rows.values()):
                code = row.values["vnr"]
                if code in known:
                    row.values["vnr"] = known[code]
                elif spec.fallback:
                    self.warn(
                        row,
                        "vnr",
                        f"código VNR desconocido {code}",
                        f"importada con el código {spec.fallback}",
                    )
                    row.values["vnr"] = known[spec.fallback]
                else:
                    self.drop(row, "vnr", f"código VNR desconocido {code}")

    def _conductor_types(self) -> None:
        """Spans' conductor types are catalogue codes: an unknown one is imported without a
        type (its feeder then has no short circuit nor capacity, and says why)."""
        layer = self.layers.get("spans")
        if layer is None or "conductor_type" not in self.mapping.entities["spans"].fields:
            return
        codes = {r.values["conductor_type"] for r in layer.rows.values()} - {None, ""}
        known = dict(ConductorType.objects.filter(code__in=codes).values_list("code", "id"))
        for row in layer.rows.values():
            code = row.values.get("conductor_type")
            if code in known:
                row.values["conductor_type"] = known[code]
            else:
                if code:
                    self.warn(
                        row,
                        "conductor",
                        f"tipo de conductor {code} no está en el catálogo de conductores",
                        "importada sin tipo de conductor (su alimentador queda sin cálculo de "
                        "capacidad)",
                    )
                row.values["conductor_type"] = None

    def _rules(self, entity: str) -> None:
        """The model's check constraints, so that the database never has to refuse a row."""
        for row in list(self.rows(entity).values()):
            v = row.values
            if entity == "spans" and (v.get("length_m") is None or v["length_m"] <= 0):
                measured = Decimal(f"{geodesic_length(row.geom):.2f}")  # to the centimetre
                self.warn(
                    row,
                    "longitud",
                    f"sin longitud válida en el archivo ({v.get('length_m')})",
                    f"importada con la longitud del trazado, {measured} m",
                )
                v["length_m"] = measured
            reason = model_rule(entity, v)
            if reason:
                self.drop(row, "valor", reason)

    def _unique_keys(self, entity: str) -> None:
        """Two rows with one key (the plate of a pole, the code of a span) cannot both be
        stored: the first one is kept."""
        target = self.mapping.entities[entity].target
        fields = [target.key]
        if entity == "transformers":
            fields.append("plate")
        if entity in ("substations", "feeders"):
            fields.append("name")
        for name in fields:
            first: dict[Any, SourceRow] = {}
            for row in list(self.rows(entity).values()):
                value = row.values.get(name)
                if entity == "power_transformers":
                    value = (row.values.get("substation"), value)
                if value in first:
                    other = first[value]
                    self.drop(
                        row,
                        "duplicado",
                        f"{KEY_LABEL.get(name, name)} {row.values.get(name)} ya está en la "
                        f"feature {other.feature} (id {other.ident})",
                    )
                else:
                    first[value] = row

    def _substations(self) -> None:
        tolerance = self.mapping.tolerances.comuna_m
        rows = self.rows("substations").values()
        codes = {r.values["comuna"] for r in rows if r.values.get("comuna")}
        comunas = dict(Comuna.objects.filter(code__in=codes).values_list("code", "id"))
        for row in list(self.rows("substations").values()):
            busbar = key_text(row.extra.get("busbar"))
            if busbar is not None:
                if busbar in self.busbar_of:
                    owner = self.busbar_of[busbar]
                    self.drop(
                        row, "duplicado", f"la barra {busbar} ya es de la subestación {owner}"
                    )
                    continue
                self.busbar_of[busbar] = row.ident
            code = row.values.get("comuna")
            if code:
                if code not in comunas:
                    self.drop(row, "referencia", f"la comuna {code} no existe")
                    continue
                row.values["comuna"] = comunas[code]
                continue
            found, distance = locate_comuna(row.geom, tolerance)
            if found is None:
                self.drop(
                    row,
                    "comuna",
                    f"su ubicación ({row.geom.x:.5f}, {row.geom.y:.5f}) no está en ninguna "
                    f"comuna (ni a {tolerance:.0f} m)",
                )
                continue
            if distance:
                reason = f"fuera de toda comuna; la más cercana está a {distance:.0f} m"
                self.warn(row, "comuna", reason, "importada en esa comuna")
            row.values["comuna"] = found

    def _poles(self) -> None:
        for ident in list(self.rows("poles")):
            if ident in self.busbar_of:
                row = self.rows("poles").pop(ident)
                substation = self.rows("substations").get(self.busbar_of[ident])
                code = substation.values["code"] if substation else self.busbar_of[ident]
                self.result.add(
                    row.problem(
                        "barra",
                        f"es la barra MT de la subestación {code}",
                        "no se importa como poste: los vanos que salen de ella salen de la "
                        "subestación",
                        INFO,
                    )
                )

    def _node(self, row: SourceRow, field_name: str) -> str | None | bool:
        """A span end: a pole id, a busbar id, None when empty; False (and the row dropped)
        when it points at nothing."""
        ident = row.values[field_name]
        if ident is None:
            return None
        if ident in self.rows("poles") or ident in self.busbar_of:
            return ident
        reason = f"{field_name}: {self.why_missing('poles', ident)}"
        self.drop(row, "referencia", reason, field_name)
        return False

    def _spans(self) -> None:
        derived = self.mapping.derived_feeders is not None
        for row in list(self.rows("spans").values()):
            a = self._node(row, "from_pole")
            if a is False:
                continue
            b = self._node(row, "to_pole")
            if b is False:
                continue
            if a is not None and a == b:
                self.drop(row, "referencia", f"origen y destino son el mismo nodo {a}")
                continue
            if b is None:
                self.drop(row, "referencia", "sin nodo destino")
                continue
            if b in self.busbar_of:
                if a is None or a in self.busbar_of:
                    reason = "une dos barras de subestación (no es un vano de alimentador)"
                    self.drop(row, "referencia", reason)
                    continue
                # The substation end is the origin: a null from_pole leaves the substation.
                a, b = b, a
                row.geom = reversed_line(row.geom)
            if a is None and derived:
                self.drop(row, "referencia", "sin nodo origen")
                continue
            row.extra["ends"] = (a, b)

    def _equipment(self) -> None:
        derived = self.mapping.derived_feeders is not None
        for row in list(self.rows("equipment").values()):
            pole = row.values.get("pole")
            if pole is not None and pole not in self.busbar_of and pole not in self.rows("poles"):
                self.drop(row, "referencia", f"pole: {self.why_missing('poles', pole)}", "pole")
                continue
            span = row.extra.get("span")
            if span is not None and span not in self.rows("spans"):
                if derived and (pole is None or pole in self.busbar_of):
                    self.drop(row, "referencia", f"span: {self.why_missing('spans', span)}")
                    continue
                outcome = "importada sin su vano (no cuenta para la topología)"
                self.warn(row, "referencia", f"span: {self.why_missing('spans', span)}", outcome)
                row.extra["span"] = span = None
            ends = self.rows("spans")[span].extra["ends"] if span is not None else ()
            if span is not None and pole is not None and pole not in ends:
                reason = f"está en el nodo {pole}, que no es extremo de su vano {span}"
                self.warn(row, "referencia", reason, "importada; no cuenta para la topología")
                row.extra["span"] = None
            if derived and pole is None and span is None:
                self.drop(row, "referencia", "sin poste ni vano: no se sabe su alimentador")

    def _transformers(self) -> None:
        for row in list(self.rows("transformers").values()):
            pole = row.values.get("pole")
            if pole in self.busbar_of:
                reason = f"está en la barra {pole} de una subestación, no en un poste"
                self.drop(row, "referencia", reason)
            elif pole is None:
                self.drop(row, "referencia", "sin poste")
            elif pole not in self.rows("poles"):
                self.drop(row, "referencia", f"pole: {self.why_missing('poles', pole)}", "pole")

    # -- feeders ---------------------------------------------------------------------------

    def _derived_feeders(self) -> None:
        config = self.mapping.derived_feeders
        spans = self.rows("spans")
        poles = self.rows("poles")
        substations = self.rows("substations")
        open_at = set()
        for row in self.rows("equipment").values():
            span, pole = row.extra.get("span"), row.values.get("pole")
            if span and pole and row.values.get("operating_mode") == config.open_mode:
                open_at.add((span, pole))
        ends = {ident: row.extra["ends"] for ident, row in spans.items()}
        # A span from a busbar whose substation was dropped has no substation to leave.
        for ident, (a, _) in list(ends.items()):
            if a in self.busbar_of and self.busbar_of[a] not in substations:
                reason = self.why_missing("substations", self.busbar_of[a])
                self.drop(spans[ident], "referencia", f"sale de una subestación omitida ({reason})")
                del ends[ident]
        busbars = {n: s for n, s in self.busbar_of.items() if s in substations}
        order = sorted(substations, key=lambda s: natural(substations[s].values["code"]))
        topology = derive_feeders(
            ends,
            busbars,
            order,
            open_at,
            {ident: row.values["code"] for ident, row in spans.items()},
            {ident: row.values["plate"] for ident, row in poles.items()},
        )
        for finding in topology.findings:
            row = (spans if finding.kind == "span" else poles).get(finding.ident)
            if row is None:
                continue
            if finding.error:
                self.drop(row, "topologia", finding.reason)
            else:
                self.warn(row, "topologia", finding.reason)
        for ident in list(poles):
            if ident not in topology.node_feeder:
                reason = "ningún vano llega a este poste" + self.spans_lost_at(ident)
                self.drop(poles[ident], "topologia", reason)

        feeders = self.plan.of("feeders")
        codes: list[str] = []
        for tree in topology.feeders:
            substation = substations[tree.substation]
            head = spans[tree.head]
            words = {
                "substation": substation.values["code"],
                "substation_name": substation.values["name"],
                "head": head.values["code"],
                "n": tree.n,
            }
            code, name = fill(config.code, words), fill(config.name, words)
            codes.append(code)
            scc = substation.extra.get("short_circuit_kva") or config.short_circuit_kva
            values = {
                "code": code,
                "name": name,
                "kind": Feeder.Kind.FEEDER,
                "substation": Ref("substations", tree.substation),
                "nominal_voltage_kv": poles[head.extra["ends"][1]].values["mt_voltage_kv"],
                "capacity_a": head.values["capacity_a"],
                "power_kva": 0,
                "short_circuit_kva": None if scc is None else round(scc),
            }
            reason = feeder_rule(values)
            if reason or code in feeders:
                reason = reason or f"código {code} repetido (revise la plantilla de [feeders])"
                self.result.add(Problem("feeders", "valor", reason, "omitido", ERROR, code=code))
                self.gone["feeders"][code] = reason
                continue
            feeders[code] = Planned(code, values)
        for ident, row in spans.items():
            row.values["feeder"] = codes[topology.span_feeder[ident]]
        for ident, row in poles.items():
            row.values["feeder"] = codes[topology.node_feeder[ident]]
        for row in list(self.rows("equipment").values()):
            pole, span = row.values.get("pole"), row.extra.get("span")
            if pole in poles:
                row.values["feeder"] = poles[pole].values["feeder"]
            elif pole is not None and pole not in self.busbar_of:
                self.drop(row, "referencia", self.why_missing("poles", pole))
            elif span in spans:
                row.values["feeder"] = spans[span].values["feeder"]
            else:
                self.drop(row, "referencia", self.why_missing("spans", span))
        for row in list(self.rows("transformers").values()):
            pole = row.values["pole"]
            if pole in poles:
                row.values["feeder"] = poles[pole].values["feeder"]
            else:
                self.drop(row, "referencia", self.why_missing("poles", pole))

    def _feeder_power(self) -> None:
        """A derived feeder's power is the capacity installed on it (as the demo set has it)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for planned in self.plan.of("transformers").values():
            totals[planned.values["feeder"].ident] += planned.values["capacity_kva"]
        for code, planned in self.plan.of("feeders").items():
            planned.values["power_kva"] = round(totals.get(code, 0))

    def _layer_feeders(self) -> None:
        feeders = self.plan.of("feeders")
        for row in list(self.rows("feeders").values()):
            substation = row.values["substation"]
            if substation not in self.rows("substations"):
                reason = self.why_missing("substations", substation)
                self.drop(row, "referencia", f"substation: {reason}")
                continue
            values = dict(row.values, substation=Ref("substations", substation))
            values.setdefault("kind", Feeder.Kind.FEEDER)
            feeders[row.ident] = Planned(row.ident, values, row)

    def _drop_orphans_of_feeders(self) -> None:
        feeders = self.plan.of("feeders")
        for code, planned in list(feeders.items()):
            substation = planned.values["substation"].ident
            if substation not in self.rows("substations"):
                self._drop_planned(
                    "feeders", code, f"substation: {self.why_missing('substations', substation)}"
                )
        for entity in ("poles", "spans", "equipment", "transformers"):
            for row in list(self.rows(entity).values()):
                feeder = row.values.get("feeder")
                if feeder not in feeders:
                    reason = f"feeder: {self.why_missing('feeders', feeder)}"
                    self.drop(row, "referencia", reason, "feeder")
        # Dropping poles takes their spans, equipment and transformers with them.
        changed = True
        while changed:
            changed = False
            for row in list(self.rows("spans").values()):
                for end in row.extra["ends"]:
                    if self._lost_pole(end):
                        self.drop(row, "referencia", self.why_missing("poles", end))
                        changed = True
                        break
            for entity in ("equipment", "transformers"):
                for row in list(self.rows(entity).values()):
                    pole = row.values.get("pole")
                    if self._lost_pole(pole):
                        self.drop(row, "referencia", self.why_missing("poles", pole))

    def _lost_pole(self, ident: str | None) -> bool:
        return ident is not None and ident not in self.busbar_of and ident not in self.rows("poles")

    def _power_transformers(self) -> None:
        for row in list(self.rows("power_transformers").values()):
            substation = row.values["substation"]
            if substation not in self.rows("substations"):
                reason = self.why_missing("substations", substation)
                self.drop(row, "referencia", f"substation: {reason}")

    def _taken(self, entity: str, model, name: str, scope: dict) -> None:
        """Names of substations and feeders are unique nationwide, transformer plates per
        distributor: a value that another stored row holds cannot be taken."""
        d = self.distributor.pk
        planned = self._planned_values(entity)
        values = {v[name]: (ident, v) for ident, v in planned.items()}
        if not values:
            return
        holders = model.objects.filter(**scope, **{f"{name}__in": list(values)})
        for holder in holders.values("distributor_id", "code", name):
            ident, mine = values[holder[name]]
            if holder["distributor_id"] == d and holder["code"] == mine["code"]:
                continue
            owner = "" if holder["distributor_id"] == d else " de otra distribuidora"
            reason = (
                f"{KEY_LABEL[name]} {holder[name]!r} ya es de {model._meta.verbose_name} "
                f"{holder['code']}{owner}"
            )
            self._drop_planned(entity, ident, reason)

    def _planned_values(self, entity: str) -> dict[str, dict]:
        if entity == "feeders":
            return {ident: p.values for ident, p in self.plan.of("feeders").items()}
        return {ident: row.values for ident, row in self.rows(entity).items()}

    def _drop_planned(self, entity: str, ident: str, reason: str) -> None:
        planned = self.plan.of(entity).pop(ident, None)
        if entity in self.layers and ident in self.rows(entity):
            self.drop(self.rows(entity)[ident], "duplicado", reason)
            return
        self.result.add(Problem(entity, "duplicado", reason, "omitido", ERROR, code=ident))
        self.gone[entity][ident] = reason
        del planned

    def _collect(self) -> None:
        """Source rows become planned rows; references become Refs."""
        refs = {name: e.target.refs for name, e in self.mapping.entities.items()}
        for entity in ORDER:
            if entity == "feeders":
                continue
            target = refs.get(entity, {})
            for ident, row in self.rows(entity).items():
                values = dict(row.values)
                for name, pointed in target.items():
                    if name in row.extra or name not in values:
                        continue
                    values[name] = None if values[name] is None else Ref(pointed, values[name])
                if entity == "spans":
                    a, b = row.extra["ends"]
                    bay = a is None or a in self.busbar_of
                    values["from_pole"] = None if bay else Ref("poles", a)
                    values["to_pole"] = Ref("poles", b)
                if entity == "equipment":
                    if row.values.get("pole") in self.busbar_of:
                        values["pole"] = None
                    if "span" in row.extra:  # the span it switches, if it was kept
                        span = row.extra["span"]
                        kept = span is not None and span in self.rows("spans")
                        values["span"] = Ref("spans", span) if kept else None
                if "feeder" in values and not isinstance(values["feeder"], Ref):
                    values["feeder"] = Ref("feeders", values["feeder"])
                geometry = self.mapping.entities[entity].target.geometry
                if geometry:
                    values[geometry] = row.geom
                self.plan.of(entity)[ident] = Planned(ident, values, row)
