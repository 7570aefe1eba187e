"""A deterministic synthetic distributor: radial MV feeders grown as trees of spans.

Pure generation, no database: `NetworkGenerator.feeder(...)` returns plain rows that the seeder
COPYs. Geometry is laid out in metres on the WGS84 ellipsoid (local radii of curvature), so each
span's stored length matches its geodesic length.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date

from stdnum.cl import rut as rutlib

from core.months import add_months, last_months, month_start

WGS84_A = 6378137.0
WGS84_E2 = 0.00669437999014


def metres_to_degrees(lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude per metre at `lat`."""
    phi = math.radians(lat)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    m = WGS84_A * (1 - WGS84_E2) / w**1.5  # meridional radius
    n = WGS84_A / math.sqrt(w)  # prime vertical radius
    return math.degrees(1 / (n * math.cos(phi))), math.degrees(1 / m)


def offset(lon: float, lat: float, distance: float, heading: float) -> tuple[float, float]:
    """The point `distance` metres from (lon, lat) towards `heading` (radians, 0 = east)."""
    dlon, dlat = metres_to_degrees(lat + math.sin(heading) * distance / 2 / 111_000)
    return (
        lon + math.cos(heading) * distance * dlon,
        lat + math.sin(heading) * distance * dlat,
    )


def ewkt_point(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon:.7f} {lat:.7f})"


