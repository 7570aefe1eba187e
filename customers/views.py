"""The customer's own pages: §4 (customer) and §5 I–IX (EG customer), their demand response,
their documents and their data to download.

Every URL names the customer by id; `accounts.permissions.get_customer_for_user` answers 404
for any customer the user may not see (another customer's, or any for a profile without
customers), so the answer never tells whether that customer exists. The EG pages answer 404
for a customer without generation. Every view and download is written to the access log.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View

from accounts.pages import PortalPage, log_access
from accounts.permissions import (
    get_customer_for_user,
    is_registered,
    sees_every_customer,
    sees_own_customer,
)
from core.api.renderers import csv_lines
from customers.services import account, search
from metering.models import BillingDocument, EgContract

CUSTOMER_SECTIONS = (
    ("home", "Resumen", False),
    ("explained", "Su cuenta explicada", False),
    ("documents", "Boletas y facturas", False),
    ("injections", "Consumo e inyecciones", True),
    ("history", "Historial de lecturas", True),
    ("remanentes", "Remanentes", True),
    ("meter", "Medidor", True),
    ("contract", "Contrato y ubicación", True),
    ("demand_response", "Respuesta a la demanda", False),
    ("data", "Descargar mis datos", False),
)
CONTRACT_DOCUMENTS = {
    "contrato": "contract_pdf",
    "protocolo": "protocol_pdf",
    "estudio": "study_pdf",
}


def customer_of(request: HttpRequest, pk: int, eg_only: bool = False):
    """The customer `pk` if the request's user may see it (and it has EG when `eg_only`)."""
    customer = get_customer_for_user(request.user, pk=pk)
    if eg_only and not customer.is_eg:
        raise Http404("Página solo para clientes con generación (EG).")
    return customer


class CustomerPage(PortalPage):
    """A page of one customer's account: who may see it, the section menu, the access log."""

    access_kind = "cliente"
    eg_only = False
    section = ""

    def dispatch(self, request, *args, **kwargs):
        if not is_registered(request.user):
            return self.handle_no_permission()
        self.customer = customer_of(request, kwargs["pk"], self.eg_only)
        return super().dispatch(request, *args, **kwargs)

    def reference(self) -> str:
        return f"{self.customer.number} {self.section}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.customer
        title = dict((k, t) for k, t, _ in CUSTOMER_SECTIONS)[self.section]
        audit = sees_every_customer(self.request.user)
        context.update(
            customer=customer,
            section=self.section,
            sections=[
                (key, label, reverse(f"customers:{key}", args=[customer.pk]))
                for key, label, eg in CUSTOMER_SECTIONS
                if customer.is_eg or not eg
            ],
            section_title=title,
            profile_title=("Cliente con generación (EG)" if customer.is_eg else "Cliente"),
            breadcrumb=[
                *([("Clientes", reverse("customers:search"))] if audit else []),
                (f"Cliente {customer.number}", reverse("customers:home", args=[customer.pk])),
                (title, ""),
            ],
            pdf_name=f"cliente-{customer.number}-{self.section}",
            # SEC reads every customer's pages as they are, marked and with nothing to change.
            audit_view=audit,
        )
        return context


class HomeView(CustomerPage):
    """§4 (and §5 I, II, III): general and technical data, 36 months of consumption and
    charges (net charges for an EG customer) as a chart and a table."""

    template_name = "customers/home.html"
    section = "home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = (
            type(self.customer)
            .objects.with_place()
            .with_utm_zone()
            .select_related("transformer")
            .get(pk=self.customer.pk)
        )
        months = account.last_months(customer)
        latest = next((m for m in reversed(months) if m.bill is not None), None)
        context.update(
            customer=customer,
            months=months,
            has_bills=latest is not None,
            latest=latest,
            chart=account.consumption_chart(months, net=customer.is_eg),
            data_as_of=account.as_of(months) or customer.as_of,
        )
        return context


class ExplainedView(CustomerPage):
    """Each month's change against the month before and the same month a year before."""

    template_name = "customers/explained.html"
    section = "explained"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        months = account.last_months(self.customer)
        context.update(
            months=[m for m in reversed(months) if m.bill is not None],
            data_as_of=account.as_of(months),
        )
        return context


