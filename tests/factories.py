"""Plain factories: each makes one valid object, creating whatever it needs above it.

Every keyword overrides a default. Codes come from one counter so objects never collide;
geometries are SRID 4326 points and lines around Santiago.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.utils import timezone
from stdnum.cl import rut as rut_lib

from demand.models import MonthlyDemand
from geo.models import Comuna, Region
from metering.models import Meter
from network.models import (
    ConductorType,
    Customer,
    Distributor,
    Equipment,
    EquipmentSetting,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from vnr.models import VnrCode

SANTIAGO = (-70.65, -33.45)

_counter = itertools.count(1)
# Regions take CUT codes 17 to 99, which no real región uses, so factories never collide
# with the geography of the demo data set; comunas inherit that prefix.
_region_counter = itertools.count(0)


def _next() -> int:
    return next(_counter)


def near_santiago(n: int | None = None) -> Point:
    """A point a few hundred metres from the last one, so objects don't pile up."""
    n = _next() if n is None else n
    lon, lat = SANTIAGO
    return Point(lon + (n % 100) * 0.001, lat + (n // 100 % 100) * 0.001, srid=4326)


def square(lon: float, lat: float, size: float = 0.05) -> MultiPolygon:
    ring = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat)]
    return MultiPolygon(Polygon(ring), srid=4326)


def this_month() -> date:
    return timezone.localdate().replace(day=1)


def valid_rut(body: int) -> str:
    """A RUT with its módulo 11 check digit, normalized as the models store it."""
    return f"{body}-{rut_lib.calc_check_digit(str(body))}"


def make_region(**kwargs) -> Region:
    n = next(_region_counter)
    defaults = {
        "code": f"{17 + n % 83:02d}",
        "name": f"Región {n}",
        "utm_zone": 19,
        "boundary": square(SANTIAGO[0] - 0.5, SANTIAGO[1] - 0.5, 1.0),
    }
    return Region.objects.create(**{**defaults, **kwargs})


def make_comuna(region: Region | None = None, **kwargs) -> Comuna:
    n = _next()
    region = region or make_region()
    defaults = {
        "code": f"{region.code}{n % 1000:03d}",
        "name": f"Comuna {n}",
        "province": "Santiago",
        "boundary": square(*SANTIAGO, 0.1),
    }
    return Comuna.objects.create(region=region, **{**defaults, **kwargs})


def make_distributor(**kwargs) -> Distributor:
    n = _next()
    defaults = {
        "code": f"D{n}",
        "name": f"Distribuidora {n} S.A.",
        "rut": valid_rut(76_000_000 + n),
    }
    return Distributor.objects.create(**{**defaults, **kwargs})


def make_vnr(**kwargs) -> VnrCode:
    n = _next()
    defaults = {
        "code": f"VNR-{n:05d}",
        "description": "Poste de hormigón 11,5 m",
        "unit": "c/u",
        "recargos_1": Decimal("120000"),
        "montaje": Decimal("80000"),
        "stotal_1": Decimal("200000"),
        "ing_gg": Decimal("30000"),
        "stotal_2": Decimal("230000"),
        "int_int": Decimal("10000"),
        "total_sin_derechos": Decimal("240000"),
    }
    return VnrCode.objects.create(**{**defaults, **kwargs})


def make_substation(
    distributor: Distributor | None = None, comuna: Comuna | None = None, **kwargs
) -> Substation:
    n = _next()
    defaults = {
        "code": f"SE{n}",
        "name": f"Subestación {n}",
        "location": near_santiago(n),
        "high_voltage_kv": Decimal("110"),
    }
    return Substation.objects.create(
        distributor=distributor or make_distributor(),
        comuna=comuna or make_comuna(),
        **{**defaults, **kwargs},
    )


def make_power_transformer(substation: Substation | None = None, **kwargs) -> PowerTransformer:
    n = _next()
    defaults = {
        "code": f"TP{n}",
        "name": f"Transformador de poder {n}",
        "capacity_mva": Decimal("30"),
        "primary_kv": Decimal("110"),
        "secondary_kv": Decimal("12"),
    }
    return PowerTransformer.objects.create(
        substation=substation or make_substation(), **{**defaults, **kwargs}
    )


