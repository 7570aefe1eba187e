"""Imports from the admin (core.ImportJob): upload, the dry run's report, apply; the network
export as the kind, on the real mv_oberrhein export zipped as a planner would upload it."""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
import zipfile

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.services import CUSTOMER_SERVICE_GROUP
from core import jobs
from core.models import ImportJob
from network.models import Distributor, Span
from tests.network.import_helpers import TINY

ADD = "/admin/core/importjob/add/"


@pytest.fixture(autouse=True)
def private_uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "importaciones"


def zipped(directory, extra: dict[str, bytes] | None = None) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(directory.glob("*")):
            if path.suffix in (".geojson", ".csv"):
                bundle.write(path, path.name)
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return SimpleUploadedFile("oberrhein.zip", buffer.getvalue(), "application/zip")


def upload(client, upload_file, mapping="mv_oberrhein", kind="red", **options):
    data = {"kind": kind, "file": upload_file, f"{kind}__mapping": mapping}
    data.update({f"{kind}__{name}": value for name, value in options.items()})
    return client.post(ADD, data)


def test_a_planner_uploads_reads_the_dry_run_then_applies(
    client, planner, catalogue, oberrhein, django_capture_on_commit_callbacks
):
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, zipped(oberrhein))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_importjob_change", args=[job.pk])
    # The check is a dry run: its report is there, nothing of the network is.
    assert job.status == ImportJob.Status.CHECKED, job.summary
    assert job.created_by == planner
    assert job.options == {
        "mapping": "mv_oberrhein",
        "parcial": False,
        "permitir_movimientos": False,
    }
    assert not Distributor.objects.filter(code="OBERRHEIN").exists()
    page = client.get(response["Location"]).content.decode()
    assert "Revisado: puede aplicarse" in page and "Aplicar la importación" in page
    assert job.summary in page
    report = client.get(reverse("admin:core_importjob_report", args=[job.pk]))
    assert report.status_code == 200
    header = next(csv.reader(io.StringIO(report.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert header[:3] == ["archivo", "entidad", "feature"]

    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(reverse("admin:core_importjob_apply", args=[job.pk]))
    assert applied.status_code == 302
    job.refresh_from_db()
    assert job.status in (ImportJob.Status.APPLIED, ImportJob.Status.APPLIED_WITH_ERRORS)
    assert job.applied_at is not None
    assert Span.objects.filter(feeder__substation__distributor__code="OBERRHEIN").count() > 100
    # Applied once: a second click changes nothing and says why.
    again = client.post(reverse("admin:core_importjob_apply", args=[job.pk]), follow=True)
    assert "No se aplicó" in again.content.decode()
    state = client.get(reverse("admin:core_importjob_status", args=[job.pk])).json()
    assert state["status"] == job.status and state["running"] is False


def test_a_zip_with_a_path_outside_it_is_refused_and_nothing_is_written(
    client, planner, catalogue, oberrhein, django_capture_on_commit_callbacks, tmp_path
):
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, zipped(oberrhein, {"../../fuera.txt": b"x"}))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REFUSED
    assert "ruta fuera" in job.summary and "../../fuera.txt" in job.summary
    assert not (tmp_path / "fuera.txt").exists()
    assert not Distributor.objects.filter(code="OBERRHEIN").exists()
    page = client.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert "Aplicar la importación" not in page
    refused = client.post(reverse("admin:core_importjob_apply", args=[job.pk]), follow=True)
    assert "No se aplicó" in refused.content.decode()


def test_the_form_refuses_a_file_of_another_kind_and_an_unknown_mapping(client, planner):
    client.force_login(planner)
    wrong = SimpleUploadedFile("lecturas.csv", b"a;b\n", "text/csv")
    page = upload(client, wrong).content.decode()
    assert "lecturas.csv: para «Exportación GIS de la red» se aceptan archivos" in page
    page = upload(client, SimpleUploadedFile("red.gpkg", b"x"), mapping="otro").content.decode()
    assert "Escoja una opción válida" in page
    assert not ImportJob.objects.exists()


def test_only_those_with_an_import_kind_may_upload(client, django_user_model):
    service = django_user_model.objects.create_user("ejecutiva", "e@example.cl", is_staff=True)
    service.groups.add(Group.objects.get(name=CUSTOMER_SERVICE_GROUP))
    client.force_login(service)
    assert client.get(ADD).status_code == 403
    assert client.get("/admin/core/importjob/").status_code == 403


def test_a_failure_nobody_foresaw_fails_the_job_with_its_message(
    client, planner, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(job, progress):
        raise RuntimeError("disco lleno")

    monkeypatch.setitem(jobs.KINDS, "red", dataclasses.replace(jobs.KINDS["red"], check=broken))
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, SimpleUploadedFile("red.gpkg", b"x"))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.summary == "Error inesperado: RuntimeError: disco lleno"


@pytest.mark.parametrize("partial", [False, True])
def test_rejected_rows_refuse_the_whole_file_unless_the_valid_part_is_asked_for(
    client, planner, catalogue, settings, django_capture_on_commit_callbacks, partial
):
    # The small export of the import tests: four rows in it are wrong on purpose.
    settings.IMPORT_MAPPINGS_DIR = TINY.parent
    client.force_login(planner)
    options = {"parcial": "on"} if partial else {}
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, zipped(TINY.parent), mapping="mapping", **options)
    job = ImportJob.objects.get()
    rows = client.get(reverse("admin:core_importjob_report", args=[job.pk])).getvalue()
    assert "error" in rows.decode("utf-8-sig")  # the rejected rows are in the report
    if not partial:
        assert job.status == ImportJob.Status.REFUSED, job.summary
        return
    assert job.status == ImportJob.Status.CHECKED, job.summary
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:core_importjob_apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLIED_WITH_ERRORS, job.summary
    assert Span.objects.filter(feeder__substation__distributor__code="PRUEBA").exists()


def test_the_page_follows_a_running_step_with_its_progress(
    client, planner, monkeypatch, django_capture_on_commit_callbacks
):
    seen = {}

    def slow_check(job, progress):
        progress(0.4, "Leyendo vanos")
        # What the page's script reads meanwhile, and the page itself.
        seen["state"] = client.get(reverse("admin:core_importjob_status", args=[job.pk])).json()
        seen["page"] = client.get(reverse("admin:core_importjob_change", args=[job.pk]))
        return jobs.Outcome(True, "listo")

    monkeypatch.setitem(jobs.KINDS, "red", dataclasses.replace(jobs.KINDS["red"], check=slow_check))
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, SimpleUploadedFile("red.gpkg", b"x"))
    assert seen["state"] == {
        "status": "revisando",
        "label": "Revisando (simulación)",
        "running": True,
        "fraction": 0.4,
        "what": "Leyendo vanos",
    }
    page = seen["page"].content.decode()
    assert 'value="0.400"' in page and "Leyendo vanos" in page
    assert "/static/js/import_job.js" in page
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.CHECKED
    state = client.get(reverse("admin:core_importjob_status", args=[job.pk])).json()
    assert state["running"] is False and state["fraction"] is None


