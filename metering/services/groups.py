"""Groups of customer meters: by zone (comuna, feeder, transformer) and by tariff option.

A group is named by its kind and a key, as a request gives them (`?grupo=comuna&clave=13101`):

- `comuna`: the comuna's CUT code; the meters of the customers whose service point is in it;
- `alimentador`: the feeder's id; the meters of the customers on its transformers;
- `transformador`: the transformer's id; the meters of its customers;
- `tarifa`: a tariff option (BT1a, BT4.3, …); the meters of the customers on it.

`parse_group(params)` validates the pair and resolves the key once (one small query), so that
`Group.meters_sql()` is a plain fragment on ids, indexed in every case, that reports and the
curves embed as `m.id IN (…)`. Feeder and transformer ids are unique per distributor: a key
shared by two distributors is refused with a message asking for the distributor's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import QuerySet

from geo.models import Comuna
from metering.models import Meter
from network.models import Customer, Feeder, Transformer

COMUNA, FEEDER, TRANSFORMER, TARIFF = "comuna", "alimentador", "transformador", "tarifa"
KINDS: dict[str, str] = {
    COMUNA: "Comuna",
    FEEDER: "Alimentador",
    TRANSFORMER: "Transformador",
    TARIFF: "Opción tarifaria",
}
KEY_HINTS: dict[str, str] = {
    COMUNA: "código CUT de la comuna (5 dígitos, p. ej. 13101)",
    FEEDER: "id del alimentador",
    TRANSFORMER: "id del transformador",
    TARIFF: "opción tarifaria (" + ", ".join(Customer.Tariff.values) + ")",
}

# The customers of a group, on indexed columns of network_customer (alias cu).
_CUSTOMERS = {
    COMUNA: "cu.comuna_id = %(group_id)s",
    FEEDER: "cu.transformer_id IN (SELECT t.id FROM network_transformer t "
    "WHERE t.feeder_id = %(group_id)s)",
    TRANSFORMER: "cu.transformer_id = %(group_id)s",
    TARIFF: "cu.tariff = %(group_key)s",
}


class GroupError(ValueError):
    """A group the request names badly (missing or unknown kind, malformed key)."""


class GroupNotFound(GroupError):
    """A well-formed key that names nothing: the page answers 404."""


@dataclass(frozen=True)
class Group:
    kind: str
    key: str
    label: str
    # The comuna's, feeder's or transformer's primary key; None for a tariff.
    ref_id: int | None = None

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def params(self) -> dict[str, object]:
        return {"group_id": self.ref_id, "group_key": self.key}

    def meters_sql(self) -> tuple[str, dict[str, object]]:
        """`SELECT m.id …` of the group's customer meters, with its parameters (pyformat)."""
        sql = (
            "SELECT m.id FROM metering_meter m JOIN network_customer cu ON cu.id = m.customer_id "
            # A backup meter measures its main's point again: never counted twice.
            f"WHERE m.kind = 'customer' AND m.backup_for_id IS NULL AND {_CUSTOMERS[self.kind]}"
        )
        return sql, self.params()

    def customers(self) -> QuerySet[Customer]:
        if self.kind == COMUNA:
            return Customer.objects.filter(comuna_id=self.ref_id)
        if self.kind == FEEDER:
            return Customer.objects.filter(transformer__feeder_id=self.ref_id)
        if self.kind == TRANSFORMER:
            return Customer.objects.filter(transformer_id=self.ref_id)
        return Customer.objects.filter(tariff=self.key)

    def meters(self) -> QuerySet[Meter]:
        return Meter.objects.filter(
            kind=Meter.Kind.CUSTOMER, backup_for__isnull=True, customer__in=self.customers()
        )

    def query(self) -> dict[str, str]:
        """The request parameters that name this group again (links, CSV)."""
        return {"grupo": self.kind, "clave": self.key}


def parse_group(params: Mapping[str, str]) -> Group:
    """The group named by `grupo` and `clave` (and `distribuidora` when a feeder or
    transformer id is shared); GroupError with a Spanish message otherwise."""
    kind = (params.get("grupo") or "").strip()
    key = (params.get("clave") or "").strip()
    if kind not in KINDS:
        names = ", ".join(KINDS)
        if not kind:
            raise GroupError(f"Elija el tipo de grupo ({names}).")
        raise GroupError(f"Tipo de grupo desconocido «{kind[:30]}»: use {names}.")
    if not key:
        raise GroupError(f"Indique la clave del grupo: {KEY_HINTS[kind]}.")
    if len(key) > 40:
        raise GroupError(f"Clave demasiado larga: {KEY_HINTS[kind]}.")
    return resolve_group(kind, key, (params.get("distribuidora") or "").strip())


def resolve_group(kind: str, key: str, distributor: str = "") -> Group:
    if kind == TARIFF:
        wanted = {v.lower(): v for v in Customer.Tariff.values}
        code = wanted.get(key.lower())
        if code is None:
            raise GroupNotFound(f"No existe la opción tarifaria «{key}»: {KEY_HINTS[kind]}.")
        return Group(kind, code, f"Opción tarifaria {code}")
    if kind == COMUNA:
        if not (key.isdigit() and len(key) == 5):
            raise GroupError(f"Clave de comuna mal escrita «{key}»: {KEY_HINTS[kind]}.")
        comuna = Comuna.objects.filter(code=key).only("id", "name").first()
        if comuna is None:
            raise GroupNotFound(f"No existe la comuna de código {key}.")
        return Group(kind, key, f"Comuna {comuna.name} ({key})", comuna.pk)
    model = Feeder if kind == FEEDER else Transformer
    rows = model.objects.filter(code=key)
    if distributor:
        rows = rows.filter(distributor__code=distributor)
    found = list(rows.only("id", "name", "code")[:2])
    noun = "alimentador" if kind == FEEDER else "transformador"
    if not found:
        raise GroupNotFound(f"No existe el {noun} de id {key}.")
    if len(found) > 1:
        raise GroupError(
            f"El id {key} es de {noun}es de más de una distribuidora: indique "
            "la distribuidora (distribuidora=<código>)."
        )
    asset = found[0]
    return Group(kind, key, f"{KINDS[kind]} {asset.code} {asset.name}".strip(), asset.pk)
