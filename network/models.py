"""The distribution network model of SPEC.md: substations down to customers' service points.

Geometry is stored in SRID 4326; lengths are true metres. Identifiers and plates are unique per
distributor, so every asset carries its distributor.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.gis.db import models
from django.db.models import F, Q

from core.models import Dated
from geo.models import Comuna, LocatedAsset
from network.querysets import (
    CustomerQuerySet,
    EquipmentQuerySet,
    FeederQuerySet,
    PoleQuerySet,
    SpanQuerySet,
    SubstationQuerySet,
    TransformerQuerySet,
)


class Distributor(Dated):
    code = models.CharField("código", max_length=20, unique=True)
    name = models.CharField("razón social", max_length=150, unique=True)
    rut = models.CharField("RUT", max_length=12, blank=True)
    synthetic = models.BooleanField(
        "datos de demostración",
        default=False,
        help_text="Creada por seed_demo; se puede borrar y regenerar sin perder datos reales.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "empresa distribuidora"
        verbose_name_plural = "empresas distribuidoras"

    def __str__(self) -> str:
        return self.name


class Substation(LocatedAsset):
    region_path = "comuna__region"

    objects = SubstationQuerySet.as_manager()

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField("id subestación", max_length=30, db_index=True)
    name = models.CharField("nombre", max_length=120, unique=True)
    comuna = models.ForeignKey(
        Comuna, verbose_name="comuna", on_delete=models.PROTECT, related_name="substations"
    )
    location = models.PointField("ubicación", srid=4326)
    high_voltage_kv = models.DecimalField("tensión AT (kV)", max_digits=6, decimal_places=1)
    # The network upstream of the MV busbar (HV grid and AT/MT transformers) as IEC 60909's
    # equivalent source, from the protection study.
    scc_max_mva = models.DecimalField(
        "potencia de cortocircuito aguas arriba máxima (MVA)",
        max_digits=8, decimal_places=1, null=True, blank=True,
        help_text="En la barra MT, con la red AT en su condición de máximo cortocircuito.",
    )  # fmt: skip
    scc_min_mva = models.DecimalField(
        "potencia de cortocircuito aguas arriba mínima (MVA)",
        max_digits=8, decimal_places=1, null=True, blank=True,
        help_text="En la barra MT, con la red AT en su condición de mínimo cortocircuito.",
    )  # fmt: skip
    scc_rx = models.DecimalField(
        "razón R/X aguas arriba",
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.10"),
        db_default=Decimal("0.10"),
    )
    scc_x0x1 = models.DecimalField(
        "razón X₀/X₁ aguas arriba", max_digits=4, decimal_places=2, default=Decimal("1.00"),
        db_default=Decimal("1.00"),
        help_text="Secuencia cero en la barra MT (neutro del transformador AT/MT a tierra).",
    )  # fmt: skip
    scc_r0x0 = models.DecimalField(
        "razón R₀/X₀ aguas arriba",
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.10"),
        db_default=Decimal("0.10"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "subestación"
        verbose_name_plural = "subestaciones"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="substation_code_unique"),
            models.CheckConstraint(condition=Q(high_voltage_kv__gt=0), name="substation_hv_gt0"),
            models.CheckConstraint(
                condition=Q(scc_min_mva__isnull=True)
                | Q(scc_max_mva__isnull=True)
                | Q(scc_min_mva__gt=0, scc_max_mva__gte=F("scc_min_mva")),
                name="substation_scc_min_lte_max",
            ),
            models.CheckConstraint(
                condition=Q(scc_rx__gte=0, scc_x0x1__gt=0, scc_r0x0__gte=0),
                name="substation_scc_ratios",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PowerTransformer(Dated):
    """AT/MT power transformer of a substation."""

    substation = models.ForeignKey(
        Substation,
        verbose_name="subestación",
        on_delete=models.CASCADE,
        related_name="power_transformers",
    )
    code = models.CharField("id", max_length=30)
    name = models.CharField("nombre", max_length=120)
    capacity_mva = models.DecimalField("capacidad (MVA)", max_digits=7, decimal_places=2)
    primary_kv = models.DecimalField("tensión primaria (kV)", max_digits=6, decimal_places=1)
    secondary_kv = models.DecimalField("tensión secundaria (kV)", max_digits=6, decimal_places=1)

    class Meta:
        ordering = ["substation", "code"]
        verbose_name = "transformador de poder AT/MT"
        verbose_name_plural = "transformadores de poder AT/MT"
        constraints = [
            models.UniqueConstraint(fields=["substation", "code"], name="power_transformer_code"),
            models.UniqueConstraint(fields=["substation", "name"], name="power_transformer_name"),
            models.CheckConstraint(condition=Q(capacity_mva__gt=0), name="power_tr_capacity_gt0"),
            models.CheckConstraint(
                condition=Q(primary_kv__gt=F("secondary_kv")), name="power_tr_steps_down"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Feeder(Dated):
    class Kind(models.TextChoices):
        FEEDER = "alimentador", "Alimentador"
        SUBFEEDER = "subalimentador", "Subalimentador"

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField("id alimentador", max_length=30, db_index=True)
    name = models.CharField("nombre", max_length=120, unique=True)
    kind = models.CharField("tipo", max_length=16, choices=Kind.choices, default=Kind.FEEDER)
    substation = models.ForeignKey(
        Substation, verbose_name="subestación", on_delete=models.PROTECT, related_name="feeders"
    )
    owner = models.ForeignKey(
        Distributor,
        verbose_name="distribuidora propietaria",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Sólo subalimentadores: empresa propietaria.",
    )
    purchase_node = models.ForeignKey(
        "Pole",
        verbose_name="nodo de distribución (punto de compra)",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Sólo subalimentadores: poste donde se compra la energía.",
    )
    nominal_voltage_kv = models.DecimalField("tensión nominal (kV)", max_digits=5, decimal_places=1)
    capacity_a = models.PositiveIntegerField("capacidad (A)")
    power_kva = models.PositiveIntegerField("potencia (kVA)")
    short_circuit_kva = models.PositiveIntegerField("potencia de cortocircuito en cabecera (kVA)")
    outline = models.MultiLineStringField(
        "trazado generalizado",
        srid=4326,
        null=True,
        blank=True,
        editable=False,
        help_text="Sus vanos unidos y simplificados; se recalcula cuando cambia la topología.",
    )

    objects = FeederQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "alimentador"
        verbose_name_plural = "alimentadores"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="feeder_code_unique"),
            models.CheckConstraint(
                condition=Q(nominal_voltage_kv__gte=1, nominal_voltage_kv__lte=36),
                name="feeder_voltage_is_mv",
            ),
            models.CheckConstraint(condition=Q(short_circuit_kva__gt=0), name="feeder_scc_gt0"),
            models.CheckConstraint(
                condition=(
                    Q(kind="alimentador", owner__isnull=True, purchase_node__isnull=True)
                    | Q(kind="subalimentador", owner__isnull=False, purchase_node__isnull=False)
                ),
                name="feeder_subfeeder_has_owner_and_node",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ConductorType(Dated):
    """A conductor of the catalogue: its sequence impedances and ampacity, by material and
    section. Positive-sequence R is given at 20 °C (IEC 60909's maximum short circuit) and at
    the operating temperature (minimum short circuit, load flow)."""

    code = models.CharField("código", max_length=40, unique=True)
    name = models.CharField("descripción", max_length=120)
    material = models.CharField("material", max_length=40)
    section_mm2 = models.DecimalField("sección (mm²)", max_digits=6, decimal_places=1)
    insulation = models.CharField("aislación", max_length=40)
    r20_ohm_km = models.DecimalField("R a 20 °C (Ω/km)", max_digits=7, decimal_places=4)
    operating_temp_c = models.PositiveSmallIntegerField("temperatura de operación (°C)")
    r_op_ohm_km = models.DecimalField(
        "R a la temperatura de operación (Ω/km)", max_digits=7, decimal_places=4
    )
    x_ohm_km = models.DecimalField("X (Ω/km)", max_digits=7, decimal_places=4)
    r0_ohm_km = models.DecimalField("R₀ secuencia cero (Ω/km)", max_digits=7, decimal_places=4)
    x0_ohm_km = models.DecimalField("X₀ secuencia cero (Ω/km)", max_digits=7, decimal_places=4)
    ampacity_a = models.PositiveIntegerField("capacidad térmica (A)")

    class Meta:
        ordering = ["code"]
        verbose_name = "tipo de conductor"
        verbose_name_plural = "catálogo de conductores"
        constraints = [
            models.CheckConstraint(condition=Q(section_mm2__gt=0), name="conductor_section_gt0"),
            models.CheckConstraint(condition=Q(r20_ohm_km__gt=0), name="conductor_r20_gt0"),
            models.CheckConstraint(
                condition=Q(r_op_ohm_km__gte=F("r20_ohm_km")), name="conductor_r_op_gte_r20"
            ),
            models.CheckConstraint(
                condition=Q(operating_temp_c__gte=20), name="conductor_temp_gte20"
            ),
            models.CheckConstraint(
                condition=Q(x_ohm_km__gt=0, r0_ohm_km__gt=0, x0_ohm_km__gt=0),
                name="conductor_impedances_gt0",
            ),
            models.CheckConstraint(condition=Q(ampacity_a__gt=0), name="conductor_ampacity_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class Pole(LocatedAsset):
    region_path = "feeder__substation__comuna__region"

    objects = PoleQuerySet.as_manager()

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    plate = models.CharField("placa", max_length=30, db_index=True)
    feeder = models.ForeignKey(
        Feeder, verbose_name="alimentador", on_delete=models.PROTECT, related_name="poles"
    )
    location = models.PointField("ubicación", srid=4326)
    mt_voltage_kv = models.DecimalField("tensión media (kV)", max_digits=5, decimal_places=1)
    bt_voltage_v = models.PositiveSmallIntegerField("tensión baja (V)", null=True, blank=True)
    material = models.CharField("material", max_length=30, blank=True)
    height_m = models.DecimalField(
        "altura (m)", max_digits=4, decimal_places=1, null=True, blank=True
    )
    vnr = models.ForeignKey(
        "vnr.VnrCode", verbose_name="código VNR", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["plate"]
        verbose_name = "poste"
        verbose_name_plural = "postes"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "plate"], name="pole_plate_unique"),
            models.CheckConstraint(condition=Q(mt_voltage_kv__gt=0), name="pole_mt_gt0"),
        ]

    def __str__(self) -> str:
        return self.plate


class Span(Dated):
    """A vano: the conductor between two nodes. A null origin is the substation's feeder bay."""

    objects = SpanQuerySet.as_manager()

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField("id vano", max_length=30, db_index=True)
    feeder = models.ForeignKey(
        Feeder, verbose_name="alimentador", on_delete=models.PROTECT, related_name="spans"
    )
    from_pole = models.ForeignKey(
        Pole,
        verbose_name="nodo origen",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="spans_out",
        help_text="Vacío: el vano sale de la subestación.",
    )
    to_pole = models.ForeignKey(
        Pole, verbose_name="nodo destino", on_delete=models.PROTECT, related_name="spans_in"
    )
    length_m = models.DecimalField("longitud (m)", max_digits=9, decimal_places=2)
    conductor_material = models.CharField("material del conductor", max_length=40)
    conductor_insulation = models.CharField("aislación del conductor", max_length=40)
    capacity_a = models.PositiveIntegerField("capacidad del conductor (A)")
    conductor_type = models.ForeignKey(
        ConductorType,
        verbose_name="tipo de conductor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Del catálogo de conductores: sin él, el alimentador queda sin cálculo de "
        "cortocircuito ni de capacidad.",
    )
    phases = models.PositiveSmallIntegerField("cantidad de fases")
    vnr = models.ForeignKey(
        "vnr.VnrCode", verbose_name="código VNR", on_delete=models.PROTECT, related_name="+"
    )
    geom = models.LineStringField("trazado", srid=4326)

    class Meta:
        ordering = ["code"]
        verbose_name = "vano"
        verbose_name_plural = "vanos"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="span_code_unique"),
            models.CheckConstraint(condition=Q(length_m__gt=0), name="span_length_gt0"),
            models.CheckConstraint(condition=Q(phases__gte=1, phases__lte=3), name="span_phases"),
            models.CheckConstraint(condition=~Q(from_pole=F("to_pole")), name="span_nodes_differ"),
        ]

    def __str__(self) -> str:
        return self.code


