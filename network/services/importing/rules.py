"""The models' check constraints as reasons, so that the database never has to refuse a row."""

from __future__ import annotations


def model_rule(entity: str, v: dict) -> str | None:
    """Why a row of a section breaks its model's rules, or None."""
    if entity == "spans":
        if not 1 <= v["phases"] <= 3:
            return f"cantidad de fases {v['phases']} (debe ser 1, 2 o 3)"
    elif entity == "transformers":
        if v["capacity_kva"] <= 0:
            return f"capacidad {v['capacity_kva']} kVA (debe ser positiva)"
        if (v["kind"] == "trifasico") != (v["phases"] == "RST"):
            return f"tipo {v['kind']} con fases {v['phases']} (trifásico es RST)"
    elif entity == "equipment":
        if v.get("capacity_a") is None and v.get("capacity_kva") is None:
            return "sin capacidad (ni A ni kVA)"
    elif entity == "substations":
        if v["high_voltage_kv"] <= 0:
            return f"tensión AT {v['high_voltage_kv']} kV"
    elif entity == "poles":
        if v["mt_voltage_kv"] <= 0:
            return f"tensión MT {v['mt_voltage_kv']} kV"
    elif entity == "power_transformers":
        if v["capacity_mva"] <= 0 or v["primary_kv"] <= v["secondary_kv"]:
            return (
                f"{v['capacity_mva']} MVA, {v['primary_kv']}/{v['secondary_kv']} kV: "
                "debe tener capacidad y bajar la tensión"
            )
    elif entity == "feeders":
        return feeder_rule(v)
    return None


def feeder_rule(v: dict) -> str | None:
    voltage = v.get("nominal_voltage_kv")
    if voltage is None or not 1 <= voltage <= 36:
        return f"tensión nominal {voltage} kV (un alimentador MT va de 1 a 36 kV)"
    if not v.get("short_circuit_kva") or v["short_circuit_kva"] <= 0:
        return "sin potencia de cortocircuito en cabecera"
    return None