def ewkt_line(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"SRID=4326;LINESTRING({a[0]:.7f} {a[1]:.7f},{b[0]:.7f} {b[1]:.7f})"


# --- VNR catalogue -------------------------------------------------------------------------

# code, description, unit, base cost (CLP)
VNR_CATALOGUE = [
    ("PO-HA-11.5", "Poste hormigón armado 11,5 m", "c/u", 690_000),
    ("PO-HA-10", "Poste hormigón armado 10 m", "c/u", 540_000),
    ("PO-MA-10", "Poste madera impregnada 10 m", "c/u", 310_000),
    ("VA-AAAC-120", "Vano MT aluminio AAAC 120 mm² desnudo", "m", 9_800),
    ("VA-AAAC-70", "Vano MT aluminio AAAC 70 mm² desnudo", "m", 6_900),
    ("VA-CU-25", "Vano MT cobre 25 mm² desnudo", "m", 8_400),
    ("VA-CU-16", "Vano MT cobre 16 mm² desnudo", "m", 6_100),
    ("VA-XLPE-70", "Vano MT aluminio 70 mm² protegido XLPE", "m", 12_300),
    ("TD-1F-5", "Transformador monofásico 5 kVA", "c/u", 1_450_000),
    ("TD-1F-10", "Transformador monofásico 10 kVA", "c/u", 1_900_000),
    ("TD-1F-15", "Transformador monofásico 15 kVA", "c/u", 2_300_000),
    ("TD-1F-25", "Transformador monofásico 25 kVA", "c/u", 2_950_000),
    ("TD-2F-10", "Transformador bifásico 10 kVA", "c/u", 2_100_000),
    ("TD-2F-15", "Transformador bifásico 15 kVA", "c/u", 2_500_000),
    ("TD-2F-25", "Transformador bifásico 25 kVA", "c/u", 3_200_000),
    ("TD-3F-15", "Transformador trifásico 15 kVA", "c/u", 3_100_000),
    ("TD-3F-30", "Transformador trifásico 30 kVA", "c/u", 3_900_000),
    ("TD-3F-45", "Transformador trifásico 45 kVA", "c/u", 4_600_000),
    ("TD-3F-75", "Transformador trifásico 75 kVA", "c/u", 6_100_000),
    ("TD-3F-150", "Transformador trifásico 150 kVA", "c/u", 9_400_000),
    ("TD-3F-300", "Transformador trifásico 300 kVA", "c/u", 15_800_000),
    ("TD-3F-500", "Transformador trifásico 500 kVA", "c/u", 23_500_000),
    ("EQ-REC", "Reconectador trifásico MT", "c/u", 21_000_000),
    ("EQ-INT", "Interruptor MT en SF6", "c/u", 16_500_000),
    ("EQ-FUS", "Desconectador fusible MT", "c/u", 380_000),
    ("EQ-DES", "Desconectador cuchillo MT", "c/u", 1_200_000),
    ("EQ-SEC", "Seccionalizador MT", "c/u", 6_800_000),
    ("EQ-BCO", "Banco de condensadores MT", "c/u", 14_500_000),
    ("EQ-REG", "Regulador de tensión MT", "c/u", 38_000_000),
    ("EQ-AUT", "Autotransformador MT", "c/u", 52_000_000),
]


def vnr_costs(base: int) -> dict[str, int]:
    """The seven cost fields of a VNR code, built up from its material cost."""
    recargos_1 = round(base * 0.08)
    montaje = round(base * 0.27)
    stotal_1 = base + recargos_1 + montaje
    ing_gg = round(stotal_1 * 0.17)
    stotal_2 = stotal_1 + ing_gg
    int_int = round(stotal_2 * 0.045)
    return {
        "recargos_1": recargos_1,
        "montaje": montaje,
        "stotal_1": stotal_1,
        "ing_gg": ing_gg,
        "stotal_2": stotal_2,
        "int_int": int_int,
        "total_sin_derechos": stotal_2 + int_int,
    }


# --- Vocabulary -----------------------------------------------------------------------------

STREETS = (
    "Los Aromos", "Las Acacias", "El Roble", "Los Boldos", "Las Araucarias", "El Quillay",
    "Los Maitenes", "Los Canelos", "Los Espinos", "El Peumo", "Los Pimientos", "Las Palmas",
    "Los Alerces", "El Litre", "Los Coihues", "Las Lengas", "Los Arrayanes", "El Molle",
    "Bernardo O'Higgins", "Arturo Prat", "Manuel Rodríguez", "José Miguel Carrera",
    "Gabriela Mistral", "Pablo Neruda", "Violeta Parra", "Los Carrera", "Balmaceda",
    "Independencia", "Libertad", "La Paz", "Esperanza", "San Martín", "Colón", "Freire",
    "Baquedano", "Maipú", "Chacabuco", "Yungay", "Rancagua", "Valdivia", "Lautaro",
    "Caupolicán", "Galvarino", "Tucapel", "Los Andes", "Cordillera", "El Bosque", "La Viña",
    "Santa Rosa", "San Pablo", "Las Rosas", "Los Jazmines", "Las Camelias", "Los Tulipanes",
)  # fmt: skip
FIRST_NAMES = (
    "María", "José", "Juan", "Ana", "Luis", "Carmen", "Jorge", "Rosa", "Pedro", "Patricia",
    "Carlos", "Claudia", "Francisco", "Daniela", "Manuel", "Camila", "Cristián", "Valentina",
    "Sebastián", "Javiera", "Felipe", "Constanza", "Matías", "Catalina", "Diego", "Francisca",
    "Tomás", "Fernanda", "Benjamín", "Isidora", "Vicente", "Antonia", "Ignacio", "Sofía",
)  # fmt: skip
SURNAMES = (
    "González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva", "Martínez",
    "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Hernández", "Torres", "Araya",
    "Flores", "Espinoza", "Valenzuela", "Castillo", "Tapia", "Reyes", "Gutiérrez", "Castro",
    "Pizarro", "Álvarez", "Vásquez", "Sánchez", "Fernández", "Ramírez", "Carrasco", "Gómez",
)  # fmt: skip
ASCII = str.maketrans("áéíóúñüÁÉÍÓÚÑ' ", "aeiounuAEIOUN..")

MV_LEVELS = (12.0, 13.2, 15.0, 23.0)
TRANSFORMER_TYPES = (
    # kind, phases options, kVA options, VNR prefix, customers per transformer (lo, hi)
    ("monofasico", ("R", "S", "T"), (5, 10, 15, 25), "TD-1F", (3, 10)),
    ("bifasico", ("RS", "RT", "ST"), (10, 15, 25), "TD-2F", (4, 12)),
    ("trifasico", ("RST",), (15, 30, 45, 75, 150, 300, 500), "TD-3F", (6, 24)),
)
CONDUCTORS = {
    # name: material, insulation, capacity A, VNR code, conductor type
    "trunk_big": ("Aluminio AAAC 120 mm²", "Desnudo", 340, "VA-AAAC-120", "AAAC-120"),
    "trunk": ("Aluminio AAAC 70 mm²", "Desnudo", 245, "VA-AAAC-70", "AAAC-70"),
    "urban": ("Aluminio 70 mm²", "Protegido XLPE", 230, "VA-XLPE-70", "AL-XLPE-70"),
    "branch": ("Cobre 25 mm²", "Desnudo", 160, "VA-CU-25", "CU-25"),
    "lateral": ("Cobre 16 mm²", "Desnudo", 125, "VA-CU-16", "CU-16"),
}

# Temperature coefficients of resistance (IEC 60287-1-1 table 1).
ALPHA = {"Aluminio": 0.00403, "Cobre": 0.00393}
# Earth-return resistance at 50 Hz (Carson): 3·π²·f·1e-4 Ω/km, added to R for R₀.
EARTH_R0 = 0.148


def _conductor(code, name, material, section, insulation, r20, x, temp, amps, x0_factor=3.2):
    r_op = r20 * (1 + ALPHA[material.split("-")[0]] * (temp - 20))
    return {
        "code": code, "name": name, "material": material, "section_mm2": section,
        "insulation": insulation, "r20_ohm_km": r20, "operating_temp_c": temp,
        "r_op_ohm_km": round(r_op, 4), "x_ohm_km": x, "r0_ohm_km": round(r20 + EARTH_R0, 4),
        "x0_ohm_km": round(x * x0_factor, 4), "ampacity_a": amps,
    }  # fmt: skip


# The conductor catalogue: positive-sequence data of the usual MV conductors of Chilean
# distributors (overhead at ~1 m equivalent spacing; X of protected spacer cable lower), zero
# sequence by Carson's approximation with an earth return and X₀ ≈ 3.2·X₁. The last three are
# the types of the real mv_oberrhein export (their R, X and ampacity as the export gives them).
CONDUCTOR_CATALOGUE = [
    _conductor("AAAC-120", "Aluminio AAAC 120 mm² desnudo", "Aluminio", 120, "Desnudo",
               0.2790, 0.340, 75, 340),
    _conductor("AAAC-70", "Aluminio AAAC 70 mm² desnudo", "Aluminio", 70, "Desnudo",
               0.4790, 0.360, 75, 245),
    _conductor("AL-XLPE-70", "Aluminio 70 mm² protegido XLPE", "Aluminio", 70, "Protegido XLPE",
               0.4430, 0.300, 90, 230),
    _conductor("CU-25", "Cobre 25 mm² desnudo", "Cobre", 25, "Desnudo", 0.7270, 0.390, 75, 160),
    _conductor("CU-16", "Cobre 16 mm² desnudo", "Cobre", 16, "Desnudo", 1.1500, 0.400, 75, 125),
    _conductor("XLPE-AL-185", "Cable aluminio 185 mm² XLPE 12/20 kV (NA2XS2Y)", "Aluminio", 185,
               "XLPE (cable subterráneo)", 0.1610, 0.117, 90, 362, x0_factor=1.0),
    _conductor("XLPE-AL-240", "Cable aluminio 240 mm² XLPE 12/20 kV (NA2XS2Y)", "Aluminio", 240,
               "XLPE (cable subterráneo)", 0.1220, 0.112, 90, 421, x0_factor=1.0),
    _conductor("ACSR-243", "Aluminio-acero 243/39 mm² desnudo (EN 50182)", "Aluminio-acero", 243,
               "Desnudo", 0.1188, 0.320, 80, 645),
]  # fmt: skip


# --- Rows -----------------------------------------------------------------------------------


@dataclass
class Ids:
    """Next primary key of every table, so that rows can reference each other before COPY."""

    pole: int = 1
    span: int = 1
    equipment: int = 1
    setting: int = 1
    transformer: int = 1
    customer: int = 1
    demand: int = 1
    feeder: int = 1

    def take(self, name: str) -> int:
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value


@dataclass
class FeederRows:
    feeder: tuple | None = None
    poles: list[tuple] = field(default_factory=list)
    spans: list[tuple] = field(default_factory=list)
    equipment: list[tuple] = field(default_factory=list)
    settings: list[tuple] = field(default_factory=list)
    transformers: list[tuple] = field(default_factory=list)
    customers: list[tuple] = field(default_factory=list)
    demands: list[tuple] = field(default_factory=list)
    pole_points: list[tuple[float, float]] = field(default_factory=list)
    pole_ids: list[int] = field(default_factory=list)


@dataclass
class FeederPlan:
    code: str
    name: str
    substation_id: int
    substation_lonlat: tuple[float, float]
    comuna_id: int
    voltage_kv: float
    poles: int
    heading: float
    distributor_id: int
    owner_id: int | None = None
    purchase_pole: tuple[int, float, float] | None = None  # id, lon, lat
    head_scc_kva: int | None = None  # the substation's: the feeder's head is its busbar


class NetworkGenerator:
    """Grows feeders, their equipment, transformers, customers and monthly demand."""

    def __init__(
        self,
        seed: int,
        as_of: date,
        vnr_ids: dict[str, int],
        months: int = 13,
        conductor_ids: dict[str, int] | None = None,
    ):
        self.rng = random.Random(seed)
        # Tariffs came after the rest: their own sequence leaves every other value unchanged.
        self.tariff_rng = random.Random(f"tariff-{seed}")
        self.as_of = as_of
        self.vnr = vnr_ids
        self.conductors = conductor_ids or {}
        self.months = last_months(months, add_months(month_start(as_of), -1))
        self.ids = Ids()

    # Identifiers are derived from primary keys: unique per distributor by construction.
    @staticmethod
    def pole_plate(pk: int) -> str:
        return f"P{pk:08d}"

    def feeder(self, plan: FeederPlan) -> FeederRows:
        rng = self.rng
        rows = FeederRows()
        feeder_id = self.ids.take("feeder")
        d = plan.distributor_id
        as_of = self.as_of
        urban = rng.random() < 0.5

        # Topology: a trunk with drift, then branches off random earlier poles.
        if plan.purchase_pole:
            root = (plan.purchase_pole[1], plan.purchase_pole[2])
        else:
            root = plan.substation_lonlat
        parent_of: list[int] = []  # index of parent pole, -1 = the root node
        points: list[tuple[float, float]] = []
        headings: list[float] = []
        conductor: list[str] = []
        branch_start: list[bool] = []
        trunk_len = max(3, int(plan.poles * rng.uniform(0.3, 0.45)))
        heading = plan.heading
        point = root
        trunk_m = 0.0
        for i in range(trunk_len):
            heading += rng.gauss(0, 0.12)
            step = rng.uniform(30, 80)
            trunk_m += step
            point = offset(*point, step, heading)
            parent_of.append(i - 1)
            points.append(point)
            headings.append(heading)
            conductor.append("urban" if urban and i < 40 else "trunk_big" if i < 60 else "trunk")
            branch_start.append(False)
        while len(points) < plan.poles:
            origin = rng.randrange(len(points))
            heading = headings[origin] + rng.choice((-1, 1)) * rng.uniform(1.0, 1.8)
            length = min(plan.poles - len(points), max(2, int(rng.expovariate(1 / 25))))
            kind = (
                "branch"
                if parent_of[origin] < 0 or conductor[origin].startswith("trunk")
                else "lateral"
            )
            prev, point = origin, points[origin]
            for j in range(length):
                heading += rng.gauss(0, 0.15)
                point = offset(*point, rng.uniform(30, 80), heading)
                parent_of.append(prev)
                prev = len(points)
                points.append(point)
                headings.append(heading)
                conductor.append(kind)
                branch_start.append(j == 0)

        # Poles and spans.
        pole_ids = [self.ids.take("pole") for _ in points]
        mt = plan.voltage_kv
        for i, (lon, lat) in enumerate(points):
            concrete = rng.random() < 0.8
            height = 11.5 if concrete and rng.random() < 0.6 else 10.0
            vnr_code = ("PO-HA-11.5" if height > 10 else "PO-HA-10") if concrete else "PO-MA-10"
            rows.poles.append((
                pole_ids[i], as_of, d, self.pole_plate(pole_ids[i]), feeder_id,
                ewkt_point(lon, lat), mt, None, "Hormigón armado" if concrete else "Madera",
                height, self.vnr[vnr_code],
            ))  # fmt: skip
            parent = parent_of[i]
            start = root if parent < 0 else points[parent]
            length = _geodesic_length(start, (lon, lat))
            material, insulation, amps, vnr_code, type_code = CONDUCTORS[conductor[i]]
            phases = 3 if conductor[i] != "lateral" else rng.choice((1, 2, 3, 3))
            from_pole = (
                (plan.purchase_pole[0] if plan.purchase_pole else None)
                if parent < 0
                else pole_ids[parent]
            )
            span_id = self.ids.take("span")
            rows.spans.append((
                span_id, as_of, d, f"V{span_id:08d}", feeder_id, from_pole, pole_ids[i],
                round(length, 2), material, insulation, amps, phases, self.vnr[vnr_code],
                ewkt_line(start, (lon, lat)), self.conductors.get(type_code),
            ))  # fmt: skip
        rows.pole_points = points
        rows.pole_ids = pole_ids

        # Equipment: recloser at the head, fuses at branch points, switches along the trunk,
        # a normally-open tie at its end; regulators and capacitors on long feeders.
        def add_equipment(index: int, kind: str, vnr_code: str, **values) -> None:
            eq_id = self.ids.take("equipment")
            lon, lat = points[index]
            row = {
                "capacity_a": None, "capacity_kva": None, "connection": "Trifásica",
                "operating_mode": "Normalmente cerrado", "voltage_setpoints": "",
                "transformation_ratio": "",
            }  # fmt: skip
            row.update(values)
            rows.equipment.append((
                eq_id, as_of, d, f"EQ{eq_id:07d}", feeder_id, pole_ids[index], kind,
                row["capacity_a"], row["capacity_kva"], row["connection"],
                row["operating_mode"], row["voltage_setpoints"], row["transformation_ratio"],
                self.vnr[vnr_code], ewkt_point(lon, lat),
            ))  # fmt: skip
            for k, month in enumerate(self.months):
                setpoints = row["voltage_setpoints"]
                if kind == "regulador":
                    setpoints = f"Consigna {rng.choice((119, 120, 121))} V, banda 2 V"
                mode = row["operating_mode"]
                if kind == "condensador" and k % 6 == 5:
                    mode = "Fuera de servicio por mantención"
                rows.settings.append((
                    self.ids.take("setting"), as_of, eq_id, month, row["capacity_a"],
                    row["capacity_kva"], row["connection"], mode, setpoints,
                    row["transformation_ratio"],
                ))  # fmt: skip

        add_equipment(
            0,
            "reconectador",
            "EQ-REC",
            capacity_a=rng.choice((400, 630)),
            operating_mode="Automático, normalmente cerrado",
        )
        if plan.purchase_pole:
            # The purchase point of a sub-feeder is switched by a breaker of its own.
            add_equipment(
                0,
                "interruptor",
                "EQ-INT",
                capacity_a=630,
                operating_mode="Normalmente cerrado, punto de compra",
            )
        for i, starts in enumerate(branch_start):
            if starts:
                single = conductor[i] == "lateral"
                add_equipment(
                    i,
                    "fusible",
                    "EQ-FUS",
                    capacity_a=rng.choice((25, 40, 65, 100)),
                    connection="Monofásica" if single else "Trifásica",
                )
        for i in range(80, trunk_len - 10, 120):
            kind, code = ("seccionalizador", "EQ-SEC") if rng.random() < 0.3 else (
                "desconectador",
                "EQ-DES",
            )  # fmt: skip
            add_equipment(i, kind, code, capacity_a=rng.choice((400, 600)))
        add_equipment(
            trunk_len - 1,
            "desconectador",
            "EQ-DES",
            capacity_a=400,
            operating_mode="Normalmente abierto (enlace)",
        )
        total_m = sum(r[7] for r in rows.spans)
        if not urban and trunk_m > 5_000:
            add_equipment(
                int(trunk_len * 0.6),
                "regulador",
                "EQ-REG",
                capacity_a=rng.choice((100, 150, 200)),
                connection="Estrella",
                operating_mode="Automático",
                voltage_setpoints="Consigna 120 V, banda 2 V",
                transformation_ratio="±10 % en 32 pasos",
            )
            if rng.random() < 0.2:
                low = 13.2 if mt >= 15 else 12.0 if mt > 12 else 7.6
                add_equipment(
                    int(trunk_len * 0.5),
                    "autotransformador",
                    "EQ-AUT",
                    capacity_kva=rng.choice((1000, 2000, 3000)),
                    connection="Estrella",
                    operating_mode="Fijo",
                    transformation_ratio=f"{_fmt(mt)}/{_fmt(low)} kV",
                )
        if total_m > 12_000:
            add_equipment(
                int(trunk_len * 0.75),
                "condensador",
                "EQ-BCO",
                capacity_kva=rng.choice((300, 600, 900)),
                connection="Estrella aislada",
                operating_mode=rng.choice(("Fijo", "Automático por tensión")),
                voltage_setpoints="Conexión bajo 0,97 pu, desconexión sobre 1,03 pu",
            )

        # Distribution transformers on poles of this feeder, customers on transformers.
        n_transformers = max(1, round(plan.poles / 16.7))
        candidates = rng.sample(range(1, len(points)), min(n_transformers, len(points) - 1))
        total_kva = 0.0
        for number, index in enumerate(sorted(candidates), start=1):
            kind, phase_options, kvas, vnr_prefix, per = rng.choices(
                TRANSFORMER_TYPES, weights=(50, 20, 30)
            )[0]
            if conductor[index] == "lateral" and kind == "trifasico":
                kind, phase_options, kvas, vnr_prefix, per = TRANSFORMER_TYPES[0]
            kva = rng.choice(kvas)
            total_kva += kva
            secondary = 380 if kind == "trifasico" else 220
            tr_id = self.ids.take("transformer")
            lon, lat = points[index]
            smmc = rng.random() < 0.3
            rows.transformers.append((
                tr_id, as_of, d, f"TD{tr_id:08d}", f"T-{tr_id + 100000:07d}",
                f"{plan.name} T{number:03d}", feeder_id, pole_ids[index], kva,
                "Dyn1" if kind == "trifasico" else "Ii0", mt, secondary, kind,
                rng.choice(phase_options), ewkt_point(lon, lat),
                self.vnr[f"{vnr_prefix}-{kva}"], smmc,
                "Dyn1" if kind == "trifasico" else "Ii0", vk_percent(kva),
            ))  # fmt: skip
            rows.poles[index] = rows.poles[index][:7] + (secondary,) + rows.poles[index][8:]
            if smmc:
                self._demands(rows, None, tr_id, kva * rng.uniform(0.35, 0.9))
            for _ in range(rng.randint(*per)):
                rows.customers.append(self._customer(plan, tr_id, lon, lat, kind))

        capacity_a = rng.choice((300, 400, 500, 600))
        drawn_scc = int(math.sqrt(3) * mt * rng.uniform(3_000, 12_000))
        rows.feeder = (
            feeder_id, as_of, d, plan.code, plan.name,
            "subalimentador" if plan.owner_id else "alimentador", plan.substation_id,
            plan.owner_id, plan.purchase_pole[0] if plan.purchase_pole else None, mt,
            capacity_a, int(total_kva),
            # Drawn even when the substation's is known, so the rest of the seed is unchanged.
            plan.head_scc_kva or drawn_scc,
        )  # fmt: skip
        self._demands(rows, feeder_id, None, total_kva * rng.uniform(0.35, 0.6))
        return rows

    def _demands(self, rows: FeederRows, feeder_id, transformer_id, peak_kw: float) -> None:
        rng = self.rng
        for month in self.months:
            winter = 1 + 0.18 * math.cos((month.month - 7) / 12 * 2 * math.pi)
            maximum = peak_kw * winter * rng.uniform(0.9, 1.05)
            minimum = maximum * rng.uniform(0.2, 0.4)
            rows.demands.append((
                self.ids.take("demand"), self.as_of, feeder_id, transformer_id, month,
                round(maximum, 1), round(minimum, 1), rng.random() < 0.95,
            ))  # fmt: skip

    def _customer(self, plan: FeederPlan, transformer_id: int, lon: float, lat: float, kind: str):
        rng = self.rng
        pk = self.ids.take("customer")
        first = rng.choice(FIRST_NAMES)
        last1, last2 = rng.choice(SURNAMES), rng.choice(SURNAMES)
        body = str(rng.randint(4_000_000, 26_000_000))
        email = f"{first}.{last1}{pk % 1000}@ejemplo.cl".lower().translate(ASCII)
        plon, plat = offset(lon, lat, rng.uniform(8, 60), rng.uniform(0, 2 * math.pi))
        is_eg = rng.random() < 0.03
        eg_kw = rng.choice((2, 3, 5, 5, 6, 10, 10, 30, 100, 300)) if is_eg else None
        three_phase = kind == "trifasico" and rng.random() < 0.3
        return (
            pk, self.as_of, plan.distributor_id, f"{pk + 10_000_000:09d}",
            f"{body}-{rutlib.calc_check_digit(body)}", f"{first} {last1} {last2}", email,
            f"+56 9 {rng.randint(2000, 9999)} {rng.randint(1000, 9999)}",
            f"{rng.choice(STREETS)} {rng.randint(10, 3999)}", plan.comuna_id,
            rng.randint(1, 28), rng.choice((22.0, 33.0, 44.0)) if three_phase
            else rng.choice((3.5, 5.5, 7.0, 8.8)),
            transformer_id, ewkt_point(plon, plat), is_eg, eg_kw,
            ("solar" if rng.random() < 0.92 else "eolica") if is_eg else "",
            date(rng.randint(2016, self.as_of.year - 1), rng.randint(1, 12), rng.randint(1, 28))
            if is_eg else None,
            self._tariff(three_phase),
        )  # fmt: skip

    def _tariff(self, three_phase: bool) -> str:
        """Homes on BT1a (a few on the hourly BT5); three-phase services on the power
        options."""
        rng = self.tariff_rng
        if three_phase:
            return rng.choices(("BT2", "BT3", "BT4.3", "BT4.1"), weights=(35, 35, 20, 10))[0]
        return rng.choices(("BT1a", "BT1b", "BT5"), weights=(92, 5, 3))[0]


def vk_percent(kva: float) -> float:
    """Short-circuit voltage of a distribution transformer by rating (NCh 2031 / IEC 60076-5
    minimums: 4 % up to 630 kVA; small single-phase units lower)."""
    return 3.0 if kva <= 25 else 3.5 if kva <= 75 else 4.0


def _fmt(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _geodesic_length(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlon, dlat = metres_to_degrees((a[1] + b[1]) / 2)
    return math.hypot((b[0] - a[0]) / dlon, (b[1] - a[1]) / dlat)