def test_import_network_reports_its_steps_in_order(catalogue, oberrhein):
    from network.services.importing import import_network
    from tests.network.import_helpers import OBERRHEIN

    steps = []
    import_network(
        OBERRHEIN, source=oberrhein, dry_run=True, on_progress=lambda f, w: steps.append((f, w))
    )
    fractions = [fraction for fraction, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(what.startswith("Leyendo vanos") for _, what in steps)
    assert "Validando la red" in [what for _, what in steps]


def test_a_single_geopackage_stands_for_every_layer_of_its_mapping(
    client, planner, catalogue, settings, tmp_path, django_capture_on_commit_callbacks
):
    # The small export as one GeoPackage (a layer per file), and its mapping naming the layers.
    package = tmp_path / "red.gpkg"
    text = TINY.read_text()
    for source in sorted(TINY.parent.glob("*.geojson")):
        if f'file = "{source.name}"' not in text:
            continue
        subprocess.run(
            ["ogr2ogr", "-f", "GPKG", "-append", "-nln", source.stem, package, source],
            check=True,
            capture_output=True,
        )
        text = text.replace(
            f'file = "{source.name}"', f'file = "red.gpkg"\nlayer = "{source.stem}"'
        )
    mappings = tmp_path / "mapeos"
    mappings.mkdir()
    (mappings / "prueba_gpkg.toml").write_text(text)
    settings.IMPORT_MAPPINGS_DIR = mappings
    client.force_login(planner)
    upload_file = SimpleUploadedFile("red.gpkg", package.read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, upload_file, mapping="prueba_gpkg", parcial="on")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.CHECKED, job.summary
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:core_importjob_apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLIED_WITH_ERRORS, job.summary
    assert Span.objects.filter(feeder__substation__distributor__code="PRUEBA").exists()


def test_a_job_is_reachable_only_by_who_may_use_its_kind(client, planner, django_user_model):
    readings = ImportJob.objects.create(
        kind="lecturas", file="lecturas/x.csv", created_by=planner, summary="s"
    )
    client.force_login(planner)  # planners have no readings kind: the job is not theirs
    for name in ("core_importjob_status", "core_importjob_report"):
        assert client.get(reverse(f"admin:{name}", args=[readings.pk])).status_code == 404
    # Django's change page of an object outside the list: back to the index, with a message.
    assert client.get(reverse("admin:core_importjob_change", args=[readings.pk])).status_code == 302
    assert client.post(reverse("admin:core_importjob_apply", args=[readings.pk])).status_code == 404
    service = django_user_model.objects.create_user("ejecutiva2", "e2@example.cl", is_staff=True)
    service.groups.add(Group.objects.get(name=CUSTOMER_SERVICE_GROUP))
    client.force_login(service)
    for name in ("core_importjob_status", "core_importjob_report"):
        assert client.get(reverse(f"admin:{name}", args=[readings.pk])).status_code == 403
    assert client.get(reverse("admin:core_importjob_apply", args=[readings.pk])).status_code in (
        403,
        405,
    )