def make_feeder(
    substation: Substation | None = None, distributor: Distributor | None = None, **kwargs
) -> Feeder:
    """An alimentador; with kind=subalimentador it also gets an owner and a purchase node."""
    n = _next()
    substation = substation or make_substation(distributor=distributor)
    distributor = distributor or substation.distributor
    defaults = {
        "code": f"AL{n}",
        "name": f"Alimentador {n}",
        "kind": Feeder.Kind.FEEDER,
        "nominal_voltage_kv": Decimal("12"),
        "capacity_a": 400,
        "power_kva": 8000,
        "short_circuit_kva": 150000,
    }
    values = {**defaults, **kwargs}
    if values["kind"] == Feeder.Kind.SUBFEEDER:
        if "owner" not in values:
            values["owner"] = make_distributor()
        if "purchase_node" not in values:
            values["purchase_node"] = make_pole(feeder=make_feeder(substation=substation))
    return Feeder.objects.create(substation=substation, distributor=distributor, **values)


def make_pole(feeder: Feeder | None = None, vnr: VnrCode | None = None, **kwargs) -> Pole:
    n = _next()
    feeder = feeder or make_feeder()
    defaults = {
        "distributor": feeder.distributor,
        "plate": f"P{n:07d}",
        "location": near_santiago(n),
        "mt_voltage_kv": Decimal("12"),
        "bt_voltage_v": 380,
        "material": "hormigón",
        "height_m": Decimal("11.5"),
    }
    return Pole.objects.create(feeder=feeder, vnr=vnr or make_vnr(), **{**defaults, **kwargs})


def make_conductor_type(**kwargs) -> ConductorType:
    n = _next()
    defaults = {
        "code": f"COND-{n}",
        "name": f"Conductor {n}",
        "material": "Aluminio",
        "section_mm2": Decimal("70"),
        "insulation": "Desnudo",
        "r20_ohm_km": Decimal("0.479"),
        "operating_temp_c": 75,
        "r_op_ohm_km": Decimal("0.5852"),
        "x_ohm_km": Decimal("0.36"),
        "r0_ohm_km": Decimal("0.627"),
        "x0_ohm_km": Decimal("1.152"),
        "ampacity_a": 245,
    }
    return ConductorType.objects.create(**{**defaults, **kwargs})


def make_span(
    feeder: Feeder | None = None,
    from_pole: Pole | None = None,
    to_pole: Pole | None = None,
    **kwargs,
) -> Span:
    n = _next()
    feeder = feeder or (to_pole.feeder if to_pole else make_feeder())
    from_pole = from_pole or make_pole(feeder=feeder)
    to_pole = to_pole or make_pole(feeder=feeder)
    defaults = {
        "distributor": feeder.distributor,
        "code": f"V{n:07d}",
        "length_m": Decimal("42.5"),
        "conductor_material": "aluminio",
        "conductor_insulation": "desnudo",
        "capacity_a": 250,
        "phases": 3,
        "geom": LineString(from_pole.location, to_pole.location, srid=4326),
    }
    values = {**defaults, **kwargs}
    if "vnr" not in values:
        values["vnr"] = make_vnr()
    return Span.objects.create(feeder=feeder, from_pole=from_pole, to_pole=to_pole, **values)


def make_equipment(feeder: Feeder | None = None, pole: Pole | None = None, **kwargs) -> Equipment:
    n = _next()
    feeder = feeder or (pole.feeder if pole else make_feeder())
    pole = pole or make_pole(feeder=feeder)
    defaults = {
        "distributor": feeder.distributor,
        "code": f"EQ{n}",
        "kind": Equipment.Kind.RECLOSER,
        "capacity_a": 630,
        "connection": "trifásica",
        "operating_mode": "normalmente cerrado",
        "location": pole.location,
    }
    values = {**defaults, **kwargs}
    if "vnr" not in values:
        values["vnr"] = make_vnr()
    return Equipment.objects.create(feeder=feeder, pole=pole, **values)


def make_equipment_setting(equipment: Equipment | None = None, **kwargs) -> EquipmentSetting:
    equipment = equipment or make_equipment()
    defaults = {
        "month": this_month(),
        "capacity_a": equipment.capacity_a,
        "capacity_kva": equipment.capacity_kva,
        "connection": equipment.connection,
        "operating_mode": equipment.operating_mode,
    }
    return EquipmentSetting.objects.create(equipment=equipment, **{**defaults, **kwargs})


