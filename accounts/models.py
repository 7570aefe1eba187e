from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    class Profile(models.TextChoices):
        PUBLIC = "public", "Público"
        CLIENT = "client", "Cliente"
        EG = "eg", "Cliente con generación (EG)"
        SEC = "sec", "Auditor SEC"
        PLANNER = "planner", "Planificador"

    profile = models.CharField(
        "perfil", max_length=10, choices=Profile.choices, default=Profile.PUBLIC
    )
    rut = models.CharField(
        "RUT", max_length=12, null=True, blank=True, unique=True, help_text="12345678-5"
    )
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )

    class Meta:
        verbose_name = "usuario"
        verbose_name_plural = "usuarios"
        constraints = [
            models.CheckConstraint(
                condition=Q(rut__isnull=True) | Q(rut__regex=r"^[0-9]{1,8}-[0-9K]$"),
                name="user_rut_normalized",
            ),
            models.CheckConstraint(
                condition=~Q(profile__in=["client", "eg"]) | Q(customer__isnull=False),
                name="user_customer_profiles_have_customer",
            ),
        ]

    # Profile predicates: accounts.permissions composes the access rules from these.
    @property
    def is_public(self) -> bool:
        return self.profile == self.Profile.PUBLIC

    @property
    def is_client(self) -> bool:
        return self.profile == self.Profile.CLIENT

    @property
    def is_eg(self) -> bool:
        return self.profile == self.Profile.EG

    @property
    def is_customer(self) -> bool:
        """A customer's own account, with or without generation (§4, §5)."""
        return self.profile in (self.Profile.CLIENT, self.Profile.EG)

    @property
    def is_sec(self) -> bool:
        return self.profile == self.Profile.SEC

    @property
    def is_planner(self) -> bool:
        return self.profile == self.Profile.PLANNER


class SecAccountManager(UserManager):
    # The admin reads through the default manager: with this one, a change URL of any other
    # account under the proxy finds nothing. Staff and superusers of profile sec are left out
    # too: whoever administers SEC accounts must not reach an account with more rights.
    use_in_migrations = False

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .filter(profile=User.Profile.SEC, is_staff=False, is_superuser=False)
        )


class SecAccount(User):
    """The SEC auditors' accounts (§3), which the distributor issues (accounts.issuance); the
    proxy gives them a list, an add form and permissions of their own in the admin."""

    objects = SecAccountManager()

    class Meta:
        proxy = True
        verbose_name = "cuenta SEC"
        verbose_name_plural = "cuentas SEC"


class AccessLog(models.Model):
    """One view of network or customer data by a registered user (who, what, when, from where).

    Rows are never edited; a user with accesses is deactivated, not deleted, so the trail stays.
    """

    class Kind(models.TextChoices):
        SUBSTATION = "subestacion", "Subestación"
        FEEDER = "alimentador", "Alimentador"
        TRANSFORMER = "transformador", "Transformador"
        POLE = "poste", "Poste"
        SPAN = "vano", "Vano"
        EQUIPMENT = "equipo", "Equipo"
        SEARCH = "busqueda", "Búsqueda"
        VNR = "vnr", "Código VNR"
        MAP = "mapa", "Mapa"
        KMZ = "kmz", "Plano KMZ"
        PDF = "pdf", "Descarga PDF"
        CUSTOMER = "cliente", "Cliente"
        MONITORING = "balances", "Balances y alarmas"
        VEE = "vee", "Validación de lecturas (VEE)"
        METERING_POINTS = "puntos_medicion", "Puntos de medición"
        DOCUMENT = "documento", "Descarga de documento"
        DATA_EXPORT = "mis_datos", "Descarga de datos personales"
        REGULATOR_FEED = "lote_sec", "Descarga de lote para la SEC"
        ACCESS_LOG = "registro", "Registro de accesos"
        QUALITY = "calidad", "Calidad de servicio (SAIDI/SAIFI)"

    # The (user, at) index below also serves the foreign key.
    user = models.ForeignKey(
        User,
        verbose_name="usuario",
        on_delete=models.PROTECT,
        related_name="accesses",
        db_index=False,
    )
    at = models.DateTimeField("fecha y hora", auto_now_add=True, db_index=True)
    kind = models.CharField("tipo", max_length=20, choices=Kind.choices)
    reference = models.CharField(
        "referencia", max_length=200, blank=True, help_text="Id o código de lo consultado."
    )
    path = models.CharField("URL", max_length=500, blank=True)
    ip = models.GenericIPAddressField("IP", null=True, blank=True)

    class Meta:
        verbose_name = "acceso"
        verbose_name_plural = "registro de accesos"
        ordering = ["-at"]
        indexes = [models.Index(fields=["user", "-at"], name="accesslog_user_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference}".strip()
