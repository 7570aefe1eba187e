"""The connection queue from the registry's CSV: bad lines reported, the rest loaded,
re-runs change nothing, the feeders whose queue changed are recomputed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from capacity.models import ConnectionRequest, Run
from capacity.services.queue import QueueImportError, import_queue
from tests import factories as f

pytestmark = pytest.mark.django_db
HEADER = "id_publico;estado;fecha_solicitud;potencia_mw;poste;alimentador;tecnologia\n"


@pytest.fixture
def network():
    feeder = f.make_feeder()
    other = f.make_feeder(distributor=feeder.distributor)
    return {
        "distributor": feeder.distributor,
        "feeder": feeder,
        "other": other,
        "poles": [f.make_pole(feeder=feeder) for _ in range(3)],
        "elsewhere": f.make_pole(feeder=other),
    }


def write(tmp_path, text: str, name="cola.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path, distributor, *extra):
    out = io.StringIO()
    try:
        call_command("import_connection_requests", str(path), "--distributor", distributor.code,
                     *extra, stdout=out)  # fmt: skip
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_good_lines_load_and_bad_ones_are_reported_with_line_field_and_value(tmp_path, network):
    p1, p2, p3 = (p.plate for p in network["poles"])
    feeder = network["feeder"].code
    path = write(tmp_path, HEADER + "\n".join([
        f"SC-1;en_estudio;2025-04-01;3,5;{p1};{feeder};Solar fotovoltaica",
        f"SC-2;Conectada (en operación);01-02-2024;1.2;{p2};;Eólica",
        f"SC-3;en_estudio;2025-04-01;2;NO-EXISTE;{feeder};",
        f"SC-4;en_estudio;2025-04-01;2;{p3};AL-NADA;",
        f"SC-5;en_estudio;2025-04-01;2;{p3};{network['other'].code};",
        f"SC-6;pendiente;2025-04-01;-1;{p3};;",
        f"SC-7;aprobada;2999-01-01;2;{p3};;",
        f"SC-1;aprobada;2025-04-01;2;{p3};;",
        f"SC-8;aprobada;2025-04-01;2;{p3}",
    ]) + "\n")  # fmt: skip
    report = tmp_path / "informe.csv"

    output, code = run(path, network["distributor"], "--report", report)

    assert code == 3, output
    rows = list(csv.DictReader(report.open(encoding="utf-8"), delimiter=";"))
    found = {(r["linea"], r["campo"], r["valor"]) for r in rows}
    assert found == {
        ("4", "poste", "NO-EXISTE"),
        ("5", "alimentador", "AL-NADA"),
        ("6", "alimentador", network["other"].code),
        ("7", "estado", "pendiente"),
        ("7", "potencia_mw", "-1"),
        ("8", "fecha_solicitud", "2999-01-01"),
        ("9", "id_publico", "SC-1"),
        ("10", "línea", ""),
    }
    reasons = {r["linea"]: r["motivo"] for r in rows}
    assert reasons["4"] == f"no existe en la red de {network['distributor'].code}"
    assert reasons["6"] == f"el poste {p3} es del alimentador {network['feeder'].code}"
    assert reasons["9"] == "repetido (línea 2)"
    stored = {r.public_id: r for r in ConnectionRequest.objects.all()}
    assert set(stored) == {"SC-1", "SC-2"}
    assert stored["SC-1"].mw == Decimal("3.5") and stored["SC-1"].pole.plate == p1
    assert stored["SC-2"].state == ConnectionRequest.State.CONNECTED
    assert stored["SC-2"].feeder == network["feeder"]  # taken from its pole
    assert stored["SC-2"].submitted_on.isoformat() == "2024-02-01"
    assert "2 solicitudes creadas, 0 actualizadas, 0 sin cambios; 7 líneas rechazadas" in output


def test_a_rerun_changes_nothing_and_an_edit_updates_by_public_id(tmp_path, network):
    p1 = network["poles"][0].plate
    path = write(tmp_path, HEADER + f"SC-1;en_estudio;2025-04-01;3;{p1};;\n")
    assert run(path, network["distributor"])[1] == 0
    first = ConnectionRequest.objects.get()

    output, code = run(path, network["distributor"])
    assert code == 0 and "0 solicitudes creadas, 0 actualizadas, 1 sin cambios" in output

    write(tmp_path, HEADER + f"SC-1;aprobada;2025-04-01;3;{p1};;\n")
    output, code = run(path, network["distributor"])
    assert code == 0 and "1 actualizadas" in output
    again = ConnectionRequest.objects.get()
    assert again.pk == first.pk and again.state == ConnectionRequest.State.APPROVED


def test_a_file_that_cannot_be_read_is_refused_whole(tmp_path, network):
    cases = {
        "sin_columnas.csv": "id_publico;estado\nSC-1;en_estudio\n",
        "desconocida.csv": HEADER.strip() + ";color\n",
        "vacio.csv": "",
    }
    for name, text in cases.items():
        output, code = run(write(tmp_path, text, name), network["distributor"])
        assert code == 1, name
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        HEADER.encode() + "SC-1;en_estudio;2025-04-01;3;Poste ñ;;\n".encode("latin-1")
    )
    with pytest.raises(QueueImportError, match="no está en UTF-8"):
        import_queue(latin, network["distributor"].code)
    with pytest.raises(QueueImportError, match="distribuidora desconocida"):
        import_queue(latin, "NADA")
    assert not ConnectionRequest.objects.exists()


def test_the_feeders_whose_queue_changed_are_recomputed_on_commit(
    tmp_path, network, django_capture_on_commit_callbacks
):
    p1 = network["poles"][0].plate
    path = write(tmp_path, HEADER + f"SC-1;en_estudio;2025-04-01;3;{p1};;\n")
    with django_capture_on_commit_callbacks(execute=True):
        import_queue(path, network["distributor"].code)
    run_ = Run.objects.get()
    assert run_.trigger == "cola de conexión importada" and run_.scope == Run.Scope.FEEDERS
    assert run_.status == Run.Status.DONE


def test_a_planner_imports_the_queue_from_the_admin_dry_run_first(
    client, planner, network, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from core.models import ImportJob

    settings.IMPORT_UPLOAD_DIR = tmp_path / "importaciones"
    client.force_login(planner)
    p1 = network["poles"][0].plate
    body = HEADER + f"SC-1;en_estudio;2025-04-01;3;{p1};;\nSC-2;en_estudio;2025-04-01;3;X9;;\n"
    upload = SimpleUploadedFile("cola.csv", body.encode())
    assert 'value="cola_conexion"' in client.get("/admin/core/importjob/add/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/core/importjob/add/", {
            "kind": "cola_conexion", "file": upload,
            "cola_conexion__distribuidora": network["distributor"].code,
        })  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.CHECKED, job.summary
    assert "(simulación: no se guardó nada)" in job.summary
    assert not ConnectionRequest.objects.exists() and not Run.objects.exists()
    page = client.get(reverse("admin:core_importjob_change", args=[job.pk])).content.decode()
    assert "X9" in page and "no existe en la red de" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:core_importjob_apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLIED_WITH_ERRORS, job.summary
    assert list(ConnectionRequest.objects.values_list("public_id", flat=True)) == ["SC-1"]
    assert Run.objects.filter(trigger="cola de conexión importada").exists()
