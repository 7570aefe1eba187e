# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from metering.models.billing import (
    BillingDocument,
    BillingPdf,
    EgContract,
    MonthlyBill,
    RemanenteMovement,
)
from metering.services.billing import BillingImportError, import_billing
from tests import factories as f
from tests.metering.test_billing_support import (  # noqa: F401
    DISTRIBUTOR,
    TODAY,
    billing_store,
    customers,
    export,
    only,
    run,
)

pytestmark = pytest.mark.django_db

MODELS = [MonthlyBill, BillingDocument, RemanenteMovement, EgContract, BillingPdf]


def snapshot() -> dict[str, list[tuple]]:
    """Every billing row, every column, in a stable order."""
    return {
        model.__name__: sorted(tuple(row.values()) for row in model.objects.values())
        for model in MODELS
    }


def counts(result, name: str) -> tuple[int, int, int, int]:
    c = result.files[name]
    return c.created, c.updated, c.unchanged, c.rejected


def test_consumption_file_stores_each_month_with_readings_and_chilean_numbers(customers, export):
    result = run(only(export, "consumos.csv"))

    assert counts(result, "consumos.csv") == (4, 0, 0, 0)
    bill = MonthlyBill.objects.get(customer=customers["E-2001"], month=date(2025, 1, 1))
    assert bill.consumption_kwh == Decimal("320.25")
    assert bill.charges_clp == 68_900
    assert bill.net_charge_clp == 21_150
    assert bill.injection_kwh == Decimal("250.5")
    assert bill.injection_value_clp == 47_750
    assert bill.meter == "M-990001"
    assert (bill.read_from, bill.read_to) == (date(2024, 12, 16), date(2025, 1, 15))
    assert bill.injection_end_kwh == Decimal("1130.5")
    # "2025-02-01" is the first day of the month: taken as February.
    regular = MonthlyBill.objects.get(customer=customers["C-1001"], month=date(2025, 2, 1))
    assert regular.injection_kwh is None
    assert regular.as_of == TODAY


def test_documents_file_stores_invoices_and_annexes_with_their_pdfs(customers, export):
    result = run(only(export, "documentos.csv"))

    assert counts(result, "documentos.csv") == (4, 0, 0, 0)
    boleta = BillingDocument.objects.get(kind="boleta", folio="1234")  # "0001234" in the CSV
    assert boleta.customer == customers["C-1001"]
    assert boleta.distributor.code == DISTRIBUTOR
    assert (boleta.issued_on, boleta.period, boleta.amount_clp) == (
        date(2025, 2, 3),
        date(2025, 1, 1),
        45_230,
    )
    assert boleta.pdf.path.read_bytes() == (export / "pdf" / "boleta-1234.pdf").read_bytes()
    annex = BillingDocument.objects.get(folio="A-88001")
    assert annex.kind == BillingDocument.Kind.INJECTION_ANNEX
    assert BillingPdf.objects.count() == 4


def test_remanentes_file_stores_movements_with_balance(customers, export):
    result = run(only(export, "remanentes.csv"))

    assert counts(result, "remanentes.csv") == (4, 0, 0, 0)
    movements = RemanenteMovement.objects.filter(customer=customers["E-2001"]).order_by("date")
    assert [(m.kind, m.amount_clp, m.balance_clp) for m in movements] == [
        ("generado", 12_500, 12_500),
        ("descontado", 8_000, 4_500),
        ("ajuste", -500, 4_000),
    ]
    assert movements[0].kwh == Decimal("65.4")
    assert movements[1].date == date(2025, 2, 28)  # written 28-02-2025


def test_contracts_file_stores_liquidation_form_date_and_documents(customers, export):
    result = run(only(export, "contratos_eg.csv"))

    assert counts(result, "contratos_eg.csv") == (2, 0, 0, 0)
    contract = EgContract.objects.get(customer=customers["E-2001"])
    assert contract.number == "CC-2022-0153"
    assert contract.liquidation_form == EgContract.LiquidationForm.TRANSFER
    assert contract.liquidation_date == date(2025, 11, 11)
    assert contract.signed_on == date(2022, 2, 10)
    assert set(contract.documents()) == {"contract_pdf", "protocol_pdf"}
    other = EgContract.objects.get(customer=customers["E-2002"])
    assert other.liquidation_form == "vale_vista"  # written "Vale vista"
    assert other.protocol_pdf is None


