"""The planners' and SEC auditors' metering pages: energy balances and alarms by month, the VEE
day by day (with the planners' edits), main against backup meters, virtual meters."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone

from accounts.pages import PortalPage
from accounts.permissions import edits_vee, reads_demand_response, sees_metering_monitoring
from core.months import add_months, month_start, next_month, parse_month, today
from metering.models import (
    Alarm,
    BackupComparison,
    Channel,
    DrMessage,
    EnergyBalance,
    EstimatedReading,
    IngestRun,
    Meter,
    MeteringReport,
    ValidationDay,
    VirtualTerm,
)
from metering.services import groups, reports, vee_edits, virtual
from metering.services.vee import period as vee_period

PAGE_SIZE = 50


def _month(raw: str | None) -> date:
    try:
        return parse_month(raw or "")
    except ValueError:
        latest = EnergyBalance.objects.order_by("-month").values_list("month", flat=True).first()
        return latest or month_start(today())


class MonitoringView(PortalPage):
    template_name = "metering/monitoring.html"
    pdf_name = "balances-y-alarmas"
    page_title = "Balances de energía y alarmas"
    access_kind = "balances"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not sees_metering_monitoring(request.user):
            raise PermissionDenied("Página para planificadores y auditores SEC.")
        return super().dispatch(request, *args, **kwargs)

    def reference(self) -> str:
        return f"{_month(self.request.GET.get('mes')):%Y-%m}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        month = _month(self.request.GET.get("mes"))
        only_flagged = self.request.GET.get("solo") == "sobre-umbral"
        balances = (
            EnergyBalance.objects.filter(month=month)
            .select_related("transformer__feeder")
            .only(
                "month",
                "supplied_kwh",
                "metered_kwh",
                "loss_kwh",
                "loss_pct",
                "customers",
                "metered_customers",
                "flagged",
                "as_of",
                "transformer__code",
                "transformer__name",
                "transformer__feeder__code",
            )  # fmt: skip
            .order_by("-flagged", "-loss_pct", "transformer__code")
        )
        if only_flagged:
            balances = balances.filter(flagged=True)
        kind = self.request.GET.get("alarma", "")
        alarms = (
            Alarm.objects.filter(started_at__date__gte=month)
            .filter(started_at__date__lt=next_month(month))
            .select_related("meter__transformer", "meter__feeder", "meter__customer__transformer")
            .only(
                "kind",
                "started_at",
                "ended_at",
                "value",
                "detail",
                "meter__serial",
                "meter__kind",
                "meter__transformer__code",
                "meter__feeder__code",
                "meter__customer__transformer__code",
            )  # fmt: skip
        )
        if kind in Alarm.Kind.values:
            alarms = alarms.filter(kind=kind)
        context.update(
            month=month,
            only_flagged=only_flagged,
            kind=kind,
            kinds=Alarm.Kind.choices,
            balances=Paginator(balances, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
            alarms=Paginator(alarms, PAGE_SIZE).get_page(self.request.GET.get("pagina_alarmas")),
        )
        return context


class MeteringPage(PortalPage):
    """A planners' and SEC auditors' metering page (sees_metering_monitoring)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not sees_metering_monitoring(request.user):
            raise PermissionDenied("Página para planificadores y auditores SEC.")
        return super().dispatch(request, *args, **kwargs)


