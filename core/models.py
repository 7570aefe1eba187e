"""Abstract bases shared by the apps: the date of the data, and the located asset with its
QuerySet (the style of saleor's core/models.py: an abstract model ships its own QuerySet)."""

from __future__ import annotations

import os
from typing import ClassVar

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F
from django.utils import timezone


class Dated(models.Model):
    """Every record carries the date its data was last updated ("fecha de actualización")."""

    as_of = models.DateField("fecha de actualización", default=timezone.localdate, db_index=False)

    class Meta:
        abstract = True


class AssetQuerySet(models.QuerySet):
    def with_place(self) -> AssetQuerySet:
        """The row's comuna and región read in the same query, without their boundaries
        (megabytes that no list or detail page draws)."""
        region = self.model.region_path
        comuna = region.rsplit("__", 1)[0]
        return self.select_related(region).defer(f"{comuna}__boundary", f"{region}__boundary")

    def with_utm_zone(self) -> AssetQuerySet:
        """Each row carries its región's presentation zone, read in the same SQL (no query per
        row to walk up to the región)."""
        return self.annotate(region_utm_zone=F(f"{self.model.region_path}__utm_zone"))


class Asset(Dated):
    """A dated row with a location inside a región.

    `region_path` is the lookup from the row to its región; `region_zone` reads the annotation
    of `with_utm_zone()` when the list asked for it, and walks the relations otherwise.
    """

    region_path: ClassVar[str] = ""

    objects = AssetQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def region_zone(self) -> int | None:
        zone = getattr(self, "region_utm_zone", None)
        if zone is not None:
            return zone
        target = self
        for step in self.region_path.split("__"):
            target = getattr(target, step, None)
            if target is None:
                return None
        self.region_utm_zone = target.utm_zone
        return target.utm_zone


class ImportStorage(FileSystemStorage):
    """settings.IMPORT_UPLOAD_DIR, read when used (tests point it at a temporary directory);
    never served: no URL."""

    @property
    def base_location(self):
        return str(settings.IMPORT_UPLOAD_DIR)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Los archivos de importación no se publican.")


def _upload_to(job: ImportJob, filename: str) -> str:
    return f"{job.kind}/{timezone.localdate():%Y/%m}/{filename}"


class ImportJob(models.Model):
    """A file a planner uploaded in the admin to import: checked first (a dry run whose report
    the planner reads), applied when asked, both as Celery tasks (core.tasks).

    The kinds (network export, readings, billing) are registered by their apps (core.jobs); the
    file and its report stay in settings.IMPORT_UPLOAD_DIR, private like the billing PDFs.
    """

    class Status(models.TextChoices):
        CHECKING = "revisando", "Revisando (simulación)"
        CHECKED = "revisado", "Revisado: puede aplicarse"
        REFUSED = "rechazado", "Rechazado en la revisión"
        APPLYING = "aplicando", "Aplicando"
        APPLIED = "aplicado", "Aplicado"
        APPLIED_WITH_ERRORS = "aplicado_con_errores", "Aplicado con filas rechazadas"
        FAILED = "fallido", "Falló"

    RUNNING = (Status.CHECKING, Status.APPLYING)

    kind = models.CharField("tipo", max_length=30)
    file = models.FileField(
        "archivo", upload_to=_upload_to, storage=ImportStorage(), max_length=300
    )
    options = models.JSONField("opciones", default=dict, blank=True)
    status = models.CharField(
        "estado", max_length=30, choices=Status.choices, default=Status.CHECKING
    )
    summary = models.TextField("resumen", blank=True)
    counts = models.JSONField("conteos", default=dict, blank=True)
    report = models.CharField("informe", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, verbose_name="subido por", related_name="+"
    )
    created_at = models.DateTimeField("subido", default=timezone.now)
    started_at = models.DateTimeField("inicio del paso en curso", null=True, blank=True)
    checked_at = models.DateTimeField("revisado", null=True, blank=True)
    applied_at = models.DateTimeField("aplicado", null=True, blank=True)

    class Meta:
        verbose_name = "importación"
        verbose_name_plural = "importaciones"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file.name.rsplit('/', 1)[-1]} ({self.get_status_display()})"

    @property
    def running(self) -> bool:
        return self.status in self.RUNNING


class TaskRun(models.Model):
    """One run of a Celery task (scheduled by beat or sent by the portal): when, how long,
    how it ended. Written by core.scheduled from Celery's signals, for the scheduled tasks'
    page and its alarm."""

    class Status(models.TextChoices):
        RUNNING = "running", "en curso"
        SUCCESS = "success", "terminada"
        FAILED = "failed", "fallida"

    id = models.BigAutoField(primary_key=True)
    task = models.CharField("tarea", max_length=200, db_index=True)
    celery_id = models.CharField("id de Celery", max_length=50, db_index=True)
    started_at = models.DateTimeField("inicio")
    finished_at = models.DateTimeField("término", null=True, blank=True)
    status = models.CharField(
        "estado", max_length=8, choices=Status.choices, default=Status.RUNNING
    )
    result = models.CharField("resultado", max_length=300, blank=True)
    error = models.TextField("error", blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "ejecución de tarea"
        verbose_name_plural = "ejecuciones de tareas"
        indexes = [models.Index(fields=["task", "-started_at"], name="taskrun_latest")]

    def __str__(self) -> str:
        return f"{self.task} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None
