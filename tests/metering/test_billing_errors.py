# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from metering.lib import EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from metering.models.billing import BillingDocument, EgContract, MonthlyBill, RemanenteMovement
from metering.services import billing
from tests.metering.test_billing_support import (  # noqa: F401
    DISTRIBUTOR,
    FIXTURES,
    billing_store,
    customers,
    export,
    malformed,
    only,
    problems_of,
    run,
)

pytestmark = pytest.mark.django_db


def test_bad_consumption_lines_are_reported_with_line_and_field_and_good_ones_kept(
    customers, malformed
):
    result = run(only(malformed, "consumos.csv"))

    found = problems_of(result, "consumos.csv")
    assert found[3] == [("cliente", "no hay un cliente con ese número en la distribuidora")]
    assert found[4] == [("mes", "mes inexistente")]
    assert found[5] == [("mes", "el mes debe ser AAAA-MM o el primer día del mes (AAAA-MM-01)")]
    assert found[6] == [("consumo_kwh", "no es un número")]
    assert found[7] == [("cargos_clp", "los montos en pesos no llevan decimales")]
    assert found[8] == [("consumo_kwh", "no puede ser negativo")]
    assert found[9] == [("", "tiene 5 campos y el encabezado 4 (separador ';')")]
    assert found[11] == [("consumo_kwh", "vacío")]  # line 10 is blank: skipped, not counted
    assert found[12] == [("mes", "mes futuro")]
    assert found[14] == [("cliente, mes", "repite la línea 13 (idéntica); se toma una vez")]
    conflict = "clave repetida con valores distintos (líneas 15, 16); no se toma ninguna"
    assert found[15] == found[16] == [("cliente, mes", conflict)]
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16}

    counts = result.files["consumos.csv"]
    assert (counts.read, counts.created, counts.rejected) == (15, 3, 12)
    stored = MonthlyBill.objects.order_by("customer__number", "month")
    assert [(b.customer.number, b.month, b.consumption_kwh) for b in stored] == [
        ("C-1001", date(2025, 1, 1), Decimal("210.5")),
        ("C-1002", date(2025, 8, 1), Decimal("100")),
        ("C-1002", date(2025, 10, 1), Decimal("1234.5")),
    ]


def test_problems_read_as_file_line_field_value_and_reason(customers, malformed):
    result = run(only(malformed, "consumos.csv"))

    texts = [str(p) for p in result.problems]
    assert "consumos.csv línea 6, campo consumo_kwh ('abc'): no es un número" in texts
    assert result.failed


def test_bad_document_lines_name_the_pdf_problem_and_the_good_document_is_stored(
    customers, malformed
):
    result = run(only(malformed, "documentos.csv"))

    found = problems_of(result, "documentos.csv")
    assert found[3] == [("archivo_pdf", "no existe el archivo pdf/no-existe.pdf")]
    assert found[4] == [("archivo_pdf", "no es un PDF (no empieza con %PDF-)")]
    assert found[5] == [
        ("archivo_pdf", "PDF incompleto (sin %%EOF al final): ¿transferencia cortada?")
    ]
    assert found[6] == [
        ("archivo_pdf", "la ruta debe quedar dentro de la carpeta pdf/ de la exportación")
    ]
    assert found[7][0][0] == "tipo"
    assert found[7][0][1].startswith("valor no admitido; use boleta, factura, anexo_inyeccion")
    assert found[8] == [("periodo", "posterior al mes de emisión")]
    assert [field for field, _ in found[9]] == ["tipo, folio"]
    assert found[9] == found[10]
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert list(BillingDocument.objects.values_list("folio", flat=True)) == ["5001"]


def test_a_pdf_link_leaving_the_export_is_refused(customers, malformed, tmp_path):
    outside = tmp_path / "secreto.pdf"
    shutil.copy(malformed / "pdf" / "boleta-5001.pdf", outside)
    (malformed / "pdf" / "enlace.pdf").symlink_to(outside)
    (malformed / "documentos.csv").write_text(
        "cliente;tipo;folio;fecha_emision;periodo;monto_clp;archivo_pdf\n"
        "C-1002;boleta;9001;2025-02-03;2025-01;20000;enlace.pdf\n"
    )

    result = run(only(malformed, "documentos.csv"))

    assert problems_of(result, "documentos.csv")[2] == [
        ("archivo_pdf", "el enlace apunta fuera de la carpeta pdf/")
    ]


def test_bad_remanente_lines_are_reported_and_the_good_one_kept(customers, malformed):
    result = run(only(malformed, "remanentes.csv"))

    found = problems_of(result, "remanentes.csv")
    assert found[3] == [("monto_clp", "debe ser positivo (el tipo dice si suma o resta)")]
    assert found[4] == [("monto_clp", "un ajuste no puede ser 0")]
    assert found[5][0][0] == "tipo"
    assert found[6] == [("fecha", "fecha inexistente")]
    assert found[7] == [("saldo_clp", "no puede ser negativo")]
    assert list(RemanenteMovement.objects.values_list("external_id", flat=True)) == ["RM-0101"]


def test_a_contract_of_a_customer_without_eg_is_refused(customers, malformed):
    result = run(only(malformed, "contratos_eg.csv"))

    found = problems_of(result, "contratos_eg.csv")
    assert found[3] == [
        ("cliente", "el cliente no tiene generación (EG): no tiene contrato de conexión EG")
    ]
    assert found[4][0][0] == "forma_liquidacion"
    assert list(EgContract.objects.values_list("customer__number", flat=True)) == ["E-2001"]