def _day(raw: str | None, default: date | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


class VeeListView(MeteringPage):
    """The VEE's days with something to look at: gaps, suspect values, estimates."""

    template_name = "metering/vee_list.html"
    pdf_name = "validacion-de-lecturas"
    page_title = "Validación de lecturas (VEE)"
    access_kind = "vee"

    def reference(self) -> str:
        return self.request.GET.get("dia", "") or "último día"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        latest = ValidationDay.objects.order_by("-day").values_list("day", flat=True).first()
        raw_day = self.request.GET.get("dia")
        day = _day(raw_day, latest)
        serial = self.request.GET.get("medidor", "").strip()[:40]
        only_pending = self.request.GET.get("solo") == "pendientes"
        days = ValidationDay.objects.none()
        if day is not None:
            days = (
                ValidationDay.objects.filter(day=day)
                .filter(
                    Q(missing__gt=0)
                    | Q(spikes__gt=0)
                    | Q(negatives__gt=0)
                    | Q(flat__gt=0)
                    | Q(clock__gt=0)
                    | Q(duplicates__gt=0)
                )
                .select_related(
                    "channel__meter__transformer",
                    "channel__meter__feeder",
                    "channel__meter__customer__transformer",
                    "channel__reading_type",
                )
                .order_by("-missing", "channel__meter__serial", "channel__reading_type__code")
            )
            if serial:
                days = days.filter(channel__meter__serial__icontains=serial)
            if only_pending:
                start, end = vee_period(day, day)
                pending = EstimatedReading.objects.filter(
                    channel=OuterRef("channel"), accepted_at__isnull=True, ts__gt=start, ts__lte=end
                )
                days = days.filter(Exists(pending))
        context.update(
            day=day,
            bad_day=bool(raw_day) and _day(raw_day, None) is None,
            serial=serial,
            only_pending=only_pending,
            days=Paginator(days, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
        )
        return context


class VeeDayView(MeteringPage):
    """One meter's day, interval by interval: what the VEE found and did, and the edits.
    Planners accept an estimate or enter a manual value with its reason (POST)."""

    template_name = "metering/vee_day.html"
    pdf_name = "validacion-de-lecturas-dia"
    page_title = "Validación de lecturas (VEE)"
    access_kind = "vee"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.day = _day(kwargs["day"], None)

    def meter(self) -> Meter:
        if self.day is None:
            raise Http404("Fecha no válida.")
        return get_object_or_404(
            Meter.objects.select_related("transformer", "feeder", "customer__transformer"),
            serial=self.kwargs["serial"],
        )

    def reference(self) -> str:
        return f"{self.kwargs['serial']} {self.kwargs['day']}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        meter = self.meter()
        every = self.request.GET.get("ver") == "todos"
        context.update(
            meter=meter,
            day=self.day,
            every=every,
            channels=vee_edits.day_channels(meter, self.day, only_problems=not every),
            can_edit=edits_vee(self.request.user) and not meter.virtual,
            previous_day=self.day - timedelta(days=1),
            next_day=self.day + timedelta(days=1),
            form_error=kwargs.get("form_error", ""),
            form_values=kwargs.get("form_values", {}),
        )
        context["breadcrumb"] = [
            ("Validación de lecturas (VEE)", reverse("metering:vee")),
            (f"{meter.serial}, {self.day:%d/%m/%Y}", ""),
        ]
        return context

    def post(self, request, *args, **kwargs):
        if not edits_vee(request.user):
            raise PermissionDenied("Solo los planificadores editan la validación.")
        meter = self.meter()
        channel = (
            Channel.objects.filter(meter=meter, pk=_int(request.POST.get("canal")))
            .select_related("meter", "reading_type")
            .first()
        )
        if channel is None:
            raise Http404("Canal no encontrado.")
        try:
            ts = datetime.fromisoformat(request.POST.get("intervalo", ""))
            if timezone.is_naive(ts):
                raise ValueError
        except ValueError:
            return self._again("Intervalo no válido.", request.POST)
        action = request.POST.get("accion")
        try:
            if action == "aceptar_todas":
                accepted = vee_edits.accept_day(channel, self.day, request.user)
                message = f"{len(accepted)} estimaciones aceptadas."
            elif action == "aceptar":
                vee_edits.accept(channel, ts, request.user)
                message = f"Estimación del intervalo {timezone.localtime(ts):%H:%M} aceptada."
            elif action == "manual":
                value = _float(request.POST.get("valor"))
                vee_edits.set_manual(
                    channel, ts, value, request.POST.get("motivo", ""), request.user
                )
                message = f"Valor manual del intervalo {timezone.localtime(ts):%H:%M} guardado."
            else:
                return self._again("Acción desconocida.", request.POST)
        except vee_edits.EditError as error:
            return self._again(f"{str(error).capitalize()}.", request.POST)
        virtual.compute(self.day, self.day)  # virtual meters built on this channel
        messages.success(request, message)
        return redirect(request.get_full_path())

    def _again(self, error: str, values):
        context = self.get_context_data(form_error=error, form_values=values)
        response = self.render_to_response(context)
        response.status_code = 400
        return response


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _float(raw) -> float | None:
    try:
        return float(str(raw).replace(",", "."))
    except (TypeError, ValueError):
        return None


class BackupView(MeteringPage):
    """Main against backup meters, day by day; differences over the threshold first."""

    template_name = "metering/backup.html"
    pdf_name = "medidores-de-respaldo"
    page_title = "Medidores principal y respaldo"
    access_kind = "puntos_medicion"

    def reference(self) -> str:
        return f"{_month(self.request.GET.get('mes')):%Y-%m}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        raw = self.request.GET.get("mes")
        try:
            month = parse_month(raw or "")
        except ValueError:
            latest = BackupComparison.objects.order_by("-day").values_list("day", flat=True)
            month = month_start(latest.first() or today())
        only_flagged = self.request.GET.get("solo") == "sobre-umbral"
        rows = (
            BackupComparison.objects.filter(day__gte=month, day__lt=next_month(month))
            .select_related(
                "channel__meter__transformer",
                "channel__meter__feeder",
                "channel__reading_type",
                "backup_channel__meter",
            )
            .order_by("-flagged", "-day", "channel__meter__serial")
        )
        if only_flagged:
            rows = rows.filter(flagged=True)
        context.update(
            month=month,
            only_flagged=only_flagged,
            threshold=settings.METERING_BACKUP_DEVIATION_PCT,
            rows=Paginator(rows, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
        )
        return context


class VirtualMetersView(MeteringPage):
    """The virtual meters and their dated definitions."""

    template_name = "metering/virtual.html"
    pdf_name = "medidores-virtuales"
    page_title = "Medidores virtuales"
    access_kind = "puntos_medicion"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        terms = VirtualTerm.objects.select_related(
            "channel__reading_type", "source__meter__transformer", "source__meter__feeder"
        ).order_by("-valid_from", "sign", "source__meter__serial")
        meters = (
            Meter.objects.filter(virtual=True)
            .select_related("feeder", "transformer")
            .prefetch_related(Prefetch("channels__terms", queryset=terms))
            .order_by("serial")
        )
        page = Paginator(meters, PAGE_SIZE).get_page(self.request.GET.get("pagina"))
        context.update(meters=page, definitions=[_definitions(m) for m in page])
        return context


def _definitions(meter: Meter) -> tuple[Meter, list[tuple[Channel, list[tuple]]]]:
    """Per channel, its definitions (valid_from, valid_to, terms), newest first."""
    channels = []
    for channel in meter.channels.all():
        periods: dict[tuple, list[VirtualTerm]] = {}
        for term in channel.terms.all():
            periods.setdefault((term.valid_from, term.valid_to), []).append(term)
        channels.append((channel, [(f, t, terms) for (f, t), terms in periods.items()]))
    return meter, channels


class TasksView(MeteringPage):
    """The scheduled tasks (django-celery-beat) with their last run, status and duration,
    and the latest runs of every task."""

    template_name = "metering/tasks.html"
    pdf_name = "tareas-programadas"
    page_title = "Tareas programadas"

    def get_context_data(self, **kwargs):
        from core.models import TaskRun
        from core.scheduled import beat_runs, task_states

        context = super().get_context_data(**kwargs)
        runs = TaskRun.objects.order_by("-started_at")
        task = self.request.GET.get("tarea", "")[:200]
        if task:
            runs = runs.filter(task=task)
        context.update(
            states=task_states(),
            task=task,
            runs=Paginator(runs, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
            grace=settings.TASKS_LATE_GRACE_MINUTES,
            beat_runs=beat_runs(),
        )
        return context


def _date_param(raw: str | None) -> date | None:
    return _day(raw, None)


class IngestRunsView(MeteringPage):
    """The ingest runs: file, counts, status; filtered by status, format, file and dates."""

    template_name = "metering/ingest_runs.html"
    pdf_name = "cargas-de-lecturas"
    page_title = "Cargas de lecturas"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        get = self.request.GET
        runs = IngestRun.objects.order_by("-started_at", "-id")
        status = get.get("estado", "")
        if status in IngestRun.Status.values:
            runs = runs.filter(status=status)
        name = get.get("archivo", "").strip()[:100]
        if name:
            runs = runs.filter(file_name__icontains=name)
        if get.get("solo") == "con-rechazos":
            runs = runs.filter(rejected__gt=0)
        if get.get("calculos") != "si":
            runs = runs.exclude(file_format=virtual.CALCULATION_FORMAT)
        since, until = _date_param(get.get("desde")), _date_param(get.get("hasta"))
        if since:
            runs = runs.filter(started_at__date__gte=since)
        if until:
            runs = runs.filter(started_at__date__lte=until)
        context.update(
            statuses=IngestRun.Status.choices,
            status=status,
            name=name,
            since=since,
            until=until,
            with_rejections=get.get("solo") == "con-rechazos",
            calculations=get.get("calculos") == "si",
            runs=Paginator(runs, PAGE_SIZE).get_page(get.get("pagina")),
        )
        return context


REPORT_PAGE = 100


class IngestRunView(MeteringPage):
    """One ingest run: its counts, and the rejected values of its report, paginated."""

    template_name = "metering/ingest_run.html"
    pdf_name = "carga-de-lecturas"
    page_title = "Cargas de lecturas"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = get_object_or_404(IngestRun, pk=self.kwargs["pk"])
        rows, available = report_rows(run)
        context.update(
            run=run,
            available=available,
            rejections=Paginator(rows, REPORT_PAGE).get_page(self.request.GET.get("pagina")),
        )
        context["breadcrumb"] = [
            ("Cargas de lecturas", reverse("metering:ingest_runs")),
            (run.file_name, ""),
        ]
        return context


def report_path(run: IngestRun):
    """The run's report file, if it exists inside METERING_REPORTS_DIR (a stored path
    elsewhere is not served)."""
    from pathlib import Path

    if not run.report:
        return None
    root = Path(settings.METERING_REPORTS_DIR).resolve()
    path = Path(run.report).resolve()
    if not path.is_file() or root not in path.parents:
        return None
    return path


def report_rows(run: IngestRun) -> tuple[list[list[str]], bool]:
    import csv

    path = report_path(run)
    if path is None:
        return [], False
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    return rows[1:], True


def ingest_report(request, pk: int):
    """The run's report as the CSV it was written."""
    from django.contrib.auth.views import redirect_to_login
    from django.http import FileResponse

    from accounts.pages import log_access

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not sees_metering_monitoring(request.user):
        raise PermissionDenied("Página para planificadores y auditores SEC.")
    run = get_object_or_404(IngestRun, pk=pk)
    path = report_path(run)
    if path is None:
        raise Http404("El informe de esta carga ya no está disponible.")
    log_access(request, "balances", f"informe de carga {run.pk}")
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=f"informe-carga-{run.pk}.csv",
        content_type="text/csv; charset=utf-8",
    )


class DrMessagesView(MeteringPage):
    """The demand-response messages received, filtered and paginated."""

    template_name = "metering/dr_messages.html"
    pdf_name = "mensajes-dr"
    page_title = "Mensajes de respuesta a la demanda"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not reads_demand_response(
            request.user, "metering.view_drmessage"
        ):
            raise PermissionDenied("Página para planificadores y auditores SEC.")
        return super(MeteringPage, self).dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        get = self.request.GET
        messages_ = DrMessage.objects.defer("payload").order_by("-received_at", "-id")
        outcome = get.get("resultado", "")
        if outcome in DrMessage.Outcome.values:
            messages_ = messages_.filter(outcome=outcome)
        channel = get.get("canal", "")
        if channel in DrMessage.Channel.values:
            messages_ = messages_.filter(channel=channel)
        search = get.get("q", "").strip()[:100]
        if search:
            messages_ = messages_.filter(
                Q(message_id__icontains=search)
                | Q(correlation_id__icontains=search)
                | Q(noun__icontains=search)
            )
        since, until = _date_param(get.get("desde")), _date_param(get.get("hasta"))
        if since:
            messages_ = messages_.filter(received_at__date__gte=since)
        if until:
            messages_ = messages_.filter(received_at__date__lte=until)
        context.update(
            outcomes=DrMessage.Outcome.choices,
            channels=DrMessage.Channel.choices,
            outcome=outcome,
            channel=channel,
            search=search,
            since=since,
            until=until,
            dr_messages=Paginator(messages_, PAGE_SIZE).get_page(get.get("pagina")),
        )
        return context


class ReportsView(MeteringPage):
    """The kept reports (scheduled and asked for), and the form to ask for one."""

    template_name = "metering/reports.html"
    pdf_name = "reportes-de-medicion"
    page_title = "Reportes de medición"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kept = MeteringReport.objects.select_related("generated_by").defer("rows")
        which = self.request.GET.get("origen", "")
        if which == "programados":
            kept = kept.filter(scheduled=True)
        elif which == "a-pedido":
            kept = kept.filter(scheduled=False)
        this_month = month_start(today())
        form = kwargs.get("form") or {}
        context.update(
            which=which,
            reports=Paginator(kept, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
            form_error=kwargs.get("form_error", ""),
            can_generate=edits_vee(self.request.user),
            group_kinds=groups.KINDS,
            key_hints=groups.KEY_HINTS,
            form_kind=form.get("grupo", ""),
            form_key=form.get("clave", ""),
            form_meter=form.get("medidor", ""),
            form_from=form.get("desde") or f"{add_months(this_month, -1)}",
            form_to=form.get("hasta") or f"{this_month - timedelta(days=1)}",
        )
        return context

    def post(self, request, *args, **kwargs):
        if not edits_vee(request.user):
            # SEC reads every kept report; generating one stores it: the planners do.
            raise PermissionDenied("Solo los planificadores generan reportes.")
        form = request.POST
        try:
            first = date.fromisoformat(form.get("desde", ""))
            last = date.fromisoformat(form.get("hasta", ""))
        except ValueError:
            return self._again("Indique el periodo con fechas válidas (AAAA-MM-DD).", form)
        if form.get("tipo") == "grupo":
            try:
                group = groups.parse_group(form)
                report = reports.group_report(group, first, last, request.user)
            except (groups.GroupError, reports.ReportError) as error:
                return self._again(str(error).rstrip(".").capitalize() + ".", form)
            return redirect("metering:report", pk=report.pk)
        serial = form.get("medidor", "").strip()
        meter = Meter.objects.filter(serial=serial).first() if serial else None
        if meter is None:
            return self._again(f"No existe el medidor {serial!r}." if serial else
                               "Indique el número de serie del medidor.", form)  # fmt: skip
        try:
            report = reports.point_report(meter, first, last, request.user)
        except reports.ReportError as error:
            return self._again(f"{str(error).capitalize()}.", form)
        return redirect("metering:report", pk=report.pk)

    def _again(self, error: str, form):
        response = self.render_to_response(self.get_context_data(form_error=error, form=form))
        response.status_code = 400
        return response


class ReportView(MeteringPage):
    """One kept report; its PDF is this page (?formato=pdf), XML and CSV are downloads."""

    template_name = "metering/report.html"
    page_title = "Reportes de medición"
    access_kind = "puntos_medicion"

    def reference(self) -> str:
        return f"reporte {self.kwargs['pk']}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = get_object_or_404(MeteringReport, pk=self.kwargs["pk"])
        context.update(
            report=report,
            rows=reports.rows_of(report),
            pdf_name=f"reporte-medicion-{report.pk}",
        )
        context["breadcrumb"] = [
            ("Reportes de medición", reverse("metering:reports")),
            (report.title, ""),
        ]
        return context


def report_download(request, pk: int, extension: str):
    from django.contrib.auth.views import redirect_to_login
    from django.http import HttpResponse

    from accounts.pages import log_access

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not sees_metering_monitoring(request.user):
        raise PermissionDenied("Página para planificadores y auditores SEC.")
    if extension not in ("xml", "csv"):
        raise Http404("Formatos: xml o csv.")
    report = get_object_or_404(MeteringReport, pk=pk)
    log_access(request, "puntos_medicion", f"reporte {report.pk} ({extension.upper()})")
    if extension == "xml":
        body, kind = reports.to_xml(report), "application/xml"
    else:
        body, kind = reports.to_csv(report).encode("utf-8-sig"), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = (
        f'attachment; filename="reporte-medicion-{report.pk}.{extension}"'
    )
    return response


def report_schema(request):
    """The XML report's schema (XSD), for whoever reads the files."""
    from pathlib import Path

    from django.http import HttpResponse

    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not sees_metering_monitoring(request.user):
        raise PermissionDenied("Página para planificadores y auditores SEC.")
    path = Path(__file__).resolve().parent / "data" / "reporte_medicion.xsd"
    return HttpResponse(path.read_bytes(), content_type="application/xml")
