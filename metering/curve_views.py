"""The planners' and SEC's curves pages: a meter's voltage, current, power factor and load
curves, and the load curves of a group of meters (comuna, feeder, transformer, tariff)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from accounts.models import AccessLog
from accounts.pages import PortalPage, log_access
from accounts.permissions import sees_metering_monitoring
from metering.models import Meter
from metering.services import curve_figures, curves, groups
from network.models import Customer


class _CurvesPage(PortalPage):
    """Planners and SEC (as the monitoring page); a bad period or group is a message on the
    page, an unknown meter or group a 404; `?formato=csv&curva=…` downloads a curve's numbers."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not sees_metering_monitoring(request.user):
            raise PermissionDenied("Página para planificadores y auditores SEC.")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        for name in ("formato", "curva"):
            params.pop(name, None)
        context["query"] = params.urlencode()
        return context

    def period(self) -> tuple[curves.Period | None, str]:
        try:
            return curves.parse_period(
                self.request.GET.get("desde"), self.request.GET.get("hasta")
            ), ""
        except curves.PeriodError as error:
            return None, str(error)

    def csv_response(self, table: curve_figures.Table) -> HttpResponse:
        response = HttpResponse(
            curve_figures.csv_text(table), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{slugify(table.name)}.csv"'
        return response

    def render_to_response(self, context, **response_kwargs):
        if self.request.GET.get("formato") == "csv":
            table = context.get("csv_table")
            if self.access_kind:
                log_access(self.request, self.access_kind, self.reference() + " (CSV)")
            if table is None:
                return HttpResponseBadRequest(
                    context.get("error") or context.get("csv_missing", ""),
                    content_type="text/plain; charset=utf-8",
                )
            return self.csv_response(table)
        return super().render_to_response(context, **response_kwargs)

    def load_context(self, load: curves.LoadCurves, subject: str, name: str) -> dict:
        charts = [
            {
                "slug": slug,
                "title": title,
                "svg": mark_safe(curve_figures.load_svg(load, slug, subject)),  # noqa: S308
            }
            for slug, title in curve_figures.LOAD_CURVES.items()
        ]
        curve = self.request.GET.get("curva", "")
        table = (
            curve_figures.load_table(load, curve, name)
            if curve in curve_figures.LOAD_CURVES
            else None
        )
        return {
            "load": load,
            "charts": charts,
            "csv_table": table,
            "csv_missing": "Elija la curva que descargar: curva="
            + ", ".join(curve_figures.LOAD_CURVES)
            + ".",
        }


class MeterCurvesView(_CurvesPage):
    """A meter's voltage, current and power-factor curves and its load curves. A customer
    meter's curves are personal data: the page names the meter, its transformer and feeder,
    never the customer, and every view is in the access log as a customer's."""

    template_name = "metering/meter_curves.html"
    pdf_name = "curvas-medidor"
    page_title = "Curvas de un medidor"

    def get(self, request, *args, **kwargs):
        serial = (request.GET.get("medidor") or "").strip()
        self.meter = None
        if serial:
            self.meter = (
                Meter.objects.filter(serial=serial)
                .select_related("customer__transformer__feeder", "transformer__feeder", "feeder")
                .first()
            )
            if self.meter is None:
                raise Http404("No existe un medidor con ese número de serie.")
            self.access_kind = (
                AccessLog.Kind.CUSTOMER
                if self.meter.kind == Meter.Kind.CUSTOMER
                else AccessLog.Kind.MONITORING
            )
        return super().get(request, *args, **kwargs)

    def reference(self) -> str:
        quantity = self.request.GET.get("magnitud") or "tension"
        return f"curvas del medidor {self.meter.serial} ({quantity[:20]})" if self.meter else ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        slug = self.request.GET.get("magnitud") or "tension"
        period, error = self.period()
        context.update(
            meter=self.meter,
            quantities=[(q.slug, q.label) for q in curves.QUANTITIES.values()]
            + [("carga", "Carga (kW)")],
            quantity_slug=slug,
            period=period or curves.default_period(),
            error=error,
            desde=self.request.GET.get("desde")
            or (period or curves.default_period()).first.isoformat(),
            hasta=self.request.GET.get("hasta")
            or (period or curves.default_period()).last.isoformat(),
        )
        if self.meter is None:
            context["csv_missing"] = "Indique el número de serie del medidor (medidor=…)."
            return context
        context["location"] = curves.meter_location(self.meter)
        context["pdf_name"] = f"curvas-medidor-{self.meter.serial}"
        if slug != "carga" and slug not in curves.QUANTITIES:
            context["error"] = error = (
                f"Magnitud desconocida «{slug[:30]}»: elija tensión, corriente, factor de "
                "potencia o carga."
            )
        if error:
            return context
        if slug == "carga":
            context.update(
                self.load_context(
                    curves.load_curves(self.meter, period),
                    f"el medidor {self.meter.serial}",
                    self.meter.serial,
                )
            )
        else:
            found = curves.quantity_curves(self.meter, curves.QUANTITIES[slug], period)
            context.update(
                curves=found,
                chart=mark_safe(curve_figures.quantity_svg(found)),  # noqa: S308
                csv_table=curve_figures.quantity_table(found, self.meter.serial),
                band=curves.voltage_band() if slug == "tension" else None,
            )
        return context


class GroupCurvesView(_CurvesPage):
    """The load curves of a group of customer meters: a comuna, a feeder, a transformer or a
    tariff option. Sums only: no customer is named."""

    template_name = "metering/group_curves.html"
    pdf_name = "curvas-grupo"
    page_title = "Curvas de carga por grupo"
    access_kind = AccessLog.Kind.MONITORING

    def get(self, request, *args, **kwargs):
        self.group, self.group_error = None, ""
        if request.GET.get("grupo") or request.GET.get("clave"):
            try:
                self.group = groups.parse_group(request.GET)
            except groups.GroupNotFound as error:
                raise Http404(str(error)) from None
            except groups.GroupError as error:
                self.group_error = str(error)
        return super().get(request, *args, **kwargs)

    def reference(self) -> str:
        return (
            f"curvas del grupo {self.group.kind} {self.group.key}"
            if self.group
            else "curvas de grupo"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        period, error = self.period()
        context.update(
            group=self.group,
            kinds=list(groups.KINDS.items()),
            hints=groups.KEY_HINTS,
            tariffs=Customer.Tariff.values,
            kind=self.request.GET.get("grupo", groups.COMUNA),
            key=self.request.GET.get("clave", ""),
            period=period or curves.default_period(),
            error=self.group_error or error,
            desde=self.request.GET.get("desde")
            or (period or curves.default_period()).first.isoformat(),
            hasta=self.request.GET.get("hasta")
            or (period or curves.default_period()).last.isoformat(),
        )
        if self.group is None or context["error"]:
            context["csv_missing"] = "Indique el grupo (grupo=… y clave=…)."
            return context
        context["pdf_name"] = f"curvas-{self.group.kind}-{self.group.key}"
        load = curves.load_curves(self.group, period)
        context.update(
            self.load_context(
                load,
                f"«{self.group.label}»",
                f"{self.group.kind}-{self.group.key}",
            )
        )
        return context
