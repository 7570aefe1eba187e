"""The planners' monitoring page: energy balances per transformer and alarms, by month."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator

from accounts.pages import PortalPage
from accounts.permissions import sees_metering_monitoring
from core.months import month_start, next_month, parse_month, today
from metering.models import Alarm, EnergyBalance

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
