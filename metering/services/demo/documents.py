"""Billing documents: boletas, injection annexes and the EG contracts' PDFs, each a small
PDF in the content-addressed store; and the billing step that brings bills, remanentes
and documents together."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from django.db import connection

from metering.models import BillingDocument, BillingPdf, EgContract
from metering.models.billing import pdf_path
from metering.services.billing import pdfs
from metering.services.demo.bills import BILL_MONTHS, Bill
from metering.services.demo.plan import DemoCustomer
from metering.services.demo.remanentes import Remanentes
from network.models import Customer

MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
    "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def _clp(amount: int) -> str:
    return f"$ {amount:,}".replace(",", ".")


def _kwh(value: float) -> str:
    return f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _month_name(month: date) -> str:
    return f"{MONTHS_ES[month.month - 1]} {month.year}"


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with the lines in Helvetica: enough for a demo document, written by
    hand because rendering thousands of them through WeasyPrint would take minutes."""
    text = ["BT", "/F1 15 Tf", "56 780 Td", "18 TL"]
    for n, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) Tj T*")
        if n == 0:
            text.append("/F1 10 Tf 14 TL")
    text.append("ET")
    stream = "\n".join(text).encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


class Documents(Remanentes):
    def billing(self, folder: Path) -> None:
        pdfs.check_private()
        with connection.cursor() as cur:
            cur.execute(pdfs.LOCK_SQL)  # the PDF store is shared with import_billing
        self._write_bills()
        contracts = self._contracts()
        applied = self._remanentes(contracts)
        documents = self._documents(applied)
        self._store_pdfs(folder, documents, contracts)

    def _documents(self, applied: dict[tuple[int, date], int]) -> list[tuple]:
        """(document, PDF lines) for every boleta and annex, folios in order of issue."""
        holders = sorted(self.document_customers, key=lambda c: c.pk)
        documents = []
        folio = 3_100_000
        annex = 0
        for index in range(BILL_MONTHS):
            for c in holders:
                bill = [b for b in self.bills[c.pk] if b.stored][index]
                discounted = applied.get((c.pk, bill.month), 0)
                folio += 1
                documents.append(self._boleta(c, bill, str(folio), discounted))
                if bill.injection is not None:
                    annex += 1
                    documents.append(self._annex(c, bill, f"AI-{annex:06d}"))
        return documents

    def _boleta(self, c: DemoCustomer, bill: Bill, folio: str, discounted: int) -> tuple:
        # What the customer pays: the charges less the valued injections and the remanente
        # discounted this month, never below zero (a surplus becomes remanente).
        amount = max(bill.net, 0) - discounted
        body = [
            f"Consumo: {_kwh(bill.consumption)} kWh "
            f"(lecturas {bill.read_from:%d-%m-%Y} a {bill.read_to:%d-%m-%Y})",
            f"Cargos del mes: {_clp(bill.charges)}",
        ]
        if bill.injection is not None:
            body.append(f"Inyecciones valorizadas: - {_clp(bill.injection_value)}")
        if discounted:
            body.append(f"Remanente descontado: - {_clp(discounted)}")
        if bill.net < 0:
            body.append(f"Remanente a su favor generado: {_clp(-bill.net)}")
        body.append(f"Total a pagar: {_clp(amount)}")
        return self._document(c, bill, "boleta", folio, amount, "BOLETA ELECTRÓNICA", body)

    def _annex(self, c: DemoCustomer, bill: Bill, folio: str) -> tuple:
        body = [
            f"Energía inyectada: {_kwh(bill.injection)} kWh",
            f"Valorización de las inyecciones: {_clp(bill.injection_value)}",
        ]
        return self._document(
            c, bill, "anexo_inyeccion", folio, bill.injection_value, "ANEXO DE INYECCIONES", body
        )

    def _document(self, c, bill, kind, folio, amount, title, body) -> tuple:
        issued = self._issued(bill)
        document = BillingDocument(
            distributor_id=c.distributor_id, customer_id=c.pk, kind=kind, folio=folio,
            issued_on=issued, period=bill.month, amount_clp=amount, as_of=self.as_of,
        )  # fmt: skip
        lines = [
            f"{title} N° {folio}",
            f"{self.distributor.name} - RUT {self.distributor.rut}",
            "",
            f"Cliente N° {c.number}: {c.name}",
            c.address,
            f"Periodo: {_month_name(bill.month)} - emitida el {issued:%d-%m-%Y}",
            f"Medidor: {c.serial}",
            "",
            *body,
            "",
            "Documento de demostración generado por seed_demo: sin validez tributaria.",
        ]
        return document, lines

    def _contract_pdfs(self, contracts: dict[int, EgContract]) -> list[tuple]:
        by_pk = {c.pk: c for c in self.customers}
        found = []
        for pk, contract in contracts.items():
            c = by_pk[pk]
            names = [
                ("contract_pdf", "CONTRATO DE CONEXIÓN"),
                ("protocol_pdf", "PROTOCOLO DE CONEXIÓN"),
            ]
            if c.eg_kw > 10:
                names.append(("study_pdf", "ESTUDIO DE CONEXIÓN"))
            for name, title in names:
                lines = [
                    f"{title} - {contract.number}",
                    f"{self.distributor.name} - RUT {self.distributor.rut}",
                    "",
                    f"Cliente N° {c.number}: {c.name}",
                    c.address,
                    f"Equipamiento de generación: {_kwh(c.eg_kw)} kW "
                    f"({Customer.EgTechnology(c.eg_technology).label.lower()})",
                    f"Firmado el {contract.signed_on:%d-%m-%Y}; conexión el "
                    f"{c.eg_connected_on:%d-%m-%Y}",
                    f"Liquidación de remanentes: {contract.get_liquidation_form_display()}",
                    "",
                    "Documento de demostración generado por seed_demo (Ley 20.571).",
                ]
                found.append((contract, name, lines))
        return found

    def _store_pdfs(self, folder: Path, documents: list[tuple], contracts: dict) -> None:
        """Each document's PDF into the content-addressed store, the way import_billing
        keeps the CIS's: written once, named by its hash."""
        # One scratch file, rewritten for each PDF the store lacks: creating thousands of
        # files costs more than the PDFs themselves.
        scratch = folder / "documento.pdf"
        refs: dict[str, pdfs.PdfRef] = {}

        def stored(lines: list[str]) -> str:
            content = _pdf(lines)
            sha = hashlib.sha256(content).hexdigest()
            if sha not in refs:
                refs[sha] = pdfs.PdfRef(sha, len(content), str(scratch))
                target = pdf_path(sha)
                if not (target.is_file() and target.stat().st_size == len(content)):
                    scratch.write_bytes(content)
                    pdfs.store(refs[sha])
            return sha

        document_shas = [stored(lines) for _, lines in documents]
        contract_shas = [
            (c, name, stored(lines)) for c, name, lines in self._contract_pdfs(contracts)
        ]
        saved = BillingPdf.objects.bulk_create(
            [BillingPdf(sha256=sha, size=ref.size, as_of=self.as_of) for sha, ref in refs.items()],
            batch_size=2000,
        )
        ids = {pdf.sha256: pdf.pk for pdf in saved}
        for (document, _), sha in zip(documents, document_shas, strict=True):
            document.pdf_id = ids[sha]
        BillingDocument.objects.bulk_create([d for d, _ in documents], batch_size=2000)
        for contract, name, sha in contract_shas:
            setattr(contract, f"{name}_id", ids[sha])
        EgContract.objects.bulk_create(contracts.values(), batch_size=2000)