def test_running_the_same_export_twice_changes_nothing(customers, export):
    first = run(export, as_of=date(2026, 3, 1))
    before = snapshot()
    files = sorted(p.relative_to(export.parent) for p in export.parent.rglob("*") if p.is_file())

    again = run(export, as_of=date(2026, 3, 20))

    assert snapshot() == before  # contents and as_of dates alike
    assert sum(c.created for c in first.files.values()) == 14
    for name, c in again.files.items():
        assert (c.created, c.updated, c.rejected) == (0, 0, 0), name
        assert c.unchanged == c.read, name
    assert files == sorted(
        p.relative_to(export.parent) for p in export.parent.rglob("*") if p.is_file()
    )


def test_a_changed_value_updates_only_its_row_and_dates_it(customers, export):
    run(export, as_of=date(2026, 3, 1))
    path = export / "consumos.csv"
    path.write_text(path.read_text().replace("C-1001;2025-01;210,5", "C-1001;2025-01;215,0"))
    contracts = export / "contratos_eg.csv"
    contracts.write_text(
        contracts.read_text().replace("transferencia;2025-11-11", "cheque;2026-11-11")
    )

    result = run(export, as_of=date(2026, 3, 20))

    assert counts(result, "consumos.csv") == (0, 1, 3, 0)
    assert counts(result, "contratos_eg.csv") == (0, 1, 1, 0)
    changed = MonthlyBill.objects.get(customer=customers["C-1001"], month=date(2025, 1, 1))
    assert (changed.consumption_kwh, changed.as_of) == (Decimal("215.0"), date(2026, 3, 20))
    untouched = MonthlyBill.objects.get(customer=customers["C-1001"], month=date(2025, 2, 1))
    assert untouched.as_of == date(2026, 3, 1)
    contract = EgContract.objects.get(customer=customers["E-2001"])
    assert (contract.liquidation_form, contract.liquidation_date) == ("cheque", date(2026, 11, 11))
    assert contract.contract_pdf is not None


def test_an_optional_column_left_out_keeps_what_is_stored(customers, export):
    run(only(export, "consumos.csv"))
    (export / "consumos.csv").write_text(
        "cliente;mes;consumo_kwh;cargos_clp\nE-2001;2025-01;320,25;68900\n"
    )

    result = run(export)

    assert counts(result, "consumos.csv") == (0, 0, 1, 0)
    bill = MonthlyBill.objects.get(customer=customers["E-2001"], month=date(2025, 1, 1))
    assert bill.injection_kwh == Decimal("250.5")
    assert bill.meter == "M-990001"


def test_an_empty_optional_cell_clears_the_stored_value(customers, export):
    run(only(export, "consumos.csv"))
    (export / "consumos.csv").write_text(
        "cliente;mes;consumo_kwh;cargos_clp;inyeccion_kwh\nE-2001;2025-01;320,25;68900;\n"
    )

    result = run(export)

    assert counts(result, "consumos.csv") == (0, 1, 0, 0)
    bill = MonthlyBill.objects.get(customer=customers["E-2001"], month=date(2025, 1, 1))
    assert bill.injection_kwh is None


def test_an_export_of_another_distributor_does_not_touch_its_customers(customers, export):
    other = f.make_distributor(code="OTRA")
    f.make_customer(
        transformer=f.make_transformer(feeder=f.make_feeder(distributor=other)),
        distributor=other,
        number="C-1001",
    )

    result = run(only(export, "consumos.csv"))

    assert counts(result, "consumos.csv") == (4, 0, 0, 0)
    assert not MonthlyBill.objects.filter(customer__distributor=other).exists()


