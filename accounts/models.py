from __future__ import annotations

from django.contrib.auth.models import AbstractUser
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