class DocumentsView(CustomerPage):
    """§5 V: the last 36 boletas and facturas (and injection annexes for EG), and any one
    found by folio or period."""

    template_name = "customers/documents.html"
    section = "documents"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = self.customer
        groups = [("invoices", "Boletas y facturas de suministro")]
        if customer.is_eg:
            groups.append(("annexes", "Anexos de inyecciones"))
        kinds = self.request.GET.get("tipo", "invoices")
        folio = self.request.GET.get("folio", "")
        period = self.request.GET.get("periodo", "")
        found, error = None, ""
        if kinds not in dict(groups):
            error, kinds = "Ese tipo de documento no existe para esta cuenta.", "invoices"
        else:
            try:
                found = account.find_documents(customer, kinds, folio, period)
            except account.DocumentSearchError as problem:
                error = str(problem)
        lists = [(key, label, account.documents(customer, key)) for key, label in groups]
        dates = [d.as_of for _, _, docs in lists for d in docs]
        context.update(
            groups=groups,
            lists=lists,
            found=found,
            search_error=error,
            search={"tipo": kinds, "folio": folio, "periodo": period},
            data_as_of=max(dates) if dates else None,
        )
        return context


class InjectionsView(CustomerPage):
    """§5 IV: consumption and injections of the last 12 months."""

    template_name = "customers/injections.html"
    section = "injections"
    eg_only = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        months = account.last_months(self.customer, account.INJECTION_MONTHS)
        context.update(
            months=months,
            has_bills=any(m.bill for m in months),
            chart=account.injection_chart(months),
            value_chart=account.injection_value_chart(months),
            data_as_of=account.as_of(months),
        )
        return context


class HistoryView(CustomerPage):
    """§5 VI: the readings and billing history of consumption and injections, 36 months
    (GUARDAR gives it as the PDF the annex asks for)."""

    template_name = "customers/history.html"
    section = "history"
    eg_only = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        months = account.last_months(self.customer)
        context.update(
            months=[m for m in reversed(months) if m.bill is not None],
            data_as_of=account.as_of(months),
        )
        return context


class RemanentesView(CustomerPage):
    """§5 VII: remanentes of the last 5 years as a statement with a running balance, the
    liquidation form and date of the contract, and the next payout."""

    template_name = "customers/remanentes.html"
    section = "remanentes"
    eg_only = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        book = account.ledger(self.customer)
        contract = EgContract.objects.of_customer(self.customer).first()
        dates = [line.movement.as_of for line in book.lines]
        context.update(
            ledger=book,
            lines=list(reversed(book.lines)),
            contract=contract,
            payout=account.payout_forecast(contract, book) if contract else None,
            data_as_of=max(dates) if dates else (contract.as_of if contract else None),
        )
        return context


class MeterView(CustomerPage):
    """§5 VIII: the meter's display values and its stored registers, by OBIS code."""

    template_name = "customers/meter.html"
    section = "meter"
    eg_only = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        display, rows, codes = account.registers(self.customer)
        context.update(
            display=display,
            rows=rows,
            codes=codes,
            data_as_of=max((r.at for r in display), default=None),
        )
        return context


class ContractView(CustomerPage):
    """§5 IX: the signed connection contract, protocol and study, and where the plant is."""

    template_name = "customers/contract.html"
    section = "contract"
    eg_only = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        customer = type(self.customer).objects.with_utm_zone().get(pk=self.customer.pk)
        contract = EgContract.objects.of_customer(customer).first()
        documents = []
        if contract:
            stored = contract.documents()
            for slug, field in CONTRACT_DOCUMENTS.items():
                label = EgContract._meta.get_field(field).verbose_name
                documents.append((slug, label, stored.get(field)))
        context.update(
            customer=customer,
            contract=contract,
            documents=documents,
            data_as_of=contract.as_of if contract else customer.as_of,
        )
        return context


class DemandResponseView(CustomerPage):
    """Use case 8: the programs the customer is enrolled in, their prices, the events sent to
    the customer's devices and the customer's own answers, joined by correlation id."""

    template_name = "customers/demand_response.html"
    section = "demand_response"

    def get_context_data(self, **kwargs):
        from metering.services.dr.participation import customer_demand_response

        context = super().get_context_data(**kwargs)
        dr = customer_demand_response(self.customer)
        answers = account.answers_by_correlation(self.customer)
        context.update(
            enrollments=dr.enrollments,
            prices=[(p, answers.get(p.correlation_id, [])) for p in dr.prices],
            events=[(e, answers.get(e.correlation_id, [])) for e in dr.events],
            data_as_of=timezone.localdate() if (dr.prices or dr.events) else None,
        )
        return context


class DataView(CustomerPage):
    """Descargar mis datos: the customer's readings and bills, as CSV and as Green Button."""

    template_name = "customers/data.html"
    section = "data"


# --- downloads ----------------------------------------------------------------------------------