def test_consumption_is_applied_in_a_fixed_number_of_queries_whatever_the_rows(
    customers, export, django_assert_max_num_queries
):
    lines = ["cliente;mes;consumo_kwh;cargos_clp"]
    lines += [
        f"C-1002;{year}-{month:02d};{month}00;{month}0000"
        for year in (2023, 2024, 2025)
        for month in range(1, 13)
    ]
    (export / "consumos.csv").write_text("\n".join(lines) + "\n")
    only(export, "consumos.csv")

    with django_assert_max_num_queries(20):
        result = run(export)

    assert counts(result, "consumos.csv") == (36, 0, 0, 0)


def test_the_staging_table_is_gone_after_the_import(customers, export):
    run(export)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.billing_stage')")
        assert cursor.fetchone()[0] is None


def test_an_unknown_distributor_or_an_empty_directory_stop_before_anything(customers, tmp_path):
    with pytest.raises(BillingImportError, match="no existe la distribuidora"):
        import_billing(tmp_path, "NO-EXISTE")
    with pytest.raises(BillingImportError, match="no tiene ninguno de los archivos"):
        run(tmp_path)
    with pytest.raises(BillingImportError, match="no existe o no es un directorio"):
        run(tmp_path / "falta")


def test_command_prints_one_summary_line_and_writes_the_report(customers, export, tmp_path):
    out = StringIO()
    report = tmp_path / "informe.csv"
    (export / "remanentes.csv").write_text(
        (export / "remanentes.csv").read_text() + "X-9;RM-9;2025-01-31;generado;1;;1\n"
    )

    with pytest.raises(CommandError, match="Importación incompleta: 1 errores") as incomplete:
        call_command(
            "import_billing", str(export), distributor=DISTRIBUTOR, report=report, stdout=out
        )
    assert incomplete.value.returncode == 3  # lines refused, the rest committed

    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("remanentes.csv línea 6, campo cliente ('X-9'): no hay un cliente")
    assert lines[-1] == (
        f"import_billing {DISTRIBUTOR}: contratos_eg.csv 2 nuevas, 0 actualizadas, 0 sin cambios, "
        "0 rechazadas; consumos.csv 4 nuevas, 0 actualizadas, 0 sin cambios, 0 rechazadas; "
        "documentos.csv 4 nuevas, 0 actualizadas, 0 sin cambios, 0 rechazadas; "
        "remanentes.csv 4 nuevas, 0 actualizadas, 0 sin cambios, 1 rechazadas"
    )
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows == [
        ["archivo", "linea", "campo", "valor", "gravedad", "motivo"],
        [
            "remanentes.csv",
            "6",
            "cliente",
            "X-9",
            "error",
            "no hay un cliente con ese número en la distribuidora",
        ],
    ]


def test_command_run_twice_reports_everything_unchanged(customers, export):
    call_command("import_billing", str(export), distributor=DISTRIBUTOR, stdout=StringIO())
    out = StringIO()

    call_command("import_billing", str(export), distributor=DISTRIBUTOR, stdout=out)  # exit 0

    summary = out.getvalue().strip().splitlines()[-1]
    assert "consumos.csv 0 nuevas, 0 actualizadas, 4 sin cambios, 0 rechazadas" in summary
    assert "documentos.csv 0 nuevas, 0 actualizadas, 4 sin cambios, 0 rechazadas" in summary


def test_command_refuses_an_unknown_distributor_without_writing(customers, export):
    with pytest.raises(CommandError, match="No se modificó la base de datos") as refused:
        call_command("import_billing", str(export), distributor="NADIE", stdout=StringIO())
    assert refused.value.returncode == 1
    assert not MonthlyBill.objects.exists()


def test_every_command_argument_has_help():
    from metering.management.commands.import_billing import Command

    parser = Command().create_parser("manage.py", "import_billing")
    ours = [a for a in parser._actions if a.dest in {"directory", "distributor", "report", "as_of"}]
    assert len(ours) == 4
    assert all(action.help for action in ours)