class Equipment(LocatedAsset):
    region_path = "feeder__substation__comuna__region"

    objects = EquipmentQuerySet.as_manager()

    class Kind(models.TextChoices):
        RECLOSER = "reconectador", "Reconectador"
        FUSE = "fusible", "Fusible"
        BREAKER = "interruptor", "Interruptor"
        SWITCH = "desconectador", "Desconectador"
        SECTIONALIZER = "seccionalizador", "Seccionalizador"
        CAPACITOR = "condensador", "Banco de condensadores"
        REGULATOR = "regulador", "Regulador de tensión"
        AUTOTRANSFORMER = "autotransformador", "Autotransformador"

    class Category(models.TextChoices):
        PROTECTION = "proteccion", "Equipos de protección"
        SWITCHING = "maniobra", "Equipos de maniobra"
        COMPENSATION = "compensacion", "Equipos de compensación"
        REGULATION = "regulacion", "Reguladores de tensión"
        AUTOTRANSFORMER = "autotransformador", "Autotransformadores"

    CATEGORY_OF = {
        Kind.RECLOSER: Category.PROTECTION,
        Kind.FUSE: Category.PROTECTION,
        Kind.BREAKER: Category.PROTECTION,
        Kind.SWITCH: Category.SWITCHING,
        Kind.SECTIONALIZER: Category.SWITCHING,
        Kind.CAPACITOR: Category.COMPENSATION,
        Kind.REGULATOR: Category.REGULATION,
        Kind.AUTOTRANSFORMER: Category.AUTOTRANSFORMER,
    }

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField("id equipo", max_length=30, db_index=True)
    feeder = models.ForeignKey(
        Feeder, verbose_name="alimentador", on_delete=models.PROTECT, related_name="equipment"
    )
    pole = models.ForeignKey(
        Pole, verbose_name="poste", on_delete=models.PROTECT, null=True, blank=True,
        related_name="equipment",
    )  # fmt: skip
    span = models.ForeignKey(
        "Span", verbose_name="vano que maniobra", on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
        help_text="El vano que el equipo abre o cierra, en uno de sus extremos (su poste). "
        "Un equipo normalmente abierto corta ese vano en ese poste.",
    )  # fmt: skip
    kind = models.CharField("tipo de equipo", max_length=20, choices=Kind.choices)
    capacity_a = models.PositiveIntegerField("capacidad (A)", null=True, blank=True)
    capacity_kva = models.PositiveIntegerField("capacidad (kVA)", null=True, blank=True)
    connection = models.CharField("conexión", max_length=40)
    operating_mode = models.CharField("modo de operación", max_length=60)
    voltage_setpoints = models.CharField("consignas de tensión", max_length=80, blank=True)
    transformation_ratio = models.CharField("razón de transformación", max_length=40, blank=True)
    vnr = models.ForeignKey(
        "vnr.VnrCode", verbose_name="código VNR", on_delete=models.PROTECT, related_name="+"
    )
    location = models.PointField("ubicación", srid=4326)

    class Meta:
        ordering = ["code"]
        verbose_name = "equipo"
        verbose_name_plural = "equipos"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="equipment_code_unique"),
            models.CheckConstraint(
                condition=Q(capacity_a__isnull=False) | Q(capacity_kva__isnull=False),
                name="equipment_has_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"

    @property
    def category(self) -> str:
        return self.CATEGORY_OF[self.Kind(self.kind)]


class EquipmentSetting(Dated):
    """An equipment's settings in one month (SEC annex §2.3 fig. 11 keeps them month by month)."""

    equipment = models.ForeignKey(
        Equipment, verbose_name="equipo", on_delete=models.CASCADE, related_name="settings"
    )
    month = models.DateField("mes", help_text="Primer día del mes.")
    capacity_a = models.PositiveIntegerField("capacidad (A)", null=True, blank=True)
    capacity_kva = models.PositiveIntegerField("capacidad (kVA)", null=True, blank=True)
    connection = models.CharField("conexión", max_length=40)
    operating_mode = models.CharField("modo de operación", max_length=60)
    voltage_setpoints = models.CharField("consignas de tensión", max_length=80, blank=True)
    transformation_ratio = models.CharField("razón de transformación", max_length=40, blank=True)

    class Meta:
        ordering = ["equipment", "-month"]
        verbose_name = "ajuste mensual de equipo"
        verbose_name_plural = "ajustes mensuales de equipos"
        constraints = [
            models.UniqueConstraint(fields=["equipment", "month"], name="equipment_setting_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="equipment_setting_first_day"),
            models.CheckConstraint(
                condition=Q(capacity_a__isnull=False) | Q(capacity_kva__isnull=False),
                name="equipment_setting_has_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.equipment.code} {self.month:%m/%Y}"


# IEC 60076-1 vector groups: HV winding (D, Y, YN, Z, ZN), LV winding (d, y, yn, z, zn), clock
# number; single-phase units are Ii0 or Ii6. Empty: not known.
VECTOR_GROUP = r"^(([DYZ]N?[dyz]n?([0-9]|1[01]))|Ii0|Ii6)?$"


class Transformer(LocatedAsset):
    """A distribution transformer (MT/BT); its "número" is the plate of the pole it stands on."""

    region_path = "feeder__substation__comuna__region"

    objects = TransformerQuerySet.as_manager()

    class Kind(models.TextChoices):
        SINGLE = "monofasico", "Monofásico"
        TWO = "bifasico", "Bifásico"
        THREE = "trifasico", "Trifásico"

    PHASES = ("RST", "RS", "RT", "ST", "R", "S", "T")

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    code = models.CharField("id transformador", max_length=30, db_index=True)
    plate = models.CharField("placa", max_length=30, db_index=True)
    name = models.CharField("nombre", max_length=120)
    feeder = models.ForeignKey(
        Feeder, verbose_name="alimentador", on_delete=models.PROTECT, related_name="transformers"
    )
    pole = models.ForeignKey(
        Pole, verbose_name="poste (número)", on_delete=models.PROTECT, related_name="transformers"
    )
    capacity_kva = models.DecimalField("capacidad (kVA)", max_digits=7, decimal_places=1)
    connection = models.CharField("conexión", max_length=20)
    vector_group = models.CharField(
        "grupo de conexión",
        max_length=8,
        blank=True,
        db_default="",  # the seed COPYs transformers without this column
        help_text="IEC 60076-1: Dyn1, Dyn11, YNyn0, Yzn11; Ii0 o Ii6 en monofásicos.",
    )
    vk_percent = models.DecimalField(
        "tensión de cortocircuito vk (%)", max_digits=4, decimal_places=2, null=True, blank=True
    )
    primary_kv = models.DecimalField("tensión primaria (kV)", max_digits=5, decimal_places=1)
    secondary_v = models.PositiveSmallIntegerField("tensión secundaria (V)")
    kind = models.CharField("tipo", max_length=10, choices=Kind.choices)
    phases = models.CharField(
        "identificador de fases", max_length=3, choices=[(p, p) for p in PHASES]
    )
    location = models.PointField("ubicación", srid=4326)
    vnr = models.ForeignKey(
        "vnr.VnrCode", verbose_name="código VNR", on_delete=models.PROTECT, related_name="+"
    )
    smmc = models.BooleanField(
        "con monitoreo SMMC",
        default=False,
        help_text="Cuenta con equipos de monitoreo incorporados al SMMC.",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "transformador de distribución"
        verbose_name_plural = "transformadores de distribución"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="transformer_code_unique"),
            models.UniqueConstraint(
                fields=["distributor", "plate"], name="transformer_plate_unique"
            ),
            models.CheckConstraint(condition=Q(capacity_kva__gt=0), name="transformer_kva_gt0"),
            models.CheckConstraint(
                condition=Q(vk_percent__isnull=True) | Q(vk_percent__gt=0, vk_percent__lt=30),
                name="transformer_vk_range",
            ),
            models.CheckConstraint(
                condition=Q(vector_group__regex=VECTOR_GROUP), name="transformer_vector_group"
            ),
            models.CheckConstraint(
                condition=Q(phases__in=("RST", "RS", "RT", "ST", "R", "S", "T")),
                name="transformer_phases_known",
            ),
            models.CheckConstraint(
                condition=Q(kind="trifasico", phases="RST")
                | (~Q(kind="trifasico") & ~Q(phases="RST")),
                name="transformer_three_phase_is_rst",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def voltage_label(self) -> str:
        return f"{self.primary_kv:n}/{self.secondary_v / 1000:n} kV"


class Customer(LocatedAsset):
    """A customer's service point; EG customers (net billing) carry their plant's data."""

    region_path = "comuna__region"

    class EgTechnology(models.TextChoices):
        SOLAR = "solar", "Solar fotovoltaica"
        WIND = "eolica", "Eólica"
        HYDRO = "hidraulica", "Hidráulica"
        COGENERATION = "cogeneracion", "Cogeneración"
        OTHER = "otra", "Otra"

    class Tariff(models.TextChoices):
        """The regulated tariff options of the distribution tariff decree (BT: low voltage,
        AT: high voltage, i.e. medium voltage in distribution)."""

        BT1A = "BT1a", "BT1a: energía, consumo de invierno sin límite"
        BT1B = "BT1b", "BT1b: energía, con límite de invierno"
        BT2 = "BT2", "BT2: potencia contratada"
        BT3 = "BT3", "BT3: demanda máxima leída"
        BT41 = "BT4.1", "BT4.1: horaria, potencia contratada en punta y máxima contratada"
        BT42 = "BT4.2", "BT4.2: horaria, punta leída y máxima contratada"
        BT43 = "BT4.3", "BT4.3: horaria, punta leída y máxima leída"
        BT5 = "BT5", "BT5: energía horaria"
        AT2 = "AT2", "AT2: potencia contratada"
        AT3 = "AT3", "AT3: demanda máxima leída"
        AT41 = "AT4.1", "AT4.1: horaria, potencia contratada en punta y máxima contratada"
        AT42 = "AT4.2", "AT4.2: horaria, punta leída y máxima contratada"
        AT43 = "AT4.3", "AT4.3: horaria, punta leída y máxima leída"

    distributor = models.ForeignKey(
        Distributor,
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    number = models.CharField("número de cliente", max_length=20, db_index=True)
    rut = models.CharField("RUT", max_length=12, db_index=True, help_text="Normalizado: 12345678-5")
    name = models.CharField("nombre", max_length=150)
    email = models.EmailField("correo electrónico", blank=True)
    phone = models.CharField("teléfono", max_length=20, blank=True)
    address = models.CharField("dirección", max_length=200)
    comuna = models.ForeignKey(
        Comuna, verbose_name="comuna", on_delete=models.PROTECT, related_name="customers"
    )
    billing_day = models.PositiveSmallIntegerField("día de facturación")
    service_capacity_kw = models.DecimalField(
        "capacidad del empalme (kW)", max_digits=7, decimal_places=1
    )
    transformer = models.ForeignKey(
        Transformer,
        verbose_name="transformador",
        on_delete=models.PROTECT,
        related_name="customers",
    )
    location = models.PointField("punto de servicio", srid=4326)
    is_eg = models.BooleanField("con generación (EG)", default=False)
    eg_capacity_kw = models.DecimalField(
        "potencia instalada EG (kW)", max_digits=8, decimal_places=1, null=True, blank=True
    )
    eg_technology = models.CharField(
        "tecnología EG", max_length=15, choices=EgTechnology.choices, blank=True
    )
    eg_connected_on = models.DateField("fecha de conexión EG", null=True, blank=True)
    # Blank until the CIS says: a default option would tell SEC a tariff nobody chose.
    tariff = models.CharField(
        "opción tarifaria",
        max_length=6,
        choices=Tariff.choices,
        blank=True,
        db_index=True,
        help_text="Opción tarifaria regulada del cliente; en blanco si el CIS no la ha informado.",
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = "cliente"
        verbose_name_plural = "clientes"
        # RUT, name, email, phone and address: accounts.permissions.sees_customer_personal_data.
        permissions = [("view_customer_personal_data", "Ver datos personales de clientes")]
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "number"], name="customer_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(rut__regex=r"^[0-9]{1,8}-[0-9K]$"), name="customer_rut_normalized"
            ),
            models.CheckConstraint(
                condition=Q(billing_day__gte=1, billing_day__lte=31), name="customer_billing_day"
            ),
            models.CheckConstraint(
                condition=(
                    Q(is_eg=True, eg_capacity_kw__isnull=False, eg_capacity_kw__gt=0)
                    & Q(eg_connected_on__isnull=False)
                    & ~Q(eg_technology="")
                )
                | Q(
                    is_eg=False,
                    eg_capacity_kw__isnull=True,
                    eg_technology="",
                    eg_connected_on__isnull=True,
                ),
                name="customer_eg_data_iff_eg",
            ),
        ]

    def __str__(self) -> str:
        return self.number


# The feeder's asset searches of the feeder page (annex fig. 11), by the word the page uses.
FEEDER_ASSET_KINDS = {"poste": Pole, "vano": Span, "equipo": Equipment}


def feeder_assets(feeder: Feeder, kind: str, term: str = "") -> models.QuerySet:
    """One read for the feeder page's asset search and its CSV/GeoJSON download: the poles,
    spans or equipment of `feeder` whose identifier starts with `term`."""
    rows = FEEDER_ASSET_KINDS[kind].objects.of_feeder(feeder).identified_by(term).listed()
    if kind == "equipo":
        rows = rows.with_history()
    if kind != "vano":
        rows = rows.with_utm_zone()
    return rows