class CustomerDownload(View):
    """A file of one customer's: the same access check as the pages, then the access log."""

    eg_only = False
    log_kind = "documento"

    def get(self, request: HttpRequest, pk: int, **kwargs) -> HttpResponse:
        if not is_registered(request.user):
            return redirect_to_login(request)
        customer = customer_of(request, pk, self.eg_only)
        response, reference = self.serve(customer, **kwargs)
        log_access(request, self.log_kind, f"{customer.number} {reference}")
        return response

    def serve(self, customer, **kwargs) -> tuple[HttpResponse, str]:
        raise NotImplementedError


def redirect_to_login(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login as to_login

    return to_login(request.get_full_path())


def pdf_file(pdf, name: str) -> FileResponse:
    try:
        handle = open(pdf.path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        raise Http404("El archivo de ese documento no está disponible.") from None
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")


class DocumentPdf(CustomerDownload):
    def serve(self, customer, document: int):
        found = (
            BillingDocument.objects.of_customer(customer)
            .filter(pk=document)
            .select_related("pdf")
            .first()
        )
        if found is None or (found.kind == found.Kind.INJECTION_ANNEX and not customer.is_eg):
            raise Http404("No existe ese documento.")
        return pdf_file(found.pdf, found.download_name), str(found)


class ContractPdf(CustomerDownload):
    eg_only = True

    def serve(self, customer, document: str):
        field = CONTRACT_DOCUMENTS.get(document)
        contract = EgContract.objects.of_customer(customer).first()
        pdf = getattr(contract, field, None) if contract and field else None
        if pdf is None:
            raise Http404("No existe ese documento.")
        return pdf_file(pdf, f"{document}-{contract.number}.pdf"), f"{document} {contract.number}"


def data_range(request: HttpRequest) -> tuple[date | None, date | None]:
    """The days the readings downloads cover (?desde=AAAA-MM-DD&hasta=…, both included);
    ValueError with the message the data page shows."""
    found = []
    for name, label in (("desde", "desde"), ("hasta", "hasta")):
        raw = request.GET.get(name, "").strip()
        if not raw:
            found.append(None)
            continue
        try:
            found.append(date.fromisoformat(raw))
        except ValueError:
            raise ValueError(
                f"La fecha «{raw}» ({label}) no es válida: escríbala como AAAA-MM-DD."
            ) from None
    start, end = found
    if start and end and start > end:
        raise ValueError("La fecha «desde» es posterior a la fecha «hasta».")
    return start, end


class DataDownload(CustomerDownload):
    log_kind = "mis_datos"
    fmt = ""

    def get(self, request: HttpRequest, pk: int, **kwargs) -> HttpResponse:
        try:
            self.range = data_range(request)
        except ValueError as problem:
            if is_registered(request.user):
                customer_of(request, pk)  # another customer's id is still a 404
                messages.error(request, str(problem))
            return redirect("customers:data", pk=pk)
        return super().get(request, pk, **kwargs)

    def serve(self, customer, **kwargs):
        from customers.services import espi, export

        start, end = self.range
        stamp = timezone.localdate().isoformat()
        if self.fmt == "readings":
            response = StreamingHttpResponse(
                export.readings_csv(customer, start, end), content_type="text/csv; charset=utf-8"
            )
            name = f"lecturas-{customer.number}-{stamp}.csv"
        elif self.fmt == "bills":
            response = StreamingHttpResponse(
                export.bills_csv(customer), content_type="text/csv; charset=utf-8"
            )
            name = f"facturacion-{customer.number}-{stamp}.csv"
        else:
            response = HttpResponse(
                espi.espi_feed(customer, start, end), content_type=espi.CONTENT_TYPE
            )
            name = f"green-button-{customer.number}-{stamp}.xml"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        span = f" {start or '…'} a {end or '…'}" if (start or end) else ""
        return response, name + span


def my_account(request: HttpRequest) -> HttpResponse:
    """/mi-cuenta/: a customer's own pages; 404 for a profile without an account of its own."""
    if not is_registered(request.user):
        return redirect_to_login(request)
    if not sees_own_customer(request.user):
        raise Http404("Este perfil no tiene una cuenta de cliente.")
    return redirect("customers:home", pk=request.user.customer_id)


class CustomerSearchView(PortalPage):
    """§3: the SEC auditor finds a customer by number, RUT or address; the grid links to the
    customer's §4 view (§5 when the customer has EG)."""

    template_name = "customers/search.html"
    access_kind = "busqueda"
    page_title = "Buscar clientes"
    pdf_name = "busqueda-de-clientes"

    def dispatch(self, request, *args, **kwargs):
        if is_registered(request.user) and not sees_every_customer(request.user):
            raise PermissionDenied("La búsqueda de clientes es del perfil SEC.")
        return super().dispatch(request, *args, **kwargs)

    def reference(self) -> str:
        query = getattr(self, "query", None)
        return f"clientes {query.label}" if query else "clientes"

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        if request.GET.get("formato") == "csv" and context.get("rows_for_csv") is not None:
            log_access(request, self.access_kind, self.reference() + " (CSV)")
            return search_csv(context["rows_for_csv"])
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kind = self.request.GET.get("por", "numero")
        text = self.request.GET.get("q", "")
        context.update(kinds=search.KINDS, kind=kind, text=text)
        if "q" not in self.request.GET:
            return context
        try:
            self.query = search.parse(kind, text)
        except search.SearchError as problem:
            context["search_error"] = str(problem)
            return context
        rows = search.search(self.query)
        number = self.request.GET.get("pagina", "1")
        try:
            number = max(int(number), 1)
        except ValueError:
            context["search_error"] = f"«{number[:20]}» no es un número de página."
            number = 1
        page = search.page_of(rows, number)
        if not page.rows and number > 1:
            context["search_error"] = f"La página {number} no existe para esta búsqueda."
            page = search.page_of(rows, 1)
        context.update(query=self.query, page=page, rows_for_csv=rows)
        return context


def search_csv(rows) -> StreamingHttpResponse:
    """The search results for Excel (;, UTF-8 with BOM), capped like the grid's count."""
    cells = (
        (c.number, c.name, c.rut, c.address, c.comuna.name, c.is_eg) for c in rows[: search.CSV_CAP]
    )
    header = ["N° de cliente", "Nombre", "RUT", "Dirección", "Comuna", "EG"]
    return csv_download("clientes.csv", csv_lines(header, cells))


def csv_download(filename: str, lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class AccessLogView(PortalPage):
    """The access log for the SEC auditor: who saw what and when, filtered by user, dates and
    kind, a page at a time (the log grows without end: no full count), and as CSV."""

    template_name = "customers/access_log.html"
    access_kind = "registro"  # the log holds users' personal data too: reading it is logged
    page_title = "Registro de accesos"
    pdf_name = "registro-de-accesos"
    page_size = 50
    csv_cap = 50_000

    def reference(self) -> str:
        get = self.request.GET
        names = ("usuario", "desde", "hasta", "tipo")
        return " ".join(f"{k}={get[k]}" for k in names if get.get(k))

    def dispatch(self, request, *args, **kwargs):
        if is_registered(request.user) and not sees_every_customer(request.user):
            raise PermissionDenied("El registro de accesos es del perfil SEC.")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        context = self.get_context_data(**kwargs)
        if request.GET.get("formato") == "csv" and "rows" in context:
            log_access(request, self.access_kind, self.reference() + " (CSV)")
            return access_csv(context["rows"][: self.csv_cap])
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        from accounts.models import AccessLog

        context = super().get_context_data(**kwargs)
        get = self.request.GET
        filters = {k: get.get(k, "").strip() for k in ("usuario", "desde", "hasta", "tipo")}
        context.update(filters=filters, kinds=AccessLog.Kind.choices)
        rows = AccessLog.objects.select_related("user").order_by("-at", "-id")
        errors = []
        if filters["usuario"]:
            rows = rows.filter(user__username__iexact=filters["usuario"])
        if filters["tipo"]:
            if filters["tipo"] in AccessLog.Kind.values:
                rows = rows.filter(kind=filters["tipo"])
            else:
                errors.append("Ese tipo de acceso no existe.")
        for name, lookup in (("desde", "at__date__gte"), ("hasta", "at__date__lte")):
            if filters[name]:
                try:
                    rows = rows.filter(**{lookup: date.fromisoformat(filters[name])})
                except ValueError:
                    errors.append(f"La fecha «{filters[name]}» no es válida: use AAAA-MM-DD.")
        if errors:
            context["search_error"] = " ".join(errors)
            return context
        try:
            number = max(int(get.get("pagina", "1")), 1)
        except ValueError:
            number = 1
        start = (number - 1) * self.page_size
        found = list(rows[start : start + self.page_size + 1])
        context.update(
            rows=rows,
            entries=found[: self.page_size],
            number=number,
            has_next=len(found) > self.page_size,
        )
        return context


def access_csv(rows) -> StreamingHttpResponse:
    cells = (
        (
            timezone.localtime(e.at), e.user.username, e.user.get_profile_display(),
            e.get_kind_display(), e.reference, e.path, e.ip,
        )
        for e in rows.iterator(chunk_size=2000)
    )  # fmt: skip
    header = ["Fecha y hora", "Usuario", "Perfil", "Tipo", "Referencia", "URL", "IP"]
    return csv_download("registro-de-accesos.csv", csv_lines(header, cells))