def make_transformer(
    feeder: Feeder | None = None, pole: Pole | None = None, **kwargs
) -> Transformer:
    n = _next()
    feeder = feeder or (pole.feeder if pole else make_feeder())
    pole = pole or make_pole(feeder=feeder)
    defaults = {
        "distributor": feeder.distributor,
        "code": f"TD{n}",
        "plate": f"T{n:07d}",
        "name": f"Transformador {n}",
        "capacity_kva": Decimal("75"),
        "connection": "Dyn1",
        "primary_kv": Decimal("12"),
        "secondary_v": 380,
        "kind": Transformer.Kind.THREE,
        "phases": "RST",
        "location": pole.location,
    }
    values = {**defaults, **kwargs}
    if "vnr" not in values:
        values["vnr"] = make_vnr()
    return Transformer.objects.create(feeder=feeder, pole=pole, **values)


def make_customer(transformer: Transformer | None = None, **kwargs) -> Customer:
    """A customer; with is_eg=True it also gets its plant's data."""
    n = _next()
    transformer = transformer or make_transformer()
    defaults = {
        "distributor": transformer.distributor,
        "number": f"{1_000_000 + n}",
        "rut": valid_rut(10_000_000 + n),
        "name": f"Cliente {n}",
        "email": f"cliente{n}@example.cl",
        "phone": "+56 2 2345 6789",
        "address": f"Av. Libertador Bernardo O'Higgins {n}",
        "comuna": transformer.feeder.substation.comuna,
        "billing_day": 15,
        "service_capacity_kw": Decimal("6.6"),
        "location": transformer.location,
    }
    values = {**defaults, **kwargs}
    if values.get("is_eg"):
        values.setdefault("eg_capacity_kw", Decimal("5.0"))
        values.setdefault("eg_technology", Customer.EgTechnology.SOLAR)
        values.setdefault("eg_connected_on", date(2022, 3, 1))
    return Customer.objects.create(transformer=transformer, **values)


def make_demand(
    feeder: Feeder | None = None, transformer: Transformer | None = None, **kwargs
) -> MonthlyDemand:
    """A month's demand of a feeder (by default) or of a transformer."""
    if feeder is None and transformer is None:
        feeder = make_feeder()
    defaults = {"month": this_month(), "max_kw": Decimal("3200.0"), "min_kw": Decimal("900.0")}
    return MonthlyDemand.objects.create(
        feeder=feeder, transformer=transformer, **{**defaults, **kwargs}
    )


def make_meter(kind: str = "customer", **kwargs) -> Meter:
    """A meter of the given kind (customer, totalizer, feeder_head), with its asset."""
    n = _next()
    defaults: dict = {"serial": f"MED{n:08d}", "installed_on": date(2024, 1, 1)}
    values = {**defaults, **kwargs}
    if kind == Meter.Kind.CUSTOMER and "customer" not in values:
        values["customer"] = make_customer()
    if kind == Meter.Kind.TOTALIZER and "transformer" not in values:
        values["transformer"] = make_transformer()
    if kind == Meter.Kind.FEEDER_HEAD and "feeder" not in values:
        values["feeder"] = make_feeder()
    return Meter.objects.create(kind=kind, **values)


def make_connection_request(pole: Pole | None = None, **kwargs):
    from capacity.models import ConnectionRequest

    n = _next()
    pole = pole or make_pole()
    defaults = {
        "distributor": pole.distributor,
        "public_id": f"SC-2026-{n:04d}",
        "state": ConnectionRequest.State.STUDY,
        "submitted_on": date(2026, 3, 1),
        "mw": Decimal("3.000"),
        "pole": pole,
        "feeder": pole.feeder,
        "technology": "Solar fotovoltaica",
    }
    return ConnectionRequest.objects.create(**{**defaults, **kwargs})


def make_capacity_run(**kwargs):
    from capacity.models import Run

    defaults = {"scope": Run.Scope.ALL, "trigger": "prueba", "status": Run.Status.DONE}
    return Run.objects.create(**{**defaults, **kwargs})


def make_feeder_capacity(feeder: Feeder | None = None, **kwargs):
    from capacity.models import FeederCapacity

    defaults = {
        "feeder": feeder or make_feeder(),
        "run": make_capacity_run(),
        "computed_at": timezone.now(),
        "status": FeederCapacity.Status.MISSING,
        "missing": ["vanos sin tipo de conductor: V1"],
    }
    return FeederCapacity.objects.create(**{**defaults, **kwargs})