def test_a_file_with_a_wrong_header_is_not_imported_and_the_others_are(customers, tmp_path):
    directory = tmp_path / "bad_header"
    shutil.copytree(FIXTURES / "bad_header", directory)

    result = run(directory)

    consumption = result.files["consumos.csv"]
    assert consumption.fatal == "falta la columna obligatoria 'cargos_clp'"
    assert result.files["remanentes.csv"].fatal.startswith("columna desconocida 'saldo'")
    assert not result.files["documentos.csv"].present
    assert result.files["contratos_eg.csv"].created == 1
    assert EgContract.objects.count() == 1
    assert not MonthlyBill.objects.exists()
    assert not RemanenteMovement.objects.exists()
    file_level = [str(p) for p in result.problems if p.line is None]
    assert file_level == [
        "consumos.csv: archivo no importado: falta la columna obligatoria 'cargos_clp'",
        "remanentes.csv: archivo no importado: columna desconocida 'saldo' (admitidas: cliente, "
        "id_movimiento, fecha, tipo, monto_clp, saldo_clp, kwh)",
    ]
    assert "consumos.csv no importado (falta la columna obligatoria 'cargos_clp')" in (
        result.summary()
    )
    assert result.exit_code == EXIT_FAILED  # a file refused whole


def test_the_command_exits_1_when_a_file_is_refused_whole(customers, tmp_path):
    directory = tmp_path / "bad_header"
    shutil.copytree(FIXTURES / "bad_header", directory)
    with pytest.raises(CommandError) as refused:
        call_command("import_billing", str(directory), distributor=DISTRIBUTOR, stdout=StringIO())
    assert refused.value.returncode == EXIT_FAILED == 1


def test_only_line_errors_give_exit_status_3(customers, malformed, export):
    result = run(only(malformed, "consumos.csv"))
    assert result.rejected > 0 and result.exit_code == EXIT_REJECTED == 3
    assert run(export).exit_code == EXIT_OK == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "está vacío o su primera línea no es el encabezado"),
        (b"cliente;mes;mes;consumo_kwh;cargos_clp\n", "la columna 'mes' está dos veces"),
        (b'cliente;mes;consumo_kwh;cargos_clp\n"C-1;2025-01;1;1\n', "CSV ilegible"),
    ],
    ids=["empty", "repeated-column", "unterminated-quote"],
)
def test_an_unreadable_file_is_named_with_its_reason(customers, export, content, reason):
    (export / "consumos.csv").write_bytes(content)

    result = run(only(export, "consumos.csv"))

    assert reason in result.files["consumos.csv"].fatal


def test_a_line_that_is_not_utf8_is_refused_alone(customers, export):
    (export / "consumos.csv").write_bytes(
        "cliente;mes;consumo_kwh;cargos_clp;medidor\nC-1001;2025-01;1;1;Ñuñoa\n".encode()
        + "C-1002;2025-01;1;1;Ñuñoa\n".encode("latin-1")
    )

    result = run(only(export, "consumos.csv"))

    assert problems_of(result, "consumos.csv") == {3: [("", "contiene texto que no es UTF-8")]}
    assert MonthlyBill.objects.get().meter == "Ñuñoa"


def test_a_header_in_capitals_with_spaces_and_a_bom_is_accepted(customers, export):
    (export / "consumos.csv").write_bytes(
        '\ufeffCliente , MES,Consumo_kWh,CARGOS_CLP\r\nC-1001,2025-01,"12,5",1000\r\n'.encode()
    )

    result = run(only(export, "consumos.csv"))

    assert result.files["consumos.csv"].created == 1
    assert MonthlyBill.objects.get().consumption_kwh == Decimal("12.5")


def test_a_folio_already_stored_for_another_customer_is_refused(customers, export):
    run(only(export, "documentos.csv"))
    (export / "documentos.csv").write_text(
        "cliente,tipo,folio,fecha_emision,periodo,monto_clp,archivo_pdf\n"
        "C-1002,boleta,1234,2025-02-03,2025-01,45230,boleta-1234.pdf\n"
    )

    result = run(export)

    assert problems_of(result, "documentos.csv") == {
        2: [("folio", "el folio ya está registrado para el cliente C-1001")]
    }
    assert BillingDocument.objects.get(folio="1234").customer == customers["C-1001"]


def test_a_movement_id_already_stored_for_another_customer_is_refused(customers, export):
    run(only(export, "remanentes.csv"))
    (export / "remanentes.csv").write_text(
        "cliente;id_movimiento;fecha;tipo;monto_clp;saldo_clp\n"
        "E-2002;RM-0001;2025-01-31;generado;100;100\n"
    )

    result = run(export)

    assert problems_of(result, "remanentes.csv") == {
        2: [("id_movimiento", "el movimiento ya está registrado para el cliente E-2001")]
    }


def test_a_database_error_rolls_back_only_its_file(customers, export, monkeypatch):
    def broken(stage, ctx):
        stage.execute("SELECT 1/0")

    specs = tuple(
        dataclasses.replace(spec, load=broken) if spec.name == "remanentes.csv" else spec
        for spec in billing.FILES
    )
    monkeypatch.setattr(billing, "FILES", specs)

    result = run(export)

    assert result.files["remanentes.csv"].fatal.startswith("error al guardar (")
    assert not RemanenteMovement.objects.exists()
    assert result.files["consumos.csv"].created == 4
