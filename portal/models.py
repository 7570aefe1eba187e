"""Abstract bases shared by the apps (portal itself is not an installed app)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Dated(models.Model):
    """Every record carries the date its data was last updated ("fecha de actualización")."""

    as_of = models.DateField("fecha de actualización", default=timezone.localdate, db_index=False)

    class Meta:
        abstract = True
